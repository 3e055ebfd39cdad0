"""Ops decided side by side in worker processes (``igoc.cost.parallel``): the same program."""

from __future__ import annotations

import functools
import multiprocessing
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from igoc import pipeline
from igoc.api import compile_module, compile_text
from igoc.cli.igoc import main
from igoc.cost import parallel
from igoc.cost.decide import has_context, select_order
from igoc.cost.search import Search
from igoc.cost.session import Session, take_planned
from igoc.dialects.npu import stamp_target
from igoc.dialects.sched import from_attr
from igoc.dialects.views import TrainingLayers
from igoc.frontend import parse_file, parse_text
from igoc.isa.npufile import encode_program
from igoc.passes import confirm_program, lower_to_npu
from igoc.target import load_target

SAMPLES = pathlib.Path(__file__).resolve().parents[2] / "samples"
MODELS = SAMPLES / "models"

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="no fork here: decided in order"
)


@pytest.fixture(autouse=True)
def no_worker_left():
    """Every test here leaves no process of its own behind (those of earlier tests elsewhere,
    such as a Dask cluster still closing, are not its business)."""
    before = set(multiprocessing.active_children())
    yield
    assert not set(multiprocessing.active_children()) - before


@pytest.mark.parametrize("target", ["edge", "server-2c"])
def test_workers_give_the_program_of_one_process(target, monkeypatch):
    """DLRM's eight layers, by one process and by three: the same .npu bytes (the same
    schedules and the same candidates recorded for every op); the workers did decide, and
    confirm-program weighed its programs side by side."""
    text = (MODELS / "dlrm-b4.mlir").read_text()
    alone = compile_text(text, target, "igo", session=Session(single=True, jobs=1))
    decided, original = [], parallel.prefetch
    weighed, side_by_side = [], parallel.side_by_side

    def counted(*args, **kwargs):
        decided.append(original(*args, **kwargs))
        return decided[-1]

    def weighing(tasks, jobs):
        weighed.append(len(tasks))
        return side_by_side(tasks, jobs)

    monkeypatch.setattr(parallel, "prefetch", counted)
    monkeypatch.setattr(confirm_program, "side_by_side", weighing)
    together = compile_text(text, target, "igo", session=Session(single=True, jobs=3))
    assert encode_program(together) == encode_program(alone)
    # select-order's, partition's and confirm-program's (its all-interleaved program's) ops
    assert len(decided) == 3 and decided[0] >= parallel.MIN_REQUESTS
    assert weighed and weighed[0] >= 2


@pytest.mark.parametrize(
    ("sample", "target", "kept"),
    [
        ("basics/conv-stride2.mlir", "edge", "schedules"),
        ("models/ncf-b4.mlir", "server", "baseline"),
    ],
)
def test_programs_weighed_side_by_side_keep_the_program_of_one_process(
    monkeypatch, sample, target, kept
):
    """confirm-program with workers keeps the same program; the lowering takes the plans of
    the program weighed in this process when that one is kept, and plans the kept one
    again otherwise."""
    path = str(SAMPLES / sample)
    alone = encode_program(compile_text(pathlib.Path(path).read_text(), target, "igo"))
    taken: list = []

    def take(*args):
        taken.append(take_planned(*args))
        return taken[-1]

    monkeypatch.setattr(lower_to_npu, "take_planned", take)
    module = parse_file(path)
    together = compile_module(module, target, "igo", session=Session(single=True, jobs=2))
    assert encode_program(together) == alone
    assert from_attr(module.attributes["sched.program"])["kept"] == kept
    assert (taken[0] is not None) == (kept == "schedules")


def _requests(target_name: str):
    """select-order's requests for DLRM's ops weighed alone, as the pass makes them."""
    target = load_target(target_name)
    module = parse_text((MODELS / "dlrm-b4.mlir").read_text(), "dlrm-b4.mlir")
    stamp_target(module, target)
    pipeline.run(module, pipeline.steps_until(pipeline.build_pipeline("igo", None), "tiled"))
    layers = TrainingLayers.of(module, target)
    return target, [
        (select_order, layers.schedule(i).discipline(), (desc, "cost"))
        for i, desc in enumerate(layers.descs)
        if not has_context(layers.descs, i, target.spm_bytes)
    ]


def test_prefetched_decisions_are_the_decisions_made_in_order():
    target, requests = _requests("edge")
    assert len(requests) >= parallel.MIN_REQUESTS
    search = Search(target, disk=False)
    assert parallel.prefetch(search, requests, jobs=2) == len(requests)
    fresh = Search(target, disk=False)
    for decide, discipline, args in requests:
        made = decide(fresh.under(*discipline), *args)
        assert decide(search.under(*discipline), *args) == made
    assert search._decisions.keys() >= {k for k in fresh._decisions if k[0] == "order"}


def _fails(search, desc):
    raise ValueError(f"cannot decide {desc.name}")


def test_a_request_that_fails_is_left_to_the_pass():
    """A worker's error does not stop the others; the request is simply not prefetched (the
    pass then decides it in order and reports the error at its op)."""
    target, requests = _requests("edge")
    bad = (_fails, ("search", "belady"), (requests[0][2][0],))
    search = Search(target, disk=False)
    assert parallel.prefetch(search, [bad, *requests], jobs=2) == len(requests)
    assert parallel.prefetch(search, requests[:2], jobs=2) == 0  # too few to start workers
    assert parallel.prefetch(search, requests, jobs=1) == 0


@pytest.mark.parametrize(("value", "message"), [("-1", "-1 is negative"), ("two", "'two' is not")])
def test_jobs_must_be_a_number_of_processes(value, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["x.mlir", "--jobs", value])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_a_search_absorbs_what_another_remembered_keeping_its_own():
    target = load_target("edge")
    mine, other = Search(target, disk=False), Search(target, disk=False)
    mine._decisions["a"] = "mine"
    other._decisions.update(a="other", b="other")
    other.walks["w"] = "estimate"
    mine.absorb(other.memory())
    assert mine._decisions == {"a": "mine", "b": "other"} and mine.walks == {"w": "estimate"}
    assert set(other.memory()) == set(Search.MEMORIES)


def test_workers_decide_in_a_copy_of_the_search_and_hand_back_only_what_they_added():
    """A search that decided some requests already: the workers find those decisions (and
    estimates) made, hand back only the rest, and the search ends as deciding in order."""
    target, requests = _requests("edge")
    search = Search(target, disk=False)
    for decide, discipline, args in requests[:2]:
        decide(search.under(*discipline), *args)
    before = {name: dict(memory) for name, memory in search.memory().items()}
    handed: list[dict] = []
    absorb = search.absorb
    search.absorb = lambda memory: (handed.append(memory), absorb(memory))  # type: ignore[method-assign]
    assert parallel.prefetch(search, requests, jobs=2) == len(requests)
    for memory in handed:
        for name, entries in memory.items():
            assert not entries.keys() & before[name].keys(), name
    fresh = Search(target, disk=False)
    for decide, discipline, args in requests:
        assert decide(search.under(*discipline), *args) == decide(fresh.under(*discipline), *args)
    assert search._decisions.keys() >= fresh._decisions.keys()


def test_added_since_is_what_follows_the_mark_or_everything_once_it_is_forgotten():
    a, b, c, d = (tuple(name) for name in "abcd")  # keys made as a search makes them
    memory = {a: 1, b: 2}
    mark = next(reversed(memory))
    memory[c] = 3
    memory[d] = 4
    assert parallel.added_since(memory, mark) == {c: 3, d: 4}
    assert parallel.added_since(memory, parallel._NONE) == memory
    del memory[a], memory[b]  # forgotten, oldest first, the mark among them
    memory[tuple("b")] = 5  # an equal key made again is not the mark
    assert list(parallel.added_since(memory, mark)) == [c, d, b]


def _square(x: int) -> int:
    return x * x


def _fail_in_a_worker(parent: int) -> int:

    if os.getpid() != parent:
        raise RuntimeError("only here")
    return -1


def _die_in_a_worker(parent: int) -> int:

    if os.getpid() != parent:
        os._exit(9)
    return -2


def test_side_by_side_returns_each_task_s_result_in_order():

    tasks = [functools.partial(_square, x) for x in range(5)]
    assert parallel.side_by_side(tasks, jobs=2) == [0, 1, 4, 9, 16]
    assert parallel.side_by_side(tasks, jobs=1) == [0, 1, 4, 9, 16]


def _wait_for(path: pathlib.Path) -> int:
    """This process's id, once ``path`` exists (10 s at most)."""
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return os.getpid()


def _boom_once(path: pathlib.Path, after: float = 0.0) -> None:
    """ValueError("here"), ``after`` seconds once ``path`` exists (10 s at most)."""
    _wait_for(path)
    time.sleep(after)
    raise ValueError("here")


def _mark_and_sleep(path: pathlib.Path) -> int:
    path.write_text("started")
    time.sleep(2)
    return os.getpid()


def test_side_by_side_takes_here_what_no_worker_has_begun(tmp_path):
    """With one worker busy on a long task, this process, done with the first, runs the
    tasks still waiting rather than leaving them queued for that worker."""
    started = tmp_path / "started"
    tasks = [functools.partial(_wait_for, started), functools.partial(_mark_and_sleep, started)]
    tasks += [os.getpid, os.getpid]
    pids = parallel.side_by_side(tasks, jobs=2)
    here = os.getpid()
    assert pids[0] == here and pids[1] != here
    assert pids[2:] == [here, here]


@pytest.mark.parametrize("odd", [_fail_in_a_worker, _die_in_a_worker])
def test_side_by_side_runs_here_what_a_worker_did_not_hand_back(odd):
    """A task that fails in its worker, or kills it, is run again in this process."""
    tasks = [functools.partial(_square, 3), functools.partial(odd, os.getpid())]
    tasks.append(functools.partial(_square, 4))
    assert parallel.side_by_side(tasks, jobs=2) == [9, odd(os.getpid()), 16]
    assert not parallel._TASKS


def test_side_by_side_raises_an_error_of_this_process_s_task_and_stops_the_workers():

    def boom() -> int:
        raise ValueError("here")

    tasks = [boom, functools.partial(time.sleep, 30)]
    started = time.monotonic()
    with pytest.raises(ValueError, match="here"):
        parallel.side_by_side(tasks, jobs=2)
    assert time.monotonic() - started < 10  # the sleeping worker was stopped (and reaped)


def _deaf_sleeper(ready: str) -> None:

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    pathlib.Path(ready).write_text("ready")
    time.sleep(60)


def test_a_worker_that_ignores_termination_is_killed(tmp_path):
    """A worker still there after it was asked to terminate is killed and reaped."""

    ready = tmp_path / "ready"
    tasks = [functools.partial(_boom_once, ready), functools.partial(_deaf_sleeper, str(ready))]
    started = time.monotonic()
    with pytest.raises(ValueError, match="here"):
        parallel.side_by_side(tasks, jobs=2)
    assert ready.exists()
    assert time.monotonic() - started < 20  # the deaf worker was killed (and reaped)


def _torn_result(ready: str, parent: int | None = None) -> str:
    """In a worker: the start of a result on the pool's result pipe, then death, as a worker
    killed while it writes its result. In process ``parent``: ``"here"``."""
    if os.getpid() == parent:
        return "here"
    frame = sys._getframe()
    while frame.f_code.co_name != "_process_worker":  # the pool's loop in this worker
        frame = frame.f_back
    results = frame.f_locals["result_queue"]
    results._writer._send(b"\x00\x00\x10\x00" + b"x" * 10)  # 10 bytes of 4,096
    pathlib.Path(ready).write_text("ready")
    os._exit(1)


def test_a_worker_that_died_writing_its_result_leaves_no_thread_waiting(tmp_path):
    """The pool's manager thread, waiting for the rest of that result, is stopped: nothing
    would keep this process from exiting."""
    ready = tmp_path / "ready"
    tasks = [functools.partial(_boom_once, ready, 0.5), functools.partial(_torn_result, str(ready))]
    started = time.monotonic()
    with pytest.raises(ValueError, match="here"):
        parallel.side_by_side(tasks, jobs=2)
    assert ready.exists()
    assert time.monotonic() - started < 20
    managers = [t for t in threading.enumerate() if "ExecutorManager" in type(t).__name__]
    assert not [t for t in managers if t.is_alive()]


def test_a_worker_that_died_writing_its_result_is_a_broken_pool_its_task_run_here():
    """Not waited for for ever: the pool is taken as broken once the worker has been dead a
    while, and what it did not hand back is run in this process."""
    started = time.monotonic()
    here = os.getpid()
    with tempfile.TemporaryDirectory() as folder:
        ready = pathlib.Path(folder) / "ready"
        tasks = [functools.partial(_wait_for, ready), functools.partial(_torn_result, ready, here)]
        assert parallel.side_by_side(tasks, jobs=2) == [here, "here"]
        assert ready.exists()  # the worker did tear its result
    assert time.monotonic() - started < 30
    managers = [t for t in threading.enumerate() if "ExecutorManager" in type(t).__name__]
    assert not [t for t in managers if t.is_alive()]


def _sigint_as_at_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _python(script: str, folder) -> subprocess.CompletedProcess:
    """``python -c script`` in ``folder``, with Ctrl-C handled as Python handles it at a
    terminal, even when this test runs where SIGINT is ignored (a job started in the
    background by a shell), which the child would otherwise inherit."""
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_sigint_as_at_a_terminal,
    )


SIGNAL_AT_FORK = """
import os, signal, sys
from igoc.cli.common import run_tool
from igoc.cost import parallel

def at_fork():  # a signal whose handler runs inside a function run at a fork
    if os.environ.pop("IGOC_TEST_ARMED", None):
        os.kill(os.getpid(), signal.SIG{name})
        for _ in range(100_000):
            pass

os.register_at_fork(after_in_parent=at_fork)

def body():
    os.environ["IGOC_TEST_ARMED"] = "1"
    parallel.side_by_side([int, int, int], 2)
    print("finished", flush=True)
    return 0

sys.exit(run_tool("igoc-x", body, {{}}))
"""


@pytest.mark.parametrize(
    "name, status, line", [("TERM", 143, "terminated"), ("INT", 130, "interrupted")]
)
def test_a_signal_that_comes_while_workers_are_forked_ends_the_tool(tmp_path, name, status, line):
    """Not dropped by Python, as it would be, raised inside a function run at the fork."""
    done = _python(SIGNAL_AT_FORK.format(name=name), tmp_path)
    assert (done.returncode, done.stdout) == (status, "")
    assert done.stderr == f"igoc-x: {line}\n"


CTRL_C_WHILE_HANDLERS_COME_BACK = """
import os, signal, sys, time, types
from igoc.cost import parallel

real, armed = signal.signal, [True]

def signal_then_ctrl_c(signum, handler):  # Ctrl-C once SIGINT's handler is back, not SIGTERM's
    before = real(signum, handler)
    if armed and signum == signal.SIGINT and handler is signal.default_int_handler:
        armed.clear()
        os.kill(os.getpid(), signal.SIGINT)
    return before

shim = types.SimpleNamespace(**{k: getattr(signal, k) for k in dir(signal) if k[0] != "_"})
shim.signal = signal_then_ctrl_c
parallel.signal = shim
try:
    parallel.side_by_side([int, int, int], 2)
except KeyboardInterrupt:
    print("interrupted", flush=True)
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(10)
print("still here", flush=True)
"""


def test_sigterm_after_a_ctrl_c_that_ended_the_fork_s_block_early_acts_as_before(tmp_path):
    """A Ctrl-C that lands while the handlers are being put back leaves SIGTERM's handler
    the block's own; a SIGTERM after it still does what it did before the block (here:
    ends the process)."""
    done = _python(CTRL_C_WHILE_HANDLERS_COME_BACK, tmp_path)
    assert (done.returncode, done.stdout) == (-signal.SIGTERM, "interrupted\n")
