"""The meaning of igoc's ops, in numpy: the reference that compiled programs are checked against.

Layouts are PyTorch's (activations NCHW, conv weights ``(Cout, Cin/groups, R, S)``)
and matmul follows ``Y = X·W`` with X (M×K), W (K×N)::

    matmul(x, w)        -> y  = x·w                     (M×N)
    matmul_dx(dy, w)    -> dx = dy·wᵀ                   (M×K)
    matmul_dw(x, dy)    -> dw = xᵀ·dy                   (K×N)
    conv2d(x, w)        -> y  (N, Cout, OH, OW)
    conv2d_dx(dy, w)    -> dx (N, Cin, H, W), the adjoint of conv2d in x
    conv2d_dw(x, dy)    -> dw (Cout, Cin/groups, R, S), the adjoint of conv2d in w

Inputs are rounded values of fp16, bf16 or fp32 (see ``igoc.isa.numerics``);
every op computes in fp32 and rounds its result once to the output type.
``OPS`` maps each op name to its function; ``evaluate`` runs a program's
``reference`` list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from igoc.isa.instructions import DType
from igoc.isa.numerics import round_to, single


class ReferenceError(ValueError):
    """An op list that cannot be evaluated (unknown op, missing tensor, wrong shapes)."""


def _pair(value: object, default: int) -> tuple[int, int]:
    if value is None:
        return default, default
    if isinstance(value, int):
        return value, value
    a, b = value  # type: ignore[misc]
    return int(a), int(b)


def _conv_params(attrs: Mapping) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], int]:
    return (
        _pair(attrs.get("stride"), 1),
        _pair(attrs.get("padding"), 0),
        _pair(attrs.get("dilation"), 1),
        int(attrs.get("groups", 1)),
    )


def _out_size(size: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def _window(xp: np.ndarray, r: int, s: int, oh: int, ow: int, st, di) -> np.ndarray:
    """The (N, C, OH, OW) slice of the padded input that kernel tap (r, s) reads."""
    h0, w0 = r * di[0], s * di[1]
    return xp[:, :, h0 : h0 + st[0] * (oh - 1) + 1 : st[0], w0 : w0 + st[1] * (ow - 1) + 1 : st[1]]


def _f32(a: np.ndarray) -> np.ndarray:
    return single(a)


def matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``y = x·w`` in fp32."""
    return _f32(x) @ _f32(w)


def matmul_dx(dy: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``dx = dy·wᵀ`` in fp32."""
    return _f32(dy) @ _f32(w).T


def matmul_dw(x: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """``dw = xᵀ·dy`` in fp32."""
    return _f32(x).T @ _f32(dy)


def _padded(x: np.ndarray, pd: tuple[int, int]) -> np.ndarray:
    """``x`` in fp32 with ``pd`` zeros around its two last axes (cast into place: one copy)."""
    if not any(pd):
        return _f32(x)
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + 2 * pd[0], w + 2 * pd[1]), np.float32)
    xp[:, :, pd[0] : pd[0] + h, pd[1] : pd[1] + w] = x
    return xp


def conv2d(x: np.ndarray, w: np.ndarray, **attrs) -> np.ndarray:
    """Forward convolution (cross-correlation, as in PyTorch): stride, padding, dilation, groups."""
    st, pd, di, groups = _conv_params(attrs)
    n, cin, h, wd = x.shape
    cout, cin_g, kh, kw = w.shape
    oh, ow = _out_size(h, kh, st[0], pd[0], di[0]), _out_size(wd, kw, st[1], pd[1], di[1])
    xp = _padded(x, pd)
    wg = _f32(w).reshape(groups, cout // groups, cin_g, kh, kw)
    taps = [(r, s) for r in range(kh) for s in range(kw)]
    wk = [np.ascontiguousarray(wg[:, :, :, r, s]) for r, s in taps]  # (g, d, c) per tap
    # A large output is summed a sample at a time, so that the sum over the taps stays in
    # cache; the first tap's product starts the sum (adding it to zeros changes nothing).
    y = np.empty((n, groups, cout // groups, oh * ow), np.float32)
    for part in _parts(y):
        xb = xp[part]
        for t, (r, s) in enumerate(taps):
            xs = _window(xb, r, s, oh, ow, st, di).reshape(len(y[part]), groups, cin_g, oh * ow)
            if t == 0:
                np.matmul(wk[t][None], xs, out=y[part])  # (d, c) . (c, hw)
            else:
                y[part] += wk[t][None] @ xs
    return y.reshape(n, cout, oh, ow)


PER_SAMPLE_BYTES = 8 << 20
"""A convolution whose result is larger than this sums its taps one sample at a time."""


def _parts(result: np.ndarray) -> list[slice]:
    """The slices of the batch (first axis) that a convolution's tap sums run over: all of
    it, or one sample at a time when ``result`` exceeds ``PER_SAMPLE_BYTES``."""
    if result.nbytes <= PER_SAMPLE_BYTES:
        return [slice(None)]
    return [slice(b, b + 1) for b in range(len(result))]


def conv2d_dx(dy: np.ndarray, w: np.ndarray, input_hw: tuple[int, int] | None = None, **attrs):
    """Gradient of conv2d in x: ``dx`` of shape (N, Cin, H, W).

    ``input_hw`` gives (H, W) when a stride leaves it ambiguous; by default the
    smallest input that gives dy's spatial size.
    """
    st, pd, di, groups = _conv_params(attrs)
    n, cout, oh, ow = dy.shape
    _, cin_g, kh, kw = w.shape
    if input_hw is None:
        input_hw = (
            (oh - 1) * st[0] + di[0] * (kh - 1) + 1 - 2 * pd[0],
            (ow - 1) * st[1] + di[1] * (kw - 1) + 1 - 2 * pd[1],
        )
    h, wd = input_hw
    if (_out_size(h, kh, st[0], pd[0], di[0]), _out_size(wd, kw, st[1], pd[1], di[1])) != (oh, ow):
        raise ReferenceError(f"input size {h}x{wd} does not give dy's size {oh}x{ow}")
    dyg = _f32(dy).reshape(n, groups, cout // groups, oh * ow)
    wt = _f32(w).reshape(groups, cout // groups, cin_g, kh, kw).transpose(0, 2, 1, 3, 4)
    if (kh, kw, oh, ow) == (1, 1, h, wd) and not any(pd):  # one tap covering the input
        part = np.ascontiguousarray(wt[None, :, :, :, 0, 0]) @ dyg
        return part.reshape(n, groups * cin_g, h, wd)
    dxp = np.zeros((n, groups * cin_g, h + 2 * pd[0], wd + 2 * pd[1]), np.float32)
    taps = [(r, s) for r in range(kh) for s in range(kw)]
    wk = [np.ascontiguousarray(wt[:, :, :, r, s]) for r, s in taps]  # (g, c, d) per tap
    for part in _parts(dxp):  # see conv2d
        count = len(dxp[part])
        for t, (r, s) in enumerate(taps):
            prod = wk[t][None] @ dyg[part]  # (c, d) . (d, hw)
            _window(dxp[part], r, s, oh, ow, st, di)[...] += prod.reshape(count, -1, oh, ow)
    return dxp[:, :, pd[0] : pd[0] + h, pd[1] : pd[1] + wd]


def conv2d_dw(x: np.ndarray, dy: np.ndarray, kernel_hw: tuple[int, int] | None = None, **attrs):
    """Gradient of conv2d in w: ``dw`` of shape (Cout, Cin/groups, R, S).

    ``kernel_hw`` gives (R, S); by default the largest kernel that gives dy's
    spatial size (the kernel is not determined by the shapes alone).
    """
    st, pd, di, groups = _conv_params(attrs)
    n, cin, h, wd = x.shape
    _, cout, oh, ow = dy.shape
    if kernel_hw is None:
        kernel_hw = (
            (h + 2 * pd[0] - 1 - st[0] * (oh - 1)) // di[0] + 1,
            (wd + 2 * pd[1] - 1 - st[1] * (ow - 1)) // di[1] + 1,
        )
    kh, kw = kernel_hw
    if (_out_size(h, kh, st[0], pd[0], di[0]), _out_size(wd, kw, st[1], pd[1], di[1])) != (oh, ow):
        raise ReferenceError(f"kernel {kh}x{kw} does not give dy's size {oh}x{ow}")
    cin_g = cin // groups
    xp = _padded(x, pd)
    # (g, d, n*hw) . (g, n*hw, c) per kernel tap; the tap's x is laid out (g, c, n*hw), rows
    # of whole image lines, and handed over transposed: the same product, without moving
    # every element to a row of its own
    dyg = _f32(dy).reshape(n, groups, cout // groups, oh * ow).transpose(1, 2, 0, 3)
    dyg = dyg.reshape(groups, cout // groups, n * oh * ow)
    dw = np.empty((groups, cout // groups, cin_g, kh, kw), np.float32)
    for r in range(kh):
        for s in range(kw):
            xs = _window(xp, r, s, oh, ow, st, di).reshape(n, groups, cin_g, oh * ow)
            if cout == groups:  # one output row: a vector-matrix product, summed as laid out
                xs = xs.transpose(1, 0, 3, 2).reshape(groups, n * oh * ow, cin_g)
            else:
                xs = xs.transpose(1, 2, 0, 3).reshape(groups, cin_g, n * oh * ow)
                xs = xs.transpose(0, 2, 1)
            dw[:, :, :, r, s] = dyg @ xs
    return dw.reshape(cout, cin_g, kh, kw)


OPS: dict[str, Callable[..., np.ndarray]] = {
    "matmul": matmul,
    "matmul_dx": matmul_dx,
    "matmul_dw": matmul_dw,
    "conv2d": conv2d,
    "conv2d_dx": conv2d_dx,
    "conv2d_dw": conv2d_dw,
}
"""Op name -> its fp32 function; operands in the grad dialect's order (``dy, w`` for dX,
``x, dy`` for dW; see ``igoc.dialects.grad``)."""

_CONV_OPS = ("conv2d", "conv2d_dx", "conv2d_dw")


def _check_shapes(op: str, a: np.ndarray, b: np.ndarray, attrs: Mapping) -> None:
    groups = int(attrs.get("groups", 1))
    if op in ("matmul", "matmul_dx", "matmul_dw"):
        if a.ndim != 2 or b.ndim != 2:
            raise ReferenceError(f"{op}: operands must be matrices, got {a.shape} and {b.shape}")
        inner = {"matmul": (1, 0), "matmul_dx": (1, 1), "matmul_dw": (0, 0)}[op]
        if a.shape[inner[0]] != b.shape[inner[1]]:
            raise ReferenceError(f"{op}: shapes {a.shape} and {b.shape} do not match")
        return
    if a.ndim != 4 or b.ndim != 4:
        raise ReferenceError(f"{op}: operands must be 4-D, got {a.shape} and {b.shape}")
    if groups < 1:
        raise ReferenceError(f"{op}: groups must be positive")
    if op == "conv2d" and (a.shape[1] != b.shape[1] * groups or b.shape[0] % groups):
        raise ReferenceError(f"{op}: x {a.shape} and w {b.shape} do not match (groups {groups})")
    if op == "conv2d_dx" and (a.shape[1] != b.shape[0] or b.shape[0] % groups):
        raise ReferenceError(f"{op}: dy {a.shape} and w {b.shape} do not match (groups {groups})")
    if op == "conv2d_dw" and (
        a.shape[0] != b.shape[0] or a.shape[1] % groups or b.shape[1] % groups
    ):
        raise ReferenceError(f"{op}: x {a.shape} and dy {b.shape} do not match (groups {groups})")


def apply_op(
    op: str,
    operands: Sequence[np.ndarray],
    attrs: Mapping | None = None,
    out_shape: tuple[int, ...] | None = None,
    out_dtype: DType = DType.F32,
) -> np.ndarray:
    """One op on arrays: computed in fp32, rounded to ``out_dtype`` (its storage form).

    ``out_shape``, when given, must be the result's shape; for ``conv2d_dx`` and
    ``conv2d_dw`` it also fixes the input or kernel size that the strides leave open.
    Values that are not finite (an fp16 input beyond its range is infinite) give what IEEE
    arithmetic gives, infinities and NaNs, without numpy's warnings.
    """
    attrs = dict(attrs or {})
    if op not in OPS:
        raise ReferenceError(f"unknown op '{op}'; known: {', '.join(OPS)}")
    if len(operands) != 2:
        raise ReferenceError(f"{op}: takes 2 operands, got {len(operands)}")
    a, b = (np.asarray(x) for x in operands)
    _check_shapes(op, a, b, attrs)
    extra = {k: attrs[k] for k in ("stride", "padding", "dilation", "groups") if k in attrs}
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # per thread (a check has its own)
            if op == "conv2d_dx" and out_shape is not None:
                result = conv2d_dx(a, b, input_hw=tuple(out_shape[2:4]), **extra)
            elif op == "conv2d_dw" and out_shape is not None:
                result = conv2d_dw(a, b, kernel_hw=tuple(out_shape[2:4]), **extra)
            elif op in _CONV_OPS:
                result = OPS[op](a, b, **extra)
            else:
                result = OPS[op](a, b)
    except (ValueError, TypeError) as err:
        if isinstance(err, ReferenceError):
            raise
        raise ReferenceError(f"{op}: {err}") from None
    if out_shape is not None and tuple(result.shape) != tuple(out_shape):
        raise ReferenceError(f"{op}: result has shape {result.shape}, expected {tuple(out_shape)}")
    return round_to(result, out_dtype)


def evaluate(
    ops: list[dict],
    inputs: Mapping[str, np.ndarray],
    outputs: Mapping[str, tuple[tuple[int, ...], DType]] | None = None,
) -> dict[str, np.ndarray]:
    """Run a ``reference`` op list in order; returns every tensor the ops produce, by name.

    Each op is ``{"op": name, "inputs": [a, b], "outputs": [y], "attrs": {...}}``;
    an op may read a tensor an earlier op produced. ``outputs`` gives the shape and
    element type of produced tensors (results are rounded to it; fp32 otherwise).
    """
    env = {name: np.asarray(value) for name, value in inputs.items()}
    produced: dict[str, np.ndarray] = {}
    for i, op in enumerate(ops):
        name, value = evaluate_op(i, op, env, outputs)
        env[name] = value
        produced[name] = value
    return produced


def evaluate_op(
    i: int,
    op: object,
    env: Mapping[str, np.ndarray],
    outputs: Mapping[str, tuple[tuple[int, ...], DType]] | None = None,
) -> tuple[str, np.ndarray]:
    """Op ``i`` of a ``reference`` list on the tensors of ``env``: its output's name and value
    (``evaluate`` runs every op this way)."""
    if not isinstance(op, Mapping) or not isinstance(op.get("op"), str):
        raise ReferenceError(f"reference op {i}: not an object with an 'op' name")
    names_in, names_out = op.get("inputs", []), op.get("outputs", [])
    if not isinstance(names_in, list) or not isinstance(names_out, list) or len(names_out) != 1:
        raise ReferenceError(f"reference op {i} ({op['op']}): needs inputs and one output")
    missing = [n for n in names_in if n not in env]
    if missing:
        raise ReferenceError(f"reference op {i} ({op['op']}): no tensor '{missing[0]}'")
    shape, dtype = (outputs or {}).get(names_out[0], (None, DType.F32))
    value = apply_op(op["op"], [env[n] for n in names_in], op.get("attrs"), shape, dtype)
    return names_out[0], value
