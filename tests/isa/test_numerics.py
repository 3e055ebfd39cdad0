"""``igoc.isa.numerics.half_to_single`` and ``single``: numpy's casts, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from igoc.isa import numerics
from igoc.isa.numerics import half_to_single, single

EVERY_HALF = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)


def _cast(values: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return values.astype(np.float32)


def test_every_float16_widens_as_numpy_casts_it():
    """Zeros of both signs, subnormals, infinities and every NaN payload included."""
    got = half_to_single(EVERY_HALF)
    assert got.dtype == np.float32 and got.shape == EVERY_HALF.shape
    assert got.view(np.uint32).tobytes() == _cast(EVERY_HALF).view(np.uint32).tobytes()


@pytest.mark.parametrize("chunk", [1, 7, 1 << 16])
@pytest.mark.parametrize(
    "shape, transpose", [((), False), ((0,), False), ((3, 5), True), ((7, 11, 13), False)]
)
def test_any_shape_or_layout_in_any_chunks(monkeypatch, chunk, shape, transpose):
    monkeypatch.setattr(numerics, "HALF_CHUNK", chunk)
    rng = np.random.default_rng(len(shape) + chunk)
    values = EVERY_HALF[rng.integers(0, 1 << 16, size=shape)]
    if transpose:
        values = values.T
    got = half_to_single(values)
    assert got.shape == values.shape and got.flags.c_contiguous
    assert got.view(np.uint32).tobytes() == _cast(values).copy(order="C").view(np.uint32).tobytes()


def test_single_widens_halves_and_leaves_other_types_to_numpy():
    halves = EVERY_HALF[:1000].reshape(10, 100)
    assert single(halves).view(np.uint32).tobytes() == _cast(halves).view(np.uint32).tobytes()
    singles = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    assert single(singles) is singles  # no copy
    doubles = np.array([0.1, 3e38, -0.0])
    assert single(doubles).tobytes() == doubles.astype(np.float32).tobytes()


def test_float16_of_the_other_byte_order_widens_as_numpy_casts_it():
    swapped = EVERY_HALF[:4096].astype(EVERY_HALF.dtype.newbyteorder())
    got = half_to_single(swapped)
    assert got.view(np.uint32).tobytes() == _cast(swapped).view(np.uint32).tobytes()
