"""Schedules of GEMMs: tilings, tile orders, partitions and the SPM planner."""
