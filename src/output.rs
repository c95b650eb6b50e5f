//! Atomic output: write to a temporary file beside the target, then rename.
//! On any error the temporary file is removed and the target is untouched.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// Calls `fill` with a buffered writer on a temporary file in `path`'s
/// directory and renames it to `path` when `fill` succeeds.
pub fn write_atomically<T>(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<&mut File>) -> Result<T>,
) -> Result<T> {
    let werr = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    let mut tmp = temp_beside(path)?;
    let value = {
        let file = tmp.as_file_mut();
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let v = fill(&mut w)?;
        w.flush().map_err(werr)?;
        v
    };
    finish(tmp, path)?;
    Ok(value)
}

/// Like [`write_atomically`] for writers that open the file themselves
/// (SQLite): `fill` gets the temporary file's path.
pub fn write_atomically_at<T>(path: &Path, fill: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    let tmp = temp_beside(path)?;
    let value = fill(tmp.path())?;
    finish(tmp, path)?;
    Ok(value)
}

/// An empty temporary file `.NAME.XXXX.tmp` in `path`'s directory, removed
/// on drop unless persisted.
fn temp_beside(path: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut b = tempfile::Builder::new();
    b.prefix(&prefix).suffix(".tmp");
    // Created with mode 0666 so the umask decides, as for any new file
    // (tempfile's default, 0600, would leave outputs unreadable to others).
    #[cfg(unix)]
    b.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    b.tempfile_in(dir).map_err(|source| Error::Write {
        path: path.to_owned(),
        source,
    })
}

fn finish(tmp: tempfile::NamedTempFile, path: &Path) -> Result<()> {
    let werr = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    tmp.as_file().sync_all().map_err(werr)?;
    tmp.persist(path).map_err(|e| werr(e.error))?;
    Ok(())
}

/// Fails when `output` is one of `inputs` (the same file, also through a
/// link), before anything is read: writing it would destroy the input.
pub fn refuse_overwriting_an_input(output: &Path, inputs: &[std::path::PathBuf]) -> Result<()> {
    let Ok(out) = std::fs::metadata(output) else {
        return Ok(()); // a new file cannot be an input
    };
    for input in inputs {
        let Ok(inp) = std::fs::metadata(input) else {
            continue;
        };
        #[cfg(unix)]
        let same = {
            use std::os::unix::fs::MetadataExt;
            (out.dev(), out.ino()) == (inp.dev(), inp.ino())
        };
        #[cfg(not(unix))]
        let same = std::fs::canonicalize(output).ok() == std::fs::canonicalize(input).ok();
        if same {
            return Err(Error::Usage(format!(
                "the output {} is the input {}: refusing to overwrite it (choose another -o)",
                output.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_leaves_no_file_and_success_renames() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.pftrace");
        let r: Result<()> = write_atomically(&target, |w| {
            w.write_all(b"partial").unwrap();
            Err(Error::Usage("boom".into()))
        });
        assert!(r.is_err());
        assert!(!target.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "temp file removed"
        );
        write_atomically(&target, |w| {
            w.write_all(b"ok").map_err(|e| Error::Write {
                path: target.clone(),
                source: e,
            })
        })
        .unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"ok");
    }
}
