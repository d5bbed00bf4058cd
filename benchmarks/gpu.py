"""The GPU benchmark: BERT-Base/Large pretraining MFU, then tf_models vs keras-hub.

One command, under 5 minutes on one NVIDIA H200:

    python -m benchmarks.gpu --json gpu.json        # on the GPU machine
    python -m benchmarks.gpu --smoke                # on any CPU: the code path, in seconds

1. Pretraining steps of BERT-Base and BERT-Large (masked LM + next
   sentence, sequences of 128 tokens, 19 masked per sequence) under the
   `mixed_bfloat16` policy with XLA (`jit_compile=True`), for tf_models and
   for the same model built from keras-hub. Reports sequences per second and
   model FLOPs utilisation, MFU = 6 x parameters x tokens per step / step
   time / peak, with the peak stated (`--peak-tflops`, default the H200's
   989 dense BF16 TFLOPS). 6 x parameters counts a multiply-add forward and
   two backward per weight and token; it leaves out attention's own
   `T x T` products (about 6% of the work at length 128 for BERT-Large)
   and counts the embedding tables as if every token used all of them, so
   the second MFU column drops the embeddings.
2. The CPU table's comparison (`benchmarks.throughput`) on the GPU: BERT
   and the Transformer at tiny/mini/small sizes, lengths 128 and 512,
   float32, with and without XLA, batches of `--tokens-per-step` tokens.

Measurements share one process (GPU memory is the allocator's peak above
what was in use when the model was built). Each is written to `--json` as
soon as it is done, and no new measurement starts after `--budget-seconds`,
so a slow machine still leaves a partial result.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks import throughput  # noqa: E402
from benchmarks.common import write_results  # noqa: E402

H200_DENSE_BF16_TFLOPS = 989.0


def pretraining_cases(args):
    """BERT-Base/Large (by default) pretraining steps under bf16 + XLA, both libraries."""
    for size in args.pretraining_sizes:
        for library in throughput.LIBRARIES:
            yield {
                "part": "pretraining",
                "library": library,
                "model": "bert_pretraining",
                "size": size,
                "sequence_length": args.pretraining_length,
                "batch_size": args.pretraining_batch,
                "jit_compile": True,
                "vocabulary_size": args.vocabulary_size,
                "dtype_policy": "mixed_bfloat16",
                "warmup": args.warmup,
                "steps": args.steps,
                "repeats": args.repeats,
            }


def comparison_cases(args):
    """The CPU table's rows (`benchmarks.throughput`) with the GPU's batch size."""
    options = argparse.Namespace(
        models=args.models,
        sizes=args.sizes,
        lengths=args.lengths,
        jit_compile=[False, True],
        tokens_per_step=args.tokens_per_step,
        vocabulary_size=args.vocabulary_size,
        dtype_policy="float32",
        warmup=args.warmup,
        steps=args.steps,
        repeats=args.repeats,
    )
    for case in throughput.comparison_cases(options):
        yield dict(case, part="comparison")


def with_utilisation(result, peak_tflops):
    """Adds `mfu` (all parameters) and `mfu_without_embeddings`."""
    sizes = throughput.bert_sizes(result["size"], result["vocabulary_size"])
    embedding = (sizes["vocabulary_size"] + result["sequence_length"] + 2) * sizes["hidden_dim"]
    tokens_per_second = result["tokens_per_second"]
    peak = peak_tflops * 1e12
    return dict(
        result,
        peak_tflops=peak_tflops,
        mfu=6 * result["parameters"] * tokens_per_second / peak,
        mfu_without_embeddings=6 * (result["parameters"] - embedding) * tokens_per_second / peak,
    )


def pretraining_table(results):
    """Markdown: sequences/s, tokens/s, both MFUs and memory per pretraining run."""
    lines = [
        "| model | library | batch x length | sequences/s | tokens/s | MFU | MFU without embeddings "
        "| peak memory (MiB) | first step (s) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| BERT-{r['size'].capitalize()} | {r['library']} | {r['batch_size']} x {r['sequence_length']} "
            f"| {r['sequences_per_second']:,.0f} | {r['tokens_per_second']:,.0f} | {r['mfu']:.1%} "
            f"| {r['mfu_without_embeddings']:.1%} | {throughput.format_or_na(r['peak_memory_mb'], ',.0f')} "
            f"| {r['first_step_seconds']:.0f} |"
        )
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.gpu",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--pretraining-sizes", nargs="+", default=["base", "large"])
    parser.add_argument("--pretraining-batch", type=int, default=256)
    parser.add_argument("--pretraining-length", type=int, default=128)
    parser.add_argument("--models", nargs="+", choices=throughput.MODELS, default=list(throughput.MODELS))
    parser.add_argument("--sizes", nargs="+", default=list(throughput.SIZES))
    parser.add_argument("--lengths", nargs="+", type=int, default=[128, 512])
    parser.add_argument("--tokens-per-step", type=int, default=32768)
    parser.add_argument("--vocabulary-size", type=int, default=30522)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10, help="steps per timed block")
    parser.add_argument("--repeats", type=int, default=3, help="timed blocks (the median is reported)")
    parser.add_argument("--peak-tflops", type=float, default=H200_DENSE_BF16_TFLOPS,
                        help="the accelerator's peak for the MFU (H200: 989 dense BF16)")
    parser.add_argument("--budget-seconds", type=float, default=270,
                        help="start no new measurement after this many seconds")
    parser.add_argument("--smoke", action="store_true",
                        help="the `test` preset, tiny batches, one step each: runs on a CPU in seconds")
    parser.add_argument("--json", help="write the results here (updated after every measurement)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.pretraining_sizes, args.pretraining_batch, args.pretraining_length = ["test"], 2, 16
        args.models, args.sizes, args.lengths, args.tokens_per_step = ["bert"], ["test"], [16], 32
        args.vocabulary_size, args.warmup, args.steps, args.repeats = 100, 1, 1, 1
    return args


def main(argv=None):
    args = parse_args(argv)
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)
    started = time.perf_counter()
    # The rows pair the comparison's measurements; the rest are sections of their own.
    report = {
        "devices": [d.name for d in tf.config.list_physical_devices()],
        "gpu": [tf.config.experimental.get_device_details(g).get("device_name", "")
                for g in tf.config.list_physical_devices("GPU")],
        "pretraining": [],
        "comparison": [],
        "skipped": [],
    }

    def save():
        """Writes what is measured so far (so a slow machine still leaves a result); returns the rows."""
        rows = throughput.pair_rows(report["comparison"])
        if args.json:
            write_results(args.json, "gpu", args, rows, **report)
        return rows

    for case in [*pretraining_cases(args), *comparison_cases(args)]:
        if time.perf_counter() - started > args.budget_seconds:
            report["skipped"].append(case)
            continue
        result = throughput.measure(case)
        if case["part"] == "pretraining":
            result = with_utilisation(result, args.peak_tflops)
        report[case["part"]].append(result)
        print(f"[{time.perf_counter() - started:5.0f} s] {case['part']} {case['library']} {case['model']} "
              f"{case['size']} T={case['sequence_length']} xla={case['jit_compile']}: "
              f"{result['tokens_per_second']:,.0f} tokens/s", file=sys.stderr, flush=True)
        save()

    rows = save()
    print(pretraining_table(report["pretraining"]))
    print()
    print(throughput.markdown_table(rows))
    if report["skipped"]:
        print(f"\n{len(report['skipped'])} measurements skipped: over --budget-seconds")
    print(f"\n{time.perf_counter() - started:.0f} s in all on {report['gpu'] or report['devices']}")
    return dict(report, rows=rows)


if __name__ == "__main__":
    main()
