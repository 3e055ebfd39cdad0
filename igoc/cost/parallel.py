"""Ops decided side by side in worker processes, before a decision pass walks them in order.

``select-order`` and ``partition`` decide one op after another, because an op that may
find the op before it still in SPM is weighed after that op's schedule (its *context*).
Most ops have none (ResNet-50: 107 of 108; FasterRCNN: all 158), and a decision is a
pure function of the op, the target, the policy and the schedule it starts from (what
``igoc.cost.store`` relies on to share decisions between processes). So a pass first
hands the ops without a context to worker processes, each deciding in a search of its
own, and takes all they remembered into its search (``Search.absorb``: the decisions,
and the estimates that later passes ask for again, ``confirm-program`` among them);
then it walks the ops in order as before and finds those decisions made. The program is
the same, byte for byte, whatever the number of workers.

Workers are forked: they inherit the loaded compiler, the requests and the pass's search
with all it remembered (``partition`` finds the estimates ``select-order`` made), and
decide in that copy, which grows request by request; only what a request added travels
back. What it added is what lies after the newest entry of each memory as it was before
the request (memories keep their insertion order and forget their oldest entries first),
found by identity, so no key is hashed or compared again. This runs where ``fork``
exists (Linux, the BSDs); elsewhere, or with one job, nothing is prefetched. A request
whose worker fails is left to the pass, which decides it again in order and reports any
error at its op, as without workers.

:func:`side_by_side` runs a few pure tasks the same way and hands back what each returns
(``confirm-program`` weighs its whole programs with it).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import wait
from typing import TypeVar

from igoc.cost.decide import has_context
from igoc.cost.search import Search

MIN_REQUESTS = 4
"""Fewer ops than this are decided in order: starting workers would cost more."""

Request = tuple[Callable[..., object], tuple[str, str], tuple]
"""What to decide: ``decide(search.under(*discipline), *args)``."""

_REQUESTS: list[Request] = []  # the requests of the pool being run (read by forked workers)
_SEARCH: list[Search] = []  # the search they decide in (each worker's copy of it)


def prefetch(
    search: Search,
    requests: list[Request],
    jobs: int,
    report: Callable[[int, int], None] | None = None,
) -> int:
    """Make the decisions of ``requests`` in up to ``jobs`` forked workers and remember all
    they decided in ``search``; returns how many requests were decided. ``report(done,
    total)`` follows them."""
    if (
        jobs <= 1
        or len(requests) < MIN_REQUESTS
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        return 0
    _REQUESTS[:] = requests
    _SEARCH[:] = [search]
    decided = 0
    pool = None
    try:
        context = multiprocessing.get_context("fork")
        with _forking():
            pool = ProcessPoolExecutor(min(jobs, len(requests)), mp_context=context)
            futures = [pool.submit(_decide, i) for i in range(len(requests))]
        for future in _completed(pool, futures):
            try:
                memory = future.result()
            except BrokenProcessPool:
                raise
            except Exception:  # noqa: BLE001 - the pass decides it again and says why
                continue
            search.absorb(memory)
            decided += 1
            if report is not None:
                report(decided, len(requests))
        pool.shutdown()
    except (BrokenProcessPool, OSError):
        _stop(pool)  # a worker died: the pass decides what is missing, in order
    except BaseException:  # interrupted: no worker is left running
        _stop(pool)
        raise
    finally:
        _REQUESTS.clear()
        _SEARCH.clear()
    return decided


DEAD_WORKER_SECONDS = 2.0
"""How long a worker may be dead before a pool that has not noticed is taken as broken."""


def _completed(pool: ProcessPoolExecutor | None, futures: list[Future]) -> Iterator[Future]:
    """``futures`` as they complete, as ``as_completed`` gives them; BrokenProcessPool when
    a worker has been dead for :data:`DEAD_WORKER_SECONDS` and the pool has not said so.

    A worker killed while it writes its result (the OOM killer, ``kill -9``; a result can
    be larger than a pipe holds) leaves part of it in the pool's result pipe, and the
    pool's manager thread waits for the rest for ever instead of noticing the death: its
    futures would never complete. :func:`_stop` then ends that thread."""
    pending = set(futures)
    dead_since = None
    while pending:
        done, pending = wait_futures(pending, timeout=0.5, return_when=FIRST_COMPLETED)
        yield from done
        if done or pool is None:
            continue
        workers = list((getattr(pool, "_processes", None) or {}).values())
        if not wait([worker.sentinel for worker in workers], 0):
            dead_since = None
        elif dead_since is None:
            dead_since = time.monotonic()
        elif time.monotonic() - dead_since > DEAD_WORKER_SECONDS:
            raise BrokenProcessPool("a worker died while it handed back its result")


@contextlib.contextmanager
def _forking() -> Iterator[None]:
    """Ctrl-C and SIGTERM held back while a pool forks its workers, then handled as they
    would have been.

    Python runs a signal's handler between two bytecodes of the main thread, and an
    exception it raises inside a function run at a fork (``os.register_at_fork``:
    logging's, for one) is printed and dropped, so a tool would go on as if the signal had
    never come. While the block runs, the two signals are only noted (a worker forked
    meanwhile, which inherits that, handles them as it would have); when it ends, the
    handlers come back and each noted signal is raised again."""
    held = [s for s in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(s) is not None]
    if threading.current_thread() is not threading.main_thread() or not held:
        yield
        return
    pid = os.getpid()
    previous = {signum: signal.getsignal(signum) for signum in held}
    noted: list[int] = []
    over: list[bool] = []

    def note(signum: int, frame: object) -> None:
        # In a worker, or once the block is over (an exception, say a Ctrl-C, may leave
        # a handler not yet put back): the handler as it was, and the signal again.
        if os.getpid() != pid or over:
            signal.signal(signum, previous[signum])
            signal.raise_signal(signum)
            return
        noted.append(signum)

    try:
        for signum in held:
            signal.signal(signum, note)
        yield
    finally:
        over.append(True)
        for signum in held:
            signal.signal(signum, previous[signum])
        for signum in dict.fromkeys(noted):
            signal.raise_signal(signum)


T = TypeVar("T")

_TASKS: list[Callable[[], object]] = []  # the tasks of the pool being run (read by workers)
_NEXT: list = []  # the shared counter of the next task to claim (a multiprocessing Value)


def side_by_side(tasks: list[Callable[[], T]], jobs: int) -> list[T]:
    """What each of ``tasks`` returns: the first is run in this process, the others meanwhile
    in up to ``jobs - 1`` forked workers (``jobs`` processes at most), which hand back only
    what they return. Each process claims the next task not yet claimed when it is free
    (this process once the first is done), so that no process idles while a task waits. A
    task whose worker fails (or dies) is run here afterwards, where its error is raised;
    with one job, or without ``fork``, all are run here in order. For pure tasks whose
    results are small (``confirm-program``'s whole programs, weighed side by side)."""
    if jobs <= 1 or len(tasks) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [task() for task in tasks]
    context = multiprocessing.get_context("fork")
    _TASKS[:] = tasks
    _NEXT[:] = [context.Value("l", 1)]  # task 0 is this process's
    done: dict[int, T] = {}
    pool = None
    try:
        try:  # the workers are forked here, while ``_TASKS`` holds the tasks
            workers = min(jobs - 1, len(tasks) - 1)
            with _forking():
                pool = ProcessPoolExecutor(workers, mp_context=context)
                futures = [pool.submit(_drain) for _ in range(workers)]
        except OSError:  # no process to be had: all are run here
            _stop(pool)
            pool, futures = None, []
        first = tasks[0]()
        while (index := _claim()) is not None:
            done[index] = tasks[index]()
        try:
            for future in _completed(pool, futures):
                try:
                    done.update(future.result())
                except BrokenProcessPool:
                    raise
                except Exception:  # noqa: BLE001 - what it claimed is run again here
                    continue
            if pool is not None:
                pool.shutdown()
        except BrokenProcessPool:
            _stop(pool)  # a worker died: what it did not hand back is run here
    except BaseException:  # an error here, or interrupted: no worker is left running
        _stop(pool)
        raise
    finally:
        _TASKS.clear()
        _NEXT.clear()
    return [first] + [done[i] if i in done else tasks[i]() for i in range(1, len(tasks))]


def _claim() -> int | None:
    """The index of the next task no process has claimed, now claimed; None when none is
    left."""
    counter = _NEXT[0]
    with counter.get_lock():
        index = counter.value
        if index >= len(_TASKS):
            return None
        counter.value = index + 1
    return index


def _drain() -> dict[int, object]:
    """In a worker: run tasks as it claims them, until none is left; what each returned (a
    task that fails is left out, to be run again where its error is raised)."""
    out: dict[int, object] = {}
    while (index := _claim()) is not None:
        try:
            out[index] = _TASKS[index]()
        except Exception:  # noqa: BLE001,S112 - run again in the parent
            continue
    return out


def _stop(pool: ProcessPoolExecutor | None) -> None:
    """End a pool now: its queued requests dropped, its workers terminated (killed if one is
    still running two seconds later) and reaped.

    The pool's own manager thread reaps the workers it sees end, so they are waited for
    through it: a worker joined here too could be reaped by that thread first and look
    alive a moment longer. A worker killed while it wrote its result leaves part of it in
    the result pipe, and the manager thread waits for the rest (for ever: this process
    holds the pipe's other end too), and Python's exit waits for that thread; once every
    worker is gone, that end is closed, so the thread reads the end of the pipe and
    stops."""
    if pool is None:
        return
    workers = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    results = getattr(pool, "_result_queue", None)  # (which shutting down forgets)
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        worker.terminate()
    for worker in workers:
        if not wait([worker.sentinel], 2):  # still running: it ignored the request
            worker.kill()
    if manager is not None:
        manager.join(2)
        if manager.is_alive():  # waiting for the rest of a result no worker will write
            for worker in workers:
                wait([worker.sentinel], 5)
            with contextlib.suppress(AttributeError, OSError):
                results._writer.close()
            manager.join(10)
    for worker in workers:
        worker.join(1)  # reaped by now; this only takes note of it


def prefetch_ops(
    ctx: object,
    search: Search,
    layers,
    name: str,
    request_of: Callable[[int, object], tuple[tuple, Request] | None],
) -> int:
    """A decision pass's prefetch: the ops of ``layers`` (``TrainingLayers``) with no
    context, each asked of ``request_of(index, desc)`` (a key, equal for ops decided alike,
    and the request; None: none), decided in up to ``ctx.jobs`` workers, reported on
    ``ctx``'s status line as pass ``name``. Returns how many were decided."""
    jobs = getattr(ctx, "jobs", 1)
    if jobs <= 1:
        return 0
    requests: dict[tuple, Request] = {}
    for index, desc in enumerate(layers.descs):
        if not has_context(layers.descs, index, layers.target.spm_bytes):
            made = request_of(index, desc)
            if made is not None:
                requests.setdefault(*made)
    return prefetch(search, largest_first(requests.values()), jobs, progress_counter(ctx, name))


def largest_first(requests) -> list[Request]:
    """Requests in the order to hand them out: the largest GEMMs first (the long ones start
    early, the short ones fill the gaps at the end)."""

    def size(request: Request) -> int:
        m, n, k, groups = request[2][0].gemm_dims()
        return -(m * n * k * max(groups, 1))

    return sorted(requests, key=size)


def progress_counter(ctx: object, name: str) -> Callable[[int, int], None]:
    """A ``report`` for :func:`prefetch` that says how far a pass is on ``ctx``'s status line."""
    from igoc.progress import report

    def count(done: int, total: int) -> None:
        report(ctx, f"{name}: {done} of {total} ops decided side by side")

    return count


def _decide(index: int) -> dict[str, dict]:
    """In a worker: make request ``index`` in the worker's copy of the pass's search; what
    that search remembered meanwhile."""
    decide, discipline, args = _REQUESTS[index]
    search = _SEARCH[0]
    memories = [getattr(search, name) for name in Search.MEMORIES]
    marks = [next(reversed(memory), _NONE) for memory in memories]
    decide(search.under(*discipline), *args)
    return {
        name: added_since(memory, mark)
        for name, memory, mark in zip(Search.MEMORIES, memories, marks, strict=True)
    }


_NONE = object()  # the mark of an empty memory


def added_since(memory: dict, mark: object) -> dict:
    """The entries of ``memory`` after key ``mark`` (the newest key when they were added;
    compared by identity), in their order; all of them if ``mark`` has been forgotten (the
    oldest entries go first, so none older is left either). Should the very key object be
    forgotten and added again, the entries before it are left out: the pass then works
    them out again, to the same values."""
    added = []
    for item in reversed(memory.items()):
        if item[0] is mark:
            break
        added.append(item)
    added.reverse()
    return dict(added)
