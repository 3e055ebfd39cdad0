"""SIGTERM ends a tool as Ctrl-C does: a message, its own exit status, its clean-up run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

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
