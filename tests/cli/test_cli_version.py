"""Every command says its version; ``python -m igoc`` is the compiler."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from igoc import __version__
from igoc.bench import heldout
from igoc.cli import asm, bench, importer, objdump, opt, sim
from igoc.cli import igoc as igoc_cli

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMMANDS = {
    "igoc": igoc_cli.main,
    "igoc-opt": opt.main,
    "igoc-sim": sim.main,
    "igoc-objdump": objdump.main,
    "igoc-as": asm.main,
    "igoc-bench": bench.main,
    "igoc-import": importer.main,
    "python -m igoc.bench.heldout": heldout.main,
}


@pytest.mark.parametrize("name", COMMANDS)
def test_version(name, capsys):
    with pytest.raises(SystemExit) as info:
        COMMANDS[name](["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"{name} {__version__}\n"


def test_python_m_igoc_compiles(tmp_path):
    out = tmp_path / "linear.npu"
    sample = ROOT / "samples" / "basics" / "linear.mlir"
    run = subprocess.run(
        [sys.executable, "-m", "igoc", str(sample), "--target", "edge", "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert out.read_bytes().startswith(b"IGOCNPU\0")
    version = subprocess.run([sys.executable, "-m", "igoc", "--version"], capture_output=True)
    assert version.stdout.decode() == f"igoc {__version__}\n"
