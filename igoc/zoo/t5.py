"""T5 for the server NPU (T5-large) and the edge NPU (T5-small), on span-corruption pre-training.

Source: C. Raffel et al., "Exploring the Limits of Transfer Learning with a
Unified Text-to-Text Transformer", JMLR 2020, the original (v1.0) models as
Hugging Face ``t5-large`` (737,668,096 parameters; the paper's 770M) and
``t5-small`` (60,506,624; the paper's 60M) configure them: ReLU feed-forward
layers without biases, attention without biases, output layer tied to the
shared embedding.
"""

from __future__ import annotations

from dataclasses import dataclass

from igoc.zoo.layers import Linear, Model, attention, feed_forward

INPUT_LEN = 512  # the pre-training input length of the paper's baseline setup
TARGET_LEN = 114  # targets of span corruption (15% noise, mean span 3) on 512 input tokens


@dataclass(frozen=True)
class T5Config:
    """The sizes of a T5 model, with Hugging Face's config names in the comments."""

    layers: int  # num_layers (and num_decoder_layers)
    d_model: int  # d_model
    d_ff: int  # d_ff
    heads: int  # num_heads
    d_kv: int  # d_kv: the width of one head
    vocab: int  # vocab_size


T5_LARGE = T5Config(24, 1024, 4096, 16, 64, 32128)
T5_SMALL = T5Config(6, 512, 2048, 8, 64, 32128)


def t5_layers(config: T5Config) -> list[Linear]:
    """Every linear layer of the encoder, the decoder, and the output layer."""
    d, inner, enc, dec = config.d_model, config.heads * config.d_kv, INPUT_LEN, TARGET_LEN
    layers = []
    for index in range(config.layers):
        name = f"enc{index}"
        layers += attention(f"{name}_attn", d, inner, enc)
        layers += feed_forward(f"{name}_ffn", d, config.d_ff, enc)
    for index in range(config.layers):
        name = f"dec{index}"
        layers += attention(f"{name}_self", d, inner, dec)
        # Cross-attention: keys and values of the encoder output.
        layers += attention(f"{name}_cross", d, inner, dec, kv_rows=enc)
        layers += feed_forward(f"{name}_ffn", d, config.d_ff, dec)
    layers.append(Linear("lm_head", d, config.vocab, dec))  # tied to the shared embedding
    return layers


_INPUT_DESC = (
    f"{INPUT_LEN} input and {TARGET_LEN} target tokens per sample (M = batch x {INPUT_LEN}"
    f" in the encoder and the cross-attention keys and values, batch x {TARGET_LEN} elsewhere)"
)
_NOTES = (
    "Attention's QK^T and attention-times-V products multiply two activations and have no",
    "weight gradient, so they are left out; so are the embedding lookups and the relative",
    "position biases. The first layers read the trainable embeddings and compute dX.",
    "The output layer's weight is the shared embedding matrix (tied).",
)


def _t5(name: str, title: str, config: T5Config, source: tuple[str, ...]) -> Model:
    return Model(
        name=name,
        title=title,
        input_desc=_INPUT_DESC,
        source=source,
        layers=tuple(t5_layers(config)),
        notes=_NOTES,
    )


def t5_large() -> Model:
    """T5-large: 24 encoder and 24 decoder layers, and the output layer."""
    source = (
        "C. Raffel et al., T5, JMLR 2020: T5-large (24+24 layers, d_model 1024, d_ff 4096,",
        "16 heads of 64), as Hugging Face t5-large (737,668,096 parameters; the paper's",
        "770M). Sequence lengths of the span-corruption pre-training task.",
    )
    return _t5("t5-large", "T5-large", T5_LARGE, source)


def t5_small() -> Model:
    """T5-small: 6 encoder and 6 decoder layers, and the output layer."""
    source = (
        "C. Raffel et al., T5, JMLR 2020: T5-small (6+6 layers, d_model 512, d_ff 2048,",
        "8 heads of 64), as Hugging Face t5-small (60,506,624 parameters; the paper's",
        "60M). Sequence lengths of the span-corruption pre-training task.",
    )
    return _t5("t5-small", "T5-small", T5_SMALL, source)
