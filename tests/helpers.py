"""Helpers shared by the tests: random inputs and weight copying from the
independent Keras / keras-hub implementations into tf_models layers."""

import numpy as np

# Vocabulary and length of the tiny models that the export and serving tests
# export (the fixtures are in conftest.py).
EXPORT_VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[START]", "[END]",
                     "the", "cat", "sat", "on", "mat", "##s", ".", ",", "a", "dog"]
EXPORT_MAX_LENGTH = 16


def random_ids(batch, length, vocabulary_size, seed=0, low=1):
    """Token ids in [low, vocabulary_size), so none is the padding id 0."""
    return np.random.default_rng(seed).integers(low, vocabulary_size, (batch, length)).astype("int32")


def random_floats(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def max_abs_diff(a, b):
    return float(np.max(np.abs(np.asarray(a, "float32") - np.asarray(b, "float32"))))


def copy_dense(source, target):
    target.kernel.assign(np.asarray(source.kernel))
    target.bias.assign(np.asarray(source.bias))


def copy_layer_norm(source, target):
    target.gamma.assign(np.asarray(source.gamma))
    target.beta.assign(np.asarray(source.beta))


def copy_keras_attention(source, target):
    """keras.layers.MultiHeadAttention -> tf_models MultiHeadAttention.

    Keras keeps per-head kernels, `(in, heads, head_dim)` and `(heads,
    head_dim, out)`; tf_models keeps flat ones, `(in, heads * head_dim)` and
    `(heads * head_dim, out)`.
    """
    pairs = [
        (source._query_dense, target.query_dense),
        (source._key_dense, target.key_dense),
        (source._value_dense, target.value_dense),
    ]
    for src, dst in pairs:
        kernel = np.asarray(src.kernel)
        dst.kernel.assign(kernel.reshape(kernel.shape[0], -1))
        dst.bias.assign(np.asarray(src.bias).reshape(-1))
    kernel = np.asarray(source._output_dense.kernel)
    target.output_dense.kernel.assign(kernel.reshape(-1, kernel.shape[-1]))
    target.output_dense.bias.assign(np.asarray(source._output_dense.bias))


def copy_feed_forward(source_layer, target):
    """The feed-forward weights of a keras-hub encoder or decoder layer."""
    copy_dense(source_layer._feedforward_intermediate_dense, target.intermediate_dense)
    copy_dense(source_layer._feedforward_output_dense, target.output_dense)


def copy_keras_hub_encoder(source, target):
    """keras_hub.layers.TransformerEncoder -> TransformerEncoderLayer."""
    copy_keras_attention(source._self_attention_layer, target.self_attention)
    copy_layer_norm(source._self_attention_layer_norm, target.self_attention_norm)
    copy_feed_forward(source, target.feed_forward)
    copy_layer_norm(source._feedforward_layer_norm, target.feed_forward_norm)


def copy_keras_hub_decoder(source, target):
    """keras_hub.layers.TransformerDecoder -> TransformerDecoderLayer."""
    copy_keras_attention(source._self_attention_layer, target.self_attention)
    copy_layer_norm(source._self_attention_layer_norm, target.self_attention_norm)
    copy_keras_attention(source._cross_attention_layer, target.cross_attention)
    copy_layer_norm(source._cross_attention_layer_norm, target.cross_attention_norm)
    copy_feed_forward(source, target.feed_forward)
    copy_layer_norm(source._feedforward_layer_norm, target.feed_forward_norm)


def copy_keras_hub_bert(source, target):
    """keras_hub.models.BertBackbone -> tf_models BertBackbone."""
    embedding = target.embedding
    embedding.token_embedding.embeddings.assign(
        np.asarray(source.get_layer("token_embedding").embeddings)
    )
    embedding.segment_embedding.embeddings.assign(
        np.asarray(source.get_layer("segment_embedding").embeddings)
    )
    embedding.position_embedding.embeddings.assign(
        np.asarray(source.get_layer("position_embedding").position_embeddings)
    )
    copy_layer_norm(source.get_layer("embeddings_layer_norm"), embedding.layer_norm)
    for i, layer in enumerate(target.encoder_layers):
        copy_keras_hub_encoder(source.get_layer(f"transformer_layer_{i}"), layer)
    copy_dense(source.get_layer("pooled_dense"), target.pooler)
