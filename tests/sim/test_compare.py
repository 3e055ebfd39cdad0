"""``--check``'s comparison (``igoc.sim.compare``) worked out a chunk at a time."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from igoc.sim import compare


@settings(max_examples=150)
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=0, max_size=40),
    st.integers(1, 9),
    st.data(),
)
def test_chunked_errors_equal_the_whole_arrays(values, chunk, data):
    """The same maxima as over the whole arrays in float64, NaN and infinity included."""
    ref = np.array(values, np.float32)
    noise = data.draw(st.lists(st.floats(-1, 1, width=16), min_size=len(ref), max_size=len(ref)))
    with np.errstate(invalid="ignore", over="ignore"):
        got = (ref + np.array(noise, np.float32)).astype(np.float16)
    original = compare.CHUNK
    compare.CHUNK = chunk
    try:
        max_abs, scale = compare._max_errors(got, ref)
    finally:
        compare.CHUNK = original
    if not ref.size:
        assert (max_abs, scale) == (0.0, 0.0)
        return
    with np.errstate(invalid="ignore", over="ignore"):
        whole = float(np.max(np.abs(got.astype(np.float64) - ref.astype(np.float64))))
    np.testing.assert_array_equal(max_abs, whole)  # NaN equals NaN here
    np.testing.assert_array_equal(scale, float(np.max(np.abs(ref.astype(np.float64)))))
