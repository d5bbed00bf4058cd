"""Frozen configs with the papers' named presets.

Field names are the keyword arguments of the models, so a config builds a
model with `Transformer(**dataclasses.asdict(config))`, or in one step with
`Transformer.from_preset("base")`. Presets fix the architecture only; the
weights are random until trained or imported.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class TransformerConfig:
    """Architecture of the encoder-decoder `Transformer`.

    Args:
        vocabulary_size: source vocabulary size (the shared one when
            `share_embeddings`).
        num_layers: encoder layers, and as many decoder layers.
        num_heads: attention heads per layer.
        hidden_dim: model width, d_model in the paper.
        intermediate_dim: feed-forward width, d_ff in the paper.
        dropout: dropout rate everywhere, P_drop in the paper.
        target_vocabulary_size: target vocabulary size; `None` means the
            same as `vocabulary_size`.
        share_embeddings: one embedding table for source and target.
        tie_output_embeddings: logits use the target embedding table.
        normalize_first: pre-norm instead of the paper's post-norm.
        activation: feed-forward activation.
        layer_norm_epsilon: LayerNorm epsilon (1e-6 in tensor2tensor).
        padding_id: the token id that marks padding.

    Example:
    >>> TransformerConfig.preset("base").hidden_dim
    512
    """

    vocabulary_size: int = 37000
    num_layers: int = 6
    num_heads: int = 8
    hidden_dim: int = 512
    intermediate_dim: int = 2048
    dropout: float = 0.1
    target_vocabulary_size: int | None = None
    share_embeddings: bool = True
    tie_output_embeddings: bool = True
    normalize_first: bool = False
    activation: str = "relu"
    layer_norm_epsilon: float = 1e-6
    padding_id: int = 0

    @classmethod
    def preset(cls, name, **overrides):
        """Returns the named preset (see `TRANSFORMER_PRESETS`), with overrides."""
        return dataclasses.replace(_lookup(TRANSFORMER_PRESETS, name), **overrides)


@dataclasses.dataclass(frozen=True)
class BertConfig:
    """Architecture of `BertBackbone`.

    Args:
        vocabulary_size: WordPiece vocabulary size (30,522 for English BERT).
        num_layers: encoder layers, L in the paper.
        num_heads: attention heads, A in the paper.
        hidden_dim: width, H in the paper.
        intermediate_dim: feed-forward width, 4H in the paper.
        dropout: dropout rate everywhere.
        max_sequence_length: number of learned positions.
        num_segments: number of segment (token type) ids.
        activation: feed-forward activation; the original BERT uses the
            tanh approximation of GELU.
        layer_norm_epsilon: LayerNorm epsilon.

    Example:
    >>> BertConfig.preset("base", vocabulary_size=1000).num_layers
    12
    """

    vocabulary_size: int = 30522
    num_layers: int = 12
    num_heads: int = 12
    hidden_dim: int = 768
    intermediate_dim: int = 3072
    dropout: float = 0.1
    max_sequence_length: int = 512
    num_segments: int = 2
    activation: str = "gelu_approximate"
    layer_norm_epsilon: float = 1e-12

    @classmethod
    def preset(cls, name, **overrides):
        """Returns the named preset (see `BERT_PRESETS`), with overrides."""
        return dataclasses.replace(_lookup(BERT_PRESETS, name), **overrides)


@dataclasses.dataclass(frozen=True)
class CausalLMConfig:
    """Architecture of the decoder-only `CausalLM` (GPT-2's layout by default).

    Args:
        vocabulary_size: number of tokens (50,257 in GPT-2's byte-level BPE).
        num_layers: causal `TransformerEncoderLayer`s.
        num_heads: attention heads per layer.
        hidden_dim: model width.
        intermediate_dim: feed-forward width (4 x `hidden_dim` in GPT-2).
        dropout: dropout rate everywhere.
        max_sequence_length: number of learned positions (the context).
        normalize_first: pre-norm, with a final LayerNorm (GPT-2), or post-norm.
        activation: feed-forward activation.
        layer_norm_epsilon: LayerNorm epsilon.
        padding_id: the token id that marks padding.

    Example:
    >>> CausalLMConfig.preset("gpt2_small").num_layers
    12
    """

    vocabulary_size: int = 50257
    num_layers: int = 12
    num_heads: int = 12
    hidden_dim: int = 768
    intermediate_dim: int = 3072
    dropout: float = 0.1
    max_sequence_length: int = 1024
    normalize_first: bool = True
    activation: str = "gelu_approximate"
    layer_norm_epsilon: float = 1e-5
    padding_id: int = 0

    @classmethod
    def preset(cls, name, **overrides):
        """Returns the named preset (see `CAUSAL_LM_PRESETS`), with overrides."""
        return dataclasses.replace(_lookup(CAUSAL_LM_PRESETS, name), **overrides)


def config_values(model, config_class):
    """The values of `config_class`'s fields on `model`: what its `get_config`
    records besides the name, so that the field list is written once.

    Example:
    >>> class Model: pass
    >>> model = Model(); model.__dict__.update(dataclasses.asdict(TransformerConfig.preset("test")))
    >>> config_values(model, TransformerConfig)["num_layers"]
    2
    """
    return {field.name: getattr(model, field.name) for field in dataclasses.fields(config_class)}


def _lookup(presets, name):
    if name not in presets:
        raise ValueError(f"Unknown preset {name!r}; choose one of {sorted(presets)}.")
    return presets[name]


TRANSFORMER_PRESETS = {
    # Vaswani et al. 2017, Table 3 (the English-German models, shared vocab).
    "base": TransformerConfig(),
    "big": TransformerConfig(
        hidden_dim=1024, intermediate_dim=4096, num_heads=16, dropout=0.3
    ),
    # Small enough to train on a laptop CPU in minutes.
    "small": TransformerConfig(
        vocabulary_size=8000,
        num_layers=3,
        num_heads=4,
        hidden_dim=256,
        intermediate_dim=1024,
    ),
    # The main job's model: trains in minutes on a 2-core CPU.
    "tiny": TransformerConfig(
        vocabulary_size=6000,
        num_layers=2,
        num_heads=4,
        hidden_dim=128,
        intermediate_dim=512,
    ),
    # For unit tests only.
    "test": TransformerConfig(
        vocabulary_size=50,
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        dropout=0.0,
    ),
}


def _bert(num_layers, hidden_dim, **overrides):
    # The BERT papers' shape rules: 64-wide heads, 4x feed-forward.
    return BertConfig(
        num_layers=num_layers,
        hidden_dim=hidden_dim,
        num_heads=hidden_dim // 64,
        intermediate_dim=4 * hidden_dim,
        **overrides,
    )


BERT_PRESETS = {
    # google-research/bert's smaller models (Turc et al. 2019).
    "tiny": _bert(2, 128),
    "mini": _bert(4, 256),
    "small": _bert(4, 512),
    "medium": _bert(8, 512),
    # Devlin et al. 2018.
    "base": _bert(12, 768),
    "large": _bert(24, 1024),
    # For unit tests only.
    "test": BertConfig(
        vocabulary_size=50,
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        dropout=0.0,
        max_sequence_length=32,
    ),
}


CAUSAL_LM_PRESETS = {
    # GPT-2 small's shape (Radford et al. 2019): 124M parameters with its vocabulary.
    "gpt2_small": CausalLMConfig(),
    # Trains on a 2-core CPU in minutes (nanoGPT's character-level CPU model is this size).
    "tiny": CausalLMConfig(
        vocabulary_size=2000, num_layers=4, num_heads=4, hidden_dim=128, intermediate_dim=512,
        dropout=0.0, max_sequence_length=256,
    ),
    # For unit tests only.
    "test": CausalLMConfig(
        vocabulary_size=50, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32,
        dropout=0.0, max_sequence_length=32,
    ),
}
