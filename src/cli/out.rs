//! Where output goes (`-o PATH`, `-` = stdout) and how tabular output is
//! printed: one rule for every command — a table fit to the terminal's
//! width when stdout is a terminal, CSV otherwise, unless
//! `--output-format` says.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use breakdown_trace::output;
use breakdown_trace::sql::{OutputFormat, Style};
use breakdown_trace::Error;

use super::args::TabularOutput;

/// An output destination.
pub enum Dest {
    Stdout,
    /// A file, written atomically.
    File(PathBuf),
}

impl Dest {
    pub fn new(path: &Path) -> Dest {
        if path.as_os_str() == "-" {
            Dest::Stdout
        } else {
            Dest::File(path.to_owned())
        }
    }

    /// How messages name it.
    pub fn name(&self) -> String {
        match self {
            Dest::Stdout => "<stdout>".into(),
            Dest::File(p) => p.display().to_string(),
        }
    }

    /// Whether output goes to a terminal.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Dest::Stdout) && std::io::stdout().is_terminal()
    }

    /// A binary output never goes to a terminal (it would garble it).
    pub fn refuse_binary_on_terminal(&self, what: &str) -> Result<(), Error> {
        if self.is_terminal() {
            return Err(Error::Usage(format!(
                "-o -: refusing to write {what} to a terminal; redirect stdout (`-o - > FILE`, `-o - | ...`) \
                 or give a file name"
            )));
        }
        Ok(())
    }

    /// Fails when the output file is one of the inputs.
    pub fn refuse_overwriting(&self, inputs: &[PathBuf]) -> Result<(), Error> {
        match self {
            Dest::Stdout => Ok(()),
            Dest::File(p) => output::refuse_overwriting_an_input(p, inputs),
        }
    }

    pub fn write_text(&self, text: &str) -> Result<(), Error> {
        self.write_bytes(text.as_bytes())
    }

    pub fn write_bytes(&self, bytes: &[u8]) -> Result<(), Error> {
        match self {
            Dest::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes)
                    .and_then(|()| out.flush())
                    .or_else(stdout_error)
            }
            Dest::File(path) => output::write_atomically(path, |w| {
                w.write_all(bytes).map_err(|source| Error::Write {
                    path: path.clone(),
                    source,
                })
            }),
        }
    }

    /// Runs `fill` with a buffered writer on the destination (a file is
    /// renamed into place when `fill` succeeds).
    pub fn stream<T>(
        &self,
        fill: impl FnOnce(&mut dyn Write) -> Result<T, Error>,
    ) -> Result<T, Error> {
        match self {
            Dest::Stdout => {
                let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
                let v = fill(&mut out)?;
                match out.flush() {
                    Ok(()) => Ok(v),
                    Err(e) => stdout_error(e).map(|_| v),
                }
            }
            Dest::File(path) => output::write_atomically(path, |w| fill(w)),
        }
    }
}

/// A failed write to stdout: nothing when the reader stopped reading
/// (`| head`), else an error — never lost output with exit 0.
pub fn stdout_error(e: std::io::Error) -> Result<(), Error> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(Error::Write {
            path: "standard output".into(),
            source: e,
        })
    }
}

/// Copies a (binary) file to stdout; any failure, a closed pipe too, is an
/// error: a cut database is no database.
pub fn copy_to_stdout(f: &mut std::fs::File) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    std::io::copy(f, &mut out)
        .and_then(|_| out.flush())
        .map_err(|source| Error::Write {
            path: "standard output".into(),
            source,
        })
}

/// Tabular output settled: destination, format, table style.
pub struct Printer {
    pub dest: Dest,
    pub format: OutputFormat,
    pub style: Style,
}

impl Printer {
    /// Table on a terminal, CSV otherwise (a pipe, a file), unless
    /// `--output-format`; a table on a terminal fits its width unless
    /// `--wide`.
    pub fn new(o: &TabularOutput) -> Printer {
        let dest = Dest::new(&o.output);
        let terminal = dest.is_terminal();
        let format = o.output_format.unwrap_or(if terminal {
            OutputFormat::Table
        } else {
            OutputFormat::Csv
        });
        let width = if terminal && !o.wide {
            terminal_width()
        } else {
            None
        };
        Printer {
            dest,
            format,
            style: Style::terminal(width),
        }
    }
}

/// The terminal's width: `COLUMNS` when set (as shells export it), else
/// what the terminal reports.
fn terminal_width() -> Option<usize> {
    if let Some(c) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|&c| c > 0)
    {
        return Some(c);
    }
    terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| w.0 as usize)
}
