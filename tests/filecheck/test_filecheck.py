"""Each ``.mlir`` file under tests/filecheck (not Inputs/) is a pytest test, run by lit.

lit runs all files once (in parallel); each test then reports its own file's result,
with lit's output (and so filecheck's message) when it failed.
"""

import pathlib
import re
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).parent
FILES = sorted(p for p in HERE.rglob("*.mlir") if "Inputs" not in p.relative_to(HERE).parts)
_RESULT = re.compile(r"^(PASS|FAIL|XFAIL|XPASS|UNRESOLVED|UNSUPPORTED): igoc :: (\S+)", re.M)
_FAILURE = re.compile(r"\*{20} TEST 'igoc :: (\S+)' FAILED \*{20}\n(.*?)\n\*{20}\n", re.S)


@pytest.fixture(scope="module")
def lit_results() -> tuple[dict[str, str], dict[str, str], str]:
    """Run lit once on every file: status and failure output of each, and the whole output."""
    command = [sys.executable, "-c", "import lit.main; lit.main.main()", "-v", str(HERE)]
    run = subprocess.run(command, capture_output=True, text=True, cwd=HERE, timeout=600)
    output = run.stdout + run.stderr
    statuses = {name: status for status, name in _RESULT.findall(output)}
    failures = dict(_FAILURE.findall(output))
    return statuses, failures, output


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(HERE)) for p in FILES])
def test_filecheck(path: pathlib.Path, lit_results) -> None:
    statuses, failures, output = lit_results
    name = path.relative_to(HERE).as_posix()
    assert name in statuses, f"lit did not run {name}:\n{output}"
    assert statuses[name] == "PASS", failures.get(name, output)
