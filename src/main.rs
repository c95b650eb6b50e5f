//! Command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use breakdown_trace::ingest::{self, Format};
use breakdown_trace::model::layout;
use breakdown_trace::{perfetto, summary, Error};

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
    },
    /// Describe inputs: format, record counts, time range, warnings by kind.
    Info {
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        #[arg(long, value_parser = parse_format)]
        format: Option<Format>,
    },
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
        } => {
            let mut trace = ingest::load(&inputs, format)?;
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
            Ok(())
        }
        Command::Info { inputs, format } => {
            let mut trace = ingest::load(&inputs, format)?;
            layout::lay_out(&mut trace);
            print!("{}", summary::summarize(&trace));
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
