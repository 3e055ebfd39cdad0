"""``.ci/run`` leaves nothing behind: its virtual environment goes, whether the tests pass or not.

The script runs here with stand-ins for python3, python, pip and pytest on PATH, which
make the folders a real run would and exit as told, so the test takes a moment.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

STAND_IN = """#!/bin/sh
# python3 -m venv DIR: make DIR/bin/activate; anything else: succeed
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin" && : > "$3/bin/activate" && echo "$3" > "$CI_SCRIPT_SEEN"
fi
exit 0
"""


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
@pytest.mark.parametrize("tests_pass", [True, False])
def test_the_virtual_environment_is_removed(tmp_path, tests_pass):
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("python3", "python", "pip"):
        (tools / name).write_text(STAND_IN)
    (tools / "pytest").write_text(f"#!/bin/sh\nexit {0 if tests_pass else 1}\n")
    for tool in tools.iterdir():
        tool.chmod(0o755)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    seen = tmp_path / "seen"
    env = {
        "PATH": f"{tools}:/usr/bin:/bin",
        "TMPDIR": str(scratch),
        "CI_SCRIPT_SEEN": str(seen),
        "HOME": str(tmp_path),
    }
    run = subprocess.run(
        ["bash", str(ROOT / ".ci" / "run")], env=env, capture_output=True, text=True
    )
    assert run.returncode == (0 if tests_pass else 1), run.stderr
    venv = pathlib.Path(seen.read_text().strip())
    assert venv.is_relative_to(scratch)  # it was made where mktemp makes folders
    assert not venv.exists() and list(scratch.iterdir()) == []
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
