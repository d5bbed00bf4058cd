"""Does pretraining pay? Label learning curves of BERT from pretrained and from random weights.

BERT `tiny` is pretrained once (masked LM on sequences packed full, the
`pretrain-bert --no-next-sentence-prediction` job) on unlabelled text, then
fine-tuned on a few labels (the `finetune-bert` job) twice for every label
budget and seed: from the pretrained weights, and from random weights of the
same architecture with the same tokenizer, head and schedule. Beside them,
trained on the same labels and scored on the same test set: TF-IDF + logistic
regression and the majority class.

Tasks (`--task`):

* `debian_sections` (default): pretraining on Debian's package descriptions
  (`debian_descriptions`, 32,500 descriptions, 2.0 million words), then which
  of twelve sections a package is in (games, sound, science, mail, ...).
* `fine_food_reviews`: the counter-example. Self-pretraining on the text of
  3,500 fine-food reviews (355,000 tokens), then `great` or `other`.

Each start's fine-tuning peak learning rate is chosen first, on the task's
validation split, which no pretraining and no fine-tuning has read. The
seeds draw the labelled examples and the fine-tuning's initial head, dropout
and order; the pretraining is shared (one run). Then three probes of what
pretraining learned before any label: masked words on held-out text (among
word tokens, beside always answering the commonest word), the nearest
neighbours of a few words in the input embeddings, and a frozen linear probe
(logistic regression on mean-pooled features, pretrained vs random).

    python -m benchmarks.pretraining_curve                          # about 40 minutes on 2 CPU cores
    python -m benchmarks.pretraining_curve --task fine_food_reviews
    python -m benchmarks.pretraining_curve --budgets 100 --seeds 0 --pretraining-steps 200 --rates 1e-3

Writes `results.json` and `pretraining_curve.png` under --output-dir, and
prints the table (mean and range over seeds).
"""

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.common import write_results  # noqa: E402
from tf_models import jobs  # noqa: E402
from tf_models.jobs.common import run_tokenizer  # noqa: E402
from tf_models.jobs.corpora import review_documents  # noqa: E402
from tf_models.jobs.pretraining import token_counts  # noqa: E402
from tf_models.data import load_source  # noqa: E402
from tf_models.inference.probes import (  # noqa: E402
    fill_mask_words,
    linear_probe_accuracy,
    masked_word_accuracy,
    nearest_words,
    word_token_ids,
)
from tf_models.models import BertBackbone  # noqa: E402

STARTS = ("pretrained", "random")
TASKS = {
    "debian_sections": {
        "pretraining_source": "debian_descriptions",
        "vocabulary_size": 8000,
        "words": ("game", "audio", "email", "font", "physics", "editor", "database", "video"),
        "prompts": ("this package contains the [MASK] files for the library.",
                    "a free [MASK] game for children.", "this is a plugin for the [MASK] player."),
    },
    "fine_food_reviews": {
        "pretraining_source": "fine_food_reviews",
        "vocabulary_size": 6000,
        "words": ("great", "bad", "coffee", "tea", "dog", "delicious", "stale", "price"),
        "prompts": ("this coffee is [MASK] and i will buy it again.", "my dog loves these [MASK].",
                    "i would not [MASK] this product."),
    },
}


def summarize(values):
    return {"mean": float(np.mean(values)), "min": float(np.min(values)), "max": float(np.max(values)),
            "values": [float(v) for v in values]}


def fine_tune(args, work, finished, start, budget, seed, rate):
    """One `finetune-bert` run; returns its results (test and validation
    scores, baselines). `finished` ({(start, budget, seed, rate): results})
    holds the runs done so far: the sweep's seed-0 run at the chosen rate is
    also a curve run."""
    folder = str(work / f"finetuning/{start}_{budget}_{seed}_{rate:g}")
    if (start, budget, seed, rate) not in finished:
        finished[start, budget, seed, rate] = jobs.FinetuningJob(
            output_dir=folder, source=args.task, init=str(work / "pretraining"), random_weights=start == "random",
            max_train_examples=budget, seed=seed, max_sequence_length=args.max_sequence_length,
            batch_size=args.batch_size, epochs=3, min_steps=args.min_steps, peak_learning_rate=rate, verbose=0,
            backup_every=10**9,
        ).run()
    return finished[start, budget, seed, rate]


def plot(curve, majority, task, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    budgets = sorted(int(b) for b in curve)
    names = {"pretrained": ("BERT, pretrained", "o-"), "random": ("BERT, random weights", "s--"),
             "tfidf_logistic_regression": ("TF-IDF + logistic regression", "^:")}
    for name, (label, style) in names.items():
        rows = [curve[str(b)][name] for b in budgets]
        axis.plot(budgets, [r["mean"] for r in rows], style, label=label)
        axis.fill_between(budgets, [r["min"] for r in rows], [r["max"] for r in rows], alpha=0.2)
    axis.axhline(majority, color="gray", lw=1, label="majority class")
    axis.set_xscale("log")
    axis.set_xlabel("labelled training examples")
    axis.set_ylabel("test accuracy")
    axis.set_title(f"{task}: mean and range over seeds")
    axis.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def probes(args, work, tokenizer, settings):
    """What pretraining learned before any label, pretrained beside random weights."""
    pretrained = keras.saving.load_model(work / "pretraining" / "backbone.keras")
    keras.utils.set_random_seed(0)
    random_backbone = BertBackbone.from_config(pretrained.get_config())
    validation, test = load_source(args.task, split="validation"), load_source(args.task, split="test")
    texts = list(test.texts[0])
    sentences = [s.lower() for document in review_documents(test) for s in document][:2000]
    train = load_source(args.task, split="train")
    counts, words = token_counts(list(train.texts[0]), tokenizer), word_token_ids(tokenizer)
    frequent = int(words[np.argmax(counts[words])])
    pretrainer = keras.saving.load_model(work / "pretraining" / "pretrainer.keras")
    probe_train = (list(validation.texts[0]), np.asarray(validation.labels))
    return {
        "masked_words": {**masked_word_accuracy(pretrainer, tokenizer, sentences, frequent, args.max_sequence_length),
                         "most_frequent_word": tokenizer.vocabulary[frequent]},
        "prompts": fill_mask_words(pretrainer, tokenizer, settings["prompts"]),
        "nearest_words": {"pretrained": nearest_words(pretrained, tokenizer, settings["words"]),
                          "random": nearest_words(random_backbone, tokenizer, settings["words"])},
        # Fitted on the validation split, scored on the test split.
        "linear_probe": {start: linear_probe_accuracy(backbone, tokenizer, probe_train, (texts, test.labels),
                                                      args.max_sequence_length)
                         for start, backbone in (("pretrained", pretrained), ("random", random_backbone))},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=list(TASKS), default="debian_sections")
    parser.add_argument("--output-dir", default=None, help="default: runs/pretraining_curve_<task>")
    parser.add_argument("--pretraining-steps", type=int, default=1800, help="batch 32, length 128 (the main job's)")
    parser.add_argument("--pretraining-rate", type=float, default=1e-3)
    parser.add_argument("--masking-rate", type=float, default=0.15)
    parser.add_argument("--budgets", type=int, nargs="+", default=[100, 250, 500], help="labelled training examples")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rates", type=float, nargs="+", default=[3e-4, 1e-3, 3e-3],
                        help="fine-tuning peak rates tried for each start")
    parser.add_argument("--sweep-budget", type=int, default=250, help="labels of the learning-rate sweep")
    parser.add_argument("--max-sequence-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16, help="fine-tuning batch size")
    parser.add_argument("--min-steps", type=int, default=600,
                        help="fewest fine-tuning steps (more epochs for few labels): enough for either start to fit "
                             "its labels")
    parser.add_argument("--reuse-pretraining", action="store_true",
                        help="keep the pretraining run already in --output-dir")
    args = parser.parse_args(argv)
    settings = TASKS[args.task]
    work = Path(args.output_dir or f"runs/pretraining_curve_{args.task}")
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    results, finished = {}, {}

    def save():
        """Every fine-tuning run so far is a row; the summaries are sections."""
        results["minutes"] = (time.time() - started) / 60
        rows = [{"start": start, "labels": budget, "seed": seed, "peak_learning_rate": rate,
                 "accuracy": run["accuracy"], "validation_accuracy": run["validation"]["accuracy"]}
                for (start, budget, seed, rate), run in finished.items()]
        write_results(work / "results.json", "pretraining_curve", args, rows, **results)

    pretraining_started = time.time()
    if args.reuse_pretraining and (work / "pretraining" / "results.json").exists():
        print(f"[pretraining] reusing {work / 'pretraining'}")
        results["pretraining"] = json.loads((work / "pretraining" / "results.json").read_text())
    else:
        results["pretraining"] = jobs.PretrainingJob(
            output_dir=str(work / "pretraining"), source=settings["pretraining_source"], preset="tiny",
            vocabulary_size=settings["vocabulary_size"], max_sequence_length=128, batch_size=32,
            next_sentence_prediction=False, masking_rate=args.masking_rate, steps=args.pretraining_steps,
            peak_learning_rate=args.pretraining_rate, held_out_documents=500, verbose=2, backup_every=10**9,
        ).run()
        results["pretraining_minutes"] = (time.time() - pretraining_started) / 60
    save()

    print(f"[learning-rate sweep] {args.sweep_budget} labels, scored on the validation split")
    sweep = {start: {} for start in STARTS}
    for start in STARTS:
        for rate in args.rates:
            run = fine_tune(args, work, finished, start, args.sweep_budget, 0, rate)
            sweep[start][f"{rate:g}"] = run["validation"]["accuracy"]
            print(f"  {start:10s} peak {rate:g}: validation accuracy {run['validation']['accuracy']:.3f}", flush=True)
    rates = {start: float(max(sweep[start], key=sweep[start].get)) for start in STARTS}
    results["learning_rate_sweep"], results["peak_rates"] = sweep, rates
    save()

    curve, majority = {}, None
    for budget in args.budgets:
        scores = {name: [] for name in (*STARTS, "tfidf_logistic_regression", "majority_class")}
        for seed in args.seeds:
            for start in STARTS:
                run = fine_tune(args, work, finished, start, budget, seed, rates[start])
                scores[start].append(run["accuracy"])
            baselines = run["baselines"]  # trained on the same labels, scored on the same test set
            scores["tfidf_logistic_regression"].append(baselines["tfidf_logistic_regression_accuracy"])
            scores["majority_class"].append(baselines["majority_class_accuracy"])
            print(f"  {budget} labels, seed {seed}: " + ", ".join(f"{k} {v[-1]:.3f}" for k, v in scores.items()),
                  flush=True)
        curve[str(budget)] = {name: summarize(values) for name, values in scores.items()}
        majority = curve[str(budget)]["majority_class"]["mean"]
        results["curve"] = curve
        save()
    plot(curve, majority, args.task, work / "pretraining_curve.png")

    print("[probes] before any label")
    tokenizer = run_tokenizer(work / "pretraining")
    results["probes"] = probes(args, work, tokenizer, settings)
    save()

    minutes = results.get("pretraining_minutes", float("nan"))  # nan: a reused pretraining run
    print(f"\n{args.task}: pretraining {minutes:.1f} min, held-out masked-LM accuracy "
          f"{results['pretraining']['mlm_logits_accuracy']:.3f} (most frequent token "
          f"{results['pretraining']['baselines']['mlm_most_frequent_token_accuracy']:.3f}); peak rates {rates}")
    print("labels | pretrained mean [min, max] | random mean [min, max] | TF-IDF + LR mean [min, max] | majority")
    for budget, row in curve.items():
        print(f"{budget:>6} | " + " | ".join(
            f"{row[k]['mean']:.3f} [{row[k]['min']:.3f}, {row[k]['max']:.3f}]"
            for k in ("pretrained", "random", "tfidf_logistic_regression")) + f" | {row['majority_class']['mean']:.3f}")
    found = results["probes"]
    print(f"masked words: {found['masked_words']['word_accuracy']:.3f} vs always "
          f"'{found['masked_words']['most_frequent_word']}' "
          f"{found['masked_words']['baseline_most_frequent_word_accuracy']:.3f}")
    print("linear probe (frozen features):", found["linear_probe"])
    for word in found["nearest_words"]["pretrained"]:
        print(f"  {word}: pretrained {found['nearest_words']['pretrained'][word]}, "
              f"random {found['nearest_words']['random'][word]}")
    for prompt, answers in found["prompts"].items():
        print(f"  {prompt} -> {' / '.join(answers)}")
    print(f"minutes in all: {results['minutes']:.1f}")
    return results


if __name__ == "__main__":
    main()
