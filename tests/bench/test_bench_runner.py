"""The runner: equal jobs run once, failures of igoc are cached, failures of the machine not;
on Dask the same results, a killed worker's job runs again, resubmitted work runs once."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import itertools
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from igoc.bench import runner
from igoc.bench.cache import ResultCache
from igoc.bench.jobs import Job, compiler_fingerprint, job_key
from igoc.bench.plan import plan
from igoc.bench.runner import Progress, run_jobs
from igoc.bench.tables import render_tables
from igoc.target import load_target

LINEAR = pathlib.Path(__file__).parents[2] / "samples" / "basics" / "linear.mlir"


@pytest.fixture
def job() -> Job:
    return Job(
        row="linear",
        model="linear",
        batch=None,
        input_name="linear.mlir",
        text=LINEAR.read_text(),
        target_name="edge",
        target_toml=load_target("edge").to_toml(),
        pipeline="baseline",
    )


def test_equal_jobs_run_once(job, tmp_path):
    stream = io.StringIO()
    results = run_jobs([job, job], 1, ResultCache(tmp_path), Progress(stream))
    assert results[0] == results[1] and results[0]["status"] == "ok"
    lines = stream.getvalue().splitlines()
    assert lines[0] == "igoc-bench: 1 job, 0 from the cache, 1 to run"
    assert len(lines) == 2 and lines[1].startswith("[1/1] linear.mlir on edge, baseline: ")


def test_failures_of_igoc_are_cached(job, tmp_path):
    broken = dataclasses.replace(job, text="func.func @f(\n")
    cache = ResultCache(tmp_path)
    (result,) = run_jobs([broken], 1, cache)
    assert result["status"] == "failed" and result["stage"] == "compile"
    assert result["error"].startswith("linear.mlir:1:14: error: unexpected end of the input")
    assert result["transient"] is False
    assert len(list(tmp_path.rglob("*.json"))) == 1


def test_failures_of_the_machine_are_not(job, tmp_path, monkeypatch):
    def out_of_memory(_job, _session=None):
        return {"status": "failed", "stage": "compile", "error": "MemoryError", "transient": True}

    monkeypatch.setattr(runner, "run_job", out_of_memory)
    (result,) = run_jobs([job], 1, ResultCache(tmp_path))
    assert result["error"] == "MemoryError"
    assert not list(tmp_path.rglob("*.json"))


def test_progress_estimates_the_time_left(job):
    ticks = itertools.count(0.0, 10.0)  # every look at the clock is 10 s later
    stream = io.StringIO()
    progress = Progress(stream, clock=lambda: next(ticks))
    progress.begin(unique_jobs=5, cached=1, workers=2)
    ok = {"status": "ok", "timing": {"compile_s": 2.0, "simulate_s": 0.5}}
    progress.finished(job, ok)
    failed = {"status": "failed", "stage": "simulate", "error": "boom", "timing": {}}
    progress.finished(job, failed)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "igoc-bench: 5 jobs, 1 from the cache, 4 to run on 2 workers"
    assert lines[1] == (
        "[1/4] linear.mlir on edge, baseline: 2.5 s (compile 2.0 s, simulate 0.5 s); "
        "0:10 elapsed, about 0:30 left"
    )
    assert lines[2] == (
        "[2/4] linear.mlir on edge, baseline: 0.0 s FAILED (simulate): boom; "
        "0:20 elapsed, about 0:20 left"
    )


def test_cached_only_runs_nothing(job, tmp_path):
    cache = ResultCache(tmp_path)
    stream = io.StringIO()
    (missing,) = run_jobs([job], 1, cache, Progress(stream), cached_only=True)
    assert (
        stream.getvalue() == "igoc-bench: 1 job, 0 from the cache, 1 not run (not in the cache)\n"
    )
    assert missing["status"] == "failed" and missing["stage"] == "not run"
    assert not list(tmp_path.rglob("*.json"))
    (computed,) = run_jobs([job], 1, cache)
    assert run_jobs([job], 1, cache, cached_only=True) == [computed]


# ---- on Dask -------------------------------------------------------------------------------------
# One local cluster (two workers, igoc-bench's own settings) serves every test below: starting
# one costs seconds. The tests submit to it by its address, as --scheduler does.


@pytest.fixture(scope="module")
def cluster():
    """The scheduler address of a local Dask cluster of two worker processes."""
    with runner.dask_client(2) as client:
        yield client.scheduler.address


def _jobs(job: Job, texts: int, pipelines: tuple[str, ...], row: str) -> list[Job]:
    """Jobs of ``texts`` distinct inputs (the linear layer, commented apart) x ``pipelines``."""
    inputs = [job.text + f"// input {n}\n" for n in range(texts)]
    return [
        dataclasses.replace(job, text=text, input_name=f"in{n}.mlir", pipeline=p, row=row)
        for n, text in enumerate(inputs)
        for p in pipelines
    ]


def _log(job: Job) -> pathlib.Path:
    """Where a test's run function notes each run of a job (the row names the test's folder)."""
    return pathlib.Path(job.row) / f"{job.input_name}-{job.pipeline}.runs"


def _note_run(job: Job) -> int:
    """Note a run of the job; how many runs there were, this one included."""
    with _log(job).open("a") as stream:
        stream.write(f"{os.getpid()}\n")
    return len(_log(job).read_text().splitlines())


def counted(job: Job) -> dict:
    """Run in a worker: note the run and say which process ran the job."""
    _note_run(job)
    return {"status": "ok", "pid": os.getpid(), "pipeline": job.pipeline}


def killed_the_first_time(job: Job) -> dict:
    """Run in a worker: the igo job of in0 kills its worker in mid-job the first time it runs."""
    runs = _note_run(job)
    if job.pipeline == "igo" and job.input_name == "in0.mlir" and runs == 1:
        time.sleep(1.0)  # mid-job: in0's baseline result has reached the client meanwhile
        os.kill(os.getpid(), signal.SIGKILL)
    return {"status": "ok", "cycles": len(job.pipeline), "input": job.input_name}


def killed_always(job: Job) -> dict:
    """Run in a worker: the baseline job of in0 kills its worker every time."""
    _note_run(job)
    if job.pipeline == "baseline" and job.input_name == "in0.mlir":
        os.kill(os.getpid(), signal.SIGKILL)
    return {"status": "ok", "cycles": len(job.pipeline), "input": job.input_name}


def held_by_its_worker(job: Job) -> dict:
    """Run in a worker: how many tasks the worker holds (this one included), a while after the
    job started (what was submitted meanwhile has reached the worker)."""
    from distributed import get_worker

    time.sleep(0.3)
    tasks = list(get_worker().state.tasks.values())  # copied at once, under the GIL
    held = [t for t in tasks if t.state in ("executing", "ready")]
    return {"status": "ok", "held": len(held)}


def _runs(folder: pathlib.Path) -> dict[str, int]:
    return {p.name[: -len(".runs")]: len(p.read_text().splitlines()) for p in folder.glob("*.runs")}


def _without_timing(results: list[dict]) -> list[dict]:
    """The records as JSON reads them back (tuples are lists there), without the timings."""
    return [json.loads(json.dumps({k: v for k, v in r.items() if k != "timing"})) for r in results]


def test_dask_gives_the_same_results_and_tables_as_one_process(cluster, tmp_path):
    planned = plan(
        targets=["edge", "server"],
        models=[str(LINEAR), str(LINEAR.with_name("conv3x3.mlir"))],
        pipelines=["igo"],
    )
    assert len(planned.jobs) == 8
    alone = run_jobs(planned.jobs, 1)
    stream = io.StringIO()
    on_dask = run_jobs(
        planned.jobs, cache=ResultCache(tmp_path), progress=Progress(stream), scheduler=cluster
    )
    assert all(r["status"] == "ok" for r in on_dask)
    assert _without_timing(on_dask) == _without_timing(alone)
    assert render_tables(planned.bench(on_dask)) == render_tables(planned.bench(alone))
    lines = stream.getvalue().splitlines()
    assert lines[0] == f"igoc-bench: 8 jobs, 0 from the cache, 8 to run on 2 workers at {cluster}"
    assert len(lines) == 9 and len(list(tmp_path.rglob("*.json"))) == 8  # cached as they came


def test_a_worker_killed_mid_job_runs_the_job_again_once(cluster, job, tmp_path):
    jobs = _jobs(job, 2, ("baseline", "igo"), str(tmp_path))
    results = run_jobs(
        jobs, cache=ResultCache(tmp_path / "cache"), scheduler=cluster, run=killed_the_first_time
    )
    assert [r["status"] for r in results] == ["ok"] * 4
    assert [r["cycles"] for r in results] == [8, 3, 8, 3]
    # in0's igo ran twice (killed, then whole); in0's baseline, done before the kill, once:
    # the group's rerun took it from the cache.
    assert _runs(tmp_path) == {
        "in0.mlir-baseline": 1,
        "in0.mlir-igo": 2,
        "in1.mlir-baseline": 1,
        "in1.mlir-igo": 1,
    }
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 4


def test_a_job_that_always_kills_its_worker_fails_uncached_and_its_group_goes_on(
    cluster, job, tmp_path
):
    jobs = _jobs(job, 2, ("baseline", "igo"), str(tmp_path))
    stream = io.StringIO()
    results = run_jobs(
        jobs,
        cache=ResultCache(tmp_path / "cache"),
        progress=Progress(stream),
        scheduler=cluster,
        run=killed_always,
    )
    failed, *others = results
    assert failed["status"] == "failed" and failed["stage"] == "worker" and failed["transient"]
    assert "its worker died each time it ran" in failed["error"]
    assert [r["status"] for r in others] == ["ok"] * 3
    assert _runs(tmp_path)["in0.mlir-baseline"] == 2  # the first run and the one rerun
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 3  # not the failure
    assert "in0.mlir on edge, baseline: 0.0 s FAILED (worker)" in stream.getvalue()


def test_a_group_waits_on_no_worker_behind_another(cluster, job, tmp_path):
    """Each group is submitted when a thread is free for it: Dask counts a worker's death
    against every task the worker holds, and a group held behind one that kills its worker
    would fail with it (as a small run did, its worker restarting after a kill). Four groups on
    two workers: Dask queues them on the scheduler by itself only when they are many more."""
    jobs = _jobs(job, 4, ("baseline",), str(tmp_path))
    results = run_jobs(jobs, scheduler=cluster, run=held_by_its_worker)
    assert [r["held"] for r in results] == [1, 1, 1, 1]


def test_resubmitted_work_runs_once_on_the_cluster(cluster, job, tmp_path):
    from distributed import Client, wait

    jobs = _jobs(job, 2, ("baseline",), str(tmp_path))
    keys = [job_key(j, compiler_fingerprint()) for j in jobs]
    groups = runner.spread(runner.groups_of(list(zip(keys, jobs, strict=True))), 2)
    with Client(cluster) as other:
        # Another client's tasks for the same groups, still held: the run finds them by key.
        held = [other.submit(runner.run_group, counted, g, key=runner.group_key(g)) for g in groups]
        wait(held)
        results = run_jobs(jobs, scheduler=cluster, run=counted)
        assert [r["status"] for r in results] == ["ok", "ok"]
    assert _runs(tmp_path) == {"in0.mlir-baseline": 1, "in1.mlir-baseline": 1}


def test_the_pipelines_of_one_input_and_target_run_in_one_process(cluster, job, tmp_path):
    pipelines = ("baseline", "igo-interleave", "igo")
    jobs = _jobs(job, 2, pipelines, str(tmp_path))
    stream = io.StringIO()
    results = run_jobs(jobs, progress=Progress(stream), scheduler=cluster, run=counted)
    assert [r["pipeline"] for r in results] == list(pipelines) * 2
    assert len({r["pid"] for r in results[:3]}) == 1
    assert len({r["pid"] for r in results[3:]}) == 1
    assert len(stream.getvalue().splitlines()) == 1 + len(jobs)  # a line per job


def with_session(job: Job, session=None) -> dict:
    """In place of ``run_job``: the record holds the compile session the job ran in."""
    return {"status": "ok", "session": session, "pipeline": job.pipeline}


def test_the_jobs_of_a_group_share_one_compile_session(job, monkeypatch):
    monkeypatch.setattr(runner, "run_job", with_session)
    jobs = _jobs(job, 2, ("baseline", "igo"), "x")
    first, second, third, fourth = run_jobs(jobs, 1)  # in this process, group by group
    assert first["session"] is not None and first["session"] is second["session"]
    assert third["session"] is fourth["session"] and third["session"] is not first["session"]
    keys = [job_key(j, compiler_fingerprint()) for j in jobs]
    (group, _) = runner.groups_of(list(zip(keys, jobs, strict=True)))
    (_, a), (_, b) = runner.run_group(None, group)  # a Dask task's body, here
    assert a["session"] is b["session"] and a["session"] is not first["session"]


def test_a_group_lets_its_session_and_its_cycles_go_when_it_is_done(job, monkeypatch):
    """A group's session (and so its search) lives as long as the group; a cycle its jobs left is
    collected once the group is done, not after every job (a full collection then scanned
    the session's search each time)."""
    import gc
    import weakref

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    made: list[weakref.ref] = []
    collections: list[int] = []

    def leave_a_cycle(job: Job, session=None) -> dict:
        made.append(weakref.ref(Cycle()))
        made.append(weakref.ref(session))
        return {"status": "ok"}

    monkeypatch.setattr(runner, "run_job", leave_a_cycle)
    jobs = _jobs(job, 2, ("baseline", "igo"), "x")
    keys = [job_key(j, compiler_fingerprint()) for j in jobs]
    (group, _) = runner.groups_of(list(zip(keys, jobs, strict=True)))

    def count(phase: str, info: dict) -> None:
        collections.append(info["generation"])

    was = gc.isenabled()
    gc.disable()  # only the group's own collection may free the cycles
    gc.callbacks.append(count)
    try:
        runner.run_group(None, group)
    finally:
        gc.callbacks.remove(count)
        if was:
            gc.enable()
    assert len(made) == 4 and all(ref() is None for ref in made)
    assert collections == [2, 2]  # one full collection: its start and its end


def test_fewer_groups_than_workers_are_split(job):
    jobs = _jobs(job, 2, ("baseline", "igo"), "x")
    pending = [(str(n), j) for n, j in enumerate(jobs)]
    groups = runner.groups_of(pending)
    assert [[k for k, _ in g] for g in groups] == [["0", "1"], ["2", "3"]]
    assert runner.spread(groups, 2) == groups
    assert [[k for k, _ in g] for g in runner.spread(groups, 3)] == [["0"], ["1"], ["2", "3"]]
    assert [[k for k, _ in g] for g in runner.spread(groups, 8)] == [["0"], ["1"], ["2"], ["3"]]
    assert runner.group_key(groups[0]) != runner.group_key(groups[1])
    assert runner.group_key(groups[0]).startswith("igoc-bench-")


def test_a_cluster_running_another_igoc_is_refused(cluster, job, monkeypatch, tmp_path):
    # Its results would be cached under keys made by this igoc's source.
    monkeypatch.setattr(runner, "compiler_fingerprint", lambda: "another igoc")
    with pytest.raises(runner.ClusterError, match="run another igoc .*: tcp://127.0.0.1:"):
        run_jobs(
            [job, dataclasses.replace(job, pipeline="igo")],
            scheduler=cluster,
            cache=ResultCache(tmp_path),
        )
    assert not any(tmp_path.iterdir())


def test_the_local_cluster_keeps_its_scratch_space_in_a_folder_it_removes(tmp_path, monkeypatch):
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    with runner.dask_client(2) as client:
        (scratch,) = temp.iterdir()  # no dask-scratch-space beside it
        assert scratch.name.startswith("igoc-bench-dask-")
        folders = client.run(lambda dask_worker: dask_worker.local_directory)
        assert len(folders) == 2
        assert all(pathlib.Path(folder).is_relative_to(scratch) for folder in folders.values())
        assert pathlib.Path(client.run_on_scheduler(_local_directory)).is_relative_to(scratch)
    assert not any(temp.iterdir())
    with pytest.raises(KeyboardInterrupt), runner.dask_client(1):
        assert any(temp.iterdir())
        raise KeyboardInterrupt
    assert not any(temp.iterdir())


def _local_directory(dask_scheduler) -> str:
    return dask_scheduler.local_directory


def test_an_unreachable_scheduler_is_one_line(job):
    import dask

    with (
        dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
        pytest.raises(
            runner.ClusterError, match=r"^cannot reach the Dask scheduler at tcp://127.0.0.1:9: "
        ),
    ):
        run_jobs([job, dataclasses.replace(job, pipeline="igo")], scheduler="tcp://127.0.0.1:9")


@contextlib.contextmanager
def _listener(reply: bytes | None):
    """The address of a TCP server on this machine that is no Dask scheduler: it sends
    ``reply`` to whoever connects and hangs up, or (None) says nothing and holds on."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    held = []

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:  # closed: the test is over
                return
            if reply is None:
                held.append(connection)
                continue
            with connection:
                connection.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()
        for connection in held:
            connection.close()
        thread.join(5)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (None, r"^no Dask scheduler answered at tcp://127.0.0.1:\d+ within 1 s \(a scheduler"),
        (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", "at tcp://127.0.0.1:"),
    ],
)
def test_a_port_where_no_dask_scheduler_answers_is_refused_in_time(job, reply, message):
    """A dashboard's port, say, never answers Dask's handshake: the client once waited for
    ever (or took an HTTP reply for a message's length and ran out of memory)."""
    import dask

    start = time.monotonic()
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
        _listener(reply) as address,
        pytest.raises(runner.ClusterError, match=message),
    ):
        run_jobs([job], scheduler=address)
    assert time.monotonic() - start < 30


def test_groups_are_by_input_and_target_longest_input_first(job):
    short = dataclasses.replace(job, text="// short\n")
    server = dataclasses.replace(job, target_name="server", target_toml="server")
    pending = [
        (f"{n}", j)
        for n, j in enumerate([short, job, server, dataclasses.replace(job, pipeline="igo")])
    ]
    groups = runner.groups_of(pending)
    assert [[key for key, _ in group] for group in groups] == [["1", "3"], ["2"], ["0"]]


def _children(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc: a parent and its children, recursively)."""
    parents: dict[int, list[int]] = {}
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    """Whether a process exists and is no zombie."""
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _left_alive(pids: set[int]) -> list[int]:
    """Those of ``pids`` still alive a minute on (at once, when none is)."""
    deadline = time.monotonic() + 60
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return [p for p in pids if _alive(p)]


def _bench_on_two_workers(tmp_path: pathlib.Path) -> subprocess.Popen:
    """igoc-bench running two jobs on a local cluster of two workers, its temporary folder
    (the cluster's scratch folder) in ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if k != "IGOC_DECISION_CACHE"}
    env["TMPDIR"] = str(tmp_path)
    command = [sys.executable, "-m", "igoc.cli.bench", "--target", "edge", "--model", "res", "goo"]
    command += ["--pipeline", "baseline", "--jobs", "2", "--no-cache"]
    return subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.skipif(not pathlib.Path("/proc/self/stat").exists(), reason="needs /proc")
def test_sigterm_of_igoc_bench_stops_its_workers_and_removes_its_scratch_folder(tmp_path):
    """``kill``, ``timeout`` and batch systems end a job with SIGTERM: igoc-bench then ends as
    after Ctrl-C, not where it stands (which left the cluster's scratch folder behind)."""
    process = _bench_on_two_workers(tmp_path)
    try:
        first = process.stderr.readline()
        assert first.startswith("igoc-bench: 2 jobs, 0 from the cache, 2 to run on 2 workers")
        assert [p.name for p in tmp_path.glob("igoc-bench-dask-*")] != []
        time.sleep(0.5)
        below = _children(process.pid)
        process.send_signal(signal.SIGTERM)
        rest = process.communicate(timeout=60)[1]
        assert process.returncode == 128 + signal.SIGTERM
        assert rest.splitlines()[-1] == "igoc-bench: terminated"
        assert list(tmp_path.glob("igoc-bench-dask-*")) == []
        assert _left_alive(below) == []
    finally:
        process.kill()
        process.wait()
        process.stderr.close()


@pytest.mark.skipif(not pathlib.Path("/proc/self/stat").exists(), reason="needs /proc")
def test_kill_9_of_igoc_bench_leaves_no_process_behind(tmp_path):
    process = _bench_on_two_workers(tmp_path)
    try:
        # The first line comes once the local cluster runs; then its workers are at work.
        first = process.stderr.readline()
        assert first.startswith("igoc-bench: 2 jobs, 0 from the cache, 2 to run on 2 workers")
        time.sleep(0.5)
        below = _children(process.pid)
        workers = [
            p for p in below if "spawn_main" in pathlib.Path(f"/proc/{p}/cmdline").read_text()
        ]
        assert len(workers) == 2
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert _left_alive(below) == []
    finally:
        process.kill()
        process.wait()
        process.stderr.close()
