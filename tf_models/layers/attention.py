"""Multi-head scaled dot-product attention, written out step by step."""

import math

import keras
from keras import ops

from tf_models.layers.activations import serialize_initializer
from tf_models.layers.dropout import Dropout
from tf_models.layers.masking import merge_attention_masks

# Masked scores are replaced (not offset) by this value before the float32
# softmax: exp(-1e9 - max) is exactly 0, and a fully masked row stays finite.
_MASKED_SCORE = -1e9


@keras.saving.register_keras_serializable(package="tf_models")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head attention (Vaswani et al. 2017, section 3.2).

    Each head computes `softmax(Q K^T / sqrt(head_dim)) V` on its own slice of
    the projected queries, keys and values; the heads are concatenated and
    projected back to the query's width.

    The softmax always runs in float32, whatever the dtype policy, because
    half-precision exponentials of large scores overflow.

    An optional key/value cache makes autoregressive decoding O(n) per step:
    the cache is a tensor of shape `(batch, 2, max_length, num_heads,
    head_dim)` holding the keys (index 0) and values (index 1) of every
    position decoded so far. With `cache_update_index=i` the keys and values
    of the new queries are written at position `i` and the queries attend to
    the whole cache (causally, if asked). With `cache_update_index=None` the
    cache is used as it is, which is how a decoder reuses the keys and values
    of the encoder output at every step.

    Args:
        num_heads: number of attention heads.
        head_dim: width of each head; defaults to the query width divided by
            `num_heads`.
        dropout: dropout rate applied to the attention probabilities.
        use_bias: whether the four projections have biases.
        kernel_initializer: initializer of the projection kernels.
        bias_initializer: initializer of the projection biases.
        **kwargs: standard `keras.layers.Layer` arguments (`name`, `dtype`).

    Example:
    >>> attention = MultiHeadAttention(num_heads=2)
    >>> x = keras.random.normal((3, 5, 8))
    >>> attention(x, padding_mask=ops.ones((3, 5)), use_causal_mask=True).shape
    TensorShape([3, 5, 8])
    """

    def __init__(
        self,
        num_heads,
        head_dim=None,
        dropout=0.0,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.head_dim = head_dim
        self.dropout = dropout
        self.use_bias = use_bias
        self.kernel_initializer = serialize_initializer(kernel_initializer)
        self.bias_initializer = serialize_initializer(bias_initializer)

    def build(self, query_shape, value_shape=None, key_shape=None):
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        output_dim = query_shape[-1]
        if self.head_dim is None and output_dim % self.num_heads:
            raise ValueError(
                f"The query width {output_dim} is not divisible by "
                f"num_heads={self.num_heads}; pass head_dim explicitly."
            )
        self._head_dim = self.head_dim or output_dim // self.num_heads
        inner_dim = self.num_heads * self._head_dim

        def dense(units, name, input_shape):
            layer = keras.layers.Dense(
                units,
                use_bias=self.use_bias,
                kernel_initializer=keras.initializers.get(self.kernel_initializer),
                bias_initializer=keras.initializers.get(self.bias_initializer),
                dtype=self.dtype_policy,
                name=name,
            )
            layer.build(input_shape)
            return layer

        self.query_dense = dense(inner_dim, "query", query_shape)
        self.key_dense = dense(inner_dim, "key", key_shape)
        self.value_dense = dense(inner_dim, "value", value_shape)
        self.output_dense = dense(output_dim, "output", (None, None, inner_dim))
        self.attention_dropout = Dropout(
            self.dropout, dtype=self.dtype_policy, name="attention_dropout"
        )

    def call(
        self,
        query,
        value=None,
        key=None,
        padding_mask=None,
        attention_mask=None,
        use_causal_mask=False,
        cache=None,
        cache_update_index=None,
        return_attention_scores=False,
        training=None,
    ):
        """Attends from `query` to `key`/`value` (self-attention by default).

        Args:
            query: `(batch, query_length, query_dim)`.
            value: `(batch, key_length, value_dim)`; defaults to `query`.
            key: `(batch, key_length, key_dim)`; defaults to `value`.
            padding_mask: `(batch, key_length)`, true for real key tokens.
            attention_mask: `(batch, query_length, key_length)` bool.
            use_causal_mask: hide keys after each query's position.
            cache: `(batch, 2, max_length, num_heads, head_dim)` keys and
                values (see the class docstring).
            cache_update_index: where the new keys and values go in `cache`;
                `None` uses `cache` as it is.
            return_attention_scores: also return the attention
                probabilities, `(batch, num_heads, query_length, key_length)`.
            training: whether dropout is active.

        Returns:
            The output `(batch, query_length, query_dim)`, followed by the
            attention probabilities if asked for, followed by the updated
            cache if a cache was given.
        """
        q = self._split_heads(self.query_dense(query))  # (B, Tq, H, D)
        if cache is not None and cache_update_index is None:
            k, v = cache[:, 0], cache[:, 1]  # (B, Tk, H, D) each
        else:
            k, v = self._project_key_value(query if value is None else value, key)
            if cache is not None:
                start = [0, cache_update_index, 0, 0]
                k = ops.slice_update(cache[:, 0], start, k)  # (B, max_length, H, D)
                v = ops.slice_update(cache[:, 1], start, v)
                cache = ops.stack([k, v], axis=1)

        mask = merge_attention_masks(
            ops.shape(q)[1],
            ops.shape(k)[1],
            padding_mask=padding_mask,
            attention_mask=attention_mask,
            use_causal_mask=use_causal_mask,
            causal_offset=0 if cache_update_index is None else cache_update_index,
        )
        context, probabilities = self._attend(q, k, v, mask, training)
        output = self.output_dense(self._merge_heads(context))  # (B, Tq, query_dim)

        outputs = (output,)
        if return_attention_scores:
            outputs += (probabilities,)
        if cache is not None:
            outputs += (cache,)
        return outputs[0] if len(outputs) == 1 else outputs

    def compute_key_value_cache(self, value, key=None):
        """Projects `key`/`value` once into a cache for repeated queries.

        Args:
            value: `(batch, key_length, value_dim)`.
            key: `(batch, key_length, key_dim)`; defaults to `value`.

        Returns:
            `(batch, 2, key_length, num_heads, head_dim)`, to pass as `cache`
            with `cache_update_index=None`.
        """
        k, v = self._project_key_value(value, key)
        return ops.stack([k, v], axis=1)

    def _project_key_value(self, value, key=None):
        key = value if key is None else key
        k = self._split_heads(self.key_dense(key))  # (B, Tk, H, D)
        v = self._split_heads(self.value_dense(value))  # (B, Tk, H, D)
        return k, v

    def _attend(self, q, k, v, mask, training):
        """Scaled dot-product attention over already split heads."""
        q = q * ops.cast(1.0 / math.sqrt(self._head_dim), q.dtype)
        scores = ops.einsum("bqhd,bkhd->bhqk", q, k)  # (B, H, Tq, Tk)
        scores = ops.cast(scores, "float32")
        if mask is not None:
            scores = ops.where(mask[:, None, :, :], scores, _MASKED_SCORE)
        # One fused kernel (it subtracts each row's maximum before exp());
        # written out as exp / sum it made four passes over (B, H, Tq, Tk).
        probabilities = ops.softmax(scores, axis=-1)
        probabilities = ops.cast(probabilities, self.compute_dtype)
        dropped = self.attention_dropout(probabilities, training=training)
        context = ops.einsum("bhqk,bkhd->bqhd", dropped, v)  # (B, Tq, H, D)
        return context, probabilities

    def _split_heads(self, x):
        # (B, T, H * D) -> (B, T, H, D)
        return ops.reshape(x, ops.shape(x)[:-1] + (self.num_heads, self._head_dim))

    def _merge_heads(self, x):
        # (B, T, H, D) -> (B, T, H * D)
        return ops.reshape(x, ops.shape(x)[:-2] + (self.num_heads * self._head_dim,))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "head_dim": self.head_dim,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "kernel_initializer": self.kernel_initializer,
                "bias_initializer": self.bias_initializer,
            }
        )
        return config
