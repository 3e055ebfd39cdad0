"""Models from other tools as igoc input: ONNX graphs and SCALE-Sim topology files.

    from igoc.importer import import_model
    imported = import_model("resnet18.onnx", batch=4)
    text = imported.text()        # one func.func per layer, as igoc/zoo writes them

``import_model`` reads ONNX models (``onnx_graph``; needs the ``onnx``
package, ``pip install 'igoc[onnx]'``) and SCALE-Sim topology CSVs
(``scalesim``), and raises :class:`ModelImportError`, whose message is one line
naming the file, for anything it cannot import. ``igoc-import`` is the command.

Owns reading other tools' model formats; writes ``grad``-dialect text through the
zoo's renderer, and checks every layer against igoc's limits (``limits``) so
that igoc never refuses a file it writes. May import ``zoo`` and ``limits`` only
(and onnx); nothing of the compiler imports it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from igoc.importer.model import ImportedLayer, ImportedModel, ModelImportError, Skipped
from igoc.limits import MAX_DIM, LimitError

__all__ = [
    "FORMATS",
    "MAX_BATCH",
    "ImportedLayer",
    "ImportedModel",
    "ModelImportError",
    "Skipped",
    "guess_format",
    "import_model",
]

FORMATS = ("onnx", "scalesim")
"""The formats ``import_model`` reads."""

MAX_BATCH = MAX_DIM
"""The largest batch: it is a dimension of every convolution's tensors (``igoc.limits``)."""


def guess_format(path: str) -> str:
    """``onnx`` or ``scalesim``: by the file's extension, else by whether it starts as CSV text."""
    lowered = path.lower()
    if lowered.endswith(".onnx"):
        return "onnx"
    if lowered.endswith((".csv", ".tsv")):
        return "scalesim"
    try:
        with open(path, "rb") as stream:
            start = stream.read(4096)
    except OSError:
        return "onnx"  # the reader says why it cannot read the file
    first_line = start.split(b"\n", 1)[0].removeprefix(b"\xef\xbb\xbf")
    looks_like_text = all(byte >= 32 or byte in b"\t\r" for byte in first_line)
    if looks_like_text and first_line.lower().startswith(b"layer"):
        return "scalesim"
    return "onnx"


def import_model(
    path: str | os.PathLike[str],
    batch: int | None = None,
    dims: Mapping[str, int] | None = None,
    format: str | None = None,
) -> ImportedModel:
    """Import a model file as igoc layers.

    ``batch`` is the batch of an ONNX model whose batch axis is symbolic (it
    must match a fixed one) and of a SCALE-Sim topology (default 1), from 1 to
    :data:`MAX_BATCH`; ``dims`` gives sizes to an ONNX model's other symbolic
    dimensions by name (each must be one of the model's); ``format`` is ``onnx``
    or ``scalesim`` (default: :func:`guess_format`). A layer whose sizes are
    beyond igoc's limits (``igoc.limits``) is a :class:`ModelImportError`.
    """
    path = os.fspath(path)
    if batch is not None and not 1 <= batch <= MAX_BATCH:
        raise ValueError(f"the batch must be from 1 to {MAX_BATCH:,}, got {batch:,}")
    chosen = format or guess_format(path)
    if chosen == "onnx":
        from igoc.importer.onnx_graph import read_onnx

        imported = read_onnx(path, batch, dims)
    elif chosen == "scalesim":
        if dims:
            raise ValueError("named dimensions (dims) apply to ONNX models only")
        from igoc.importer.scalesim import read_scalesim

        imported = read_scalesim(path, batch)
    else:
        raise ValueError(f"unknown format '{chosen}'; formats: {', '.join(FORMATS)}")
    _check_limits(imported, batch)
    return imported


def _check_limits(imported: ImportedModel, batch: int | None) -> None:
    """A :class:`ModelImportError` at the first layer igoc would refuse for its sizes."""
    for entry in imported.layers:
        where = f"{imported.source}: layer '{entry.layer.name}'"
        try:
            entry.check_params()
        except LimitError as err:
            raise ModelImportError(f"{where}: {err}") from None
        try:
            entry.check_shapes()
        except LimitError as err:
            hint = "; give a smaller --batch" if batch is not None else ""
            raise ModelImportError(f"{where}: {err}{hint}") from None
