"""Solutions to the exercises of notebooks/08_scaling_up.ipynb.

One function per exercise; each asserts what a correct solution shows.

    python notebooks/solutions/08_scaling_up.py
    TF_MODELS_QUICK=1 python notebooks/solutions/08_scaling_up.py  # tiny settings, as `make test`

Each exercise that sets a dtype policy sets float32 back when it ends. In
quick mode exercise 3 times a few steps of the `test` preset, run eagerly
(its speeds then say nothing about the hardware; the mechanics are the same).
"""

import contextlib
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy as np
import tensorflow as tf

from tf_models.models import BertBackbone, BertPretrainer, CausalLM, Transformer
from tf_models.training import LossScaleOptimizer, compile_causal_lm

QUICK = os.environ.get("TF_MODELS_QUICK") == "1"


@contextlib.contextmanager
def dtype_policy(name):
    """Sets the global dtype policy for the models built inside, float32 again after."""
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy("float32")


def exercise_1_dtype_audit():
    """Exercise 1 (easy): under `mixed_bfloat16`, build the three models and
    check where each keeps float32: variables, logits; and what computes in
    bfloat16. Then see what `mixed_float16` adds to the optimizer."""
    ids = np.array([[5, 6, 7, 8]], "int32")
    with dtype_policy("mixed_bfloat16"):
        gpt = CausalLM.from_preset("test")
        transformer = Transformer.from_preset("test")
        bert = BertPretrainer(BertBackbone.from_preset("test"))
        logits = {
            "CausalLM": gpt({"token_ids": ids, "padding_mask": ids != 0})["logits"],
            "Transformer": transformer({"encoder_token_ids": ids, "decoder_token_ids": ids})["logits"],
            "BERT masked LM": bert({"token_ids": ids, "segment_ids": ids * 0, "padding_mask": ids != 0,
                                    "mask_positions": np.array([[1, 2]])})["mlm_logits"],
        }
        layer = gpt.encoder_layers[0]
        hidden = layer(keras.random.normal((1, 4, gpt.hidden_dim)))
    for model in (gpt, transformer, bert):
        assert {v.dtype for v in model.weights} == {"float32"}, "variables stay float32"
    for name, value in logits.items():
        print(f"{name}: logits {value.dtype}")
        assert value.dtype == tf.float32, "logits (and so the losses) are float32"
    print(f"an encoder layer computes in {layer.compute_dtype}, its output is {hidden.dtype}")
    assert layer.compute_dtype == "bfloat16" and hidden.dtype == tf.bfloat16

    for policy, scaled in (("mixed_float16", True), ("mixed_bfloat16", False), ("float32", False)):
        with dtype_policy(policy):
            model = compile_causal_lm(CausalLM.from_preset("test"), total_steps=10)
        print(f"{policy}: optimizer {type(model.optimizer).__name__}")
        assert isinstance(model.optimizer, LossScaleOptimizer) == scaled, "only float16 needs loss scaling"


def exercise_2_why_float16_needs_loss_scaling():
    """Exercise 2 (easy): see with a few casts why float16 gradients need loss
    scaling and bfloat16 ones do not, and what bfloat16 gives up instead."""
    gradient = tf.constant(1e-8)  # a small gradient, common deep in a network
    as_float16 = float(tf.cast(gradient, tf.float16))
    scale = 2.0**15
    scaled = float(tf.cast(tf.cast(gradient * scale, tf.float16), tf.float32)) / scale  # scale, cast, unscale
    as_bfloat16 = float(tf.cast(tf.cast(gradient, tf.bfloat16), tf.float32))
    print(f"1e-8 in float16: {as_float16}; scaled by 2^15 first: {scaled:.3e}; in bfloat16: {as_bfloat16:.3e}")
    assert as_float16 == 0.0, "float16 flushes it to zero: the weight would never move"
    assert abs(scaled - 1e-8) / 1e-8 < 0.01, "loss scaling keeps it"
    assert abs(as_bfloat16 - 1e-8) / 1e-8 < 0.01, "bfloat16 has float32's exponent range"

    # What bfloat16 gives up: precision (8 significant bits against float16's 11).
    for dtype in (tf.float16, tf.bfloat16):
        step = float(tf.cast(tf.cast(1.0 + 1e-3, dtype), tf.float32)) - 1.0
        print(f"1 + 0.001 in {dtype.name}: 1 + {step:.5f}")
    assert float(tf.cast(tf.constant(1.0 + 1e-3), tf.bfloat16)) == 1.0  # the update is lost
    assert float(tf.cast(tf.constant(1.0 + 1e-3), tf.float16)) > 1.0
    # And float16's range ends at 65504: a large activation overflows.
    assert np.isinf(float(tf.cast(tf.constant(1e5), tf.float16)))
    assert np.isfinite(float(tf.cast(tf.constant(1e5), tf.bfloat16)))


def training_speed(policy, steps):
    """`(steps per second, loss before training, loss after)` of a small CausalLM under `policy`."""
    with dtype_policy(policy):
        keras.utils.set_random_seed(0)  # the same initial weights under every policy
        model = CausalLM.from_preset("test" if QUICK else "tiny", vocabulary_size=500, dropout=0.0)
        compile_causal_lm(model, total_steps=steps * 2, run_eagerly=QUICK)
    length = 32 if QUICK else 128  # the test preset has 32 positions
    ids = np.random.default_rng(0).integers(1, 500, (32, length + 1)).astype("int32")
    features, labels = {"token_ids": ids[:, :-1], "padding_mask": np.ones_like(ids[:, :-1])}, ids[:, 1:]
    data = tf.data.Dataset.from_tensors((features, {"logits": labels})).repeat()
    loss_before = model.evaluate(features, {"logits": labels}, verbose=0, return_dict=True)["loss"]
    model.fit(data, steps_per_epoch=2, epochs=1, verbose=0)  # tracing, kept out of the timing
    started = time.perf_counter()
    history = model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps / (time.perf_counter() - started), loss_before, history.history["loss"][-1]


def exercise_3_float32_vs_bfloat16_speed():
    """Exercise 3 (medium): measure training steps per second of a small
    model under float32 and mixed_bfloat16, timing only the steps after the
    first ones, and compare their losses on the same batch."""
    steps = 3 if QUICK else 40
    results = {policy: training_speed(policy, steps) for policy in ("float32", "mixed_bfloat16")}
    for policy, (speed, before, after) in results.items():
        print(f"{policy:<15} {speed:6.1f} steps/s; loss {before:.4f} before training, {after:.4f} after")
        assert speed > 0 and after < before, "it trains under either policy"
    (speed_32, before_32, _), (speed_16, before_16, _) = results["float32"], results["mixed_bfloat16"]
    # How much faster depends on the hardware's bfloat16 units (see benchmarks/README.md).
    print(f"mixed_bfloat16 runs at {speed_16 / speed_32:.2f}x float32's speed on this machine")
    # The same weights and batch: bfloat16's rounding moves the loss only a little.
    assert abs(before_16 - before_32) / before_32 < 0.02


EXERCISES = [exercise_1_dtype_audit, exercise_2_why_float16_needs_loss_scaling, exercise_3_float32_vs_bfloat16_speed]


def main():
    for exercise in EXERCISES:
        print(f"\n== {exercise.__name__}")
        exercise()
    print("\nall exercises passed")


if __name__ == "__main__":
    main()
