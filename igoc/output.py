"""One writer for every output of igoc's tools: programs, IR, reports, traces, tables, caches.

``write_output(path, data)`` writes bytes or text (UTF-8); ``open_output(path)``
gives a stream to writers that produce their output piece by piece (``np.savez``,
a trace, a plot), and commits it when the ``with`` block ends without an error.
Both follow the same rules:

- ``-`` is standard output (bytes go to its binary buffer, so a ``.npu`` program
  can be piped);
- a path that exists and is not a regular file (a device, a FIFO, a socket) is
  opened and written in place, never replaced;
- a symbolic link is followed: its target is written by these rules and the link
  stays a link;
- a regular file (or a new one) is written to a temporary file in the same folder
  and renamed over the path, so a reader sees the old content or the new, never a
  part of it, and a failure (an error while writing, a failed compile before it)
  leaves the old file as it was;
- a new file gets the mode the umask gives (``0644`` under ``022``), as ``open``
  would give it; a replaced file keeps its mode.

A failure is an :class:`OutputError`, a one-line diagnostic naming the path and
the reason (exit status 1 in every tool). Nothing here imports more than the
standard library.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import sys
from collections.abc import Iterator
from typing import IO

from igoc.frontend.diagnostics import DiagnosticError

STDOUT = "-"
"""The path that names standard output."""


class OutputError(DiagnosticError):
    """An output that cannot be written; the message is one line naming the path."""


def write_output(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` by the rules of this module."""
    binary = isinstance(data, bytes | bytearray | memoryview)
    with open_output(path, binary=binary) as stream:
        stream.write(data)


def refuse_input(output: str | os.PathLike | None, *inputs: str | os.PathLike | None) -> None:
    """Raise an :class:`OutputError` if ``output`` is the same file as one of ``inputs``
    (through any link): writing it would replace what the tool reads. Only a regular file
    is refused: standard input and output (``-``), ``None``, a path that does not exist yet
    and a device (``/dev/stdin`` and ``/dev/stdout`` may be one terminal) never are."""
    if output is None or os.fspath(output) == STDOUT:
        return
    # The file ``open_output`` would write: its name resolved as text (``d/../x`` is ``x``
    # even when ``d`` does not exist).
    given, output = os.fspath(output), os.path.realpath(output)
    try:
        if not stat.S_ISREG(os.stat(output).st_mode):
            return
    except OSError:  # not there yet (or not to be looked at): nothing to replace
        return
    for source in inputs:
        if source is None or os.fspath(source) == STDOUT:
            continue
        try:
            same = os.path.samefile(output, source)
        except OSError:  # one of them does not exist (or cannot be looked at): not the same
            continue
        if same:
            raise OutputError(
                f"cannot write '{given}': it is the input file "
                f"'{os.fspath(source)}', which it would replace"
            )


def check_output(output: str | os.PathLike | None, *inputs: str | os.PathLike | None) -> None:
    """Before a tool's work: raise the :class:`OutputError` that writing ``output`` would
    end in, now rather than after a long compile or run. Refused: one of ``inputs``
    (:func:`refuse_input`), a directory, and a path whose folder does not exist, is not a
    folder or cannot be written to. Standard output, ``None`` and a device pass; so does
    anything else, whose write still reports what goes wrong then (a full disk)."""
    refuse_input(output, *inputs)
    if output is None or os.fspath(output) == STDOUT:
        return
    name = os.fspath(output)
    real = os.path.realpath(name)
    info = _status(name, real)
    if info is not None and not stat.S_ISREG(info.st_mode):
        return  # a device, FIFO or socket: written in place
    folder = os.path.dirname(real)
    try:
        if not stat.S_ISDIR(os.stat(folder).st_mode):
            raise _error(name, NotADirectoryError(errno.ENOTDIR, "not a folder"), folder)
    except OSError as err:
        raise _error(name, err, folder) from None
    if not os.access(folder, os.W_OK):
        raise _error(name, PermissionError(errno.EACCES, "permission denied"), folder)


def same_file(first: str | os.PathLike, second: str | os.PathLike) -> bool:
    """Whether two output paths name one regular file, through links, or one new file (by
    their resolved names): writing both would keep only the last. A device or a FIFO,
    written in place, may be named twice."""
    try:
        return stat.S_ISREG(os.stat(first).st_mode) and os.path.samefile(first, second)
    except OSError:  # one of them is not there yet
        return os.path.realpath(first) == os.path.realpath(second)


def make_folder(path: str | os.PathLike, option: str) -> None:
    """Make the folder that ``option`` names, with its parents (one that exists is kept);
    an :class:`OutputError` naming the option and the reason when it cannot be."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as err:
        why = (
            "a file of that name is there"
            if isinstance(err, FileExistsError)
            else (err.strerror or str(err)).lower()
        )
        shown = os.fspath(path)
        raise OutputError(f"cannot make the folder of {option} '{shown}': {why}") from None


def _status(name: str, real: str) -> os.stat_result | None:
    """What is at ``real`` (the path ``name`` resolved), None if nothing; an OutputError if
    it is a directory or cannot be looked at."""
    try:
        info = os.stat(real)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise _error(name, err) from None
    if stat.S_ISDIR(info.st_mode):
        raise OutputError(f"cannot write '{name}': it is a directory")
    return info


@contextlib.contextmanager
def open_output(path: str | os.PathLike, binary: bool = True) -> Iterator[IO]:
    """A stream that writes ``path`` by the rules of this module, committed at the end.

    Text streams write UTF-8 with ``\\n`` line ends. An ``OSError`` inside the block
    is taken as a failure to write the output (it becomes an ``OutputError``), except
    on standard output, where errors such as a closed pipe pass through unchanged.
    """
    name = os.fspath(path)
    if name == STDOUT:
        with _standard_output(binary) as stream:
            yield stream
        return
    real = os.path.realpath(name)
    info = _status(name, real)
    if info is not None and not stat.S_ISREG(info.st_mode):
        with _in_place(name, real, binary) as stream:
            yield stream
        return
    with _replacing(name, real, info, binary) as stream:
        yield stream


@contextlib.contextmanager
def _standard_output(binary: bool) -> Iterator[IO]:
    if not binary:
        yield sys.stdout
        sys.stdout.flush()
        return
    sys.stdout.flush()
    buffer = sys.stdout.buffer
    yield buffer
    buffer.flush()


@contextlib.contextmanager
def _in_place(name: str, real: str, binary: bool) -> Iterator[IO]:
    """A device, FIFO or socket: opened and written, the node itself left alone."""
    try:
        raw = open(real, "wb")  # noqa: SIM115 - closed below, errors reworded
    except OSError as err:
        raise _error(name, err) from None
    stream = _wrap(raw, binary)
    try:
        yield stream
        stream.close()
    except OSError as err:
        with contextlib.suppress(OSError):
            stream.close()
        raise _error(name, err) from None
    except BaseException:
        with contextlib.suppress(OSError):
            stream.close()
        raise


@contextlib.contextmanager
def _replacing(name: str, real: str, info: os.stat_result | None, binary: bool) -> Iterator[IO]:
    """A regular or new file: a temporary file beside it, renamed over it at the end."""
    folder = os.path.dirname(real) or "."
    descriptor, temporary = _temporary(name, folder, os.path.basename(real))
    try:
        if info is not None:  # a replaced file keeps its mode (and, where allowed, owner)
            os.fchmod(descriptor, stat.S_IMODE(info.st_mode))
            if (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
                with contextlib.suppress(OSError):
                    os.fchown(descriptor, info.st_uid, info.st_gid)
        stream = _wrap(os.fdopen(descriptor, "wb"), binary)
    except BaseException:
        os.close(descriptor)
        _remove(temporary)
        raise
    try:
        yield stream
        stream.close()
        os.replace(temporary, real)
    except OSError as err:
        with contextlib.suppress(OSError):
            stream.close()
        _remove(temporary)
        raise _error(name, err) from None
    except BaseException:
        with contextlib.suppress(OSError):
            stream.close()
        _remove(temporary)
        raise


def _temporary(name: str, folder: str, base: str) -> tuple[int, str]:
    """A new file ``.<base>.<random>.tmp`` in ``folder``, created with mode 0666 & ~umask."""
    import secrets  # only when a file is written (a few ms of start-up otherwise)

    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        temporary = os.path.join(folder, f".{base}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue
        except OSError as err:
            raise _error(name, err, folder) from None
    raise OutputError(f"cannot write '{name}': no free temporary name in '{folder}'")


def _wrap(raw: IO[bytes], binary: bool) -> IO:
    if binary:
        return raw
    return io.TextIOWrapper(raw, encoding="utf-8", newline="\n")  # type: ignore[arg-type]


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _error(name: str, err: OSError, folder: str | None = None) -> OutputError:
    """The one-line reason an output cannot be written."""
    code = err.errno
    if code == errno.ENOENT and folder is not None:
        reason = f"folder '{_shown(folder, name)}' does not exist"
    elif code == errno.ENOTDIR:
        reason = "a part of the path is not a folder"
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        where = f"folder '{_shown(folder, name)}'" if folder is not None else "it"
        reason = f"permission denied (cannot write to {where})"
    elif code == errno.EISDIR:
        reason = "it is a directory"
    elif code == errno.ENOSPC:
        reason = "no space left on the device"
    elif code == errno.ELOOP:
        reason = "too many levels of symbolic links"
    else:
        reason = (err.strerror or str(err)).lower()
    return OutputError(f"cannot write '{name}': {reason}")


def _shown(folder: str, name: str) -> str:
    """The folder as the user named it, where the path names one."""
    given = os.path.dirname(name)
    return given if given and os.path.realpath(given) == folder else folder
