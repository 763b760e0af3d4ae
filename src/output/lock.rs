//! One process at a time per output folder.
//!
//! Two runs into one folder would interleave their points (issue 12: a `runs.csv` with points
//! 0-6 of one seed and 7-9 of another, exit 0). A run, a resume, a merge and a plot therefore
//! hold an exclusive `flock` on a lock file in the folder for as long as they touch it. The
//! kernel releases a `flock` when its process dies, `kill -9` included, so a crash never leaves
//! a folder locked: a stale lock file is only a file, and the next process takes it.
//!
//! The holder writes its pid into the file, so the second process can say who holds the folder.
//! Shards of one sweep share a folder but write only their own sub-folders: each shard locks a
//! lock file of its own (`.gossip-sim-shard-I-of-N.lock`), so shards run side by side while two
//! copies of one shard do not.
//!
//! The lock file is removed when the lock is released, so a finished folder holds nothing but
//! results. Removing a locked file races with a process that opened it just before: that one
//! would lock an inode no longer in the folder. Acquiring therefore checks, once locked, that
//! the path still names the inode it locked, and starts over if not (the usual protocol for
//! removable lock files).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::io::AsRawFd as _;
use std::path::{Path, PathBuf};

/// The lock file of a whole run, a merge or a plot.
pub const LOCK_FILE: &str = ".gossip-sim.lock";

/// The output folder is held by another process.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "output folder {} is in use by another gossip-sim process ({}); wait for it to \
         finish, or use --out to choose another folder",
        dir.display(),
        holder(*pid)
    )]
    Held { dir: PathBuf, pid: Option<u32> },

    #[error("cannot lock output folder {}: {error}", dir.display())]
    Io { dir: PathBuf, error: io::Error },
}

fn holder(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("pid {pid}"),
        // Between its lock and its write of the pid: rare, and still refused.
        None => "pid not yet written".to_owned(),
    }
}

/// An exclusive lock on an output folder, released (and its file removed) on drop.
#[derive(Debug)]
pub struct FolderLock {
    path: PathBuf,
    file: File,
}

impl FolderLock {
    /// Locks `dir` (which must exist) through its lock file `name`, without waiting.
    pub fn acquire(dir: &Path, name: &str) -> Result<FolderLock, LockError> {
        let path = dir.join(name);
        let io_error = |error| LockError::Io {
            dir: dir.to_path_buf(),
            error,
        };
        // Bounded: each retry means another process removed the file between our open and our
        // lock, which takes it a whole run to do again.
        for _ in 0..100 {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io_error)?;
            // SAFETY: flock on a file descriptor we own; no memory is involved.
            let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if locked != 0 {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::WouldBlock {
                    let mut text = String::new();
                    let _ = file.read_to_string(&mut text);
                    return Err(LockError::Held {
                        dir: dir.to_path_buf(),
                        pid: text.trim().parse().ok(),
                    });
                }
                return Err(io_error(error));
            }
            let same = match (file.metadata(), fs::metadata(&path)) {
                (Ok(ours), Ok(named)) => ours.ino() == named.ino() && ours.dev() == named.dev(),
                _ => false,
            };
            if !same {
                continue;
            }
            file.set_len(0).map_err(io_error)?;
            writeln!(file, "{}", std::process::id()).map_err(io_error)?;
            return Ok(FolderLock { path, file });
        }
        Err(io_error(io::Error::other(
            "the lock file keeps being replaced",
        )))
    }

    /// The lock file of a shard's run.
    pub fn shard_file_name(shard_dir_name: &str) -> String {
        format!(".gossip-sim-{shard_dir_name}.lock")
    }
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        // Unlink while still locked: a process waiting on this inode sees it replaced and
        // starts over on a fresh file.
        let _ = fs::remove_file(&self.path);
        // SAFETY: as above; closing the file would release the lock too.
        unsafe {
            libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

/// Whether `name` is a lock file of this module, which a folder may hold without being foreign.
pub fn is_lock_file(name: &str) -> bool {
    name.starts_with(".gossip-sim") && name.ends_with(".lock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_and_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let first = FolderLock::acquire(dir.path(), LOCK_FILE).unwrap();
        // flock locks belong to the open file, so a second open in one process conflicts too.
        let err = FolderLock::acquire(dir.path(), LOCK_FILE).unwrap_err();
        let LockError::Held { pid, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(*pid, Some(std::process::id()));
        assert!(
            err.to_string()
                .contains(&format!("pid {}", std::process::id()))
        );
        // Another shard's lock is another file.
        let shard = FolderLock::shard_file_name("shard-0-of-2");
        let other = FolderLock::acquire(dir.path(), &shard).unwrap();
        drop(first);
        drop(other);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            0,
            "lock files removed"
        );
        FolderLock::acquire(dir.path(), LOCK_FILE).unwrap();
    }

    #[test]
    fn a_stale_lock_file_of_a_killed_process_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(LOCK_FILE), "999999999\n").unwrap();
        let lock = FolderLock::acquire(dir.path(), LOCK_FILE).unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap(),
            format!("{}\n", std::process::id())
        );
        drop(lock);
    }
}
