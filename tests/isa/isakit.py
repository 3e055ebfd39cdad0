"""Hypothesis strategies for instructions and whole programs (shared by the ISA tests)."""

from __future__ import annotations

from hypothesis import strategies as st

from igoc.isa.instructions import (
    Barrier,
    ConvGeometry,
    DType,
    Gather,
    Halt,
    Load,
    Matmul,
    Scatter,
    Store,
)
from igoc.isa.program import ROLES, Label, Program, TensorDecl, layout_tensors
from igoc.target import load_target, preset_names, target_from_dict

U32 = st.integers(0, 2**32 - 1)
U64 = st.integers(0, 2**64 - 1)
DTYPES = st.sampled_from(list(DType))
FLAG = st.booleans()


def instructions(tensors: int = 2**32, convs: int = 2**32):
    """Any instruction whose fields fit the encoding; tensor and conv indices below the bounds
    (no DMA at all without tensors, no gather or scatter without convs)."""
    t = st.integers(0, max(tensors - 1, 0))
    c = st.integers(0, max(convs - 1, 0))
    kinds = [
        st.builds(Matmul, U32, U32, U32, U32, U32, U32, DTYPES, DTYPES, FLAG, FLAG, FLAG),
        st.builds(Barrier, U32, U32),
        st.just(Halt()),
    ]
    if tensors:
        kinds.append(st.builds(Load, t, U64, U32, U32, U64, U32, DTYPES, FLAG))
        kinds.append(st.builds(Store, t, U64, U32, U32, U64, U32, DTYPES, FLAG, FLAG))
        zero = st.builds(Store, t, U64, U32, U32, U64, st.just(0), DTYPES, zero=st.just(True))
        kinds.append(zero)  # a store of zeros: SPM address 0, no other flag
    if tensors and convs:
        kinds.append(st.builds(Gather, t, c, U64, U64, U32, U32, U32, DTYPES, FLAG))
        kinds.append(st.builds(Scatter, t, c, U64, U64, U32, U32, U32, DTYPES, FLAG))
    return st.one_of(kinds)


NAMES = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_.]{0,8}", fullmatch=True),
    st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"),
        min_size=1,
        max_size=8,
    ),
)


@st.composite
def targets(draw):
    if draw(st.booleans()):
        return load_target(draw(st.sampled_from(preset_names())))
    data = load_target("edge").as_dict()
    data.update(
        name=draw(st.from_regex(r"[a-z][a-z0-9-]{0,6}", fullmatch=True)),
        cores=draw(st.integers(1, 3)),
        array_rows=draw(st.integers(1, 256)),
        clock_mhz=draw(st.floats(1, 5000, allow_nan=False)),
        dram_latency_cycles=draw(st.integers(0, 1000)),
        dataflow=draw(st.sampled_from(["os", "ws"])),
    )
    return target_from_dict(data)


@st.composite
def programs(draw):
    """Whole programs: any target, tensors laid out, convs, streams, labels, reference, meta."""
    target = draw(targets())
    names = draw(st.lists(NAMES, min_size=0, max_size=4, unique=True))
    specs = [
        (
            name,
            draw(st.sampled_from(ROLES)),
            draw(DTYPES),
            tuple(draw(st.lists(st.integers(1, 9), min_size=1, max_size=4))),
        )
        for name in names
    ]
    tensors: list[TensorDecl] = layout_tensors(specs, draw(st.integers(0, 4096)))
    convs = draw(
        st.lists(
            st.builds(
                ConvGeometry,
                *(st.integers(1, 4) for _ in range(4)),
                st.integers(1, 3),
                st.integers(1, 3),
                st.integers(1, 2),
                st.integers(1, 2),
                st.integers(0, 1),
                st.integers(0, 1),
                st.integers(1, 2),
                st.integers(1, 2),
            ).filter(lambda g: g.out_height > 0 and g.out_width > 0),
            max_size=2,
        )
    )
    streams = [
        draw(st.lists(instructions(len(tensors), len(convs)), max_size=6))
        for _ in range(target.cores)
    ]
    labels = []
    for core, stream in enumerate(streams):
        if stream and draw(st.booleans()):
            first = draw(st.integers(0, len(stream) - 1))
            last = draw(st.integers(first, len(stream) - 1))
            labels.append(Label(core, first, last, draw(NAMES)))
    reference = draw(
        st.one_of(
            st.none(),
            st.just([{"op": "matmul", "inputs": ["a", "b"], "outputs": ["c"], "attrs": {}}]),
        )
    )
    meta = draw(st.dictionaries(st.text(max_size=4), st.integers(-5, 5), max_size=2))
    return Program(target, tensors, convs, streams, labels, reference, meta)
