"""The instruction-level NPU simulator: timing, functional execution, reports and traces."""

from igoc.sim.errors import SimError
from igoc.sim.simulate import SimResult, simulate

__all__ = ["SimError", "SimResult", "simulate"]
