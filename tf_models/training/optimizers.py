"""The optimizers the papers trained with."""

import keras

# BERT applies no weight decay to LayerNorm parameters and biases. Keras
# matches these patterns (regular expressions) against variable names.
NO_DECAY_PATTERNS = ("gamma", "beta", "bias")


def transformer_optimizer(learning_rate, **kwargs):
    """Adam with beta_2 = 0.98 and epsilon = 1e-9 (Vaswani et al. 2017, 5.3).

    Args:
        learning_rate: a float or a schedule, usually `TransformerSchedule`.
        **kwargs: other `keras.optimizers.Adam` arguments (for example
            `gradient_accumulation_steps`).

    Example:
    >>> transformer_optimizer(1e-3).beta_2
    0.98
    """
    return keras.optimizers.Adam(
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
    optimizer = keras.optimizers.AdamW(
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
