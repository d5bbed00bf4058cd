"""The main job's BERT numbers over seeds: what a user on another machine should see.

Runs the BERT part of `python -m tf_models demo` (pretraining on Debian's
package descriptions, then fine-tuning from pretrained and from random
weights on `DEMO_LABELS` labelled descriptions) once per seed, each in a
fresh process, with exactly the main job's settings (`tf_models.demo.demo_jobs`),
and reports every number as its mean and range over the seeds, with which
start the main job would export.

    python -m benchmarks.demo_bert --json benchmarks/results/demo_bert_cpu.json   # 3 seeds, about 30 minutes

A seed changes the pretraining's data order, initialisation and masks, the
labelled sample and the fine-tuning, and which 500 descriptions are held out
for the masked-LM score (so the vocabulary, learned from the rest, differs a
little too).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks.common import write_results  # noqa: E402

# What the summary reports for each seed, by name.
NUMBERS = ("mlm_accuracy", "baseline_most_frequent_token_accuracy", "pretrained_accuracy", "random_accuracy",
           "baseline_majority_class_accuracy", "baseline_tfidf_logistic_regression_accuracy",
           "pretrained_validation_accuracy", "random_validation_accuracy", "minutes")


def bert_part(root, seed):
    """The main job's pretraining and both fine-tunings for `seed`: the
    classification and pretraining sections of its summary, and the minutes."""
    from tf_models.demo import demo_jobs, demo_summary

    started = time.time()
    _, pretraining_job, finetuning_jobs = demo_jobs(root, seed=seed)
    pretraining = pretraining_job.run()
    finetuning = {start: job.run() for start, job in finetuning_jobs.items()}
    translation = {"bleu": 0.0, "baselines": {"copy_source_bleu": 0.0}}  # not run here
    summary = demo_summary(translation, pretraining, finetuning)
    return {"seed": seed, **summary["pretraining"], **summary["classification"],
            "minutes": (time.time() - started) / 60}


def summarize(runs):
    """Mean, min and max over the runs of every number, and the exported starts."""
    table = {}
    for name in NUMBERS:
        values = [run[name] for run in runs]
        table[name] = {"mean": sum(values) / len(values), "min": min(values), "max": max(values), "values": values}
    table["exported"] = [run["exported"] for run in runs]
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--output-dir", default=None, help="where the runs go (default: a temporary folder)")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    root = Path(args.output_dir or tempfile.mkdtemp(prefix="demo_bert_"))
    if args.child is not None:
        print(json.dumps(bert_part(root / f"seed_{args.child}", args.child)))
        return None
    runs = []
    for seed in args.seeds:
        command = [sys.executable, "-m", "benchmarks.demo_bert", "--child", str(seed), "--output-dir", str(root)]
        done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
        if done.returncode:
            raise RuntimeError(f"seed {seed} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"seed {seed}: " + ", ".join(f"{name} {runs[-1][name]:.3f}" for name in NUMBERS)
              + f", exported {runs[-1]['exported']}", file=sys.stderr, flush=True)
        table = summarize(runs)
        if args.json:
            write_results(args.json, "demo_bert", args, runs, summary=table)
    print("| number | mean | range |\n|---|---:|---|")
    for name in NUMBERS:
        row = table[name]
        print(f"| {name} | {row['mean']:.3f} | {row['min']:.3f} to {row['max']:.3f} |")
    print(f"exported: {', '.join(table['exported'])}")
    return table


if __name__ == "__main__":
    main()
