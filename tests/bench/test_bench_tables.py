"""Tables, JSON and CSV from hand-made result records, whose ratios are worked out by hand."""

from __future__ import annotations

import csv
import io
import json

import pytest

from igoc.bench import export
from igoc.bench.layers import render_layers
from igoc.bench.tables import (
    METRICS,
    Bench,
    Row,
    TargetResults,
    averages,
    describe_target,
    ratio,
    render_tables,
)
from igoc.bench.workloads import Workload, target_run

PIPELINES = ["baseline", "igo"]


def _ok(cycles: int, dram: int, backward_cycles: int, backward_dram: int) -> dict:
    return {
        "status": "ok",
        "cycles": cycles,
        "seconds": cycles / 1e9,
        "macs": 1000,
        "instructions": 10,
        "utilization": 0.5,
        "dram_read_bytes": dram // 2,
        "dram_write_bytes": dram - dram // 2,
        "forward_cycles": cycles - backward_cycles,
        "backward_cycles": backward_cycles,
        "forward_dram_bytes": dram - backward_dram,
        "backward_dram_bytes": backward_dram,
        "layers": [
            {
                "name": "fc",
                "ops": [
                    {
                        "label": "y",
                        "kind": "forward",
                        "cores": 1,
                        "schedule": {"order": "ijl", "partition": {"dim": "none", "parts": 1}},
                    },
                    {
                        "label": "dx+dw",
                        "kind": "backward",
                        "cores": 1,
                        "schedule": {"order": "dW-major", "partition": {"dim": "k", "parts": 2}},
                    },
                ],
                "cycles": cycles,
                "macs": 1000,
                "compute_bound_cycles": 10,
                "data_bound_cycles": 40,
                "compulsory_bytes": 400,
                "dram_read_bytes": dram // 2,
                "dram_write_bytes": dram - dram // 2,
                "traffic": {"dy": {"read": 2000, "write": 0}, "dw": {"read": 0, "write": 500}},
            }
        ],
        "timing": {"compile_s": 1.5, "simulate_s": 0.25, "peak_rss_bytes": 10**8},
    }


FAILED = {"status": "failed", "stage": "compile", "error": "too big", "timing": {}}


def _row(name: str, results: dict) -> Row:
    return Row(Workload(name, name, 4, f"{name}-b4.mlir", ""), results)


def _bench() -> Bench:
    rows = [
        _row("a", {"baseline": _ok(100, 1000, 60, 800), "igo": _ok(50, 500, 30, 300)}),
        _row("b", {"baseline": _ok(200, 2000, 100, 1000), "igo": _ok(150, 1000, 90, 900)}),
        _row("c", {"baseline": _ok(100, 1000, 50, 500), "igo": FAILED}),
    ]
    return Bench(PIPELINES, "baseline", [TargetResults(target_run("edge"), rows)])


def test_ratios_and_averages():
    bench = _bench()
    target = bench.targets[0]
    time, dram, backward_time, backward_dram = METRICS
    assert ratio(target.rows[0], time, "igo", "baseline") == 0.5
    assert ratio(target.rows[1], time, "igo", "baseline") == 0.75
    assert ratio(target.rows[2], time, "igo", "baseline") is None
    assert ratio(target.rows[2], time, "baseline", "baseline") == 1.0
    means, count = averages(target, time, PIPELINES, "baseline")
    assert count == 2  # c failed under igo: left out of every column's mean
    assert means == {"baseline": 1.0, "igo": 0.625}
    assert averages(target, dram, PIPELINES, "baseline")[0]["igo"] == 0.5
    assert averages(target, backward_time, PIPELINES, "baseline")[0]["igo"] == (0.5 + 0.9) / 2
    assert averages(target, backward_dram, PIPELINES, "baseline")[0]["igo"] == (0.375 + 0.9) / 2


def test_text_tables():
    text = render_tables(_bench())
    header, target = text.split("\n\n")[:2]
    assert header.startswith("Regime: strong (")
    assert header.splitlines()[1] == "Reference pipeline: baseline (every ratio is against it)"
    assert target.startswith("== edge: 1 core of 45x45 PEs at 1000 MHz")
    time_table = text.split("\n\n")[2].splitlines()
    assert time_table[0] == "Execution time, forward + backward, normalised to baseline"
    assert time_table[1].split() == ["network", "model", "baseline", "[ms]", "igo"]
    assert time_table[2].split() == ["a", "a", "0.0001", "0.500"]
    assert time_table[4].split() == ["c", "c", "0.0001", "failed"]
    assert time_table[5].split() == ["average", "0.625"]
    assert time_table[6].split() == ["reduction", "37.5%"]
    assert "over 2 of 3 models" in time_table[7]
    assert "1 job(s) failed:\n  c-b4.mlir on edge, igo (compile): too big" in text
    assert text == render_tables(_bench())


def test_the_header_names_the_regime_and_its_reference():
    rows = _bench().targets[0].rows
    results = [
        {"baseline-paper": r.results["baseline"], "igo-paper": r.results["igo"]} for r in rows
    ]
    target = TargetResults(
        target_run("edge"), [_row(n, r) for n, r in zip("abc", results, strict=True)]
    )
    bench = Bench(["baseline-paper", "igo-paper"], "baseline-paper", [target], regime="paper")
    text = render_tables(bench)
    assert text.startswith("Regime: paper (the paper's baseline: analytic tile sizes")
    assert "Reference pipeline: baseline-paper (every ratio" in text
    assert "normalised to baseline-paper" in text
    assert "reduction of execution time (forward + backward) against baseline-paper" in text
    doc = json.loads(export.to_json(bench, "igoc 0.0"))
    assert (doc["regime"], doc["reference_pipeline"]) == ("paper", "baseline-paper")
    assert doc["targets"][0]["tables"]["time"]["average"]["igo-paper"] == 0.625


def test_layer_detail():
    text = render_layers(_bench())
    lines = text.splitlines()
    assert lines[0] == "-- a-b4.mlir on edge: per layer"
    first = lines[2].split()
    assert first[:4] == ["fc", "baseline", "dx+dw:dW-major", "k/2"]
    assert first[4:9] == ["100", "40", "data", "2.50", "1.0"]
    assert first[9:] == ["dy=2.0r", "dw=0.5w"]
    # c has no igo run: only its baseline row.
    c_block = text.split("-- c-b4.mlir on edge: per layer\n")[1].splitlines()
    assert [line.split()[1] for line in c_block[1:] if line] == ["baseline"]


def test_json_document():
    doc = json.loads(export.to_json(_bench(), "igoc 0.0", layers=True, timings=True))
    assert doc["schema_version"] == export.SCHEMA_VERSION == 1
    assert (doc["regime"], doc["reference_pipeline"]) == ("strong", "baseline")
    (target,) = doc["targets"]
    assert target["tables"]["time"]["average"] == {"baseline": 1.0, "igo": 0.625}
    assert target["tables"]["time"]["reference"]["b"] == 200 / 1e9 * 1e3  # ms at 1 GHz
    assert target["tables"]["dram"]["reference"]["b"] == 2000 / 1e6  # MB
    runs = doc["runs"]
    assert [(r["row"], r["pipeline"]) for r in runs] == [
        (row, p) for row in "abc" for p in PIPELINES
    ]
    failed = runs[-1]
    assert failed["status"] == "failed" and failed["error"] == "too big"
    assert failed["cycles"] is None and failed["normalised"]["time"] is None
    assert failed["layers"] == [] and failed["timing"]["compile_s"] is None
    assert runs[0]["layers"][0]["name"] == "fc"
    assert runs[0]["timing"] == {"compile_s": 1.5, "simulate_s": 0.25, "peak_rss_bytes": 10**8}


def test_json_leaves_out_measurements_unless_asked():
    doc = json.loads(export.to_json(_bench(), "igoc 0.0"))
    assert all("timing" not in run and "layers" not in run for run in doc["runs"])


def test_csv_rows():
    rows = list(csv.DictReader(io.StringIO(export.to_csv(_bench()))))
    assert len(rows) == 6
    assert list(rows[0]) == list(export.CSV_COLUMNS)
    assert rows[1]["pipeline"] == "igo" and float(rows[1]["time_ratio"]) == 0.5
    assert rows[5]["status"] == "failed" and rows[5]["cycles"] == "" and rows[5]["error"]


def test_plot_is_a_png_and_reproducible(tmp_path):
    pytest.importorskip("matplotlib")
    from igoc.bench.plot import write_plot

    first, second = tmp_path / "a.png", tmp_path / "b.png"
    write_plot(_bench(), str(first))
    write_plot(_bench(), str(second))
    assert first.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert first.read_bytes() == second.read_bytes()


def test_a_job_not_run_is_not_called_failed():
    not_run = {"status": "failed", "stage": "not run", "error": "not in the cache"}
    rows = [_row("a", {"baseline": _ok(100, 1000, 60, 800), "igo": not_run})]
    bench = Bench(PIPELINES, "baseline", [TargetResults(target_run("edge"), rows)])
    line = render_tables(bench).split("\n\n")[2].splitlines()[2]
    assert line.split()[-2:] == ["not", "run"]


def test_the_header_says_the_targets_batch_only_for_the_models_it_chose():
    run = target_run("edge", [("batch", 2)])
    zoo = Workload("ncf", "ncf", 2, "ncf-b2.mlir", "")
    own = Workload("mlp", "mlp", None, "mlp.mlir", "")  # a user's file: its batch is its own
    assert "; batch 2; " in describe_target(run, [zoo])
    assert "; batch 2 (a .mlir file: its own); " in describe_target(run, [zoo, own])
    assert "; batch as in the model file; " in describe_target(run, [own])
    assert "; batch as in the model files; " in describe_target(run, [own, own])
