"""keras-hub's `BertBackbone` -> ours.

keras-hub builds BERT the way tf_models does (a generic encoder layer with
BERT's settings: tanh-approximate GELU, LayerNorm epsilon 1e-12, post-norm),
so the weights map one to one. The only layout difference is attention:
keras-hub's `keras.layers.MultiHeadAttention` keeps per-head kernels,
`(hidden, heads, head_dim)` and `(heads, head_dim, hidden)`, where ours keeps
them flat, `(hidden, heads * head_dim)` and `(heads * head_dim, hidden)`.

Any keras-hub BERT preset works: load it with
`keras_hub.models.BertBackbone.from_preset(...)` first.
"""

import numpy as np

from tf_models.checkpoints.weights import CheckpointError, assign, build_bert, same
from tf_models.models import BertConfig


def heads_merged(array):
    """`(hidden, heads, head_dim)` -> `(hidden, heads * head_dim)`; a bias
    `(heads, head_dim)` -> `(heads * head_dim,)`."""
    return array.reshape(array.shape[:-2] + (-1,))


def heads_merged_first(array):
    """The output projection: `(heads, head_dim, hidden)` -> `(heads * head_dim, hidden)`."""
    return array.reshape((-1, array.shape[-1]))


# One encoder layer: (our weight, keras-hub weight under transformer_layer_{i}/, transform).
_LAYER = [
    ("self_attention.query_dense.kernel", "self_attention_layer/query/kernel", heads_merged),
    ("self_attention.query_dense.bias", "self_attention_layer/query/bias", heads_merged),
    ("self_attention.key_dense.kernel", "self_attention_layer/key/kernel", heads_merged),
    ("self_attention.key_dense.bias", "self_attention_layer/key/bias", heads_merged),
    ("self_attention.value_dense.kernel", "self_attention_layer/value/kernel", heads_merged),
    ("self_attention.value_dense.bias", "self_attention_layer/value/bias", heads_merged),
    ("self_attention.output_dense.kernel", "self_attention_layer/attention_output/kernel",
     heads_merged_first),
    ("self_attention.output_dense.bias", "self_attention_layer/attention_output/bias", same),
    ("self_attention_norm.gamma", "self_attention_layer_norm/gamma", same),
    ("self_attention_norm.beta", "self_attention_layer_norm/beta", same),
    ("feed_forward.intermediate_dense.kernel", "feedforward_intermediate_dense/kernel", same),
    ("feed_forward.intermediate_dense.bias", "feedforward_intermediate_dense/bias", same),
    ("feed_forward.output_dense.kernel", "feedforward_output_dense/kernel", same),
    ("feed_forward.output_dense.bias", "feedforward_output_dense/bias", same),
    ("feed_forward_norm.gamma", "feedforward_layer_norm/gamma", same),
    ("feed_forward_norm.beta", "feedforward_layer_norm/beta", same),
]

_EMBEDDINGS_AND_POOLER = [
    ("embedding.token_embedding.embeddings", "token_embedding/embeddings", same),
    ("embedding.segment_embedding.embeddings", "segment_embedding/embeddings", same),
    ("embedding.position_embedding.embeddings", "position_embedding/embeddings", same),
    ("embedding.layer_norm.gamma", "embeddings_layer_norm/gamma", same),
    ("embedding.layer_norm.beta", "embeddings_layer_norm/beta", same),
    ("pooler.kernel", "pooled_dense/kernel", same),
    ("pooler.bias", "pooled_dense/bias", same),
]


def from_keras_hub(backbone):
    """Copies a keras-hub `BertBackbone` into a new tf_models `BertBackbone`.

    Args:
        backbone: a `keras_hub.models.BertBackbone`, e.g. from
            `keras_hub.models.BertBackbone.from_preset("bert_base_en_uncased")`.

    Returns:
        A `BertBackbone` with the same weights and outputs.

    Raises:
        CheckpointError: `backbone` is not a keras-hub `BertBackbone` (task
            models such as `BertMaskedLM` are refused: pass their
            `.backbone`), or its weights do not fit (all listed at once).

    Example:
    >>> import keras_hub
    >>> theirs = keras_hub.models.BertBackbone(
    ...     vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=8,
    ...     intermediate_dim=16, max_sequence_length=16)
    >>> ours = from_keras_hub(theirs)
    >>> ours.num_layers, ours.activation
    (1, 'gelu_approximate')
    """
    import keras_hub

    if not isinstance(backbone, keras_hub.models.BertBackbone):
        hint = ""
        if isinstance(getattr(backbone, "backbone", None), keras_hub.models.BertBackbone):
            # BertMaskedLM's head uses exact GELU while its backbone uses the
            # tanh approximation; BertPretrainer has one activation for both.
            hint = " Pass its .backbone; keras-hub's task heads are not imported."
        raise CheckpointError(
            f"Expected a keras_hub.models.BertBackbone, got {type(backbone).__name__}.{hint}"
        )
    config = BertConfig(
        vocabulary_size=backbone.vocabulary_size,
        num_layers=backbone.num_layers,
        num_heads=backbone.num_heads,
        hidden_dim=backbone.hidden_dim,
        intermediate_dim=backbone.intermediate_dim,
        dropout=backbone.dropout,
        max_sequence_length=backbone.max_sequence_length,
        num_segments=backbone.num_segments,
        # Fixed in keras-hub's BertBackbone.
        activation="gelu_approximate",
        layer_norm_epsilon=1e-12,
    )
    table = list(_EMBEDDINGS_AND_POOLER)
    for i in range(config.num_layers):
        table += [(f"encoder_layers.{i}.{ours}", f"transformer_layer_{i}/{theirs}", transform)
                  for ours, theirs, transform in _LAYER]
    model = build_bert(config, with_heads=False)
    assign(model, table, _named_weights(backbone), f"keras-hub {backbone.name}")
    return model


def _named_weights(backbone):
    """`{"<layer>/<sublayer>/<weight>": array}`, named from the backbone's
    own layers whatever scope the backbone was built in."""
    tensors = {}
    for layer in backbone.layers:
        for variable in layer.weights:
            _, _, inner = variable.path.rpartition(layer.name + "/")
            tensors[f"{layer.name}/{inner}"] = np.asarray(variable)
    return tensors
