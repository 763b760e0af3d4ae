//! Finished sweep points on disk, so that an interrupted run can resume and shards can merge.
//!
//! A store is a folder: a `manifest.txt` naming the sweep (a fingerprint of every resolved
//! point), the shard, and the header line of every output file; and one file per finished
//! point, `point-000012.rows`, holding that point's rows of every output file (no header), each
//! section preceded by a `NAME LENGTH` line. A point file is written under a temporary name,
//! synced, then renamed: it exists complete or not at all, whenever the process is killed. One
//! file rather than one per output file keeps the cost at one sync per point.
//!
//! The output files are the headers followed by the points' rows in point order
//! ([`assemble`]), so a run that was interrupted and resumed, a run on any number of threads,
//! and shards merged together all give the same bytes as one uninterrupted run.
//!
//! While a run is going the store is `OUT/.partial/` (`OUT/.partial-shard-I-of-N/` for a
//! shard). When every point is done, an unsharded run assembles the files into `OUT/` and
//! removes the store; a shard renames its store to `OUT/shard-I-of-N/` for `gossip-sim merge`.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::output::atomic::{self, StagedFile, WriteError};

const MANIFEST: &str = "manifest.txt";
const FORMAT: &str = "gossip-sim point store 1";
const POINT_FORMAT: &str = "gossip-sim point rows 1\n";

/// Which points a run takes: those whose index is `index` modulo `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Every point.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    pub fn selects(self, point: usize) -> bool {
        point % self.count == self.index
    }

    pub fn is_whole(self) -> bool {
        self.count == 1
    }

    /// `shard-I-of-N`, the folder name of a finished shard.
    pub fn dir_name(self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a store holds points of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// Hash of every resolved point of the sweep: resuming or merging another sweep's points is
    /// refused.
    pub fingerprint: String,
    pub scenario: String,
    /// Points in the whole sweep (all shards).
    pub points: usize,
    pub shard: Shard,
    /// Every output file with its header line, in output order.
    pub headers: Vec<(String, String)>,
}

impl Manifest {
    fn to_text(&self) -> String {
        let mut text = format!(
            "{FORMAT}\nfingerprint {}\nscenario {}\npoints {}\nshard {}\n",
            self.fingerprint, self.scenario, self.points, self.shard
        );
        for (file, header) in &self.headers {
            let _ = writeln!(text, "header {file} {header}");
        }
        text
    }

    fn parse(text: &str) -> Option<Manifest> {
        let mut lines = text.lines();
        if lines.next()? != FORMAT {
            return None;
        }
        let mut field = |name: &str| {
            lines
                .next()
                .and_then(|line| line.strip_prefix(name))
                .and_then(|rest| rest.strip_prefix(' '))
                .map(str::to_owned)
        };
        let fingerprint = field("fingerprint")?;
        let scenario = field("scenario")?;
        let points = field("points")?.parse().ok()?;
        let shard = parse_shard(&field("shard")?).ok()?;
        let mut headers = Vec::new();
        for line in lines {
            let (file, header) = line.strip_prefix("header ")?.split_once(' ')?;
            headers.push((file.to_owned(), header.to_owned()));
        }
        Some(Manifest {
            fingerprint,
            scenario,
            points,
            shard,
            headers,
        })
    }
}

/// Parses `I/N` with `I < N`.
pub fn parse_shard(text: &str) -> Result<Shard, String> {
    let problem = || format!("expected I/N with 0 <= I < N, as in 0/4, got `{text}`");
    let (index, count) = text.split_once('/').ok_or_else(problem)?;
    let index: usize = index.trim().parse().map_err(|_| problem())?;
    let count: usize = count.trim().parse().map_err(|_| problem())?;
    if count == 0 || index >= count {
        return Err(problem());
    }
    Ok(Shard { index, count })
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot {action} {}: {error}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        error: io::Error,
    },

    #[error(
        "cannot resume: {} holds an unfinished run of a different sweep (the scenario, its \
         flags or gossip-sim changed); run without --resume to start over",
        dir.display()
    )]
    ResumeMismatch { dir: PathBuf },

    #[error("{} is not a gossip-sim point store (no readable {MANIFEST})", dir.display())]
    NotAStore { dir: PathBuf },
}

impl StoreError {
    fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
        let path = path.to_path_buf();
        move |error| StoreError::Io {
            action,
            path,
            error,
        }
    }
}

/// An open store.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    manifest: Manifest,
}

impl Store {
    /// Opens the store at `dir` for `manifest`. Without `resume`, anything there is removed
    /// first. With it, an existing store must have been made for the same manifest; its
    /// finished points are kept. Temporary folders of a killed run are removed either way.
    pub fn open(dir: &Path, manifest: Manifest, resume: bool) -> Result<Store, StoreError> {
        let store = Store {
            dir: dir.to_path_buf(),
            manifest,
        };
        let existing = fs::read_to_string(dir.join(MANIFEST)).ok();
        match existing.as_deref().map(Manifest::parse) {
            Some(Some(found)) if resume => {
                if found != store.manifest {
                    return Err(StoreError::ResumeMismatch {
                        dir: dir.to_path_buf(),
                    });
                }
                store.remove_temporaries()?;
                return Ok(store);
            }
            _ => {}
        }
        remove_dir(dir)?;
        fs::create_dir_all(dir).map_err(StoreError::io("create", dir))?;
        let path = dir.join(MANIFEST);
        atomic::write_atomically(&path, |out| {
            out.write_all(store.manifest.to_text().as_bytes())
        })
        .map_err(|WriteError { path, error }| StoreError::Io {
            action: "write",
            path,
            error,
        })?;
        Ok(store)
    }

    /// Opens an existing store, as `merge` does.
    pub fn read(dir: &Path) -> Result<Store, StoreError> {
        let manifest = fs::read_to_string(dir.join(MANIFEST))
            .ok()
            .and_then(|text| Manifest::parse(&text))
            .ok_or_else(|| StoreError::NotAStore {
                dir: dir.to_path_buf(),
            })?;
        Ok(Store {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The file of point `index`.
    pub fn point_path(&self, index: usize) -> PathBuf {
        self.dir.join(format!("point-{index:06}.rows"))
    }

    /// The finished points, in index order.
    pub fn finished(&self) -> Result<Vec<usize>, StoreError> {
        let mut points = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(StoreError::io("read", &self.dir))? {
            let entry = entry.map_err(StoreError::io("read", &self.dir))?;
            let name = entry.file_name();
            if let Some(index) = name
                .to_str()
                .and_then(|name| name.strip_prefix("point-"))
                .and_then(|rest| rest.strip_suffix(".rows"))
                .and_then(|digits| digits.parse::<usize>().ok())
            {
                points.push(index);
            }
        }
        points.sort_unstable();
        Ok(points)
    }

    /// Records point `index` as finished with its rows of each file, atomically.
    pub fn write_point(&self, index: usize, files: &[(&str, Vec<u8>)]) -> Result<(), StoreError> {
        let path = self.point_path(index);
        atomic::write_atomically(&path, |out| {
            out.write_all(POINT_FORMAT.as_bytes())?;
            for (name, rows) in files {
                writeln!(out, "{name} {}", rows.len())?;
                out.write_all(rows)?;
            }
            Ok(())
        })
        .map_err(|WriteError { path, error }| StoreError::Io {
            action: "write",
            path,
            error,
        })
    }

    /// Point `index`'s rows of `file`.
    pub fn rows(&self, index: usize, file: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.point_path(index);
        let bytes = fs::read(&path).map_err(StoreError::io("read", &path))?;
        let corrupt = || StoreError::Io {
            action: "read",
            path: path.clone(),
            error: io::Error::new(io::ErrorKind::InvalidData, "not a complete point file"),
        };
        let mut rest = bytes
            .strip_prefix(POINT_FORMAT.as_bytes())
            .ok_or_else(corrupt)?;
        while !rest.is_empty() {
            let newline = rest.iter().position(|&b| b == b'\n').ok_or_else(corrupt)?;
            let line = std::str::from_utf8(&rest[..newline]).map_err(|_| corrupt())?;
            let (name, length) = line.rsplit_once(' ').ok_or_else(corrupt)?;
            let length: usize = length.parse().map_err(|_| corrupt())?;
            let body = rest
                .get(newline + 1..newline + 1 + length)
                .ok_or_else(corrupt)?;
            if name == file {
                return Ok(body.to_vec());
            }
            rest = &rest[newline + 1 + length..];
        }
        Err(StoreError::Io {
            action: "read",
            path,
            error: io::Error::new(io::ErrorKind::NotFound, format!("no rows of {file}")),
        })
    }

    /// Removes the temporary files that a killed run left half-written.
    fn remove_temporaries(&self) -> Result<(), StoreError> {
        for entry in fs::read_dir(&self.dir).map_err(StoreError::io("read", &self.dir))? {
            let entry = entry.map_err(StoreError::io("read", &self.dir))?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                let path = entry.path();
                fs::remove_file(&path).map_err(StoreError::io("remove", &path))?;
            }
        }
        Ok(())
    }

    /// Removes the store.
    pub fn remove(self) -> Result<(), StoreError> {
        remove_dir(&self.dir)
    }

    /// Renames the store to `to` (replacing whatever is there).
    pub fn rename(self, to: &Path) -> Result<Store, StoreError> {
        remove_dir(to)?;
        fs::rename(&self.dir, to).map_err(StoreError::io("write", to))?;
        if let Some(parent) = to.parent() {
            sync_dir(parent);
        }
        Ok(Store {
            dir: to.to_path_buf(),
            manifest: self.manifest,
        })
    }
}

/// Writes the output files into `out_dir`: each header of `headers`, then the rows of every
/// point in `points` (store and point index, in point order). All-or-nothing: every file is
/// staged before any is renamed into place. Optional files not in `headers` are removed, so
/// the folder never mixes two runs. Returns the paths written.
pub fn assemble(
    out_dir: &Path,
    headers: &[(String, String)],
    points: &[(&Store, usize)],
) -> Result<Vec<PathBuf>, WriteError> {
    let mut staged: Vec<StagedFile> = Vec::with_capacity(headers.len());
    for (file, header) in headers {
        let path = out_dir.join(file);
        staged.push(atomic::stage(&path, |out| {
            out.write_all(header.as_bytes())?;
            out.write_all(b"\n")?;
            for (store, index) in points {
                let rows = store.rows(*index, file).map_err(io::Error::other)?;
                out.write_all(&rows)?;
            }
            Ok(())
        })?);
    }
    // One after the other, then one directory sync: see `commit_all`.
    let written = atomic::commit_all(staged)?;
    for optional in crate::output::OPTIONAL_FILES {
        if headers.iter().any(|(file, _)| file == optional) {
            continue;
        }
        let stale = out_dir.join(optional);
        match fs::remove_file(&stale) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(WriteError { path: stale, error }),
        }
    }
    Ok(written)
}

/// FNV-1a, 64 bits: a stable hash (unlike `std`'s, which may change between releases) to
/// recognise a sweep, not to defend against anyone.
pub fn fingerprint(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

fn remove_dir(dir: &Path) -> Result<(), StoreError> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(StoreError::Io {
            action: "remove",
            path: dir.to_path_buf(),
            error,
        }),
    }
}

/// Makes renames inside `dir` durable where the platform allows; the data itself is already
/// synced, so a failure is not an error.
fn sync_dir(dir: &Path) {
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(shard: Shard) -> Manifest {
        Manifest {
            fingerprint: fingerprint("sweep"),
            scenario: "s".to_owned(),
            points: 5,
            shard,
            headers: vec![
                (
                    "runs.csv".to_owned(),
                    "scenario,trial,seed,point,nodes,x".to_owned(),
                ),
                (
                    "summary.csv".to_owned(),
                    "scenario,point,nodes,metric".to_owned(),
                ),
            ],
        }
    }

    #[test]
    fn manifests_round_trip() {
        let m = manifest(Shard { index: 1, count: 3 });
        assert_eq!(Manifest::parse(&m.to_text()), Some(m));
        assert_eq!(Manifest::parse("something else\n"), None);
    }

    #[test]
    fn shards_parse_and_select() {
        assert_eq!(parse_shard("1/4"), Ok(Shard { index: 1, count: 4 }));
        for bad in ["4/4", "1/0", "x/2", "1", "-1/2", ""] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
        let shard = Shard { index: 1, count: 3 };
        let picked: Vec<usize> = (0..8).filter(|&p| shard.selects(p)).collect();
        assert_eq!(picked, [1, 4, 7]);
        assert_eq!(shard.dir_name(), "shard-1-of-3");
    }

    #[test]
    fn points_survive_a_resume_and_assemble_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store_dir = dir.path().join(".partial");
        let m = manifest(Shard::WHOLE);
        let store = Store::open(&store_dir, m.clone(), false).unwrap();
        store
            .write_point(
                2,
                &[
                    ("runs.csv", b"r2\n".to_vec()),
                    ("summary.csv", b"s2\n".to_vec()),
                ],
            )
            .unwrap();
        store
            .write_point(
                0,
                &[
                    ("runs.csv", b"r0\n".to_vec()),
                    ("summary.csv", b"s0\n".to_vec()),
                ],
            )
            .unwrap();
        // A killed run's half-written point.
        fs::write(store_dir.join(".point-000001.rows.tmp-99"), "gossip-sim").unwrap();
        drop(store);

        let store = Store::open(&store_dir, m.clone(), true).unwrap();
        assert_eq!(store.finished().unwrap(), [0, 2]);
        assert!(!store_dir.join(".point-000001.rows.tmp-99").exists());
        assert_eq!(store.rows(2, "summary.csv").unwrap(), b"s2\n");
        let files = assemble(dir.path(), &m.headers, &[(&store, 0), (&store, 2)]).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(
            fs::read_to_string(dir.path().join("runs.csv")).unwrap(),
            "scenario,trial,seed,point,nodes,x\nr0\nr2\n"
        );
        fs::write(
            store.point_path(2),
            "gossip-sim point rows 1\nruns.csv 9\nr2\n",
        )
        .unwrap();
        assert!(
            store.rows(2, "runs.csv").is_err(),
            "a short point file is refused"
        );

        // Another sweep's store is refused on resume, and replaced without it.
        let mut other = m.clone();
        other.fingerprint = fingerprint("other");
        let err = Store::open(&store_dir, other.clone(), true).unwrap_err();
        assert!(matches!(err, StoreError::ResumeMismatch { .. }), "{err}");
        let store = Store::open(&store_dir, other, false).unwrap();
        assert!(store.finished().unwrap().is_empty());
    }
}
