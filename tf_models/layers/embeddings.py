"""Token embeddings and the input embeddings of the Transformer and BERT."""

import math

import keras
from keras import ops

from tf_models.layers.activations import serialize_initializer
from tf_models.layers.dropout import Dropout
from tf_models.layers.position import PositionEmbedding, SinusoidalPositionEncoding


@keras.saving.register_keras_serializable(package="tf_models")
class TokenEmbedding(keras.layers.Layer):
    """A token embedding table that can also project back to the vocabulary.

    `reverse=True` multiplies hidden states by the transposed table, which is
    how the Transformer (section 3.4) and BERT's masked-LM head tie their
    output projection to the input embedding. That product runs in the
    compute dtype (bfloat16 or float16 under mixed precision, where the fast
    matrix units are: at small widths it is a large share of a step) and the
    logits come back as float32, for the softmax and the loss.

    Args:
        vocabulary_size: number of tokens.
        hidden_dim: embedding width.
        embeddings_initializer: initializer of the table.
        **kwargs: standard `keras.layers.Layer` arguments.

    Example:
    >>> embedding = TokenEmbedding(vocabulary_size=100, hidden_dim=16)
    >>> hidden = embedding(ops.array([[1, 2, 3]]))  # (1, 3, 16)
    >>> embedding(hidden, reverse=True).shape
    TensorShape([1, 3, 100])
    """

    def __init__(
        self, vocabulary_size, hidden_dim, embeddings_initializer="uniform", **kwargs
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.hidden_dim = hidden_dim
        self.embeddings_initializer = serialize_initializer(embeddings_initializer)

    def build(self, inputs_shape=None):
        self.embeddings = self.add_weight(
            shape=(self.vocabulary_size, self.hidden_dim),
            initializer=keras.initializers.get(self.embeddings_initializer),
            name="embeddings",
            # Cast by hand in `call`: the lookup reads rows, not the table.
            autocast=False,
        )

    def call(self, inputs, reverse=False):
        if not reverse:
            # (B, T) int -> (B, T, D)
            return ops.cast(ops.take(self.embeddings, inputs, axis=0), self.compute_dtype)
        # (B, T, D) -> (B, T, V) float32 logits
        table = ops.cast(self.embeddings, self.compute_dtype)
        logits = ops.matmul(ops.cast(inputs, self.compute_dtype), ops.transpose(table))
        return ops.cast(logits, "float32")

    def compute_output_spec(self, inputs, reverse=False):
        if reverse:
            shape = inputs.shape[:-1] + (self.vocabulary_size,)
            return keras.KerasTensor(shape, dtype="float32")
        return keras.KerasTensor(inputs.shape + (self.hidden_dim,), dtype=self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "hidden_dim": self.hidden_dim,
                "embeddings_initializer": self.embeddings_initializer,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="tf_models")
class TransformerEmbedding(keras.layers.Layer):
    """The Transformer's input: `token * sqrt(hidden_dim) + sinusoid`, dropout.

    The scaling (section 3.4) keeps the token embeddings, initialised with
    standard deviation `hidden_dim**-0.5`, on the scale of the sinusoids.

    Args:
        vocabulary_size: number of tokens.
        hidden_dim: embedding width.
        dropout: dropout rate on the sum (0.1 in the paper).
        embeddings_initializer: initializer of the token table.
        **kwargs: standard `keras.layers.Layer` arguments.

    Example:
    >>> embedding = TransformerEmbedding(vocabulary_size=100, hidden_dim=16)
    >>> embedding(ops.array([[1, 2, 3]])).shape
    TensorShape([1, 3, 16])
    """

    def __init__(
        self,
        vocabulary_size,
        hidden_dim,
        dropout=0.0,
        embeddings_initializer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.hidden_dim = hidden_dim
        self.dropout = dropout
        if embeddings_initializer is None:
            embeddings_initializer = keras.initializers.RandomNormal(
                stddev=hidden_dim**-0.5
            )
        self.embeddings_initializer = serialize_initializer(embeddings_initializer)
        self.token_embedding = TokenEmbedding(
            vocabulary_size,
            hidden_dim,
            embeddings_initializer=self.embeddings_initializer,
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        self.position_encoding = SinusoidalPositionEncoding(
            dtype=self.dtype_policy, name="position_encoding"
        )
        self.dropout_layer = Dropout(
            dropout, dtype=self.dtype_policy, name="dropout"
        )

    def build(self, inputs_shape):
        self.token_embedding.build(inputs_shape)

    def call(self, token_ids, start_index=0, training=None):
        x = self.token_embedding(token_ids)  # (B, T, D)
        x = x * ops.cast(math.sqrt(self.hidden_dim), x.dtype)
        x = x + self.position_encoding(x, start_index=start_index)
        return self.dropout_layer(x, training=training)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "hidden_dim": self.hidden_dim,
                "dropout": self.dropout,
                "embeddings_initializer": self.embeddings_initializer,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="tf_models")
class BertEmbedding(keras.layers.Layer):
    """BERT's input: token + segment + learned position, LayerNorm, dropout.

    Args:
        vocabulary_size: number of tokens.
        hidden_dim: embedding width.
        max_sequence_length: number of learned positions.
        num_segments: number of segment (token type) ids.
        dropout: dropout rate after the LayerNorm.
        layer_norm_epsilon: epsilon of the LayerNorm (1e-12 in BERT).
        initializer: initializer of the three tables.
        **kwargs: standard `keras.layers.Layer` arguments.

    Example:
    >>> embedding = BertEmbedding(100, hidden_dim=16, max_sequence_length=32)
    >>> ids = ops.array([[2, 7, 3]])
    >>> embedding(ids, ops.zeros_like(ids)).shape
    TensorShape([1, 3, 16])
    """

    def __init__(
        self,
        vocabulary_size,
        hidden_dim,
        max_sequence_length=512,
        num_segments=2,
        dropout=0.0,
        layer_norm_epsilon=1e-12,
        initializer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.hidden_dim = hidden_dim
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        if initializer is None:
            initializer = keras.initializers.TruncatedNormal(stddev=0.02)
        self.initializer = serialize_initializer(initializer)
        self.token_embedding = TokenEmbedding(
            vocabulary_size,
            hidden_dim,
            embeddings_initializer=self.initializer,
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        self.segment_embedding = TokenEmbedding(
            num_segments,
            hidden_dim,
            embeddings_initializer=self.initializer,
            dtype=self.dtype_policy,
            name="segment_embedding",
        )
        self.position_embedding = PositionEmbedding(
            max_sequence_length,
            initializer=self.initializer,
            dtype=self.dtype_policy,
            name="position_embedding",
        )
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name="layer_norm"
        )
        self.dropout_layer = Dropout(
            dropout, dtype=self.dtype_policy, name="dropout"
        )

    def build(self, token_ids_shape, segment_ids_shape=None):
        hidden_shape = tuple(token_ids_shape) + (self.hidden_dim,)
        self.token_embedding.build(token_ids_shape)
        self.segment_embedding.build(token_ids_shape)
        self.position_embedding.build(hidden_shape)
        self.layer_norm.build(hidden_shape)

    def call(self, token_ids, segment_ids, training=None):
        x = self.token_embedding(token_ids)  # (B, T, D)
        x = x + self.segment_embedding(segment_ids)  # (B, T, D)
        x = x + self.position_embedding(x)  # + (T, D)
        x = self.layer_norm(x)  # computed in float32 by Keras
        return self.dropout_layer(x, training=training)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "hidden_dim": self.hidden_dim,
                "max_sequence_length": self.max_sequence_length,
                "num_segments": self.num_segments,
                "dropout": self.dropout,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "initializer": self.initializer,
            }
        )
        return config
