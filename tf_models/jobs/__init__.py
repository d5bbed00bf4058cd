"""The training jobs behind the command line and the main job.

A job is a frozen config (`configs.py`: a dataclass whose fields are the
command-line options) that knows how to run itself:

>>> job = TranslationJob(output_dir="runs/translation", preset="tiny")  # doctest: +SKIP
>>> results = job.run()           # data, tokenizer, fit, BLEU, files  # doctest: +SKIP
>>> job.evaluate()                # score the finished run again      # doctest: +SKIP
>>> job.export("saved_models")    # TF Serving exports                # doctest: +SKIP

* `common.py`: what every job shares (the run folder, stages, the tokenizer
  files, reloading a run's config, exporting).
* `translation.py`, `pretraining.py`, `finetuning.py`, `language_model.py`:
  one module per job.
* `finetuning_tasks.py`: what each fine-tuning task adds (`classifier`,
  `regressor`, `tagger`, `question_answerer`), listed once in
  `FINETUNING_TASKS`.

Importing this package or `configs` does not import TensorFlow (the command
line's `--help` stays instant); the functions below load their module when
first used.
"""

import dataclasses
import importlib

from tf_models.jobs.configs import (
    FINETUNING_TASKS,
    JOB_CLASSES,
    FinetuningJob,
    LanguageModelJob,
    PretrainingJob,
    RunOptions,
    TranslationJob,
    finetuning_task,
    load_job,
    option,
)

# name -> (module, attribute), imported on first use (PEP 562).
_LAZY = {
    "stage": ("common", "stage"),
    "start_run": ("common", "start_run"),
    "finish_run": ("common", "finish_run"),
    "save_tokenizer": ("common", "save_tokenizer"),
    "run_tokenizer": ("common", "run_tokenizer"),
    "export_modules": ("common", "export_modules"),
    "train_translation": ("translation", "train"),
    "evaluate_translation": ("translation", "evaluate_translation"),
    "translation_splits": ("translation", "translation_splits"),
    "pretrain_bert": ("pretraining", "train"),
    "evaluate_pretrainer": ("pretraining", "evaluate_pretrainer"),
    "token_counts": ("pretraining", "token_counts"),
    "most_frequent_token": ("pretraining", "most_frequent_token"),
    "review_documents": ("pretraining", "review_documents"),
    "finetune_bert": ("finetuning", "train"),
    "train_language_model": ("language_model", "train"),
    "initial_bert": ("finetuning", "initial_bert"),
    "FinetuningTask": ("finetuning_tasks", "FinetuningTask"),
    "texts_and_labels": ("finetuning_tasks", "texts_and_labels"),
    "classification_baselines": ("finetuning_tasks", "classification_baselines"),
    "evaluate_classifier": ("finetuning_tasks", "evaluate_classifier"),
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    globals()[name] = value
    return value


def _at(run_dir, job):
    return dataclasses.replace(job, output_dir=str(run_dir))


def evaluate_run(job):
    """Scores a finished run (its `output_dir`) again on its test data: `job.evaluate()`."""
    return job.evaluate()


def inference_modules(run_dir, job, decoding=None):
    """The inference modules of the run in `run_dir`, by default export name."""
    return _at(run_dir, job).inference_modules(decoding)


def export_run(run_dir, job, base_dir="saved_models", name=None, version=None, decoding=None):
    """Exports the run in `run_dir` for TF Serving (see `RunOptions.export`)."""
    return _at(run_dir, job).export(base_dir, name, version, decoding)


__all__ = [
    "FINETUNING_TASKS", "JOB_CLASSES", "FinetuningJob", "LanguageModelJob", "PretrainingJob", "RunOptions", "TranslationJob",
    "evaluate_run", "export_run", "finetuning_task", "inference_modules", "load_job", "option", *_LAZY,
]
