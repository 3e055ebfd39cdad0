"""The runner: equal jobs run once, failures of igoc are cached, failures of the machine not."""

from __future__ import annotations

import dataclasses
import io
import itertools
import os
import pathlib

import pytest

from igoc.bench import runner
from igoc.bench.cache import ResultCache
from igoc.bench.jobs import Job
from igoc.bench.runner import Progress, run_jobs
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
    assert lines[0] == "igoc-bench: 1 jobs, 0 from the cache, 1 to run"
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
        stream.getvalue() == "igoc-bench: 1 jobs, 0 from the cache, 1 not run (not in the cache)\n"
    )
    assert missing["status"] == "failed" and missing["stage"] == "not run"
    assert not list(tmp_path.rglob("*.json"))
    (computed,) = run_jobs([job], 1, cache)
    assert run_jobs([job], 1, cache, cached_only=True) == [computed]


def die_in_the_first_pool(job: Job, session=None) -> dict:
    """Run in a worker: kill the worker the first time any job runs, then behave."""
    marker = pathlib.Path(job.row)  # the test passes a marker file's path as the row
    if not marker.exists():
        marker.write_text("died")
        os._exit(1)
    return {"status": "ok", "cycles": len(job.pipeline)}


def die_always(job: Job, session=None) -> dict:
    """Run in a worker: kill it."""
    os._exit(1)


def test_jobs_lost_with_a_dead_worker_run_again(job, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "run_job", die_in_the_first_pool)
    marker = str(tmp_path / "marker")
    jobs = [dataclasses.replace(job, row=marker, pipeline=p) for p in ("baseline", "igo")]
    results = run_jobs(jobs, 2, ResultCache(tmp_path / "cache"))
    assert results == [{"status": "ok", "cycles": 8}, {"status": "ok", "cycles": 3}]
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 2


def test_a_job_that_always_kills_its_worker_fails_uncached(job, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "run_job", die_always)
    jobs = [dataclasses.replace(job, pipeline=p) for p in ("baseline", "igo")]
    results = run_jobs(jobs, 2, ResultCache(tmp_path))
    assert [r["stage"] for r in results] == ["worker", "worker"]
    assert all(r["status"] == "failed" and r["transient"] for r in results)
    assert not list(tmp_path.rglob("*.json"))


def report_process(job: Job, session=None) -> dict:
    """Run in a worker: say which process and which session ran the job."""
    return {"status": "ok", "pid": os.getpid(), "session": id(session), "pipeline": job.pipeline}


def test_the_pipelines_of_one_input_and_target_run_in_one_process(job, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "run_job", report_process)
    other = dataclasses.replace(job, text=job.text + "// another input\n")
    pipelines = ("baseline", "igo-interleave", "igo")
    jobs = [dataclasses.replace(j, pipeline=p) for j in (job, other) for p in pipelines]
    stream = io.StringIO()
    results = run_jobs(jobs, 2, ResultCache(tmp_path), Progress(stream))
    assert [r["pipeline"] for r in results] == list(pipelines) * 2
    assert len({(r["pid"], r["session"]) for r in results[:3]}) == 1  # one search for them
    assert len({(r["pid"], r["session"]) for r in results[3:]}) == 1
    assert len(stream.getvalue().splitlines()) == 1 + len(jobs)  # a line per job


def test_groups_are_by_input_and_target_longest_input_first(job):
    short = dataclasses.replace(job, text="// short\n")
    server = dataclasses.replace(job, target_name="server", target_toml="server")
    pending = [
        (f"{n}", j)
        for n, j in enumerate([short, job, server, dataclasses.replace(job, pipeline="igo")])
    ]
    groups = runner.groups_of(pending)
    assert [[key for key, _ in group] for group in groups] == [["1", "3"], ["2"], ["0"]]
