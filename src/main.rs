//! Command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use breakdown_trace::ingest::{self, Format};
use breakdown_trace::model::align::{self, Alignment, Anchor};
use breakdown_trace::model::{layout, ProvenanceDetail, Trace};
use breakdown_trace::sql::{self, OutputFormat};
use breakdown_trace::{open, output, perfetto, report, summary, Error};

#[derive(Parser)]
#[command(
    name = "breakdown-trace",
    version,
    about = "Where did an LLM inference request's time go? Converts server timing data to Perfetto traces."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Keep the complete records of a truncated input (a JSON array or JSON
    /// Lines file cut mid-write) instead of failing; says how many were kept.
    #[arg(long, global = true)]
    salvage: bool,
    /// Time between the scrapes of a Prometheus text file (e.g. `1s`, `500ms`): scrape k is
    /// placed at k × DURATION when its samples have no timestamps and no TensorRT-LLM
    /// timestamp gauge.
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_interval)]
    scrape_interval: Option<i64>,
}

/// `--scrape-interval`, read by [`load`].
static SCRAPE_INTERVAL: std::sync::OnceLock<Option<i64>> = std::sync::OnceLock::new();

fn parse_interval(s: &str) -> Result<i64, String> {
    match align::parse_duration(s)? {
        ns if ns > 0 => Ok(ns),
        _ => Err(format!("`{s}`: the interval must be positive")),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Convert inputs into one Perfetto trace (.pftrace).
    Convert {
        /// Input files (format detected from content; .gz is inflated).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output trace file.
        #[arg(short, long)]
        output: PathBuf,
        /// Force the input format instead of detecting it.
        #[arg(long, value_parser = parse_format)]
        format: Option<Format>,
        /// Print nothing but errors.
        #[arg(short, long)]
        quiet: bool,
        #[command(flatten)]
        align: AlignArgs,
        #[command(flatten)]
        provenance: ProvenanceArg,
        /// Then serve the written trace to ui.perfetto.dev, as `open` does.
        #[arg(long)]
        open: bool,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Serve a trace to ui.perfetto.dev on 127.0.0.1 and print the link that opens it.
    ///
    /// A Perfetto trace (.pftrace, plain or gzipped; detected by content) is served as it is;
    /// other inputs are converted in memory first, as `convert` would. Stops once the UI has
    /// fetched the whole trace (or on Ctrl-C).
    Open {
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Force the input format instead of detecting it.
        #[arg(long = "input-format", value_parser = parse_format)]
        input_format: Option<Format>,
        /// Print nothing but the link and errors.
        #[arg(short, long)]
        quiet: bool,
        #[command(flatten)]
        align: AlignArgs,
        #[command(flatten)]
        provenance: ProvenanceArg,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Describe inputs: format, record counts, time range, warnings by kind.
    Info {
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        #[arg(long, value_parser = parse_format)]
        format: Option<Format>,
        #[command(flatten)]
        align: AlignArgs,
    },
    /// Statistics of whatever the inputs hold, from the bundled queries: request segments (count,
    /// absent by cause, min/p50/p90/p99/max/mean ms, total to first token) and latency; client
    /// benchmark statistics (aiperf's definitions; ok requests only; warmup excluded); GPU kernel
    /// summary, idle share per device and stream, time by kind of work, idle by cause, comm/compute
    /// overlap and the launch-bound share.
    Stats {
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Force the input format instead of detecting it.
        #[arg(long = "input-format", value_parser = parse_format)]
        input_format: Option<Format>,
        /// Output: table (default), csv or json.
        #[arg(long, value_parser = parse_output, default_value = "table")]
        format: OutputFormat,
        /// Count successful warmup records of client benchmarks too.
        #[arg(long)]
        include_warmup: bool,
        #[command(flatten)]
        align: AlignArgs,
    },
    /// Write the interactive HTML breakdown report (one self-contained file).
    Report {
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output HTML file (written atomically).
        #[arg(short, long)]
        output: PathBuf,
        /// Force the input format instead of detecting it.
        #[arg(long = "input-format", value_parser = parse_format)]
        input_format: Option<Format>,
        #[command(flatten)]
        align: AlignArgs,
    },
    /// Run a bundled query (see `queries`), a .sql file, or --sql text over the inputs.
    ///
    /// Tables are named like Perfetto trace processor's (slice, track, thread, process, args, ...)
    /// plus request, request_segment and warning. The database is built in memory, or the
    /// input is a database file written by `db`.
    Query {
        /// Bundled query name or FILE.sql, then the inputs. With --sql, all are inputs.
        #[arg(required = true, value_name = "NAME|FILE.sql INPUT")]
        args: Vec<PathBuf>,
        /// SQL text to run instead of a named query.
        #[arg(long)]
        sql: Option<String>,
        /// Output: table (default on a terminal), csv (default when piped) or json.
        #[arg(long = "format", value_parser = parse_output)]
        output_format: Option<OutputFormat>,
        /// Bind a named parameter `:KEY` (e.g. `--param n=20` for slow-requests).
        #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
        params: Vec<(String, String)>,
        /// Force the input format instead of detecting it.
        #[arg(long = "input-format", value_parser = parse_format)]
        input_format: Option<Format>,
        #[command(flatten)]
        align: AlignArgs,
    },
    /// Compare two runs of the same workload (HTA TraceDiff): per kernel name count, total and
    /// mean GPU time in A and B and the change, ranked by impact, names found in one run only;
    /// for request inputs, p50/p90 per segment and their change.
    Diff {
        /// Run A (the baseline; HTA's control trace).
        a: PathBuf,
        /// Run B (HTA's test trace).
        b: PathBuf,
        /// Force the input format of both instead of detecting it.
        #[arg(long = "input-format", value_parser = parse_format)]
        input_format: Option<Format>,
        /// Output: table (default on a terminal), csv (default when piped) or json.
        #[arg(long = "output-format", value_parser = parse_output)]
        output_format: Option<OutputFormat>,
    },
    /// List the bundled queries with what each answers.
    Queries,
    /// Write the inputs as a SQLite database any sqlite3 client can open.
    Db {
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output database file (written atomically).
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long, value_parser = parse_format)]
        format: Option<Format>,
        #[arg(short, long)]
        quiet: bool,
        #[command(flatten)]
        align: AlignArgs,
    },
}

/// What the written trace records about this run.
#[derive(Args)]
struct ProvenanceArg {
    /// What the trace records about its making: `minimal` (input file names,
    /// sizes and SHA-256, tool version, options that change the output) or
    /// `full` (also the command line, which may hold absolute paths).
    #[arg(long = "provenance", value_name = "minimal|full", default_value = "minimal",
          value_parser = parse_provenance)]
    detail: ProvenanceDetail,
}

fn parse_provenance(s: &str) -> Result<ProvenanceDetail, String> {
    ProvenanceDetail::from_name(s)
        .ok_or_else(|| format!("unknown provenance `{s}`; known: minimal, full"))
}

/// How `open` (and `convert --open`) serves the trace.
#[derive(Args)]
struct ServeArgs {
    /// Port on 127.0.0.1 (ui.perfetto.dev fetches from 9001 only; 0 = any free port).
    #[arg(long, default_value_t = open::DEFAULT_PORT)]
    port: u16,
    /// Also open the link in the system browser ($BROWSER, xdg-open, open or start).
    #[arg(long)]
    browser: bool,
    /// Keep serving after the trace was fetched (to reload the UI), until Ctrl-C.
    #[arg(long)]
    keep_serving: bool,
    /// The UI's origin, for a self-hosted Perfetto UI.
    #[arg(long, value_name = "URL", default_value = open::DEFAULT_ORIGIN)]
    origin: String,
}

/// Serves `body` as `name` (see `open`): prints the link on stdout, each
/// request on stderr (unless `quiet`), and returns once it was fetched.
fn serve_trace(name: &str, body: Vec<u8>, args: &ServeArgs, quiet: bool) -> Result<(), Error> {
    let opts = open::ServeOptions {
        port: args.port,
        origin: args.origin.clone(),
        keep_serving: args.keep_serving,
    };
    let len = body.len();
    let server = open::TraceServer::bind(name, body, &opts)?;
    if !quiet {
        eprintln!(
            "serving  {name} ({len} bytes) at {} to {}; {}",
            server.trace_url(),
            opts.origin,
            if opts.keep_serving {
                "Ctrl-C stops"
            } else {
                "stops once it is fetched (or on Ctrl-C)"
            }
        );
        if server.port() != open::DEFAULT_PORT && opts.origin == open::DEFAULT_ORIGIN {
            eprintln!(
                "note: ui.perfetto.dev may only fetch from port {} (its Content-Security-Policy)",
                open::DEFAULT_PORT
            );
        }
    }
    emit(&format!("{}\n", server.ui_link()))?;
    if args.browser {
        open::launch_browser(&server.ui_link())?;
    }
    let done = server.serve(opts.keep_serving, |r| {
        if !quiet {
            let what = if r.method == "GET" && r.status == 200 && !r.complete_fetch {
                " (client left before the end)".to_owned()
            } else {
                String::new()
            };
            eprintln!(
                "request  {} {} {} -> {} {} bytes{what}",
                r.peer, r.method, r.target, r.status, r.body_bytes
            );
        }
    })?;
    if !quiet {
        eprintln!(
            "served   {name} ({} bytes) to {}; done",
            done.body_bytes, done.peer
        );
    }
    Ok(())
}

/// Per-input time alignment. Inputs are numbered from 0 in command-line
/// order; INPUT may also be the path as written.
#[derive(Args, Default)]
struct AlignArgs {
    /// Add DELTA to every timestamp of one input: `INPUT=DELTA`, DELTA an
    /// integer or decimal with unit ns (default), us, ms or s, e.g. `1=-2.5s`.
    #[arg(long = "shift", value_name = "INPUT=DELTA")]
    shift: Vec<String>,
    /// Shift one input so its earliest event sits at OFFSET: `INPUT=OFFSET`
    /// (same units as --shift), e.g. `0=0` or `2=150ms`.
    #[arg(long = "align", value_name = "INPUT=OFFSET")]
    align: Vec<String>,
    /// Shift every input not named by --shift/--align so its earliest event
    /// sits at 0.
    #[arg(long)]
    align_start: bool,
}

impl AlignArgs {
    fn is_empty(&self) -> bool {
        self.shift.is_empty() && self.align.is_empty() && !self.align_start
    }

    fn alignment(&self, inputs: &[PathBuf]) -> Result<Alignment, Error> {
        let mut a = Alignment {
            default: self.align_start.then_some(Anchor::StartAt(0)),
            ..Default::default()
        };
        let specs = self
            .shift
            .iter()
            .map(|s| (s, "--shift", true))
            .chain(self.align.iter().map(|s| (s, "--align", false)));
        for (spec, opt, is_shift) in specs {
            let (who, amount) = spec
                .rsplit_once('=')
                .ok_or_else(|| Error::Usage(format!("{opt} {spec}: expected INPUT=DURATION")))?;
            let index = match who.parse::<usize>() {
                Ok(i) => i,
                Err(_) => inputs
                    .iter()
                    .position(|p| p.as_os_str() == who)
                    .ok_or_else(|| {
                        Error::Usage(format!(
                            "{opt} {spec}: `{who}` is neither an input number nor an input path"
                        ))
                    })?,
            };
            if index >= inputs.len() {
                return Err(Error::Usage(format!(
                    "{opt} {spec}: there are {} inputs, numbered from 0",
                    inputs.len()
                )));
            }
            let ns = align::parse_duration(amount)
                .map_err(|e| Error::Usage(format!("{opt} {spec}: {e}")))?;
            let anchor = if is_shift {
                Anchor::Shift(ns)
            } else {
                Anchor::StartAt(ns)
            };
            if a.per_input.insert(index as u32, anchor).is_some() {
                return Err(Error::Usage(format!(
                    "input {index} is given more than one --shift/--align"
                )));
            }
        }
        Ok(a)
    }
}

/// Writes `text` to stdout. A reader that stopped reading (`| head`) ends
/// the output quietly; any other failure (a full disk) is an error, never
/// lost output with exit 0.
fn emit(text: &str) -> Result<(), Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .or_else(stdout_error)
}

/// A failed write to stdout: nothing when the pipe was closed, else an error.
fn stdout_error(e: std::io::Error) -> Result<(), Error> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(Error::Write {
            path: "standard output".into(),
            source: e,
        })
    }
}

/// What a command reads of the inputs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reads {
    /// Everything (convert, info, query, db).
    All,
    /// Requests, client records, iterations and GPU timelines, but not the
    /// timeline of TensorRT-LLM requests (stats, report).
    Summaries,
}

/// Loads inputs; says on stderr what `--salvage` kept.
fn load(
    inputs: &[PathBuf],
    format: Option<Format>,
    salvage: bool,
    reads: Reads,
) -> Result<Trace, Error> {
    let opts = ingest::LoadOptions {
        format,
        salvage,
        requests_only: reads == Reads::Summaries,
        scrape_interval_ns: SCRAPE_INTERVAL.get().copied().flatten(),
    };
    let trace = ingest::load_with(inputs, &opts)?;
    for w in trace
        .warnings
        .list
        .iter()
        .filter(|w| w.kind == "truncated_input")
    {
        eprintln!("warning: {}", w.message);
    }
    Ok(trace)
}

/// Loads inputs and applies the alignment options.
fn load_aligned(
    inputs: &[PathBuf],
    format: Option<Format>,
    salvage: bool,
    align: &AlignArgs,
    reads: Reads,
) -> Result<Trace, Error> {
    let alignment = align.alignment(inputs)?;
    let mut trace = load(inputs, format, salvage, reads)?;
    align::apply(&mut trace, &alignment).map_err(Error::Usage)?;
    Ok(trace)
}

/// The SQL database of `inputs`: built in memory, or the database file
/// written by `db` when that is the input.
fn database(
    command: &str,
    inputs: &[PathBuf],
    format: Option<Format>,
    salvage: bool,
    align: &AlignArgs,
    reads: Reads,
) -> Result<sql::Database, Error> {
    match inputs.iter().position(|p| sql::Database::is_database(p)) {
        None => {
            let trace = load_aligned(inputs, format, salvage, align, reads)?;
            sql::Database::in_memory(trace)
        }
        Some(i) if inputs.len() == 1 && format.is_none() && align.is_empty() => {
            sql::Database::open(&inputs[i])
        }
        Some(i) => Err(Error::Usage(format!(
            "{command}: {} is a database written by `db`; give it alone, without \
             --input-format, --shift, --align or --align-start (they apply when the \
             database is written)",
            inputs[i].display()
        ))),
    }
}

fn parse_output(s: &str) -> Result<OutputFormat, String> {
    OutputFormat::from_name(s)
        .ok_or_else(|| format!("unknown output format `{s}`; known: table, csv, json"))
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got `{s}`"))?;
    Ok((k.trim_start_matches(':').to_owned(), v.to_owned()))
}

/// Where the SQL of `query` comes from: (name for errors, SQL text, inputs).
fn query_source(
    args: Vec<PathBuf>,
    sql: Option<String>,
) -> Result<(String, String, Vec<PathBuf>), Error> {
    if let Some(text) = sql {
        return Ok(("--sql".to_owned(), text, args));
    }
    let mut it = args.into_iter();
    let first = it.next().expect("clap requires one argument");
    let inputs: Vec<PathBuf> = it.collect();
    if inputs.is_empty() {
        return Err(Error::Usage(
            "query: give a query (bundled NAME or FILE.sql) and at least one INPUT".into(),
        ));
    }
    let label = first.display().to_string();
    if let Some(b) = sql::Bundled::find(&label) {
        return Ok((b.name.to_owned(), b.sql.to_owned(), inputs));
    }
    if label.ends_with(".sql") || first.is_file() {
        let text = std::fs::read_to_string(&first).map_err(|source| Error::Read {
            path: first.clone(),
            source,
        })?;
        return Ok((label, text, inputs));
    }
    let names: Vec<&str> = sql::BUNDLED.iter().map(|b| b.name).collect();
    Err(Error::Usage(format!(
        "unknown query `{label}`: not a bundled query ({}) and not a .sql file",
        names.join(", ")
    )))
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        format!("unknown format `{s}`; known: {}", names.join(", "))
    })
}

fn run(cli: Cli) -> Result<(), Error> {
    let salvage = cli.salvage;
    SCRAPE_INTERVAL.get_or_init(|| cli.scrape_interval);
    match cli.command {
        Command::Convert {
            inputs,
            output,
            format,
            quiet,
            align,
            provenance,
            open,
            serve,
        } => {
            output::refuse_overwriting_an_input(&output, &inputs)?;
            let mut trace = load_aligned(&inputs, format, salvage, &align, Reads::All)?;
            trace.provenance.detail = provenance.detail;
            let stats = perfetto::write_file(&mut trace, &output)?;
            if !quiet {
                eprint!("{}", summary::summarize(&trace));
                let input_bytes: u64 = trace.provenance.inputs.iter().map(|i| i.bytes).sum();
                let raw_bytes: u64 = trace.provenance.inputs.iter().map(|i| i.raw_bytes).sum();
                eprintln!(
                    "wrote    {}  packets={}  bytes={} (inputs {} bytes, {} uncompressed; output/uncompressed {:.2})",
                    output.display(),
                    stats.packets,
                    stats.bytes,
                    input_bytes,
                    raw_bytes,
                    stats.bytes as f64 / raw_bytes.max(1) as f64
                );
            }
            if open {
                let bytes = std::fs::read(&output).map_err(|source| Error::Read {
                    path: output.clone(),
                    source,
                })?;
                serve_trace(&open::served_name(&output, false), bytes, &serve, quiet)?;
            }
            Ok(())
        }
        Command::Open {
            inputs,
            input_format,
            quiet,
            align,
            provenance,
            serve,
        } => {
            // One Perfetto trace is served as it is.
            if let ([path], None, true) = (&inputs[..], input_format, align.is_empty()) {
                if let Some(bytes) = open::read_trace_file(path)? {
                    return serve_trace(&open::served_name(path, false), bytes, &serve, quiet);
                }
            }
            let mut trace = load_aligned(&inputs, input_format, salvage, &align, Reads::All)?;
            trace.provenance.detail = provenance.detail;
            let bytes = perfetto::to_bytes(&mut trace);
            if !quiet {
                eprint!("{}", summary::summarize(&trace));
            }
            serve_trace(&open::served_name(&inputs[0], true), bytes, &serve, quiet)
        }
        Command::Info {
            inputs,
            format,
            align,
        } => {
            let mut trace = load_aligned(&inputs, format, salvage, &align, Reads::All)?;
            layout::lay_out(&mut trace);
            emit(&summary::summarize(&trace))?;
            Ok(())
        }
        Command::Stats {
            inputs,
            input_format,
            format,
            include_warmup,
            align,
        } => {
            let db = database(
                "stats",
                &inputs,
                input_format,
                salvage,
                &align,
                Reads::Summaries,
            )?;
            let sections = sql::stats::sections(&db, include_warmup)?;
            if sections.is_empty() {
                return Err(Error::NothingToDo(
                    "nothing to summarize: the inputs hold no requests, client records, GPU work or metric series"
                        .into(),
                ));
            }
            emit(&sql::stats::render(&sections, format))?;
            let non_streaming = db.warning_count("non_streaming");
            if non_streaming > 0 {
                eprintln!(
                    "note: {non_streaming} non-streaming request(s): their server_first_token_time marks the end of \
                     the response, so their TTFT ends at the executor's first_token_time and the segments using \
                     that stamp are absent (absent_non_streaming)"
                );
            }
            let warnings = db.warning_total();
            if warnings > 0 {
                eprintln!("warnings {warnings} (run `info` for details)");
            }
            Ok(())
        }
        Command::Report {
            inputs,
            output,
            input_format,
            align,
        } => {
            output::refuse_overwriting_an_input(&output, &inputs)?;
            let trace = load_aligned(&inputs, input_format, salvage, &align, Reads::Summaries)?;
            let db = sql::Database::in_memory(trace)?;
            let trace = db.trace().expect("an in-memory database has its trace");
            let b = sql::Bundled::find("segment-stats").expect("bundled");
            let rows = db.run(b.name, b.sql, &[])?;
            let table = report::Table {
                columns: rows.columns.clone(),
                rows: rows
                    .rows
                    .iter()
                    .map(|r| r.iter().map(sql::format::json_value).collect())
                    .collect(),
                text_columns: vec!["segment".into(), "role".into()],
            };
            report::write_file(trace, &table, &output)?;
            eprintln!(
                "wrote    {}  requests={}",
                output.display(),
                trace.requests.len()
            );
            Ok(())
        }
        Command::Query {
            args,
            sql: text,
            output_format,
            params,
            input_format,
            align,
        } => {
            use std::io::{IsTerminal, Write};
            let (name, text, inputs) = query_source(args, text)?;
            // The bundled queries' parameters are whole numbers: counts (`:top`, `:n`) and
            // thresholds in ns (`:kernel_wait_ns`, ...).
            if sql::Bundled::find(&name).is_some() {
                if let Some((k, v)) = params.iter().find(|(_, v)| v.parse::<u64>().is_err()) {
                    return Err(Error::Usage(format!(
                        "--param {k}={v}: query `{name}` takes a whole number (a count of rows, or ns for a `_ns` parameter)"
                    )));
                }
            }
            let db = database("query", &inputs, input_format, salvage, &align, Reads::All)?;
            if let Some(fast) = sql::slow_form_equivalent(&text) {
                let n = db.kernel_count();
                if n >= sql::SLOW_FORM_KERNELS {
                    eprintln!(
                        "hint: this query joins a ROW_NUMBER() sequence to itself, which takes O(n\u{b2}) time \
                         in SQLite ({n} kernels here); `breakdown-trace query {fast}` gives the same rows with LAG()"
                    );
                }
            }
            let known = db.parameters(&text);
            let unknown = known
                .as_ref()
                .and_then(|known| params.iter().find(|(k, _)| !known.contains(k)));
            if let (Some((k, _)), Some(known)) = (unknown, &known) {
                let list = if known.is_empty() {
                    "it has none".to_owned()
                } else {
                    format!(
                        "its parameters: {}",
                        known
                            .iter()
                            .map(|k| format!(":{k}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                return Err(Error::Usage(format!(
                    "--param {k}: query `{name}` has no parameter :{k}; {list}"
                )));
            }
            // Aligned table on a terminal, CSV when piped or redirected.
            let format = output_format.unwrap_or(if std::io::stdout().is_terminal() {
                OutputFormat::Table
            } else {
                OutputFormat::Csv
            });
            // CSV streams while SQLite produces the rows.
            let mut streamed = None;
            if format == OutputFormat::Csv {
                let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
                streamed = db.run_csv(&name, &text, &params, &mut out)?;
                out.flush().or_else(stdout_error)?;
            }
            let rows = match streamed {
                Some(0) => sql::Rows::default(),
                Some(_) => return Ok(()),
                None => db.run(&name, &text, &params)?,
            };
            // SQL that names the current Kineto spellings finds nothing in
            // a trace that spells them otherwise: say so.
            let lower = text.to_ascii_lowercase();
            if rows.rows.is_empty() && lower.contains("category") && lower.contains("'kernel'") {
                let other = db.other_gpu_categories();
                if !other.is_empty() {
                    let list: Vec<String> =
                        other.iter().map(|(c, n)| format!("`{c}` ({n})")).collect();
                    eprintln!(
                        "note: no rows, but this trace's GPU work is categorised {}: the bundled queries \
                         (kernel-stats, idle-gaps, gpu-idle, ...) cover every spelling through the `gpu_work` \
                         table (`kind` = kernel / memcpy / memset)",
                        list.join(", ")
                    );
                }
            }
            if streamed.is_none() {
                let out = sql::render(&rows, format);
                emit(&out)?;
            }
            Ok(())
        }
        Command::Diff {
            a,
            b,
            input_format,
            output_format,
        } => {
            use std::io::IsTerminal;
            let none = AlignArgs::default();
            let open = |p: &PathBuf| {
                database(
                    "diff",
                    std::slice::from_ref(p),
                    input_format,
                    salvage,
                    &none,
                    Reads::All,
                )
            };
            let (da, db) = (open(&a)?, open(&b)?);
            let sections = breakdown_trace::diff::diff(&da, &db)?;
            let format = output_format.unwrap_or(if std::io::stdout().is_terminal() {
                OutputFormat::Table
            } else {
                OutputFormat::Csv
            });
            emit(&sql::stats::render(&sections, format))?;
            Ok(())
        }
        Command::Queries => {
            let width = sql::BUNDLED.iter().map(|b| b.name.len()).max().unwrap_or(0);
            let mut list = String::new();
            for b in sql::BUNDLED {
                list.push_str(&format!("{:width$}  {}\n", b.name, b.description()));
            }
            emit(&list)?;
            Ok(())
        }
        Command::Db {
            inputs,
            output,
            format,
            quiet,
            align,
        } => {
            output::refuse_overwriting_an_input(&output, &inputs)?;
            let mut trace = load_aligned(&inputs, format, salvage, &align, Reads::All)?;
            layout::lay_out(&mut trace);
            let summary = summary::summarize(&trace);
            let stats = sql::write_db(trace, &output)?;
            if !quiet {
                eprint!("{summary}");
                eprintln!(
                    "wrote    {}  slices={}  args={}  requests={}  rows={}",
                    output.display(),
                    stats.slices,
                    stats.args,
                    stats.requests,
                    stats.rows
                );
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
