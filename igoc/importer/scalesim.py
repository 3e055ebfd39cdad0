"""SCALE-Sim topology files to igoc layers, with SCALE-Sim's meaning of every column.

A topology is a CSV file, one layer per row after a header, in one of two forms
(SCALE-Sim v2's ``topology_utils``):

- convolutions: ``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter
  Width, Channels, Num Filter, Strides,`` (or two columns ``Stride height,
  Stride width``). The IFMAP is what the filter slides over, without padding;
  SCALE-Sim counts ``ceil((IFMAP - Filter + Stride) / Stride)`` outputs along
  each axis, so where the stride does not divide ``IFMAP - Filter`` its last
  window runs past the IFMAP and reads nothing there: igoc adds those zero
  rows (or columns) to X, which computes the same outputs. A layer
  whose name holds ``DP`` is depthwise: SCALE-Sim runs each of its
  ``Channels`` channels as its own one-channel convolution with ``Num
  Filter`` filters, which igoc writes as one convolution with ``groups =
  Channels``.
- GEMMs: ``Layer, M, N, K``: Y (M x N) = X (M x K) . W (K x N) (SCALE-Sim
  runs it as an M x K IFMAP under N filters of 1 x K).

SCALE-Sim has no batch: ``--batch N`` (default 1) is the N of every
convolution and multiplies every GEMM's M. Rows may end in commas and spaces,
a trailing field starting with ``#`` is a comment, rows of empty fields are
skipped, tab-separated files and a byte-order mark are read too, and header
columns after the known ones are ignored (the output's header names them).
The file lists layers, not how data flows between them: the first row is
taken to read the network's input and computes no dX, as the first layer of
igoc's zoo networks does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from igoc.importer.model import (
    ImportedLayer,
    ImportedModel,
    ModelImportError,
    SymbolNames,
    gemm_summary,
    linear_layer,
    plural,
    read_file,
)
from igoc.zoo.layers import Conv2d

CONV_HEADER = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
    "Num Filter, Strides"
)
GEMM_HEADER = "Layer, M, N, K"

_CONV_COLUMNS = (  # what each column's header must mention, in order
    ("ifmap",),
    ("ifmap",),
    ("filter",),
    ("filter",),
    ("channel",),
    ("filter", "num"),
    ("stride",),
)


@dataclass(frozen=True)
class _Format:
    kind: str  # "conv" or "gemm"
    columns: tuple[str, ...]  # the header's names of the numeric columns read
    ignored: tuple[str, ...]  # named header columns after them


def read_scalesim(path: str, batch: int | None = None) -> ImportedModel:
    """Import the SCALE-Sim topology at ``path``; :class:`ModelImportError` if it cannot be."""
    shown = os.path.basename(path)
    lines = _lines(path, shown)
    numbered = [(number, line) for number, line in enumerate(lines, 1) if line.strip()]
    if not numbered:
        raise ModelImportError(f"{shown}: the file is empty")
    header_row, header = numbered[0]
    separator = "," if "," in header or "\t" not in header else "\t"
    fmt = _format(_fields(header, separator), shown, header_row)
    samples = 1 if batch is None else batch
    note = f"{samples} (--batch)" if batch is not None else "1 (SCALE-Sim topologies have none)"
    if fmt.kind == "gemm":
        note += "; each GEMM's M is multiplied by it" if batch is not None else ""
    result = ImportedModel(
        source=shown,
        description=f"a SCALE-Sim topology ({'convolution' if fmt.kind == 'conv' else 'GEMM'} "
        "format)",
        batch_note=note,
    )
    result.notes.append(
        "The first row is taken to read the network's input: it computes no dX. "
        + (
            "Convolutions are unpadded: the IFMAP is what the filter slides over. A layer whose "
            "name holds 'DP' is depthwise (groups = Channels, Num Filter filters per channel)."
            if fmt.kind == "conv"
            else "GEMM rows are Y (M x N) = X (M x K) . W (K x N)."
        )
    )
    if fmt.ignored:
        result.notes.append(f"Columns not read: {', '.join(fmt.ignored)}.")
    names = SymbolNames()
    for number, line in numbered[1:]:
        fields = _fields(line, separator)
        if not any(fields) or fields[0].startswith("#"):
            continue
        first = not result.layers
        entry = _row(fmt, fields, number, shown, names, samples, not first)
        result.layers.append(entry)
    if not result.layers:
        raise ModelImportError(f"{shown}: the topology lists no layers")
    return result


def _lines(path: str, shown: str) -> list[str]:
    data = read_file(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        row = data.count(b"\n", 0, err.start) + 1
        raise ModelImportError(
            f"{shown}:{row}: not a SCALE-Sim topology (byte 0x{data[err.start]:02x} is not "
            "UTF-8 text)"
        ) from None
    if "\x00" in text:
        raise ModelImportError(f"{shown}: not a SCALE-Sim topology (it holds NUL characters)")
    return text.splitlines()


def _fields(line: str, separator: str) -> list[str]:
    """The row's fields, stripped; trailing empty fields and a trailing ``#`` comment dropped."""
    fields = [field.strip() for field in line.split(separator)]
    while fields and (not fields[-1] or fields[-1].startswith("#")):
        fields.pop()
    return fields


def _format(header: list[str], shown: str, row: int) -> _Format:
    lowered = [h.lower() for h in header]
    expected = f"expected '{CONV_HEADER}' or '{GEMM_HEADER}'"
    if not lowered or not lowered[0].startswith("layer"):
        raise ModelImportError(f"{shown}:{row}: not a SCALE-Sim topology header; {expected}")
    if [h.replace(" ", "") for h in lowered[1:4]] == ["m", "n", "k"]:
        return _Format("gemm", tuple(header[1:4]), _named(header[4:]))
    columns = lowered[1:8]
    if len(columns) == 7 and all(
        any(word in column for word in words)
        for column, words in zip(columns, _CONV_COLUMNS, strict=True)
    ):
        count = 8 if len(lowered) > 8 and "stride" in lowered[8] else 7
        return _Format("conv", tuple(header[1 : 1 + count]), _named(header[1 + count :]))
    raise ModelImportError(
        f"{shown}:{row}: the header '{', '.join(header)}' is neither SCALE-Sim format; {expected}"
    )


def _named(columns: list[str]) -> tuple[str, ...]:
    return tuple(column for column in columns if column)


def _row(
    fmt: _Format,
    fields: list[str],
    number: int,
    shown: str,
    names: SymbolNames,
    batch: int,
    computes_dx: bool,
) -> ImportedLayer:
    name = fields[0]
    where = f"{shown}:{number}"
    if not name:
        raise ModelImportError(f"{where}: the row has no layer name")
    values = fields[1 : 1 + len(fmt.columns)]
    if len(values) < len(fmt.columns):
        raise ModelImportError(
            f"{where}: layer '{name}' has {len(values)} of the {len(fmt.columns)} numbers "
            f"the header lists ({', '.join(fmt.columns)})"
        )
    numbers = []
    for column, value in zip(fmt.columns, values, strict=True):
        try:
            number_value = int(value)
        except ValueError:
            raise ModelImportError(
                f"{where}: layer '{name}': {column} is '{value}', not a whole number"
            ) from None
        if number_value < 1:
            raise ModelImportError(
                f"{where}: layer '{name}': {column} is {number_value}, not positive"
            )
        numbers.append(number_value)
    symbol = names.take(name, f"layer_{number}")
    if fmt.kind == "gemm":
        m, n, k = numbers
        layer = linear_layer(symbol, m * batch, k, n, computes_dx)
        origin = f"from row {number} of the topology: M={m}, N={n}, K={k}"
        summary = f"linear {k} -> {n}; {gemm_summary(layer, 1)}"  # gemm_summary says GEMM
        return ImportedLayer(layer, 1, summary, (origin,))
    height, width, filter_h, filter_w, channels, filters, stride_h, *rest = numbers
    stride_w = rest[0] if rest else stride_h
    if filter_h > height or filter_w > width:
        raise ModelImportError(
            f"{where}: layer '{name}': the {filter_h}x{filter_w} filter is larger than the "
            f"{height}x{width} IFMAP"
        )
    depthwise = "DP" in name
    out_h, out_w = _out_size(height, filter_h, stride_h), _out_size(width, filter_w, stride_w)
    extra_h = (out_h - 1) * stride_h + filter_h - height
    extra_w = (out_w - 1) * stride_w + filter_w - width
    layer = Conv2d(
        name=symbol,
        in_channels=channels,
        out_channels=channels * filters if depthwise else filters,
        in_hw=(height + extra_h, width + extra_w),
        kernel=(filter_h, filter_w),
        stride=(stride_h, stride_w),
        groups=channels if depthwise else 1,
        computes_dx=computes_dx,
    )
    summary = f"{'depthwise ' if depthwise else ''}conv {filter_h}x{filter_w}"
    if layer.stride != (1, 1):
        summary += f", stride {stride_h}x{stride_w}"
    summary += f", {height}x{width} -> {out_h}x{out_w}, "
    summary += f"{channels} -> {layer.out_channels} channels; {gemm_summary(layer, batch)}"
    origin = (
        f"from row {number} of the topology: IFMAP {height}x{width}, filter "
        f"{filter_h}x{filter_w}, {plural(channels, 'channel')}, {plural(filters, 'filter')}, "
        f"stride {stride_h}" + (f"x{stride_w}" if rest else "")
    )
    origins = [origin]
    if extra_h or extra_w:
        origins.append(
            f"SCALE-Sim counts a last window that runs past the IFMAP ({out_h}x{out_w} outputs) "
            f"and reads nothing there: X gains {plural(extra_h, 'zero row')} and "
            f"{plural(extra_w, 'zero column')} at the end"
        )
    return ImportedLayer(layer, batch, summary, tuple(origins), ((0, extra_h), (0, extra_w)))


def _out_size(ifmap: int, kernel: int, stride: int) -> int:
    """SCALE-Sim's output size, ``ceil((IFMAP - Filter + Stride) / Stride)``."""
    return -(-(ifmap - kernel) // stride) + 1
