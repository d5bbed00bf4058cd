"""Time to quality: Multi30k en-de test2016 BLEU against minutes of training.

Every configuration is the `train-translation` command with 8,000 shared
WordPiece tokens, buckets 12/18/26, and beam 4 on the 1,000 test2016
sentences. Two ways to measure:

- a *run* is one command per number of epochs (a process of its own, so it
  has the machine to itself); its minutes are the job's own `[train] done
  in` time (without the data, tokenizer and evaluation stages);
- a *curve* is one long run that keeps the weights of every epoch end,
  scored at several epochs with the last weights and with the mean of the
  last five epochs' weights (checkpoint averaging, as `--average-last 5`
  does at the end of a run). Its minutes are the sum of Keras' per-epoch
  times up to that epoch, validation included. The Noam schedule does not
  depend on the run's length, so epoch E of a long run is a run of E epochs.

Configurations:

- `tiny, warmup 2000`: 2 layers, width 128; the README's command until 2026-12-03;
- `tiny, warmup 1000`: the Noam warm-up halved, so the rate peaks within
  the first three epochs of 454 steps instead of after four and a half;
- `small, warmup 1000`: 3 layers, width 256, for the longer budgets;
- `tiny, average 5`: `tiny, warmup 1000` with the job's checkpoint
  averaging (the mean of the last 5 epochs' weights, kept when its
  validation loss is lower): the README's command since 2026-12-04;
- `tiny, bfloat16` (a curve): `tiny, warmup 1000` under `mixed_bfloat16`,
  which this CPU (Intel AMX) multiplies natively.

    python -m benchmarks.time_to_bleu --data-dir ../shared/data/multi30k --epochs 4 10
    python -m benchmarks.time_to_bleu --configs "tiny, bfloat16" --epochs 5 10 15 20 25 30
    python -m benchmarks.time_to_bleu --collect     # table and plot from runs already in --output-dir
"""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

from benchmarks.common import read_rows, write_results

# name -> (kind, the command's own flags)
CONFIGS = {
    "tiny, warmup 2000": ("run", ["--preset", "tiny", "--warmup-steps", "2000", "--average-last", "1"]),
    "tiny, warmup 1000": ("run", ["--preset", "tiny", "--warmup-steps", "1000", "--average-last", "1"]),
    "small, warmup 1000": ("run", ["--preset", "small", "--warmup-steps", "1000", "--average-last", "1"]),
    "tiny, average 5": ("run", ["--preset", "tiny", "--warmup-steps", "1000", "--average-last", "5"]),
    "tiny, bfloat16": ("curve", ["--preset", "tiny", "--warmup-steps", "1000", "--average-last", "1",
                                 "--precision", "mixed_bfloat16"]),
}
# Names the configurations had in the JSON before 2026-12-04.
OLD_NAMES = {"warmup 2000": "tiny, warmup 2000", "warmup 1000": "tiny, warmup 1000"}
COMMON = ["--source", "multi30k", "--source-language", "en", "--target-language", "de",
          "--vocabulary-size", "8000", "--max-length", "40", "--bucket-boundaries", "12", "18", "26",
          "--verbose", "2"]
AVERAGED = 5  # epochs averaged in a curve's second row
EVERY_EPOCH = "every_epoch"  # a curve run's folder of epoch-end weights


def _folder(output_dir, name, epochs):
    return Path(output_dir) / f"{re.sub(r'[^a-z0-9]+', '_', name)}_{epochs}_epochs"


def _command(name, epochs, args):
    return [*COMMON, *CONFIGS[name][1], "--data-dir", args.data_dir, "--epochs", str(epochs)]


def run(name, epochs, args):
    """Trains and evaluates one configuration; its log goes beside its run folder."""
    folder = _folder(args.output_dir, name, epochs)
    if CONFIGS[name][0] == "curve":
        command = [sys.executable, "-m", "benchmarks.time_to_bleu", "--train-curve", name,
                   "--data-dir", args.data_dir, "--epochs", str(epochs), "--output-dir", args.output_dir]
    else:
        command = [sys.executable, "-m", "tf_models", "train-translation", *_command(name, epochs, args),
                   "--output-dir", str(folder)]
    with open(f"{folder}.log", "w") as log:
        subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=True)


def train_curve(name, epochs, args):
    """The child process of a curve: the translation job, keeping every epoch's weights."""
    from tf_models.cli import add_job_arguments, build_job
    from tf_models.jobs.configs import TranslationJob
    from tf_models.training.averaging import EpochSnapshots

    parser = argparse.ArgumentParser()
    add_job_arguments(parser, TranslationJob)
    folder = _folder(args.output_dir, name, epochs)
    flags = parser.parse_args([*_command(name, epochs, args), "--output-dir", str(folder)])
    job = build_job(TranslationJob, vars(flags))
    job.template(callbacks=[EpochSnapshots(folder / EVERY_EPOCH)]).run()


def collect(name, epochs, args):
    """The rows of a finished run or curve ([] if not done)."""
    folder = _folder(args.output_dir, name, epochs)
    log = Path(f"{folder}.log")
    if not (folder / "results.json").exists() or not log.exists():
        return []
    results = json.loads((folder / "results.json").read_text())
    copy = results["baselines"]["copy_source_bleu"]
    if CONFIGS[name][0] == "run":
        seconds = int(re.search(r"\[train\] done in (\d+)s", log.read_text()).group(1))
        averaging = results.get("checkpoint_averaging") or {}
        averaged = len(averaging["epochs"]) if averaging.get("kept_average") else 1
        return [{"config": name, "epochs": epochs, "averaged": averaged, "train_minutes": seconds / 60,
                 "bleu": results["bleu"], "copy_source_bleu": copy}]
    return json.loads((folder / "curve.json").read_text()) if (folder / "curve.json").exists() else []


def epoch_seconds(log_text):
    """The seconds of each epoch, from Keras' one line per epoch (`--verbose 2`)."""
    return [int(s) for s in re.findall(r"^\d+/\d+ - (\d+)s - ", log_text, re.M)]


def score_curve(name, epochs, points, args):
    """Scores a curve's epochs `points` with the last weights and with the
    mean of the last `AVERAGED` epochs'; writes `curve.json` in its folder."""
    from tf_models.jobs.configs import load_job
    from tf_models.jobs.translation import evaluate_translation, translation_splits
    from tf_models.training.averaging import average_weights, snapshot_path

    folder = _folder(args.output_dir, name, epochs)
    seconds = epoch_seconds(Path(f"{folder}.log").read_text())
    job = load_job(folder)
    model, tokenizer = job.template().trained_model(), job.template().tokenizer()
    _, _, test, _ = translation_splits(job)
    copy = json.loads((folder / "results.json").read_text())["baselines"]["copy_source_bleu"]
    rows = []
    for epoch in points:
        for averaged in (1, AVERAGED):
            if epoch < averaged:
                continue
            average_weights(model, [snapshot_path(folder / EVERY_EPOCH, e) for e in range(epoch - averaged + 1, epoch + 1)])
            bleu = evaluate_translation(model, tokenizer, test, job.max_length, job.decoding, samples=0)["bleu"]
            rows.append({"config": name, "epochs": epoch, "averaged": averaged,
                         "train_minutes": sum(seconds[:epoch]) / 60, "bleu": bleu, "copy_source_bleu": copy})
    (folder / "curve.json").write_text(json.dumps(rows, indent=2) + "\n")
    return rows


def _label(row):
    curve = CONFIGS[row["config"]][0] == "curve"
    return row["config"] + (f", mean of last {row['averaged']}" if curve and row["averaged"] > 1 else "")


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for label in dict.fromkeys(_label(r) for r in rows):
        points = sorted((r["train_minutes"], r["bleu"]) for r in rows if _label(r) == label)
        axes.plot(*zip(*points), marker="o", label=label)
    axes.axhline(max(r["copy_source_bleu"] for r in rows), color="grey", linestyle=":", label="copy the source")
    for goal in (30, 36):
        axes.axhline(goal, color="black", linewidth=0.5)
    axes.set_xlabel("training minutes (2-core CPU)")
    axes.set_ylabel("test2016 BLEU (beam 4)")
    axes.set_title("Multi30k en-de, small Transformers")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def _previous_rows(path):
    """Rows already in the JSON: the runs live in an ignored folder, so a
    new checkout keeps only these."""
    if not Path(path).exists():
        return []
    rows = []
    for row in read_rows(path):
        row = {**row, "config": OLD_NAMES.get(row["config"], row["config"])}
        row.setdefault("averaged", 1)
        if row["config"] in CONFIGS:
            rows.append(row)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/data/multi30k")
    parser.add_argument("--epochs", type=int, nargs="+", default=[4, 10],
                        help="a run per number for runs; a curve trains to the largest and scores each")
    parser.add_argument("--configs", nargs="+", default=[n for n, (kind, _) in CONFIGS.items() if kind == "run"],
                        choices=list(CONFIGS))
    parser.add_argument("--output-dir", default="runs/time_to_bleu")
    parser.add_argument("--collect", action="store_true", help="only gather the runs already done")
    parser.add_argument("--train-curve", choices=list(CONFIGS), help=argparse.SUPPRESS)
    parser.add_argument("--json", default="benchmarks/results/time_to_bleu_cpu.json")
    parser.add_argument("--plot", default="benchmarks/time_to_bleu.png")
    args = parser.parse_args(argv)
    if args.train_curve:
        return train_curve(args.train_curve, args.epochs[0], args)
    Path(args.output_dir).mkdir(parents=True, exist_ok=True)
    # A run's rows are keyed without `averaged`: its job decides whether to average.
    def key(row):
        return row["config"], row["epochs"], row["averaged"] if CONFIGS[row["config"]][0] == "curve" else 1

    rows = {key(r): r for r in _previous_rows(args.json)}
    for name in args.configs:
        kind = CONFIGS[name][0]
        for epochs in args.epochs if kind == "run" else [max(args.epochs)]:
            folder = _folder(args.output_dir, name, epochs)
            if not args.collect and not (folder / "results.json").exists():
                run(name, epochs, args)
            if kind == "curve" and (folder / "results.json").exists() and not (folder / "curve.json").exists():
                score_curve(name, epochs, sorted(args.epochs), args)
            for row in collect(name, epochs, args):
                rows[key(row)] = row
    rows = sorted(rows.values(), key=lambda r: (list(CONFIGS).index(r["config"]), r["averaged"], r["epochs"]))
    print("| configuration | epochs | weights | training minutes | test2016 BLEU | copy-the-source BLEU |")
    print("|---|---:|---|---:|---:|---:|")
    for r in rows:
        weights = f"mean of last {r['averaged']}" if r["averaged"] > 1 else "last"
        print(f"| {r['config']} | {r['epochs']} | {weights} | {r['train_minutes']:.1f} | {r['bleu']:.1f} "
              f"| {r['copy_source_bleu']:.1f} |")
    write_results(args.json, "time_to_bleu", args, rows)
    plot(rows, args.plot)
    return rows


if __name__ == "__main__":
    main()
