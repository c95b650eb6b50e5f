//! Command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use breakdown_trace::ingest::{self, Format};
use breakdown_trace::model::align::{self, Alignment, Anchor};
use breakdown_trace::model::{layout, Trace};
use breakdown_trace::stat_table::{self, OutputFormat};
use breakdown_trace::{client_stats, perfetto, summary, Error};

#[derive(Parser)]
#[command(
    name = "breakdown-trace",
    version,
    about = "Where did an LLM inference request's time go? Converts server timing data to Perfetto traces."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    /// Client benchmark statistics (aiperf, vLLM bench): TTFT, time to
    /// second token, inter-token latency, output tokens/s per user, request
    /// latency (aiperf's definitions; ok requests only; warmup excluded).
    Stats {
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Force the input format instead of detecting it.
        #[arg(long = "input-format", value_parser = parse_format)]
        input_format: Option<Format>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = StatsFormat::Table)]
        format: StatsFormat,
        /// Count warmup records too.
        #[arg(long)]
        include_warmup: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum StatsFormat {
    Table,
    Csv,
    Json,
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

/// Loads inputs and applies the alignment options.
fn load_aligned(
    inputs: &[PathBuf],
    format: Option<Format>,
    align: &AlignArgs,
) -> Result<Trace, Error> {
    let alignment = align.alignment(inputs)?;
    let mut trace = ingest::load(inputs, format)?;
    align::apply(&mut trace, &alignment).map_err(Error::Usage)?;
    Ok(trace)
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        format!("unknown format `{s}`; known: {}", names.join(", "))
    })
}

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Convert {
            inputs,
            output,
            format,
            quiet,
            align,
        } => {
            let mut trace = load_aligned(&inputs, format, &align)?;
            let stats = perfetto::write_file(&mut trace, &output)?;
            if !quiet {
                eprint!("{}", summary::summarize(&trace));
                let input_bytes: u64 = trace.provenance.inputs.iter().map(|i| i.bytes).sum();
                eprintln!(
                    "wrote    {}  packets={}  bytes={} (inputs {} bytes)",
                    output.display(),
                    stats.packets,
                    stats.bytes,
                    input_bytes
                );
            }
            Ok(())
        }
        Command::Info {
            inputs,
            format,
            align,
        } => {
            let mut trace = load_aligned(&inputs, format, &align)?;
            layout::lay_out(&mut trace);
            print!("{}", summary::summarize(&trace));
            Ok(())
        }
        Command::Stats {
            inputs,
            input_format,
            format,
            include_warmup,
        } => {
            let trace = ingest::load(&inputs, input_format)?;
            let opts = client_stats::Options { include_warmup };
            let rows = client_stats::rows(&trace, &opts);
            if rows.is_empty() {
                return Err(Error::Usage(
                    "no client benchmark records (aiperf, vllm-bench) in the inputs".into(),
                ));
            }
            let f = match format {
                StatsFormat::Table => OutputFormat::Table,
                StatsFormat::Csv => OutputFormat::Csv,
                StatsFormat::Json => OutputFormat::Json,
            };
            print!("{}", stat_table::render(&rows, f));
            if trace.warnings.total() > 0 {
                eprintln!(
                    "warnings {} (run `info` for details)",
                    trace.warnings.total()
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
