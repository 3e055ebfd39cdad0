"""The JSON Schema files igoc ships: valid schemas, met by real outputs, strict about keys.

The bench schema is also checked against a real ``igoc-bench --quick --json``
in ``tests/bench/test_bench_cli.py``; here against runs with ``--layers``,
``--timings`` and a failed job.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import pathlib

import jsonschema
import pytest

from igoc.api import compile_file
from igoc.schemas import SCHEMAS, load_schema
from igoc.sim import simulate
from igoc.sim.compare import check_outputs, generate_inputs

ROOT = pathlib.Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "basics"


def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema(name))


@pytest.mark.parametrize("name", SCHEMAS)
def test_each_schema_is_a_valid_draft_2020_12_schema(name):
    jsonschema.Draft202012Validator.check_schema(load_schema(name))


def _sim_report(sample: str, target: str, check: bool) -> dict:
    """What ``igoc-sim OUT.npu --json [--check]`` prints, as a JSON object."""
    program = compile_file(str(SAMPLES / sample), target, "igo")
    inputs = generate_inputs(program, seed=0) if check else None
    result = simulate(program, functional=check, inputs=inputs)
    report = result.report
    if check:
        report["check"] = check_outputs(program, inputs, result.tensors)
    return json.loads(json.dumps(report))


@pytest.mark.parametrize(
    ("sample", "target", "check"),
    [("conv3x3.mlir", "edge", True), ("mlp.mlir", "server-2c", False)],
)
def test_real_sim_reports_follow_the_schema(sample, target, check):
    report = _sim_report(sample, target, check)
    assert report["schema_version"] == 1
    _validator("sim-report").validate(report)


def test_igoc_sim_json_prints_a_report_that_follows_the_schema(tmp_path, capsys):
    from igoc.cli.igoc import main as igoc
    from igoc.cli.sim import main as sim

    program = tmp_path / "linear.npu"
    assert igoc([str(SAMPLES / "linear.mlir"), "--target", "edge", "-o", str(program)]) == 0
    capsys.readouterr()
    assert sim([str(program), "--json", "--check"]) == 0
    _validator("sim-report").validate(json.loads(capsys.readouterr().out))
    assert sim([str(program), "--json", "--read-once-dy"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["read_once"] == ["dy"]
    _validator("sim-report").validate(report)


def _bench(*args: str) -> dict:
    from igoc.cli.bench import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        main([*args, "--json", "-", "-q"])
    return json.loads(out.getvalue())


def test_a_bench_run_with_layers_timings_and_a_failed_job_follows_the_schema(tmp_path):
    broken = tmp_path / "broken.mlir"
    broken.write_text("func.func @f(%x: tensor<4xf16>) {\n")  # fails to compile
    doc = _bench(
        "--model",
        str(SAMPLES / "mlp.mlir"),
        str(broken),
        "--target",
        "edge",
        "--pipeline",
        "baseline",
        "igo",
        "--layers",
        "--timings",
        "--cache-dir",
        str(tmp_path / "cache"),
    )
    statuses = {(run["row"], run["status"]) for run in doc["runs"]}
    assert statuses == {("mlp", "ok"), ("broken", "failed")}
    assert all(run["layers"] for run in doc["runs"] if run["status"] == "ok")
    _validator("bench").validate(doc)


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("top", lambda d: d.update(extra=1)),
        ("run", lambda d: d["per_core"][0].update(new_counter=0)),
        ("removed", lambda d: d.pop("stalls")),
        ("renamed", lambda d: d.update(dram_reads=d.pop("dram_read_bytes"))),
        ("version", lambda d: d.update(schema_version=2)),
    ],
)
def test_a_changed_report_no_longer_follows_the_schema(where, change):
    report = _sim_report("linear.mlir", "edge", False)
    changed = copy.deepcopy(report)
    change(changed)
    with pytest.raises(jsonschema.ValidationError):
        _validator("sim-report").validate(changed)
