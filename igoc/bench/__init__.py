"""igoc-bench as a library: plan a benchmark, run its jobs on any executor, make its tables.

A :class:`Job` is plain data (the input's text, the target's TOML, the
pipeline) and :func:`run_job` a pure function of it that returns a JSON-ready
record and never raises for a failure of igoc, so the jobs of a plan can be
mapped on whatever runs Python functions (Dask, Ray, a process pool)::

    from igoc.bench import plan, render_tables, run_job

    planned = plan(targets=["edge"], models=["ncf"],
                   sweeps=[("dram_bandwidth_gb_per_s", [11.0, 22.0])])
    results = [run_job(job) for job in planned.jobs]   # or: ray, dask, a pool
    print(render_tables(planned.bench(results)))

:func:`job_key` names a result by content, for a cache; :func:`run_jobs` is
what ``igoc-bench`` itself uses (the cache, Dask, progress).

Owns the evaluation: the jobs (compile and simulate one workload for one target
with one pipeline), their cache, the runner, the tables, JSON, CSV and plots,
and the benchmark scripts (``python -m igoc.bench.<name>``). It sits on top and
may import any package of igoc; nothing in igoc imports it.
"""

from igoc.bench.export import to_csv, to_json
from igoc.bench.jobs import Job, compiler_fingerprint, job_key, run_job
from igoc.bench.plan import Plan, plan
from igoc.bench.runner import run_jobs
from igoc.bench.tables import render_tables

__all__ = [
    "Job",
    "Plan",
    "compiler_fingerprint",
    "job_key",
    "plan",
    "render_tables",
    "run_job",
    "run_jobs",
    "to_csv",
    "to_json",
]
