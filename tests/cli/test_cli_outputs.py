"""Every command writes every kind of output by one set of rules (``igoc.output``).

For each output a command makes: a new file gets the umask's mode, a symlink is
followed and kept, a FIFO is written in place and stays a FIFO, and a missing
folder or a directory in the path's place is a one-line error with exit status 1.
Every path is in a temporary folder the test made.
"""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import stat
import zipfile

import pytest
from outputkit import FifoReader, umask_mode

from igoc.cli import asm, bench, objdump, opt, sim
from igoc.cli import igoc as igoc_cli
from igoc.isa.npufile import MAGIC

ROOT = pathlib.Path(__file__).resolve().parents[2]
LINEAR = ROOT / "samples" / "basics" / "linear.mlir"


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> pathlib.Path:
    """The linear sample compiled for edge, and its assembly beside it."""
    folder = tmp_path_factory.mktemp("program")
    npu = folder / "linear.npu"
    assert igoc_cli.main([str(LINEAR), "--target", "edge", "-o", str(npu)]) == 0
    with contextlib.redirect_stdout(io.StringIO()):
        assert objdump.main([str(npu), "-o", str(folder / "linear.s")]) == 0
    return npu


def _commands(program: pathlib.Path, cache: pathlib.Path) -> dict:
    """Command name -> (main, argv with OUT in place of the output path, check of its bytes)."""
    npu, text = (lambda data: data.startswith(MAGIC)), (lambda data: len(data) > 0)
    bench_args = ["--model", str(LINEAR), "--target", "edge", "--pipeline", "baseline", "-q"]
    bench_args += ["--cache-dir", str(cache)]
    return {
        "igoc program": (igoc_cli.main, [str(LINEAR), "--target", "edge", "-o", "OUT"], npu),
        "igoc IR": (igoc_cli.main, [str(LINEAR), "--emit=fused", "-o", "OUT"], text),
        "igoc-opt": (opt.main, [str(LINEAR), "-p", "cse", "-o", "OUT"], text),
        "igoc-sim trace": (sim.main, [str(program), "--trace", "OUT"], text),
        "igoc-sim outputs": (sim.main, [str(program), "--outputs", "OUT"], _is_zip),
        "igoc-objdump": (objdump.main, [str(program), "-o", "OUT"], text),
        "igoc-as": (asm.main, [str(program.with_suffix(".s")), "-o", "OUT"], npu),
        "igoc-bench json": (bench.main, [*bench_args, "--json", "OUT"], text),
        "igoc-bench csv": (bench.main, [*bench_args, "--csv", "OUT"], text),
    }


def _is_zip(data: bytes) -> bool:
    return zipfile.is_zipfile(io.BytesIO(data))


COMMANDS = list(_commands(pathlib.Path("x"), pathlib.Path("c")))


def _run(main, argv: list[str], out: pathlib.Path) -> tuple[int, str]:
    err = io.StringIO()
    argv = [str(out) if a == "OUT" else a for a in argv]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, err.getvalue()


@pytest.mark.parametrize("name", COMMANDS)
def test_a_new_file_gets_the_umask_mode(name, program, tmp_path):
    main, argv, valid = _commands(program, tmp_path / "cache")[name]
    out = tmp_path / "out"
    status, err = _run(main, argv, out)
    assert status == 0, err
    assert valid(out.read_bytes())
    assert stat.S_IMODE(out.stat().st_mode) == umask_mode()


@pytest.mark.parametrize("name", COMMANDS)
def test_a_symlink_is_followed_and_kept(name, program, tmp_path):
    main, argv, valid = _commands(program, tmp_path / "cache")[name]
    target = tmp_path / "target"
    target.write_bytes(b"old content")
    link = tmp_path / "link"
    link.symlink_to(target.name)
    status, err = _run(main, argv, link)
    assert status == 0, err
    assert link.is_symlink() and valid(target.read_bytes())


@pytest.mark.parametrize("name", COMMANDS)
def test_a_fifo_is_written_and_kept(name, program, tmp_path):
    main, argv, valid = _commands(program, tmp_path / "cache")[name]
    fifo = FifoReader(tmp_path / "pipe")
    status, err = _run(main, argv, fifo.path)
    assert status == 0, err
    assert valid(fifo.received())
    assert stat.S_ISFIFO(os.lstat(fifo.path).st_mode)


@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.parametrize("where", ["missing folder", "directory"])
def test_an_unwritable_path_is_one_line_and_exit_1(name, where, program, tmp_path):
    main, argv, _ = _commands(program, tmp_path / "cache")[name]
    out = tmp_path / "no" / "out" if where == "missing folder" else tmp_path
    status, err = _run(main, argv, out)
    assert status == 1, err
    assert err.count("\n") == 1 and "cannot write" in err and "Traceback" not in err


def test_dash_writes_the_program_to_standard_output(capsysbinary):
    assert igoc_cli.main([str(LINEAR), "--target", "edge", "-o", "-"]) == 0
    assert capsysbinary.readouterr().out.startswith(MAGIC)


def test_dump_files_get_the_umask_mode(tmp_path):
    dumps = tmp_path / "dumps"
    with contextlib.redirect_stdout(io.StringIO()):
        assert igoc_cli.main([str(LINEAR), "--emit=fused", "--dump-dir", str(dumps)]) == 0
    modes = {stat.S_IMODE(p.stat().st_mode) for p in dumps.iterdir()}
    assert modes == {umask_mode()}


def test_a_failed_compile_leaves_the_previous_program(tmp_path):
    out = tmp_path / "out.npu"
    out.write_bytes(b"the previous program")
    bad = tmp_path / "bad.mlir"
    bad.write_text(LINEAR.read_text().replace("grad.matmul_dw %x, %dy", "grad.matmul_dw %x, %nope"))
    with contextlib.redirect_stderr(io.StringIO()):
        assert igoc_cli.main([str(bad), "--target", "edge", "-o", str(out)]) == 1
    assert out.read_bytes() == b"the previous program"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mlir", "out.npu"]
