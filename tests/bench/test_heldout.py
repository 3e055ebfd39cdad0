"""The held-out layers: their text is valid IR, and the measurement is the simulator's."""

from __future__ import annotations

import dataclasses
import json

import pytest

from igoc.api import compile_text
from igoc.bench import heldout
from igoc.bench.workloads import target_run
from igoc.frontend import parse_text
from igoc.sim import simulate


@pytest.mark.parametrize("layer", heldout.LAYERS, ids=lambda layer: layer.name)
def test_every_layer_is_valid_ir(layer):
    module = parse_text(layer.text(4), layer.name)
    names = [op.name for op in module.walk() if op.name.startswith("grad.")]
    assert len(names) == 2 and names[0].endswith("_dx") and names[1].endswith("_dw")


def test_the_layers_have_distinct_names():
    names = [layer.name for layer in heldout.LAYERS]
    assert len(set(names)) == len(names)


def test_a_measurement_is_the_two_pipelines_simulated():
    layer = next(la for la in heldout.LAYERS if la.name == "efficientnet-b0.project")
    row = heldout.measure(layer, "edge")
    run = target_run("edge")
    text = layer.text(run.batch)
    cycles = {
        p: int(simulate(compile_text(text, run.target, p)).report["cycles"])
        for p in ("baseline", "igo")
    }
    assert (row["baseline_cycles"], row["igo_cycles"]) == (cycles["baseline"], cycles["igo"])
    assert row["reduction"] == pytest.approx(1 - cycles["igo"] / cycles["baseline"])
    assert row["batch"] == run.batch
    # the ceiling is against a lower bound: no schedule, igo's included, beats it
    bound = heldout.bound_cycles(layer, run.target, run.batch)
    assert row["ceiling"] == pytest.approx(1 - bound / cycles["baseline"])
    assert bound <= cycles["igo"] <= cycles["baseline"]


def _small_array(cores: int = 1):
    edge = target_run("edge").target
    return dataclasses.replace(edge, array_rows=4, array_cols=4, cores=cores)


def test_the_bound_of_a_matmul_layer_by_hand():
    # m = 2 x 3 = 6 rows, k = 6, n = 5, on a 4x4 output-stationary array, pipelined:
    # dX (6x5 . 5x6): 2x2 folds of 5 + skew (1 + 1) + 4 = 26;
    # dW (6x6 . 6x5): 2x2 folds of 6 + skew (1 + 0) + 4 = 29.
    target = _small_array()
    assert (target.dataflow, target.array_timing) == ("os", "pipelined")
    layer = heldout.Layer("t", k=6, n=5, rows=3)
    data = (2 * 36 + 2 * 30 + 30) * 2 / target.dram_bytes_per_cycle
    assert data < 55
    assert heldout.bound_cycles(layer, target, 2) == 55


def test_the_bound_of_a_grouped_convolution_by_hand():
    # 2 groups of one channel, 3x3 kernel on a 3x3 map padded to keep it: per group
    # m = 9, k = 9, n = 1; dX (9x1 . 1x9): 3x3 folds of 1 cycle, the last using PE (0, 0)
    # only, which ends at 9; PE (0, 3), idle in every third column fold, ends its eighth fold
    # at 0 + 3 + 8 = 11; + 4 = 15. dW (9x9 . 9x1): 3 folds of 9, the last fold's PE ends
    # last: 27 + 4 = 31. 46 per group, 92 for both, half of it on each of two cores.
    layer = heldout.Layer("c", 2, 2, size=(3, 3), kernel=(3, 3), padding=(1, 1), groups=2)
    assert heldout.bound_cycles(layer, _small_array(), 1) == 92
    assert heldout.bound_cycles(layer, _small_array(cores=2), 1) == 46


def test_the_bound_is_the_link_when_data_dominates():
    # a 4096 x 4096 fully connected layer at batch 1 on edge's 45x45 array: well under
    # 10^6 array cycles, but 2 x 4096^2 weight elements to read and write back
    layer = heldout.Layer("wide", k=4096, n=4096)
    target = target_run("edge").target
    compulsory = (2 * 4096 + 2 * 4096 * 4096 + 4096) * 2
    assert compulsory / target.dram_bytes_per_cycle > 10**6
    assert heldout.bound_cycles(layer, target, 1) == compulsory / target.dram_bytes_per_cycle


def test_the_mean_is_per_target():
    rows = [
        {"layer": "a", "target": "edge", "reduction": 0.1},
        {"layer": "b", "target": "edge", "reduction": 0.3},
        {"layer": "a", "target": "server", "reduction": 0.0},
    ]
    assert heldout.summarise(rows) == pytest.approx({"edge": 0.2, "server": 0.0})
    table = heldout.render(rows)
    assert table.splitlines()[-1].split() == ["mean", "20.0%", "0.0%"]
    assert "        -" in table.splitlines()[2]  # b was not measured on server


def test_the_table_gives_the_ceiling_beside_the_reduction():
    rows = [
        {"layer": "a", "target": "edge", "reduction": 0.1, "ceiling": 0.5},
        {"layer": "b", "target": "edge", "reduction": 0.3, "ceiling": 0.3},
    ]
    assert heldout.summarise(rows, "ceiling") == pytest.approx({"edge": 0.4})
    lines = heldout.render(rows).splitlines()
    assert lines[1].split() == ["a", "10.0%", "50.0%"]
    assert lines[-1].split() == ["mean", "20.0%", "40.0%"]


def test_the_command_writes_its_table_and_json(tmp_path, capsys):
    out = tmp_path / "heldout.json"
    argv = ["--target", "edge", "--layer", "efficientnet-b0.project", "--json", str(out)]
    assert heldout.main(argv) == 0
    document = json.loads(out.read_text())
    assert [row["layer"] for row in document["layers"]] == ["efficientnet-b0.project"]
    assert set(document["mean_reduction"]) == set(document["mean_ceiling"]) == {"edge"}
    assert "efficientnet-b0.project" in capsys.readouterr().out


def test_an_unknown_layer_is_bad_usage():
    with pytest.raises(SystemExit) as exit_:
        heldout.main(["--layer", "no-such-layer"])
    assert exit_.value.code == 2


def test_an_output_that_cannot_be_written_fails_before_any_measurement(
    tmp_path, monkeypatch, capsys
):
    def measure(layer, target):
        raise AssertionError("measured before the output was checked")

    monkeypatch.setattr(heldout, "measure", measure)
    missing = tmp_path / "missing" / "rows.json"
    assert heldout.main(["--target", "edge", "--layer", "vgg16.fc7", "--json", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write") and "does not exist" in err
    assert not missing.parent.exists()


def test_json_on_standard_output_moves_the_table_to_standard_error(monkeypatch, capsys):
    def measure(layer, target):
        return {"layer": layer.name, "target": target, "reduction": 0.25, "ceiling": 0.5}

    monkeypatch.setattr(heldout, "measure", measure)
    assert heldout.main(["--target", "edge", "--layer", "vgg16.fc7", "--json", "-"]) == 0
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert document["mean_reduction"] == {"edge": 0.25}
    assert document["layers"][0]["layer"] == "vgg16.fc7"
    assert "25.0%" in err and "mean" in err
