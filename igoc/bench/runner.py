"""Run a list of jobs: from the cache where possible, the rest on Dask distributed.

Jobs with equal keys run once. The rest run in groups: the jobs of one input
on one target (its pipelines) run one after another in the same process and
the same compile session (``jobs.new_session``), so that the schedules they
share are searched and estimated once (the baseline's
GEMMs are candidates of every other pipeline; ``igo`` decides the orders
``igo-rearrange`` decides): FasterRCNN's four pipelines on ``edge`` compile in
about 150 s that way, against 250 s in four processes of their own. When there
are fewer groups than workers, the largest groups are split into single jobs,
so that no worker idles while another works through a group.

With one worker and no scheduler, the groups run in this process. Otherwise
each group is one Dask task (:func:`run_group`), on a ``LocalCluster`` of
``workers`` processes that this module starts and stops, or on the cluster
whose scheduler address is given. A task's key is a hash of its jobs' keys,
so a group submitted twice (by two clients of one cluster, say) runs once.
Groups are submitted longest input first, one each time a thread of the
cluster is free, and run in that order: while the workers are up, none waits
on a worker behind another (a task whose worker died is placed again by Dask
at once, behind another task if no worker is free). Each job's result comes
back as it is done (a Dask event on a topic of this client's), is stored in
the cache at once and prints a progress line, so an interrupted run loses only
the jobs under way; the finished group's own result fills in any event that
went astray.

A worker that dies (killed, out of memory) is restarted by its nanny and the
scheduler runs its task again: on the local cluster once (Dask's
``allowed-failures`` is 1 there), on another cluster as that cluster allows.
The rerun takes the jobs the group had finished from the cache. When the
task's worker dies again, the job it was running fails (uncached) and the
rest of its group is submitted anew. Nothing here outlives this process: the
local cluster's workers exit when it does, even after ``kill -9``.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import hashlib
import logging
import queue
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
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

    def begin(
        self, unique_jobs: int, cached: int, workers: int, not_run: int = 0, where: str = ""
    ) -> None:
        """Say how many jobs there are, how many come from the cache, how many run (and where)."""
        self.total = unique_jobs - cached - not_run
        self.started = self.clock()
        if self.stream is not None and unique_jobs:
            running = f"{self.total} to run" + (f" on {workers} workers" if workers > 1 else "")
            running += where
            if not_run:
                running = f"{not_run} not run (not in the cache)"
            jobs = f"{unique_jobs} job{'' if unique_jobs == 1 else 's'}"
            self._say(f"igoc-bench: {jobs}, {cached} from the cache, {running}")

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


Group = list[tuple[str, Job]]
"""Jobs (with their keys) that run one after another in one process."""


def groups_of(pending: list[tuple[str, Job]]) -> list[Group]:
    """The jobs grouped by input and target, in their order; the groups longest input first."""
    groups: dict[tuple[str, str], Group] = {}
    for key, job in pending:
        groups.setdefault((job.text, job.target_toml), []).append((key, job))
    return sorted(groups.values(), key=lambda group: (-len(group[0][1].text), -len(group)))


def spread(groups: list[Group], workers: int) -> list[Group]:
    """The groups, with the largest split into single jobs while there are fewer than workers.

    A group saves search time only over running its jobs in parallel on
    workers that would otherwise idle; the order stays longest input first.
    """
    groups = list(groups)
    while len(groups) < workers:
        splittable = [i for i, group in enumerate(groups) if len(group) > 1]
        if not splittable:
            break
        i = splittable[0]  # the longest input among them: groups are sorted so
        groups[i : i + 1] = [[job] for job in groups[i]]
    return groups


def group_key(group: Group) -> str:
    """The Dask key of a group's task: a hash of its jobs' keys, in order."""
    digest = hashlib.sha256("\n".join(key for key, _ in group).encode()).hexdigest()
    return f"igoc-bench-{digest}"


def run_jobs(
    jobs: list[Job],
    workers: int = 1,
    cache: ResultCache | None = None,
    progress: Progress | None = None,
    cached_only: bool = False,
    scheduler: str | None = None,
    run: Callable[[Job], dict] | None = None,
) -> list[dict]:
    """The result of every job, in the order of ``jobs``.

    ``workers``: processes of the local Dask cluster (1: run in this process);
    ``scheduler``: the address of a running Dask scheduler to submit to instead.
    ``cached_only``: run nothing; a job missing from the cache gets a failed
    record with stage ``not run`` (to report what an interrupted run finished).
    ``run``: what computes a job (default :func:`~igoc.bench.jobs.run_job`, the jobs
    of a group sharing one compile session); it must be importable where the jobs run.
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

    def record(key: str, job: Job, result: dict) -> None:
        if key in results:
            return
        results[key] = result
        if cache is not None and not result.get("transient"):
            cache.put(key, _describe(job), result)
        progress.finished(job, result)

    if cached_only:
        progress.begin(len(unique), len(results), 0, not_run=len(pending))
        for key, _ in pending:
            results[key] = dict(NOT_RUN)
    elif scheduler is None and (workers <= 1 or len(pending) <= 1):
        progress.begin(len(unique), len(results), 1)
        for group in groups_of(pending):
            compute = group_runner(run)
            for key, job in group:
                record(key, job, compute(job))
            del compute  # as ``run_group`` does: the session goes, then the group's cycles
            gc.collect()
    elif pending:
        groups = groups_of(pending)
        with dask_client(min(workers, len(pending)), scheduler) as client:
            threads = max(sum(client.nthreads().values()), 1)
            where = f" at {scheduler}" if scheduler else ""
            progress.begin(len(unique), len(results), threads, where=where)
            folder = str(cache.folder) if cache is not None else None
            _run_on_dask(client, spread(groups, threads), run, record, folder)
    else:
        progress.begin(len(unique), len(results), 1)
    return [results[key] for key in keys]


# ---- Dask ---------------------------------------------------------------------------------------

LOCAL_CLUSTER_CONFIG = {
    # A task whose worker died runs once more; if that worker dies too, the task fails.
    "distributed.scheduler.allowed-failures": 1,
    # A worker takes a new group only when it is free: a group's jobs then run back to back.
    "distributed.scheduler.worker-saturation": 1.0,
}

POLL_SECONDS = 0.2
"""How often the client looks up when nothing comes (for Ctrl-C, and to give a worker back from
a restart a group)."""


class ClusterError(Exception):
    """A Dask cluster that cannot be reached or started (exit 1)."""


@contextlib.contextmanager
def dask_client(workers: int, scheduler: str | None = None) -> Iterator[Any]:
    """A Dask client: of the cluster at ``scheduler``, or of a local cluster started for it.

    The local cluster listens on 127.0.0.1 only and has ``workers`` processes
    of one thread each, no memory limit (a job takes what it needs), no
    dashboard, and Dask's own log messages only for errors. Its scratch space
    is in a temporary folder made for it and removed when it stops.
    """
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        _probe(scheduler)
        try:
            client = Client(scheduler)
        except (OSError, ValueError, TypeError) as err:
            raise ClusterError(_unreachable(scheduler, err)) from None
        with client:
            _check_workers(client, scheduler)
            yield client
        return
    try:
        scratch = tempfile.mkdtemp(prefix="igoc-bench-dask-")
    except OSError as err:
        raise ClusterError(f"cannot make a folder for a local Dask cluster: {err}") from None
    try:
        # Scheduler and workers keep their scratch space (dask-scratch-space) in a folder of
        # this cluster's own, which goes with it, whatever ends the run.
        with dask.config.set({**LOCAL_CLUSTER_CONFIG, "temporary-directory": scratch}):
            try:
                cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    memory_limit=0,
                    dashboard_address=None,
                    # The scheduler serves HTTP (health, metrics) even without a dashboard: on
                    # any free port of this machine only, so that clusters side by side never
                    # collide.
                    scheduler_kwargs={
                        "dashboard": False,
                        "dashboard_address": "127.0.0.1:0",
                        "local_directory": scratch,
                    },
                    local_directory=scratch,
                    silence_logs=logging.ERROR,
                    preload=[__name__],  # dask_setup below, in every worker (restarted ones too)
                )
            except (OSError, RuntimeError) as err:
                raise ClusterError(f"cannot start a local Dask cluster: {err}") from None
        with cluster, Client(cluster) as client:
            yield client
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _probe(scheduler: str) -> None:
    """Raise ClusterError unless a Dask scheduler answers at ``scheduler`` within Dask's connect
    timeout (``distributed.comm.timeouts.connect``, 30 s unless configured).

    Tried first with an asynchronous client, which a timeout can cancel: something else
    listening there (the dashboard's HTTP port, a proxy) may never answer Dask's handshake,
    and a client made the usual way would wait for it for ever, or take an HTTP reply for
    the length of a message.
    """
    import asyncio

    import dask
    from dask.utils import parse_timedelta
    from distributed import Client

    seconds = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"))

    async def connect() -> None:
        client = Client(scheduler, asynchronous=True, timeout=seconds)
        try:
            await asyncio.wait_for(client, seconds + 2)  # Dask's own error first, if it has one
        finally:
            await client.close()

    try:
        asyncio.run(connect())
    except TimeoutError:
        raise ClusterError(
            f"no Dask scheduler answered at {scheduler} within {seconds:g} s (a scheduler "
            "listens on port 8786 unless told otherwise; 8787 is its dashboard's)"
        ) from None
    except (OSError, ValueError, TypeError) as err:
        raise ClusterError(_unreachable(scheduler, err)) from None
    except Exception as err:  # noqa: BLE001 - what answered does not speak Dask's protocol
        raise ClusterError(
            f"what answers at {scheduler} is not a Dask scheduler ({type(err).__name__} "
            "in Dask's handshake)"
        ) from None


def _unreachable(scheduler: str, err: Exception) -> str:
    reason = " ".join(str(err).split()) or type(err).__name__
    return f"cannot reach the Dask scheduler at {scheduler}: {reason}"


def dask_setup(worker: Any) -> None:
    """Set up a worker of the local cluster (a Dask preload): Ctrl-C is igoc-bench's to handle.

    A terminal's Ctrl-C reaches every process of the group; igoc-bench then
    closes the cluster, which stops its workers.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _check_workers(client: Any, scheduler: str) -> None:
    """Refuse a cluster whose workers run another igoc: their results would be cached wrongly."""
    from igoc.bench import jobs

    mine = compiler_fingerprint()
    theirs = client.run(jobs.compiler_fingerprint)  # computed by each worker's own igoc
    others = sorted(address for address, value in theirs.items() if value != mine)
    if others:
        raise ClusterError(
            f"the workers of the Dask cluster at {scheduler} run another igoc (its source or "
            f"its xdsl, lark or numpy differ): {', '.join(others)}"
        )


def group_runner(run: Callable[[Job], dict] | None) -> Callable[[Job], dict]:
    """What computes the jobs of one group: ``run``, or by default ``run_job`` in one compile
    session that the group's jobs share (their searches are shared; results are the same)."""
    if run is not None:
        return run
    session = new_session()
    return lambda job: run_job(job, session)


def run_group(
    run: Callable[[Job], dict] | None,
    group: Group,
    topic: str | None = None,
    cache_folder: str | None = None,
) -> list[tuple[str, dict]]:
    """A Dask task: run a group's jobs in turn, each result sent on ``topic`` as it is done.

    A job already in the cache (a rerun after the worker died) is taken from there.
    """
    import pathlib

    cache = ResultCache(pathlib.Path(cache_folder)) if cache_folder else None
    worker = _current_worker() if topic else None
    results = []
    compute = group_runner(run)
    for key, job in group:
        result = cache.get(key) if cache is not None else None
        if result is None:
            result = compute(job)
        if worker is not None:
            worker.log_event(topic, {"key": key, "result": result})
        results.append((key, result))
    del compute  # the group's session, and with it its search
    gc.collect()  # what the group's jobs left in cycles, before the worker's next group
    return results


def _current_worker() -> Any:
    from distributed import get_worker

    try:
        return get_worker()
    except ValueError:  # not in a worker
        return None


def _run_on_dask(
    client: Any,
    groups: list[Group],
    run: Callable[[Job], dict] | None,
    record: Callable[[str, Job, dict], None],
    cache_folder: str | None,
) -> None:
    """Submit the groups, no more at a time than the cluster has threads; record each job's
    result as it comes; submit anew what a death left.

    A task is submitted only when a thread is free for it, so that it waits on no worker
    behind another task: Dask counts a worker's death against every task it held, the ones
    waiting there too, and a group that only waited behind one that kills its worker would
    fail with it (Dask queues tasks on the scheduler by itself only when there are many more
    of them than threads). A task whose worker died is the exception: Dask places it again
    at once, on a busy worker if no other is free.
    """
    jobs = {key: job for group in groups for key, job in group}
    done: set[str] = set()
    wake: queue.Queue = queue.Queue()  # ("result", message) and ("done", future)
    topic = f"igoc-bench-{client.id}"
    client.subscribe_topic(topic, lambda event: wake.put(("result", event[1])))

    def take(key: str, result: dict) -> None:
        if key in jobs and key not in done:
            done.add(key)
            record(key, jobs[key], result)

    counter = iter(range(len(jobs), 0, -1))  # earlier groups first; never more than the jobs
    waiting = collections.deque(groups)
    running: dict[Any, Group] = {}

    def fill() -> None:
        threads = sum(client.nthreads().values()) if waiting else 0
        while waiting and len(running) < max(threads, 1):
            group = waiting.popleft()
            future = client.submit(
                run_group,
                run,
                group,
                topic,
                cache_folder,
                key=group_key(group),
                priority=next(counter),
            )
            running[future] = group
            future.add_done_callback(lambda f: wake.put(("done", f)))

    def finished(future: Any) -> None:
        group = running.pop(future)
        if future.status == "finished":
            for key, result in future.result():
                take(key, result)
            return
        drain()  # results its jobs sent before the task failed
        left = [(key, job) for key, job in group if key not in done]
        if left:
            take(left[0][0], _worker_failure(future))  # the job it was running
            if left[1:]:
                waiting.appendleft(left[1:])

    def handle(item: tuple[str, Any]) -> None:
        kind, value = item
        if kind == "result":
            take(value["key"], value["result"])
        elif value in running:
            finished(value)

    def drain() -> None:
        while True:
            try:
                item = wake.get_nowait()
            except queue.Empty:
                return
            handle(item)

    try:
        fill()
        while running:
            try:
                handle(wake.get(timeout=POLL_SECONDS))
                drain()
            except queue.Empty:  # now and then: for Ctrl-C, and for a worker back from a restart
                pass
            fill()
        drain()
    finally:
        client.unsubscribe_topic(topic)


def _worker_failure(future: Any) -> dict:
    """The record of the job a task was running when its worker died (twice), or it failed."""
    try:
        error = future.exception()
    except Exception as err:  # noqa: BLE001 - cancelled: the cluster lost the task
        error = err
    name = type(error).__name__
    if name == "KilledWorker":
        reason = "its worker died each time it ran (killed, or out of memory)"
    else:
        reason = " ".join(str(error).split()) or name
    return {"status": "failed", "stage": "worker", "error": reason, "transient": True}


def stderr_progress(enabled: bool) -> Progress:
    """A progress reporter on stderr, or a silent one."""
    return Progress(stream=sys.stderr if enabled else None)
