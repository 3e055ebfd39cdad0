"""The README shows what its commands print.

Every fenced block of the README whose lines start with ``$ `` is a session: each
command runs (in a temporary folder, sample paths taken from the repository) and
the lines shown after it must be lines of its output, in order, exactly; a line
``...`` stands for lines left out, and a line that ends in `` ...`` for the rest of
a longer line.
"""

from __future__ import annotations

import contextlib
import io
import pathlib
import re
import shlex

import pytest

from igoc.cli import asm, objdump, opt, sim
from igoc.cli import igoc as igoc_cli

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
TOOLS = {
    "igoc": igoc_cli.main,
    "igoc-opt": opt.main,
    "igoc-sim": sim.main,
    "igoc-objdump": objdump.main,
    "igoc-as": asm.main,
}


def sessions() -> list[list[tuple[str, list[str]]]]:
    """Each session block: its commands, each with the lines shown after it."""
    found = []
    for block in re.findall(r"^```\n(.*?)^```$", README, re.MULTILINE | re.DOTALL):
        lines = block.splitlines()
        if not lines or not lines[0].startswith("$ "):
            continue
        session: list[tuple[str, list[str]]] = []
        for line in lines:
            if line.startswith("$ "):
                session.append((line[2:], []))
            else:
                session[-1][1].append(line)
        found.append(session)
    return found


SESSIONS = sessions()


def _run(command: str) -> str:
    """The standard output of a command line (``&&`` between tools), run in-process."""
    out = io.StringIO()
    for part in command.split("&&"):
        words = shlex.split(part)
        argv = [str(ROOT / w) if w.startswith("samples/") else w for w in words[1:]]
        with contextlib.redirect_stdout(out):
            status = TOOLS[words[0]](argv)
        assert status == 0, f"{part.strip()} exited {status}"
    return out.getvalue()


def _shown_in(shown: list[str], printed: list[str]) -> None:
    """Every shown line is a printed line, in order; ``...`` skips lines."""
    position = 0
    gap = False
    for line in shown:
        if line == "...":
            gap = True
            continue
        prefix = line.endswith(" ...")
        want = line[:-4] if prefix else line

        def match(candidate: str, want=want, prefix=prefix) -> bool:
            return candidate.startswith(want) if prefix else candidate == want

        candidates = range(position, len(printed)) if gap else range(position, position + 1)
        found = next((i for i in candidates if i < len(printed) and match(printed[i])), None)
        assert found is not None, f"the README shows {line!r}; the command prints:\n" + "\n".join(
            printed
        )
        position, gap = found + 1, False


def test_the_readme_has_sessions():
    assert SESSIONS and any("igoc-sim" in c for s in SESSIONS for c, _ in s)


@pytest.mark.parametrize("index", range(len(SESSIONS)))
def test_a_readme_session_shows_what_the_commands_print(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for command, shown in SESSIONS[index]:
        _shown_in(shown, _run(command).splitlines())


def test_the_readme_counts_the_tests_that_need_mlir_opt():
    """The README says how many tests skip without mlir-opt, and how to enable them."""
    import importlib.util

    path = ROOT / "tests" / "frontend" / "test_frontend_mlir_opt.py"
    spec = importlib.util.spec_from_file_location("mlir_opt_tests", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    stated = re.search(r"^(\d+) tests \(`tests/frontend/test_frontend_mlir_opt.py`\)", README, re.M)
    assert stated is not None and int(stated.group(1)) == len(module.FILES)
    assert "apt-get install mlir-19-tools" in README
