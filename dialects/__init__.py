"""The dialects of igoc: grad (tensor gradients), sched (schedules), npu (instructions)."""
