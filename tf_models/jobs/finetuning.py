"""The fine-tuning job: BERT from a pretraining run, a checkpoint or
scratch, trained on one task's labels (`FinetuningJob.run()`, `Finetuning`).

The steps are the same for every task; what differs (data, model, scores,
inference module) is the job's `FinetuningTask` (`finetuning_tasks.py`).
"""

import json
from pathlib import Path

import keras

from tf_models.checkpoints import load_google_bert, load_huggingface_bert
from tf_models.data.pipelines import with_known_length
from tf_models.data.tokenizers import BERT_RESERVED_TOKENS
from tf_models.jobs.common import compile_options, learn_wordpiece_tokenizer, run_tokenizer, save_tokenizer
from tf_models.jobs.corpora import read_corpus
from tf_models.jobs.template import Batches, JobTemplate
from tf_models.models import BertBackbone


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
        return backbone, run_tokenizer(path), f"pretrained by tf_models in {path}"
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


class Finetuning(JobTemplate):
    """The fine-tuning job's slots (`FinetuningJob`); what differs by task
    is the job's `FinetuningTask`."""

    memory_advice = "lower --batch-size or --max-sequence-length if memory ran out"
    tokenizer_stage = ("initial weights", "--init takes a pretrain-bert run, a Hugging Face or a Google BERT folder")

    def __init__(self, job):
        super().__init__(job)
        self.task = job.finetuning_task
        self.model_file = self.task.model_file

    def load_data(self):
        """The task's corpus: `max_train_examples` training examples drawn
        with the job's seed (all when it is None), its test split (or
        `max_test_examples` of it, drawn the same way) and, where it has
        one, its validation split."""
        job, task = self.job, self.task
        splits = read_corpus(task.corpus_kind, job)
        self.train_examples = splits["train"]
        if job.max_train_examples is not None:
            self.train_examples = task.sample(self.train_examples, job.max_train_examples, job.seed)
        self.test, self.validation = splits["test"], splits.get("validation")
        if job.max_test_examples is not None:
            self.test = task.sample(self.test, job.max_test_examples, job.seed)
        print(f"task: {self.task.name}{self.task.describe(self.train_examples)}")

    def make_tokenizer(self):
        """The tokenizer of the initial weights (`--init`'s, or a new one),
        which are loaded here too: a checkpoint's backbone inside the strategy's scope."""
        job = self.job
        with self.strategy.scope():
            if job.init:
                self.backbone, tokenizer, self.origin = initial_bert(job.init, job.lower_case)
                if job.random_weights:  # same architecture and tokenizer, fresh weights
                    self.backbone = BertBackbone.from_config(self.backbone.get_config())
                    self.origin = f"random weights, architecture and tokenizer of {self.origin}"
            else:
                tokenizer = learn_wordpiece_tokenizer(
                    job, self.output_dir, self.strategy, self.task.vocabulary_texts(self.train_examples),
                    reserved_tokens=BERT_RESERVED_TOKENS, lower_case=True if job.lower_case is None else job.lower_case,
                )
                self.backbone = BertBackbone.from_preset(job.preset, vocabulary_size=tokenizer.vocabulary_size,
                                                         max_sequence_length=max(job.max_sequence_length, 2))
                self.origin = "from scratch"
        save_tokenizer(tokenizer, self.output_dir)
        return tokenizer

    def make_batches(self, tokenizer):
        job = self.job
        if job.max_sequence_length > self.backbone.max_sequence_length:
            raise ValueError(f"--max-sequence-length {job.max_sequence_length} exceeds the backbone's "
                             f"{self.backbone.max_sequence_length} positions.")

        def train_data():
            return self.task.dataset(job, self.train_examples, tokenizer, training=True)

        steps_per_epoch = int(with_known_length(train_data()).cardinality())
        return Batches(train_data, steps_per_epoch, epochs=max(job.epochs, -(-job.min_steps // steps_per_epoch)))

    def make_model(self, tokenizer, total_steps):
        model = self.task.model(self.backbone, self.train_examples)
        self.task.compile(model, total_steps, peak_learning_rate=self.job.peak_learning_rate, **compile_options(self.job))
        return model

    def describe(self, model, batches):
        return (f"BERT {self.task.name} model ({self.origin}): {model.count_params():,} parameters, "
                f"{batches.steps} steps")

    def evaluate(self, model, tokenizer):
        results = self.task.evaluate(model, tokenizer, self.train_examples, self.test, self.job)
        if self.validation is not None:
            results["validation"] = self.task.validate(model, tokenizer, self.validation, self.job)
        return results

    def evaluate_again(self):
        self.load_data()
        return self.task.evaluate(self.trained_model(), self.tokenizer(), self.train_examples, self.test, self.job)

    def inference_modules(self, decoding=None):
        """`{export name: module}` of the run's task, e.g. `{"classifier": TextClassifier}`."""
        results = json.loads((Path(self.job.output_dir) / "results.json").read_text())
        return {self.task.name: self.task.inference_module(self.trained_model(), self.tokenizer(), self.job, results)}
