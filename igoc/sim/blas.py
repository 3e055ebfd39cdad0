"""Runs on data use one BLAS thread: the same bits whatever the machine's cores.

A matmul run on data (``functional._matmul``) and the numpy reference of ``--check``
(``igoc.reference``) sum float32 products with BLAS. OpenBLAS splits a product among
its threads differently for different thread counts, and so sums in a different order:
on a machine with another number of cores, the simulated gradients and the check's
errors came out different in their last bits (ResNet-50 at batch 8: 155 of 161 tensors
differed between one and two threads). With one thread, a product is summed the same
way wherever it runs with the same BLAS kernel, and calls made from several Python
threads at once cannot change each other's split. The kernel is the BLAS library's
choice, not igoc's: OpenBLAS picks one for the processor (or the one
``OPENBLAS_CORETYPE`` names), and its kernels for different instruction sets sum in
different orders (BERT-tiny on ``edge``: 80 of 84 tensors differ in their last bits
between OpenBLAS's Haswell and SkylakeX kernels). That calls from several threads
cannot change each other's split is also why the check may evaluate its reference
beside the simulator (``compare.StreamingCheck``).

The limit is the process's (BLAS has no per-thread setting), and it is set and restored
by the thread that asks for it: OpenBLAS (0.3.31, numpy's wheels) ignores a new limit set
from another thread once the main thread has set one. So a check that evaluates its
reference on a thread of its own holds the limit on the thread that made it, until that
thread has its verdict. threadpoolctl finds the BLAS library numpy loaded (OpenBLAS, MKL,
BLIS, ...) and calls its own setter: the library's names differ by vendor and build
(``scipy_openblas_set_num_threads64_`` in numpy's wheels), which a hand-written lookup
would have to chase.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS runs each call on the thread that makes it, until the block ends (nested
    blocks are fine: each restores the limits it found)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield
