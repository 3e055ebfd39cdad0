"""``igoc-sim --inputs FILE.npz``: input tensors by name, read with every size checked first.

An ``.npz`` file is a zip archive of ``.npy`` members, one per array. This reader
never trusts it further than it has checked: each member's name must be an input
tensor of the program, its declared size must be what an array of that tensor's
shape can take, and the ``.npy`` header (dtype, shape) must match before a single
data byte is read. A 2 MB archive that would decompress to gigabytes is refused
from its directory alone. Anything else that is wrong — a file that is no zip
archive, a truncated one, a member that is not ``.npy`` data, object arrays — is
one ``SimError`` line.

Generated inputs may come as :class:`Drawing` values instead of arrays
(``compare.generate_inputs(background=True)``): drawn on threads of their own, in the
order the program reads them, while the run goes on.
"""

from __future__ import annotations

import os
import threading
import zipfile
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from igoc.isa.numerics import round_to
from igoc.isa.program import Program
from igoc.sim.errors import SimError

HEADER_ALLOWANCE_BYTES = 1 << 16
"""Room for a ``.npy`` member's header beyond its data."""

NUMBER_KINDS = "fiub"
"""dtype kinds accepted as input data (floats, signed and unsigned integers, booleans)."""


def read_inputs(path: str | os.PathLike, program: Program) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file, by input tensor name, rounded to each tensor's type."""
    decls = {t.name: t for t in program.tensors if t.role == "input"}
    known = ", ".join(decls) or "none"
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise SimError(_not_an_archive(path)) from None
    except OSError as err:
        raise SimError(f"cannot read inputs {path}: {err.strerror or err}") from None
    out = {}
    with archive:
        for info in archive.infolist():
            name = info.filename.removesuffix(".npy")
            decl = decls.get(name)
            if decl is None:
                raise SimError(
                    f"{path}: '{name}' is not an input tensor of the program; inputs: {known}"
                )
            limit = decl.numel * 16 + HEADER_ALLOWANCE_BYTES  # 16: the widest number type
            if info.file_size > limit:
                raise SimError(
                    f"{path}: '{name}' holds {info.file_size:,} bytes, more than an array of "
                    f"shape {decl.shape} can take"
                )
            try:
                with archive.open(info) as member:
                    value = _read_member(member, path, name, decl.shape)
            except (
                zipfile.BadZipFile,
                zlib.error,
                EOFError,
                OSError,
                ValueError,
                NotImplementedError,
                RuntimeError,  # an encrypted member
            ) as err:
                raise SimError(f"{path}: '{name}' cannot be read: {_one_line(err)}") from None
            out[name] = round_to(value.astype(np.float32), decl.dtype)
    return out


def _read_member(member, path, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One ``.npy`` member: header checked against the tensor, then its data."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(member)
    except ValueError:
        raise SimError(f"{path}: '{name}' is not .npy data") from None
    if version == (1, 0):
        found, fortran, dtype = fmt.read_array_header_1_0(member)
    elif version == (2, 0):
        found, fortran, dtype = fmt.read_array_header_2_0(member)
    else:
        raise SimError(f"{path}: '{name}' has .npy format version {version}, not 1.0 or 2.0")
    if dtype.hasobject or dtype.kind not in NUMBER_KINDS or dtype.fields is not None:
        raise SimError(f"{path}: '{name}' holds {dtype}, not numbers")
    if tuple(found) != tuple(shape):
        raise SimError(f"{path}: '{name}' has shape {tuple(found)}, expected {tuple(shape)}")
    count = int(np.prod(found, dtype=np.int64))
    data = member.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise SimError(f"{path}: '{name}' ends early (the archive is cut short?)")
    order = "F" if fortran else "C"
    return np.frombuffer(data, dtype=dtype, count=count).reshape(found, order=order)


def _not_an_archive(path) -> str:
    try:
        with open(path, "rb") as stream:
            head = stream.read(6)
    except OSError:
        head = b""
    if head == b"\x93NUMPY":
        return (
            f"{path} is a .npy file (one array); --inputs needs an .npz archive of arrays "
            "by tensor name (numpy.savez)"
        )
    return f"{path} is not an .npz archive (a zip file of arrays), or it is cut short"


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


class Draws:
    """The threads that draw a set of inputs (:class:`Drawing`), in the order given once."""

    def __init__(self, threads: int) -> None:
        self.threads = max(1, threads)
        self.started = False
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def start(self, drawings: list[Drawing]) -> None:
        """Draw these, first to last, on the threads (only the first call counts; what
        was asked for already is drawn)."""
        with self._lock:
            if self.started:
                return
            self.started = True
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="igoc-draw")
            for drawing in drawings:
                drawing._submit(self._pool)
            self._pool.shutdown(wait=False)  # the threads end when every draw is done

    def cancel(self) -> None:
        """Draw nothing more: the draws no thread has begun are dropped (a run that failed
        or was interrupted; a process waits for its pool's threads before it exits)."""
        with self._lock:
            self.started = True
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)


class Drawing:
    """An input tensor's values being drawn: ``result()`` waits for them (and draws them
    here if no thread has started on them). ``shape`` is known meanwhile."""

    def __init__(self, draws: Draws, shape: tuple[int, ...], draw) -> None:
        self.draws, self.shape = draws, tuple(shape)
        self._draw = draw
        self._lock = threading.Lock()
        self._future = None
        self._value: np.ndarray | None = None

    def _submit(self, pool: ThreadPoolExecutor) -> None:
        with self._lock:
            if self._value is None and self._future is None:
                self._future = pool.submit(self._draw)

    def result(self) -> np.ndarray:
        """The values (waiting for a thread drawing them, or drawing them now)."""
        with self._lock:
            if self._value is None and self._future is None:
                self._value = self._draw()
            future = self._future
        if self._value is None:
            self._value = future.result()  # type: ignore[union-attr]
        return self._value


def cancel_draws(values: Iterable) -> None:
    """Draw no more: each set of :class:`Drawing` among ``values`` is cancelled."""
    sets = {id(v.draws): v.draws for v in values if isinstance(v, Drawing)}
    for draws in sets.values():
        draws.cancel()


def drawn(values):
    """An input's values: a :class:`Drawing`'s once drawn, anything else as it is."""
    return values.result() if isinstance(values, Drawing) else values
