//! The memory limit of the cgroup this process runs in: what a Kubernetes `limits.memory`, a
//! Docker `--memory` or a Slurm `--mem` (under `TaskPlugin=task/cgroup`) sets, and what the
//! kernel's OOM killer enforces long before `MemAvailable` of the whole machine runs out.
//!
//! Both cgroup versions: v2 (`memory.max`, `memory.current`, one hierarchy at `/sys/fs/cgroup`)
//! and v1 (`memory.limit_in_bytes`, `memory.usage_in_bytes` under `/sys/fs/cgroup/memory`). A
//! limit holds for a cgroup and everything under it, so every level from this process's own
//! cgroup up to the root counts, and the tightest one wins (Slurm puts its limit on the job's
//! cgroup, a step or two above the task's).

use std::fs;
use std::path::{Path, PathBuf};

/// Where the cgroup file systems are mounted on Linux.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// A v1 limit at or above this means no limit: v1 has no "max" and reports the largest page
/// count instead (9223372036854771712 on x86-64).
const V1_UNLIMITED: u64 = 1 << 62;

/// Bytes this process may still take before its cgroup's memory limit, or `None` where there is
/// no cgroup memory limit (or none can be read: not Linux, no cgroup file system).
pub(crate) fn headroom() -> Option<u64> {
    let membership = fs::read_to_string("/proc/self/cgroup").ok()?;
    headroom_under(&membership, Path::new(CGROUP_ROOT))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

impl Version {
    fn limit_file(self) -> &'static str {
        match self {
            Version::V1 => "memory.limit_in_bytes",
            Version::V2 => "memory.max",
        }
    }

    fn usage_file(self) -> &'static str {
        match self {
            Version::V1 => "memory.usage_in_bytes",
            Version::V2 => "memory.current",
        }
    }

    /// The `memory.stat` key of the page cache that the kernel reclaims first.
    fn inactive_file_key(self) -> &'static str {
        match self {
            // `total_` includes the cgroups below, as usage_in_bytes does.
            Version::V1 => "total_inactive_file",
            Version::V2 => "inactive_file",
        }
    }
}

/// The headroom under the tightest limit of the cgroup that `membership` (the contents of
/// `/proc/self/cgroup`) names, with the cgroup file systems mounted at `root`.
fn headroom_under(membership: &str, root: &Path) -> Option<u64> {
    // A pure v2 system has the unified hierarchy, with its memory controller, at the root. On a
    // hybrid one the root is a tmpfs holding the v1 controllers (and v2, without memory, in
    // `unified/`), so the memory limit is v1's.
    let (version, mount, path) = if root.join("cgroup.controllers").is_file() {
        (
            Version::V2,
            root.to_path_buf(),
            cgroup_path(membership, Version::V2)?,
        )
    } else {
        (
            Version::V1,
            root.join("memory"),
            cgroup_path(membership, Version::V1)?,
        )
    };
    if !mount.is_dir() {
        return None;
    }
    let own = mount.join(path.trim_start_matches('/'));
    // Without a cgroup namespace a container may see its own cgroup mounted at the root while
    // /proc/self/cgroup names its path on the host; then the root is its cgroup.
    let own = if own.is_dir() { own } else { mount.clone() };
    let mut tightest: Option<u64> = None;
    let mut dir: PathBuf = own;
    loop {
        if let Some(headroom) = level_headroom(&dir, version) {
            tightest = Some(tightest.map_or(headroom, |t| t.min(headroom)));
        }
        if dir == mount || !dir.pop() || !dir.starts_with(&mount) {
            break;
        }
    }
    tightest
}

/// The path of this process's memory cgroup in `/proc/self/cgroup` (lines of
/// `hierarchy-id:controllers:path`): v2's is the line `0::path`, v1's the line whose
/// comma-separated controllers include `memory`.
fn cgroup_path(membership: &str, version: Version) -> Option<&str> {
    membership.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (id, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        let matches = match version {
            Version::V2 => id == "0" && controllers.is_empty(),
            Version::V1 => controllers.split(',').any(|c| c == "memory"),
        };
        matches.then_some(path)
    })
}

/// Limit minus what the cgroup uses, for one cgroup folder; `None` without a limit there.
/// Usage counts the page cache; its inactive part is reclaimed before the OOM killer acts, so it
/// is left out, as the kubelet's "working set" does.
fn level_headroom(dir: &Path, version: Version) -> Option<u64> {
    let limit = parse_limit(
        &fs::read_to_string(dir.join(version.limit_file())).ok()?,
        version,
    )?;
    let usage = fs::read_to_string(dir.join(version.usage_file()))
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let inactive_file = fs::read_to_string(dir.join("memory.stat"))
        .ok()
        .and_then(|stat| parse_stat(&stat, version.inactive_file_key()))
        .unwrap_or(0);
    Some(limit.saturating_sub(usage.saturating_sub(inactive_file)))
}

/// A limit file's value in bytes; `None` for no limit (`max` in v2, a near-2^63 number in v1)
/// or text that is not a limit.
fn parse_limit(text: &str, version: Version) -> Option<u64> {
    let text = text.trim();
    if version == Version::V2 && text == "max" {
        return None;
    }
    let bytes: u64 = text.parse().ok()?;
    (version == Version::V2 || bytes < V1_UNLIMITED).then_some(bytes)
}

/// The value of `key` in a `memory.stat` file (lines of `key value`).
fn parse_stat(stat: &str, key: &str) -> Option<u64> {
    stat.lines().find_map(|line| {
        let (name, value) = line.split_once(' ')?;
        (name == key).then(|| value.trim().parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    /// Writes `files` (path relative to `root`, contents) into a fake cgroup tree.
    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (path, contents) in files {
            let path = root.path().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, contents).unwrap();
        }
        root
    }

    #[test]
    fn v2_limit_minus_usage() {
        let root = tree(&[
            ("cgroup.controllers", "cpu io memory pids\n"),
            ("memory.max", "max\n"),
            ("kubepods/pod1/memory.max", &format!("{}\n", 512 * MIB)),
            ("kubepods/pod1/memory.current", &format!("{}\n", 100 * MIB)),
        ]);
        assert_eq!(
            headroom_under("0::/kubepods/pod1\n", root.path()),
            Some(412 * MIB)
        );
    }

    #[test]
    fn v2_max_everywhere_is_no_limit() {
        let root = tree(&[
            ("cgroup.controllers", "memory\n"),
            ("user.slice/memory.max", "max\n"),
            ("user.slice/memory.current", "123456\n"),
        ]);
        assert_eq!(headroom_under("0::/user.slice\n", root.path()), None);
    }

    #[test]
    fn a_parent_limit_binds_the_cgroups_below_it() {
        // Slurm limits the job; the step and the task below it show "max".
        let root = tree(&[
            ("cgroup.controllers", "memory\n"),
            ("slurm/job_7/memory.max", &format!("{}\n", 1024 * MIB)),
            ("slurm/job_7/memory.current", &format!("{}\n", 300 * MIB)),
            ("slurm/job_7/step_0/memory.max", "max\n"),
            (
                "slurm/job_7/step_0/memory.current",
                &format!("{}\n", 200 * MIB),
            ),
            ("slurm/job_7/step_0/task_0/memory.max", "max\n"),
        ]);
        assert_eq!(
            headroom_under("0::/slurm/job_7/step_0/task_0\n", root.path()),
            Some(724 * MIB)
        );
        // A looser limit further down does not loosen the job's.
        fs::write(
            root.path().join("slurm/job_7/step_0/memory.max"),
            format!("{}\n", 4096 * MIB),
        )
        .unwrap();
        assert_eq!(
            headroom_under("0::/slurm/job_7/step_0/task_0\n", root.path()),
            Some(724 * MIB)
        );
    }

    #[test]
    fn inactive_page_cache_is_not_counted_as_used() {
        let root = tree(&[
            ("cgroup.controllers", "memory\n"),
            ("memory.max", &format!("{}\n", 1000 * MIB)),
            ("memory.current", &format!("{}\n", 900 * MIB)),
            (
                "memory.stat",
                &format!(
                    "anon {}\nactive_file 1\ninactive_file {}\n",
                    100 * MIB,
                    700 * MIB
                ),
            ),
        ]);
        assert_eq!(headroom_under("0::/\n", root.path()), Some(800 * MIB));
    }

    #[test]
    fn v1_hybrid_reads_the_memory_controller() {
        // A hybrid system: v2 without memory in unified/, v1 controllers beside it.
        let root = tree(&[
            ("unified/cgroup.controllers", ""),
            (
                "memory/memory.limit_in_bytes",
                "9223372036854771712\n", // no limit
            ),
            (
                "memory/docker/abc/memory.limit_in_bytes",
                &format!("{}\n", 256 * MIB),
            ),
            (
                "memory/docker/abc/memory.usage_in_bytes",
                &format!("{}\n", 56 * MIB),
            ),
            (
                "memory/docker/abc/memory.stat",
                &format!(
                    "cache 5\ninactive_file 7\ntotal_inactive_file {}\n",
                    6 * MIB
                ),
            ),
        ]);
        let membership = "12:pids:/docker/abc\n4:cpu,memory:/docker/abc\n0::/docker/abc\n";
        assert_eq!(headroom_under(membership, root.path()), Some(206 * MIB));
    }

    #[test]
    fn v1_unlimited_is_no_limit() {
        let root = tree(&[
            ("memory/memory.limit_in_bytes", "9223372036854771712\n"),
            ("memory/memory.usage_in_bytes", "2639671296\n"),
        ]);
        assert_eq!(headroom_under("4:memory:/\n", root.path()), None);
    }

    #[test]
    fn a_host_path_that_is_not_mounted_falls_back_to_the_mount() {
        // A container without a cgroup namespace: /proc/self/cgroup names the host's path, the
        // mount shows the container's own cgroup at its root.
        let root = tree(&[
            ("memory/memory.limit_in_bytes", &format!("{}\n", 64 * MIB)),
            ("memory/memory.usage_in_bytes", &format!("{}\n", 16 * MIB)),
        ]);
        assert_eq!(
            headroom_under("9:memory:/kubepods/besteffort/pod9/c0ffee\n", root.path()),
            Some(48 * MIB)
        );
    }

    #[test]
    fn usage_over_the_limit_leaves_nothing() {
        let root = tree(&[
            ("cgroup.controllers", "memory\n"),
            ("memory.max", "1000\n"),
            ("memory.current", "5000\n"),
        ]);
        assert_eq!(headroom_under("0::/\n", root.path()), Some(0));
    }

    #[test]
    fn no_cgroup_file_system_or_no_memory_line_is_none() {
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(headroom_under("0::/\n", empty.path()), None);
        let v1 = tree(&[("memory/memory.limit_in_bytes", "1000\n")]);
        assert_eq!(headroom_under("3:cpu:/\n", v1.path()), None);
        assert_eq!(headroom_under("", v1.path()), None);
    }

    #[test]
    fn limit_files_parse() {
        assert_eq!(parse_limit("max\n", Version::V2), None);
        assert_eq!(parse_limit("4294967296\n", Version::V2), Some(4 << 30));
        assert_eq!(parse_limit("4294967296\n", Version::V1), Some(4 << 30));
        assert_eq!(parse_limit("9223372036854771712\n", Version::V1), None);
        assert_eq!(parse_limit("max\n", Version::V1), None);
        assert_eq!(parse_limit("lots", Version::V2), None);
        assert_eq!(parse_stat("inactive_file 42\n", "inactive_file"), Some(42));
        assert_eq!(
            parse_stat("total_inactive_file 42\n", "inactive_file"),
            None
        );
    }
}
