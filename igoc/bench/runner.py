"""Run a list of jobs: from the cache where possible, the rest in parallel worker processes.

Jobs with equal keys run once. The rest run in groups: the jobs of one input
on one target (its pipelines) run one after another in the same process and
the same compile session (``jobs.new_session``), so that the schedules they
share are searched and estimated once (the baseline's
GEMMs are candidates of every other pipeline; ``igo`` decides the orders
``igo-rearrange`` decides): FasterRCNN's four pipelines on ``edge`` compile in
about 150 s that way, against 250 s in four processes of their own. Groups run
longest first (by the size of their input), so that two workers finish
together, in a ``spawn`` process pool of ``workers`` processes (or in this
process when ``workers`` is 1). Each finished job prints one progress line on
stderr with its times and an estimate of the time left; its result goes to the
cache at once, so an interrupted run loses only the jobs under way. A worker that dies (killed,
out of memory) takes the pool down with it; the jobs it left unfinished run
again in a fresh pool, and if a worker dies there too they fail, and that
failure is not cached.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from igoc.bench.cache import ResultCache
from igoc.bench.jobs import Job, compiler_fingerprint, job_key, new_session, run_job


def _format_duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass
class Progress:
    """Progress lines on a stream: one per finished job, with an estimate of the time left."""

    stream: TextIO | None = None  # None: silent
    clock: Callable[[], float] = time.perf_counter
    total: int = 0  # jobs to compute
    done: int = 0
    started: float = field(default=0.0)

    def begin(self, unique_jobs: int, cached: int, workers: int, not_run: int = 0) -> None:
        """Say how many jobs there are, how many come from the cache, how many run."""
        self.total = unique_jobs - cached - not_run
        self.started = self.clock()
        if self.stream is not None and unique_jobs:
            running = f"{self.total} to run" + (f" on {workers} workers" if workers > 1 else "")
            if not_run:
                running = f"{not_run} not run (not in the cache)"
            self._say(f"igoc-bench: {unique_jobs} jobs, {cached} from the cache, {running}")

    def finished(self, job: Job, result: dict) -> None:
        """Report one computed job."""
        self.done += 1
        if self.stream is None:
            return
        timing = result.get("timing", {})
        seconds = timing.get("compile_s", 0.0) + timing.get("simulate_s", 0.0)
        detail = f"{seconds:.1f} s"
        if "simulate_s" in timing:
            detail += (
                f" (compile {timing['compile_s']:.1f} s, simulate {timing['simulate_s']:.1f} s)"
            )
        if result["status"] != "ok":
            detail += f" FAILED ({result.get('stage', '?')}): {result.get('error', '')}"
        elapsed = self.clock() - self.started
        left = elapsed / self.done * (self.total - self.done)
        width = len(str(self.total))
        clock = f"{_format_duration(elapsed)} elapsed"
        if self.done < self.total:
            clock += f", about {_format_duration(left)} left"
        self._say(f"[{self.done:{width}d}/{self.total}] {job.describe()}: {detail}; {clock}")

    def _say(self, line: str) -> None:
        assert self.stream is not None
        print(line, file=self.stream, flush=True)


NOT_RUN = {"status": "failed", "stage": "not run", "error": "not in the cache", "transient": True}
"""The record of a job that ``cached_only`` did not run."""


def _describe(job: Job) -> dict:
    """What a cache entry records of its job, for a reader (the key is what counts)."""
    return {
        "input": job.input_name,
        "model": job.model,
        "batch": job.batch,
        "target": job.target_name,
        "pipeline": job.pipeline,
        "pass_pipeline": job.pass_pipeline,
    }


WORKER_ATTEMPTS = 2
"""Pools a job may run in: a second one when a worker of the first died."""

POLL_SECONDS = 0.5
"""How often the parent looks up from waiting for workers (for Ctrl-C)."""


_FINISHED: Any = None
"""In a worker: the queue on which each finished job's key and result go to the parent."""


def _start_worker(finished: Any) -> None:
    """Worker initialiser: Ctrl-C is the parent's to handle; results go on ``finished``."""
    global _FINISHED
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _FINISHED = finished


def _run_group(
    run: Callable[[Job, Any], dict], group: list[tuple[str, Job]]
) -> list[tuple[str, dict]]:
    """Run a group's jobs one after another in one session (in a worker: each result is sent
    as it is done)."""
    results = []
    session = new_session()
    for key, job in group:
        result = run(job, session)
        if _FINISHED is not None:
            _FINISHED.put((key, result))
        results.append((key, result))
    return results


def groups_of(pending: list[tuple[str, Job]]) -> list[list[tuple[str, Job]]]:
    """The jobs grouped by input and target, in their order; the groups longest input first."""
    groups: dict[tuple[str, str], list[tuple[str, Job]]] = {}
    for key, job in pending:
        groups.setdefault((job.text, job.target_toml), []).append((key, job))
    return sorted(groups.values(), key=lambda group: (-len(group[0][1].text), -len(group)))


def run_jobs(
    jobs: list[Job],
    workers: int = 1,
    cache: ResultCache | None = None,
    progress: Progress | None = None,
    cached_only: bool = False,
) -> list[dict]:
    """The result of every job, in the order of ``jobs``.

    ``cached_only``: run nothing; a job missing from the cache gets a failed
    record with stage ``not run`` (to report what an interrupted run finished).
    """
    progress = progress if progress is not None else Progress()
    fingerprint = compiler_fingerprint()
    keys = [job_key(job, fingerprint) for job in jobs]
    unique = dict(zip(keys, jobs, strict=True))
    results: dict[str, dict] = {}
    if cache is not None:
        for key in unique:
            hit = cache.get(key)
            if hit is not None:
                results[key] = hit
    pending = [(key, job) for key, job in unique.items() if key not in results]
    if cached_only:
        progress.begin(len(unique), len(results), 0, not_run=len(pending))
        for key, _ in pending:
            results[key] = dict(NOT_RUN)
        pending = []
    else:
        progress.begin(len(unique), len(results), min(workers, max(len(pending), 1)))

    def record(key: str, job: Job, result: dict) -> None:
        results[key] = result
        if cache is not None and not result.get("transient"):
            cache.put(key, _describe(job), result)
        progress.finished(job, result)

    groups = groups_of(pending)
    if workers <= 1 or len(pending) <= 1:
        for group in groups:
            session = new_session()
            for key, job in group:
                record(key, job, run_job(job, session))
    elif groups:
        _run_pool(groups, workers, record)
    return [results[key] for key in keys]


def _run_pool(groups: list[list[tuple[str, Job]]], workers: int, record) -> None:
    """Run the groups in a process pool; when a worker dies, once more in a fresh pool.

    A dead worker breaks the whole pool: every job not finished by then fails
    with it, though most never started. So those jobs get a second pool; a job
    that kills its worker again (out of memory, say) then fails for good.
    """
    for attempt in range(WORKER_ATTEMPTS):
        last = attempt == WORKER_ATTEMPTS - 1
        groups = _run_pool_once(groups, workers, record, keep_broken=not last)
        if not groups:
            return


def _run_pool_once(
    groups: list[list[tuple[str, Job]]], workers: int, record, keep_broken: bool
) -> list[list[tuple[str, Job]]]:
    """Run the groups in one pool; the jobs lost to a dead worker (if ``keep_broken``)
    are left unrecorded and returned, still in their groups."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")
    finished = context.Queue()
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(groups)),
        mp_context=context,
        initializer=_start_worker,
        initargs=(finished,),
    )
    jobs = {key: job for group in groups for key, job in group}
    recorded: set[str] = set()
    broken: list[list[tuple[str, Job]]] = []

    def take(key: str, result: dict) -> None:
        if key not in recorded:
            recorded.add(key)
            record(key, jobs[key], result)

    def drain() -> None:
        while True:
            try:
                key, result = finished.get_nowait()
            except queue.Empty:
                return
            take(key, result)

    try:
        futures = {pool.submit(_run_group, run_job, group): group for group in groups}
        waiting = set(futures)
        while waiting:
            # Wake up now and then, so that Ctrl-C is handled while long jobs run.
            done, waiting = wait(waiting, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            drain()
            for future in sorted(done, key=lambda f: futures[f][0][0]):
                group = futures[future]
                error = future.exception()
                if error is None:
                    for key, result in future.result():
                        take(key, result)
                    continue
                left = [(key, job) for key, job in group if key not in recorded]
                if keep_broken and isinstance(error, BrokenProcessPool):
                    if left:
                        broken.append(left)
                else:
                    for key, _ in left:
                        take(key, _outcome(future))
    except BaseException:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    drain()
    finished.close()
    return broken


def _outcome(future) -> dict:
    """A finished future's result record; a failure of the worker process when it died."""
    try:
        return future.result()
    except Exception as err:  # noqa: BLE001 - the worker died, not igoc
        reason = " ".join(str(err).split()) or type(err).__name__
        return {"status": "failed", "stage": "worker", "error": reason, "transient": True}


def stderr_progress(enabled: bool) -> Progress:
    """A progress reporter on stderr, or a silent one."""
    return Progress(stream=sys.stderr if enabled else None)
