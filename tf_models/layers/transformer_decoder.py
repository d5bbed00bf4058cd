"""The Transformer decoder layer, with a key/value cache for fast decoding."""

import keras

from tf_models.layers.activations import serialize_initializer
from tf_models.layers.dropout import Dropout
from tf_models.layers.transformer_encoder import (
    build_attention,
    build_feed_forward,
    build_layer_norm,
    sublayer_input,
    sublayer_output,
)


@keras.saving.register_keras_serializable(package="tf_models")
class TransformerDecoderLayer(keras.layers.Layer):
    """Causal self-attention, cross-attention to the encoder, feed-forward.

    Each of the three sublayers has a residual connection, dropout and a
    LayerNorm, placed as in `TransformerEncoderLayer` (post-norm by default).

    For step-by-step decoding pass `self_attention_cache` (keys and values
    of the positions decoded so far, `(batch, 2, max_length, num_heads,
    head_dim)`) and `cache_update_index` (the position of the first new
    token). The cross-attention keys and values depend only on the encoder
    output: the first cached call computes them, and later calls take them
    back as `cross_attention_cache`.

    Args:
        num_heads: number of attention heads.
        intermediate_dim: width of the feed-forward hidden layer.
        dropout: dropout on attention probabilities and sublayer outputs.
        activation: feed-forward activation.
        layer_norm_epsilon: epsilon of the three LayerNorms.
        normalize_first: pre-norm if true, post-norm otherwise.
        kernel_initializer: initializer of all kernels.
        bias_initializer: initializer of all biases.
        **kwargs: standard `keras.layers.Layer` arguments.

    Example:
    >>> layer = TransformerDecoderLayer(num_heads=2, intermediate_dim=32)
    >>> target = keras.random.normal((2, 4, 16))
    >>> source = keras.random.normal((2, 6, 16))
    >>> layer(target, source).shape
    TensorShape([2, 4, 16])
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        dropout=0.0,
        activation="relu",
        layer_norm_epsilon=1e-5,
        normalize_first=False,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.normalize_first = normalize_first
        self.kernel_initializer = serialize_initializer(kernel_initializer)
        self.bias_initializer = serialize_initializer(bias_initializer)

    def build(self, decoder_sequence_shape, encoder_sequence_shape=None):
        target_shape = decoder_sequence_shape
        source_shape = encoder_sequence_shape or decoder_sequence_shape
        self.self_attention = build_attention(self, "self_attention", target_shape)
        self.self_attention_norm = build_layer_norm(self, "self_attention_norm", target_shape)
        self.cross_attention = build_attention(
            self, "cross_attention", target_shape, source_shape
        )
        self.cross_attention_norm = build_layer_norm(self, "cross_attention_norm", target_shape)
        self.feed_forward = build_feed_forward(self, target_shape)
        self.feed_forward_norm = build_layer_norm(self, "feed_forward_norm", target_shape)
        self.dropout_layer = Dropout(
            self.dropout, dtype=self.dtype_policy, name="dropout"
        )

    def call(
        self,
        decoder_sequence,
        encoder_sequence=None,
        decoder_padding_mask=None,
        encoder_padding_mask=None,
        self_attention_cache=None,
        cross_attention_cache=None,
        cache_update_index=None,
        return_attention_scores=False,
        training=None,
    ):
        """Decodes a target sequence given the encoder output.

        Args:
            decoder_sequence: `(batch, target_length, hidden_dim)`.
            encoder_sequence: `(batch, source_length, hidden_dim)`; may be
                `None` when `cross_attention_cache` is given.
            decoder_padding_mask: `(batch, target_length)` (or `(batch,
                max_length)` with a cache), true for real target tokens.
            encoder_padding_mask: `(batch, source_length)`, true for real
                source tokens.
            self_attention_cache: `(batch, 2, max_length, num_heads,
                head_dim)`, or `None` for a full (training) pass.
            cross_attention_cache: `(batch, 2, source_length, num_heads,
                head_dim)`; computed from `encoder_sequence` when `None`.
            cache_update_index: position of the first token of
                `decoder_sequence`; required with `self_attention_cache`.
            return_attention_scores: also return a dict with the
                `"self_attention"` and `"cross_attention"` probabilities.
            training: whether dropout is active.

        Returns:
            `(batch, target_length, hidden_dim)`; then the scores dict if
            asked for; then, with a cache, the updated self-attention cache
            and the cross-attention cache.
        """
        use_cache = self_attention_cache is not None
        if use_cache and cross_attention_cache is None:
            cross_attention_cache = self.cross_attention.compute_key_value_cache(
                encoder_sequence
            )
        norm_first, drop = self.normalize_first, self.dropout_layer
        x = decoder_sequence  # (B, T, D)

        h = sublayer_input(x, self.self_attention_norm, norm_first)
        h, self_scores, *self_cache = self.self_attention(
            h,
            padding_mask=decoder_padding_mask,
            use_causal_mask=True,
            cache=self_attention_cache,
            cache_update_index=cache_update_index,
            return_attention_scores=True,
            training=training,
        )
        x = sublayer_output(x, h, self.self_attention_norm, drop, norm_first, training)

        h = sublayer_input(x, self.cross_attention_norm, norm_first)
        h, cross_scores, *_ = self.cross_attention(
            h,
            encoder_sequence,
            padding_mask=encoder_padding_mask,
            cache=cross_attention_cache,
            return_attention_scores=True,
            training=training,
        )
        x = sublayer_output(x, h, self.cross_attention_norm, drop, norm_first, training)

        h = self.feed_forward(sublayer_input(x, self.feed_forward_norm, norm_first))
        x = sublayer_output(x, h, self.feed_forward_norm, drop, norm_first, training)

        outputs = (x,)
        if return_attention_scores:
            outputs += ({"self_attention": self_scores, "cross_attention": cross_scores},)
        if use_cache:
            outputs += (self_cache[0], cross_attention_cache)
        return outputs[0] if len(outputs) == 1 else outputs

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "normalize_first": self.normalize_first,
                "kernel_initializer": self.kernel_initializer,
                "bias_initializer": self.bias_initializer,
            }
        )
        return config
