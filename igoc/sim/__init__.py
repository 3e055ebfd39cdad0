"""The instruction-level NPU simulator: timing, functional execution, reports and traces."""
