"""The main job (`python -m tf_models demo`, `make demo`): the Transformer and
BERT trained on offline data, each result beside its baselines.

1. Translation: a `tiny` Transformer learns German to English from Debian's
   software messages (`software_de_en`).
2. Pretraining: a `tiny` BERT learns masked LM from Debian's package
   descriptions (`debian_descriptions`, sequences packed full).
3. Fine-tuning: which section a package is in (`debian_sections`), from
   `DEMO_LABELS` labelled descriptions, twice: from the pretrained weights
   and from random weights of the same shape. The one with the better
   validation accuracy is exported (the test set is only scored, never used
   to choose).
4. Export and query: the translator, the chosen classifier, the fill-mask
   model and the sentence encoder go to TF Serving's layout, are loaded back
   from disk and asked `DEMO_QUERIES`.

A result that does not beat its baseline is listed under `warnings`, in the
summary and on screen.
"""

import dataclasses
import time
from pathlib import Path

from tf_models import storage
from tf_models.jobs.configs import FinetuningJob, PretrainingJob, TranslationJob

DEMO_QUERIES = {
    "translator": ["Die Datei konnte nicht gespeichert werden.", "Möchten Sie die Änderungen speichern?",
                   "Neues Fenster öffnen"],
    "classifier": ["A fast puzzle game: slide the coloured blocks to clear the board before time runs out.",
                   "Command-line client to read, sort and send email over IMAP and SMTP."],
    "fill_mask": ["This package contains the [MASK] files for the library.",
                  "A free [MASK] game for children."],
    "sentence_encoder": ["A music player with playlists and internet radio."],
}
# Labelled descriptions the classifiers fine-tune on: few, as labels usually
# are; benchmarks.pretraining_curve measures both starts at 100 to 500.
DEMO_LABELS = 500
# The fine-tuning peak learning rate of each start, chosen on the validation
# split by benchmarks.pretraining_curve's sweep.
DEMO_PEAK_RATES = {"pretrained": 1e-3, "random": 1e-3}


def demo_jobs(root, full=False, seed=0):
    """The main job's runs, as job configs.

    Args:
        root: the folder of the runs.
        full: train 4x longer.
        seed: the seed of every run (data order, initialisation, masking,
            the labelled sample).

    Returns:
        `(translation, pretraining, finetuning)`: two jobs and a dict of two,
        `{"pretrained": ..., "random": ...}`, which fine-tune from the
        pretraining run's weights and from random weights of its shape.
    """
    scale = 4 if full else 1
    root = Path(root)
    # No dropout: in six epochs this model is far from memorising 40,000 pairs
    # (its training BLEU stays within a few points of its test BLEU), and
    # dropout slows it down.
    translation = TranslationJob(
        output_dir=str(root / "translation"), source="software_de_en", preset="tiny", dropout=0.0,
        vocabulary_size=4000, max_length=24, batch_size=64, bucket_boundaries=(8, 12, 16),
        epochs=6 * scale, warmup_steps=400, seed=seed,
    )
    # Masked LM on sequences packed full: no compute spent on padding or NSP
    # (benchmarks.pretraining_speed).
    pretraining = PretrainingJob(
        output_dir=str(root / "pretraining"), source="debian_descriptions", preset="tiny",
        vocabulary_size=8000, max_sequence_length=128, batch_size=32, steps=1800 * scale,
        next_sentence_prediction=False, held_out_documents=500, seed=seed,
    )
    # 600 steps of 16: enough for either start to fit its labels, so that
    # neither is cut short (random weights need the most).
    finetuning = {
        start: FinetuningJob(
            output_dir=str(root / f"finetuning_{start}"), source="debian_sections",
            init=str(root / "pretraining"), random_weights=start == "random", max_train_examples=DEMO_LABELS,
            max_sequence_length=128, batch_size=16, epochs=3, min_steps=600, peak_learning_rate=rate, seed=seed,
        )
        for start, rate in DEMO_PEAK_RATES.items()
    }
    return translation, pretraining, finetuning


def choose_classifier(finetuning):
    """The start whose classifier to export, and why: the higher validation
    accuracy (ties: the pretrained start). The test set plays no part.

    Args:
        finetuning: `{start: results}` of the fine-tuning runs, each with
            `results["validation"]["accuracy"]`.

    Returns:
        `(start, reason)`: the chosen start and a sentence that says why.

    Example:
    >>> choose_classifier({"pretrained": {"validation": {"accuracy": 0.6}},
    ...                    "random": {"validation": {"accuracy": 0.4}}})
    ('pretrained', 'validation accuracy 60.0% vs 40.0% from random weights')
    """
    chosen = max(finetuning, key=lambda start: (finetuning[start]["validation"]["accuracy"], start == "pretrained"))
    other = next(start for start in finetuning if start != chosen)
    accuracy = {start: finetuning[start]["validation"]["accuracy"] for start in finetuning}
    weights = "pretrained weights" if other == "pretrained" else "random weights"
    return chosen, f"validation accuracy {accuracy[chosen]:.1%} vs {accuracy[other]:.1%} from {weights}"


def demo_summary(translation, pretraining, finetuning):
    """Every number of the main job beside its baselines, as one dict, with
    the classifier chosen for export and the `warnings` (results that do not
    beat their baselines).

    Args:
        translation: the translation run's results.
        pretraining: the pretraining run's results.
        finetuning: `{"pretrained": results, "random": results}`.
    """
    chosen, why = choose_classifier(finetuning)
    classification = {f"{start}_accuracy": results["accuracy"] for start, results in finetuning.items()}
    validation = {f"{start}_validation_accuracy": results["validation"]["accuracy"]
                  for start, results in finetuning.items()}
    summary = {
        "translation": {
            "test_bleu": translation["bleu"],
            "baseline_copy_source_bleu": translation["baselines"]["copy_source_bleu"],
            "train_bleu": translation["baselines"].get("train_bleu"),
        },
        "pretraining": {
            "mlm_accuracy": pretraining["mlm_logits_accuracy"],
            "baseline_most_frequent_token_accuracy":
                pretraining["baselines"]["mlm_most_frequent_token_accuracy"],
        },
        "classification": {
            "labels": DEMO_LABELS,
            **classification,
            **{f"baseline_{k}": v for k, v in finetuning[chosen]["baselines"].items() if k.endswith("accuracy")},
            **validation,
            "baseline_validation_majority_class_accuracy": finetuning[chosen]["validation"]["majority_baseline"],
            "exported": chosen,
            "exported_because": why,
        },
    }
    summary["warnings"] = demo_warnings(summary, chosen)
    return summary


def demo_warnings(summary, chosen):
    """A line for each result of the summary that does not beat its baseline."""
    translation, pretraining = summary["translation"], summary["pretraining"]
    classification = summary["classification"]
    checks = [
        (translation["test_bleu"], translation["baseline_copy_source_bleu"],
         "the translator's test BLEU does not beat copying the source"),
        (pretraining["mlm_accuracy"], pretraining["baseline_most_frequent_token_accuracy"],
         "masked-LM accuracy does not beat always answering the most frequent token"),
        (classification[f"{chosen}_validation_accuracy"], classification["baseline_validation_majority_class_accuracy"],
         f"the exported classifier ({chosen}) does not beat the majority class on validation data: "
         "it answers like a constant"),
        (classification[f"{chosen}_accuracy"], classification["baseline_majority_class_accuracy"],
         f"the exported classifier ({chosen}) does not beat the majority class on the test set"),
    ]
    return [f"{message} ({value:.3f} vs {baseline:.3f})" for value, baseline, message in checks if value <= baseline]


def summary_value(name, value):
    """A summary number as the README and docs quote it: BLEU to one
    decimal, accuracies as percents to one decimal (one rounding everywhere).

    Example:
    >>> summary_value("baseline_copy_source_bleu", 4.7735), summary_value("mlm_accuracy", 0.12083)
    ('4.8', '12.1%')
    """
    if not isinstance(value, float):
        return str(value)
    if name.endswith("bleu"):
        return f"{value:.1f}"
    if name.endswith("accuracy"):
        return f"{100 * value:.1f}%"
    return f"{value:.3f}"


def print_summary(summary):
    """The summary as lines of `name: value`, baselines indented under their result."""
    for section, numbers in summary.items():
        if not isinstance(numbers, dict):
            continue
        print(f"{section}:")
        for name, value in numbers.items():
            print(f"  {'  ' if name.startswith('baseline') else ''}{name}: {summary_value(name, value)}")
    print_warnings(summary["warnings"])


def print_warnings(warnings):
    """Prints each warning line inside a frame that stands out in a log."""
    if warnings:
        print("!" * 78)
        for warning in warnings:
            print(f"WARNING: {warning}")
        print("!" * 78)


def demo(output_dir, full=False, saved_models="saved_models", seed=0, restart=False):
    """The main job on offline data, sized for a 2-core CPU; returns its summary.

    Started again after a kill, it resumes each run where it stopped.

    Args:
        output_dir: the folder of the runs and of `summary.json`.
        full: train 4x longer.
        saved_models: where the exports go, in TF Serving's layout.
        seed: the seed of every run.
        restart: discard the backups of interrupted runs (say, of a run
            with other settings) and train every run afresh.
    """
    from tf_models.jobs.common import stage
    from tf_models.jobs.query import query

    started = time.time()
    root = Path(output_dir)
    translation_job, pretraining_job, finetuning_jobs = demo_jobs(root, full, seed)
    if restart:
        translation_job, pretraining_job = (dataclasses.replace(job, restart=True)
                                            for job in (translation_job, pretraining_job))
        finetuning_jobs = {start: dataclasses.replace(job, restart=True) for start, job in finetuning_jobs.items()}
    translation = translation_job.run()
    pretraining = pretraining_job.run()
    finetuning = {start: job.run() for start, job in finetuning_jobs.items()}
    summary = demo_summary(translation, pretraining, finetuning)
    chosen = summary["classification"]["exported"]
    print(f"classifier to export: from {chosen} weights ({summary['classification']['exported_because']})")
    print_warnings(summary["warnings"])
    with stage("export", f"check that {saved_models} is writable"):
        exports = {}
        for job in (translation_job, pretraining_job, finetuning_jobs[chosen]):
            for path in job.export(saved_models):
                exports[path.parent.name] = path
    with stage("query the exports", "run `python -m tf_models predict` on one export to see the error"):
        for name, path in exports.items():
            print(f"{name} ({path}, loaded from disk):")
            for line in query(path, DEMO_QUERIES[name]):
                print(f"  {line}")
    summary["exports"] = {name: str(path) for name, path in exports.items()}
    summary["minutes"] = (time.time() - started) / 60
    storage.write_json(root / "summary.json", summary)
    print("\n== Main job done: each result, with its baselines indented below it ==")
    print_summary(summary)
    print(f"minutes: {summary['minutes']:.1f}")
    print(f"Everything is under {root.resolve()}")
    return summary
