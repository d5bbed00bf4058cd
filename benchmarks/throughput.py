"""Training throughput and peak memory: tf_models against keras-hub.

Every row trains one architecture twice, once built from tf_models and once
from keras-hub, on the same random batch with the same optimizer (Adam) and
loss (sparse cross-entropy on float32 logits):

* `bert`: a BERT backbone with its masked-LM head (tf_models `BertBackbone`
  + `MaskedLMHead` against keras-hub `BertBackbone` + `MaskedLMHead`), 15%
  of the tokens predicted, embeddings tied to the output layer;
* `transformer`: the encoder-decoder Transformer (tf_models `Transformer`
  against the same stack assembled from keras-hub `ReversibleEmbedding`,
  `SinePositionEncoding`, `TransformerEncoder` and `TransformerDecoder`),
  source and target of the same length, shared and tied embeddings.

Sizes are BERT's `tiny`, `mini` and `small` (layers, width, heads, feed-forward
width) with dropout 0.1. Each measurement runs in its own process, so that
the peak memory is that of one model: the growth of the process' peak
resident memory (CPU) or the allocator's peak (GPU) from just before the
model is built to the end of the last step. Throughput is the median over
`--repeats` timed blocks of `--steps` steps (`benchmarks.common.timed`),
after `--warmup` steps (the first of which traces, and compiles with XLA).

    python -m benchmarks.throughput                    # the CPU table in README.md
    python -m benchmarks.throughput --models bert --sizes tiny --lengths 128
    python -m benchmarks.throughput --smoke            # seconds: the code path only

Writes the results as JSON (`--json`) and prints a Markdown table with the
ratio tf_models / keras-hub of tokens per second and of peak memory.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The MLM-only model leaves the pooler unused, in both libraries alike.
warnings.filterwarnings("ignore", message="Gradients do not exist")

from benchmarks.common import timed, write_results  # noqa: E402

LIBRARIES = ("tf_models", "keras_hub")
MODELS = ("bert", "transformer")
SIZES = ("tiny", "mini", "small")
MASKED_FRACTION = 0.15


def bert_sizes(name, vocabulary_size):
    """The architecture fields of a tf_models BERT preset."""
    from tf_models.models import BertConfig

    config = BertConfig.preset(name, vocabulary_size=vocabulary_size)
    return {
        "vocabulary_size": config.vocabulary_size,
        "num_layers": config.num_layers,
        "num_heads": config.num_heads,
        "hidden_dim": config.hidden_dim,
        "intermediate_dim": config.intermediate_dim,
        "dropout": config.dropout,
    }


# --- The models, as each library builds them -------------------------------


def build_bert_mlm(library, sizes, sequence_length, next_sentence=False):
    """BERT backbone + masked-LM head; inputs a dict, output `(B, M, V)` logits.

    With `next_sentence=True`, the whole pretraining model: the outputs are a
    dict of `mlm_logits` and `nsp_logits` (`(B, 2)`, from the pooled output).
    """
    import keras

    inputs = {
        "token_ids": keras.Input((None,), dtype="int32", name="token_ids"),
        "segment_ids": keras.Input((None,), dtype="int32", name="segment_ids"),
        "padding_mask": keras.Input((None,), dtype="int32", name="padding_mask"),
        "mask_positions": keras.Input((None,), dtype="int32", name="mask_positions"),
    }
    features = {k: inputs[k] for k in ("token_ids", "segment_ids", "padding_mask")}
    if library == "tf_models":
        from tf_models.models import BertBackbone, MaskedLMHead

        backbone = BertBackbone(**sizes, max_sequence_length=sequence_length)
        head = MaskedLMHead(backbone.token_embedding, activation="gelu_approximate")
    else:
        import keras_hub

        backbone = keras_hub.models.BertBackbone(**sizes, max_sequence_length=sequence_length)
        head = keras_hub.layers.MaskedLMHead(
            token_embedding=backbone.token_embedding,
            # tf_models' head uses the backbone's tanh-approximated GELU too.
            intermediate_activation=lambda x: keras.activations.gelu(x, approximate=True),
            layer_norm_epsilon=1e-12,
        )
    outputs = backbone(features)
    logits = keras.ops.cast(head(outputs["sequence_output"], inputs["mask_positions"]), "float32")
    if not next_sentence:
        return keras.Model(inputs, logits, name=f"{library}_bert_mlm")
    nsp_logits = keras.layers.Dense(2, dtype="float32", name="nsp_head")(outputs["pooled_output"])
    return keras.Model(
        inputs, {"mlm_logits": logits, "nsp_logits": nsp_logits}, name=f"{library}_bert_pretraining"
    )


def build_transformer(library, sizes):
    """Encoder-decoder Transformer; inputs a dict, output `(B, T, V)` logits."""
    import keras

    config = dict(sizes, activation="relu", layer_norm_epsilon=1e-6)
    if library == "tf_models":
        from tf_models.models import Transformer

        model = Transformer(**config)
        return keras.Model(model.input, model.output["logits"], name="tf_models_transformer")

    import keras_hub

    ops = keras.ops
    hidden_dim, dropout = config["hidden_dim"], config["dropout"]
    layer_options = {
        "intermediate_dim": config["intermediate_dim"],
        "num_heads": config["num_heads"],
        "dropout": dropout,
        "activation": "relu",
        "layer_norm_epsilon": 1e-6,
    }
    token_embedding = keras_hub.layers.ReversibleEmbedding(
        config["vocabulary_size"], hidden_dim, tie_weights=True, name="embedding"
    )
    position_encoding = keras_hub.layers.SinePositionEncoding()
    embedding_dropout = keras.layers.Dropout(dropout)

    def embed(token_ids):
        x = token_embedding(token_ids) * math.sqrt(hidden_dim)
        return embedding_dropout(x + position_encoding(x))

    source = keras.Input((None,), dtype="int32", name="encoder_token_ids")
    target = keras.Input((None,), dtype="int32", name="decoder_token_ids")
    source_mask, target_mask = ops.not_equal(source, 0), ops.not_equal(target, 0)
    x = embed(source)
    for _ in range(config["num_layers"]):
        x = keras_hub.layers.TransformerEncoder(**layer_options)(x, padding_mask=source_mask)
    y = embed(target)
    for _ in range(config["num_layers"]):
        y = keras_hub.layers.TransformerDecoder(**layer_options)(
            y, x, decoder_padding_mask=target_mask, encoder_padding_mask=source_mask
        )
    logits = ops.cast(token_embedding(y, reverse=True), "float32")
    return keras.Model(
        {"encoder_token_ids": source, "decoder_token_ids": target},
        logits,
        name="keras_hub_transformer",
    )


def random_batch(model_kind, vocabulary_size, batch_size, sequence_length, seed=0):
    """The same random, unpadded batch for both libraries: `(inputs, labels)`."""
    import numpy as np

    rng = np.random.default_rng(seed)

    def ids(*shape):
        # Ids from 1: 0 is padding for the Transformer.
        return rng.integers(1, vocabulary_size, size=shape, dtype=np.int32)

    shape = (batch_size, sequence_length)
    if model_kind == "bert_pretraining":
        inputs, mlm_labels = random_batch("bert", vocabulary_size, batch_size, sequence_length, seed)
        return inputs, {"mlm_logits": mlm_labels, "nsp_logits": rng.integers(0, 2, batch_size)}
    if model_kind == "transformer":
        return {"encoder_token_ids": ids(*shape), "decoder_token_ids": ids(*shape)}, ids(*shape)
    num_masked = max(1, round(MASKED_FRACTION * sequence_length))
    positions = np.stack([rng.permutation(sequence_length)[:num_masked] for _ in range(batch_size)])
    inputs = {
        "token_ids": ids(*shape),
        "segment_ids": np.zeros(shape, np.int32),
        "padding_mask": np.ones(shape, np.int32),
        "mask_positions": np.sort(positions).astype(np.int32),
    }
    return inputs, ids(batch_size, num_masked)


# --- One measurement (in its own process for the CPU table) -----------------


def _resident_mb(field):
    """`VmRSS` (now) or `VmHWM` (peak) of this process, in MiB (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_train_step(model, optimizer, jit_compile):
    """One optimizer step as a graph; returns the loss (summed over outputs)."""
    import keras
    import tensorflow as tf

    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function(jit_compile=jit_compile)
    def train_step(inputs, labels):
        with tf.GradientTape() as tape:
            outputs = model(inputs, training=True)
            if isinstance(outputs, dict):
                loss = tf.add_n([loss_fn(labels[k], outputs[k]) for k in sorted(outputs)])
            else:
                loss = loss_fn(labels, outputs)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        return loss

    return train_step


def measure(case, own_process=False):
    """Builds `case`'s model, trains it on one batch and times the steps.

    Args:
        case: a dict with `library`, `model`, `size` (a BERT preset name or a
            dict of architecture fields), `sequence_length`, `batch_size`,
            `jit_compile`, `vocabulary_size`, `warmup`, `steps`, `repeats`
            and optionally `dtype_policy`.
        own_process: whether this process measures nothing else, so that its
            peak resident memory is this model's (on CPU).

    Returns:
        `case` plus `parameters`, `step_seconds` (the median over the
        blocks, with `step_seconds_min` and `step_seconds_max`),
        `tokens_per_second`, `first_step_seconds` (trace + compile),
        `peak_memory_mb` (`None` on a CPU unless `own_process`) and `loss`.
    """
    import keras
    import keras_hub  # noqa: F401  (both libraries imported before the baseline)
    import tensorflow as tf

    import tf_models.models  # noqa: F401

    keras.backend.clear_session(free_memory=True)  # when several cases share a process
    keras.config.set_dtype_policy(case.get("dtype_policy", "float32"))
    keras.utils.set_random_seed(0)
    on_gpu = bool(tf.config.list_physical_devices("GPU"))
    if on_gpu:
        tf.config.experimental.reset_memory_stats("GPU:0")
        memory_before = tf.config.experimental.get_memory_info("GPU:0")["current"] / 2**20
    else:
        memory_before = _resident_mb("VmRSS")

    size = case["size"]
    sizes = bert_sizes(size, case["vocabulary_size"]) if isinstance(size, str) else dict(size)
    length, batch_size = case["sequence_length"], case["batch_size"]
    if case["model"] in ("bert", "bert_pretraining"):
        model = build_bert_mlm(case["library"], sizes, length, case["model"] == "bert_pretraining")
    else:
        model = build_transformer(case["library"], sizes)
    inputs, labels = random_batch(case["model"], sizes["vocabulary_size"], batch_size, length)
    inputs = {k: tf.constant(v) for k, v in inputs.items()}
    labels = tf.nest.map_structure(tf.constant, labels)
    optimizer = keras.optimizers.Adam(1e-4)
    train_step = make_train_step(model, optimizer, case["jit_compile"])

    losses = []

    def steps(count):
        for _ in range(count):
            loss = train_step(inputs, labels)
        losses.append(float(loss))  # waits for the last step

    started = time.perf_counter()
    steps(1)  # the first step traces (and compiles with XLA): timed on its own
    first_step = time.perf_counter() - started
    for _ in range(case["warmup"] - 1):
        steps(1)
    timing = timed(lambda: steps(case["steps"]), case["repeats"], warmup=0).per(case["steps"])

    if on_gpu:
        peak_memory = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20 - memory_before
    elif own_process:
        peak_memory = _resident_mb("VmHWM") - memory_before
    else:
        peak_memory = None  # a process' peak resident memory never goes down
    return dict(
        case,
        parameters=int(model.count_params()),
        **timing.fields("step_seconds"),
        tokens_per_second=batch_size * length / timing.median,
        sequences_per_second=batch_size / timing.median,
        first_step_seconds=first_step,
        peak_memory_mb=peak_memory,
        loss=losses[-1],
        device="GPU" if on_gpu else "CPU",
    )


def measure_in_child(case, timeout=1800):
    """`measure(case)` in a fresh Python process (its own peak memory)."""
    command = [sys.executable, "-m", "benchmarks.throughput", "--child", json.dumps(case)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=root)
    if done.returncode:
        raise RuntimeError(f"{case} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- The comparison ----------------------------------------------------------


def comparison_cases(args):
    """Both libraries for every (model, size, length, XLA) row, tf_models first."""
    for model in args.models:
        for size in args.sizes:
            for length in args.lengths:
                for jit_compile in args.jit_compile:
                    for library in LIBRARIES:
                        yield {
                            "library": library,
                            "model": model,
                            "size": size,
                            "sequence_length": length,
                            "batch_size": max(1, args.tokens_per_step // length),
                            "jit_compile": jit_compile,
                            "vocabulary_size": args.vocabulary_size,
                            "dtype_policy": args.dtype_policy,
                            "warmup": args.warmup,
                            "steps": args.steps,
                            "repeats": args.repeats,
                        }


def pair_rows(results):
    """One row per configuration with both libraries' numbers and the ratios."""
    rows = {}
    for r in results:
        key = (r["model"], str(r["size"]), r["sequence_length"], r["batch_size"], r["jit_compile"])
        rows.setdefault(key, {})[r["library"]] = r
    paired = []
    for (model, size, length, batch, xla), pair in rows.items():
        ours, theirs = pair.get("tf_models"), pair.get("keras_hub")
        if not (ours and theirs):
            continue
        memory = ours["peak_memory_mb"], theirs["peak_memory_mb"]
        paired.append(
            {
                "model": model,
                "size": size,
                "sequence_length": length,
                "batch_size": batch,
                "jit_compile": xla,
                "parameters": ours["parameters"],
                "same_parameters": ours["parameters"] == theirs["parameters"],
                "tf_models_tokens_per_second": ours["tokens_per_second"],
                "keras_hub_tokens_per_second": theirs["tokens_per_second"],
                "speed_ratio": ours["tokens_per_second"] / theirs["tokens_per_second"],
                "tf_models_peak_memory_mb": ours["peak_memory_mb"],
                "keras_hub_peak_memory_mb": theirs["peak_memory_mb"],
                "memory_ratio": memory[0] / memory[1] if None not in memory else None,
            }
        )
    return paired


def format_or_na(value, form):
    """`value` formatted, or "n/a" when it was not measured."""
    return "n/a" if value is None else format(value, form)


def markdown_table(rows):
    """The table of benchmarks/README.md (`tools.results_blocks` writes it
    there from the results file): throughput and memory of both, with ratios."""
    lines = [
        "| model | size | length | batch | XLA | parameters | tf_models tokens/s | keras-hub tokens/s "
        "| speed ratio | tf_models MiB | keras-hub MiB | memory ratio |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['size']} | {r['sequence_length']} | {r['batch_size']} "
            f"| {'yes' if r['jit_compile'] else 'no'} | {r['parameters'] / 1e6:.1f}M "
            f"| {r['tf_models_tokens_per_second']:,.0f} | {r['keras_hub_tokens_per_second']:,.0f} "
            f"| **{r['speed_ratio']:.2f}x** | {format_or_na(r['tf_models_peak_memory_mb'], ',.0f')} "
            f"| {format_or_na(r['keras_hub_peak_memory_mb'], ',.0f')} | {format_or_na(r['memory_ratio'], '.2f')} |"
        )
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.throughput",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), help="BERT preset names")
    parser.add_argument("--lengths", nargs="+", type=int, default=[128, 512])
    parser.add_argument("--jit-compile", nargs="+", choices=["no", "yes"], default=["no", "yes"],
                        help="rows without and/or with XLA")
    parser.add_argument("--tokens-per-step", type=int, default=2048,
                        help="batch size = this / sequence length")
    parser.add_argument("--vocabulary-size", type=int, default=30522)
    parser.add_argument("--dtype-policy", default="float32")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3, help="steps per timed block")
    parser.add_argument("--repeats", type=int, default=3, help="timed blocks (the median is reported)")
    parser.add_argument("--smoke", action="store_true",
                        help="the `test` preset, length 16, one step: checks that everything runs")
    parser.add_argument("--json", help="write every measurement and the paired rows here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.jit_compile = [flag == "yes" for flag in args.jit_compile]
    if args.smoke:
        args.sizes, args.lengths, args.tokens_per_step = ["test"], [16], 32
        args.vocabulary_size, args.warmup, args.steps, args.repeats = 100, 1, 1, 1
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        print(json.dumps(measure(json.loads(args.child), own_process=True)))
        return
    results = []
    for case in comparison_cases(args):
        result = measure_in_child(case)
        results.append(result)
        print(
            f"{case['library']:>9} {case['model']:>11} {case['size']:>5} T={case['sequence_length']:<4} "
            f"xla={case['jit_compile']!s:<5} {result['tokens_per_second']:9,.0f} tokens/s "
            f"{result['peak_memory_mb']:7,.0f} MiB (first step {result['first_step_seconds']:.1f} s)",
            file=sys.stderr,
            flush=True,
        )
    rows = pair_rows(results)
    table = markdown_table(rows)
    print(table)
    if args.json:
        write_results(args.json, "throughput", args, rows, measurements=results)


if __name__ == "__main__":
    main()
