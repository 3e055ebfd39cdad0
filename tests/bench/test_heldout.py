"""The held-out layers: their text is valid IR, and the measurement is the simulator's."""

from __future__ import annotations

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


def test_the_command_writes_its_table_and_json(tmp_path, capsys):
    out = tmp_path / "heldout.json"
    argv = ["--target", "edge", "--layer", "efficientnet-b0.project", "--json", str(out)]
    assert heldout.main(argv) == 0
    document = json.loads(out.read_text())
    assert [row["layer"] for row in document["layers"]] == ["efficientnet-b0.project"]
    assert set(document["mean_reduction"]) == {"edge"}
    assert "efficientnet-b0.project" in capsys.readouterr().out


def test_an_unknown_layer_is_bad_usage():
    with pytest.raises(SystemExit) as exit_:
        heldout.main(["--layer", "no-such-layer"])
    assert exit_.value.code == 2
