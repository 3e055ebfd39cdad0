"""BERT for the server NPU (BERT-large) and its 4-layer distilled form for the edge (TinyBERT).

BERT-large source: J. Devlin et al., "BERT: Pre-training of Deep Bidirectional
Transformers for Language Understanding", NAACL 2019 (24 layers, hidden 1024,
16 heads, feed-forward 4096; Hugging Face ``bert-large-uncased``, 335,141,888
parameters). Edge source: X. Jiao et al., "TinyBERT: Distilling BERT for
Natural Language Understanding", Findings of EMNLP 2020, TinyBERT-4
(``huawei-noah/TinyBERT_General_4L_312D``: 4 layers, hidden 312, 12 heads,
feed-forward 1200, 14.5M parameters), the "BERT tiny, 14M" of the paper's Table 4.
Both are trained here on BERT's pre-training task: masked language model and
next-sentence prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

from igoc.zoo.layers import Linear, Model, attention, feed_forward

SEQ_LEN = 128  # BERT's pre-training sequence length for 90% of its steps (Devlin et al., A.2)
MASKED_PER_SEQ = 20  # max_predictions_per_seq at length 128: the MLM head sees only these rows
NSP_CLASSES = 2


@dataclass(frozen=True)
class BertConfig:
    """The sizes of a BERT encoder, with Hugging Face's config names in the comments."""

    layers: int  # num_hidden_layers
    hidden: int  # hidden_size
    heads: int  # num_attention_heads
    intermediate: int  # intermediate_size
    vocab: int  # vocab_size
    max_positions: int  # max_position_embeddings
    token_types: int  # type_vocab_size


BERT_LARGE = BertConfig(24, 1024, 16, 4096, 30522, 512, 2)
TINYBERT_4L_312D = BertConfig(4, 312, 12, 1200, 30522, 512, 2)


def bert_layers(config: BertConfig) -> list[Linear]:
    """Every encoder linear layer, then the pre-training heads."""
    h, seq = config.hidden, SEQ_LEN
    layers = []
    for index in range(config.layers):
        layers += attention(f"enc{index}_attn", h, h, seq)
        layers += feed_forward(f"enc{index}_ffn", h, config.intermediate, seq)
    layers += [
        Linear("mlm_transform", h, h, MASKED_PER_SEQ),
        Linear("mlm_decoder", h, config.vocab, MASKED_PER_SEQ),  # weight tied to the embeddings
        Linear("pooler", h, h),  # the [CLS] token of each sequence
        Linear("nsp", h, NSP_CLASSES),
    ]
    return layers


_NOTES = (
    "Attention's QK^T and attention-times-V products multiply two activations and have no",
    "weight gradient, so they are left out; so are the embedding lookups. The first layers",
    "read the trainable embeddings and compute dX. The MLM head runs on the",
    f"{MASKED_PER_SEQ} masked positions of each sequence (the reference implementation",
    "gathers them first); its decoder's weight is the word-embedding matrix (tied).",
)


def _bert(name: str, title: str, config: BertConfig, source: tuple[str, ...]) -> Model:
    return Model(
        name=name,
        title=title,
        input_desc=f"sequences of {SEQ_LEN} tokens (M = batch x {SEQ_LEN} in the encoder)",
        source=source,
        layers=tuple(bert_layers(config)),
        notes=_NOTES,
    )


def bert_large() -> Model:
    """BERT-large: 24 encoder layers of 6 linear layers each, and the pre-training heads."""
    source = (
        "J. Devlin et al., BERT, NAACL 2019: BERT-large (L=24, H=1024, A=16, FFN 4096),",
        "as Hugging Face bert-large-uncased (335,141,888 parameters; the paper's 340M).",
    )
    return _bert("bert-large", "BERT-large", BERT_LARGE, source)


def bert_tiny() -> Model:
    """TinyBERT-4 (4 layers, hidden 312): the edge NPU's BERT."""
    source = (
        "X. Jiao et al., TinyBERT, Findings of EMNLP 2020: TinyBERT-4 (L=4, H=312, A=12,",
        "FFN 1200), as huawei-noah/TinyBERT_General_4L_312D; 14.5M parameters, the",
        "14M of the paper's Table 4 (Google's 2-layer BERT-Tiny has 4.4M).",
    )
    return _bert(
        "bert-tiny", "BERT-tiny (TinyBERT-4, 4 layers, hidden 312)", TINYBERT_4L_312D, source
    )
