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
use crate::output::manifest::PROVENANCE_FILES;
use crate::scenario::MAX_POINTS;

const MANIFEST: &str = "manifest.txt";
const FORMAT: &str = "gossip-sim point store 2";
const POINT_FORMAT: &str = "gossip-sim point rows 2\n";

/// Largest header line a manifest may hold: a few hundred columns, far below this.
const MAX_HEADER_BYTES: usize = 64 << 10;

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
    /// Hash of the provenance files (`run.toml`, `scenario.resolved.toml`) the store holds, see
    /// [`provenance_hash`].
    pub provenance: String,
}

impl Manifest {
    fn to_text(&self) -> String {
        let mut text = format!(
            "{FORMAT}\nfingerprint {}\nscenario {}\npoints {}\nshard {}\nprovenance {}\n",
            self.fingerprint, self.scenario, self.points, self.shard, self.provenance
        );
        for (file, header) in &self.headers {
            let _ = writeln!(text, "header {file} {header}");
        }
        let _ = writeln!(text, "checksum {}", fingerprint(&text));
        text
    }

    /// Reads a manifest back, trusting nothing: the checksum, every count bounded by what a
    /// scenario can ask for, every file name one that gossip-sim writes. The error says what is
    /// wrong.
    fn parse(text: &str) -> Result<Manifest, String> {
        let body_end = text.trim_end_matches('\n').rfind('\n').map_or(0, |i| i + 1);
        let (body, last) = text.split_at(body_end);
        if !last.starts_with("checksum ") {
            return Err("no checksum line at the end".to_owned());
        }
        // Byte for byte what `render` writes, final newline included: a resume keeps the
        // manifest it verified, so one that differs anywhere is refused, not kept.
        if last != format!("checksum {}\n", fingerprint(body)) {
            return Err("checksum mismatch".to_owned());
        }
        let mut lines = body.lines();
        if lines.next() != Some(FORMAT) {
            return Err(format!("not a `{FORMAT}` manifest"));
        }
        let mut field = |name: &str| {
            lines
                .next()
                .and_then(|line| line.strip_prefix(name))
                .and_then(|rest| rest.strip_prefix(' '))
                .map(str::to_owned)
                .ok_or_else(|| format!("no `{name}` line"))
        };
        let fingerprint = hash_field(field("fingerprint")?, "fingerprint")?;
        let scenario = field("scenario")?;
        if !crate::scenario::is_valid_name(&scenario) {
            return Err("a scenario name gossip-sim never writes".to_owned());
        }
        let points: usize = field("points")?
            .parse()
            .map_err(|_| "`points` is not a count".to_owned())?;
        if points == 0 || points > MAX_POINTS {
            return Err(format!(
                "points {points}: must be between 1 and {MAX_POINTS}"
            ));
        }
        let shard = parse_shard(&field("shard")?)?;
        // More shards than points is allowed (a job array wider than the sweep: its last
        // shards hold no point), but the count read from disk stays bounded.
        if shard.count > MAX_POINTS {
            return Err(format!("shard {shard}: more than {MAX_POINTS} shards"));
        }
        let provenance = hash_field(field("provenance")?, "provenance")?;
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines {
            let (file, header) = line
                .strip_prefix("header ")
                .and_then(|rest| rest.split_once(' '))
                .ok_or("a line that is not `header FILE COLUMNS`")?;
            if !crate::output::FILE_NAMES.contains(&file) {
                return Err(format!("header of `{file}`, not a file gossip-sim writes"));
            }
            if headers.iter().any(|(seen, _)| seen == file) {
                return Err(format!("two headers of {file}"));
            }
            if header.len() > MAX_HEADER_BYTES {
                return Err(format!(
                    "header of {file} longer than {MAX_HEADER_BYTES} bytes"
                ));
            }
            headers.push((file.to_owned(), header.to_owned()));
        }
        if !headers
            .iter()
            .any(|(file, _)| file == crate::output::SUMMARY_FILE)
        {
            return Err("no header of summary.csv".to_owned());
        }
        Ok(Manifest {
            fingerprint,
            scenario,
            points,
            shard,
            headers,
            provenance,
        })
    }
}

/// `text` if it is a hash as [`fingerprint`] prints one.
fn hash_field(text: String, name: &str) -> Result<String, String> {
    if text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(text)
    } else {
        Err(format!("`{name}` is not a hash"))
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

    /// A store file that is damaged, forged, or of another sweep: never used.
    #[error("{}: {problem}; refusing it (run the sweep or shard again without --resume)", path.display())]
    Damaged { path: PathBuf, problem: String },
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
    /// Opens the store at `dir` for `manifest`, with the run's `provenance` files (see
    /// [`provenance_hash`]). Without `resume`, anything there is removed first. With it, an
    /// existing store must have been made for the same manifest; its finished points are kept.
    /// Temporary folders of a killed run are removed either way.
    pub fn open(
        dir: &Path,
        manifest: Manifest,
        resume: bool,
        provenance: &[(String, Vec<u8>)],
    ) -> Result<Store, StoreError> {
        let store = Store {
            dir: dir.to_path_buf(),
            manifest,
        };
        let existing = fs::read_to_string(dir.join(MANIFEST)).ok();
        let resumed = match existing.as_deref().map(Manifest::parse) {
            Some(Ok(found)) if resume => {
                if found != store.manifest {
                    return Err(StoreError::ResumeMismatch {
                        dir: dir.to_path_buf(),
                    });
                }
                store.remove_temporaries()?;
                true
            }
            _ => false,
        };
        if !resumed {
            remove_dir(dir)?;
            fs::create_dir_all(dir).map_err(StoreError::io("create", dir))?;
            store.write_file(MANIFEST, store.manifest.to_text().as_bytes())?;
        }
        for (name, bytes) in provenance {
            store.write_file(name, bytes)?;
        }
        Ok(store)
    }

    fn write_file(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        atomic::write_atomically(&self.dir.join(name), |out| out.write_all(bytes)).map_err(
            |WriteError { path, error }| StoreError::Io {
                action: "write",
                path,
                error,
            },
        )
    }

    /// Opens an existing store, as `merge` does.
    pub fn read(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join(MANIFEST);
        let text = fs::read_to_string(&path).map_err(|_| StoreError::NotAStore {
            dir: dir.to_path_buf(),
        })?;
        let manifest =
            Manifest::parse(&text).map_err(|problem| StoreError::Damaged { path, problem })?;
        Ok(Store {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    /// The provenance files the store holds, checked against its manifest.
    pub fn provenance(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut files = Vec::new();
        for name in PROVENANCE_FILES {
            let path = self.dir.join(name);
            let bytes = fs::read(&path).map_err(StoreError::io("read", &path))?;
            files.push((name.to_owned(), bytes));
        }
        if provenance_hash(&files) != self.manifest.provenance {
            return Err(StoreError::Damaged {
                path: self.dir.clone(),
                problem: "its provenance files do not match its manifest".to_owned(),
            });
        }
        Ok(files)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The file of point `index`.
    pub fn point_path(&self, index: usize) -> PathBuf {
        self.dir.join(point_name(index))
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

    /// Records point `index` as finished with its rows of each file, atomically. The file
    /// carries the sweep's fingerprint and the point's index, and a checksum of it all, so a
    /// point file of another sweep, another point or damaged on disk is never used.
    pub fn write_point(&self, index: usize, files: &[(&str, Vec<u8>)]) -> Result<(), StoreError> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(POINT_FORMAT.as_bytes());
        bytes.extend_from_slice(
            format!("sweep {} point {index}\n", self.manifest.fingerprint).as_bytes(),
        );
        for (name, rows) in files {
            bytes.extend_from_slice(format!("{name} {}\n", rows.len()).as_bytes());
            bytes.extend_from_slice(rows);
        }
        let checksum = format!("checksum {}\n", fingerprint_bytes(&bytes));
        bytes.extend_from_slice(checksum.as_bytes());
        self.write_file(&point_name(index), &bytes)
    }

    /// Point `index`'s rows of `file`.
    pub fn rows(&self, index: usize, file: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.point_path(index);
        self.read_point(index)?
            .into_iter()
            .find(|(name, _)| name == file)
            .map(|(_, rows)| rows)
            .ok_or_else(|| StoreError::Io {
                action: "read",
                path,
                error: io::Error::new(io::ErrorKind::NotFound, format!("no rows of {file}")),
            })
    }

    /// Checks that point `index`'s file is complete, undamaged, and of this sweep and point.
    pub fn verify(&self, index: usize) -> Result<(), StoreError> {
        self.read_point(index).map(drop)
    }

    /// Every section of point `index`'s file, checked: the sweep and the point it says it is
    /// of, its checksum, and one section per file of the manifest, in order.
    fn read_point(&self, index: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let path = self.point_path(index);
        let bytes = fs::read(&path).map_err(StoreError::io("read", &path))?;
        let damaged = |problem: &str| StoreError::Damaged {
            path: path.clone(),
            problem: problem.to_owned(),
        };
        let body_end = bytes[..bytes.len().saturating_sub(1)]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let (body, last) = bytes.split_at(body_end);
        let expected = format!("checksum {}\n", fingerprint_bytes(body));
        if last != expected.as_bytes() {
            return Err(damaged("not a complete point file (checksum mismatch)"));
        }
        let mut rest = body
            .strip_prefix(POINT_FORMAT.as_bytes())
            .ok_or_else(|| damaged(&format!("not a `{}` file", POINT_FORMAT.trim_end())))?;
        let owner = format!("sweep {} point {index}\n", self.manifest.fingerprint);
        rest = rest.strip_prefix(owner.as_bytes()).ok_or_else(|| {
            damaged(&format!(
                "not point {index} of this sweep (a point file of another sweep, seed or point)"
            ))
        })?;
        let mut sections = Vec::new();
        for (file, _) in &self.manifest.headers {
            let newline = rest
                .iter()
                .position(|&b| b == b'\n')
                .ok_or_else(|| damaged(&format!("no rows of {file}")))?;
            let line = std::str::from_utf8(&rest[..newline]).map_err(|_| damaged("not text"))?;
            let (name, length) = line
                .rsplit_once(' ')
                .ok_or_else(|| damaged("a section without a length"))?;
            if name != file {
                return Err(damaged(&format!(
                    "a section of {name} where {file} belongs"
                )));
            }
            let length: usize = length
                .parse()
                .map_err(|_| damaged("a section length that is not a number"))?;
            let start = newline + 1;
            let body = start
                .checked_add(length)
                .and_then(|end| rest.get(start..end))
                .ok_or_else(|| damaged(&format!("the rows of {file} end early")))?;
            sections.push((name.to_owned(), body.to_vec()));
            rest = &rest[start + length..];
        }
        if !rest.is_empty() {
            return Err(damaged("more sections than the manifest names"));
        }
        Ok(sections)
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
///
/// The provenance files are renamed first, `scenario.resolved.toml` before `run.toml`: a run
/// killed between two renames then leaves result files only beside a `run.toml` that marks the
/// folder as gossip-sim's, so the next run into it is not refused as a stranger's (see
/// `output::folder`).
pub fn assemble(
    out_dir: &Path,
    headers: &[(String, String)],
    points: &[(&Store, usize)],
    provenance: &[(String, Vec<u8>)],
) -> Result<Vec<PathBuf>, WriteError> {
    let mut staged: Vec<StagedFile> = Vec::with_capacity(headers.len() + provenance.len());
    for (name, bytes) in provenance {
        staged.push(atomic::stage(&out_dir.join(name), |out| {
            out.write_all(bytes)
        })?);
    }
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
    let mut written = atomic::commit_all(staged)?;
    // The result files; the provenance files are not listed.
    written.drain(..provenance.len());
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

fn point_name(index: usize) -> String {
    format!("point-{index:06}.rows")
}

/// The hash of a store's provenance files, names and contents, for its manifest.
pub fn provenance_hash(files: &[(String, Vec<u8>)]) -> String {
    let mut all = Vec::new();
    for (name, bytes) in files {
        all.extend_from_slice(format!("{name} {}\n", bytes.len()).as_bytes());
        all.extend_from_slice(bytes);
    }
    fingerprint_bytes(&all)
}

/// FNV-1a, 64 bits: a stable hash (unlike `std`'s, which may change between releases) to
/// recognise a sweep and catch damaged files, not to defend against anyone.
pub fn fingerprint(text: &str) -> String {
    fingerprint_bytes(text.as_bytes())
}

fn fingerprint_bytes(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
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
            provenance: provenance_hash(&[]),
        }
    }

    #[test]
    fn manifests_round_trip() {
        let m = manifest(Shard { index: 1, count: 3 });
        assert_eq!(Manifest::parse(&m.to_text()), Ok(m.clone()));
        assert!(Manifest::parse("something else\n").is_err());
        // One changed byte anywhere is caught.
        let text = m.to_text();
        for at in 0..text.len() {
            let mut bytes = text.clone().into_bytes();
            bytes[at] ^= 0x01;
            if let Ok(changed) = String::from_utf8(bytes) {
                assert!(Manifest::parse(&changed).is_err(), "byte {at}: {changed}");
            }
        }
        // So are a lost final newline and an added one: a resume keeps the manifest it read,
        // and the fuzzed resume test once finished a store whose manifest had lost its last
        // byte, with exit 0.
        assert!(Manifest::parse(text.trim_end_matches('\n')).is_err());
        assert!(Manifest::parse(&format!("{text}\n")).is_err());
    }

    /// A forged manifest with 2^60 points made merge abort on a 16 TB allocation, and one with
    /// `points 0` merged into header-only files with exit 0.
    #[test]
    fn manifest_counts_are_bounded() {
        let forged = |edit: &dyn Fn(&str) -> String| {
            let text = manifest(Shard::WHOLE).to_text();
            let body = &text[..text.rfind("checksum").unwrap()];
            let body = edit(body);
            format!("{body}checksum {}\n", fingerprint(&body))
        };
        for (edit, problem) in [
            (
                "points 1152921504606846976",
                "points 1152921504606846976: must be between 1",
            ),
            ("points 0", "points 0: must be between 1"),
        ] {
            let text = forged(&|body: &str| body.replace("points 5", edit));
            assert_eq!(
                Manifest::parse(&text)
                    .unwrap_err()
                    .split(" and ")
                    .next()
                    .unwrap(),
                problem.split(" and ").next().unwrap()
            );
        }
        let text = forged(&|body: &str| body.replace("shard 0/1", "shard 0/99999999999"));
        assert!(Manifest::parse(&text).is_err());
        let text = forged(&|body: &str| body.replace("header runs.csv", "header ../../x.csv"));
        assert!(
            Manifest::parse(&text)
                .unwrap_err()
                .contains("not a file gossip-sim writes")
        );
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
        let store = Store::open(&store_dir, m.clone(), false, &[]).unwrap();
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

        let store = Store::open(&store_dir, m.clone(), true, &[]).unwrap();
        assert_eq!(store.finished().unwrap(), [0, 2]);
        assert!(!store_dir.join(".point-000001.rows.tmp-99").exists());
        assert_eq!(store.rows(2, "summary.csv").unwrap(), b"s2\n");
        let provenance = [
            (
                "scenario.resolved.toml".to_owned(),
                b"name = \"s\"\n".to_vec(),
            ),
            (
                "run.toml".to_owned(),
                b"generator = \"gossip-sim\"\n".to_vec(),
            ),
        ];
        let files = assemble(
            dir.path(),
            &m.headers,
            &[(&store, 0), (&store, 2)],
            &provenance,
        )
        .unwrap();
        // The result files only, though the provenance files were renamed first.
        let names: Vec<_> = files.iter().map(|f| f.file_name().unwrap()).collect();
        assert_eq!(names, ["runs.csv", "summary.csv"]);
        assert!(dir.path().join("run.toml").is_file());
        assert_eq!(
            fs::read_to_string(dir.path().join("runs.csv")).unwrap(),
            "scenario,trial,seed,point,nodes,x\nr0\nr2\n"
        );
        let point = fs::read(store.point_path(2)).unwrap();
        fs::write(store.point_path(2), &point[..point.len() - 5]).unwrap();
        assert!(
            store.rows(2, "runs.csv").is_err(),
            "a short point file is refused"
        );
        // Point 0's file copied over point 2's: another point, refused.
        fs::copy(store.point_path(0), store.point_path(2)).unwrap();
        let err = store.verify(2).unwrap_err().to_string();
        assert!(err.contains("not point 2 of this sweep"), "{err}");

        // Another sweep's store is refused on resume, and replaced without it.
        let mut other = m.clone();
        other.fingerprint = fingerprint("other");
        let err = Store::open(&store_dir, other.clone(), true, &[]).unwrap_err();
        assert!(matches!(err, StoreError::ResumeMismatch { .. }), "{err}");
        let store = Store::open(&store_dir, other, false, &[]).unwrap();
        assert!(store.finished().unwrap().is_empty());
    }
}
