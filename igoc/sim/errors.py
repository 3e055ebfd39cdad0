"""The one error an invalid program raises in the simulator."""

from __future__ import annotations

from igoc.errors import IgocError


class SimError(IgocError):
    """An invalid program: the core, the instruction index and kind, and what is wrong.

    ``core`` and ``index`` are ``None`` for errors in the program's tables or
    inputs rather than in one instruction.
    """

    def __init__(
        self, message: str, core: int | None = None, index: int | None = None, kind: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.core = core
        self.index = index
        self.kind = kind

    def __str__(self) -> str:
        if self.core is None:
            return self.message
        where = f"core {self.core}, instruction {self.index}"
        if self.kind:
            where += f" ({self.kind})"
        return f"{where}: {self.message}"
