"""The fine-tuning job: BERT from a pretraining run, a checkpoint or
scratch, trained on one task's labels (`FinetuningJob.run()`).

The steps are the same for every task; what differs (data, model, scores,
inference module) is the job's `FinetuningTask` (`finetuning_tasks.py`).
"""

import json
from pathlib import Path

import keras

from tf_models import storage
from tf_models.checkpoints import load_google_bert, load_huggingface_bert
from tf_models.data.pipelines import with_known_length
from tf_models.data.tokenizers import BERT_RESERVED_TOKENS
from tf_models.jobs.common import (
    DATA_ADVICE,
    compile_options,
    evaluation_model,
    finish_run,
    finish_worker,
    fit,
    run_tokenizer,
    learn_wordpiece_tokenizer,
    save_tokenizer,
    stage,
    start_run,
)
from tf_models.jobs.configs import PretrainingJob
from tf_models.models import BertBackbone
from tf_models.training import is_chief


def initial_bert(init, lower_case=None):
    """The backbone and tokenizer a fine-tuning run starts from.

    Args:
        init: a `pretrain-bert` run folder (`backbone.keras`), a Hugging
            Face BERT folder (`config.json`) or an original Google BERT
            folder (`bert_config.json`).
        lower_case: the casing of a Google checkpoint, which does not record
            it (`None`: guessed from the folder name).

    Returns:
        `(backbone, tokenizer, description)`.
    """
    path = Path(init)
    if (path / "backbone.keras").exists():
        backbone = keras.saving.load_model(path / "backbone.keras")
        return backbone, run_tokenizer(path, PretrainingJob()), f"pretrained by tf_models in {path}"
    if (path / "config.json").exists():
        backbone, tokenizer = load_huggingface_bert(path)
        return backbone, tokenizer, f"Hugging Face checkpoint {path}"
    if (path / "bert_config.json").exists():
        backbone, tokenizer = load_google_bert(path, lower_case=lower_case)
        return backbone, tokenizer, f"Google BERT checkpoint {path}"
    raise ValueError(
        f"--init {path}: expected a pretrain-bert run (backbone.keras), a Hugging Face BERT folder "
        "(config.json) or a Google BERT folder (bert_config.json)."
    )


def _initial_weights(job, task, train, output_dir, strategy):
    """`(backbone, tokenizer, origin)` of a `FinetuningJob`: `--init`'s
    weights, random weights of its shape, or a new model and vocabulary."""
    if job.init:
        backbone, tokenizer, origin = initial_bert(job.init, job.lower_case)
        if job.random_weights:  # same architecture and tokenizer, fresh weights
            backbone = BertBackbone.from_config(backbone.get_config())
            origin = f"random weights, architecture and tokenizer of {origin}"
        return backbone, tokenizer, origin
    tokenizer = learn_wordpiece_tokenizer(
        job, output_dir, strategy, task.vocabulary_texts(train),
        reserved_tokens=BERT_RESERVED_TOKENS, lower_case=True if job.lower_case is None else job.lower_case,
    )
    backbone = BertBackbone.from_preset(job.preset, vocabulary_size=tokenizer.vocabulary_size,
                                        max_sequence_length=max(job.max_sequence_length, 2))
    return backbone, tokenizer, "from scratch"


def _examples(job, task):
    """`(train, test)` of the job's task: `max_train_examples` training
    examples drawn with the job's seed (all when it is None)."""
    train, test = task.splits(job)
    return (train if job.max_train_examples is None else task.sample(train, job.max_train_examples, job.seed)), test


def train(job):
    """Runs a `FinetuningJob`; returns its results dict."""
    task = job.finetuning_task
    output_dir, strategy = start_run(job)
    with stage("data", DATA_ADVICE):
        train_examples, test = _examples(job, task)
        print(f"task: {task.name}{task.describe(train_examples)}")
    with strategy.scope():  # a checkpoint's backbone is built here
        with stage("initial weights", "--init takes a pretrain-bert run, a Hugging Face or a Google BERT folder"):
            backbone, tokenizer, origin = _initial_weights(job, task, train_examples, output_dir, strategy)
            save_tokenizer(tokenizer, output_dir)
        if job.max_sequence_length > backbone.max_sequence_length:
            raise ValueError(f"--max-sequence-length {job.max_sequence_length} exceeds the backbone's "
                             f"{backbone.max_sequence_length} positions.")
        def train_data():
            return task.dataset(job, train_examples, tokenizer, training=True)

        steps_per_epoch = int(with_known_length(train_data()).cardinality())
        epochs = max(job.epochs, -(-job.min_steps // steps_per_epoch))
        steps = steps_per_epoch * epochs
        model = task.model(backbone, train_examples)
        task.compile(model, steps, peak_rate=job.peak_learning_rate, **compile_options(job))
    print(f"BERT {task.name} model ({origin}): {model.count_params():,} parameters, {steps} steps")
    with stage("train", "lower --batch-size or --max-sequence-length if memory ran out"):
        fit(job, model, train_data, output_dir, steps_per_epoch=steps_per_epoch, epochs=epochs,
            monitor="loss", vocabulary=tokenizer.vocabulary)
        storage.save_model(model, output_dir / task.model_file)
    if not is_chief(strategy):
        return finish_worker(output_dir, strategy)
    model = evaluation_model(model, output_dir / task.model_file)
    with stage("evaluate"):
        results = task.evaluate(model, tokenizer, train_examples, test, job)
        validation = task.validation(job)
        if validation is not None:
            results["validation"] = task.validate(model, tokenizer, validation, job)
    return finish_run(output_dir, results)


def evaluate(job):
    """Scores a finished fine-tuning run again on its test examples."""
    task, run = job.finetuning_task, Path(job.output_dir)
    train_examples, test = _examples(job, task)
    model = keras.saving.load_model(task.saved_model(run))
    return task.evaluate(model, run_tokenizer(run, job), train_examples, test, job)


def inference_modules(job, decoding=None):
    """`{export name: module}` of the run's task, e.g. `{"classifier": TextClassifier}`."""
    task, run = job.finetuning_task, Path(job.output_dir)
    model = keras.saving.load_model(task.saved_model(run))
    results = json.loads((run / "results.json").read_text())
    return {task.name: task.inference_module(model, run_tokenizer(run, job), job, results)}
