"""How close ``--check`` wants the simulator's results to numpy's reference (``compare``).

Apart from ``compare`` so that a plain run, whose help states the rule, does not load
the reference evaluator.
"""

from __future__ import annotations

from igoc.isa.instructions import DType

TOLERANCE = {DType.F16: 1e-2, DType.F32: 1e-2, DType.BF16: 6e-2}
RULE = "max|sim-ref| <= tol*max|ref|, tol 1e-2 (f16, f32), 6e-2 (bf16)"
