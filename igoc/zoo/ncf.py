"""NCF: the NeuMF model of Neural Collaborative Filtering, as the MLPerf Training reference.

Source: X. He et al., "Neural Collaborative Filtering", WWW 2017 (NeuMF,
section 3.4), with the sizes of the MLPerf Training NCF reference on
MovieLens-20M: GMF embeddings of 64, an MLP tower 256-256-128-64 whose input is
the user's and the item's 128-wide MLP embeddings, and a final 128 -> 1 layer
on the concatenated GMF and MLP outputs.
"""

from __future__ import annotations

from igoc.zoo.layers import Linear, Model

GMF_FACTORS = 64  # mf_dim
MLP_SIZES = (256, 256, 128, 64)  # layers: the first is the concatenated MLP embeddings


def ncf() -> Model:
    """NeuMF: the three MLP layers and the prediction layer, one sample per row."""
    layers = [
        Linear(f"mlp{index}", k, n)
        for index, (k, n) in enumerate(zip(MLP_SIZES, MLP_SIZES[1:], strict=False), start=1)
    ]
    layers.append(Linear("predict", MLP_SIZES[-1] + GMF_FACTORS, 1))
    return Model(
        name="ncf",
        title="NCF (NeuMF)",
        input_desc="one (user, item) pair per sample: M of every layer is the batch",
        source=(
            "X. He et al., Neural Collaborative Filtering, WWW 2017 (NeuMF), with the sizes",
            "of the MLPerf Training NCF reference (mf_dim 64, layers 256-256-128-64).",
            "The paper's Table 4 lists 3B parameters: nearly all are embedding tables, whose",
            "size follows the dataset's users and items; they are lookups, not GEMMs, and",
            "do not change the GEMM layers listed here.",
        ),
        layers=tuple(layers),
        notes=(
            "Embedding lookups and the GMF element-wise product are not modelled. The MLP's",
            "input is the trainable embeddings, so every layer computes dX.",
        ),
    )
