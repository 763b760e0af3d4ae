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
    pub fn commit(self) -> Result<PathBuf, WriteError> {
        let mut paths = commit_all(vec![self])?;
        Ok(paths.remove(0))
    }

    fn rename(&mut self) -> Result<PathBuf, WriteError> {
        fs::rename(&self.temp, &self.path).map_err(|error| WriteError {
            path: self.path.clone(),
            error,
        })?;
        self.committed = true;
        Ok(std::mem::take(&mut self.path))
    }
}

/// Renames every staged file over its final name, in order, then syncs their directories.
///
/// Each file is atomic on its own, the set is not: a run killed between two renames leaves
/// some files new and the others as they were. The renames therefore follow one another with
/// nothing in between (a directory sync after each took milliseconds), which keeps that window
/// as short as a few system calls. On an error the files not yet renamed are removed.
pub fn commit_all(files: Vec<StagedFile>) -> Result<Vec<PathBuf>, WriteError> {
    let mut paths = Vec::with_capacity(files.len());
    for mut file in files {
        paths.push(file.rename()?);
    }
    // The renames must reach the disk too; not every platform lets us sync a directory, and
    // the data is already safe, so a failure here is not an error.
    let mut dirs: Vec<&Path> = paths
        .iter()
        .map(|path| match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        })
        .collect();
    dirs.dedup();
    for dir in dirs {
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(paths)
}

/// Removes what runs killed before they could clean up (kill -9, a power cut) left in `dir`:
/// the temporary files `.NAME.tmp-PID` of each of `names` whose process PID is no longer
/// running. Where running processes cannot be told (no `/proc`), nothing is removed. Returns
/// the number of files removed.
pub fn remove_stale_temporaries(dir: &Path, names: &[&str]) -> io::Result<usize> {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return Ok(0);
    }
    let mut removed = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        let stale = names.iter().any(|name| {
            file_name
                .strip_prefix('.')
                .and_then(|rest| rest.strip_prefix(name))
                .and_then(|rest| rest.strip_prefix(".tmp-"))
                .and_then(|pid| pid.parse::<u32>().ok())
                .is_some_and(|pid| {
                    pid != std::process::id() && !proc.join(pid.to_string()).exists()
                })
        });
        if stale {
            fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
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
    fn commit_all_renames_every_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let a = stage(&dir.path().join("a.csv"), |out| out.write_all(b"a\n")).unwrap();
        let b = stage(&dir.path().join("b.csv"), |out| out.write_all(b"b\n")).unwrap();
        let paths = commit_all(vec![a, b]).unwrap();
        assert_eq!(paths, [dir.path().join("a.csv"), dir.path().join("b.csv")]);
        assert_eq!(entries(dir.path()), ["a.csv", "b.csv"]);
    }

    /// Temporary files of dead processes go; those of a running process (this one) and files
    /// that are not ours stay.
    #[test]
    fn stale_temporaries_of_dead_runs_are_removed() {
        if !Path::new("/proc/self").exists() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        // Larger than any pid Linux hands out (pid_max is at most 2^22).
        let dead = ".runs.csv.tmp-999999999";
        let ours = temp_path(&dir.path().join("runs.csv"));
        for name in [
            dead,
            ".other.csv.tmp-999999999",
            ".runs.csv.tmp-x",
            "runs.csv",
        ] {
            fs::write(dir.path().join(name), "").unwrap();
        }
        fs::write(&ours, "").unwrap();
        assert_eq!(
            remove_stale_temporaries(dir.path(), &["runs.csv"]).unwrap(),
            1
        );
        assert!(!dir.path().join(dead).exists());
        assert!(ours.exists());
        assert_eq!(entries(dir.path()).len(), 4);
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
