"""igoc-bench: workloads x targets x pipelines, tables and plots."""
