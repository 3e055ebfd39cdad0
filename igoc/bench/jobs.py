"""One unit of benchmark work: compile one workload for one target with one pipeline, simulate it.

A :class:`Job` is plain data (the MLIR text, the target as TOML, the pipeline),
so it pickles to a worker process, or to another machine, as it is; and
:func:`run_job` is a pure top-level function of it that returns a JSON-ready
record (:mod:`igoc.bench.summary`), never raises for a failure of igoc, and
reports failures as ``{"status": "failed", "stage": ..., "error": ..., "transient": ...}``
(transient: a failure of the machine, such as running out of memory, which a
rerun may not repeat).

:func:`job_key` names a job's result by content: the SHA-256 of the input
text, the target's TOML, the pipeline (and its pass-pipeline spec) and the
compiler's fingerprint (:func:`compiler_fingerprint`: the source of every
module that can change a result, and the versions of xdsl, lark and numpy).
Equal keys give equal results, so results are cached by key.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import pathlib
import resource
import sys
import time
from dataclasses import dataclass

RESULT_FORMAT = 1
"""Version of the result record; part of every key, so a new record invalidates the cache."""

IM2COL_MODES = ("on-the-fly", "materialize")

_SKIPPED_FOLDERS = ("cli", "bench", "importer", "zoo")
"""igoc's folders that cannot change a job's result (the bench's own job modules excepted)."""

_JOB_MODULES = ("jobs.py", "summary.py")

TRANSIENT_ERRORS = (ImportError, MemoryError, OSError)
"""Failures of the machine rather than of igoc on this input: never cached."""


@dataclass(frozen=True)
class Job:
    """Compile ``text`` for the target ``target_toml`` with ``pipeline``, then simulate it."""

    row: str  # the table row it belongs to (network label, model or file stem)
    model: str  # the model that runs
    batch: int | None  # its batch (None for a user's file)
    input_name: str  # a file name for messages, never an absolute path
    text: str  # the MLIR input
    target_name: str  # the target's name
    target_toml: str  # the whole target (``Target.to_toml()``)
    pipeline: str  # the named pipeline
    pass_pipeline: str | None = None  # a spec that replaces the named pipeline's passes

    def describe(self) -> str:
        """One line for progress and error messages: ``resnet50-b8.mlir on edge, igo``."""
        return f"{self.input_name} on {self.target_name}, {self.pipeline}"


def pass_pipeline_for(pipeline: str, im2col: str) -> str | None:
    """The pass-pipeline spec of a named pipeline with conv-to-gemm's im2col option set.

    ``None`` for the default (``on-the-fly``): the named pipeline runs as it is.
    """
    if im2col == "on-the-fly":
        return None
    from igoc.pipeline import PIPELINES, pass_specs

    specs = [
        f"conv-to-gemm{{im2col={im2col}}}" if spec == "conv-to-gemm" else spec
        for spec in pass_specs(PIPELINES[pipeline])
    ]
    return ",".join(specs)


# ---- keys ---------------------------------------------------------------------------------------


def _source_roots() -> list[pathlib.Path]:
    roots = []
    for package in ("igoc", "igoc.dialects", "igoc.passes"):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            roots += [pathlib.Path(p) for p in spec.submodule_search_locations]
    return roots


def _counts(path: pathlib.Path, root: pathlib.Path) -> bool:
    relative = path.relative_to(root).parts
    if root.name != "igoc" or len(relative) < 2 or relative[0] not in _SKIPPED_FOLDERS:
        return True
    return relative[0] == "bench" and relative[1] in _JOB_MODULES


@functools.cache
def compiler_fingerprint() -> str:
    """A hash of everything a job's result depends on besides its inputs."""
    digest = hashlib.sha256()
    for root in _source_roots():
        files = [
            path
            for pattern in ("*.py", "*.lark", "*.toml")
            for path in root.rglob(pattern)
            if _counts(path, root)
        ]
        for path in sorted(files):
            digest.update(f"{root.name}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
    for package in ("xdsl", "lark", "numpy"):
        try:
            version = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            version = "none"
        digest.update(f"{package} {version}\0".encode())
    return digest.hexdigest()


def job_key(job: Job, fingerprint: str | None = None) -> str:
    """The content key of a job's result (hex SHA-256)."""
    content = {
        "format": RESULT_FORMAT,
        "compiler": fingerprint if fingerprint is not None else compiler_fingerprint(),
        "input": hashlib.sha256(job.text.encode()).hexdigest(),
        "target": job.target_toml,
        "pipeline": job.pipeline,
        "pass_pipeline": job.pass_pipeline,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


# ---- running ------------------------------------------------------------------------------------


def _reset_peak_memory() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux); False where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as stream:
            stream.write("5")
        return True
    except OSError:
        return False


def _peak_memory_bytes(was_reset: bool) -> int:
    """Peak RSS since the reset, or (without one) of the process so far."""
    if was_reset:
        try:
            with open("/proc/self/status") as stream:
                for line in stream:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def new_session():
    """A compile session for jobs that share an input and a target (their searches shared)."""
    from igoc.cost.session import Session

    return Session()


def run_job(job: Job, session=None) -> dict:
    """Compile and simulate one job; the result record (a failure is a record too).

    ``session`` (``new_session()``): the state of earlier compiles of the same input on the
    same target, whose schedule searches this one reuses; results are the same without it.
    """
    was_reset = _reset_peak_memory()
    start = time.perf_counter()
    stage = "compile"
    timing: dict[str, float | int] = {}
    try:
        import tomllib

        from igoc.api import compile_text
        from igoc.collector import paused_collector
        from igoc.frontend.diagnostics import DiagnosticError
        from igoc.sim import simulate
        from igoc.target import target_from_dict

        target = target_from_dict(tomllib.loads(job.target_toml), job.target_name)
        # As in ``igoc``: the cycles a compile makes wait for the collection after the job.
        with paused_collector():
            try:
                program = compile_text(
                    job.text,
                    target,
                    job.pipeline,
                    job.pass_pipeline,
                    session,
                    filename=job.input_name,
                )
            except DiagnosticError as err:
                raise _Failure(err.headline()) from None
            timing["compile_s"] = time.perf_counter() - start
            stage = "simulate"
            simulated = time.perf_counter()
            report = simulate(program).report
            timing["simulate_s"] = time.perf_counter() - simulated
        stage = "summarise"
        from igoc.bench.summary import summarise

        result = {"status": "ok", **summarise(program, report)}
    except _Failure as err:
        result = {"status": "failed", "stage": stage, "error": str(err), "transient": False}
    except Exception as err:  # noqa: BLE001 - a failed job is reported, never raised
        transient = isinstance(err, TRANSIENT_ERRORS)
        result = {
            "status": "failed",
            "stage": stage,
            "error": _one_line(err),
            "transient": transient,
        }
    timing.setdefault("compile_s", time.perf_counter() - start)
    timing["peak_rss_bytes"] = _peak_memory_bytes(was_reset)
    # No full collection here: the cycles the job left (the IR trees its passes dropped,
    # all of them young, since the collector was paused) go at the collector's first young
    # pass, and a full pass after every job also scanned the session's search, alive for
    # the group's next jobs (FasterRCNN b4's four jobs on edge: 65.6-69.3 s with one after
    # each, 62.5-64.0 s without). ``run_group`` collects fully once its group is done.
    result["timing"] = timing
    return result


class _Failure(Exception):
    """A failure whose message is already what a user should read."""
