"""The optimizers the papers trained with, clipping the same way on one
device and on many."""

import keras
import tensorflow as tf

# BERT applies no weight decay to LayerNorm parameters and biases. Keras
# matches these patterns (regular expressions) against variable names.
NO_DECAY_PATTERNS = ("gamma", "beta", "bias")


class SummedBeforeClipping:
    """Clips the gradient of the whole global batch, however many replicas.

    Keras 3 (TensorFlow backend) clips inside `apply`, before its update step
    sums the replicas' gradients: with N replicas each replica's share is
    clipped alone and the clipped shares are added, so `global_clipnorm=1`
    lets the update reach norm N and follows another rule than one device
    (w = 0, SGD at rate 1, global norm 1, per-example gradients -20 and +4:
    one device ends at w = 1, two replicas at w = 0). Here, with several
    replicas and a clipping option set, the replicas first sum their
    gradients, the sum is clipped, and each replica passes on an equal share
    of the result, which the update step's own sum puts back together. That
    costs one more all-reduce per step, only when clipping is on.

    Mix it in before a Keras optimizer class, as `SGD`, `Adam` and `AdamW`
    below do; on one device they are exactly their Keras classes.

    Example:
    >>> optimizer = AdamW(1e-3, global_clipnorm=1.0)  # as bert_optimizer builds it
    >>> isinstance(optimizer, SummedBeforeClipping) and isinstance(optimizer, keras.optimizers.AdamW)
    True
    """

    def _clip_gradients(self, grads):
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context is not None else 1
        clipping = self.clipnorm or self.global_clipnorm or self.clipvalue
        if replicas == 1 or not clipping:
            return super()._clip_gradients(grads)
        real = [i for i, grad in enumerate(grads) if grad is not None]
        summed = context.all_reduce(tf.distribute.ReduceOp.SUM, [grads[i] for i in real])
        clipped = super()._clip_gradients(summed)
        shares = list(grads)
        for i, grad in zip(real, clipped):
            shares[i] = grad / replicas  # the update step sums the N equal shares
        return shares


@keras.saving.register_keras_serializable(package="tf_models")
class SGD(SummedBeforeClipping, keras.optimizers.SGD):
    """`keras.optimizers.SGD` that clips the summed gradient of all replicas."""


@keras.saving.register_keras_serializable(package="tf_models")
class Adam(SummedBeforeClipping, keras.optimizers.Adam):
    """`keras.optimizers.Adam` that clips the summed gradient of all replicas."""


@keras.saving.register_keras_serializable(package="tf_models")
class AdamW(SummedBeforeClipping, keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` that clips the summed gradient of all replicas."""


def transformer_optimizer(learning_rate, **kwargs):
    """Adam with beta_2 = 0.98 and epsilon = 1e-9 (Vaswani et al. 2017, 5.3).

    Args:
        learning_rate: a float or a schedule, usually `TransformerSchedule`.
        **kwargs: other `keras.optimizers.Adam` arguments (for example
            `gradient_accumulation_steps`, or a clipping option: it clips the
            gradient summed over replicas, see `SummedBeforeClipping`).

    Example:
    >>> transformer_optimizer(1e-3).beta_2
    0.98
    """
    return Adam(
        learning_rate, beta_1=0.9, beta_2=0.98, epsilon=1e-9, **kwargs
    )


def bert_optimizer(learning_rate, weight_decay=0.01, global_clipnorm=1.0, **kwargs):
    """AdamW as BERT used it: decoupled weight decay 0.01, except on
    LayerNorm and bias variables, and gradients clipped to global norm 1.

    Args:
        learning_rate: a float or a schedule, usually `WarmupPolynomialDecay`.
        weight_decay: decoupled weight-decay rate.
        global_clipnorm: clip all gradients together to this global norm.
        **kwargs: other `keras.optimizers.AdamW` arguments.

    Example:
    >>> bert_optimizer(1e-4).weight_decay
    0.01
    """
    optimizer = AdamW(
        learning_rate,
        weight_decay=weight_decay,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-6,
        global_clipnorm=global_clipnorm,
        **kwargs,
    )
    optimizer.exclude_from_weight_decay(var_names=list(NO_DECAY_PATTERNS))
    return optimizer


@keras.saving.register_keras_serializable(package="tf_models")
class LossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """Dynamic loss scaling that skips a step on every replica or on none.

    Keras' `LossScaleOptimizer` judges finiteness on each replica's own
    gradient, before any sum: when only one replica overflows, the others
    apply their step, the sum inside it carries the overflowing replica's
    inf into every copy of the weights, and the scale is not lowered
    (measured: two replicas, an inf in one replica's input, every weight
    became -inf). Here the replicas first agree: the step is skipped
    everywhere, and the scale halved, when any replica's gradient is not
    finite.

    Example:
    >>> optimizer = LossScaleOptimizer(SGD(0.1))  # what loss_scaled() returns under mixed_float16
    >>> float(optimizer.initial_scale)
    32768.0
    """

    def check_finite(self, grads):
        finite = super().check_finite(grads)
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return finite
        overflows = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.cast(tf.logical_not(finite), tf.float32))
        return tf.equal(overflows, 0.0)


def loss_scaled(optimizer):
    """`optimizer` wrapped in `LossScaleOptimizer` under the `mixed_float16`
    policy (float16 gradients underflow without it), else `optimizer`.

    `Model.compile` would wrap it in Keras' own class, which lets one
    replica's overflow through (see `LossScaleOptimizer`); the compile
    helpers of `tf_models.training` wrap it in this one first.

    Example:
    >>> isinstance(loss_scaled(SGD(0.1)), LossScaleOptimizer)  # float32 policy
    False
    """
    if keras.config.dtype_policy().name != "mixed_float16":
        return optimizer
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return LossScaleOptimizer(optimizer)
