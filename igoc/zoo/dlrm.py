"""DLRM as the MLPerf Training reference trains it on Criteo Terabyte.

Source: M. Naumov et al., "Deep Learning Recommendation Model for
Personalization and Recommendation Systems", arXiv:1906.00091, 2019, with the
MLPerf Training DLRM reference configuration: 13 dense features, 26 sparse
features embedded in 128 dimensions, bottom MLP 13-512-256-128, pairwise dot
interaction of the 27 vectors, top MLP 1024-1024-512-256-1.
"""

from __future__ import annotations

from igoc.zoo.layers import Linear, Model

DENSE_FEATURES = 13
SPARSE_FEATURES = 26
EMBEDDING_DIM = 128
BOTTOM_MLP = (512, 256, 128)  # arch-mlp-bot 13-512-256-128
TOP_MLP = (1024, 1024, 512, 256, 1)  # arch-mlp-top 1024-1024-512-256-1


def _interaction_features() -> int:
    """Top MLP input: the bottom MLP's output and the dot products of distinct vector pairs."""
    vectors = SPARSE_FEATURES + 1
    return BOTTOM_MLP[-1] + vectors * (vectors - 1) // 2


def dlrm() -> Model:
    """DLRM: 3 bottom and 5 top MLP layers, one sample per row."""
    layers = []
    width = DENSE_FEATURES
    for index, out_features in enumerate(BOTTOM_MLP, start=1):
        # the first layer reads the dense features, which are data: no dX
        layers.append(Linear(f"bot{index}", width, out_features, computes_dx=index > 1))
        width = out_features
    width = _interaction_features()
    for index, out_features in enumerate(TOP_MLP, start=1):
        layers.append(Linear(f"top{index}", width, out_features))
        width = out_features
    return Model(
        name="dlrm",
        title="DLRM",
        input_desc=(
            f"{DENSE_FEATURES} dense and {SPARSE_FEATURES} sparse features per sample:"
            " M of every layer is the batch"
        ),
        source=(
            "M. Naumov et al., Deep Learning Recommendation Model for Personalization and",
            "Recommendation Systems, arXiv:1906.00091, with the MLPerf Training reference",
            "configuration for Criteo Terabyte (bottom 13-512-256-128, top 1024-1024-512-",
            "256-1, embedding dimension 128). The paper's 25B parameters are the embedding",
            "tables of that configuration: lookups, not GEMMs.",
        ),
        layers=tuple(layers),
        notes=(
            "Embedding lookups and the dot-product interaction are not modelled. The top",
            f"MLP's input is {BOTTOM_MLP[-1]} + 27*26/2 = {_interaction_features()} features.",
        ),
    )
