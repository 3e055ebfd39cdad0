"""The dY-once oracle's benchmark: what it measures is the simulator's, and it reports it."""

from __future__ import annotations

import json

import pytest

from igoc.bench import dyonce


@pytest.fixture(scope="module")
def ncf_edge(tmp_path_factory):
    """NCF on edge in the paper's regime, through the command (one process)."""
    out = tmp_path_factory.mktemp("dyonce") / "rows.json"
    argv = ["--target", "edge", "--model", "ncf", "--jobs", "1", "--json", str(out)]
    assert dyonce.main(argv) == 0
    return json.loads(out.read_text())


def test_the_oracle_reads_each_byte_of_dy_once(ncf_edge):
    (row,) = ncf_edge["rows"]
    assert ncf_edge["regime"] == "paper" and row["target"] == "edge" and row["batch"] == 4
    base, oracle = row["baseline"], row["oracle"]
    assert oracle["dy_read_bytes"] == row["dy_bytes"] <= base["dy_read_bytes"]
    assert oracle["cycles"] <= base["cycles"]
    assert row["dy_reads_per_byte"] == base["dy_read_bytes"] / row["dy_bytes"] >= 1
    assert 0 < row["dy_share_of_backward_bytes"] <= row["dy_share_of_backward_reads"] <= 1
    rereads = base["dy_read_bytes"] - oracle["dy_read_bytes"]
    assert row["dy_rereads_share_of_backward_bytes"] == rereads / base["backward_dram_bytes"]
    assert row["oracle_reduction"] == pytest.approx(1 - oracle["cycles"] / base["cycles"])
    assert row["igo_reduction"] == pytest.approx(1 - row["igo"]["cycles"] / base["cycles"])


def test_the_table_puts_the_papers_figures_beside(ncf_edge):
    text = dyonce.render(ncf_edge["rows"])
    assert "baseline-paper" in text and "igo-paper" in text
    paper = next(line for line in text.splitlines() if line.startswith("paper "))
    assert "39.0%" in paper and "51.4%" in paper and f"{100 * (1 - 1 / 1.70):.1f}%" in paper
    mean = next(line for line in text.splitlines() if line.startswith("mean"))
    row = ncf_edge["rows"][0]
    assert f"{100 * row['igo_reduction']:.1f}%" in mean  # one network: its mean is itself


def test_bad_jobs_is_usage(capsys):
    with pytest.raises(SystemExit) as stop:
        dyonce.main(["--jobs", "0"])
    assert stop.value.code == 2
    assert "--jobs" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set", "foo=1"], "unknown key 'foo'"),
        (["--set", "dram_bandwidth_gb_per_s=-1"], "must be between"),
        (["--target", "nope"], "unknown target 'nope'"),
        (["--model", "resnet"], "unknown network 'resnet'; networks: rcnn goo"),
    ],
)
def test_bad_usage_before_any_work(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        dyonce.main(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_a_setting_reaches_the_target_and_the_rows(tmp_path):
    """Any preset, networks named in any case, settings applied; two processes."""
    out = tmp_path / "rows.json"
    argv = ["--target", "server-2c", "--model", "NCF", "--set", "batch=2", "--json", str(out)]
    assert dyonce.main(argv) == 0
    document = json.loads(out.read_text())
    (row,) = document["rows"]
    assert document["settings"] == row["settings"] == {"batch": 2} and row["batch"] == 2
    assert (row["network"], row["target"]) == ("ncf", "server-2c[batch=2]")
