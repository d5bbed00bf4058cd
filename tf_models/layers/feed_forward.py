"""The position-wise feed-forward network."""

import keras

from tf_models.layers.activations import get_activation, serialize_initializer


@keras.saving.register_keras_serializable(package="tf_models")
class FeedForward(keras.layers.Layer):
    """`FFN(x) = activation(x W1 + b1) W2 + b2` (Vaswani et al. 2017, eq. 2).

    Applied to every position independently; widens to `intermediate_dim`
    and projects back to the input width.

    Args:
        intermediate_dim: width of the hidden layer (2048 in the paper,
            4 x hidden_dim in BERT).
        activation: `"relu"` (the paper), `"gelu"` or `"gelu_approximate"`
            (BERT), or any Keras activation name.
        kernel_initializer: initializer of both kernels.
        bias_initializer: initializer of both biases.
        **kwargs: standard `keras.layers.Layer` arguments.

    Example:
    >>> FeedForward(intermediate_dim=64)(keras.random.normal((2, 5, 16))).shape
    TensorShape([2, 5, 16])
    """

    def __init__(
        self,
        intermediate_dim,
        activation="relu",
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.intermediate_dim = intermediate_dim
        self.activation = activation
        self.kernel_initializer = serialize_initializer(kernel_initializer)
        self.bias_initializer = serialize_initializer(bias_initializer)

    def build(self, inputs_shape):
        hidden_dim = inputs_shape[-1]
        self.intermediate_dense = keras.layers.Dense(
            self.intermediate_dim,
            activation=get_activation(self.activation),
            kernel_initializer=keras.initializers.get(self.kernel_initializer),
            bias_initializer=keras.initializers.get(self.bias_initializer),
            dtype=self.dtype_policy,
            name="intermediate_dense",
        )
        self.intermediate_dense.build(inputs_shape)
        self.output_dense = keras.layers.Dense(
            hidden_dim,
            kernel_initializer=keras.initializers.get(self.kernel_initializer),
            bias_initializer=keras.initializers.get(self.bias_initializer),
            dtype=self.dtype_policy,
            name="output_dense",
        )
        self.output_dense.build(tuple(inputs_shape[:-1]) + (self.intermediate_dim,))

    def call(self, inputs):
        # (B, T, D) -> (B, T, intermediate_dim) -> (B, T, D)
        return self.output_dense(self.intermediate_dense(inputs))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "intermediate_dim": self.intermediate_dim,
                "activation": self.activation,
                "kernel_initializer": self.kernel_initializer,
                "bias_initializer": self.bias_initializer,
            }
        )
        return config
