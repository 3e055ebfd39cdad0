"""What igoc's command-line tools share: exit codes, error reporting, input and output.

Exit codes: 0 success; 1 an error in the user's input (a diagnostic was
printed); 2 bad usage (bad flags, an unknown pipeline or pass); 3 an internal
error of igoc (a pass failed or left invalid IR), which is a bug to report.
Nothing here imports xDSL, lark or numpy at module level, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import signal
import sys
import textwrap
import threading
import traceback
from collections.abc import Callable, Iterator

from igoc.frontend.diagnostics import DiagnosticError
from igoc.target.target import CHOICES, DEFAULTS, Target

EXIT_OK = 0
EXIT_INPUT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


class UsageError(Exception):
    """A command line that makes no sense (exit 2)."""


SET_HELP = (
    "replace a key of the target, typed by the key (repeatable): "
    "--set dram_bandwidth_gb_per_s=11; the target is renamed after what changed"
)


def target_keys_help() -> str:
    """A help paragraph: the keys of a target (file or ``--set``), with the choices of those
    that take names, and the defaults of those that may be left out."""
    keys = [
        f"{f.name} ({'|'.join(CHOICES[f.name])})" if f.name in CHOICES else f.name
        for f in dataclasses.fields(Target)
    ]
    left_out = ", ".join(f"{key} = {value}" for key, value in DEFAULTS.items())
    text = (
        f"Target keys (a .toml file, --set): {', '.join(keys)}. Left out of a file: "
        f"{left_out}; the presets use array_timing = pipelined (a matmul's folds back to "
        "back) and say so."
    )
    return textwrap.fill(text, 79)


def add_ir_print_options(parser: argparse.ArgumentParser) -> None:
    """The options of a tool that prints IR: the generic form, source locations."""
    parser.add_argument("--generic", action="store_true", help="print IR in MLIR's generic form")
    parser.add_argument(
        "--mlir-print-debuginfo",
        dest="debuginfo",
        action="store_true",
        help='print each op\'s source location, loc("FILE":LINE:COL), after it',
    )


def machine_settings(texts: list[str] | None) -> list[tuple[str, object]]:
    """The typed ``--set KEY=VALUE`` settings of a tool that compiles (bad ones: UsageError).

    ``variant`` and ``batch`` choose igoc-bench's inputs; a compiler takes the
    batch its input has, so they are bad usage here.
    """
    from igoc.target import SettingError, parse_setting
    from igoc.target.spec import KEY_TYPES, WORKLOAD_KEYS

    machine_keys = [key for key in KEY_TYPES if key not in WORKLOAD_KEYS]
    settings = []
    for text in texts or []:
        named = text.partition("=")[0].strip()
        if "=" in text and named and named not in KEY_TYPES:  # the keys a compiler takes
            raise UsageError(
                f"--set {text}: unknown key '{named}'; keys: {', '.join(machine_keys)}"
            )
        try:
            key, value = parse_setting(text)
        except SettingError as err:
            raise UsageError(f"--set {text}: {err}") from None
        if key in WORKLOAD_KEYS:
            raise UsageError(
                f"--set {text}: key '{key}' chooses what igoc-bench runs (the networks' "
                "variant and batch); a compiler compiles its input as it is"
            )
        settings.append((key, value))
    return settings


def decimal_integer(text: str) -> int:
    """``int(text)`` for an integer in decimal digits (a sign and spaces around allowed);
    ValueError for anything else, ``1_0`` too (Python's digit separators: no number to a
    user, as ``--set`` takes none either)."""
    if "_" in text:
        raise ValueError(text)
    return int(text, 10)


def integer(text: str) -> int:
    """An argparse ``type``: an integer (:func:`decimal_integer`)."""
    try:
        return decimal_integer(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse ``type``: a whole number no smaller than ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = decimal_integer(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if value < minimum:
            below = {0: "negative", 1: "not positive"}.get(minimum, f"less than {minimum}")
            raise argparse.ArgumentTypeError(f"{value} is {below}")
        return value

    return parse


EXIT_TERMINATED = 128 + signal.SIGTERM
"""The status of a tool ended by SIGTERM, as a shell reports a process the signal killed."""
EXIT_INTERRUPTED = 128 + signal.SIGINT
"""The status of a tool ended by Ctrl-C (SIGINT)."""


class Terminated(BaseException):
    """SIGTERM (``kill``, ``timeout``, a batch system's end of a job), raised in the tool's main
    thread: the tool then ends as after Ctrl-C, its workers stopped and its temporary files
    and folders removed, instead of dying where it stands."""


@contextlib.contextmanager
def _terminable() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` in this process while the block runs (from the main
    thread only; a process forked meanwhile, which inherits the handler, dies of the signal
    as it would have). Python prints and drops an exception raised while a finalizer runs
    (a ``__del__``), so a SIGTERM that lands there is lost and the tool runs on; each
    SIGTERM raises anew, so the next one ends it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pid = os.getpid()

    def handler(signum: int, frame: object) -> None:
        if os.getpid() != pid:  # a forked worker: the signal's default
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def ending_on_signals(prog: str, body: Callable[[], int]) -> int:
    """Run a tool's body; Ctrl-C and SIGTERM end it with its ``finally`` blocks and
    context managers run, a line on stderr and exit status 130 or :data:`EXIT_TERMINATED`.
    The body's own errors pass through."""
    try:
        with _terminable():
            return body()
    except Terminated:
        print(f"{prog}: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def run_tool(prog: str, body: Callable[[], int], sources: dict[str, str]) -> int:
    """Run a tool's body, turning every failure into a message and an exit code.

    ``sources`` maps file names to their text, filled by the body as it reads
    input, so that diagnostics show the offending line.
    """
    from igoc.pipeline import PassError, PipelineError
    from igoc.target import TargetError, TargetUsageError

    try:
        return ending_on_signals(prog, body)
    except DiagnosticError as err:
        location = err.location
        source = sources.get(location[0]) if location else None
        print(err.render(source), file=sys.stderr)
        return EXIT_INPUT_ERROR
    except TargetUsageError as err:  # named or set on the command line
        print(f"{prog}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except TargetError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except (UsageError, PipelineError) as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except PassError as err:
        print(f"{prog}: internal error: {err}", file=sys.stderr)
        _traceback_if_asked()
        return EXIT_INTERNAL
    except BrokenPipeError:
        # The reader of our output went away (`igoc ... | head`); nothing left to say.
        sys.stderr.close()
        return EXIT_OK
    except Exception as err:  # noqa: BLE001 - a user never sees a traceback
        print(f"{prog}: internal error: {type(err).__name__}: {err}", file=sys.stderr)
        _traceback_if_asked()
        return EXIT_INTERNAL


def _traceback_if_asked() -> None:
    if os.environ.get("IGOC_TRACEBACK"):
        traceback.print_exc()
    else:
        print("(set IGOC_TRACEBACK=1 to see where)", file=sys.stderr)


def load_module(path: str, sources: dict[str, str]):
    """Read and parse an input file (``-``: standard input); remember its text in ``sources``."""
    from igoc.frontend import parse_text, read_source

    name = "<stdin>" if path == "-" else path
    text = read_source(path)
    sources[name] = text
    return parse_text(text, name)
