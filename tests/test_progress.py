"""The status line of long work (``igoc.progress``): on a terminal only, late, throttled,
cleared; and what the compiler and the simulator report on it."""

from __future__ import annotations

import io
import pathlib

from igoc import pipeline
from igoc.api import compile_file
from igoc.cost.session import Session
from igoc.frontend import parse_text
from igoc.progress import DELAY_S, INTERVAL_S, StatusLine, report
from igoc.sim import functional, simulate
from igoc.sim.compare import generate_inputs

SAMPLES = pathlib.Path(__file__).resolve().parents[1] / "samples"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_line_shows_late_throttled_and_is_cleared():
    clock, term = Clock(), Terminal()
    line = StatusLine("igoc", term, clock)
    line.show("parse")
    assert term.getvalue() == ""  # not before DELAY_S
    clock.now += DELAY_S
    line.show("select-order: op 1 of 3")
    line.show("select-order: op 2 of 3")  # within INTERVAL_S: not drawn
    clock.now += 2 * INTERVAL_S
    line.show("select-order: op 3 of 3")
    line.close()
    line.close()  # once
    assert term.getvalue() == (
        "\rigoc: select-order: op 1 of 3\x1b[K\rigoc: select-order: op 3 of 3\x1b[K\r\x1b[K"
    )


def test_nothing_reaches_a_file_or_a_pipe():
    clock, stream = Clock(), io.StringIO()  # not a terminal
    line = StatusLine("igoc-sim", stream, clock)
    clock.now += 10 * DELAY_S
    line.show("running on data")
    line.close()
    assert not line.enabled and stream.getvalue() == ""
    assert not StatusLine("igoc", None).enabled
    report(object(), "no status line: nothing happens")


class Recorder:
    def __init__(self) -> None:
        self.said: list[str] = []

    def show(self, text: str) -> None:
        self.said.append(text)


def test_a_compile_reports_each_pass_and_each_op_it_decides():
    text = (SAMPLES / "basics" / "mlp.mlir").read_text()
    module = parse_text(text, "mlp.mlir")
    recorder = Recorder()
    steps = pipeline.build_pipeline("igo", None)
    pipeline.run(module, steps, session=Session(single=True, progress=recorder))  # type: ignore[arg-type]
    for step in steps:
        assert step.spec in recorder.said
    ops = [s for s in recorder.said if s.startswith("select-order: op ")]
    assert ops and ops[0].startswith("select-order: op 1 of ")
    assert ops[-1].startswith(f"select-order: op {len(ops)} of {len(ops)} (")
    assert any(s.startswith("partition: op 1 of ") for s in recorder.said)


def test_a_run_on_data_reports_how_far_it_is(monkeypatch):
    monkeypatch.setattr(functional, "PROGRESS_EVERY", 4)
    program = compile_file(str(SAMPLES / "basics" / "train-step.mlir"), "edge", "igo")
    calls: list[tuple[int, int]] = []
    simulate(
        program,
        functional=True,
        inputs=generate_inputs(program, 0),
        on_progress=lambda executed, total: calls.append((executed, total)),
    )
    total = program.instruction_count
    assert len(calls) >= 3 and all(t == total for _, t in calls)
    executed = [e for e, _ in calls]
    assert executed == sorted(executed) and executed[0] == 0 and executed[-1] < total
    assert all(e % 4 == 0 for e in executed)  # one core: every fourth instruction
