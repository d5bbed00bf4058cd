"""Dropout whose random numbers stay cheap under XLA, on CPU too, and
differ between the replicas of a `tf.distribute` strategy."""

import keras

# Stateless seeds are an int32 pair; Keras' SeedGenerator keeps an int64 pair.
_INT32_SEED_RANGE = 2**31 - 1


def _tensorflow_dropout(inputs, rate, seed):
    """The TensorFlow backend's dropout: Philox named, the replica folded in."""
    import tensorflow as tf  # only this backend has it (or needs it)

    # The generator's state is one variable shared by every replica of a
    # tf.distribute strategy, so each replica folds its id into the seed:
    # otherwise all replicas would drop the same positions of their
    # different examples (replica 0, and one device, are unchanged).
    context = tf.distribute.get_replica_context()
    replica = 0 if context is None else tf.cast(context.replica_id_in_sync_group, tf.int64)
    seed = tf.cast(tf.math.floormod(seed + tf.constant([0, 1], tf.int64) * replica, _INT32_SEED_RANGE), tf.int32)
    return tf.nn.experimental.stateless_dropout(inputs, rate, seed, rng_alg="philox")


@keras.saving.register_keras_serializable(package="tf_models")
class Dropout(keras.layers.Layer):
    """`keras.layers.Dropout` with TensorFlow's Philox generator named.

    During training, zeroes each element with probability `rate` and scales
    the others by `1 / (1 - rate)`; at inference it returns its input.

    Why not `keras.layers.Dropout`: it calls the same TensorFlow op without
    naming the random algorithm, and TensorFlow then derives the Philox key
    from the seed with a few hundred scalar operations. XLA on CPU may fuse
    those into the loop that draws the numbers, recomputing them for every
    element: one encoder layer compiled alone (batch 4, length 512, width
    256) took about 1,060 ms per training step with it and 125 ms with this
    layer (`python -m benchmarks.layers`).
    Naming Philox derives the key with one tiny draw that XLA computes once,
    whatever it fuses. (In the whole models of `benchmarks/README.md` XLA
    happened not to fuse it, and both run at the same speed.) The numbers
    come from Philox either way. Under the other Keras backends (JAX,
    PyTorch) the layer is `keras.random.dropout`, and needs no TensorFlow.

    Args:
        rate: fraction of the elements to drop, in `[0, 1)`.
        seed: optional int seed of the layer's random stream.
        **kwargs: standard `keras.layers.Layer` arguments.

    Example:
    >>> dropout = Dropout(0.5, seed=1)
    >>> x = keras.ops.ones((2, 4))
    >>> bool(keras.ops.all(dropout(x) == x))  # inference: unchanged
    True
    >>> sorted(set(dropout(x, training=True).numpy().ravel().tolist()))
    [0.0, 2.0]
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"rate must be in [0, 1), got {rate}.")
        self.rate = rate
        self.seed = seed
        self.supports_masking = True
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        if keras.backend.backend() == "tensorflow":
            return _tensorflow_dropout(inputs, self.rate, self.seed_generator.next())
        # JAX and PyTorch: Keras' own dropout. A jitted JAX step spans all
        # devices as one computation, so one random stream serves them all.
        return keras.random.dropout(inputs, self.rate, seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
