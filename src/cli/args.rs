//! The command line's grammar: every subcommand and option (clap derive).
//!
//! One vocabulary everywhere (README, "Command line"): `--input-format NAME`
//! where inputs are read, `--output-format table|csv|json` where output is
//! tabular, `-o/--output PATH` where an output exists (`-` is stdout), `-`
//! as an input is stdin, `-q/--quiet` and `--salvage` global. The old
//! `--format` is refused with a message naming the new names.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use breakdown_trace::ingest::Format;
use breakdown_trace::model::window::{Bound, Window};
use breakdown_trace::model::ProvenanceDetail;
use breakdown_trace::open;
use breakdown_trace::sql::OutputFormat;

#[derive(Parser)]
#[command(
    name = "breakdown-trace",
    version,
    about = "Where did an LLM inference request's time go? Converts server timing data to Perfetto traces.",
    after_help = "Inputs: files, `-` for standard input, or pipes such as <(zcat f.gz); the format is \
                  detected from content and gzip is inflated. See `breakdown-trace queries` for the bundled \
                  queries."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Print nothing but errors and the command's output: no summaries,
    /// notes or progress bars.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Keep the complete records of a truncated input (a JSON array or JSON
    /// Lines file cut mid-write) instead of failing; says how many were kept.
    #[arg(long, global = true)]
    pub salvage: bool,
    /// Time between the scrapes of a Prometheus text file (e.g. `1s`, `500ms`): scrape k is
    /// placed at k × DURATION when its samples have no timestamps and no TensorRT-LLM
    /// timestamp gauge.
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_interval)]
    pub scrape_interval: Option<i64>,
}

fn parse_interval(s: &str) -> Result<i64, String> {
    match breakdown_trace::model::align::parse_duration(s)? {
        ns if ns > 0 => Ok(ns),
        _ => Err(format!("`{s}`: the interval must be positive")),
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Convert inputs into one Perfetto trace (.pftrace).
    Convert {
        #[command(flatten)]
        inputs: Inputs,
        /// Output trace file, written atomically; `-` writes to stdout
        /// (not to a terminal).
        #[arg(short, long, value_name = "PATH")]
        output: PathBuf,
        /// What the trace records about its making: `minimal` (input file names,
        /// sizes and SHA-256, tool version, options that change the output) or
        /// `full` (also the command line, which may hold absolute paths).
        #[arg(long = "provenance", value_name = "minimal|full", default_value = "minimal",
              value_parser = parse_provenance)]
        provenance: ProvenanceDetail,
        /// Leave out the `Queue Length` counter track that each GPU stream of a timeline gets
        /// (launched GPU work not yet started, HTA's definition).
        #[arg(long)]
        no_queue_length: bool,
        #[command(flatten)]
        window: WindowArgs,
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
        #[command(flatten)]
        inputs: Inputs,
        /// What the trace records about its making (see `convert`).
        #[arg(long = "provenance", value_name = "minimal|full", default_value = "minimal",
              value_parser = parse_provenance)]
        provenance: ProvenanceDetail,
        /// Leave out the `Queue Length` counter tracks of GPU streams (see `convert`).
        #[arg(long)]
        no_queue_length: bool,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Describe inputs: format, record counts, time range, warnings by kind.
    Info {
        #[command(flatten)]
        inputs: Inputs,
        #[command(flatten)]
        out: InfoOutput,
    },
    /// Statistics of whatever the inputs hold (requests, client benchmarks, GPU work).
    ///
    /// From the bundled queries: request segments (count, absent by cause,
    /// min/p50/p90/p99/max/mean ms, total to first token) and latency; client benchmark statistics
    /// (aiperf's definitions; ok requests only; warmup excluded); GPU kernel summary and idle
    /// share per device and stream, time by kind of work, idle by cause, comm/compute overlap and the
    /// launch-bound share. CSV is one tidy table `section,row,column,value`, or one
    /// section's table with --section.
    Stats {
        #[command(flatten)]
        inputs: Inputs,
        #[command(flatten)]
        out: TabularOutput,
        #[command(flatten)]
        window: WindowArgs,
        /// Print one section only, by its query name (in brackets in the table's titles, e.g.
        /// `latency`, `kernel-summary`); its CSV is then that query's table.
        #[arg(long, value_name = "NAME")]
        section: Option<String>,
        /// Count successful warmup records of client benchmarks too.
        #[arg(long)]
        include_warmup: bool,
    },
    /// Write the interactive HTML breakdown report (one self-contained file).
    Report {
        #[command(flatten)]
        inputs: Inputs,
        /// Output HTML file, written atomically; `-` writes to stdout.
        #[arg(short, long, value_name = "PATH")]
        output: PathBuf,
        #[command(flatten)]
        window: WindowArgs,
    },
    /// Run a bundled query (see `queries`), a .sql file, or --sql text over the inputs.
    ///
    /// Tables are named like Perfetto trace processor's (slice, track, thread, process, args, ...)
    /// plus request, request_segment and warning. The database is built in memory, or the
    /// input is a database file written by `db`.
    Query {
        /// Bundled query name or FILE.sql, then the inputs (`-` is stdin). With --sql, all are
        /// inputs.
        #[arg(required = true, value_name = "NAME|FILE.sql INPUT")]
        args: Vec<PathBuf>,
        /// SQL text to run instead of a named query.
        #[arg(long)]
        sql: Option<String>,
        /// Bind a named parameter `:KEY` (e.g. `--param n=20` for slow-requests).
        #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
        params: Vec<(String, String)>,
        #[command(flatten)]
        options: InputOptions,
        #[command(flatten)]
        out: TabularOutput,
        #[command(flatten)]
        window: WindowArgs,
    },
    /// Compare two runs of the same workload (HTA TraceDiff): per kernel name count, total and
    /// mean GPU time in A and B and the change, ranked by impact, names found in one run only;
    /// for request inputs, p50/p90 per segment and their change. A window (--from/--to) applies to
    /// each run, relative to its own start.
    Diff {
        /// Run A (the baseline; HTA's control trace).
        a: PathBuf,
        /// Run B (HTA's test trace).
        b: PathBuf,
        /// Force the input format of both instead of detecting it.
        #[arg(long, value_name = "NAME", value_parser = parse_format)]
        input_format: Option<Format>,
        #[command(flatten)]
        out: TabularOutput,
        #[command(flatten)]
        window: WindowArgs,
    },
    /// List the bundled queries, or print one: its header comment and SQL.
    Queries {
        /// A bundled query to print.
        name: Option<String>,
        /// Print the SQL without the header comment.
        #[arg(long, requires = "name")]
        sql_only: bool,
    },
    /// Write the SQL tables of many inputs as Parquet, one Hive partition per input
    /// (DIR/<table>/input=<label>/part-0.parquet), and DIR/views.sql for DuckDB.
    Export {
        /// Input files, or directories (their trace files, recursively).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output directory (created if missing).
        #[arg(short, long, value_name = "PATH")]
        output: PathBuf,
        /// Force the input format instead of detecting it.
        #[arg(long, value_name = "NAME", value_parser = parse_format)]
        input_format: Option<Format>,
        /// Inputs imported and written at once [default: the cores, at most 4].
        #[arg(long)]
        jobs: Option<usize>,
        /// Skip inputs whose partitions a previous export completed.
        #[arg(long)]
        resume: bool,
    },
    /// Write the inputs as a SQLite database any sqlite3 client can open.
    Db {
        #[command(flatten)]
        inputs: Inputs,
        /// Output database file, written atomically; `-` writes to stdout
        /// (not to a terminal).
        #[arg(short, long, value_name = "PATH")]
        output: PathBuf,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `breakdown-trace man > breakdown-trace.1`.
    Man,
}

/// How `open` (and `convert --open`) serves the trace.
#[derive(Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (ui.perfetto.dev fetches from 9001 only; 0 = any free port).
    #[arg(long, default_value_t = open::DEFAULT_PORT)]
    pub port: u16,
    /// Also open the link in the system browser ($BROWSER, xdg-open, open or start).
    #[arg(long)]
    pub browser: bool,
    /// Keep serving after the trace was fetched (to reload the UI), until Ctrl-C.
    #[arg(long)]
    pub keep_serving: bool,
    /// The UI's origin, for a self-hosted Perfetto UI.
    #[arg(long, value_name = "URL", default_value = open::DEFAULT_ORIGIN)]
    pub origin: String,
}

/// Inputs and how to read them.
#[derive(Args)]
pub struct Inputs {
    /// Input files (`-` is stdin; format detected from content; .gz is inflated).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub options: InputOptions,
}

/// How inputs are read: format and clocks.
#[derive(Args)]
pub struct InputOptions {
    /// Force the input format instead of detecting it.
    #[arg(long, value_name = "NAME", value_parser = parse_format)]
    pub input_format: Option<Format>,
    #[command(flatten)]
    pub align: AlignArgs,
}

/// Tabular output: format, destination, width.
#[derive(Args)]
pub struct TabularOutput {
    /// Output format: table (default on a terminal), csv (default otherwise) or json.
    #[arg(long, value_name = "table|csv|json", value_parser = parse_output)]
    pub output_format: Option<OutputFormat>,
    /// Write the output to PATH (atomically) instead of stdout (`-`).
    #[arg(short, long, value_name = "PATH", default_value = "-")]
    pub output: PathBuf,
    /// Print tables at full width: never shorten a column to fit the terminal.
    #[arg(long)]
    pub wide: bool,
}

/// `info`'s output: its summary text (`table`) or JSON.
#[derive(Args)]
pub struct InfoOutput {
    /// Output format: table (the summary text; default) or json (every figure of it).
    #[arg(long, value_name = "table|json", value_parser = parse_output)]
    pub output_format: Option<OutputFormat>,
    /// Write the output to PATH (atomically) instead of stdout (`-`).
    #[arg(short, long, value_name = "PATH", default_value = "-")]
    pub output: PathBuf,
}

/// A time window: the events from `--from` to `--to` (see
/// `breakdown_trace::model::window` for what is kept).
#[derive(Args, Default)]
pub struct WindowArgs {
    /// Keep only events from TIME on (slices that overlap the window, requests and records that
    /// start in it): a duration after the trace's start, which the Perfetto UI shows as 0 (`2s`,
    /// `1500ms`; units ns, us, ms, s, min, h), or an absolute timestamp in the trace's ns, as the
    /// SQL column `ts` shows it: `ts=1700000000123456789`.
    #[arg(long, value_name = "TIME", value_parser = parse_bound, allow_hyphen_values = true)]
    pub from: Option<Bound>,
    /// Keep only events before TIME (same forms as --from); must be after --from.
    #[arg(long, value_name = "TIME", value_parser = parse_bound, allow_hyphen_values = true)]
    pub to: Option<Bound>,
}

impl WindowArgs {
    pub fn window(&self) -> Window {
        Window {
            from: self.from,
            to: self.to,
        }
    }
}

fn parse_bound(s: &str) -> Result<Bound, String> {
    Bound::parse(s)
}

/// Per-input time alignment. Inputs are numbered from 0 in command-line
/// order; INPUT may also be the path as written.
#[derive(Args, Default)]
pub struct AlignArgs {
    /// Add DELTA to every timestamp of one input: `INPUT=DELTA`; INPUT is its 0-based position
    /// or its path as given; DELTA an integer or decimal with unit ns (default), us, ms, s, min
    /// or h, e.g. `1=-2h`.
    #[arg(long = "shift", value_name = "INPUT=DELTA")]
    pub shift: Vec<String>,
    /// Shift one input so its earliest event sits at OFFSET: `INPUT=OFFSET` (same units as
    /// --shift), e.g. `0=0` or `2=150ms`.
    #[arg(long = "align", value_name = "INPUT=OFFSET")]
    pub align: Vec<String>,
    /// Shift every input not named by --shift/--align so its earliest event sits at 0.
    #[arg(long)]
    pub align_start: bool,
}

/// The first old spelling among `args` (before a `--`), with the error that
/// names the new ones: `--format` was the input format in some commands
/// and the output format in others.
pub fn old_spelling(args: &[std::ffi::OsString]) -> Option<String> {
    for a in args.iter().skip(1) {
        let a = a.to_string_lossy();
        if a == "--" {
            break;
        }
        if a == "--format" || a.starts_with("--format=") {
            return Some(
                "`--format` is no longer an option: use `--input-format NAME` to force the input \
                 format, or `--output-format table|csv|json` to choose the output format"
                    .into(),
            );
        }
    }
    None
}

fn parse_provenance(s: &str) -> Result<ProvenanceDetail, String> {
    ProvenanceDetail::from_name(s)
        .ok_or_else(|| format!("unknown provenance `{s}`; known: minimal, full"))
}

fn parse_output(s: &str) -> Result<OutputFormat, String> {
    OutputFormat::from_name(s).ok_or_else(|| {
        format!(
            "unknown output format `{s}`; known: {}",
            OutputFormat::NAMES.join(", ")
        )
    })
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got `{s}`"))?;
    Ok((k.trim_start_matches(':').to_owned(), v.to_owned()))
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        format!("unknown input format `{s}`; known: {}", names.join(", "))
    })
}
