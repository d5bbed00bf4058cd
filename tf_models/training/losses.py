"""Token-level losses and metrics that ignore padding, in float32."""

import keras
import tensorflow as tf
from keras import ops


def _token_log_probabilities(y_true, y_pred, from_logits):
    """float32 log-probabilities `(..., V)` and integer labels `(...)`."""
    y_pred = ops.cast(y_pred, "float32")
    log_probs = ops.log_softmax(y_pred, axis=-1) if from_logits else ops.log(y_pred + 1e-9)
    # A negative padding label (-1 in token tagging) gets weight 0, but it
    # must still index a class: read class 0 instead of wrapping around.
    return log_probs, ops.maximum(ops.cast(y_true, "int32"), 0)


def _token_weights(y_true, padding_id, sample_weight=None):
    """float32 weight per token: 0 for padding, else `sample_weight` (or 1)."""
    weight = ops.ones(ops.shape(y_true), "float32")
    if padding_id is not None:
        weight = ops.cast(ops.not_equal(y_true, padding_id), "float32")
    if sample_weight is not None:
        weight = weight * ops.reshape(ops.cast(sample_weight, "float32"), ops.shape(weight))
    return weight


@keras.saving.register_keras_serializable(package="tf_models")
class MaskedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Cross-entropy per token, averaged over real tokens only.

    Labels equal to `padding_id` get weight 0, and the mean is over the
    remaining tokens (times any `sample_weight`, such as BERT's
    `mlm_weights`): a batch with more padding does not get a smaller loss.
    Under a distribution strategy the mean is over the real tokens of the
    whole global batch, as on one device.

    With `label_smoothing=eps` the target is `(1 - eps) * one_hot + eps / V`
    (Szegedy et al. 2016; 0.1 in the Transformer paper), so

        loss = (1 - eps) * -log p(label) + eps * mean_k(-log p(k)).

    Always computed in float32, whatever the dtype policy.

    Args:
        padding_id: label id that marks padding; `None` to count every token.
        label_smoothing: eps above, in [0, 1).
        from_logits: whether `y_pred` holds logits (else probabilities).
        name: loss name.

    Example:
    >>> loss = MaskedSparseCategoricalCrossentropy()
    >>> logits = ops.zeros((1, 3, 4))  # uniform over 4 classes
    >>> round(float(loss(ops.array([[2, 1, 0]]), logits)), 4)  # ln 4
    1.3863
    """

    def __init__(
        self,
        padding_id=0,
        label_smoothing=0.0,
        from_logits=True,
        name="masked_sparse_categorical_crossentropy",
        **kwargs,
    ):
        # "mean_with_sample_weight": sum(loss * weight) / sum(weight).
        kwargs.setdefault("reduction", "mean_with_sample_weight")
        kwargs["dtype"] = "float32"  # whatever the policy (or a saved config) says
        super().__init__(name=name, **kwargs)
        self.padding_id = padding_id
        self.label_smoothing = label_smoothing
        self.from_logits = from_logits

    def __call__(self, y_true, y_pred, sample_weight=None):
        weight = _token_weights(y_true, self.padding_id, sample_weight)
        context = tf.distribute.get_replica_context()  # None outside a replica's step
        replicas = context.num_replicas_in_sync if context is not None else 1
        if replicas == 1 or self.reduction != "mean_with_sample_weight":
            return super().__call__(y_true, y_pred, sample_weight=weight)
        # Several replicas: divide by the real tokens of the *global* batch.
        # Keras would divide each replica's sum by its own count (and then
        # by `replicas`), which weighs a token on a replica with much
        # padding more than one on a replica with little, unlike one device.
        # The replicas' gradients are summed, so the sum of these is the
        # one-device loss.
        total = ops.sum(self.call(y_true, y_pred) * weight)
        tokens = context.all_reduce(tf.distribute.ReduceOp.SUM, ops.sum(weight))
        return total / ops.maximum(tokens, 1.0)

    def call(self, y_true, y_pred):
        # y_true: (B, T) ids, y_pred: (B, T, V) -> per-token loss (B, T)
        log_probs, labels = _token_log_probabilities(y_true, y_pred, self.from_logits)
        nll = -ops.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]
        if not self.label_smoothing:
            return nll
        uniform = -ops.mean(log_probs, axis=-1)
        return (1.0 - self.label_smoothing) * nll + self.label_smoothing * uniform

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "padding_id": self.padding_id,
                "label_smoothing": self.label_smoothing,
                "from_logits": self.from_logits,
            }
        )
        return config


class _MaskedTokenMetric(keras.metrics.Metric):
    """Accumulates a per-token quantity over real tokens: total and count."""

    def __init__(self, padding_id=0, name=None, **kwargs):
        kwargs["dtype"] = "float32"  # whatever the policy (or a saved config) says
        super().__init__(name=name, **kwargs)
        self.padding_id = padding_id
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def per_token(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        weight = _token_weights(y_true, self.padding_id, sample_weight)
        self.total.assign_add(ops.sum(self.per_token(y_true, y_pred) * weight))
        self.count.assign_add(ops.sum(weight))

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "padding_id": self.padding_id}


@keras.saving.register_keras_serializable(package="tf_models")
class MaskedAccuracy(_MaskedTokenMetric):
    """Fraction of real (non-padding) tokens whose arg-max is the label.

    Args:
        padding_id: label id that marks padding; `None` to count every token.
        name: metric name.

    Example:
    >>> metric = MaskedAccuracy()
    >>> metric.update_state(ops.array([[1, 2, 0]]), ops.one_hot([[1, 3, 3]], 4))
    >>> float(metric.result())  # 1 right of 2 real tokens; padding ignored
    0.5
    """

    def __init__(self, padding_id=0, name="accuracy", **kwargs):
        super().__init__(padding_id=padding_id, name=name, **kwargs)

    def per_token(self, y_true, y_pred):
        predicted = ops.argmax(y_pred, axis=-1)
        return ops.cast(ops.equal(predicted, ops.cast(y_true, predicted.dtype)), "float32")

    def result(self):
        return ops.divide_no_nan(self.total, self.count)


@keras.saving.register_keras_serializable(package="tf_models")
class Perplexity(_MaskedTokenMetric):
    """exp(mean cross-entropy) over real tokens, from logits.

    Args:
        padding_id: label id that marks padding; `None` to count every token.
        name: metric name.

    Example:
    >>> metric = Perplexity()
    >>> metric.update_state(ops.array([[1, 2, 0]]), ops.zeros((1, 3, 8)))
    >>> round(float(metric.result()), 3)  # uniform over 8 tokens
    8.0
    """

    def __init__(self, padding_id=0, name="perplexity", **kwargs):
        super().__init__(padding_id=padding_id, name=name, **kwargs)

    def per_token(self, y_true, y_pred):
        log_probs, labels = _token_log_probabilities(y_true, y_pred, from_logits=True)
        return -ops.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]

    def result(self):
        return ops.exp(ops.divide_no_nan(self.total, self.count))
