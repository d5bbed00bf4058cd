"""Learning-rate schedules of the two papers, as serialisable Keras schedules."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tf_models")
class TransformerSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """The Transformer's "Noam" schedule (Vaswani et al. 2017, eq. 3).

        lr(step) = scale * hidden_dim^-0.5 * min(step^-0.5, step * warmup_steps^-1.5)

    It rises linearly for `warmup_steps`, peaks at
    `scale * (hidden_dim * warmup_steps)^-0.5`, then decays as `step^-0.5`.
    Steps count from 1, as in the paper.

    Args:
        hidden_dim: the model width (d_model).
        warmup_steps: length of the linear warm-up (4,000 in the paper).
        scale: a constant factor (1 in the paper).

    Example:
    >>> schedule = TransformerSchedule(hidden_dim=512, warmup_steps=4000)
    >>> round(float(schedule(4000)), 6)  # the peak, 512**-0.5 * 4000**-0.5
    0.000699
    """

    def __init__(self, hidden_dim, warmup_steps=4000, scale=1.0):
        self.hidden_dim = hidden_dim
        self.warmup_steps = warmup_steps
        self.scale = scale

    def __call__(self, step):
        step = ops.maximum(ops.cast(step, "float32"), 1.0)
        warmup = ops.cast(self.warmup_steps, "float32")
        return (
            self.scale
            * self.hidden_dim**-0.5
            * ops.minimum(ops.rsqrt(step), step * warmup**-1.5)
        )

    def get_config(self):
        return {
            "hidden_dim": self.hidden_dim,
            "warmup_steps": self.warmup_steps,
            "scale": self.scale,
        }


@keras.saving.register_keras_serializable(package="tf_models")
class WarmupPolynomialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """BERT's schedule: linear warm-up, then polynomial decay to `end_rate`.

        warm-up:  lr = peak_learning_rate * step / warmup_steps
        decay:    lr = (peak_learning_rate - end_rate) * (1 - progress)^power + end_rate

    where `progress` runs from 0 after warm-up to 1 at `total_steps`. With
    `power=1` (BERT's default) the decay is linear.

    Args:
        peak_learning_rate: learning rate at the end of warm-up (1e-4 for BERT
            pretraining, 2e-5 to 5e-5 for fine-tuning).
        total_steps: steps of the whole run, warm-up included.
        warmup_steps: steps of linear warm-up (10,000 in BERT; often 10% of
            the run when fine-tuning).
        end_rate: final learning rate.
        power: exponent of the decay.

    Example:
    >>> schedule = WarmupPolynomialDecay(1e-4, total_steps=100, warmup_steps=10)
    >>> [round(float(schedule(s)), 7) for s in (5, 10, 55, 100)]
    [5e-05, 0.0001, 5e-05, 0.0]
    """

    def __init__(self, peak_learning_rate, total_steps, warmup_steps=0, end_rate=0.0, power=1.0):
        if not 0 <= warmup_steps <= total_steps:
            raise ValueError(
                f"Need 0 <= warmup_steps <= total_steps, got {warmup_steps} and {total_steps}."
            )
        self.peak_learning_rate = peak_learning_rate
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps
        self.end_rate = end_rate
        self.power = power

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = float(self.warmup_steps)
        warming = self.peak_learning_rate * step / max(warmup, 1.0)
        progress = ops.clip(
            (step - warmup) / max(self.total_steps - warmup, 1.0), 0.0, 1.0
        )
        decaying = (self.peak_learning_rate - self.end_rate) * (1.0 - progress) ** self.power + self.end_rate
        return ops.where(step < warmup, warming, decaying)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "end_rate": self.end_rate,
            "power": self.power,
        }
