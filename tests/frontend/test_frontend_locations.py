"""Source locations: read as mlir-opt --mlir-print-debuginfo prints them, printed on request."""

from __future__ import annotations

import pathlib
import re

import pytest

from igoc.frontend import DiagnosticError, parse_file, parse_text, print_module

ROOT = pathlib.Path(__file__).resolve().parents[2]

DATA = pathlib.Path(__file__).resolve().parent / "locations"
PLAIN = (DATA / "plain.mlir").read_text()
WITH_LOCATIONS = (DATA / "debuginfo.mlir").read_text()


def test_locations_as_mlir_opt_prints_them_are_read_and_skipped():
    assert parse_text(WITH_LOCATIONS).is_structurally_equivalent(parse_text(PLAIN))


def test_line_numbers_after_a_location_spanning_lines_stay_right():
    text = WITH_LOCATIONS.replace("#loc5 = loc(\n", "#loc5 = loc(\n\n") + "oops\n"
    with pytest.raises(DiagnosticError) as caught:
        parse_text(text, "f.mlir")
    assert caught.value.location == ("f.mlir", text.count("\n"), 1)


@pytest.mark.parametrize("generic", [False, True])
def test_printed_locations_name_the_source_and_read_back(generic):
    path = ROOT / "samples" / "basics" / "mlp.mlir"
    module = parse_file(str(path))
    text = print_module(module, generic=generic, debuginfo=True)
    source_lines = path.read_text().splitlines()
    found = re.findall(r'loc\("([^"]+)":(\d+):(\d+)\)', text)
    assert found
    for name, line, column in found:
        assert name == str(path)
        assert source_lines[int(line) - 1][int(column) - 1 :].lstrip()  # points at text
    ops = [op for op in module.walk() if op.name.startswith("grad.")]
    assert len([f for f in found if f]) >= len(ops)
    assert parse_text(text).is_structurally_equivalent(module)
    assert "loc(" not in print_module(module, generic=generic)


def test_igoc_opt_prints_locations_when_asked(capsys):
    from igoc.cli.opt import main

    assert main([str(ROOT / "samples" / "basics" / "linear.mlir"), "--mlir-print-debuginfo"]) == 0
    assert 'loc("' in capsys.readouterr().out
