"""Time to quality: Multi30k en-de test2016 BLEU against minutes of training.

Each run is the `train-translation` command (a separate process, so each
has the machine to itself), `tiny` preset, 8,000 shared WordPiece tokens,
buckets 12/18/26, beam 4 on the 1,000 test2016 sentences, at a number of
epochs; training minutes are the job's own `[train] done in` time (without
the data, tokenizer and evaluation stages). Configurations:

- `warmup 2000`: the README's command until 2026-12-03;
- `warmup 1000`: the same with the Noam schedule's warm-up halved, so the
  rate peaks within the first three epochs of 454 steps instead of after
  four and a half.

    python -m benchmarks.time_to_bleu --data-dir ../shared/data/multi30k --epochs 4 10
    python -m benchmarks.time_to_bleu --collect     # table and plot from runs already in --output-dir

Writes `--json` and `--plot` (BLEU vs minutes, one line per configuration).
"""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

CONFIGS = {
    "warmup 2000": ["--warmup-steps", "2000"],
    "warmup 1000": ["--warmup-steps", "1000"],
}
COMMON = ["--source", "multi30k", "--source-language", "en", "--target-language", "de", "--preset", "tiny",
          "--vocabulary-size", "8000", "--max-length", "40", "--bucket-boundaries", "12", "18", "26",
          "--verbose", "2"]


def _folder(output_dir, name, epochs):
    return Path(output_dir) / f"{name.replace(' ', '_')}_{epochs}_epochs"


def run(name, epochs, args):
    """Trains and evaluates one configuration; its log goes beside its run folder."""
    folder = _folder(args.output_dir, name, epochs)
    command = [sys.executable, "-m", "tf_models", "train-translation", *COMMON, *CONFIGS[name],
               "--data-dir", args.data_dir, "--epochs", str(epochs), "--output-dir", str(folder)]
    with open(f"{folder}.log", "w") as log:
        subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=True)


def collect(name, epochs, args):
    """The row of a finished run, or None."""
    folder = _folder(args.output_dir, name, epochs)
    log = Path(f"{folder}.log")
    if not (folder / "results.json").exists() or not log.exists():
        return None
    seconds = re.search(r"\[train\] done in (\d+)s", log.read_text())
    results = json.loads((folder / "results.json").read_text())
    return {"config": name, "epochs": epochs, "train_minutes": int(seconds.group(1)) / 60,
            "bleu": results["bleu"], "copy_source_bleu": results["baselines"]["copy_source_bleu"]}


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for name in CONFIGS:
        points = sorted((r["train_minutes"], r["bleu"]) for r in rows if r["config"] == name)
        if points:
            axes.plot(*zip(*points), marker="o", label=name)
    copy = [r["copy_source_bleu"] for r in rows]
    if copy:
        axes.axhline(max(copy), color="grey", linestyle=":", label="copy the source")
    axes.axhline(30, color="black", linewidth=0.5)
    axes.set_xlabel("training minutes (2-core CPU)")
    axes.set_ylabel("test2016 BLEU (beam 4)")
    axes.set_title("Multi30k en-de, tiny Transformer")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/data/multi30k")
    parser.add_argument("--epochs", type=int, nargs="+", default=[4, 10])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--output-dir", default="runs/time_to_bleu")
    parser.add_argument("--collect", action="store_true", help="only gather the runs already done")
    parser.add_argument("--json", default="benchmarks/results/time_to_bleu_cpu.json")
    parser.add_argument("--plot", default="benchmarks/time_to_bleu.png")
    args = parser.parse_args(argv)
    Path(args.output_dir).mkdir(parents=True, exist_ok=True)
    if not args.collect:
        for epochs in args.epochs:
            for name in args.configs:
                if collect(name, epochs, args) is None:
                    run(name, epochs, args)
    rows = [row for epochs in args.epochs for name in args.configs
            if (row := collect(name, epochs, args)) is not None]
    print("| configuration | epochs | training minutes | test2016 BLEU | copy-the-source BLEU |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['config']} | {r['epochs']} | {r['train_minutes']:.1f} | {r['bleu']:.1f} "
              f"| {r['copy_source_bleu']:.1f} |")
    Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    plot(rows, args.plot)
    return rows


if __name__ == "__main__":
    main()
