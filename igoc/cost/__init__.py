"""The cost model: DRAM traffic and cycle estimates of schedules, and lower bounds."""
