"""--regime: the reference pipeline and the default pipelines of each regime, in plans, tables
and JSON; igoc-bench's own pipelines carry their spec."""

from __future__ import annotations

import json
import pathlib

import pytest

from igoc.bench.plan import pipelines_of, plan
from igoc.bench.regime import REGIMES, bench_pipelines
from igoc.cli.bench import main
from igoc.pipeline import PIPELINES

ROOT = pathlib.Path(__file__).resolve().parents[2]
LINEAR = str(ROOT / "samples" / "basics" / "linear.mlir")


def test_each_regime_names_pipelines_that_exist():
    known = set(PIPELINES) | set(bench_pipelines())
    for regime in REGIMES.values():
        assert {*regime.pipelines, regime.alg1, regime.oracle} <= known
        assert regime.pipelines[0] == regime.reference and regime.igo == regime.steps[-1]
    paper = REGIMES["paper"]
    assert paper.pipelines == (
        "baseline-paper",
        "igo-interleave-paper",
        "igo-rearrange-paper",
        "igo-paper",
    )
    assert REGIMES["strong"].pipelines == ("baseline", "igo-interleave", "igo-rearrange", "igo")


@pytest.mark.parametrize("regime", ["strong", "paper"])
def test_the_regime_chooses_the_reference_and_the_default_pipelines(regime):
    planned = plan(targets=["edge"], models=[LINEAR], regime=regime)
    assert planned.pipelines == list(REGIMES[regime].pipelines)
    assert planned.reference == REGIMES[regime].reference
    assert [job.pipeline for job in planned.jobs] == planned.pipelines
    bench = planned.bench([{"status": "failed", "error": "x"}] * len(planned.jobs))
    assert (bench.regime, bench.reference) == (regime, REGIMES[regime].reference)


def test_chosen_pipelines_run_beside_the_regime_s_reference():
    assert pipelines_of(["igo-alg1-paper"], "paper") == ["baseline-paper", "igo-alg1-paper"]
    assert pipelines_of(["igo", "baseline"], "strong") == ["baseline", "igo"]
    assert pipelines_of(["baseline"], "paper") == ["baseline-paper", "baseline"]
    assert pipelines_of(None, "paper", reference="baseline-window") == [
        "baseline-window",
        *REGIMES["paper"].pipelines,
    ]


def test_the_order_oracle_carries_its_spec_on_the_paper_footing():
    jobs = plan(targets=["edge"], models=[LINEAR], pipelines=["igo-oracle-order-paper"]).jobs
    spec = jobs[1].pass_pipeline
    assert jobs[1].pipeline == "igo-oracle-order-paper"
    assert "tile{tiler=analytic reuse=window}" in spec
    assert "select-order{policy=paper-oracle}" in spec and "partition{policy=m}" in spec
    assert jobs[0].pass_pipeline is None  # a named pipeline of the compiler runs as it is
    materialized = plan(
        targets=["edge"], models=[LINEAR], pipelines=["igo-oracle-order"], im2col="materialize"
    ).jobs[1]
    assert materialized.pass_pipeline.startswith("conv-to-gemm{im2col=materialize},")


def test_paper_regime_end_to_end_json_and_header(tmp_path, capsys):
    import jsonschema

    from igoc.schemas import load_schema

    out = tmp_path / "paper.json"
    args = ["--regime", "paper", "--model", LINEAR, "--target", "edge", "-q"]
    status = main([*args, "--cache-dir", str(tmp_path / "c"), "--json", str(out)])
    text = capsys.readouterr().out
    assert status == 0
    assert text.startswith("Regime: paper (the paper's baseline")
    assert "Reference pipeline: baseline-paper" in text.splitlines()[1]
    assert "against baseline-paper" in text
    doc = json.loads(out.read_text())
    jsonschema.Draft202012Validator(load_schema("bench")).validate(doc)
    assert doc["regime"] == "paper" and doc["reference_pipeline"] == "baseline-paper"
    assert doc["pipelines"] == list(REGIMES["paper"].pipelines)
    runs = {run["pipeline"]: run for run in doc["runs"]}
    assert runs["baseline-paper"]["normalised"]["time"] == 1.0
    assert runs["igo-paper"]["normalised"]["time"] == pytest.approx(
        runs["igo-paper"]["cycles"] / runs["baseline-paper"]["cycles"]
    )


def test_an_unknown_regime_is_bad_usage(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--regime", "fast"])
    assert stop.value.code == 2
    assert "invalid choice: 'fast'" in capsys.readouterr().err


def test_a_single_name_may_be_given_as_a_string():
    one = plan(targets="edge", models="ncf", pipelines="igo")
    assert one == plan(targets=["edge"], models=["ncf"], pipelines=["igo"])
    assert {job.target_name for job in one.jobs} == {"edge"}


def test_two_models_of_one_name_are_bad_usage(tmp_path):
    """Two files of one stem (or a file named as a network) would share a row; a model
    named twice is one model."""
    from igoc.bench.workloads import BenchUsageError

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "net.mlir").write_text("")
    first, second = str(tmp_path / "a" / "net.mlir"), str(tmp_path / "b" / "net.mlir")
    with pytest.raises(BenchUsageError, match=f"models '{first}' and '{second}' are both named"):
        plan(targets="edge", models=[first, second])
    (tmp_path / "ncf.mlir").write_text("")
    with pytest.raises(BenchUsageError, match="are both named 'ncf'"):
        plan(targets="edge", models=["ncf", str(tmp_path / "ncf.mlir")])
    assert plan(targets="edge", models=["ncf", "ncf"]) == plan(targets="edge", models="ncf")
