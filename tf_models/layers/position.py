"""Position information: the paper's fixed sinusoids and BERT's learned table."""

import keras
from keras import ops

from tf_models.layers.activations import serialize_initializer


def sinusoidal_position_encoding(
    length, hidden_dim, start_index=0, max_wavelength=10000.0
):
    """The sinusoidal encoding of Vaswani et al. 2017, section 3.5.

        PE(pos, 2i)     = sin(pos / max_wavelength^(2i / hidden_dim))
        PE(pos, 2i + 1) = cos(pos / max_wavelength^(2i / hidden_dim))

    Sines and cosines are interleaved, as in the paper's formula. Because
    `PE(pos + k)` is a fixed rotation of `PE(pos)` for every pair of
    dimensions, a model can attend by relative position.

    Args:
        length: number of positions.
        hidden_dim: width of the encoding (even or odd).
        start_index: position of the first row (used while decoding).
        max_wavelength: the base of the geometric progression of wavelengths.

    Returns:
        A float32 tensor of shape `(length, hidden_dim)`.

    Example:
    >>> sinusoidal_position_encoding(50, 16).shape
    TensorShape([50, 16])
    """
    positions = ops.cast(ops.arange(length) + start_index, "float32")[:, None]  # (T, 1)
    dims = ops.arange(hidden_dim)  # (D,)
    pair_start = ops.cast(dims - dims % 2, "float32")  # 2i for dims 2i and 2i + 1
    angles = positions / ops.power(max_wavelength, pair_start / hidden_dim)  # (T, D)
    return ops.where(dims % 2 == 0, ops.sin(angles), ops.cos(angles))


@keras.saving.register_keras_serializable(package="tf_models")
class SinusoidalPositionEncoding(keras.layers.Layer):
    """Returns the sinusoidal encoding for the positions of its input.

    Has no weights, so it works for any sequence length.

    Args:
        max_wavelength: the base of the wavelengths (10,000 in the paper).
        **kwargs: standard `keras.layers.Layer` arguments.

    Example:
    >>> x = keras.random.normal((2, 7, 16))
    >>> (x + SinusoidalPositionEncoding()(x)).shape
    TensorShape([2, 7, 16])
    """

    def __init__(self, max_wavelength=10000.0, **kwargs):
        super().__init__(**kwargs)
        self.max_wavelength = max_wavelength

    def call(self, inputs, start_index=0):
        # inputs: (B, T, D) -> encoding: (T, D), broadcastable over the batch.
        length, hidden_dim = ops.shape(inputs)[1], inputs.shape[-1]
        encoding = sinusoidal_position_encoding(
            length, hidden_dim, start_index, self.max_wavelength
        )
        return ops.cast(encoding, self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"max_wavelength": self.max_wavelength})
        return config


@keras.saving.register_keras_serializable(package="tf_models")
class PositionEmbedding(keras.layers.Layer):
    """A learned embedding per position, as in BERT.

    Args:
        max_sequence_length: number of positions the table holds.
        initializer: initializer of the table.
        **kwargs: standard `keras.layers.Layer` arguments.

    Example:
    >>> x = keras.random.normal((2, 7, 16))
    >>> PositionEmbedding(max_sequence_length=32)(x).shape
    TensorShape([7, 16])
    """

    def __init__(self, max_sequence_length, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.max_sequence_length = max_sequence_length
        self.initializer = serialize_initializer(initializer)

    def build(self, inputs_shape):
        self.embeddings = self.add_weight(
            shape=(self.max_sequence_length, inputs_shape[-1]),
            initializer=keras.initializers.get(self.initializer),
            name="embeddings",
        )

    def call(self, inputs, start_index=0):
        # inputs: (B, T, D) -> embeddings of positions start .. start + T: (T, D)
        length = ops.shape(inputs)[1]
        if keras.backend.backend() == "jax":
            # JAX slices only to sizes known when it traces, and a functional
            # model's length is not: take the rows by index there. Elsewhere a
            # slice, whose gradient is dense (a gather's is sparse, and under
            # tf.distribute is summed over replicas in another order).
            return ops.take(self.embeddings, ops.arange(length) + start_index, axis=0)
        return ops.slice(self.embeddings, (start_index, 0), (length, inputs.shape[-1]))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "max_sequence_length": self.max_sequence_length,
                "initializer": self.initializer,
            }
        )
        return config
