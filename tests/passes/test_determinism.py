"""The same input and flags give byte-identical programs and IR, in any process."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "basics" / "train-step.mlir"


def _compile(out: pathlib.Path, target: str, seed: str, *flags: str) -> bytes:
    env = dict(os.environ, PYTHONHASHSEED=seed)
    command = [sys.executable, "-m", "igoc.cli.igoc", str(SAMPLE), "--target", target, *flags]
    subprocess.run([*command, "-o", str(out)], check=True, env=env, capture_output=True)
    return out.read_bytes()


@pytest.mark.parametrize("target", ["edge", "server-4c"])
def test_compiling_twice_gives_identical_bytes(tmp_path: pathlib.Path, target: str) -> None:
    first = _compile(tmp_path / "a.npu", target, "1")
    second = _compile(tmp_path / "b.npu", target, "2")
    assert first == second
    assert len(first) > 100


def test_the_ir_of_every_stage_is_identical(tmp_path: pathlib.Path) -> None:
    first = _compile(tmp_path / "a.mlir", "server-2c", "3", "--emit=npu")
    second = _compile(tmp_path / "b.mlir", "server-2c", "4", "--emit=npu")
    assert first == second
    assert b"npu.program" in first
