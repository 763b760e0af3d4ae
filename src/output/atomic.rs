//! Writing files so that a final name only ever holds a complete file.
//!
//! A file is written under a temporary name in the same directory (`.updates.csv.tmp-<pid>`),
//! flushed and synced, then renamed over its final name: a rename within one file system is
//! atomic, so a run interrupted at any point leaves either the old file or the new one, never a
//! truncated one. Splitting "stage" from "commit" lets a run stage all its files before renaming
//! any of them.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writing one output file failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {error}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    pub error: io::Error,
}

/// A complete file, synced to disk under a temporary name, not yet under its final name.
///
/// [`commit`](StagedFile::commit) renames it into place; dropping it instead removes the
/// temporary file.
#[derive(Debug)]
pub struct StagedFile {
    temp: PathBuf,
    path: PathBuf,
    committed: bool,
}

impl StagedFile {
    /// The final name.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file over its final name and returns that name.
    pub fn commit(mut self) -> Result<PathBuf, WriteError> {
        fs::rename(&self.temp, &self.path).map_err(|error| WriteError {
            path: self.path.clone(),
            error,
        })?;
        self.committed = true;
        // The rename itself must reach the disk too; not every platform lets us sync a
        // directory, and the data is already safe, so a failure here is not an error.
        if let Some(dir) = self.path.parent()
            && let Ok(dir) = File::open(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            })
        {
            let _ = dir.sync_all();
        }
        Ok(std::mem::take(&mut self.path))
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// The temporary name of `path`: hidden, in the same directory (so the rename cannot cross file
/// systems), and unique to this process.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes a file with `write` under a temporary name, flushes and syncs it. On any error (or a
/// panic in `write`) the temporary file is removed.
pub fn stage(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> Result<StagedFile, WriteError> {
    let error = |error| WriteError {
        path: path.to_path_buf(),
        error,
    };
    let temp = temp_path(path);
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&temp)
        .map_err(error)?;
    // From here on, dropping `staged` (on an error or a panic) removes the temporary file.
    let staged = StagedFile {
        temp,
        path: path.to_path_buf(),
        committed: false,
    };
    let mut out = BufWriter::new(file);
    write(&mut out).map_err(error)?;
    out.flush().map_err(error)?;
    let file = out.into_inner().map_err(|err| error(err.into_error()))?;
    file.sync_all().map_err(error)?;
    Ok(staged)
}

/// Writes `path` atomically: [`stage`], then [`StagedFile::commit`].
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> Result<(), WriteError> {
    stage(path, write)?.commit().map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_written_file_is_complete_and_no_temporary_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.csv");
        let body = "a,b\n".repeat(100_000);
        write_atomically(&path, |out| out.write_all(body.as_bytes())).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), body);
        assert_eq!(entries(dir.path()), ["runs.csv"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_removes_the_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.csv");
        fs::write(&path, "old\n").unwrap();
        let err = write_atomically(&path, |out| {
            out.write_all(b"half a ")?;
            Err(io::Error::other("disk on fire"))
        })
        .unwrap_err();
        assert_eq!(err.path, path);
        assert!(err.to_string().contains("runs.csv"), "{err}");
        assert!(err.to_string().contains("disk on fire"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "old\n");
        assert_eq!(entries(dir.path()), ["runs.csv"]);
    }

    #[test]
    fn a_panicking_writer_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("updates.csv");
        let result = std::panic::catch_unwind(|| {
            let _ = stage(&path, |out| {
                out.write_all(b"partial")?;
                panic!("writer bug");
            });
        });
        assert!(result.is_err());
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn a_staged_file_is_invisible_until_committed_and_gone_if_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coverage.csv");
        let staged = stage(&path, |out| out.write_all(b"x\n")).unwrap();
        assert!(!path.exists());
        assert_eq!(
            entries(dir.path()),
            [format!(".coverage.csv.tmp-{}", std::process::id())]
        );
        drop(staged);
        assert!(entries(dir.path()).is_empty());

        let staged = stage(&path, |out| out.write_all(b"x\n")).unwrap();
        assert_eq!(staged.commit().unwrap(), path);
        assert_eq!(entries(dir.path()), ["coverage.csv"]);
    }

    #[test]
    fn a_missing_directory_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("runs.csv");
        let err = write_atomically(&path, |_| Ok(())).unwrap_err();
        assert_eq!(err.path, path);
        assert_eq!(err.error.kind(), io::ErrorKind::NotFound);
    }
}
