"""igoc's dialects and passes for xDSL's own tools (the ``xdsl.universe`` entry point).

With igoc installed, ``xdsl-opt`` and ``xdsl-gui`` know the ``grad``, ``sched`` and
``npu`` dialects and igoc's passes, so they read igoc's IR at any stage and run its
passes on it::

    igoc model.mlir --emit=gemm | xdsl-opt -p fuse-gradients

Passes run this way have no session (``igoc.cost.session``): each decision pass
searches afresh, and the target is the module's ``igoc.target`` (or the default).
xDSL's own passes (``cse``, ``canonicalize``, ``dce``) are xDSL's to register.
"""

from __future__ import annotations

from xdsl.universe import Universe

from igoc.frontend.registry import DIALECTS, load_object
from igoc.pipeline import PASSES, load_pass

OWN_DIALECTS = ("grad", "sched", "npu")
OWN_PASSES = tuple(name for name, path in PASSES.items() if path.startswith("igoc."))


def _dialect(name: str):
    return lambda: load_object(DIALECTS[name])


def _pass(name: str):
    return lambda: load_pass(name)


UNIVERSE = Universe(
    all_dialects={name: _dialect(name) for name in OWN_DIALECTS},
    all_passes={name: _pass(name) for name in OWN_PASSES},
)
"""What igoc adds to xDSL's tools."""
