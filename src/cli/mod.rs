//! The command line: [`args`] is the grammar, this module runs the commands
//! by calling the library, [`out`] decides where and how output goes.

mod args;
mod out;
mod version;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use breakdown_trace::ingest::{self, Format};
use breakdown_trace::model::align::{self, Alignment, Anchor};
use breakdown_trace::model::window::{self, Window};
use breakdown_trace::model::{layout, ProvenanceDetail, Trace};
use breakdown_trace::sql::{self, OutputFormat};
use breakdown_trace::{info, open, output, perfetto, progress, report, Error};

use args::{AlignArgs, Cli, Command, InputOptions, Inputs};
use out::{Dest, Printer};

/// Parses the command line, runs it, maps errors to exit codes.
pub fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(msg) = args::old_spelling(&argv) {
        eprintln!("error: {msg}");
        return ExitCode::from(2);
    }
    let matches = command().get_matches_from(argv);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    if !cli.quiet && std::io::stderr().is_terminal() {
        progress::enable();
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// The clap command, with the long version text.
pub fn command() -> clap::Command {
    // clap keeps the text for the process's life.
    Cli::command().long_version(&*Box::leak(version::long().into_boxed_str()))
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
                            "{opt} {spec}: `{who}` is neither an input number nor an input path \
                             as given on the command line"
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

/// What a command reads of the inputs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reads {
    /// Everything (convert, info, query, db).
    All,
    /// Requests, client records, iterations and GPU timelines, but not the
    /// timeline of TensorRT-LLM requests (stats, report).
    Summaries,
}

/// Settings every command shares.
struct Ctx {
    salvage: bool,
    quiet: bool,
    scrape_interval: Option<i64>,
    /// `--no-queue-length` (convert, open).
    no_queue_length: bool,
}

/// Standard input may be read once.
fn check_stdin(inputs: &[PathBuf]) -> Result<(), Error> {
    if inputs.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        return Err(Error::Usage(
            "`-` (standard input) is given more than once; it can be read only once".into(),
        ));
    }
    Ok(())
}

/// Loads inputs; says on stderr what `--salvage` kept.
fn load(
    inputs: &[PathBuf],
    format: Option<Format>,
    ctx: &Ctx,
    reads: Reads,
) -> Result<Trace, Error> {
    check_stdin(inputs)?;
    let opts = ingest::LoadOptions {
        format,
        salvage: ctx.salvage,
        requests_only: reads == Reads::Summaries,
        scrape_interval_ns: ctx.scrape_interval,
        no_queue_length: ctx.no_queue_length,
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
    options: &InputOptions,
    ctx: &Ctx,
    reads: Reads,
) -> Result<Trace, Error> {
    let alignment = options.align.alignment(inputs)?;
    let mut trace = load(inputs, options.input_format, ctx, reads)?;
    align::apply(&mut trace, &alignment).map_err(Error::Usage)?;
    Ok(trace)
}

/// The window of `--from`/`--to`, checked as far as it can be before the
/// inputs are read.
fn checked_window(w: &args::WindowArgs) -> Result<Window, Error> {
    let w = w.window();
    w.check().map_err(Error::Usage)?;
    Ok(w)
}

/// ` in the window --from … --to …` when a window was given, for messages
/// that say what the inputs hold.
fn in_window(w: Window) -> String {
    if w.is_unbounded() {
        return String::new();
    }
    let mut s = " in the window".to_owned();
    if let Some(f) = w.from {
        s.push_str(&format!(" --from {f}"));
    }
    if let Some(t) = w.to {
        s.push_str(&format!(" --to {t}"));
    }
    s
}

/// Keeps the events of `trace` in `window` (nothing to do when it has no
/// bound). Says on stderr, unless quiet, which window was applied and what
/// it kept (`label` names the input, for `diff`), and warns when the window
/// holds nothing.
fn apply_window(
    trace: &mut Trace,
    window: Window,
    ctx: &Ctx,
    label: Option<&str>,
) -> Result<(), Error> {
    if window.is_unbounded() {
        return Ok(());
    }
    let s = window::apply(trace, window).map_err(Error::Usage)?;
    if !ctx.quiet {
        let who = label.map_or_else(String::new, |l| format!("{l}: "));
        eprintln!("note: {who}{}: {}", s.describe(), s.counts());
        if s.holds_nothing() {
            eprintln!(
                "warning: {who}the window holds no events: {}",
                s.extent_text()
            );
        }
    }
    Ok(())
}

/// Lays out the trace's tracks, with a progress spinner.
fn lay_out(trace: &mut Trace) {
    let _stage = progress::stage("laying out tracks", None, None);
    layout::lay_out(trace);
}

/// The SQL database of `inputs` in `window`: built in memory, or the
/// database file written by `db` when that is the input (without a
/// window). `label` names the inputs in the window's note (for `diff`).
fn database(
    command: &str,
    inputs: &[PathBuf],
    options: &InputOptions,
    window: Window,
    ctx: &Ctx,
    reads: Reads,
    label: Option<&str>,
) -> Result<sql::Database, Error> {
    match inputs.iter().position(|p| sql::Database::is_database(p)) {
        None => {
            let mut trace = load_aligned(inputs, options, ctx, reads)?;
            apply_window(&mut trace, window, ctx, label)?;
            sql::Database::in_memory(trace)
        }
        Some(i) if !window.is_unbounded() => Err(Error::Usage(format!(
            "{command}: {} is a database written by `db`: --from/--to select events as inputs are \
             read; query the database with a condition on `ts` instead",
            inputs[i].display()
        ))),
        Some(i)
            if inputs.len() == 1 && options.input_format.is_none() && options.align.is_empty() =>
        {
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
    Err(Error::Usage(format!(
        "unknown query `{label}`: not a bundled query ({}) and not a .sql file",
        bundled_names()
    )))
}

fn bundled_names() -> String {
    let names: Vec<&str> = sql::BUNDLED.iter().map(|b| b.name).collect();
    names.join(", ")
}

fn run(cli: Cli) -> Result<(), Error> {
    let mut ctx = Ctx {
        salvage: cli.salvage,
        quiet: cli.quiet,
        scrape_interval: cli.scrape_interval,
        no_queue_length: false,
    };
    match cli.command {
        Command::Convert {
            inputs,
            output,
            provenance,
            no_queue_length,
            window,
            open,
            serve,
        } => {
            ctx.no_queue_length = no_queue_length;
            if open && output.as_os_str() == "-" {
                return Err(Error::Usage(
                    "convert --open serves the file it writes: give -o a file, not `-`".into(),
                ));
            }
            let window = checked_window(&window)?;
            convert(&ctx, inputs, &output, provenance, window)?;
            if open {
                let bytes = std::fs::read(&output).map_err(|source| Error::Read {
                    path: output.clone(),
                    source,
                })?;
                serve_trace(&open::served_name(&output, false), bytes, &serve, ctx.quiet)?;
            }
            Ok(())
        }
        Command::Open {
            inputs,
            provenance,
            no_queue_length,
            serve,
        } => {
            ctx.no_queue_length = no_queue_length;
            let (paths, options) = (&inputs.inputs, &inputs.options);
            // One Perfetto trace is served as it is.
            if let ([path], None, true) =
                (&paths[..], options.input_format, options.align.is_empty())
            {
                if path.as_os_str() != "-" {
                    if let Some(bytes) = open::read_trace_file(path)? {
                        return serve_trace(
                            &open::served_name(path, false),
                            bytes,
                            &serve,
                            ctx.quiet,
                        );
                    }
                }
            }
            let mut trace = load_aligned(paths, options, &ctx, Reads::All)?;
            trace.provenance.detail = provenance;
            let bytes = {
                let _stage = progress::stage("converting", None, None);
                perfetto::to_bytes(&mut trace)
            };
            if !ctx.quiet {
                eprint!("{}", info::summarize(&trace));
            }
            serve_trace(
                &open::served_name(&paths[0], true),
                bytes,
                &serve,
                ctx.quiet,
            )
        }
        Command::Info { inputs, out } => {
            let format = out.output_format.unwrap_or(OutputFormat::Table);
            if format == OutputFormat::Csv {
                return Err(Error::Usage(
                    "info has no CSV form (its figures are not one table): use --output-format json"
                        .into(),
                ));
            }
            let dest = Dest::new(&out.output);
            let mut trace = load_aligned(&inputs.inputs, &inputs.options, &ctx, Reads::All)?;
            lay_out(&mut trace);
            let text = match format {
                OutputFormat::Json => info::summarize_json(&trace),
                _ => info::summarize(&trace),
            };
            dest.write_text(&text)
        }
        Command::Stats {
            inputs,
            out,
            section,
            include_warmup,
            window,
        } => {
            let printer = Printer::new(&out);
            let window = checked_window(&window)?;
            let db = database(
                "stats",
                &inputs.inputs,
                &inputs.options,
                window,
                &ctx,
                Reads::Summaries,
                None,
            )?;
            let mut sections = {
                let _stage = progress::stage("computing statistics", None, None);
                sql::sections::sections(&db, include_warmup)?
            };
            if sections.is_empty() {
                return Err(Error::NothingToDo(format!(
                    "nothing to summarize: the inputs hold no requests, client records, GPU work, iteration statistics or metric series{}",
                    in_window(window)
                )));
            }
            let text = match &section {
                Some(name) => {
                    let names = sql::sections::names(&sections).join(", ");
                    sections.retain(|s| s.query == name);
                    let Some(s) = sections.first() else {
                        return Err(Error::Usage(format!(
                            "--section {name}: these inputs have the sections {names}"
                        )));
                    };
                    match printer.format {
                        OutputFormat::Table => {
                            sql::sections::render(&sections, printer.format, &printer.style)
                        }
                        f => sql::render_styled(&s.rows, f, &printer.style),
                    }
                }
                None => sql::sections::render(&sections, printer.format, &printer.style),
            };
            printer.dest.write_text(&text)?;
            if !ctx.quiet {
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
            }
            Ok(())
        }
        Command::Report {
            inputs,
            output,
            window,
        } => {
            let dest = Dest::new(&output);
            dest.refuse_overwriting(&inputs.inputs)?;
            let window = checked_window(&window)?;
            let mut trace = load_aligned(&inputs.inputs, &inputs.options, &ctx, Reads::Summaries)?;
            apply_window(&mut trace, window, &ctx, None)?;
            let db = sql::Database::in_memory(trace)?;
            let html = report::render(&db).map_err(|e| match e {
                Error::NothingToDo(m) => Error::NothingToDo(format!("{m}{}", in_window(window))),
                e => e,
            })?;
            dest.write_text(&html)?;
            if !ctx.quiet {
                eprintln!("wrote    {}", dest.name());
            }
            Ok(())
        }
        Command::Query {
            args,
            sql: text,
            params,
            options,
            out,
            window,
        } => query(
            &ctx,
            args,
            text,
            params,
            &options,
            &out,
            checked_window(&window)?,
        ),
        Command::Diff {
            a,
            b,
            input_format,
            out,
            window,
        } => {
            let printer = Printer::new(&out);
            let window = checked_window(&window)?;
            let options = InputOptions {
                input_format,
                align: AlignArgs::default(),
            };
            let open = |p: &PathBuf, label: &str| {
                let label = format!("{label} ({})", p.display());
                database(
                    "diff",
                    std::slice::from_ref(p),
                    &options,
                    window,
                    &ctx,
                    Reads::All,
                    Some(&label),
                )
            };
            let (da, db) = (open(&a, "A")?, open(&b, "B")?);
            let sections = breakdown_trace::diff::diff(&da, &db)?;
            printer.dest.write_text(&sql::sections::render(
                &sections,
                printer.format,
                &printer.style,
            ))
        }
        Command::Queries { name, sql_only } => {
            let dest = Dest::Stdout;
            let Some(name) = name else {
                let width = sql::BUNDLED.iter().map(|b| b.name.len()).max().unwrap_or(0);
                let mut list = String::new();
                for b in sql::BUNDLED {
                    list.push_str(&format!("{:width$}  {}\n", b.name, b.description()));
                }
                return dest.write_text(&list);
            };
            let b = sql::Bundled::find(&name).ok_or_else(|| {
                Error::Usage(format!(
                    "unknown query `{name}`; the bundled queries: {}",
                    bundled_names()
                ))
            })?;
            let text = if sql_only {
                b.sql_without_header()
            } else {
                b.sql.to_owned()
            };
            dest.write_text(&text)
        }
        Command::Export {
            inputs,
            output,
            input_format,
            jobs,
            resume,
        } => {
            use breakdown_trace::export::{self, Event};
            let quiet = ctx.quiet;
            let inputs = export::expand(&inputs, &output)?;
            let opts = export::Options {
                dir: output,
                format: input_format,
                salvage: ctx.salvage,
                jobs: jobs.unwrap_or_else(export::default_jobs),
                resume,
                rows_per_group: export::parquet::ROWS_PER_GROUP,
            };
            let s = export::export(&inputs, &opts, &|e| match e {
                Event::Failed { error, .. } => eprintln!("error: {error}"),
                Event::Exported {
                    path,
                    label,
                    rows,
                    seconds,
                } if !quiet => eprintln!(
                    "exported {}  input={label}  rows={rows}  {seconds:.2} s",
                    path.display()
                ),
                Event::Skipped { path, label } if !quiet => eprintln!(
                    "skipped  {}  input={label} (complete; --resume)",
                    path.display()
                ),
                _ => {}
            })?;
            if !quiet {
                eprintln!(
                    "wrote    {}  inputs: {} exported, {} skipped, {} failed; rows={}; views: {}",
                    opts.dir.display(),
                    s.exported,
                    s.skipped,
                    s.failed,
                    s.rows,
                    opts.dir.join("views.sql").display()
                );
            }
            if s.failed > 0 {
                return Err(Error::Export(format!(
                    "export: {} of {} inputs failed (named above); the others are in {}",
                    s.failed,
                    inputs.len(),
                    opts.dir.display()
                )));
            }
            if inputs.is_empty() {
                return Err(Error::NothingToDo(
                    "export: no inputs (the directories hold no trace files)".into(),
                ));
            }
            Ok(())
        }
        Command::Db { inputs, output } => {
            let dest = Dest::new(&output);
            dest.refuse_binary_on_terminal("a SQLite database")?;
            dest.refuse_overwriting(&inputs.inputs)?;
            let mut trace = load_aligned(&inputs.inputs, &inputs.options, &ctx, Reads::All)?;
            lay_out(&mut trace);
            let summary = info::summarize(&trace);
            let stats = {
                let _stage = progress::stage(format!("writing {}", dest.name()), None, None);
                match &dest {
                    Dest::File(path) => sql::write_db(trace, path)?,
                    Dest::Stdout => {
                        // SQLite writes files: write one in a temporary
                        // directory, then copy it out.
                        let dir = tempfile::tempdir().map_err(|source| Error::Write {
                            path: std::env::temp_dir(),
                            source,
                        })?;
                        let tmp = dir.path().join("out.sqlite");
                        let stats = sql::write_db(trace, &tmp)?;
                        let mut f = std::fs::File::open(&tmp).map_err(|source| Error::Read {
                            path: tmp.clone(),
                            source,
                        })?;
                        out::copy_to_stdout(&mut f)?;
                        stats
                    }
                }
            };
            if !ctx.quiet {
                eprint!("{summary}");
                eprintln!(
                    "wrote    {}  slices={}  args={}  requests={}  rows={}",
                    dest.name(),
                    stats.slices,
                    stats.args,
                    stats.requests,
                    stats.rows
                );
            }
            Ok(())
        }
        Command::Completions { shell } => {
            let mut cmd = command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "breakdown-trace", &mut buf);
            Dest::Stdout.write_bytes(&buf)
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(command())
                .render(&mut buf)
                .map_err(|source| Error::Write {
                    path: "standard output".into(),
                    source,
                })?;
            Dest::Stdout.write_bytes(&buf)
        }
    }
}

/// Serves `body` as `name` (see `open`): prints the link on stdout, each
/// request on stderr (unless `quiet`), and returns once it was fetched.
fn serve_trace(
    name: &str,
    body: Vec<u8>,
    args: &args::ServeArgs,
    quiet: bool,
) -> Result<(), Error> {
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
    Dest::Stdout.write_text(&format!("{}\n", server.ui_link()))?;
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

fn convert(
    ctx: &Ctx,
    inputs: Inputs,
    output: &Path,
    provenance: ProvenanceDetail,
    window: Window,
) -> Result<(), Error> {
    let dest = Dest::new(output);
    dest.refuse_binary_on_terminal("a Perfetto trace")?;
    dest.refuse_overwriting(&inputs.inputs)?;
    let mut trace = load_aligned(&inputs.inputs, &inputs.options, ctx, Reads::All)?;
    apply_window(&mut trace, window, ctx, None)?;
    trace.provenance.detail = provenance;
    lay_out(&mut trace);
    let stats = {
        let stage = progress::stage(
            format!("writing {}", dest.name()),
            None,
            Some(progress::Unit::Bytes),
        );
        match &dest {
            Dest::File(path) => {
                let trace = &trace;
                output::write_atomically(path, |w| {
                    let mut w = progress::CountingWriter {
                        inner: w,
                        stage: &stage,
                    };
                    perfetto::write(trace, &mut w).map_err(|source| Error::Write {
                        path: path.clone(),
                        source,
                    })
                })?
            }
            Dest::Stdout => {
                // A cut trace is no trace: any failed write (also a closed
                // pipe) is an error.
                let werr = |source| Error::Write {
                    path: "standard output".into(),
                    source,
                };
                let mut w = progress::CountingWriter {
                    inner: std::io::BufWriter::with_capacity(1 << 20, std::io::stdout()),
                    stage: &stage,
                };
                let stats = perfetto::write(&trace, &mut w).map_err(werr)?;
                use std::io::Write;
                w.flush().map_err(werr)?;
                stats
            }
        }
    };
    if !ctx.quiet {
        eprint!("{}", info::summarize(&trace));
        let input_bytes: u64 = trace.provenance.inputs.iter().map(|i| i.bytes).sum();
        let raw_bytes: u64 = trace.provenance.inputs.iter().map(|i| i.raw_bytes).sum();
        eprintln!(
            "wrote    {}  packets={}  bytes={} (inputs {} bytes, {} uncompressed; output/uncompressed {:.2})",
            dest.name(),
            stats.packets,
            stats.bytes,
            input_bytes,
            raw_bytes,
            stats.bytes as f64 / raw_bytes.max(1) as f64
        );
    }
    Ok(())
}

fn query(
    ctx: &Ctx,
    args: Vec<PathBuf>,
    text: Option<String>,
    params: Vec<(String, String)>,
    options: &InputOptions,
    out: &args::TabularOutput,
    window: Window,
) -> Result<(), Error> {
    let printer = Printer::new(out);
    let (name, text, inputs) = query_source(args, text)?;
    // The bundled queries' parameters are counts (`:top`, `:n`).
    if sql::Bundled::find(&name).is_some() {
        if let Some((k, v)) = params.iter().find(|(_, v)| v.parse::<u64>().is_err()) {
            return Err(Error::Usage(format!(
                "--param {k}={v}: query `{name}` takes a whole number (a count of rows, or ns for a `_ns` parameter)"
            )));
        }
    }
    let db = database("query", &inputs, options, window, ctx, Reads::All, None)?;
    if let Some(fast) = sql::slow_form_equivalent(&text) {
        let n = db.kernel_count();
        if n >= sql::SLOW_FORM_KERNELS && !ctx.quiet {
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
    let stage = progress::stage(
        format!("running query {name}"),
        None,
        Some(progress::Unit::Rows),
    );
    // CSV streams while SQLite produces the rows.
    let mut streamed = None;
    if printer.format == OutputFormat::Csv {
        streamed = printer
            .dest
            .stream(|w| db.run_csv(&name, &text, &params, w))?;
    }
    let rows = match streamed {
        Some(0) => sql::Rows::default(),
        Some(_) => return Ok(()),
        None => db.run(&name, &text, &params)?,
    };
    drop(stage);
    // SQL that names the current Kineto spellings finds nothing in
    // a trace that spells them otherwise: say so.
    let lower = text.to_ascii_lowercase();
    if rows.rows.is_empty() && lower.contains("category") && lower.contains("'kernel'") {
        let other = db.other_gpu_categories();
        if !other.is_empty() {
            let list: Vec<String> = other.iter().map(|(c, n)| format!("`{c}` ({n})")).collect();
            eprintln!(
                "note: no rows, but this trace's GPU work is categorised {}: the bundled queries \
                 (kernel-stats, idle-gaps, gpu-idle, ...) cover every spelling through the `gpu_work` \
                 table (`kind` = kernel / memcpy / memset)",
                list.join(", ")
            );
        }
    }
    if streamed.is_none() {
        let out = sql::render_styled(&rows, printer.format, &printer.style);
        printer.dest.write_text(&out)?;
    }
    Ok(())
}
