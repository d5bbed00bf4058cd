"""The GPU benchmark that needs no TensorFlow: BERT pretraining under Keras'
JAX backend in bf16, tf_models beside keras-hub, with the model FLOPs
utilisation (MFU) counted properly.

For a machine with JAX, keras and keras-hub (many GPU services have no
TensorFlow); the layers and models of tf_models are `keras.ops` only.

    python -m benchmarks.gpu_jax --json gpu_jax.json     # one GPU, under 8 minutes
    python -m benchmarks.gpu_jax --smoke                 # any CPU: the code path, tiny sizes

Each row trains BERT pretraining steps (masked LM at `--masked` positions of
`--length` tokens, tied output projection, plus next sentence) under the
`mixed_bfloat16` policy, jit-compiled (the JAX backend's default), AdamW,
on one random batch. Sequences per second come from the median step time
after `--warmup` steps (`benchmarks.common.timed`); each step's losses are
fetched, so a step is done when it is timed.

FLOPs per token, forward and backward (a multiply-add is 2 FLOPs, the
backward pass twice the forward):

    6 * (N - N_embedding) + 12 * L * T * D + 6 * V * D * M / T

N the trainable parameters, N_embedding those of the token, position and
segment tables (looked up, not multiplied: no FLOPs); 12 * L * T * D the
attention products `Q K^T` and `P V` of L layers at length T and width D;
the last term the tied output projection, run at the M masked positions of
every T tokens only (its table is among the embeddings). MFU is that count
times tokens per second over a peak: the H200's dense BF16 989 TFLOP/s
(`--peak-tflops`), and the bf16 matmul rate measured on the same device.

Results go to `--json` after each measurement; no measurement starts after
`--budget-seconds`. Without a GPU the script stops at once (exit code 2)
unless `--smoke`.
"""

import argparse
import json
import os
import sys
import time

if "keras" not in sys.modules:  # run as a script: choose the backend before Keras starts
    os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks import throughput  # noqa: E402  (its helpers need no TensorFlow)
from benchmarks.common import timed, write_results  # noqa: E402

H200_DENSE_BF16_TFLOPS = 989.0
LIBRARIES = throughput.LIBRARIES


def _gpus():
    import jax

    return [d for d in jax.devices() if d.platform == "gpu"]


def matmul_tflops(size, repeats=20):
    """The bf16 matmul rate this device reaches, in TFLOP/s: a square
    `size` product, jitted, the fastest of `repeats` (a peak, so not the median)."""
    import jax
    import jax.numpy as jnp

    a = jnp.ones((size, size), jnp.bfloat16)
    product = jax.jit(lambda x: x @ x)
    # The warm-up call compiles; `block_until_ready` waits for the product.
    timing = timed(lambda: product(a).block_until_ready(), repeats)
    return 2 * size**3 / timing.min / 1e12


def bert_shape(size, vocabulary_size):
    """The preset's architecture as keyword arguments both libraries take."""
    return dict(throughput.bert_sizes(size, vocabulary_size), max_sequence_length=512)


def build_pretrainer(library, shape):
    """BERT with masked-LM (tied) and next-sentence heads, named dict inputs
    and outputs `mlm_logits`, `nsp_logits`."""
    if library == "tf_models":
        from tf_models.models import BertBackbone, BertPretrainer

        return BertPretrainer(BertBackbone(**shape))
    import keras_hub

    backbone = keras_hub.models.BertBackbone(**shape)
    inputs = {name: keras.Input((None,), dtype="int32", name=name)
              for name in ("token_ids", "segment_ids", "padding_mask", "mask_positions")}
    features = backbone({k: inputs[k] for k in ("token_ids", "segment_ids", "padding_mask")})
    mlm_logits = keras_hub.layers.MaskedLMHead(
        vocabulary_size=shape["vocabulary_size"], token_embedding=backbone.token_embedding,
        intermediate_activation="gelu", dtype=backbone.dtype_policy, name="mlm_head",
    )(features["sequence_output"], mask_positions=inputs["mask_positions"])
    nsp_logits = keras.layers.Dense(2, dtype="float32", name="nsp_head")(features["pooled_output"])
    return keras.Model(inputs, {"mlm_logits": keras.ops.cast(mlm_logits, "float32"), "nsp_logits": nsp_logits})


def flops_per_token(shape, parameters, length, masked):
    """The docstring's count, for one token's forward and backward pass."""
    v, d, l = shape["vocabulary_size"], shape["hidden_dim"], shape["num_layers"]
    embeddings = (v + shape["max_sequence_length"] + 2) * d  # token, position, segment tables
    return 6 * (parameters - embeddings) + 12 * l * length * d + 6 * v * d * masked / length


def _batch(shape, batch_size, length, masked, rng):
    ids = rng.integers(5, shape["vocabulary_size"], (batch_size, length)).astype("int32")
    positions = np.sort(np.stack([rng.choice(np.arange(1, length), masked, replace=False)
                                  for _ in range(batch_size)]), axis=1).astype("int32")
    features = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids),
                "mask_positions": positions}
    labels = {"mlm_logits": np.take_along_axis(ids, positions, axis=1),
              "nsp_logits": rng.integers(0, 2, batch_size).astype("int32")}
    return features, labels


def measure(library, size, args):
    """One row: sequences/s, MFU against the peak and the measured matmul."""
    keras.config.set_dtype_policy("mixed_bfloat16")
    keras.utils.set_random_seed(0)
    shape = bert_shape(size, args.vocabulary_size)
    model = build_pretrainer(library, shape)
    model.compile(
        optimizer=keras.optimizers.AdamW(1e-4, weight_decay=0.01, global_clipnorm=1.0),
        loss={name: keras.losses.SparseCategoricalCrossentropy(from_logits=True)
              for name in ("mlm_logits", "nsp_logits")},
    )
    features, labels = _batch(shape, args.batch_size, args.length, args.masked, np.random.default_rng(0))
    losses = []

    def step():
        # The losses come back as Python numbers: the step is done when the clock stops.
        losses.append(model.train_on_batch(features, labels, return_dict=True)["loss"])

    started = time.perf_counter()
    step()  # compiles
    compile_seconds = time.perf_counter() - started
    timing = timed(step, args.steps, warmup=args.warmup)
    step_seconds = timing.median
    tokens_per_second = args.batch_size * args.length / step_seconds
    parameters = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    per_token = flops_per_token(shape, parameters, args.length, args.masked)
    achieved = per_token * tokens_per_second / 1e12
    return {
        "library": library, "size": size, "batch_size": args.batch_size, "length": args.length,
        "masked": args.masked, "parameters": parameters, "compile_seconds": round(compile_seconds, 1),
        **timing.fields("step_seconds"), "sequences_per_second": args.batch_size / step_seconds,
        "flops_per_token": per_token, "achieved_tflops": achieved,
        "mfu": achieved / args.peak_tflops, "mfu_of_measured_matmul": achieved / args.matmul_tflops,
        "loss": float(losses[-1]), "finite": bool(np.isfinite(float(losses[-1]))),
    }


def table(rows, args):
    lines = [f"Peak {args.peak_tflops:g} TFLOP/s; measured bf16 matmul {args.matmul_tflops:.3g} TFLOP/s.", "",
             "| model | library | batch x length | sequences/s | TFLOP/s | MFU (peak) | MFU (matmul) |",
             "|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| BERT-{r['size']} | {r['library']} | {r['batch_size']} x {r['length']} "
                     f"| {r['sequences_per_second']:,.0f} | {r['achieved_tflops']:.3g} | {r['mfu']:.1%} "
                     f"| {r['mfu_of_measured_matmul']:.1%} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="CPU allowed, tiny sizes, a few steps")
    parser.add_argument("--sizes", nargs="+", default=None, help="BERT presets (default: base large)")
    parser.add_argument("--batch-size", type=int, default=None, help="sequences per step (default 256)")
    parser.add_argument("--length", type=int, default=None, help="tokens per sequence (default 128)")
    parser.add_argument("--masked", type=int, default=None, help="masked positions per sequence (default 20)")
    parser.add_argument("--vocabulary-size", type=int, default=None, help="default 30522, BERT's")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default 20)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--peak-tflops", type=float, default=H200_DENSE_BF16_TFLOPS)
    parser.add_argument("--budget-seconds", type=float, default=360, help="no new measurement after this")
    parser.add_argument("--json", help="results, rewritten after each measurement")
    args = parser.parse_args(argv)
    if keras.backend.backend() != "jax":
        parser.error(f"runs under KERAS_BACKEND=jax (this process has {keras.backend.backend()!r})")
    tiny = {"sizes": ["tiny"], "batch_size": 4, "length": 32, "masked": 5, "vocabulary_size": 1000, "steps": 2}
    full = {"sizes": ["base", "large"], "batch_size": 256, "length": 128, "masked": 20, "vocabulary_size": 30522,
            "steps": 20}
    for name, value in (tiny if args.smoke else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    gpus = _gpus()
    if not gpus and not args.smoke:
        print("error: JAX sees no GPU (install jax[cuda12], check nvidia-smi); --smoke runs on the CPU",
              file=sys.stderr)
        return 2
    started = time.perf_counter()
    import jax

    rows = []
    # Besides the shared header: the devices and the JAX version (the header's
    # TensorFlow version is not what ran here).
    sections = {"device": str(jax.devices()[0]), "gpus": [str(g) for g in gpus], "jax": jax.__version__}

    def write():
        if args.json:
            # The matmul rate rides on `args` for `measure`, but it is measured, not asked for.
            settings = {k: v for k, v in vars(args).items() if k != "matmul_tflops"}
            write_results(args.json, "gpu_jax", settings, rows, **sections)

    args.matmul_tflops = sections["matmul_tflops"] = matmul_tflops(256 if args.smoke else 8192)
    write()
    for size in args.sizes:
        for library in LIBRARIES:
            if time.perf_counter() - started > args.budget_seconds:
                sections["stopped"] = f"budget of {args.budget_seconds:g} s reached"
                break
            rows.append(measure(library, size, args))
            write()
            print(json.dumps(rows[-1]), flush=True)
    print(table(rows, args))
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
