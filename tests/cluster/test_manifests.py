"""The Kubernetes files in deploy/kubernetes/ and the Dockerfile, checked as far as a machine
without a cluster or a container engine can: every object against the Kubernetes API's JSON
schema (kubernetes-validate, strict: an unknown or misspelt field fails), the rules the API
server adds on top of the schema for what we use (podFailurePolicy needs restartPolicy Never,
an exit-code rule names a container of the pod), the properties that make the files work as
written (a versioned image that is not pulled when present, a ReadWriteMany claim that exists,
a shard count equal to the completions), the Dockerfile through hadolint, and the Jobs'
commands run with the real binary, the way the Indexed Job's pods and the merge Job run them.

    python -m pytest tests/cluster     # needs: pip install -r tests/cluster/requirements.txt
"""

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
KUBE = REPO / "deploy" / "kubernetes"
MANIFESTS = sorted(KUBE.glob("*.yaml"))
# The Kubernetes release whose schema the files must satisfy (kubernetes-validate's newest);
# podFailurePolicy is GA since 1.31, so clusters from 1.31 on take these files.
KUBERNETES_VERSION = "1.37.0"
BINARY = REPO / "target" / "release" / "gossip-sim"


def documents(path):
    with open(path) as file:
        return [doc for doc in yaml.safe_load_all(file) if doc is not None]


def objects():
    return [(path.name, doc) for path in MANIFESTS for doc in documents(path)]


def by_name(kind, name):
    found = [doc for _, doc in objects() if doc["kind"] == kind and doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_specs():
    """(file, object name, pod spec) of every Pod and every Job's pod template."""
    for file, doc in objects():
        if doc["kind"] == "Pod":
            yield file, doc["metadata"]["name"], doc["spec"]
        elif doc["kind"] == "Job":
            yield file, doc["metadata"]["name"], doc["spec"]["template"]["spec"]


def cargo_version():
    with open(REPO / "Cargo.toml", "rb") as file:
        return tomllib.load(file)["package"]["version"]


def test_the_manifests_are_there():
    assert {path.name for path in MANIFESTS} == {
        "merge-job.yaml",
        "results-pvc.yaml",
        "results-reader.yaml",
        "sweep-job.yaml",
    }


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.name)
def test_every_object_matches_the_kubernetes_schema(path):
    docs = documents(path)
    assert docs, f"{path.name} holds no object"
    for doc in docs:
        # Raises ValidationError naming the field on a wrong type, a missing required field or,
        # strict, a field the API does not have.
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_catches_a_misspelt_field():
    job = by_name("Job", "gossip-sweep")
    job["spec"]["template"]["spec"]["restartPolicyy"] = "Never"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)


def test_every_image_is_the_versioned_build_and_not_pulled_when_present():
    tag = f"gossip-sim:{cargo_version()}"
    for file, name, spec in pod_specs():
        for container in spec["containers"]:
            assert container["image"] == tag, f"{file} {name}: {container['image']}, not {tag}"
            # A tag other than :latest defaults to IfNotPresent; say it, as a locally loaded
            # image must never be looked up in a registry.
            assert container.get("imagePullPolicy") == "IfNotPresent", f"{file} {name}"


def test_every_claim_used_is_defined_and_read_write_many():
    claims = {doc["metadata"]["name"]: doc for _, doc in objects() if doc["kind"] == "PersistentVolumeClaim"}
    used = set()
    for file, name, spec in pod_specs():
        for volume in spec.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                claim = volume["persistentVolumeClaim"]["claimName"]
                assert claim in claims, f"{file} {name}: claim {claim} is not defined in deploy/kubernetes/"
                used.add(claim)
    assert used == {"gossip-results"}
    assert claims["gossip-results"]["spec"]["accessModes"] == ["ReadWriteMany"]


def test_the_claim_file_says_what_to_do_without_read_write_many():
    text = (KUBE / "results-pvc.yaml").read_text()
    assert "ReadWriteOnce" in text and "without ReadWriteMany" in text


@pytest.mark.parametrize("job_name", ["gossip-sweep", "gossip-merge"])
def test_bad_input_fails_the_job_at_once_and_real_failures_are_retried(job_name):
    job = by_name("Job", job_name)
    spec = job["spec"]
    pod = spec["template"]["spec"]
    # The API server refuses a podFailurePolicy with any other restartPolicy.
    assert pod["restartPolicy"] == "Never"
    rules = spec["podFailurePolicy"]["rules"]
    exit_rules = [rule for rule in rules if "onExitCodes" in rule]
    assert len(exit_rules) == 1
    rule = exit_rules[0]
    assert rule["action"] == "FailJob"
    assert rule["onExitCodes"]["operator"] == "In"
    assert rule["onExitCodes"]["values"] == [2]
    containers = [container["name"] for container in pod["containers"]]
    assert rule["onExitCodes"]["containerName"] in containers
    # No other exit code fails the Job outright or is ignored: 1 (internal error), 137 (OOM
    # kill) and the rest are retried up to backoffLimit.
    assert all(rule["action"] != "Ignore" for rule in exit_rules)
    assert spec["backoffLimit"] >= 1
    # Evictions and preemptions are retried without counting against backoffLimit.
    assert {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]} in rules


def container_env(container):
    return {var["name"]: var for var in container.get("env", [])}


def test_the_sweep_is_an_indexed_job_with_one_shard_per_completion():
    spec = by_name("Job", "gossip-sweep")["spec"]
    assert spec["completionMode"] == "Indexed"
    container = spec["template"]["spec"]["containers"][0]
    env = container_env(container)
    assert int(env["GOSSIP_SHARD_COUNT"]["value"]) == spec["completions"]
    assert spec["parallelism"] <= spec["completions"]
    command = container["command"]
    assert command[:2] == ["gossip-sim", "run"]
    assert command[command.index("--shard") + 1] == "auto"
    assert "--resume" in command
    # The scenario comes from the ConfigMap of the shipped scenarios (or the image's copy).
    scenario = Path(command[2])
    assert scenario.parent == Path("/scenarios")
    assert (REPO / "scenarios" / scenario.name).is_file()
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    assert mounts["/scenarios"] == "scenarios" and mounts["/results"] == "results"


def test_the_merge_job_merges_the_folder_the_sweep_writes():
    sweep = by_name("Job", "gossip-sweep")["spec"]["template"]["spec"]["containers"][0]["command"]
    merge = by_name("Job", "gossip-merge")["spec"]["template"]["spec"]["containers"][0]["command"]
    out = sweep[sweep.index("--out") + 1]
    assert merge == ["gossip-sim", "merge", out, "--out", out]


def test_the_memory_limit_is_set_for_the_guard_to_read():
    container = by_name("Job", "gossip-sweep")["spec"]["template"]["spec"]["containers"][0]
    resources = container["resources"]
    assert "memory" in resources["limits"] and "memory" in resources["requests"]
    # One worker per requested CPU, from the downward API.
    command = container["command"]
    assert command[command.index("--jobs") + 1] == "$(GOSSIP_JOBS)"
    field = container_env(container)["GOSSIP_JOBS"]["valueFrom"]["resourceFieldRef"]
    assert field == {"containerName": container["name"], "resource": "requests.cpu", "divisor": "1"}


def test_the_runtime_user_can_write_the_results_volume():
    for file, name, spec in pod_specs():
        context = spec["securityContext"]
        assert context["runAsUser"] == 10001, f"{file} {name}"
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "USER 10001:10001" in dockerfile
    for name in ["gossip-sweep", "gossip-merge"]:
        assert by_name("Job", name)["spec"]["template"]["spec"]["securityContext"]["fsGroup"] == 10001


def dockerfile_stages():
    return re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", (REPO / "Dockerfile").read_text(), re.MULTILINE)


def test_the_dockerfile_builds_with_cargo_and_runs_from_a_slim_pinned_base():
    stages = dockerfile_stages()
    assert len(stages) == 2, stages
    (build, build_name), (run, _) = stages
    # Pinned: a full version in every tag, no :latest, no floating major.
    assert re.fullmatch(r"rust:\d+\.\d+\.\d+-slim-\w+", build), build
    assert re.fullmatch(r"debian:\d+\.\d+-slim", run), run
    text = (REPO / "Dockerfile").read_text()
    assert "cargo build --release --locked" in text
    assert f"COPY --from={build_name} /src/target/release/gossip-sim /usr/local/bin/gossip-sim" in text
    # The build stage's Debian release is the runtime's (the binary links against its glibc).
    debian_release = {"11": "bullseye", "12": "bookworm", "13": "trixie"}[run.split(":")[1].split(".")[0]]
    assert build.endswith(f"-slim-{debian_release}")


def test_the_build_image_has_a_toolchain_new_enough_for_this_crate():
    (build, _), _ = dockerfile_stages()
    version = tuple(int(part) for part in re.search(r"rust:(\d+)\.(\d+)\.(\d+)", build).groups())
    with open(REPO / "Cargo.toml", "rb") as file:
        edition = tomllib.load(file)["package"]["edition"]
    # Edition 2024 arrived with Rust 1.85; the toolchain the tests run with is the one pinned.
    assert edition == "2024" and version >= (1, 85, 0)
    rustc = shutil.which("rustc")
    if rustc:
        local = re.search(r"rustc (\d+)\.(\d+)\.(\d+)", subprocess.run([rustc, "--version"], capture_output=True, text=True).stdout)
        assert local and tuple(int(part) for part in local.groups()) == version, (
            f"the Dockerfile builds with {build}, the tests ran with {local.group(0) if local else rustc}"
        )


def test_the_docker_context_holds_what_the_build_copies():
    ignore = (REPO / ".dockerignore").read_text().split()
    assert ignore[ignore.index("*")] == "*"
    for copied in ["Cargo.toml", "Cargo.lock", "src/", "benches/", "scenarios/"]:
        assert f"!{copied}" in ignore
        assert (REPO / copied).exists()


def test_hadolint_finds_nothing_in_the_dockerfile():
    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint is not installed (pip install -r tests/cluster/requirements.txt)"
    result = subprocess.run([hadolint, str(REPO / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def expand(arg, env):
    """Kubernetes' $(VAR) expansion of a container's command."""
    return re.sub(r"\$\((\w+)\)", lambda match: env[match.group(1)], arg)


def test_the_jobs_commands_give_the_bytes_of_an_unsharded_run(tmp_path):
    """Runs the sweep Job's command once per completion index with the environment Kubernetes
    gives its pods, then the merge Job's command, with the real binary; /scenarios and /results
    point into a temporary folder and the shipped sweep is swapped for a faster one of the same
    shape (sweep-rounds-vs-nodes runs up to 10^6 nodes)."""
    assert BINARY.is_file(), f"{BINARY} is missing: run cargo build --release first"
    scenarios = tmp_path / "scenarios"
    results = tmp_path / "results"
    scenarios.mkdir()
    results.mkdir()
    fast = "sweep-rumor-anti-entropy.toml"
    shutil.copy(REPO / "scenarios" / fast, scenarios)

    sweep = by_name("Job", "gossip-sweep")["spec"]
    container = sweep["template"]["spec"]["containers"][0]
    env = {
        name: var["value"] if "value" in var else container["resources"]["requests"]["cpu"]
        for name, var in container_env(container).items()
    }
    shipped = container["command"][2]

    def local(arg):
        arg = arg.replace(shipped, f"/scenarios/{fast}")
        return arg.replace("/scenarios", str(scenarios)).replace("/results", str(results))

    def run(command, extra_env):
        base = {key: value for key, value in os.environ.items() if not key.startswith(("SLURM_", "JOB_COMPLETION", "GOSSIP_"))}
        argv = [str(BINARY)] + [local(expand(arg, env)) for arg in command[1:]]
        result = subprocess.run(argv, env={**base, **extra_env}, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{argv}: {result.stderr}"

    for index in range(sweep["completions"]):
        run(container["command"], {**env, "JOB_COMPLETION_INDEX": str(index)})
    out = Path(local(container["command"][container["command"].index("--out") + 1]))
    shards = sorted(path.name for path in out.iterdir())
    assert shards == [f"shard-{i}-of-{sweep['completions']}" for i in range(sweep["completions"])]

    merge = by_name("Job", "gossip-merge")["spec"]["template"]["spec"]["containers"][0]["command"]
    run(merge, {})

    whole = tmp_path / "whole"
    subprocess.run([str(BINARY), "run", str(scenarios / fast), "--out", str(whole), "--quiet"], check=True, capture_output=True, timeout=120)
    files = sorted(path.name for path in whole.iterdir() if path.is_file())
    assert files == sorted(path.name for path in out.iterdir() if path.is_file())
    for name in files:
        assert (whole / name).read_bytes() == (out / name).read_bytes(), f"{name} differs"


def test_the_merge_command_exits_2_on_a_missing_shard(tmp_path):
    """The exit code the merge Job's podFailurePolicy fails on: a shard missing is bad input."""
    assert BINARY.is_file(), f"{BINARY} is missing: run cargo build --release first"
    scenario = REPO / "scenarios" / "sweep-rumor-anti-entropy.toml"
    out = tmp_path / "results"
    base = {key: value for key, value in os.environ.items() if not key.startswith(("SLURM_", "JOB_COMPLETION", "GOSSIP_"))}
    subprocess.run([str(BINARY), "run", str(scenario), "--out", str(out), "--shard", "0/2", "--quiet"], check=True, capture_output=True, env=base, timeout=120)
    result = subprocess.run([str(BINARY), "merge", str(out), "--out", str(out)], capture_output=True, text=True, env=base)
    assert result.returncode == 2, result
    assert result.stderr.startswith("error: ") and "shard" in result.stderr
