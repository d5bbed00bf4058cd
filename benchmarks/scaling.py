"""How a BERT training step scales with sequence length and with batch size.

Trains tf_models' BERT backbone + masked-LM head (as in
`benchmarks.throughput`) on random batches, each measurement in its own
process: sequence length doubling from 64 to 1024 at a fixed batch, then
batch size doubling at a fixed length. Prints two tables (time per step,
time per token, the local log-log slope, peak memory, and the share of the
step's multiply-adds spent in attention's `T x T` products) and saves a
log-log plot.

    python -m benchmarks.scaling                      # the plot in README.md
    python -m benchmarks.scaling --size mini --batch 8 --plot scaling.png

The slope of time against length tends from 1 (the dense layers' cost is
per token) towards 2 (attention scores one pair of tokens at a time) as the
attention share grows: per layer, the projections and the feed-forward
network cost 24 x T x H^2 multiply-adds (with a 4H feed-forward width),
`Q K^T` and the weighted sum of values 4 x T^2 x H, so attention's share
passes one half near T = 6 x H.
"""

import argparse
import json
import math
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks import throughput  # noqa: E402
from benchmarks.common import write_results  # noqa: E402


def attention_share(sizes, length):
    """The fraction of a layer's multiply-adds in the `T x T` attention products."""
    hidden, intermediate = sizes["hidden_dim"], sizes["intermediate_dim"]
    dense = length * (4 * hidden * hidden + 2 * hidden * intermediate)
    attention = 2 * length * length * hidden
    return attention / (dense + attention)


def sweep(args, lengths, batches):
    """One measurement per (length, batch) pair, each in its own process."""
    sizes = throughput.bert_sizes(args.size, args.vocabulary_size)
    results = []
    for length, batch in zip(lengths, batches):
        case = {
            "library": "tf_models",
            "model": "bert",
            "size": args.size,
            "sequence_length": length,
            "batch_size": batch,
            "jit_compile": args.jit_compile,
            "vocabulary_size": args.vocabulary_size,
            "warmup": args.warmup,
            "steps": args.steps,
            "repeats": args.repeats,
        }
        result = throughput.measure_in_child(case)
        result["attention_share"] = attention_share(sizes, length)
        results.append(result)
        print(f"T={length:<5} B={batch:<3} {result['step_seconds'] * 1000:8.0f} ms "
              f"{result['peak_memory_mb']:7,.0f} MiB", file=sys.stderr, flush=True)
    return results


def slopes(results, key):
    """Local log-log slope of step time against `key`, between neighbours."""
    out = [None]
    for a, b in zip(results, results[1:]):
        out.append(math.log(b["step_seconds"] / a["step_seconds"]) / math.log(b[key] / a[key]))
    return out


def quadratic_fit(results):
    """Least-squares `seconds = a + b T + c T^2` over a length sweep: `(a, b, c)`."""
    import numpy as np

    lengths = np.array([r["sequence_length"] for r in results], dtype=float)
    seconds = np.array([r["step_seconds"] for r in results])
    design = np.stack([np.ones_like(lengths), lengths, lengths**2], axis=1)
    return tuple(np.linalg.lstsq(design, seconds, rcond=None)[0])


def markdown_table(results, key):
    label = {"sequence_length": "length", "batch_size": "batch"}[key]
    lines = [
        f"| {label} | batch x length | ms/step | µs/token | slope | peak MiB | attention share of multiply-adds |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r, slope in zip(results, slopes(results, key)):
        tokens = r["batch_size"] * r["sequence_length"]
        lines.append(
            f"| {r[key]} | {r['batch_size']} x {r['sequence_length']} | {r['step_seconds'] * 1000:,.0f} "
            f"| {r['step_seconds'] / tokens * 1e6:,.1f} | {'' if slope is None else f'{slope:.2f}'} "
            f"| {r['peak_memory_mb']:,.0f} | {r['attention_share']:.0%} |"
        )
    return "\n".join(lines)


def save(path, args, by_length, by_batch):
    """Writes both sweeps as the rows of one results file, each row naming its sweep."""
    rows = [dict(r, sweep="length") for r in by_length] + [dict(r, sweep="batch") for r in by_batch]
    write_results(path, "scaling", args, rows)


def load(path):
    """`(by_length, by_batch)` from a file `save` wrote, or from one written
    before `benchmarks.common` (two lists, `by_length` and `by_batch`)."""
    with open(path) as f:
        saved = json.load(f)
    if "rows" not in saved:
        return saved["by_length"], saved["by_batch"]
    return tuple([r for r in saved["rows"] if r["sweep"] == sweep] for sweep in ("length", "batch"))


def plot(by_length, by_batch, path, title):
    """Log-log time and memory against length and batch, saved as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, results, key, label in (
        (axes[0], by_length, "sequence_length", "sequence length (tokens)"),
        (axes[1], by_batch, "batch_size", "batch size (sequences)"),
    ):
        x = [r[key] for r in results]
        seconds = [r["step_seconds"] for r in results]
        memory = [r["peak_memory_mb"] / 1024 for r in results]
        ax.loglog(x, seconds, "o-", base=2, label="time per step (s)")
        ax.loglog(x, memory, "s-", base=2, label="peak memory (GiB)")
        # Reference slopes through the largest point, where fixed costs matter least.
        for power, style in ((1, ":"), (2, "--")):
            ax.loglog(x, [seconds[-1] * (v / x[-1]) ** power for v in x], "k" + style, base=2,
                      label=f"slope {power}")
        ax.set_xlabel(label)
        ax.set_ylabel("seconds / GiB")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_title(f"batch {by_length[0]['batch_size']}")
    axes[1].set_title(f"length {by_batch[0]['sequence_length']}")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scaling",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--size", default="tiny", help="BERT preset")
    parser.add_argument("--lengths", nargs="+", type=int, default=[64, 128, 256, 512, 1024])
    parser.add_argument("--batch", type=int, default=4, help="batch size of the length sweep")
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 2, 4, 8, 16, 32])
    parser.add_argument("--length", type=int, default=128, help="sequence length of the batch sweep")
    parser.add_argument("--jit-compile", action="store_true")
    parser.add_argument("--vocabulary-size", type=int, default=30522)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--plot", default="benchmarks/scaling.png")
    parser.add_argument("--json", help="write the measurements here")
    parser.add_argument("--replot", action="store_true",
                        help="measure nothing: print and plot the measurements in --json")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.replot:
        by_length, by_batch = load(args.json)
    else:
        by_length = sweep(args, args.lengths, [args.batch] * len(args.lengths))
        by_batch = sweep(args, [args.length] * len(args.batches), args.batches)
    print(markdown_table(by_length, "sequence_length"))
    a, b, c = quadratic_fit(by_length)
    print(f"\nFit over the length sweep: seconds = {a:.3g} + {b:.3g} T + {c:.3g} T^2; the T^2 term is "
          + ", ".join(f"{c * r['sequence_length'] ** 2 / r['step_seconds']:.0%} at {r['sequence_length']}"
                      for r in by_length))
    print()
    print(markdown_table(by_batch, "batch_size"))
    title = f"tf_models BERT-{args.size} + masked-LM head, one training step" + (" (XLA)" if args.jit_compile else "")
    plot(by_length, by_batch, args.plot, title)
    if args.json and not args.replot:
        save(args.json, args, by_length, by_batch)


if __name__ == "__main__":
    main()
