"""Checking a program's results against the numpy reference of its source.

Inputs come from a seeded generator: normal values (the standard normal's 2^16 equally
likely quantiles, :func:`seeded_values`), with every weight operand
scaled by ``1/sqrt(reduction length)`` of the op that reads it, so values keep
their size along a chain of layers and fp16 does not overflow in long
reductions. Each tensor's values depend only on the seed and its name.

Tolerance rule: an output passes when ``max |sim - ref| <= tol * scale`` with
``scale = max |ref|`` and ``tol`` = 1e-2 for fp16 and fp32 results, 6e-2 for bf16
(fp16 storage and partial sums possibly spilled in fp16, against an fp32
reference). ``max_rel_err`` is ``max |sim - ref| / scale``.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import queue
import statistics
import threading
import zlib
from collections import ChainMap
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from igoc.isa.instructions import DType
from igoc.isa.numerics import round_to
from igoc.isa.program import Program
from igoc.reference import ReferenceError, evaluate, evaluate_op
from igoc.sim import pages
from igoc.sim.blas import one_blas_thread
from igoc.sim.errors import SimError
from igoc.sim.inputs import Drawing, Draws, drawn
from igoc.sim.tolerance import RULE, TOLERANCE

__all__ = ["RULE", "TOLERANCE", "StreamingCheck", "check_outputs", "generate_inputs"]


def _weight_fan(op: dict, shapes: dict[str, tuple[int, ...]]) -> tuple[str, int] | None:
    """The weight operand of an op and the reduction length it feeds, if the op has one."""
    name, inputs = op.get("op"), op.get("inputs", [])
    if len(inputs) != 2 or inputs[1] not in shapes:
        return None
    w = shapes[inputs[1]]
    groups = int((op.get("attrs") or {}).get("groups", 1) or 1)
    if name == "matmul" and len(w) == 2:
        return inputs[1], w[0]
    if name == "matmul_dx" and len(w) == 2:
        return inputs[1], w[1]
    if name == "conv2d" and len(w) == 4:
        return inputs[1], w[1] * w[2] * w[3]
    if name == "conv2d_dx" and len(w) == 4:
        return inputs[1], max(w[0] // max(groups, 1), 1) * w[2] * w[3]
    return None


def generate_inputs(program: Program, seed: int, background: bool = False) -> dict:
    """Seeded random values for every input tensor, by name (see the module doc).

    ``background``: each value is a :class:`Drawing` instead, drawn on threads of its own
    once a run on data says in which order the program reads the inputs
    (``simulate``), so that the run starts while most are still being drawn; an input
    asked for before (or with no run) is drawn then. The same values either way.
    """
    shapes = {t.name: t.shape for t in program.tensors}
    fan: dict[str, int] = {}
    for op in program.reference or []:
        if isinstance(op, dict):
            found = _weight_fan(op, shapes)
            if found:
                fan[found[0]] = max(fan.get(found[0], 1), found[1])
    wanted = [t for t in program.tensors if t.role == "input"]

    def draw(t) -> np.ndarray:
        rng = np.random.default_rng([seed, zlib.crc32(t.name.encode())])
        return seeded_values(rng, t.shape, fan.get(t.name, 1), t.dtype)

    if background:
        draws = Draws(min(GENERATE_THREADS, os.cpu_count() or 1))
        return {t.name: Drawing(draws, t.shape, functools.partial(draw, t)) for t in wanted}
    # Each tensor has a generator of its own and numpy fills arrays without holding the
    # GIL, so tensors are drawn side by side on the machine's cores: the same values.
    workers = min(GENERATE_THREADS, os.cpu_count() or 1, len(wanted))
    if workers <= 1 or sum(math.prod(t.shape) for t in wanted) < GENERATE_CHUNK * 16:
        return {t.name: draw(t) for t in wanted}
    with ThreadPoolExecutor(workers) as pool:
        values = list(pool.map(draw, wanted))
    return {t.name: v for t, v in zip(wanted, values, strict=True)}


GENERATE_THREADS = 4
"""Threads that draw input tensors at once (at most one per core)."""


GENERATE_CHUNK = 1 << 16
"""Elements drawn at a time by :func:`seeded_values` (rounded down to a multiple of 4):
index buffers that stay in cache."""

NORMAL_LEVELS = 1 << 16
"""The values a drawn input can take before scaling: the standard normal's quantiles at
``(i + 0.5) / NORMAL_LEVELS``, equally likely (one 16-bit draw each)."""


@functools.cache
def normal_quantiles() -> np.ndarray:
    """float32 ``Φ⁻¹((i + 0.5) / NORMAL_LEVELS)`` for every level ``i``, increasing, from
    -4.32 to 4.32: the standard normal cut into equally likely parts, each part's median.
    (``statistics.NormalDist.inv_cdf``: Wichura's algorithm AS241, exact to the double.)"""
    inverse = statistics.NormalDist().inv_cdf
    values = [inverse((i + 0.5) / NORMAL_LEVELS) for i in range(NORMAL_LEVELS)]
    result = np.array(values, dtype=np.float32)
    result.flags.writeable = False
    return result


@functools.lru_cache(maxsize=64)
def _scaled_levels(fan: int, dtype: DType) -> np.ndarray:
    """``round_to(normal_quantiles() / sqrt(fan), dtype)``: the values of :func:`seeded_values`."""
    levels = normal_quantiles()
    if fan != 1:
        levels = levels / np.float32(math.sqrt(fan))
    result = np.ascontiguousarray(round_to(levels, dtype))
    result.flags.writeable = False
    return result


def seeded_values(rng: np.random.Generator, shape: tuple[int, ...], fan: int, dtype: DType):
    """Values of ``shape`` drawn from the standard normal, divided by ``sqrt(fan)`` and rounded
    to ``dtype``, in its storage form: element ``j`` is ``round_to(normal_quantiles()[u_j] /
    sqrt(fan), dtype)``, with ``u`` the generator's raw 64-bit words cut into 16-bit parts,
    low part first (four elements per word).

    A table of the 2^16 levels (divided and rounded once) looked up by 16 random bits per
    element costs about a seventh of ``rng.standard_normal(dtype=float32)`` and a cast, and
    gives the same values on every machine. Drawn a chunk at a time straight into the
    result; the chunks cut the words where one whole draw would, so the bits do not depend
    on the chunk size.
    """
    count = math.prod(shape)
    table = _scaled_levels(fan, dtype)
    result = pages.zeros(count, table.dtype)  # each element written once: huge pages
    step = max(4, GENERATE_CHUNK - GENERATE_CHUNK % 4)
    for start in range(0, count, step):
        size = min(step, count - start)
        words = rng.bit_generator.random_raw((size + 3) // 4)
        parts = words.astype("<u8", copy=False).view("<u2")[:size]
        np.take(table, parts, out=result[start : start + size])
    return result.reshape(shape)


def check_outputs(
    program: Program,
    inputs: dict[str, np.ndarray],
    tensors: dict[str, np.ndarray],
    unwritten: dict[str, int] | None = None,
) -> dict:
    """Compare every tensor the reference produces (and the program has) with the simulated one.

    ``unwritten``: elements the program never wrote, per tensor (``SimResult.unwritten``);
    an output with any fails, whatever its values (they are old data).
    """
    if not program.reference:
        raise SimError(
            "the program carries no reference ops (it was not made by the compiler), "
            "so --check has nothing to compare with"
        )
    decls = {t.name: t for t in program.tensors}
    specs = {t.name: (t.shape, t.dtype) for t in program.tensors}
    inputs = {name: drawn(values) for name, values in inputs.items()}
    try:
        with one_blas_thread():
            expected = evaluate(program.reference, inputs, specs)
    except ReferenceError as err:
        raise SimError(f"cannot evaluate the reference: {err}") from None
    unwritten = unwritten or {}
    outputs = {}
    for name in sorted(expected):
        if name in decls:
            never = unwritten.get(name, 0)
            outputs[name] = compare_tensor(tensors[name], expected[name], decls[name].dtype, never)
    return _verdict(outputs)


def compare_tensor(got: np.ndarray, ref: np.ndarray, dtype: DType, never: int = 0) -> dict:
    """One output's entry of the check: ``got`` against ``ref`` under ``dtype``'s tolerance;
    ``never``: its elements the program never wrote (any fails it)."""
    max_abs, scale = _max_errors(np.asarray(got).reshape(ref.shape), ref)
    if not math.isfinite(max_abs):
        max_abs = math.inf
    tol = TOLERANCE[dtype]
    ok = bool(np.isfinite(max_abs)) and max_abs <= tol * max(scale, 1e-30)
    if scale == 0.0:
        ok = max_abs == 0.0
    ok = ok and never == 0
    return {
        "passed": ok,
        "unwritten_elements": never,
        "max_abs_err": max_abs,
        "max_rel_err": max_abs / scale if scale else max_abs,
        "scale": scale,
        "tolerance": tol,
    }


def _verdict(outputs: dict[str, dict]) -> dict:
    if not outputs:
        raise SimError("the reference produces none of the program's tensors")
    outputs = {name: outputs[name] for name in sorted(outputs)}
    passed = all(entry["passed"] for entry in outputs.values())
    return {"passed": passed, "rule": RULE, "outputs": outputs}


class StreamingCheck:
    """``check_outputs`` while the program runs, holding only what is still needed.

    The simulator reports each tensor when the program is done with it (its last load,
    store, gather or scatter has run, ``simulate(done=...)``). A tensor the reference
    produces is then compared at once (its reference op evaluated, and the ops that op
    reads from) and dropped; an input is dropped once the program and every reference op
    that reads it are done with it. So a check needs about the inputs plus the tensors in
    flight, not every tensor twice. The verdict is ``check_outputs``'s.

    It applies to a reference whose ops each produce a new tensor (no name produced twice,
    no input overwritten, each operand an input or produced before): ``applies`` says so.
    ``inputs`` (generated inputs, by name) becomes this object's: entries go when no longer
    needed.

    ``background``: the reference is evaluated and compared on a thread of its own, beside
    the simulator, which only hands each finished tensor over (past ``AHEAD_BYTES`` not yet
    compared, it waits for the check). Both run single-threaded BLAS (``igoc.sim.blas``:
    the thread that makes the check holds that limit until ``finish`` or ``close``, which
    it calls too), a core each, and the verdict is the same: the same ops in the same order
    on the same values. ``finish`` returns it (or raises what the check raised); ``close``
    stops the thread early (a run that failed).
    """

    def __init__(
        self, program: Program, inputs: dict[str, np.ndarray], background: bool = False
    ) -> None:
        if not program.reference:
            raise SimError(
                "the program carries no reference ops (it was not made by the compiler), "
                "so --check has nothing to compare with"
            )
        self.ops = program.reference
        self.inputs = inputs
        self.decls = {t.name: t for t in program.tensors}
        self.specs = {t.name: (t.shape, t.dtype) for t in program.tensors}
        self.producer: dict[str, int] = {}
        self.readers: dict[str, int] = {}  # per tensor, reference ops not yet run that read it
        self.applies = True
        for i, op in enumerate(self.ops):
            names_in = op.get("inputs") if isinstance(op, dict) else None
            names_out = op.get("outputs") if isinstance(op, dict) else None
            if (
                not isinstance(names_in, list)
                or not isinstance(names_out, list)
                or len(names_out) != 1
                or not all(isinstance(n, str) for n in names_in + names_out)
                or names_out[0] in self.producer
                or names_out[0] in inputs
                or not all(n in inputs or n in self.producer for n in names_in)
            ):
                self.applies = False
                break
            self.producer[names_out[0]] = i
            for name in names_in:
                self.readers[name] = self.readers.get(name, 0) + 1
        self.env: dict[str, np.ndarray] = {}  # reference values still needed
        self.ran: set[int] = set()
        self.results: dict[str, dict] = {}
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._outcome: dict | None = None
        self._stopping = False  # ``close``: drop what is still handed over
        self._room = threading.Condition()
        self._held = 0  # bytes handed over and not compared yet
        self._limit: contextlib.ExitStack | None = None
        if background and self.applies:
            self._limit = contextlib.ExitStack()
            self._limit.enter_context(one_blas_thread())  # held here until the verdict
            self._queue = queue.Queue()
            self._thread = threading.Thread(target=self._work, name="igoc-check", daemon=True)
            self._thread.start()

    def done(self, name: str, array: np.ndarray, never: int) -> None:
        """The program is done with tensor ``name`` (``array``, ``never`` elements never
        written): compare it now (in the background: soon) if the reference produces it."""
        if self._queue is not None:
            size = array.nbytes
            with self._room:
                while self._held and self._held + size > AHEAD_BYTES:
                    self._room.wait()
                self._held += size
            self._queue.put((_DONE, name, array, never))
        else:
            self._done(name, array, never)

    def finish(self, tensors: dict[str, np.ndarray], unwritten: dict[str, int]) -> dict:
        """The check's verdict, comparing what the program never touched with ``tensors``."""
        if self._queue is None:
            with one_blas_thread():
                return self._finish(tensors, unwritten)
        self._queue.put((_FINISH, tensors, unwritten, None))
        self._join()
        if self._failure is not None:
            raise self._failure
        return self._outcome  # type: ignore[return-value]

    def close(self) -> None:
        """Stop the background check, if any, without a verdict (idempotent): what was
        handed over and not compared yet is dropped."""
        if self._queue is not None and self._thread is not None and self._thread.is_alive():
            self._stopping = True
            self._queue.put((_STOP, None, None, None))
        self._join()

    def _join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._queue = None  # later calls run here (there are none in a normal run)
        if self._limit is not None:
            self._limit.close()
            self._limit = None

    def _work(self) -> None:
        """The background thread: every tensor handed over, in order, then the verdict. After
        a failure it keeps taking what is handed over (the simulator must not wait on it)."""
        assert self._queue is not None
        while True:
            kind, *args = self._queue.get()
            if kind is _STOP:
                return
            try:
                if self._failure is None and not self._stopping and kind is _FINISH:
                    self._outcome = self._finish(args[0], args[1])
                elif self._failure is None and not self._stopping:
                    self._done(*args)
            except BaseException as err:  # handed to the thread that asks for the verdict
                self._failure = err
            finally:
                if kind is _DONE:
                    with self._room:
                        self._held -= args[1].nbytes
                        self._room.notify()
            if kind is _FINISH:
                return

    def _done(self, name: str, array: np.ndarray, never: int) -> None:
        if name in self.producer and name in self.decls and name not in self.results:
            ref = self._value(name)
            self.results[name] = compare_tensor(array, ref, self.decls[name].dtype, never)
            if not self.readers.get(name):
                self.env.pop(name, None)
        elif not self.readers.get(name):
            self.inputs.pop(name, None)  # an input no reference op reads

    def _finish(self, tensors: dict[str, np.ndarray], unwritten: dict[str, int]) -> dict:
        for name in self.producer:
            if name in self.decls and name not in self.results:
                self._done(name, tensors[name], unwritten.get(name, 0))
        for name in self.producer:  # what no output needs is evaluated too, as evaluate does
            self._value(name)
        return _verdict(self.results)

    def _value(self, name: str) -> np.ndarray:
        """The reference value of produced tensor ``name``, running its op if not yet run."""
        i = self.producer[name]
        if i in self.ran:
            return self.env.get(name)
        op = self.ops[i]
        for operand in op["inputs"]:
            if operand in self.producer:
                self._value(operand)
        for operand in op["inputs"]:
            if isinstance(self.inputs.get(operand), Drawing):
                self.inputs[operand] = self.inputs[operand].result()
        env = ChainMap(self.env, self.inputs)  # produced values over inputs, no copy
        try:
            _, value = evaluate_op(i, op, env, self.specs)
        except ReferenceError as err:
            raise SimError(f"cannot evaluate the reference: {err}") from None
        self.ran.add(i)
        self.env[name] = value
        for operand in op["inputs"]:
            left = self.readers[operand] - 1
            self.readers[operand] = left
            if not left:
                self.inputs.pop(operand, None)
                if operand in self.results or operand not in self.decls:
                    self.env.pop(operand, None)
        return value


AHEAD_BYTES = 128 << 20
"""Bytes of tensors the simulator may have handed a background check that it has not
compared yet (each is held until then); past them, the simulator waits for the check. A
check behind the simulator so adds at most this much memory (and one tensor more)."""

_DONE, _FINISH, _STOP = "done", "finish", "stop"  # what the background check is handed


CHUNK = 1 << 16
"""Elements compared at a time: the float64 copies stay small (and in cache) whatever the
tensor's size."""


def _max_errors(got: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """``max |got - ref|`` and ``max |ref|``, in float64 (NaN if any difference is NaN).

    Worked out a chunk at a time in two reused buffers; the maximum of the chunks' maxima
    is the same number.
    """
    got, ref = got.reshape(-1), ref.reshape(-1)
    if not ref.size:
        return 0.0, 0.0
    size = min(CHUNK, ref.size)
    ref_buffer, got_buffer = np.empty(size), np.empty(size)
    diffs, scales = [], []
    for start in range(0, ref.size, CHUNK):
        r = ref_buffer[: min(CHUNK, ref.size - start)]
        g = got_buffer[: len(r)]
        np.copyto(r, ref[start : start + len(r)])
        np.copyto(g, got[start : start + len(r)])
        with np.errstate(invalid="ignore", over="ignore"):
            np.subtract(g, r, out=g)
        np.abs(g, out=g)
        np.abs(r, out=r)
        diffs.append(np.max(g))
        scales.append(np.max(r))
    return float(np.max(diffs)), float(np.max(scales))
