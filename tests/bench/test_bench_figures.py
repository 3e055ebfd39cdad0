"""--figures DIR: one table per figure of the paper, its number beside igoc's, as text, CSV and
(with matplotlib) PNG; igoc's numbers agree with the main tables'; bad usage.

The runs use two small samples (a user's file runs as it is on every target, so the batch
figure's points differ only in the target's batch key) and one process.
"""

from __future__ import annotations

import csv
import json
import pathlib

import pytest

from igoc.bench import paper_values as pv
from igoc.bench import plot
from igoc.bench.regime import REGIMES
from igoc.cli.bench import main

ROOT = pathlib.Path(__file__).resolve().parents[2]
LINEAR = str(ROOT / "samples" / "basics" / "linear.mlir")
MLP = str(ROOT / "samples" / "basics" / "mlp.mlir")
FIGURES = ("steps", "models", "cores", "bandwidth", "batch", "algorithm1")


def _run(*args: str, capsys) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """``--regime paper --figures DIR`` on two samples, then the same again from the cache."""
    import contextlib
    import io

    folder = tmp_path_factory.mktemp("figures")
    cache = folder / "cache"
    common = ["--regime", "paper", "--model", LINEAR, MLP, "--cache-dir", str(cache)]
    outcomes = []
    for name in ("first", "again"):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main([*common, "--figures", str(folder / name), "--jobs", "1"])
        outcomes.append((status, out.getvalue(), err.getvalue()))
    return folder, common, outcomes


def _rows(path: pathlib.Path) -> list[dict]:
    return list(csv.DictReader(path.read_text().splitlines()))


def test_every_figure_is_written_as_text_and_csv(written):
    folder, _, ((status, out, err), _) = written
    assert status == 0, err
    names = {path.name for path in (folder / "first").iterdir()}
    for figure in (*FIGURES, "layers"):
        assert {f"{figure}.txt", f"{figure}.csv"} <= names
        assert (f"{figure}.png" in names) == plot.available()
        assert (folder / "first" / f"{figure}.txt").read_text() in out
    if plot.available():
        png = (folder / "first" / "steps.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"igoc-bench: wrote {len(names)} files to {folder / 'first'}" in err


def test_each_table_has_the_paper_s_number_beside_igoc_s(written):
    folder, _, _ = written
    expected = {
        ("steps", "+ partitioning", "edge"): "29.3",
        ("steps", "+ interleaving", "server"): "7.4",
        ("models", "avg", "edge"): "0.71",
        ("cores", "4", "server"): "23.7",
        ("cores", "2", "server"): "22.0",
        ("bandwidth", "37.5 GB/s per core", "server"): "22.7",
        ("batch", "16", "server"): "14.7",
        ("algorithm1", "per-layer oracle", "edge"): "25.1",
    }
    for figure in FIGURES:
        rows = _rows(folder / "first" / f"{figure}.csv")
        assert rows, figure
        for row in rows:
            key = (figure, row["row"], row["column"])
            if key in expected:
                assert row["paper"] == expected[key]
            assert row["igoc"] != "", key  # every job ran
            assert row["reference"] == "baseline-paper" and row["source"].startswith(pv.PAPER)
        text = (folder / "first" / f"{figure}.txt").read_text()
        assert ": paper" in text and ": igoc" in text
    assert "29.3%" in (folder / "first" / "steps.txt").read_text()
    assert "≈0.71" in (folder / "first" / "models.txt").read_text()
    models = _rows(folder / "first" / "models.csv")
    assert {row["row"] for row in models} == {"linear", "mlp", "avg"}
    assert all(row["paper"] == "" for row in models if row["row"] != "avg")  # not the paper's


def test_figures_take_the_numbers_the_main_tables_give(written, tmp_path):
    folder, common, _ = written
    cases = [
        ("steps", "+ rearrangement", "edge", ["--target", "edge"], "igo-rearrange-paper"),
        ("cores", "2", "server", ["--target", "server-2c"], "igo-paper"),
        (
            "bandwidth",
            "75 GB/s per core",
            "server",
            ["--target", "server", "--set", "dram_bandwidth_gb_per_s=75"],
            "igo-paper",
        ),
        (
            "algorithm1",
            "per-layer oracle",
            "server",
            ["--target", "server"],
            "igo-oracle-order-paper",
        ),
    ]
    for figure, row_name, column, target, pipeline in cases:
        plain = tmp_path / f"{figure}.json"
        args = [*common, *target, "--pipeline", pipeline, "-q", "--json", str(plain)]
        assert main(args) == 0
        mean = json.loads(plain.read_text())["targets"][0]["tables"]["time"]["average"][pipeline]
        (row,) = [
            r
            for r in _rows(folder / "first" / f"{figure}.csv")
            if (r["row"], r["column"]) == (row_name, column)
        ]
        assert row["pipeline"] == pipeline
        assert float(row["igoc"]) == pytest.approx((1 - mean) * 100, abs=1e-5)


def test_a_rerun_comes_from_the_cache_and_writes_the_same_bytes(written):
    folder, _, (first, again) = written
    assert again[0] == 0
    assert " 0 to run" in again[2].splitlines()[0]
    assert again[1] == first[1]
    for path in (folder / "first").iterdir():
        assert (folder / "again" / path.name).read_bytes() == path.read_bytes(), path.name


def test_the_layer_scatter_lists_every_layer(written):
    folder, _, _ = written
    rows = _rows(folder / "first" / "layers.csv")
    assert {(row["target"], row["model"]) for row in rows} == {
        (target, model) for target in ("edge", "server") for model in ("linear", "mlp")
    }
    assert all(row["bound"] in pv.LAYERS and float(row["time_ratio"]) > 0 for row in rows)
    text = (folder / "first" / "layers.txt").read_text()
    assert pv.LAYERS["compute-bound"] in text


def test_the_strong_regime_draws_the_same_figures_against_baseline(tmp_path, capsys):
    status, out, err = _run(
        *("--regime", "strong", "--model", LINEAR, "--no-cache", "-q"),
        *("--figures", str(tmp_path / "f")),
        capsys=capsys,
    )
    assert status == 0, err
    rows = _rows(tmp_path / "f" / "algorithm1.csv")
    assert {row["reference"] for row in rows} == {"baseline"}
    assert [row["pipeline"] for row in rows[::2]] == [
        REGIMES["strong"].alg1,
        REGIMES["strong"].oracle,
    ]
    assert "igoc: strong regime, against baseline" in out


def test_the_paper_s_numbers_agree_with_each_other():
    """The same result appears in several figures; the bars average to the stated mean."""
    assert pv.STEPS["server"][2] == pv.CORES[1] == pv.BANDWIDTH[150.0] == pv.BATCH[8]
    for target in ("edge", "server"):
        assert pv.ALGORITHM1[target][0] == pv.STEPS[target][1]
        bars = [value for name, value in pv.MODELS[target].items() if name != "avg"]
        assert len(bars) == 9
        assert sum(bars) / 9 == pytest.approx(pv.MODELS[target]["avg"], abs=0.01)
        assert 1 - pv.MODELS[target]["avg"] == pytest.approx(
            pv.STEPS[target][2].value / 100, abs=0.01
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "--figures needs --regime: paper"),
        (["--regime", "paper", "--target", "edge"], "--target cannot go with --figures"),
        (["--regime", "paper", "--pipeline", "igo"], "--pipeline cannot go with --figures"),
        (["--regime", "paper", "--json", "x.json"], "--json cannot go with --figures"),
        (["--regime", "paper", "--set", "batch=16"], "--figures sets key 'batch' itself"),
        (["--regime", "paper", "--batch", "16"], "--figures sets key 'batch' itself"),
        (
            ["--regime", "paper", "--set", "dram_bandwidth_gb_per_s=75"],
            "--figures sets key 'dram_bandwidth_gb_per_s' itself (the bandwidth figure)",
        ),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(capsys, tmp_path, args, message):
    folder = tmp_path / "figures"
    status, out, err = _run(
        "--figures", str(folder), *args, "--cache-dir", str(tmp_path / "c"), capsys=capsys
    )
    assert (status, out) == (2, "")
    assert err.startswith("igoc-bench: error: ") and message in err
    assert err.count("\n") == 1
    assert not any(tmp_path.iterdir())  # nothing ran, no folder made


def test_a_folder_that_cannot_be_made_is_an_input_error(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    args = ["--regime", "paper", "--model", LINEAR, "--no-cache", "--figures", str(blocker)]
    status, out, err = _run(*args, capsys=capsys)
    assert (status, out) == (1, "")
    assert "cannot make the folder of --figures" in err and err.count("\n") == 1


def test_without_matplotlib_the_tables_are_written_and_no_plot(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("igoc.bench.plot.available", lambda: False)
    args = ["--regime", "paper", "--model", LINEAR, "--no-cache", "--figures", str(tmp_path / "f")]
    status, _, err = _run(*args, capsys=capsys)
    assert status == 0, err
    names = sorted(path.name for path in (tmp_path / "f").iterdir())
    assert names == sorted(f"{f}.{ext}" for f in (*FIGURES, "layers") for ext in ("txt", "csv"))
    assert "(no .png: matplotlib is not installed; pip install matplotlib)" in err
