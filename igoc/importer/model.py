"""What an import produces: the layers found, what was skipped and why, and the text igoc reads.

Every importer turns its model into :class:`ImportedLayer` records, each a
zoo layer (``Conv2d`` or ``Linear``) with its own batch and the lines that say
where in the model it came from, plus the :class:`Skipped` parts of the
model. :meth:`ImportedModel.text` writes them as the zoo writes its tables
(``igoc.zoo.render``): one ``func.func`` per layer, so ``igoc``,
``igoc-bench --model FILE`` and ``--layers`` take the file as they take a
sample. The text depends only on the model and the options, never on where
the file lies.
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from dataclasses import dataclass, field

from igoc.limits import check_conv_param, check_shape
from igoc.zoo.layers import Conv2d, Layer, Linear
from igoc.zoo.render import render_layer


class ModelImportError(Exception):
    """A model that cannot be imported; the message is one line naming the file (exit 1)."""


def read_file(path: str) -> bytes:
    """A model file's bytes, or a :class:`ModelImportError` saying why it has none."""
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except FileNotFoundError:
        raise ModelImportError(f"cannot read '{path}': no such file") from None
    except IsADirectoryError:
        raise ModelImportError(f"cannot read '{path}': it is a directory") from None
    except OSError as err:
        raise ModelImportError(f"cannot read '{path}': {err.strerror or err}") from None


@dataclass(frozen=True)
class ImportedLayer:
    """One layer of the output: a zoo record at its batch, and where it came from."""

    layer: Layer  # its name is the function's symbol
    batch: int  # the N of a convolution; 1 for a linear layer, whose M is rows_per_sample
    summary: str  # what it is and its GEMM, one line
    origin: tuple[str, ...] = ()  # where in the model it came from, and how it was written
    # Zero rows (before, after) along H and columns along W that X gained so that an
    # asymmetrically padded convolution could be written with symmetric padding.
    x_added: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))
    # "convolution", "linear", or "activation product" (both operands activations)
    kind: str = ""

    @property
    def kind_name(self) -> str:
        """What the layer is in the model (a grouped 1x1 convolution may be a batched product)."""
        return self.kind or ("convolution" if isinstance(self.layer, Conv2d) else "linear")

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """The shapes of the function's X, W and Y, as the file writes them."""
        layer = self.layer
        if isinstance(layer, Linear):
            m, k, n = layer.gemm_dims(self.batch)
            return {"X": (m, k), "W": (k, n), "Y": (m, n)}
        return {
            "X": (self.batch, layer.in_channels, *layer.in_hw),
            "W": layer.weight_shape,
            "Y": (self.batch, layer.out_channels, *layer.out_hw),
        }

    def check_params(self) -> None:
        """:class:`~igoc.limits.LimitError` if igoc would refuse the layer's parameters."""
        if isinstance(self.layer, Conv2d):
            for name in ("stride", "padding", "dilation"):
                check_conv_param(f"a {name}", getattr(self.layer, name))
            check_conv_param("a group count", (self.layer.groups,))

    def check_shapes(self) -> None:
        """:class:`~igoc.limits.LimitError` if igoc would refuse the size of X, W or Y."""
        for role, shape in self.shapes().items():
            check_shape(role, shape)


@dataclass(frozen=True)
class Skipped:
    """A part of the model that is not imported."""

    kind: str  # the ONNX op type, or the kind of a topology row
    name: str  # the node's or row's name ('' when it has none)
    reason: str  # why it is not imported


def plural(count: int, noun: str, nouns: str = "") -> str:
    """``1 node``, ``2 nodes``: the count and the noun it takes (``nouns`` if not noun + s)."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


MAX_COMMENT_CHARS = 96  # wrap comments so that a line with its "// " fits 100 characters

NOT_MODELLED = "not a GEMM or a convolution"
"""The reason of every op that igoc does not model at all (norms, activations, reshapes...)."""


@dataclass
class ImportedModel:
    """A model as igoc input: its layers in the model's order and what was left out."""

    source: str  # the file's name (no folders)
    description: str  # what the file is, e.g. "ONNX model, opset 17, from pytorch 2.13.0"
    batch_note: str  # where the batch came from
    layers: list[ImportedLayer] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # anything else a reader must know

    @property
    def macs(self) -> int:
        """Forward multiply-accumulates of the imported layers."""
        return sum(entry.layer.macs(entry.batch) for entry in self.layers)

    @property
    def weight_elems(self) -> int:
        """Weights of the imported layers (the W of an activation product is no weight)."""
        return sum(
            entry.layer.weight_elems
            for entry in self.layers
            if entry.kind_name != "activation product"
        )

    def counts(self) -> str:
        """``12 convolutions, 1 linear, 2 activation products`` (the kinds imported)."""
        counted = Counter(entry.kind_name for entry in self.layers)
        parts = []
        for kind in ("convolution", "linear", "activation product"):
            count = counted.get(kind, 0)
            if count:
                ending = "s" if count != 1 and kind != "linear" else ""
                parts.append(f"{count} {kind}{ending}")
        return ", ".join(parts) or "none"

    def skipped_lines(self) -> list[str]:
        """The skipped parts, one line per op type that igoc does not model, one per other node."""
        lines = []
        plain = Counter(s.kind for s in self.skipped if s.reason == NOT_MODELLED)
        if plain:
            listed = ", ".join(f"{kind} x{count}" for kind, count in sorted(plain.items()))
            lines += _wrapped(f"{NOT_MODELLED}, not modelled: {listed}")
        for s in self.skipped:
            if s.reason != NOT_MODELLED:
                named = f"{s.kind} '{s.name}'" if s.name else s.kind
                lines += _wrapped(f"{named}: {s.reason}")
        return lines

    def skipped_summary(self) -> str:
        """The skipped nodes in one line, counted per op type with the first reason of each.

        ``Conv x2: its weight is computed at run time, not a parameter; Relu x3, Add x1:
        not a GEMM or a convolution``; the op types with reasons of their own first, in
        the model's order.
        """
        counted = Counter(s.kind for s in self.skipped)
        reasons: dict[str, list[str]] = {}
        for s in self.skipped:
            found = reasons.setdefault(s.kind, [])
            if s.reason != NOT_MODELLED and s.reason not in found:
                found.append(s.reason)
        parts = []
        for kind, found in reasons.items():
            if found:
                others = len(found) - 1
                more = f" (and {plural(others, 'other reason')})" if others else ""
                parts.append(f"{kind} x{counted[kind]}: {found[0]}{more}")
        plain = [kind for kind, found in reasons.items() if not found]
        if plain:
            listed = ", ".join(f"{kind} x{counted[kind]}" for kind in plain)
            parts.append(f"{listed}: {NOT_MODELLED}")
        return "; ".join(parts)

    def header(self) -> list[str]:
        """The comment block that opens the file."""
        lines = [
            f"{self.source}: imported by igoc-import from {self.description}",
            f"Batch:  {self.batch_note}",
            f"Layers: {len(self.layers)} imported ({self.counts()}); "
            f"{self.weight_elems:,} {'weight' if self.weight_elems == 1 else 'weights'}; "
            f"forward {self.macs / 1e9:.3g} GMAC",
            "",
            *_CONVENTIONS,
        ]
        for note in self.notes:
            lines += _wrapped(note, indent="")
        lines.append("")
        if self.skipped:
            lines.append(f"Skipped ({len(self.skipped)}):")
            lines += ["  " + line for line in self.skipped_lines()]
        else:
            lines.append("Skipped: nothing")
        return [f"// {line}".rstrip() for line in lines]

    def text(self) -> str:
        """The MLIR text: the header, then one function per layer."""
        lines = self.header()
        for entry in self.layers:
            lines.append("")
            comment = _wrapped(f"{entry.layer.name}: {entry.summary}")
            for origin in entry.origin:
                comment += _wrapped(origin, first="  ", indent="    ")
            lines += render_layer(entry.layer, entry.batch, comment)
        return "\n".join(lines) + "\n"


_CONVENTIONS = (
    "One function per imported layer, in the model's order. Arguments: the layer's input %x,",
    "weight %w and output gradient %dy; results: the output %y, the input gradient %dx and",
    "the weight gradient %dw. A layer whose input does not depend on any trained parameter",
    "computes no dX and returns %y, %dw only. Linear layers: Y = X.W with X (M x K) and",
    "W (K x N). Convolutions: activations NCHW, weights (Cout, Cin/groups, R, S); a 1-D",
    "convolution is written as a 2-D one of height 1. Element type f16. Biases are not",
    "modelled; every function stands alone.",
)


def _wrapped(text: str, first: str = "", indent: str = "    ") -> list[str]:
    """A paragraph of the comments, wrapped to fit a line of 100 characters after ``// ``."""
    return textwrap.wrap(
        text,
        width=MAX_COMMENT_CHARS,
        initial_indent=first,
        subsequent_indent=indent,
        break_on_hyphens=False,
        break_long_words=False,
    )


_BAD_SYMBOL_CHARS = re.compile(r"[^A-Za-z0-9_]+")


def symbol_name(name: str, fallback: str) -> str:
    """A function symbol from a model's name: runs of other characters become one '_'.

    ``/layer1/layer1.0/conv1/Conv`` gives ``layer1_layer1_0_conv1_Conv``; a name
    with nothing left gives ``fallback``; a leading digit gets a ``_`` before it.
    """
    symbol = _BAD_SYMBOL_CHARS.sub("_", name).strip("_") or fallback
    return "_" + symbol if symbol[0].isdigit() else symbol


class SymbolNames:
    """Unique function symbols: a name seen before gets ``_2``, ``_3``... appended."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def take(self, name: str, fallback: str) -> str:
        """The symbol for ``name``, unique among those taken so far."""
        base = symbol_name(name, fallback)
        symbol, count = base, 1
        while symbol in self._taken:
            count += 1
            symbol = f"{base}_{count}"
        self._taken.add(symbol)
        return symbol


def gemm_summary(layer: Layer, batch: int) -> str:
    """``GEMM M=.. K=.. N=..`` of a layer (per group for a grouped convolution)."""
    m, k, n = layer.gemm_dims(batch)
    groups = layer.groups if isinstance(layer, Conv2d) else 1
    per = f"{groups} groups, each a " if groups > 1 else ""
    return f"{per}GEMM M={m} K={k} N={n}"


def linear_layer(name: str, rows: int, k: int, n: int, computes_dx: bool) -> Linear:
    """A linear layer with ``rows`` rows in all (rendered at batch 1)."""
    return Linear(
        name, in_features=k, out_features=n, rows_per_sample=rows, computes_dx=computes_dx
    )
