"""igoc-bench end to end: --quick in a fresh cache, the JSON schema, a cached rerun, bad usage.

The quick runs pin the compiler's fingerprint (part of every cache key), so
that an edit of igoc's source between the two runs cannot turn the rerun's
hits into misses; that the fingerprint is part of the key is tested on its own.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import pathlib
import subprocess
import sys
from dataclasses import dataclass

import pytest

from igoc.bench import plot
from igoc.bench.tables import METRICS
from igoc.cli.bench import main
from igoc.target import load_spec
from igoc.target.spec import KEY_TYPES

QUICK_TARGETS = {"edge": 4, "server": 8}
QUICK_MODELS = {"edge": ["ncf", "dlrm"], "server": ["ncf", "dlrm"]}
PIPELINES = ["baseline", "igo-interleave", "igo-rearrange", "igo"]
NUMBER = (int, float)
SAMPLES = pathlib.Path(__file__).parents[2] / "samples" / "basics"
MLP = str(SAMPLES / "mlp.mlir")  # a user's file: its batch (4) is its own
LINEAR = str(SAMPLES / "linear.mlir")


@dataclass
class Outcome:
    """What one igoc-bench run did."""

    returncode: int
    stdout: str
    stderr: str


def _bench(*args: str) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(args))
    return Outcome(status, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """``igoc-bench --quick -j 2`` in an empty cache, then the same again."""
    folder = tmp_path_factory.mktemp("quick")
    cache = folder / "cache"
    args = ["--quick", "--jobs", "2", "--cache-dir", str(cache)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("igoc.bench.runner.compiler_fingerprint", lambda: "pinned")
        first = _bench(*args, "--json", str(folder / "first.json"), "--csv", str(folder / "r.csv"))
        again = _bench(*args, "--json", str(folder / "again.json"))
    return folder, first, again


def test_quick_runs_every_job_and_prints_the_tables(quick):
    folder, first, _ = quick
    assert first.returncode == 0, first.stderr
    assert "16 jobs, 0 from the cache, 16 to run on 2 workers" in first.stderr
    assert first.stderr.count("] ") == 16  # one progress line per job
    text = first.stdout
    assert text.startswith("Regime: strong (")
    assert "Reference pipeline: baseline" in text
    for target, batch in QUICK_TARGETS.items():
        assert f"== {target}: " in text and f"batch {batch};" in text
    for metric in METRICS:
        assert text.count(metric.title) == len(QUICK_TARGETS)
    assert "Average reduction of execution time" in text
    assert "failed" not in text


def test_quick_json_schema(quick):
    folder, _, _ = quick
    doc = json.loads((folder / "first.json").read_text())
    assert doc["schema_version"] == 1
    assert doc["tool"] == "igoc-bench" and doc["compiler"].startswith("igoc ")
    assert doc["pipelines"] == PIPELINES and doc["reference_pipeline"] == "baseline"
    assert doc["regime"] == "strong"  # the default
    assert isinstance(doc["average"], str) and doc["im2col"] == "on-the-fly"
    assert set(doc["metrics"]) == {metric.name for metric in METRICS}
    assert [t["name"] for t in doc["targets"]] == list(QUICK_TARGETS)
    for target in doc["targets"]:
        assert target["batch"] == QUICK_TARGETS[target["name"]]
        assert target["models"] == QUICK_MODELS[target["name"]]
        assert target["target"]["name"] == target["name"]
        for metric in METRICS:
            table = target["tables"][metric.name]
            assert set(table) == {"title", "unit", "reference", "average", "models_averaged"}
            assert table["models_averaged"] == 2
            assert set(table["reference"]) == set(target["models"])
            assert all(isinstance(v, float) and v > 0 for v in table["reference"].values())
            assert set(table["average"]) == set(PIPELINES)
    runs = doc["runs"]
    assert len(runs) == 2 * 2 * 4
    for run in runs:
        assert run["status"] == "ok" and run["error"] is None and run["stage"] is None
        assert isinstance(run["batch"], int) and run["input"].endswith(".mlir")
        for key in ("cycles", "macs", "dram_read_bytes", "dram_write_bytes", "backward_cycles"):
            assert isinstance(run[key], int) and run[key] > 0, key
        assert 0 < run["backward_cycles"] <= run["cycles"]
        assert 0 < run["backward_dram_bytes"] <= run["dram_read_bytes"] + run["dram_write_bytes"]
        assert set(run["normalised"]) == {metric.name for metric in METRICS}
        assert all(isinstance(v, NUMBER) for v in run["normalised"].values())
        assert "layers" not in run and "timing" not in run  # only when asked
        assert run["target_spec"] == load_spec(run["target"]).as_dict()
        assert run["target_spec"]["batch"] == run["batch"]


def test_quick_json_follows_the_schema_igoc_ships(quick):
    import jsonschema

    from igoc.schemas import load_schema

    folder, _, _ = quick
    doc = json.loads((folder / "first.json").read_text())
    jsonschema.Draft202012Validator(load_schema("bench")).validate(doc)


def test_quick_ratios_follow_from_the_runs(quick):
    folder, _, _ = quick
    doc = json.loads((folder / "first.json").read_text())
    base = {(r["target"], r["row"]): r for r in doc["runs"] if r["pipeline"] == "baseline"}
    for run in doc["runs"]:
        ref = base[(run["target"], run["row"])]
        assert run["normalised"]["time"] == pytest.approx(run["cycles"] / ref["cycles"])
        traffic = run["dram_read_bytes"] + run["dram_write_bytes"]
        ref_traffic = ref["dram_read_bytes"] + ref["dram_write_bytes"]
        assert run["normalised"]["dram"] == pytest.approx(traffic / ref_traffic)
    for target in doc["targets"]:
        for pipeline in PIPELINES:
            ratios = [
                r["normalised"]["time"]
                for r in doc["runs"]
                if r["target"] == target["name"] and r["pipeline"] == pipeline
            ]
            mean = target["tables"]["time"]["average"][pipeline]
            assert mean == pytest.approx(sum(ratios) / len(ratios))


def test_quick_csv_has_a_row_per_job(quick):
    folder, _, _ = quick
    lines = (folder / "r.csv").read_text().splitlines()
    rows = list(csv.DictReader(lines))
    header = lines[0].split(",")
    assert header[:5] == ["row", "model", "batch", "input", "target"]
    spec = [f"target.{key}" for key in KEY_TYPES]
    assert header[5 : 5 + len(spec)] == spec  # the target's full description
    assert header[5 + len(spec) : 7 + len(spec)] == ["pipeline", "status"]
    assert "time_ratio" in header and header[-1] == "error"
    assert len(rows) == 16
    assert {row["pipeline"] for row in rows} == set(PIPELINES)
    for row in rows:
        target = load_spec(row["target"]).as_dict()
        assert {key: row[f"target.{key}"] for key in KEY_TYPES} == {
            key: str(value) for key, value in target.items()
        }


def test_a_rerun_comes_from_the_cache_and_says_the_same(quick):
    folder, first, again = quick
    assert again.returncode == 0, again.stderr
    assert "16 jobs, 16 from the cache, 0 to run" in again.stderr
    assert again.stdout == first.stdout
    assert (folder / "again.json").read_bytes() == (folder / "first.json").read_bytes()


def _run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("option", ["--jobs", "--batch"])
def test_digit_separators_are_no_number(capsys, option):
    with pytest.raises(SystemExit) as info:
        main([option, "1_0"])
    assert info.value.code == 2
    assert "'1_0' is not a whole number" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "vgg"], "unknown model 'vgg'; models: rcnn, goo, ncf, res"),
        (["--target", "tpu"], "unknown target 'tpu'; targets: edge, server"),
        (["--pipeline", "fast"], "unknown pipeline 'fast'; pipelines: baseline"),
        (["--jobs", "0"], "--jobs must be at least 1"),
        (["--sweep", "batch=4,1_0"], "key 'batch' takes an integer, got '1_0'"),
        (["--json", "-", "--csv", "-"], "cannot both write to standard output"),
        (["--json", "same", "--csv", "same"], "--json and --csv both name 'same'; give each"),
        (["--csv", "same", "--plot", "./same"], "--csv and --plot both name './same'; give each"),
        (["--cached-only", "--no-cache"], "--cached-only needs the cache"),
        (["--jobs", "2", "--scheduler", "tcp://127.0.0.1:9"], "--jobs sizes the local cluster"),
        (["--set", "cores=two"], "--set cores=two: key 'cores' takes an integer, got 'two'"),
        (["--set", "vector_units=4"], "--set vector_units=4: unknown key 'vector_units'; keys:"),
        (["--set", "cores"], "--set cores: expected KEY=VALUE"),
        (["--sweep", "spm_shared=yes"], "--sweep spm_shared=yes: key 'spm_shared' takes true or"),
        (["--sweep", "batch=4,,8"], "--sweep batch=4,,8: key 'batch': an empty value in the list"),
        (["--set", "batch=4", "--sweep", "batch=4,8"], "key 'batch' is both set and swept"),
        (["--batch", "2", "--sweep", "batch=4,8"], "key 'batch' is both set and swept"),
        (["--sweep", "cores=1", "cores=2"], "--sweep: key 'cores' is swept twice"),
        (["--batch", "2", "--set", "batch=4"], "--batch 2 and --set batch=4 both set batch"),
        (["--psum-bytes", "2", "--set", "psum_bytes=4"], "--psum-bytes 2 and --set psum_bytes"),
        (["--set", "cores=1", "cores=2"], "--set cores=1 and --set cores=2 both set cores"),
        (
            ["--model", MLP, "--batch", "16"],
            f"--batch 16: model '{MLP}' is a .mlir file, whose batch the file fixes",
        ),
        (
            ["--model", "ncf", MLP, "--sweep", "batch=4,8"],
            f"--sweep batch=4,8: model '{MLP}' is a .mlir file, whose batch the file fixes",
        ),
        (
            ["--model", MLP, "--set", "psum_bytes=4", "batch=8"],
            f"--set batch=8: model '{MLP}' is a .mlir file, whose batch the file fixes",
        ),
        (
            ["--decompose", "--model", MLP, "--batch", "8"],
            f"--batch 8: model '{MLP}' is a .mlir file, whose batch the file fixes",
        ),
        (["--models-dir", "no-such-folder", "--model", "ncf"], "'no-such-folder' does not exist"),
        (["--models-dir", MLP, "--model", "ncf"], "is not a folder"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(capsys, tmp_path, args, message):
    status, out, err = _run(capsys, *args, "--cache-dir", str(tmp_path))
    assert status == 2
    assert out == ""
    assert err.startswith("igoc-bench: error: ") and message in err
    assert err.count("\n") == 1
    assert not any(tmp_path.iterdir())  # nothing ran


def test_figures_to_standard_output_is_bad_usage(capsys, tmp_path, monkeypatch):
    """Not a folder named '-' (nor, should that check go, a whole run: the cache is empty)."""
    monkeypatch.chdir(tmp_path)
    args = ["--figures", "-", "--regime", "paper", "--model", "ncf", "--cached-only"]
    status, out, err = _run(capsys, *args, "--cache-dir", "cache")
    assert (status, out) == (2, "")
    assert err == (
        "igoc-bench: error: --figures names a folder, and '-' (standard output) is not one\n"
    )
    assert not list(tmp_path.iterdir())


def test_an_abbreviated_option_is_not_taken_for_another(capsys):
    """``--models`` is no abbreviation of ``--models-dir`` (which would run every network)."""
    with pytest.raises(SystemExit) as stop:
        main(["--models", "ncf", "--target", "edge", "--cached-only"])
    assert stop.value.code == 2
    assert "unrecognized arguments: --models ncf" in capsys.readouterr().err


def test_an_output_that_cannot_be_written_is_refused_before_any_job(capsys, tmp_path):
    cache = tmp_path / "cache"
    for option in ("--json", "--csv"):
        status, out, err = _run(
            capsys,
            *("--model", "ncf", "--target", "edge", "--pipeline", "baseline"),
            *(option, str(tmp_path / "no" / "out"), "--cache-dir", str(cache)),
        )
        assert status == 1
        assert out == ""
        assert f"cannot write '{tmp_path / 'no' / 'out'}': folder" in err
        assert not cache.exists()  # nothing ran, nothing was cached


def test_unknown_flag_value_is_usage_error(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--psum-bytes", "3"])
    assert stop.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_missing_model_file_is_an_input_error(capsys, tmp_path):
    status, _, err = _run(capsys, "--model", str(tmp_path / "none.mlir"), "--no-cache")
    assert status == 1
    missing = tmp_path / "none.mlir"
    assert (
        err == f"igoc-bench: error: cannot read model file '{missing}': no such file or directory\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--set", "cores=0"],
            "error: preset 'edge' with cores=0: key 'cores' must be between 1 and 32, got 0",
        ),
        (
            ["--sweep", "variant=edge,cloud"],
            "key 'variant' must be one of edge, server, got 'cloud'",
        ),
    ],
)
def test_target_values_out_of_range_are_usage_errors(capsys, tmp_path, args, message):
    # Given on the command line, as a value of the wrong type is (a bad target file: exit 1).
    status, out, err = _run(capsys, "--target", "edge", *args, "--cache-dir", str(tmp_path))
    assert (status, out) == (2, "")
    assert message in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir())


def test_a_sweep_is_one_command_with_one_json_and_csv(capsys, tmp_path):
    status, _, err = _run(
        capsys,
        *("--target", "edge", "--model", "ncf", "--pipeline", "baseline", "--no-cache"),
        *("--sweep", "dram_bandwidth_gb_per_s=5.5,22", "batch=2,4"),
        *("--json", str(tmp_path / "s.json"), "--csv", str(tmp_path / "s.csv")),
    )
    assert status == 0, err
    assert "4 jobs, 0 from the cache, 4 to run" in err
    doc = json.loads((tmp_path / "s.json").read_text())
    assert [t["name"] for t in doc["targets"]] == [
        "edge[dram_bandwidth_gb_per_s=5.5,batch=2]",
        "edge[dram_bandwidth_gb_per_s=5.5]",
        "edge[batch=2]",
        "edge",
    ]
    points = [(r["target_spec"]["dram_bandwidth_gb_per_s"], r["batch"]) for r in doc["runs"]]
    assert points == [(5.5, 2), (5.5, 4), (22.0, 2), (22.0, 4)]
    assert [r["input"] for r in doc["runs"]] == ["ncf-b2.mlir", "ncf-b4.mlir"] * 2
    assert all(r["status"] == "ok" and r["target_spec"]["variant"] == "edge" for r in doc["runs"])
    # Less bandwidth is never faster, more samples never fewer MACs.
    slow_2, slow_4, fast_2, fast_4 = doc["runs"]
    assert slow_2["cycles"] >= fast_2["cycles"] and slow_4["cycles"] >= fast_4["cycles"]
    assert slow_4["macs"] == 2 * slow_2["macs"]
    rows = list(csv.DictReader((tmp_path / "s.csv").read_text().splitlines()))
    assert [(r["target.dram_bandwidth_gb_per_s"], r["target.batch"]) for r in rows] == [
        ("5.5", "2"),
        ("5.5", "4"),
        ("22.0", "2"),
        ("22.0", "4"),
    ]


def test_the_header_claims_no_batch_for_a_model_file(capsys, tmp_path):
    args = ("--target", "edge", "--pipeline", "baseline", "--cache-dir", str(tmp_path))
    status, out, err = _run(capsys, "--model", MLP, *args)
    assert status == 0, err
    (header,) = [line for line in out.splitlines() if line.startswith("== edge: ")]
    assert "; batch as in the model file; " in header and "batch 4" not in header


@pytest.mark.parametrize("where", ["a file", "below a file"])
def test_an_unusable_cache_folder_is_one_warning_and_the_run_goes_on(capsys, tmp_path, where):
    taken = tmp_path / "taken"
    taken.write_text("not a folder\n")
    folder = taken if where == "a file" else taken / "cache"
    args = ("--model", LINEAR, "--target", "edge", "--pipeline", "baseline")
    for _ in range(2):
        status, out, err = _run(capsys, *args, "--cache-dir", str(folder))
        assert status == 0, err
        assert "== edge: " in out
        warnings = [line for line in err.splitlines() if "warning" in line]
        assert warnings == [
            f"igoc-bench: warning: cache folder '{folder}' cannot be used (not a directory); "
            "results are not cached"
        ]
        assert "1 job, 0 from the cache, 1 to run" in err
    assert taken.read_text() == "not a folder\n"
    assert [path.name for path in tmp_path.iterdir()] == ["taken"]


def test_a_usable_cache_folder_gives_no_warning(capsys, tmp_path):
    args = ("--model", LINEAR, "--target", "edge", "--pipeline", "baseline")
    status, _, err = _run(capsys, *args, "--cache-dir", str(tmp_path / "new" / "cache"))
    assert status == 0 and "warning" not in err
    status, _, err = _run(capsys, *args, "--cache-dir", str(tmp_path / "new" / "cache"))
    assert status == 0 and "warning" not in err
    assert "1 job, 1 from the cache" in err
    assert [path.name for path in (tmp_path / "new" / "cache").glob(".probe-*")] == []


def test_a_target_file_without_what_igoc_bench_runs_is_an_input_error(capsys, tmp_path):
    full = tmp_path / "npu.toml"
    full.write_text(load_spec("edge").target.to_toml())
    status, out, err = _run(capsys, "--target", str(full), "--no-cache")
    assert (status, out) == (1, "")
    assert f"{full}: igoc-bench needs key 'variant' (edge or server" in err
    assert err.count("\n") == 1


def test_bad_target_file_is_an_input_error(capsys, tmp_path):
    bad = tmp_path / "npu.toml"
    bad.write_text("name = 'npu'\n")
    status, _, err = _run(capsys, "--target", str(bad), "--no-cache")
    assert status == 1
    assert "missing key" in err and "Traceback" not in err


@pytest.mark.skipif(plot.available(), reason="matplotlib is installed")
def test_plot_without_matplotlib_says_so_before_running(capsys, tmp_path):
    status, _, err = _run(capsys, "--plot", str(tmp_path / "p.png"), "--cache-dir", str(tmp_path))
    assert status == 1
    assert err == f"igoc-bench: error: {plot.MISSING}\n"
    assert not any(tmp_path.iterdir())


def test_help_names_every_option(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    for option in (
        "--target",
        "--model",
        "--pipeline",
        "--jobs",
        "--quick",
        "--json",
        "--csv",
        "--plot",
        "--layers",
        "--cache-dir",
        "--no-cache",
        "--psum-bytes",
        "--im2col",
        "--set",
        "--sweep",
        "--scheduler",
        "--regime",
        "--decompose",
        "--figures",
    ):
        assert option in out
    assert "igoc-bench --decompose --jobs 2" in out
    assert "igoc-bench --regime paper --figures figures --jobs 2" in out


def test_console_command_runs(tmp_path):
    """The installed module runs as a program: one tiny job, no cache."""
    linear = "samples/basics/linear.mlir"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "igoc.cli.bench",
            "--model",
            linear,
            "--target",
            "edge",
            "--pipeline",
            "baseline",
            "--no-cache",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=str(__import__("pathlib").Path(__file__).parents[2]),
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and "linear" in done.stdout


def test_cached_only_with_a_missing_cache_folder_says_so(capsys, tmp_path):
    folder = tmp_path / "none"
    args = ("--model", LINEAR, "--target", "edge", "--pipeline", "baseline", "--cached-only")
    status, _, err = _run(capsys, *args, "--cache-dir", str(folder))
    assert status == 1  # a job not run
    assert f"warning: cache folder '{folder}' does not exist; every job is reported as not" in err
    assert "1 job, 0 from the cache, 1 not run" in err
    assert not folder.exists()
