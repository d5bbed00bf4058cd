"""The sequence every job runs, and the slots a job fills (`JobTemplate`).

    run folder, strategy -> data -> tokenizer -> batches -> model
    -> fit (backups, resume) -> save -> [chief:] evaluate -> results.json

A job (`translation.Translation`, `pretraining.Pretraining`,
`finetuning.Finetuning`, `language_model.LanguageModel`) is a subclass that
says which data, tokenizer, batches, model and compile settings, which
scores and which serving modules; it never restates the sequence. Its
config (`configs.py`) names it in `template`.
"""

import dataclasses
from pathlib import Path
from typing import Callable

import keras

from tf_models import storage
from tf_models.jobs.common import (
    DATA_ADVICE,
    evaluation_model,
    finish_run,
    finish_worker,
    fit,
    run_tokenizer,
    stage,
    start_run,
)
from tf_models.training import is_chief


@dataclasses.dataclass
class Batches:
    """What `fit` trains on.

    Attributes:
        train: a function returning the training batches, shuffled with the
            job's seed (called again to resume; see `fit_resumable`).
        steps_per_epoch: batches per epoch.
        epochs: epochs in all.
        validation: batches scored at each epoch's end (or None).
    """

    train: Callable
    steps_per_epoch: int
    epochs: int
    validation: object = None

    @property
    def steps(self):
        return self.steps_per_epoch * self.epochs


class JobTemplate:
    """One job: `run()` is the sequence, the other methods are its slots.

    Args:
        job: the job's config (a `RunOptions` subclass).

    Attributes:
        model_file: the trained model's file in the run folder.
        monitor: the training metric that picks `best.keras`.
        memory_advice: what to try when training runs out of memory.
        tokenizer_stage: `(name, advice)` of the stage that makes the tokenizer.

    Example:
    >>> from tf_models.jobs import LanguageModelJob
    >>> LanguageModelJob(output_dir="runs/lm").template().model_file
    'causal_lm.keras'
    """

    model_file = "model.keras"
    monitor = "loss"
    memory_advice = "lower --batch-size if memory ran out"
    tokenizer_stage = ("tokenizer", "")

    def __init__(self, job):
        self.job = job
        self.output_dir = Path(job.output_dir)  # a worker other than the chief gets a temporary one
        self.strategy = None

    def run(self):
        """Trains, saves and evaluates the job; returns its results."""
        self.output_dir, self.strategy = start_run(self.job)
        with stage("data", DATA_ADVICE):
            self.load_data()
        with stage(*self.tokenizer_stage):
            tokenizer = self.make_tokenizer()
        with stage("pipeline"):
            batches = self.make_batches(tokenizer)
        with self.strategy.scope():
            model = self.make_model(tokenizer, batches.steps)
        print(self.describe(model, batches))
        with stage("train", self.memory_advice):
            fit(self.job, model, batches.train, self.output_dir, steps_per_epoch=batches.steps_per_epoch,
                epochs=batches.epochs, validation_data=batches.validation, monitor=self.monitor,
                vocabulary=tokenizer.vocabulary, callbacks=self.callbacks())
            self.save(model)
        if not is_chief(self.strategy):
            return finish_worker(self.output_dir, self.strategy)
        model = evaluation_model(model, self.output_dir / self.model_file)
        model = self.after_training(model, batches)
        with stage("evaluate"):
            results = self.evaluate(model, tokenizer)
        return finish_run(self.output_dir, results)

    # The slots of `run`, in its order.
    def load_data(self):
        """Reads the job's examples (kept on `self`) and prints what it read."""
        raise NotImplementedError

    def make_tokenizer(self):
        """The run's tokenizer, saved in `self.output_dir`."""
        raise NotImplementedError

    def make_batches(self, tokenizer):
        """The `Batches` to train on (and anything else built from the data
        that could fail: better before training than after)."""
        raise NotImplementedError

    def make_model(self, tokenizer, total_steps):
        """The compiled model (called inside the strategy's scope)."""
        raise NotImplementedError

    def describe(self, model, batches):
        """The model in a line, for the log."""
        return f"{type(model).__name__}: {model.count_params():,} parameters"

    def callbacks(self):
        """Keras callbacks that write files (the chief's only)."""
        return []

    def save(self, model):
        """Writes the trained model (every worker; the others into a temporary folder)."""
        storage.save_model(model, self.output_dir / self.model_file)

    def after_training(self, model, batches):
        """The chief's last change to the trained model before it is scored
        (e.g. checkpoint averaging); returns the model to score."""
        return model

    def evaluate(self, model, tokenizer):
        """The results of the trained model, beside their baselines."""
        raise NotImplementedError

    # A finished run (`self.job.output_dir`).
    def tokenizer(self):
        """The tokenizer the finished run trained with."""
        return run_tokenizer(self.job.output_dir)

    def trained_model(self):
        """The finished run's model, for scoring and serving (no optimizer)."""
        path = Path(self.job.output_dir) / self.model_file
        try:
            return keras.saving.load_model(path, compile=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path} cannot be read by this version of tf_models ({error}): run the job "
                             "again.") from error

    def evaluate_again(self):
        """Scores the finished run again on its test data: the slots of
        `run` without training."""
        self.load_data()
        tokenizer = self.tokenizer()
        self.make_batches(tokenizer)
        return self.evaluate(self.trained_model(), tokenizer)

    def inference_modules(self, decoding=None):
        """`{export name: tf.Module}` of the finished run (`decoding`: a
        `DecodingConfig` for the jobs that decode)."""
        raise NotImplementedError
