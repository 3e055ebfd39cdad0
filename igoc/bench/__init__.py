"""igoc-bench: workloads x targets x pipelines, tables and plots.

Owns the evaluation: the jobs (compile and simulate one workload for one target
with one pipeline), their cache, the parallel runner, the tables, JSON, CSV and
plots, and the benchmark scripts (``python -m igoc.bench.<name>``). It sits on
top and may import any package of igoc; nothing in igoc imports it.
"""
