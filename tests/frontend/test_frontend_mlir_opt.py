"""The generic form is MLIR: a real mlir-opt reads it, and igoc reads mlir-opt's output back.

Runs only where an mlir-opt is installed (Debian: ``apt-get install mlir-19-tools``).
"""

import pathlib
import shutil
import subprocess

import pytest

from igoc.dialects.npu import stamp_target
from igoc.frontend import parse_file, parse_text, print_module
from igoc.target import load_target

ROOT = pathlib.Path(__file__).resolve().parents[2]
MLIR_OPT = shutil.which("mlir-opt") or shutil.which("mlir-opt-19")
FILES = sorted((ROOT / "samples" / "basics").glob("*.mlir")) + [
    ROOT / "tests" / "filecheck" / "dialects" / "grad.mlir",
    ROOT / "tests" / "filecheck" / "frontend" / "syntax.mlir",
]

pytestmark = pytest.mark.skipif(MLIR_OPT is None, reason="no mlir-opt installed")


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_mlir_opt_reads_the_generic_form_and_igoc_reads_it_back(path):
    module = parse_file(str(path))
    stamp_target(module, load_target("edge"))
    run = subprocess.run(
        [MLIR_OPT, "--allow-unregistered-dialect", "--mlir-print-op-generic", "-"],
        input=print_module(module, generic=True),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert parse_text(run.stdout).is_structurally_equivalent(module)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_igoc_reads_what_mlir_opt_prints_with_debuginfo(path):
    module = parse_file(str(path))
    generic = print_module(module, generic=True, debuginfo=True)
    for extra in ([], ["--mlir-print-op-generic"]):
        run = subprocess.run(
            [MLIR_OPT, "--allow-unregistered-dialect", "--mlir-print-debuginfo", *extra, "-"],
            input=generic,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr
        assert "loc(" in run.stdout
        assert parse_text(run.stdout).is_structurally_equivalent(module)
