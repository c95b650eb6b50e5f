//! Command line: parses arguments and calls the library (`cli/`).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
