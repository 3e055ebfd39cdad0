"""igoc as a library: compile MLIR text or a file to an NPU program in one call.

    from igoc.api import compile_file
    from igoc.sim import simulate
    program = compile_file("samples/basics/linear.mlir", "edge", pipeline="igo")
    report = simulate(program).report

What the ``igoc`` command does, without the command line: parse and verify,
stamp the target, run a named pipeline (or a pass-pipeline spec) down to the
``npu`` stage, and build the program (``Program``, ready for ``write_npu`` or
``simulate``). What igoc refuses raises an ``igoc.errors.IgocError``, in one
line: ``DiagnosticError`` for the input (with its location), ``TargetError``
for the target, ``PipelineError`` for the pipeline; an argument of the wrong
type raises ``TypeError``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xdsl.dialects.builtin import ModuleOp

    from igoc.cost.session import Session
    from igoc.isa.program import Program
    from igoc.target import Target


def _target(target: Target | str | os.PathLike) -> Target:
    from igoc.target import Target, TargetError, load_target, target_from_dict

    if isinstance(target, Target):  # made by hand (dataclasses.replace): checked as a file is
        return target_from_dict(target.as_dict(), f"target '{target.name}'")
    if not isinstance(target, str | os.PathLike):
        raise TypeError(
            "target must be an igoc.target.Target, a preset's name or a .toml path, "
            f"not {type(target).__name__}"
        )
    if not os.fspath(target):
        raise TargetError("the target is empty: give a preset's name or a .toml path")
    return load_target(os.fspath(target))


def _check_session(session: object) -> None:
    """TypeError unless ``session`` is a ``Session`` or None."""
    from igoc.cost.session import Session

    if session is not None and not isinstance(session, Session):
        raise TypeError(
            f"session must be an igoc.cost.session.Session or None, not {type(session).__name__}"
        )


def _check_names(**names: object) -> None:
    """TypeError unless each of ``names`` is a string or None."""
    for name, value in names.items():
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be a string or None, not {type(value).__name__}")


def lower_module(
    module: ModuleOp,
    target: Target | str,
    pipeline: str = "igo",
    pass_pipeline: str | None = None,
    session: Session | None = None,
) -> Session:
    """Run a pipeline on a parsed module, in place, down to the ``npu`` stage; the session
    it ran in (``session``, or a new one)."""
    from xdsl.dialects.builtin import ModuleOp

    from igoc import pipeline as pipelines
    from igoc.dialects.npu import stamp_target

    if not isinstance(module, ModuleOp):
        raise TypeError(
            f"module must be a parsed module (igoc.frontend.parse_text), not "
            f"{type(module).__name__}"
        )
    _check_names(pipeline=pipeline, pass_pipeline=pass_pipeline)
    _check_session(session)
    stamp_target(module, _target(target))
    steps = pipelines.build_pipeline(pipeline, pass_pipeline)
    if pipelines.final_stage(steps) != "npu":
        steps += pipelines.parse_spec("lower-to-npu")
    pipelines.check_input(module, steps, None if pass_pipeline is not None else pipeline)
    return pipelines.run(module, steps, session=session)


def program_meta(module: ModuleOp, pipeline: str) -> dict:
    """What a program records of how it was made: version, pipeline, each layer's schedule."""
    from igoc import __version__
    from igoc.dialects.npu import CoreOp, LayerOp, ProgramOp
    from igoc.dialects.sched import from_attr

    layers = []
    for program in module.body.block.ops:
        if not isinstance(program, ProgramOp):
            continue
        for core in program.body.block.ops:
            if not isinstance(core, CoreOp):
                continue
            for op in core.body.block.ops:
                if isinstance(op, LayerOp):
                    computations = tuple(c.data for c in op.computations.data)
                    layers.append(
                        {
                            "core": core.core.value.data,
                            "name": op.layer_name.data,
                            "schedule": op.schedule.schedule(computations).as_dict(),
                            "stats": from_attr(op.stats),
                        }
                    )
    return {"compiler": f"igoc {__version__}", "pipeline": pipeline, "layers": layers}


def compile_module(
    module: ModuleOp,
    target: Target | str,
    pipeline: str = "igo",
    pass_pipeline: str | None = None,
    session: Session | None = None,
) -> Program:
    """The NPU program of a parsed module (the module is lowered in place).

    ``session``: share one session's search between compiles for the same target.
    """
    from igoc.passes.lower_to_npu import program_from_module

    ran = lower_module(module, target, pipeline, pass_pipeline, session)
    # what ran: the spec when one was given (an empty one too), else the named pipeline
    if pass_pipeline is not None:
        made_by = pass_pipeline
    else:
        from igoc.pipeline import DEFAULT_PIPELINE

        made_by = DEFAULT_PIPELINE if pipeline is None else pipeline
    return program_from_module(module, program_meta(module, made_by), ran)


def compile_text(
    text: str,
    target: Target | str,
    pipeline: str = "igo",
    pass_pipeline: str | None = None,
    session: Session | None = None,
    *,
    filename: str = "<string>",
) -> Program:
    """The NPU program of MLIR text (``filename``: the name its diagnostics give it)."""
    from igoc.frontend import parse_text

    if not isinstance(text, str):
        raise TypeError(f"text must be a string, not {type(text).__name__}")
    _check_names(filename=filename)
    module = parse_text(text, filename)
    return compile_module(module, target, pipeline, pass_pipeline, session)


def compile_file(
    path: str | os.PathLike,
    target: Target | str,
    pipeline: str = "igo",
    pass_pipeline: str | None = None,
    session: Session | None = None,
) -> Program:
    """The NPU program of an MLIR file."""
    from igoc.frontend import parse_file

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a string or a path, not {type(path).__name__}")
    return compile_module(parse_file(os.fspath(path)), target, pipeline, pass_pipeline, session)
