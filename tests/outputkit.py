"""Helpers of the output tests: a FIFO with a reader, and the mode a new file should get."""

from __future__ import annotations

import os
import pathlib
import threading


class FifoReader:
    """A FIFO made in a temporary folder, read to its end by a thread while a writer writes."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path
        os.mkfifo(path)
        self.data = b""
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with open(self.path, "rb") as stream:
            self.data = stream.read()

    def received(self, timeout: float = 30.0) -> bytes:
        """What the writer wrote (after it closed the FIFO)."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the writer never closed the FIFO"
        return self.data


def umask_mode() -> int:
    """The mode ``open`` gives a new file under the current umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask
