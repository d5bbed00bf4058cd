"""One encoder layer's training step, taken apart: where the time goes.

Times forward + backward of a single `TransformerEncoderLayer` (BERT-Mini's
width by default) against variants that undo one of this package's choices,
and against keras-hub's `TransformerEncoder`, without and with XLA:

* `tf_models`: the layer as shipped;
* `keras Dropout`: its three dropouts replaced by `keras.layers.Dropout`
  (see `tf_models.layers.Dropout` for why they are not);
* `softmax written out`: attention's softmax as `exp(s - max) / sum`
  instead of the fused `ops.softmax`;
* `keras-hub`: `keras_hub.layers.TransformerEncoder` with the same sizes.

    python -m benchmarks.layers                       # the table in README.md
    python -m benchmarks.layers --batch 16 --length 128 --json layers.json

Prints a Markdown table of milliseconds per step (median of `--steps`).
"""

import argparse
import contextlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import keras_hub  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

import tf_models.layers.attention as attention_module  # noqa: E402
import tf_models.layers.transformer_encoder as encoder_module  # noqa: E402
from benchmarks.common import timed, write_results  # noqa: E402
from tf_models.layers import TransformerEncoderLayer  # noqa: E402
from tf_models.layers.attention import _MASKED_SCORE  # noqa: E402


@contextlib.contextmanager
def keras_dropout():
    """Layers built inside use `keras.layers.Dropout` instead of tf_models'."""
    saved = attention_module.Dropout, encoder_module.Dropout
    attention_module.Dropout = encoder_module.Dropout = keras.layers.Dropout
    try:
        yield
    finally:
        attention_module.Dropout, encoder_module.Dropout = saved


def written_out_attend(self, q, k, v, mask, training):
    """`MultiHeadAttention._attend` with the softmax as three passes."""
    q = q * ops.cast(self._head_dim**-0.5, q.dtype)
    scores = ops.cast(ops.einsum("bqhd,bkhd->bhqk", q, k), "float32")
    if mask is not None:
        scores = ops.where(mask[:, None, :, :], scores, _MASKED_SCORE)
    scores = ops.exp(scores - ops.max(scores, axis=-1, keepdims=True))
    probabilities = ops.cast(scores / ops.sum(scores, axis=-1, keepdims=True), self.compute_dtype)
    context = ops.einsum("bhqk,bkhd->bqhd", self.attention_dropout(probabilities, training=training), v)
    return context, probabilities


def build(variant, hidden_dim, num_heads, dropout, x, padding_mask):
    """The layer for `variant`, built, and a function that runs it in training mode."""
    options = dict(intermediate_dim=4 * hidden_dim, dropout=dropout, layer_norm_epsilon=1e-12)
    if variant == "keras-hub":
        layer = keras_hub.layers.TransformerEncoder(
            num_heads=num_heads,
            activation=lambda t: keras.activations.gelu(t, approximate=True),
            **options,
        )
    else:
        layer = TransformerEncoderLayer(num_heads, activation="gelu_approximate", **options)
    with keras_dropout() if variant == "keras Dropout" else contextlib.nullcontext():
        layer(x, padding_mask=padding_mask)  # builds
    if variant == "softmax written out":
        attention = layer.self_attention
        attention._attend = written_out_attend.__get__(attention)
    return layer, lambda: layer(x, padding_mask=padding_mask, training=True)


def step_seconds(layer, run, jit_compile, steps):
    """The `Timing` of one training step (gradients of a sum of squares)."""

    @tf.function(jit_compile=jit_compile)
    def train_step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(run()))
        return tape.gradient(loss, layer.trainable_variables)

    # The warm-up step traces (and compiles); `.numpy()` waits for the gradients.
    return timed(lambda: [g.numpy() for g in train_step()], repeats=steps)


VARIANTS = ("tf_models", "keras Dropout", "softmax written out", "keras-hub")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.layers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--length", type=int, default=512)
    parser.add_argument("--hidden-dim", type=int, default=256)
    parser.add_argument("--num-heads", type=int, default=4)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--steps", type=int, default=5, help="timed steps (the median is reported)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(0)
    x = tf.random.normal((args.batch, args.length, args.hidden_dim))
    padding_mask = tf.ones((args.batch, args.length), "int32")
    print(f"One encoder layer, batch {args.batch} x length {args.length}, width {args.hidden_dim}, "
          f"{args.num_heads} heads, dropout {args.dropout}: ms per training step\n")
    print("| layer | without XLA | with XLA |")
    print("|---|---:|---:|")
    rows = []
    for variant in VARIANTS:
        for jit_compile in (False, True):
            layer, run = build(variant, args.hidden_dim, args.num_heads, args.dropout, x, padding_mask)
            timing = step_seconds(layer, run, jit_compile, args.steps)
            rows.append({"variant": variant, "jit_compile": jit_compile, **timing.fields("step_seconds")})
        without, with_xla = (1000 * row["step_seconds"] for row in rows[-2:])
        print(f"| {variant} | {without:,.0f} | {with_xla:,.0f} |", flush=True)
    if args.json:
        write_results(args.json, "layers", args, rows)
    return rows


if __name__ == "__main__":
    main()
