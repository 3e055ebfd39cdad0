"""SIGTERM ends a tool as Ctrl-C does: a message, its own exit status, its clean-up run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from igoc.cli.common import EXIT_TERMINATED, run_tool


def test_sigterm_ends_the_tool_with_its_clean_up_and_status_143(capsys):
    cleaned = []

    def body() -> int:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)  # the signal's handler raises here, at once
            return 0
        finally:
            cleaned.append(True)

    before = signal.getsignal(signal.SIGTERM)
    start = time.monotonic()
    assert run_tool("igoc-x", body, {}) == EXIT_TERMINATED == 143
    assert time.monotonic() - start < 10
    assert cleaned == [True]
    assert capsys.readouterr().err == "igoc-x: terminated\n"
    assert signal.getsignal(signal.SIGTERM) == before  # the process's own handling again


def test_a_process_forked_by_the_tool_dies_of_sigterm_as_before():
    """Its workers (forked while the handler is set) are stopped by SIGTERM, not handed an
    exception to go on from."""
    status = {}

    def body() -> int:
        ready, tell = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: says it runs (a signal before that is dropped), waits
            os.write(tell, b"!")
            time.sleep(30)
            os._exit(0)
        os.read(ready, 1)
        os.close(ready)
        os.close(tell)
        os.kill(pid, signal.SIGTERM)
        status["child"] = os.waitpid(pid, 0)[1]
        return 0

    assert run_tool("igoc-x", body, {}) == 0
    assert os.WIFSIGNALED(status["child"]) and os.WTERMSIG(status["child"]) == signal.SIGTERM


SWALLOWED = """
import os, sys, time
from igoc.cli.common import Terminated, run_tool

def body():
    try:
        print("ready", flush=True)
        time.sleep(30)
    except Terminated:  # as Python drops an exception raised in a finalizer
        print("dropped", flush=True)
    time.sleep(30)
    return 0

sys.exit(run_tool("igoc-x", body, {}))
"""


def test_a_second_sigterm_ends_a_tool_whose_first_was_dropped(tmp_path):
    """Python drops an exception a signal handler raises while a finalizer runs: the tool
    goes on, and the next SIGTERM ends it as the first would have."""
    process = subprocess.Popen(
        [sys.executable, "-c", SWALLOWED], cwd=tmp_path, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline() == "ready\n"
        process.send_signal(signal.SIGTERM)
        assert process.stdout.readline() == "dropped\n"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 143
        assert process.stdout.read() == ""
    finally:
        process.kill()
        process.wait()
        process.stdout.close()


def _catches_sigterm(pid: int) -> bool:
    """Whether process ``pid`` has a handler for SIGTERM now (Linux: /proc/PID/status)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return False


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's /proc")
@pytest.mark.parametrize(
    "tool, args",
    [
        ("sim", ["-", "--check", "--outputs", "out.npz", "--trace", "trace.json"]),
        ("asm", ["-", "-o", "out.npu"]),
        ("objdump", ["-", "-o", "out.s"]),
    ],
)
def test_the_program_tools_end_on_sigterm_with_a_line_and_143(tmp_path, tool, args):
    """igoc-sim, igoc-as and igoc-objdump, waiting on their standard input: ended by
    SIGTERM with a line and 143, no file written or left behind."""
    process = subprocess.Popen(
        [sys.executable, "-c", f"import sys; from igoc.cli.{tool} import main; sys.exit(main())"]
        + args,
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _catches_sigterm(process.pid):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 143
        prog = {"sim": "igoc-sim", "asm": "igoc-as", "objdump": "igoc-objdump"}[tool]
        assert process.stderr.read() == f"{prog}: terminated\n"
        assert sorted(os.listdir(tmp_path)) == []
    finally:
        process.kill()
        process.wait()
        process.stdin.close()
        process.stderr.close()
