"""The generator: the checked-in samples equal a fresh generation, runs are deterministic,
and ``--check`` names what differs."""

from __future__ import annotations

import hashlib
import os
import pathlib
import subprocess
import sys

from igoc.zoo import generate

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "models"


def _digest(files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name, text in files.items():
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    return digest.hexdigest()


def test_checked_in_samples_equal_a_fresh_generation():
    assert generate.check(SAMPLES) == []
    on_disk = sorted(path.name for path in SAMPLES.glob("*.mlir"))
    assert on_disk == sorted(generate.expected_files())


def test_generation_is_deterministic_across_processes():
    """Another interpreter with another hash seed writes the same bytes."""
    code = (
        "import hashlib\n"
        "from igoc.zoo.generate import expected_files\n"
        "d = hashlib.sha256()\n"
        "for n, t in expected_files().items():\n"
        "    d.update(n.encode() + b'\\0' + t.encode() + b'\\0')\n"
        "print(d.hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == _digest(generate.expected_files())


def test_write_then_check_then_rewrite_touches_nothing(tmp_path):
    out_dir = tmp_path / "models"
    written = generate.write(out_dir)
    assert len(written) == len(generate.expected_files())
    assert generate.check(out_dir) == []
    assert generate.write(out_dir) == []


def test_check_names_changed_missing_and_stale_files(tmp_path, capsys):
    out_dir = tmp_path / "models"
    generate.write(out_dir)
    changed = out_dir / "resnet50-b8.mlir"
    changed.write_text(
        changed.read_text().replace("tensor<8x3x224x224xf16>", "tensor<8x3x225x224xf16>")
    )
    (out_dir / "ncf-b4.mlir").unlink()
    stale = out_dir / "resnet18-b8.mlir"
    stale.write_text(generate.GENERATED_MARK + " from igoc/zoo/resnet.py; do not edit.\n")
    handwritten = out_dir / "mine.mlir"
    handwritten.write_text("// my own experiment\n")

    assert generate.main(["--check", "--out-dir", str(out_dir)]) == 1
    err = capsys.readouterr().err
    assert "resnet50-b8.mlir: differs" in err
    assert "ncf-b4.mlir: missing" in err
    assert "resnet18-b8.mlir: no longer generated" in err
    assert "mine.mlir" not in err
    assert err.count("\n") == 4  # three problems and the hint how to fix them

    assert generate.main(["--out-dir", str(out_dir)]) == 0
    assert not stale.exists() and handwritten.exists()
    assert generate.main(["--check", "--out-dir", str(out_dir)]) == 0


def test_command_line_checks_the_source_tree():
    out = subprocess.run(
        [sys.executable, "-m", "igoc.zoo.generate", "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert "27 files in samples/models are current" in out.stdout


def test_unwritable_output_is_a_message_not_a_traceback(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert generate.main(["--out-dir", str(blocker / "models")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
