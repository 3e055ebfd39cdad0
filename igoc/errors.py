"""``IgocError``: the base of every error igoc raises about what it was given.

An input that does not parse or verify (``frontend.DiagnosticError``), a target
that cannot be used (``target.TargetError``), a pipeline that cannot be built
(``pipeline.PipelineError``), a program the simulator or assembler refuses: a
caller of the library catches them all as ``IgocError``, and its message says
what is wrong in one line. Errors that are igoc's own bugs (``pipeline.PassError``)
and wrong argument types (``TypeError``) are not ``IgocError``. Imports nothing.
"""


class IgocError(Exception):
    """Something igoc was given that it refuses; the message says what and where."""
