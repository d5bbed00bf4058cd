"""Does pretraining pay? A label learning curve on the fine-food reviews.

The setting in which the literature finds that pretraining wins at small
scale (Krishna et al. 2022, "Downstream datasets make surprisingly good
pretraining corpora"): BERT is *self-pretrained* on the task's own training
text, labels dropped, with a vocabulary learned from that text; then it is
fine-tuned on a few labels. Its twin has the same architecture, tokenizer and
fine-tuning, but random weights. For each label budget and seed the same
labelled reviews train three models, scored on the same 1,000 test reviews:

* BERT from the self-pretrained weights;
* the same BERT from random weights;
* TF-IDF + logistic regression (scikit-learn), the classical baseline.

Each start gets its own fine-tuning learning rate, picked first on 500
training reviews held out of every labelled subset (no test data is looked
at). Two probes show what pretraining learned before any label: a frozen
linear probe (logistic regression on mean-pooled features, pretrained vs
random weights) and masked-word prediction restricted to word tokens (no
punctuation or sub-word pieces) on held-out reviews, beside the
most-frequent-word baseline, with a few local-context prompts.

    python -m benchmarks.pretraining_curve                     # about 30 min on 2 CPU cores
    python -m benchmarks.pretraining_curve --steps 5000        # the measured run, about 75 min
    python -m benchmarks.pretraining_curve --budgets 100 300 --seeds 0 --steps 200   # a quick look

Writes `results.json` and `pretraining_curve.png` under --output-dir, and
prints the table (mean, min and max over seeds).
"""

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tf_models import jobs  # noqa: E402
from tf_models.data import classification_data, classification_dataset, load_source  # noqa: E402
from tf_models.models import BertBackbone, BertClassifier  # noqa: E402
from tf_models.training import compile_bert_classifier, tfidf_logistic_regression  # noqa: E402
from tf_models.inference.probes import (  # noqa: E402
    fill_mask_words,
    linear_probe_accuracy,
    masked_word_accuracy,
    word_token_ids,
)

STARTS = ("pretrained", "random")
PROBE_PROMPTS = (
    "this coffee is [MASK] and i will buy it again.",
    "my dog loves these [MASK].",
    "the [MASK] arrived quickly and well packed.",
    "this tea has a very [MASK] flavor.",
    "i would not [MASK] this product.",
)


def reviews(split):
    """`(texts, labels)` of the fine-food reviews' `split`, as Python lists."""
    return jobs.texts_and_labels(load_source("fine_food_reviews", split=split))


def as_data(texts, labels, label_names=("great", "other")):
    return classification_data(list(texts), [int(label) for label in labels], label_names)


def backbone_for(start, pretraining_dir, seed):
    """A fresh backbone: the pretrained weights, or random weights of the same shape."""
    pretrained = keras.saving.load_model(Path(pretraining_dir) / "backbone.keras")
    if start == "pretrained":
        return pretrained
    keras.utils.set_random_seed(seed)
    return BertBackbone.from_config(pretrained.get_config())


def fine_tune(start, pretraining_dir, tokenizer, train, test, peak_rate, seed, args):
    """Test accuracy of a classifier fine-tuned from `start` on `train`.

    Small label sets get more epochs (at least `args.min_steps` steps, at
    most 50 epochs), so that every budget trains to convergence.
    """
    keras.utils.set_random_seed(seed)
    options = dict(batch_size=args.batch_size, max_sequence_length=args.max_sequence_length)
    train_data = classification_dataset(as_data(*train), tokenizer, shuffle_buffer_size=10_000,
                                        seed=seed, **options)
    steps_per_epoch = -(-len(train[0]) // args.batch_size)
    epochs = int(np.clip(-(-args.min_steps // steps_per_epoch), args.epochs, 50))
    model = BertClassifier(backbone_for(start, pretraining_dir, seed), num_classes=2)
    compile_bert_classifier(model, steps_per_epoch * epochs, peak_rate=peak_rate)
    model.fit(train_data, epochs=epochs, verbose=0, shuffle=False)
    test_data = classification_dataset(as_data(*test), tokenizer, **options)
    predictions = np.concatenate([np.argmax(model.predict_on_batch(x)["logits"], -1) for x, _ in test_data])
    return float(np.mean(predictions == np.asarray(test[1])))


def linear_probe(pretraining_dir, tokenizer, train, test, args):
    """Accuracy of logistic regression on frozen features, pretrained vs random weights."""
    return {start: linear_probe_accuracy(backbone_for(start, pretraining_dir, seed=0), tokenizer, train, test,
                                         args.max_sequence_length)
            for start in STARTS}


def summarize(values):
    return {"mean": float(np.mean(values)), "min": float(np.min(values)), "max": float(np.max(values)),
            "values": [float(v) for v in values]}


def plot(curve, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    budgets = sorted(int(b) for b in curve)
    for name, style in (("pretrained", "o-"), ("random", "s--"), ("tfidf_logistic_regression", "^:")):
        means = [curve[str(b)][name]["mean"] for b in budgets]
        low = [curve[str(b)][name]["min"] for b in budgets]
        high = [curve[str(b)][name]["max"] for b in budgets]
        label = {"pretrained": "BERT, self-pretrained", "random": "BERT, random weights",
                 "tfidf_logistic_regression": "TF-IDF + logistic regression"}[name]
        axis.plot(budgets, means, style, label=label)
        axis.fill_between(budgets, low, high, alpha=0.2)
    axis.axhline(curve[str(budgets[0])]["majority_class"], color="gray", lw=1, label="majority class")
    axis.set_xscale("log")
    axis.set_xlabel("labelled training reviews")
    axis.set_ylabel("test accuracy (1,000 reviews)")
    axis.set_title("Fine-food reviews: mean and range over seeds")
    axis.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", default="runs/pretraining_curve")
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--vocabulary-size", type=int, default=6000)
    parser.add_argument("--max-sequence-length", type=int, default=128)
    parser.add_argument("--steps", type=int, default=600, help="pretraining steps (batch 32)")
    parser.add_argument("--pretraining-rate", type=float, default=1e-3)
    parser.add_argument("--budgets", type=int, nargs="+", default=[100, 300, 1000],
                        help="labelled reviews (3500: every training review outside the sweep's 500)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rates", type=float, nargs="+", default=[3e-4, 1e-3, 3e-3],
                        help="fine-tuning peak rates tried for each start")
    parser.add_argument("--sweep-budget", type=int, default=300, help="labels of the learning-rate sweep")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3, help="fewest fine-tuning epochs")
    parser.add_argument("--min-steps", type=int, default=120, help="fewest fine-tuning steps")
    args = parser.parse_args(argv)
    work = Path(args.output_dir)
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    results = {"settings": vars(args)}

    def save():
        results["minutes"] = (time.time() - started) / 60
        (work / "results.json").write_text(json.dumps(results, indent=2) + "\n")

    pretraining = jobs.pretrain_bert(jobs.PretrainingJob(
        output_dir=str(work / "pretraining"), source="fine_food_reviews", preset=args.preset,
        vocabulary_size=args.vocabulary_size, max_sequence_length=args.max_sequence_length, batch_size=32,
        steps=args.steps, peak_learning_rate=args.pretraining_rate, held_out_documents=200, verbose=2,
    ))
    results["pretraining"] = pretraining
    tokenizer = jobs.run_tokenizer(work / "pretraining", jobs.PretrainingJob())
    train_texts, train_labels = reviews("train")
    test = reviews("test")
    rng = np.random.default_rng(12345)
    order = rng.permutation(len(train_texts))
    validation_index, pool = order[:500], order[500:]  # the sweep's validation reviews, never trained on
    validation = ([train_texts[i] for i in validation_index], train_labels[validation_index])

    def subset(budget, seed):
        chosen = np.random.default_rng(seed).choice(pool, min(budget, len(pool)), replace=False)
        return [train_texts[i] for i in chosen], train_labels[chosen]

    print("[learning-rate sweep] on", args.sweep_budget, "labels, scored on 500 held-out training reviews")
    sweep = {start: {} for start in STARTS}
    for start in STARTS:
        for rate in args.rates:
            sweep[start][rate] = fine_tune(start, work / "pretraining", tokenizer, subset(args.sweep_budget, 0),
                                           validation, rate, 0, args)
            print(f"  {start:10s} peak {rate:g}: validation accuracy {sweep[start][rate]:.3f}", flush=True)
    rates = {start: max(sweep[start], key=sweep[start].get) for start in STARTS}
    results["learning_rate_sweep"] = {s: {str(r): a for r, a in v.items()} for s, v in sweep.items()}
    results["peak_rates"] = rates
    save()

    majority = float(np.mean(np.asarray(test[1]) == np.bincount(train_labels).argmax()))
    curve = {}
    for budget in args.budgets:
        scores = {start: [] for start in (*STARTS, "tfidf_logistic_regression")}
        for seed in args.seeds:
            train = subset(budget, seed)
            for start in STARTS:
                scores[start].append(fine_tune(start, work / "pretraining", tokenizer, train, test, rates[start],
                                               seed, args))
            predicted = tfidf_logistic_regression(train[0], train[1], test[0], seed=seed)
            scores["tfidf_logistic_regression"].append(float(np.mean(predicted == np.asarray(test[1]))))
            print(f"  {budget} labels, seed {seed}: " + ", ".join(f"{k} {v[-1]:.3f}" for k, v in scores.items()),
                  flush=True)
        curve[str(budget)] = {name: summarize(values) for name, values in scores.items()}
        curve[str(budget)]["majority_class"] = majority
        results["curve"] = curve
        save()
    plot(curve, work / "pretraining_curve.png")

    print("[probes] frozen features and masked words")
    probe_train = subset(1000, 0)
    results["linear_probe_1000_labels"] = linear_probe(work / "pretraining", tokenizer, probe_train, test, args)
    documents = jobs.review_documents(as_data(*test))
    sentences = [sentence.lower() for document in documents for sentence in document][:2000]
    counts, words = jobs.token_counts(train_texts, tokenizer), word_token_ids(tokenizer)
    frequent = int(words[np.argmax(counts[words])])
    pretrainer = keras.saving.load_model(work / "pretraining" / "pretrainer.keras")
    results["fill_mask_probe"] = {
        **masked_word_accuracy(pretrainer, tokenizer, sentences, frequent, args.max_sequence_length),
        "most_frequent_word": tokenizer.vocabulary[frequent],
        "prompts": fill_mask_words(pretrainer, tokenizer, PROBE_PROMPTS),
    }
    save()

    print(f"\npeak fine-tuning rates: {rates}; majority class {majority:.3f}")
    print("labels | pretrained mean [min, max] | random mean [min, max] | TF-IDF + LR mean [min, max]")
    for budget, row in curve.items():
        print(f"{budget:>6} | " + " | ".join(
            f"{row[k]['mean']:.3f} [{row[k]['min']:.3f}, {row[k]['max']:.3f}]"
            for k in ("pretrained", "random", "tfidf_logistic_regression")))
    print("linear probe (1,000 labels, frozen features):", results["linear_probe_1000_labels"])
    probe = results["fill_mask_probe"]
    print(f"masked words: {probe['word_accuracy']:.3f} vs most frequent word "
          f"'{probe['most_frequent_word']}' {probe['baseline_most_frequent_word_accuracy']:.3f}")
    for prompt, answers in probe["prompts"].items():
        print(f"  {prompt} -> {' / '.join(answers)}")
    return results


if __name__ == "__main__":
    main()
