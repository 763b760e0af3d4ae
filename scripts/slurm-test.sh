#!/usr/bin/env bash
# A real Slurm on this one machine: munged, slurmctld and slurmd from Debian's packages, with a
# one-node slurm.conf in a temporary folder and every address on loopback. It submits
# deploy/slurm/sweep.sbatch, as shipped, as a job array over a shipped sweep, merges the shards
# with a dependent job as the sbatch file's header says, and compares the merged files byte for
# byte with an unsharded run of the same sweep. Then it submits an array over a bad scenario and
# checks that Slurm reports every task FAILED with exit code 2 and never starts the dependent
# merge. Every daemon it started is stopped on exit, also on failure.
#
#   scripts/slurm-test.sh            # as root (it installs Slurm and munge if missing)
#   KEEP=1 scripts/slurm-test.sh     # keep the temporary folder (logs, slurm.conf) for a look
#   GOSSIP_SIM=target/release/gossip-sim scripts/slurm-test.sh   # use that binary, build nothing
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# A fast shipped sweep (6 points, about 10 s of CPU) cut into 3 shards.
sweep=scenarios/sweep-rumor-anti-entropy.toml
shards=3
# How long one wait for Slurm may take; the whole script stays under 5 minutes.
wait_seconds=150

fail() {
	echo "slurm-test: FAILED: $*" >&2
	exit 1
}
step() { echo "== slurm-test: $*"; }

# --- packages: a missing Slurm is a failure, never a skip.
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
	# The parts of Debian's slurm-wlm that this uses, without its dozen plugin packages.
	step "installing slurmctld slurmd slurm-client munge"
	[ "$(id -u)" = 0 ] || fail "Slurm and munge are missing and this is not root, so they cannot be installed"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q || fail "apt-get update failed"
	apt-get install -y -q -o DPkg::Lock::Timeout=300 slurmctld slurmd slurm-client munge ||
		fail "apt-get install slurmctld slurmd slurm-client munge failed"
fi
for tool in slurmctld slurmd munged sbatch scontrol squeue scancel; do
	command -v "$tool" >/dev/null || fail "$tool is not installed"
done
[ "$(id -u)" = 0 ] || fail "slurmd must run as root (it starts the job steps as their user)"

# GOSSIP_SIM names a binary built from this tree (.ci/run passes the one `cargo test --release`
# built; a separate `cargo build` would compile every dependency again, with other features).
if [ -n "${GOSSIP_SIM:-}" ]; then
	[ -x "$GOSSIP_SIM" ] || fail "GOSSIP_SIM=$GOSSIP_SIM is not an executable"
	bindir=$(cd "$(dirname "$GOSSIP_SIM")" && pwd)
	[ "$(basename "$GOSSIP_SIM")" = gossip-sim ] || fail "GOSSIP_SIM must name a file called gossip-sim"
else
	step "building gossip-sim (cargo build --release)"
	(cd "$repo" && cargo build --release --quiet) || fail "cargo build --release failed"
	bindir=$repo/target/release
fi
export PATH="$bindir:$PATH"
[ "$(command -v gossip-sim)" = "$bindir/gossip-sim" ] || fail "gossip-sim on the PATH is not $bindir/gossip-sim"

tmp=$(mktemp -d /tmp/gossip-slurm-test.XXXXXX)
chmod 755 "$tmp"
daemons=()  # PIDs of the daemons this script started, stopped in reverse order
jobs_submitted=()

stop_all() {
	local status=$?
	set +e
	if [ ${#jobs_submitted[@]} -gt 0 ] && [ -n "${SLURM_CONF:-}" ]; then
		scancel "${jobs_submitted[@]}" 2>/dev/null
	fi
	local i pid
	for ((i = ${#daemons[@]} - 1; i >= 0; i--)); do
		pid=${daemons[i]}
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "slurm-test: daemon $pid did not stop on SIGTERM, killing it" >&2
			kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
	done
	if [ "$status" != 0 ]; then
		for log in "$tmp"/log/*.log; do
			[ -f "$log" ] || continue
			echo "--- last lines of $log" >&2
			tail -n 20 "$log" >&2
		done
	fi
	if [ -n "${KEEP:-}" ]; then
		echo "slurm-test: kept $tmp"
	else
		rm -rf "$tmp"
	fi
	exit "$status"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$tmp"/{log,state,spool,run,work}
host=$(hostname -s)

# A port that nothing on this machine listens on, on loopback.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
ctld_port=$(free_port)
slurmd_port=$(free_port)
[ "$ctld_port" != "$slurmd_port" ] || slurmd_port=$(free_port)

# --- munge, with its own key and socket.
step "starting munged"
dd if=/dev/urandom of="$tmp/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge.key"
munged --foreground --force --key-file="$tmp/munge.key" --socket="$tmp/run/munge.socket" \
	--pid-file="$tmp/run/munged.pid" --log-file="$tmp/log/munged.log" \
	--seed-file="$tmp/state/munged.seed" >>"$tmp/log/munged.log" 2>&1 &
daemons+=($!)
for _ in $(seq 50); do
	[ -S "$tmp/run/munge.socket" ] && break
	sleep 0.1
done
munge -n -S "$tmp/run/munge.socket" | unmunge -S "$tmp/run/munge.socket" >/dev/null ||
	fail "munged does not answer on $tmp/run/munge.socket"

# --- slurm.conf: one node with 2 CPUs. No systemd and no cgroup delegation in a container, so
# processes are tracked through /proc and tasks are not confined; no accounting database, so
# job records stay in slurmctld (MinJobAge) for scontrol to read.
cat >"$tmp/slurm.conf" <<EOF
ClusterName=gossiptest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/run/munge.socket
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool/%n
SlurmctldPidFile=$tmp/run/slurmctld.pid
SlurmdPidFile=$tmp/run/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SlurmdParameters=config_overrides
MinJobAge=3600
MaxArraySize=100
SchedulerParameters=defer_batch
NodeName=$host NodeAddr=127.0.0.1 NodeHostname=$host CPUs=2 RealMemory=2048 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$tmp/slurm.conf"

step "starting slurmctld and slurmd (ports $ctld_port, $slurmd_port on 127.0.0.1)"
slurmctld -D -i -f "$SLURM_CONF" >>"$tmp/log/slurmctld.stderr.log" 2>&1 &
daemons+=($!)
for _ in $(seq 100); do
	scontrol ping 2>/dev/null | grep -q 'is UP' && break
	sleep 0.2
done
scontrol ping | grep -q 'is UP' || fail "slurmctld did not come up"
slurmd -D -N "$host" -f "$SLURM_CONF" >>"$tmp/log/slurmd.stderr.log" 2>&1 &
daemons+=($!)
for _ in $(seq 100); do
	state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
	[ "$state" = idle ] && break
	sleep 0.2
done
[ "$state" = idle ] || fail "node $host is '$state', not idle: slurmd did not register"

# All of one job's records, one line each; the state of every task.
job_lines() { scontrol show job -o "$1"; }
field() { grep -o "\b$1=[^ ]*" | cut -d= -f2-; }
# Every task of array job $1 as "TASK STATE EXIT_CODE".
tasks() {
	job_lines "$1" | while read -r line; do
		local task state code
		task=$(field ArrayTaskId <<<"$line")
		state=$(field JobState <<<"$line")
		code=$(field ExitCode <<<"$line")
		echo "$task $state $code"
	done
}

# Waits until every record of the job is in a final state, at most wait_seconds.
wait_done() {
	local job=$1 deadline=$((SECONDS + wait_seconds))
	while job_lines "$job" | field JobState | grep -qvE '^(COMPLETED|FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL|BOOT_FAIL|DEADLINE|PREEMPTED)$'; do
		[ $SECONDS -lt $deadline ] || {
			job_lines "$job" >&2
			fail "job $job not done after ${wait_seconds}s"
		}
		sleep 1
	done
}

work=$tmp/work
cp "$repo/$sweep" "$work/sweep.toml"
cd "$work"
out=results/sweep

# --- the array, submitted as the header of sweep.sbatch says. The command line lowers the
# file's per-task resources to what this 2-CPU node has; the file itself is not changed.
step "sbatch --array=1-$shards deploy/slurm/sweep.sbatch over $sweep"
start=$SECONDS
array=$(sbatch --parsable --array=1-$shards --cpus-per-task=1 --mem=256M \
	"$repo/deploy/slurm/sweep.sbatch" sweep.toml "$out")
jobs_submitted+=("$array")
merge=$(sbatch --parsable --dependency=afterok:"$array" --output=merge-%j.out \
	--wrap "gossip-sim merge $out --out $out")
jobs_submitted+=("$merge")

step "unsharded run of the same sweep, outside Slurm"
gossip-sim run sweep.toml --out whole --quiet >whole.out

wait_done "$array"
wait_done "$merge"
echo "array $array and merge $merge done after $((SECONDS - start)) s"
tasks "$array" | while read -r task state code; do
	echo "  task $task: $state, exit code $code"
	[ "$state" = COMPLETED ] && [ "$code" = 0:0 ] || {
		cat gossip-sweep-"$array"_"$task".out >&2 || true
		fail "array task $task is $state with exit code $code"
	}
done
[ "$(job_lines "$array" | wc -l)" = "$shards" ] || fail "expected $shards array tasks"
[ "$(job_lines "$merge" | field JobState)" = COMPLETED ] || {
	cat merge-"$merge".out >&2 || true
	fail "the merge job did not complete"
}
for task in $(seq 1 $shards); do
	[ -d "$out/shard-$((task - 1))-of-$shards" ] || fail "no $out/shard-$((task - 1))-of-$shards"
done

step "merged files against the unsharded run, byte for byte"
whole_files=$(cd whole && find . -maxdepth 1 -type f | sort)
merged_files=$(cd "$out" && find . -maxdepth 1 -type f | sort)
[ -n "$whole_files" ] || fail "the unsharded run wrote no files"
[ "$whole_files" = "$merged_files" ] ||
	fail "file lists differ: unsharded [$whole_files] merged [$merged_files]"
for file in $whole_files; do
	cmp "whole/$file" "$out/$file" || fail "$file differs"
	echo "  identical: ${file#./} ($(wc -c <"whole/$file") bytes)"
done

# --- an array over a bad scenario: every task exits 2 (bad input), Slurm says FAILED with
# ExitCode=2:0, and the merge that depends on the array never starts.
step "an array over a bad scenario"
sed 's/^trials = .*/trials = 0/' sweep.toml >bad.toml
grep -q '^trials = 0$' bad.toml || fail "could not make the bad scenario"
bad=$(sbatch --parsable --array=0-1 --cpus-per-task=1 --mem=256M \
	"$repo/deploy/slurm/sweep.sbatch" bad.toml results/bad)
jobs_submitted+=("$bad")
bad_merge=$(sbatch --parsable --dependency=afterok:"$bad" --output=merge-%j.out \
	--wrap "gossip-sim merge results/bad --out results/bad")
jobs_submitted+=("$bad_merge")
wait_done "$bad"
tasks "$bad" | while read -r task state code; do
	echo "  task $task: $state, exit code $code"
	[ "$state" = FAILED ] && [ "$code" = 2:0 ] || fail "bad task $task is $state, $code (expected FAILED, 2:0)"
	grep -q '^error: ' gossip-sweep-"$bad"_"$task".out ||
		fail "task $task's output has no error line"
	echo "    $(head -n 1 gossip-sweep-"$bad"_"$task".out)"
done
[ "$(job_lines "$bad" | wc -l)" = 2 ] || fail "expected 2 bad array tasks"
deadline=$((SECONDS + 30))
until [ "$(job_lines "$bad_merge" | field Reason)" = DependencyNeverSatisfied ]; do
	[ $SECONDS -lt $deadline ] || fail "the merge after the bad array is $(job_lines "$bad_merge" | field JobState), not held"
	sleep 1
done
[ "$(job_lines "$bad_merge" | field JobState)" = PENDING ] || fail "the merge after the bad array ran"
echo "  merge $bad_merge: PENDING, DependencyNeverSatisfied (cancelled)"
scancel "$bad_merge"
[ ! -e results/bad ] || [ -z "$(ls -A results/bad)" ] || fail "the bad array wrote results"

# --- resuming an array: fix the input and requeue the failed tasks under the same job id, so
# they keep their array index and count (a new submission of only some indices would not).
step "input fixed, failed array requeued (scontrol requeue $bad)"
cp sweep.toml bad.toml
scontrol requeue "$bad"
# A requeued job becomes eligible two minutes later (its BeginTime); no need to wait here.
scontrol update JobId="$bad" StartTime=now
wait_done "$bad"
tasks "$bad" | while read -r task state code; do
	echo "  task $task: $state, exit code $code"
	[ "$state" = COMPLETED ] && [ "$code" = 0:0 ] || fail "requeued task $task is $state, $code"
done
gossip-sim merge results/bad --out results/bad >requeued-merge.out
for file in $whole_files; do
	# run.toml records the scenario file the array ran (bad.toml here): that is provenance,
	# not a result, so it is checked for that name instead.
	if [ "$file" = ./run.toml ]; then
		grep -q 'bad.toml' "results/bad/$file" || fail "run.toml of the requeued array does not name bad.toml"
		continue
	fi
	cmp "whole/$file" "results/bad/$file" || fail "$file of the requeued array differs"
done
echo "  merged: the same bytes as the unsharded run"

step "passed in $SECONDS s"
