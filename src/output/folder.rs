//! The output folder: created if missing, locked, and written only if it is gossip-sim's own.
//!
//! The rule (issue 12, item 2): gossip-sim writes only into a folder that is empty, or that its
//! own `run.toml` marks as its own; anything else needs `--force`. "Empty" allows what gossip-sim
//! itself leaves while it works: lock files, the point store of an interrupted run
//! (`.partial*/`), finished shards (`shard-I-of-N/`) and temporaries of killed runs. So a user's
//! `updates.csv`, `tables.csv` or a whole home folder (`--out ~`, `--out /`) is never written
//! over or deleted by accident. A folder that is gossip-sim's own but holds another scenario's
//! results (its `scenario.resolved.toml` differs) is refused as well, naming the keys that differ.
//!
//! A folder this run created is removed again if the run fails before writing anything into it,
//! so a failed run or merge leaves no empty folder behind.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::lock::{self, FolderLock, LockError};
use super::manifest::{self, PROVENANCE_FILES, RESOLVED_SCENARIO, RUN_MANIFEST};

/// The manifest file of a point store (see [`crate::store`]), which marks its folder as ours.
const STORE_MANIFEST: &str = "manifest.txt";

/// Why an output folder cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error("cannot create output folder {}: {error}", path.display())]
    Create { path: PathBuf, error: io::Error },

    #[error("output folder {} is not writable: {error}", path.display())]
    NotWritable { path: PathBuf, error: io::Error },

    #[error("cannot read {}: {error}", path.display())]
    Read { path: PathBuf, error: io::Error },

    #[error(transparent)]
    Locked(LockError),

    #[error(
        "cannot write {}: it is not a regular file (remove it, or use --out to choose another \
         folder)",
        path.display()
    )]
    NotAFile { path: PathBuf },

    #[error(
        "output folder {} holds files gossip-sim did not write ({}) and no gossip-sim {RUN_MANIFEST}; \
         use --force to write into it anyway, or --out to choose another folder",
        dir.display(),
        listing(names)
    )]
    NotOurs { dir: PathBuf, names: Vec<String> },

    #[error(
        "output folder {} holds results of another scenario ({}); use --force to overwrite \
         them, or --out to choose another folder",
        dir.display(),
        listing(differences)
    )]
    OtherScenario {
        dir: PathBuf,
        differences: Vec<String>,
    },
}

/// At most four items, then how many more.
fn listing(items: &[String]) -> String {
    const SHOWN: usize = 4;
    let mut text = items
        .iter()
        .take(SHOWN)
        .map(|item| crate::cli::one_line(item))
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > SHOWN {
        text.push_str(&format!("; and {} more", items.len() - SHOWN));
    }
    text
}

/// What a process is about to write into its output folder.
#[derive(Clone, Copy, Debug)]
pub enum Writer<'a> {
    /// A whole run or a merge: the result files into the folder itself, with this resolved
    /// scenario.
    Results { resolved: &'a str },
    /// A shard: only `shard-I-of-N/` (and its store) inside the folder, under this lock file.
    Shard {
        resolved: &'a str,
        lock_file: &'a str,
    },
}

/// An output folder, locked until dropped.
#[derive(Debug)]
pub struct OutputFolder {
    dir: PathBuf,
    lock: Option<FolderLock>,
    /// This process created the folder: remove it on failure if it is still empty.
    created: bool,
    kept: bool,
}

impl OutputFolder {
    /// Creates `dir` if needed, locks it, and checks it may be written (unless `force`).
    pub fn open(dir: &Path, writer: Writer<'_>, force: bool) -> Result<OutputFolder, FolderError> {
        let created = !dir.exists();
        fs::create_dir_all(dir).map_err(|error| FolderError::Create {
            path: dir.to_path_buf(),
            error,
        })?;
        let mut folder = OutputFolder {
            dir: dir.to_path_buf(),
            lock: None,
            created,
            kept: false,
        };
        let (lock_file, resolved) = match writer {
            Writer::Results { resolved } => (lock::LOCK_FILE, resolved),
            Writer::Shard {
                resolved,
                lock_file,
            } => (lock_file, resolved),
        };
        // A folder where a result file should be would stop the run halfway through renaming
        // its files; refuse it now, before anything is simulated or written.
        for name in super::FILE_NAMES.iter().chain(&PROVENANCE_FILES) {
            let path = dir.join(name);
            if fs::symlink_metadata(&path).is_ok_and(|meta| !meta.is_file()) {
                return Err(FolderError::NotAFile { path });
            }
        }
        // Not even a lock file goes into a folder that is not gossip-sim's (`--out ~`, `--out /`
        // as root): a foreign folder is refused before the lock is taken. Whether it holds this
        // scenario's results is checked under the lock, below, as another run may be writing.
        if !force
            && !created
            && let Err(err @ FolderError::NotOurs { .. }) = check_owner(dir, resolved)
        {
            return Err(err);
        }
        // Creating the lock file doubles as the check that the folder is writable.
        folder.lock = Some(
            FolderLock::acquire(dir, lock_file).map_err(|err| match err {
                LockError::Io { dir, error } => FolderError::NotWritable { path: dir, error },
                held => FolderError::Locked(held),
            })?,
        );
        if !force {
            check_owner(dir, resolved)?;
        }
        if matches!(writer, Writer::Results { .. }) {
            // The folder is ours: tidy away the temporaries that killed runs left. Only a whole
            // run or a merge writes result files here (a shard writes its own folder, perhaps
            // from another machine on a shared file system, whose processes this one cannot
            // see). Best effort; a leftover is hidden and harmless.
            let names: Vec<&str> = super::FILE_NAMES
                .iter()
                .chain(&PROVENANCE_FILES)
                .copied()
                .collect();
            let _ = super::atomic::remove_stale_temporaries(dir, &names);
        }
        Ok(folder)
    }

    /// Locks an existing results folder for reading and writing charts (`plot`); a missing
    /// folder is not locked, and is for the caller to report.
    pub fn lock_existing(dir: &Path) -> Result<Option<OutputFolder>, FolderError> {
        if !dir.is_dir() {
            return Ok(None);
        }
        let lock = FolderLock::acquire(dir, lock::LOCK_FILE).map_err(|err| match err {
            LockError::Io { dir, error } => FolderError::NotWritable { path: dir, error },
            held => FolderError::Locked(held),
        })?;
        Ok(Some(OutputFolder {
            dir: dir.to_path_buf(),
            lock: Some(lock),
            created: false,
            kept: true,
        }))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The run succeeded: keep the folder when the lock is released.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for OutputFolder {
    fn drop(&mut self) {
        drop(self.lock.take());
        if self.created && !self.kept {
            // Only if empty: an interrupted run keeps its finished points here.
            let _ = fs::remove_dir(&self.dir);
        }
    }
}

/// Refuses a folder that is not gossip-sim's, or holds results of a scenario other than
/// `resolved`.
fn check_owner(dir: &Path, resolved: &str) -> Result<(), FolderError> {
    let read = |path: PathBuf| match fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        // Not text: not ours.
        Err(err) if err.kind() == io::ErrorKind::InvalidData => Ok(Some(String::new())),
        Err(error) => Err(FolderError::Read { path, error }),
    };
    match read(dir.join(RUN_MANIFEST))? {
        Some(text) if manifest::is_run_manifest(&text) => {
            let found = read(dir.join(RESOLVED_SCENARIO))?.unwrap_or_default();
            let differences = manifest::differences(&found, resolved);
            if differences.is_empty() {
                Ok(())
            } else {
                Err(FolderError::OtherScenario {
                    dir: dir.to_path_buf(),
                    differences,
                })
            }
        }
        _ => {
            let mut names = Vec::new();
            for entry in fs::read_dir(dir).map_err(|error| FolderError::Read {
                path: dir.to_path_buf(),
                error,
            })? {
                let entry = entry.map_err(|error| FolderError::Read {
                    path: dir.to_path_buf(),
                    error,
                })?;
                let name = entry.file_name().to_string_lossy().into_owned();
                // A run of this very scenario killed between renaming its provenance files
                // (`store::assemble` renames them first) left this one alone.
                let this_runs_scenario = || {
                    name == RESOLVED_SCENARIO
                        && matches!(read(entry.path()), Ok(Some(found))
                            if manifest::differences(&found, resolved).is_empty())
                };
                if !is_ours(&entry.path(), &name) && !this_runs_scenario() {
                    names.push(name);
                }
            }
            names.sort();
            if names.is_empty() {
                Ok(())
            } else {
                Err(FolderError::NotOurs {
                    dir: dir.to_path_buf(),
                    names,
                })
            }
        }
    }
}

/// What gossip-sim leaves in a folder before its `run.toml` is there.
fn is_ours(path: &Path, name: &str) -> bool {
    if lock::is_lock_file(name) {
        return true;
    }
    let is_store = || path.join(STORE_MANIFEST).is_file();
    if name == ".partial" || name.starts_with(".partial-shard-") {
        // A store being written, perhaps by a shard running now beside this one: it may not
        // have its manifest yet (a whole run's store is checked before it is resumed).
        return path.is_dir();
    }
    if name.starts_with("shard-") && name.contains("-of-") {
        return path.is_dir() && is_store();
    }
    // `.NAME.tmp-PID`, a file staged by a killed run.
    name.strip_prefix('.')
        .and_then(|rest| rest.rsplit_once(".tmp-"))
        .is_some_and(|(file, pid)| {
            pid.chars().all(|c| c.is_ascii_digit())
                && (super::FILE_NAMES.contains(&file) || PROVENANCE_FILES.contains(&file))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESOLVED: &str = "name = \"s\"\nnodes = 10\n";

    fn open(dir: &Path, force: bool) -> Result<OutputFolder, FolderError> {
        OutputFolder::open(dir, Writer::Results { resolved: RESOLVED }, force)
    }

    #[test]
    fn a_users_files_are_refused_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("updates.csv"), "mine\n").unwrap();
        fs::write(dir.path().join("tables.csv"), "mine too\n").unwrap();
        let err = open(dir.path(), false).unwrap_err();
        assert!(
            err.to_string()
                .contains("holds files gossip-sim did not write (tables.csv; updates.csv)"),
            "{err}"
        );
        open(dir.path(), true).unwrap().keep();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2, "lock removed");
    }

    #[test]
    fn the_tools_own_leftovers_do_not_make_a_folder_foreign() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join(".partial")).unwrap();
        fs::create_dir(dir.path().join("shard-0-of-2")).unwrap();
        fs::write(dir.path().join("shard-0-of-2").join(STORE_MANIFEST), "x").unwrap();
        fs::write(dir.path().join(".runs.csv.tmp-12"), "half").unwrap();
        open(dir.path(), false).unwrap().keep();
        // A user's folder that happens to be named like a shard is not.
        fs::create_dir(dir.path().join("shard-1-of-2")).unwrap();
        assert!(matches!(
            open(dir.path(), false),
            Err(FolderError::NotOurs { .. })
        ));
    }

    #[test]
    fn another_scenarios_results_name_the_keys_that_differ() {
        let dir = tempfile::tempdir().unwrap();
        let provenance = manifest::Provenance::default();
        fs::write(
            dir.path().join(RUN_MANIFEST),
            provenance.run_toml("s", &crate::output::RunColumns::new(&[], &[])),
        )
        .unwrap();
        fs::write(
            dir.path().join(RESOLVED_SCENARIO),
            "name = \"s\"\nnodes = 20\n",
        )
        .unwrap();
        fs::write(dir.path().join("stdout.txt"), "ours, by manifest").unwrap();
        let err = open(dir.path(), false).unwrap_err();
        assert!(
            err.to_string()
                .contains("holds results of another scenario (nodes: 20 there, 10 here)"),
            "{err}"
        );
        fs::write(dir.path().join(RESOLVED_SCENARIO), RESOLVED).unwrap();
        open(dir.path(), false).unwrap().keep();
    }

    /// A run killed between renaming `scenario.resolved.toml` and `run.toml` leaves the first
    /// alone: the same scenario's next run may write there, another scenario's may not.
    #[test]
    fn a_killed_runs_resolved_scenario_alone_is_ours_only_for_that_scenario() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(RESOLVED_SCENARIO), RESOLVED).unwrap();
        fs::write(dir.path().join(".runs.csv.tmp-12"), "half").unwrap();
        open(dir.path(), false).unwrap().keep();
        fs::write(
            dir.path().join(RESOLVED_SCENARIO),
            "name = \"s\"\nnodes = 20\n",
        )
        .unwrap();
        let err = open(dir.path(), false).unwrap_err();
        assert!(
            err.to_string()
                .contains("holds files gossip-sim did not write (scenario.resolved.toml)"),
            "{err}"
        );
    }

    #[test]
    fn a_folder_created_for_a_failed_run_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        drop(open(&out, false).unwrap());
        assert!(!out.exists());
        open(&out, false).unwrap().keep();
        assert!(out.is_dir());
    }

    /// `--out /` as root made a lock file in `/` before refusing the folder. A lock file that
    /// cannot be made (a folder in its place) shows the order: the folder is refused as
    /// foreign, not as unwritable.
    #[test]
    fn a_foreign_folder_is_refused_before_a_lock_file_is_made_in_it() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("notes.txt"), "mine\n").unwrap();
        fs::create_dir(dir.path().join(lock::LOCK_FILE)).unwrap();
        let err = open(dir.path(), false).unwrap_err();
        assert!(matches!(err, FolderError::NotOurs { .. }), "{err}");
        fs::remove_dir(dir.path().join(lock::LOCK_FILE)).unwrap();
        assert!(open(dir.path(), false).is_err());
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "only notes.txt: no lock file was made");
    }

    #[test]
    fn a_second_process_on_the_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = open(dir.path(), false).unwrap();
        let err = open(dir.path(), false).unwrap_err();
        assert!(matches!(err, FolderError::Locked(_)), "{err}");
        drop(first);
    }
}
