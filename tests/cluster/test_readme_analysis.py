"""The README's "Analyse in pandas / R" lines, run exactly as printed against the shipped
results/: the pandas block is taken out of README.md and executed from the repository root, and
so is the R block when Rscript is installed (Debian's r-base-core). The numbers the lines print
are checked against the shipped summary.csv files, so the example cannot go stale when the CSV
schema or the results change.

    python -m pytest tests/cluster     # needs: pip install -r tests/cluster/requirements.txt
"""

import contextlib
import csv
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SECTION = "### Analyse in pandas / R"


def snippet(language):
    """The first ```LANGUAGE block of the README's analysis section."""
    text = (REPO / "README.md").read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start)
    section = text[start : end if end > 0 else len(text)]
    blocks = re.findall(rf"```{language}\n(.*?)```", section, re.S)
    assert blocks, f"no ```{language} block under {SECTION!r} in README.md"
    return blocks[0]


def summary_mean(folder, metric, **params):
    """The mean of `metric` in results/FOLDER/summary.csv at the row whose columns match."""
    with open(REPO / "results" / folder / "summary.csv", newline="") as file:
        for row in csv.DictReader(file):
            if row["metric"] == metric and all(row[k] == v for k, v in params.items()):
                return float(row["mean"])
    raise AssertionError(f"no {metric} row with {params} in results/{folder}/summary.csv")


@contextlib.contextmanager
def at_repo_root():
    old = os.getcwd()
    os.chdir(REPO)
    try:
        yield
    finally:
        os.chdir(old)


def test_the_pandas_lines_run_and_tell_the_runs_apart():
    pd = pytest.importorskip("pandas")
    namespace = {}
    printed = io.StringIO()
    with at_repo_root(), contextlib.redirect_stdout(printed):
        exec(compile(snippet("python"), "README.md", "exec"), namespace)
    u, s = namespace["u"], namespace["s"]
    # Two runs of 100 trials with one update each, told apart by their network_loss column.
    assert len(u) == 200
    assert sorted(u.network_loss.unique()) == [0.0, 0.1]
    by_loss = u.groupby("network_loss").rounds_to_all.mean()
    assert by_loss[0.0] == pytest.approx(summary_mean("push-1k", "rounds_to_all"))
    assert by_loss[0.1] == pytest.approx(summary_mean("push-1k-loss-10", "rounds_to_all"))
    # The sweep's pivot: one row per n, one column per protocol, the summary's means.
    pivot = s[s.metric == "rounds_to_all"].pivot(index="nodes", columns="protocol_kind", values="mean")
    assert list(pivot.index) == [1000, 10000, 100000, 1000000]
    assert sorted(pivot.columns) == ["pull", "push", "push-pull"]
    assert pivot.loc[1000000, "push"] == pytest.approx(
        summary_mean("sweep-rounds-vs-nodes", "rounds_to_all", nodes="1000000", protocol_kind="push")
    )
    assert "push-pull" in printed.getvalue()
    assert pd.__version__


# Skipped off CI without R; under CI=true (.ci/run installs r-base-core) a missing R fails.
@pytest.mark.skipif(
    shutil.which("Rscript") is None and os.environ.get("CI") != "true",
    reason="Rscript not installed (apt-get install r-base-core)",
)
def test_the_r_lines_run_and_print_the_same_means():
    result = subprocess.run(
        ["Rscript", "-e", snippet("r")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # aggregate(): one row per (protocol_kind, network_loss) with the mean rounds_to_all.
    for folder, loss in [("push-1k", "0.0"), ("push-1k-loss-10", "0.1")]:
        mean = summary_mean(folder, "rounds_to_all")
        assert re.search(rf"push\s+{re.escape(loss)}\s+{mean:g}\b", out), out
    # xtabs(): the sweep's means by n and protocol.
    push_1e6 = summary_mean("sweep-rounds-vs-nodes", "rounds_to_all", nodes="1000000", protocol_kind="push")
    assert re.search(r"1e\+06|1000000", out), out
    assert f"{push_1e6:g}"[:5] in out, out
