"""The instruction-level NPU simulator: timing, functional execution, reports and traces.

Owns running a ``.npu`` program: static validation, the queues, hazards and the
shared DRAM channel, execution on data, the report, Perfetto traces and the
check of results against numpy (``compare``). May import ``isa``, ``target``,
``output`` (reports, traces and data it writes) and ``igoc.reference``; what an
instruction touches and how long a matmul takes it takes from ``isa``, as the
compiler does.
"""

from igoc.sim.errors import SimError
from igoc.sim.simulate import SimResult, simulate

__all__ = ["SimError", "SimResult", "simulate"]
