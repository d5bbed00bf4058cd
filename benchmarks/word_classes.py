"""Where a small pretraining pays: word classes of words the labels never showed.

For each seed, in a fresh process: the main job's pretraining
(`tf_models.demo.demo_jobs`: masked LM on Debian's package descriptions,
exactly its settings), then `finetune-bert --task tagger --source
debian_word_classes` from the pretrained weights and from random weights of
the same shape, tokenizer and head, at each label budget (labelled
sentences). The seed changes the pretraining (data order, initialisation,
masks, held-out descriptions), the labelled sample and the fine-tuning.

Scored on the test split's sentences (source packages the pretraining never
read): word accuracy, and accuracy on the words that no labelled sentence
contains, beside the majority tag and a character n-gram logistic
regression trained on the same sentences. Every number is a mean and a range
over the seeds.

    python -m benchmarks.word_classes --json benchmarks/results/word_classes_cpu.json   # 3 seeds, about 30 minutes
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

STARTS = ("pretrained", "random")
SCORES = ("accuracy", "unseen_word_accuracy")
# The fine-tunings' scores, and the baselines trained on the same sentences.
BASELINES = ("majority_tag", "character_logistic_regression")


def fine_tuning_job(root, start, budget, seed, steps=300):
    """The word-class tagger of one start, label budget and seed."""
    from tf_models.jobs.configs import FinetuningJob

    return FinetuningJob(
        output_dir=str(root / f"tagger_{start}_{budget}"), task="tagger", source="debian_word_classes",
        init=str(root / "pretraining"), random_weights=start == "random", max_train_examples=budget,
        max_sequence_length=64, batch_size=16, epochs=3, min_steps=steps, peak_learning_rate=1e-3, seed=seed,
        verbose=0, backup_every=10**9,
    )


def one_seed(root, seed, budgets, pretraining_steps=None, fine_tuning_steps=300):
    """The main job's pretraining for `seed`, then every tagger: a list of rows."""
    import dataclasses

    from tf_models.demo import demo_jobs

    started = time.time()
    _, pretraining_job, _ = demo_jobs(root, seed=seed)
    if pretraining_steps:
        pretraining_job = dataclasses.replace(pretraining_job, steps=pretraining_steps)
    pretraining = pretraining_job.run()
    pretraining_minutes = (time.time() - started) / 60
    rows = []
    for budget in budgets:
        for start in STARTS:
            began = time.time()
            results = fine_tuning_job(root, start, budget, seed, fine_tuning_steps).run()
            rows.append({"seed": seed, "labels": budget, "start": start, "accuracy": results["accuracy"],
                         "unseen_word_accuracy": results["unseen_word_accuracy"],
                         "unseen_words": results["unseen_words"], "scored_words": results["scored_words"],
                         "baselines": results["baselines"], "mlm_accuracy": pretraining["mlm_logits_accuracy"],
                         "pretraining_minutes": pretraining_minutes, "minutes": (time.time() - began) / 60})
    return rows


def summarize(rows, budgets):
    """`{budget: {name: {mean, min, max, values}}}` for both starts and the baselines."""
    def stats(values):
        return {"mean": sum(values) / len(values), "min": min(values), "max": max(values), "values": values}

    table = {}
    for budget in budgets:
        at = [row for row in rows if row["labels"] == budget]
        entry = {}
        for start in STARTS:
            for score in SCORES:
                entry[f"{start}_{score}"] = stats([row[score] for row in at if row["start"] == start])
        firsts = [row for row in at if row["start"] == STARTS[0]]  # the baselines do not depend on the start
        for name in BASELINES:
            for score in ("accuracy", "unseen_word_accuracy"):
                entry[f"{name}_{score}"] = stats([row["baselines"][f"{name}_{score}"] for row in firsts])
        table[str(budget)] = entry
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budgets", type=int, nargs="+", default=[100, 500], help="labelled sentences")
    parser.add_argument("--pretraining-steps", type=int, default=None, help="default: the main job's")
    parser.add_argument("--fine-tuning-steps", type=int, default=300)
    parser.add_argument("--output-dir", default=None, help="where the runs go (default: a temporary folder)")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    root = Path(args.output_dir or tempfile.mkdtemp(prefix="word_classes_"))
    if args.child is not None:
        rows = one_seed(root / f"seed_{args.child}", args.child, args.budgets, args.pretraining_steps,
                        args.fine_tuning_steps)
        print(json.dumps(rows))
        return None
    started, rows = time.time(), []
    for seed in args.seeds:
        command = [sys.executable, "-m", "benchmarks.word_classes", "--child", str(seed), "--output-dir", str(root),
                   "--budgets", *map(str, args.budgets), "--fine-tuning-steps", str(args.fine_tuning_steps)]
        if args.pretraining_steps:
            command += ["--pretraining-steps", str(args.pretraining_steps)]
        done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
        if done.returncode:
            raise RuntimeError(f"seed {seed} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        rows += json.loads(done.stdout.strip().splitlines()[-1])
        for row in rows[-2 * len(args.budgets):]:
            print(f"seed {seed}, {row['labels']} labels, {row['start']}: accuracy {row['accuracy']:.3f}, "
                  f"unseen words {row['unseen_word_accuracy']:.3f}", file=sys.stderr, flush=True)
        table = summarize(rows, args.budgets)
        if args.json:
            write_results(args.json, "word_classes", args, rows, summary=table,
                          minutes=(time.time() - started) / 60)
    print("| labels | words | pretrained | random | majority tag | characters + LR |\n|---:|---|---|---|---|---|")
    for budget, entry in table.items():
        for score, words in (("accuracy", "all"), ("unseen_word_accuracy", "unseen")):
            cells = [entry[f"{name}_{score}"] for name in (*STARTS, *BASELINES)]
            print(f"| {budget} | {words} | " + " | ".join(
                f"{c['mean']:.3f} [{c['min']:.3f}, {c['max']:.3f}]" for c in cells) + " |")
    print(f"minutes in all: {(time.time() - started) / 60:.1f}")
    return table


if __name__ == "__main__":
    main()
