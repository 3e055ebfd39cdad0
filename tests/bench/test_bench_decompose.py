"""--decompose: each step of the ladder measured against its own reference, its own settings
applied; a step whose key the targets lack cannot run and says so; one cached run.

Most tests replace the job runner with one whose cycles are set by hand (per pipeline, model
and partial-sum width), so each row's reduction is known without running the compiler; one
runs the first three steps for real on the samples and checks them against the main tables.
"""

from __future__ import annotations

import json
import pathlib

import pytest

from igoc.bench import decompose
from igoc.bench.decompose import LADDER, Step
from igoc.bench.plan import valid_pipelines
from igoc.bench.regime import REGIMES
from igoc.cli.bench import main
from igoc.pipeline import PIPELINES

ROOT = pathlib.Path(__file__).resolve().parents[2]
LINEAR = str(ROOT / "samples" / "basics" / "linear.mlir")
MLP = str(ROOT / "samples" / "basics" / "mlp.mlir")

# Cycles per pipeline for (linear, mlp) with 2-byte partial sums; 4-byte ones double the
# references' and leave the others as they are.
CYCLES = {
    "baseline-paper": (1000, 1000),
    "igo-paper": (700, 800),  # ratios .7 and .8: 25% reduction
    "baseline-window": (1000, 2000),
    "igo-window": (900, 1800),  # 10%
    "baseline": (1000, 1000),
    "igo": (950, 950),  # 5%; with psum_bytes=4: 950 / 2000 = .475, 52.5%
}

TOY_LADDER = (
    Step("start", "baseline-paper", "igo-paper"),
    Step("second", "baseline-window", "igo-window"),
    Step("wider partial sums", "baseline", "igo", ("psum_bytes=4",)),
    Step("a key from the future", "baseline", "igo", ("no_such_key=1",)),
    Step("out of range", "baseline-paper", "igo-paper", ("cores=0",), ablation=True),
)


@pytest.fixture
def toy(monkeypatch):
    """The toy ladder, run by a job runner that records each job and sets its cycles by hand."""
    ran = []

    def fake(job, session=None):
        wide = "psum_bytes = 4" in job.target_toml
        cycles = CYCLES[job.pipeline][0 if job.row == "linear" else 1]
        if wide and job.pipeline.startswith("baseline"):
            cycles *= 2
        ran.append((job.pipeline, job.target_name, job.row))
        return {"status": "ok", "cycles": cycles, "timing": {}}

    monkeypatch.setattr("igoc.bench.runner.run_job", fake)
    monkeypatch.setattr(decompose, "LADDER", TOY_LADDER)
    return ran


def _run(capsys, *args):
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_each_row_is_against_its_own_reference_with_its_own_settings(toy, capsys, tmp_path):
    out_json = tmp_path / "d.json"
    args = ["--decompose", "--model", LINEAR, MLP, "--target", "edge", "server", "--no-cache"]
    status, out, err = _run(capsys, *args, "--json", str(out_json))
    assert status == 1  # two steps cannot run
    rows = {line.split()[0]: line for line in out.splitlines() if line[:1].isdigit()}
    assert rows["1"].split()[-2:] == ["25.0%", "25.0%"]
    assert rows["2"].split()[-2:] == ["10.0%", "10.0%"]
    assert rows["3"].split()[-2:] == ["52.5%", "52.5%"]
    assert rows["4"].split()[-2:] == ["n/a", "n/a"]
    ablation = next(line for line in out.splitlines() if line.startswith("ablation"))
    assert ablation.split()[-2:] == ["n/a", "n/a"]
    assert "  3: baseline vs igo, --set psum_bytes=4" in out
    assert "ratios over the 2 models of each target; reduction" in out
    assert "step 4 (--set no_such_key=1) cannot run: this igoc's targets have no key " in err
    assert "'no_such_key'" in err
    assert "the ablation (--set cores=0) cannot run:" in err and "key 'cores'" in err
    # The references ran for their own steps, with the step's settings, and nothing else ran.
    assert sorted({pipeline for pipeline, _, _ in toy}) == sorted(CYCLES)
    assert {target for p, target, _ in toy if p == "baseline"} == {
        "edge[psum_bytes=4]",
        "server[psum_bytes=4]",
    }
    assert len(toy) == 3 * 2 * 2 * 2  # steps x pipelines x targets x models
    doc = json.loads(out_json.read_text())
    steps = {step["step"]: step for step in doc["steps"]}
    assert doc["columns"] == ["edge", "server"]
    assert steps["1"]["reduction"]["edge"] == pytest.approx(0.25)
    assert steps["1"]["time_ratio"]["server"] == {"linear": 0.7, "mlp": 0.8}
    assert steps["3"]["reduction"]["server"] == pytest.approx(0.525)
    assert steps["3"]["target_runs"] == {
        "edge": "edge[psum_bytes=4]",
        "server": "server[psum_bytes=4]",
    }
    assert steps["4"]["status"] == "unavailable" and "no_such_key" in steps["4"]["error"]
    assert steps["4"]["reduction"] == {"edge": None, "server": None}
    assert steps["ablation"]["ablation"] is True and steps["ablation"]["status"] == "unavailable"


def test_the_json_follows_the_schema_igoc_ships(toy, capsys):
    import jsonschema

    from igoc.schemas import load_schema

    args = ["--decompose", "--model", LINEAR, "--target", "edge", "--no-cache", "-q"]
    status, out, _ = _run(capsys, *args, "--json", "-")
    assert status == 1
    doc = json.loads(out)  # only the JSON on standard output
    jsonschema.Draft202012Validator(load_schema("bench-decompose")).validate(doc)
    assert [step["status"] for step in doc["steps"]] == [
        "ok",
        "ok",
        "ok",
        "unavailable",
        "unavailable",
    ]


def test_a_failed_job_fails_its_cell_and_the_run(toy, capsys, monkeypatch):
    def failing(job, session=None):
        if job.pipeline == "igo-window":
            return {"status": "failed", "stage": "compile", "error": "too big", "timing": {}}
        return {"status": "ok", "cycles": 100, "timing": {}}

    monkeypatch.setattr("igoc.bench.runner.run_job", failing)
    monkeypatch.setattr(decompose, "LADDER", TOY_LADDER[:2])
    status, out, _ = _run(
        capsys, "--decompose", "--model", LINEAR, "--target", "edge", "--no-cache"
    )
    assert status == 1
    rows = {line.split()[0]: line for line in out.splitlines() if line[:1].isdigit()}
    assert rows["1"].split()[-1] == "0.0%" and rows["2"].split()[-1] == "failed"
    assert "step 2: linear.mlir on edge, igo-window (compile): too big" in out


def test_the_ladder_goes_from_the_paper_regime_to_the_strong_one():
    paper, strong = REGIMES["paper"], REGIMES["strong"]
    steps = [step for step in LADDER if not step.ablation]
    assert (steps[0].reference, steps[0].pipeline, steps[0].settings) == (
        paper.reference,
        paper.igo,
        (),
    )
    assert (steps[2].reference, steps[2].pipeline) == (strong.reference, strong.igo)
    assert [step.settings for step in steps] == [(), (), (), ("array_timing=scalesim",)]
    ablations = [step for step in LADDER if step.ablation]
    assert [step.settings for step in ablations] == [("overlap=serial",), ()]
    # the paper's footing but for the reuse: its tiler, nothing kept from step to step
    no_reuse = ablations[1]
    assert [PIPELINES[no_reuse.reference], PIPELINES[no_reuse.pipeline]] == [
        PIPELINES[name].replace("reuse=window", "reuse=none")
        for name in (paper.reference, paper.igo)
    ]
    known = valid_pipelines()
    assert all(step.reference in known and step.pipeline in known for step in LADDER)


def test_the_first_steps_agree_with_the_main_tables_and_rerun_from_the_cache(
    capsys, tmp_path, monkeypatch
):
    """For real: steps 1 to 3 on two samples, against plain runs of each regime."""
    monkeypatch.setattr(decompose, "LADDER", LADDER[:3])
    cache = ["--cache-dir", str(tmp_path / "cache"), "--jobs", "1"]
    common = ["--model", LINEAR, MLP, "--target", "edge", *cache]
    status, first, err = _run(capsys, "--decompose", *common, "--json", str(tmp_path / "d.json"))
    assert status == 0, err
    assert "12 jobs, 0 from the cache, 12 to run" in err
    steps = json.loads((tmp_path / "d.json").read_text())["steps"]
    for regime, step in (("paper", steps[0]), ("strong", steps[2])):
        plain = tmp_path / f"{regime}.json"
        args = ["--regime", regime, "--pipeline", REGIMES[regime].igo, "-q"]
        assert main([*args, *common, "--json", str(plain)]) == 0
        table = json.loads(plain.read_text())["targets"][0]["tables"]["time"]
        reduction = 1 - table["average"][REGIMES[regime].igo]
        assert step["reduction"]["edge"] == pytest.approx(reduction, abs=1e-12)
    capsys.readouterr()
    status, again, err = _run(capsys, "--decompose", *common)
    assert status == 0
    assert "12 jobs, 12 from the cache, 0 to run" in err
    assert again == first


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--regime", "paper"], "--decompose runs from the paper's regime to the strong one"),
        (["--pipeline", "igo"], "--pipeline cannot go with --decompose"),
        (["--sweep", "batch=4,8"], "--sweep cannot go with --decompose"),
        (["--csv", "x.csv"], "--csv cannot go with --decompose"),
        (["--figures", "d", "--regime", "paper"], "--decompose and --figures are two runs"),
        (["--set", "vector_units=4"], "--set vector_units=4: unknown key 'vector_units'"),
        (
            ["--set", "array_timing=scalesim"],
            "has array_timing = 'scalesim', which step 4 ('pipelined -> SCALE-Sim fold timing')",
        ),
        (["--set", "overlap=serial"], "which step ablation ('paper regime, double-buffered"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(capsys, tmp_path, args, message):
    status, out, err = _run(capsys, "--decompose", *args, "--cache-dir", str(tmp_path))
    assert (status, out) == (2, "")
    assert err.startswith("igoc-bench: error: ") and message in err
    assert err.count("\n") == 1
    assert not any(tmp_path.iterdir())
