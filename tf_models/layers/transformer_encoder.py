"""THE shared block: one Transformer encoder layer.

`tf_models.models.Transformer` stacks this class to build its encoder,
`tf_models.models.BertBackbone` stacks the very same class to build BERT, and
`tf_models.models.CausalLM` stacks it with a causal mask (and a key/value
cache when generating) to build a GPT-style decoder-only language model.
There is no other encoder block in the package.
"""

import keras

from tf_models.layers.activations import serialize_initializer
from tf_models.layers.dropout import Dropout
from tf_models.layers.attention import MultiHeadAttention
from tf_models.layers.feed_forward import FeedForward


def sublayer_input(x, norm, normalize_first):
    """What a sublayer sees: `LayerNorm(x)` in pre-norm, `x` in post-norm."""
    return norm(x) if normalize_first else x


def sublayer_output(residual, sublayer_out, norm, dropout, normalize_first, training):
    """The residual connection around a sublayer (section 5.4 of the paper).

        post-norm (the paper, BERT): LayerNorm(x + Dropout(Sublayer(x)))
        pre-norm:                    x + Dropout(Sublayer(LayerNorm(x)))
    """
    x = residual + dropout(sublayer_out, training=training)
    return x if normalize_first else norm(x)


# Sublayer builders shared by the encoder and decoder layers: `owner` is the
# layer being built, whose settings (heads, widths, initializers, epsilon,
# dtype policy) the sublayer takes.


def build_attention(owner, name, query_shape, value_shape=None):
    layer = MultiHeadAttention(
        owner.num_heads,
        dropout=owner.dropout,
        kernel_initializer=owner.kernel_initializer,
        bias_initializer=owner.bias_initializer,
        dtype=owner.dtype_policy,
        name=name,
    )
    layer.build(query_shape, value_shape)
    return layer


def build_layer_norm(owner, name, shape):
    layer = keras.layers.LayerNormalization(
        epsilon=owner.layer_norm_epsilon, dtype=owner.dtype_policy, name=name
    )
    layer.build(shape)
    return layer


def build_feed_forward(owner, shape):
    layer = FeedForward(
        owner.intermediate_dim,
        activation=owner.activation,
        kernel_initializer=owner.kernel_initializer,
        bias_initializer=owner.bias_initializer,
        dtype=owner.dtype_policy,
        name="feed_forward",
    )
    layer.build(shape)
    return layer


@keras.saving.register_keras_serializable(package="tf_models")
class TransformerEncoderLayer(keras.layers.Layer):
    """Self-attention then a feed-forward network, each with a residual.

    Post-norm (`normalize_first=False`) is the layout of the Transformer paper
    and of BERT; pre-norm (`normalize_first=True`, GPT-2's) trains more stably
    in deep stacks and needs a final LayerNorm after the last layer, which the
    models add.

    With `use_causal_mask=True` each position attends only to itself and the
    positions before it: the same layer is then a decoder-only language
    model's block (a Transformer decoder layer without cross-attention).

    Args:
        num_heads: number of attention heads.
        intermediate_dim: width of the feed-forward hidden layer.
        dropout: dropout on attention probabilities and on each sublayer's
            output before the residual sum.
        activation: feed-forward activation (`"relu"`, `"gelu"`,
            `"gelu_approximate"`, ...).
        layer_norm_epsilon: epsilon of both LayerNorms.
        normalize_first: pre-norm if true, post-norm otherwise.
        kernel_initializer: initializer of all kernels.
        bias_initializer: initializer of all biases.
        **kwargs: standard `keras.layers.Layer` arguments.

    Example:
    >>> layer = TransformerEncoderLayer(num_heads=2, intermediate_dim=32)
    >>> x = keras.random.normal((2, 5, 16))
    >>> layer(x, padding_mask=keras.ops.ones((2, 5))).shape
    TensorShape([2, 5, 16])
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

    def build(self, inputs_shape):
        self.self_attention = build_attention(self, "self_attention", inputs_shape)
        self.self_attention_norm = build_layer_norm(self, "self_attention_norm", inputs_shape)
        self.feed_forward = build_feed_forward(self, inputs_shape)
        self.feed_forward_norm = build_layer_norm(self, "feed_forward_norm", inputs_shape)
        self.dropout_layer = Dropout(
            self.dropout, dtype=self.dtype_policy, name="dropout"
        )

    def call(
        self,
        inputs,
        padding_mask=None,
        attention_mask=None,
        use_causal_mask=False,
        self_attention_cache=None,
        cache_update_index=None,
        return_attention_scores=False,
        training=None,
    ):
        """Encodes a sequence.

        Args:
            inputs: `(batch, length, hidden_dim)`.
            padding_mask: `(batch, length)` (with a cache: `(batch,
                max_length)`), true for real tokens.
            attention_mask: `(batch, length, length)` bool.
            use_causal_mask: hide the positions after each query's.
            self_attention_cache: `(batch, 2, max_length, num_heads,
                head_dim)` keys and values of the positions before (see
                `MultiHeadAttention`), for step-by-step generation.
            cache_update_index: position of the first token of `inputs`;
                required with `self_attention_cache`.
            return_attention_scores: also return a dict with the
                `"self_attention"` probabilities, `(batch, num_heads, length,
                length)` (the decoder layer's dict adds `"cross_attention"`).
            training: whether dropout is active.

        Returns:
            `(batch, length, hidden_dim)`; then the scores dict if asked for;
            then, with a cache, the updated cache.
        """
        norm_first, drop = self.normalize_first, self.dropout_layer
        x = inputs  # (B, T, D)

        h = sublayer_input(x, self.self_attention_norm, norm_first)
        h, scores, *cache = self.self_attention(
            h,
            padding_mask=padding_mask,
            attention_mask=attention_mask,
            use_causal_mask=use_causal_mask,
            cache=self_attention_cache,
            cache_update_index=cache_update_index,
            return_attention_scores=True,
            training=training,
        )
        x = sublayer_output(x, h, self.self_attention_norm, drop, norm_first, training)

        h = self.feed_forward(sublayer_input(x, self.feed_forward_norm, norm_first))
        x = sublayer_output(x, h, self.feed_forward_norm, drop, norm_first, training)
        outputs = (x,) + (({"self_attention": scores},) if return_attention_scores else ()) + tuple(cache)
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
