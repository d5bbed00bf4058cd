"""The jobs' configs: frozen dataclasses whose fields are the command-line options.

This module imports neither TensorFlow nor Keras, so the command line can
list every option (`--help`) at once. A job's methods import the module
that runs it (`tf_models.jobs.translation`, `.pretraining` or
`.finetuning`) only when they are called.

Example:
>>> job = TranslationJob(output_dir="runs/tiny", preset="tiny", epochs=1)
>>> job.preset, job.decoding.settings
('tiny', {'method': 'beam', 'beam_width': 4, 'alpha': 0.6})
>>> FinetuningJob.from_values({"task": "qa", "epochs": 2}).task  # an old task name, upgraded
'question_answerer'
"""

import dataclasses
import importlib
import json
import shutil
from pathlib import Path
from typing import ClassVar

from tf_models.cluster import is_chief_task, read_tf_config, task_name
from tf_models.inference.decoding_config import DecodingConfig
from tf_models.jobs.run_folder import RunFolderLock
from tf_models.options import option

# The fine-tuning tasks: the task's one name (its `--task` value, model file
# `<name>.keras`, export name and exported `settings["task"]`) -> the class
# that implements it. Adding a task is one class (see
# `finetuning_tasks.FinetuningTask`) and one line here.
FINETUNING_TASKS = {
    "classifier": "tf_models.jobs.finetuning_tasks.Classify",
    "regressor": "tf_models.jobs.finetuning_tasks.Regress",
    "tagger": "tf_models.jobs.finetuning_tasks.Tag",
    "question_answerer": "tf_models.jobs.finetuning_tasks.AnswerQuestions",
}
# The names the tasks had before, still accepted (flags, config files, runs saved then).
OLD_TASK_NAMES = {"classify": "classifier", "regress": "regressor", "tag": "tagger", "qa": "question_answerer"}


def writes_run_folder(tf_config=None):
    """Whether this process owns the run folder: yes, unless `TF_CONFIG`
    makes it a training task other than the chief (the `chief` task, or
    worker 0 when there is none).

    Example:
    >>> writes_run_folder({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}})
    False
    """
    return is_chief_task(read_tf_config() if tf_config is None else tf_config)


def finetuning_task(name):
    """The `FinetuningTask` named `name` (a key of `FINETUNING_TASKS`)."""
    name = OLD_TASK_NAMES.get(name, name)
    if name not in FINETUNING_TASKS:
        raise ValueError(f"Unknown task {name!r}; expected one of {', '.join(FINETUNING_TASKS)}.")
    module, class_name = FINETUNING_TASKS[name].rsplit(".", 1)
    return getattr(importlib.import_module(module), class_name)()


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """Options every job shares, and what every job can do.

    Subclasses name the module that runs them (`runner`); it provides
    `train(job)`, `evaluate(job)` and `inference_modules(job, decoding)`.
    """

    runner: ClassVar[str] = ""
    # The casing of runs saved before `tokenizer_config.json` existed.
    legacy_lower_case: ClassVar[bool] = True
    # Options a resumed run may change: they change nothing that training
    # computes. Any other change makes the start refuse (`run_folder.py`).
    resume_safe_options: ClassVar[frozenset] = frozenset({"output_dir", "verbose", "backup_every", "restart",
                                                                   "worker_timeout"})

    output_dir: str = option("runs/job", "where the run's files go")
    precision: str = option("auto", "auto, float32, mixed_float16 or mixed_bfloat16")
    strategy: str = option("auto", "auto, default, one_device, mirrored, multi_worker or tpu")
    jit_compile: bool = option(False, "compile training steps with XLA")
    steps_per_execution: int = option(1, "training steps per tf.function call")
    seed: int = option(0, "random seed of data order, initialisation and masking")
    backup_every: int = option(
        200, "training steps between backups: a killed run started again with the same command resumes "
        "from the last one, to the same weights"
    )
    verbose: int | None = option(
        None, "training progress: 1 a progress bar, 2 one line per epoch, 0 none; "
        "default: a bar on a terminal, one line per epoch in logs and notebooks"
    )
    worker_timeout: int = option(
        600, "several workers: seconds one waits for the others (to join, or at a step) before it stops with an "
        "error naming them"
    )
    restart: bool = option(
        False, "discard the backup of an interrupted run in output_dir and start afresh (without it, a start "
        "resumes that run, and refuses if options that change the result differ)"
    )

    @classmethod
    def from_values(cls, values, unknown="raise"):
        """The job from a dict of option values (a config file, a saved run's
        `config.json`): lists become tuples, dicts nested configs, and old
        option names and values today's.

        Args:
            values: option name -> value.
            unknown: what to do with names the job does not have: "raise"
                (`ValueError`) or "drop" (a run saved by another version).
        """
        values = cls.upgrade(dict(values))
        fields = {field.name: field for field in dataclasses.fields(cls)}
        names = set(values) - set(fields)
        if names and unknown == "raise":
            raise ValueError(f"Unknown option(s) {sorted(names)}")
        converted = {}
        for name, value in values.items():
            if name not in fields:
                continue
            default = fields[name].default
            if dataclasses.is_dataclass(default) and isinstance(value, dict):
                value = dataclasses.replace(default, **value)
            elif isinstance(value, list):
                value = tuple(value)
            converted[name] = value
        return cls(**converted)

    @classmethod
    def upgrade(cls, values):
        """Old option names and values in `values` (a dict) as today's."""
        return values

    def _runner(self):
        return importlib.import_module(f"tf_models.jobs.{self.runner}")

    def run(self):
        """Trains, evaluates and saves everything under `output_dir`; returns the results.

        A run that fails before training starts (bad data, a flag that does
        not fit) removes the `output_dir` it created, so that no half-made
        run folder is left to be mistaken for one. Once training has begun
        (its TensorBoard `logs/` exist) the folder stays, backups included.

        The process holds the folder's lock while it runs: a second run into
        the same folder stops at once (`RunFolderBusy`).
        """
        output_dir = Path(self.output_dir)
        chief = writes_run_folder()
        # Several workers share one folder: only the chief's may remove it.
        created = not output_dir.exists() and chief
        # One run per folder; the workers of one run lock their own roles. A
        # busy folder raises here, before anything in it is touched.
        lock = RunFolderLock(output_dir, "" if chief else task_name(read_tf_config())).acquire()
        try:
            return self._runner().train(self)
        except BaseException:
            if created and output_dir.is_dir() and not (output_dir / "logs").exists():
                shutil.rmtree(output_dir, ignore_errors=True)  # still under the lock
            raise
        finally:
            lock.release()

    def evaluate(self):
        """Scores the finished run in `output_dir` again on its test data; returns the scores."""
        return self._runner().evaluate(self)

    def inference_modules(self, decoding=None):
        """The finished run's inference modules (`tf.Module`s), by default export name.

        Args:
            decoding: a `DecodingConfig` for translation and language-model
                runs (default: the run's own); other runs take none.
        """
        return self._runner().inference_modules(self, decoding)

    def export(self, base_dir="saved_models", name=None, version=None, decoding=None):
        """Exports the finished run for TF Serving; returns the version folders.

        Args:
            base_dir: the model base path (TF Serving's layout).
            name: the model name; a run that exports several models uses
                it as a prefix. Default: each module's export name.
            version: an int; default: the next free version.
            decoding: a `DecodingConfig` (translation and language-model runs;
                default: the run's).
        """
        from tf_models.jobs.common import export_modules

        return export_modules(self.inference_modules(decoding), base_dir, name, version)


@dataclasses.dataclass(frozen=True)
class TranslationJob(RunOptions):
    """Train a `Transformer` on sentence pairs; report BLEU."""

    runner: ClassVar[str] = "translation"
    legacy_lower_case: ClassVar[bool] = False
    # Noam's schedule does not depend on the number of epochs: a run resumed
    # with more trains on exactly as if it had been started with them.
    resume_safe_options: ClassVar[frozenset] = RunOptions.resume_safe_options | {"epochs", "decoding"}

    source: str = option(
        "software_de_en",
        "software_de_en, ding_de_en, multi30k, files, or tfds:NAME (e.g. tfds:ted_hrlr_translate/pt_to_en)",
    )
    data_dir: str | None = option(None, "folder of multi30k files (e.g. ../shared/data/multi30k)")
    train_files: tuple[str, ...] = option((), "with source=files: SOURCE_FILE TARGET_FILE, line-aligned")
    source_language: str = option("de", "source language (software_de_en, ding_de_en: de or en; multi30k: en, de or fr)")
    target_language: str = option("en", "target language")
    preset: str = option("small", "Transformer preset: test, tiny, small, base, big")
    dropout: float | None = option(None, "dropout rate (default: the preset's, 0.1 in the paper)")
    vocabulary_size: int = option(8000, "shared WordPiece vocabulary size")
    max_length: int = option(48, "longest sentence kept, in tokens")
    batch_size: int = option(64, "global batch size, in sentences")
    bucket_boundaries: tuple[int, ...] = option((), "batch sentences of similar length: e.g. 8 16 32")
    epochs: int = option(8, "passes over the training pairs")
    warmup_steps: int = option(1000, "warm-up steps of the Noam schedule")
    label_smoothing: float = option(0.1, "label smoothing (0.1 in the paper)")
    average_last: int = option(
        5, "checkpoint averaging: evaluate and save the mean of the weights at the last N epoch ends when its "
        "validation loss is lower (the paper averaged the last 5 checkpoints); 1: the last weights"
    )
    max_train_pairs: int | None = option(None, "use at most this many training pairs")
    test_size: int = option(1000, "held-out test pairs when the source has no test split")
    decoding: DecodingConfig = option(DecodingConfig("beam"), "decoding of the test set and of exports")

    def __post_init__(self):
        if isinstance(self.decoding, str):  # a method's name, as config files had it before DecodingConfig
            object.__setattr__(self, "decoding", DecodingConfig(self.decoding))

    @classmethod
    def upgrade(cls, values):
        # Before DecodingConfig: "decoding" named the method, beside "beam_width" and "alpha".
        if "beam_width" in values or "alpha" in values:
            decoding = values.get("decoding", {})
            changes = {"method": decoding} if isinstance(decoding, str) else dict(decoding)
            for name in ("beam_width", "alpha"):
                if name in values:
                    changes.setdefault(name, values.pop(name))
            values["decoding"] = changes
        return values


@dataclasses.dataclass(frozen=True)
class PretrainingJob(RunOptions):
    """Pretrain BERT: masked LM, with or without next-sentence prediction."""

    runner: ClassVar[str] = "pretraining"

    source: str = option(
        "jane_austen", "jane_austen, fine_food_reviews (the training reviews' text, labels dropped), "
        "debian_descriptions (the training split of apt's package descriptions), or files (plain text, blank "
        "line between documents)"
    )
    document_files: tuple[str, ...] = option((), "with source=files: the text files")
    preset: str = option("tiny", "BERT preset: test, tiny, mini, small, medium, base, large")
    vocabulary_size: int = option(8000, "WordPiece vocabulary size")
    max_sequence_length: int = option(128, "packed sequence length")
    next_sentence_prediction: bool = option(
        True, "BERT's two objectives, masked LM and next-sentence prediction, on sentence pairs padded to "
        "--max-sequence-length; --no-next-sentence-prediction: masked LM alone on sequences packed full of text "
        "(RoBERTa's input: no compute spent on padding)"
    )
    masking_rate: float = option(0.15, "fraction of tokens masked and predicted (BERT: 0.15)")
    max_predictions_per_sequence: int | None = option(
        None, "most masked tokens per sequence (default: --masking-rate x --max-sequence-length rounded up, BERT's "
        "20 for 0.15 x 128)"
    )
    whole_word_masking: bool = option(False, "mask all pieces of a word together")
    batch_size: int = option(32, "global batch size")
    steps: int = option(600, "training steps")
    peak_learning_rate: float = option(1e-3, "peak learning rate (BERT-Base used 1e-4)")
    held_out_documents: int = option(10, "documents kept aside for evaluation")


@dataclasses.dataclass(frozen=True)
class FinetuningJob(RunOptions):
    """Fine-tune BERT: classify texts or pairs, score pairs, tag words, or answer questions."""

    runner: ClassVar[str] = "finetuning"

    task: str = option(
        "classifier", "classifier (a label per text or pair), regressor (a score per text or pair, e.g. "
        "STS-B), tagger (a tag per word) or question_answerer (answer spans); the old names classify, "
        "regress, tag and qa still work"
    )
    source: str = option(
        "fine_food_reviews", "classifier: fine_food_reviews, debian_sections (package descriptions by archive "
        "section; scored on its validation split too), sst2 or files (GLUE-style TSV); "
        "regressor: stsb or files (TSV); tagger: files (CoNLL); question_answerer: squad or files "
        "(SQuAD v1.1 JSON)"
    )
    data_dir: str | None = option(None, "folder of sst2, stsb or squad files (none: download them)")
    train_file: str | None = option(None, "with source=files: the training file")
    test_file: str | None = option(None, "with source=files: the test file")
    text_columns: tuple[str, ...] = option(
        ("sentence",), "classifier, regressor, files: text column(s) (regressor: e.g. sentence1 sentence2)"
    )
    label_column: str = option("label", "classifier, regressor, files: label or score column")
    word_column: int = option(0, "tagger: column of the words")
    tag_column: int = option(-1, "tagger: column of the tags")
    init: str | None = option(
        None, "start from: a pretrain-bert run, a Hugging Face BERT folder (config.json, model.safetensors, "
        "vocab.txt) or a Google BERT folder (bert_config.json, bert_model.ckpt.*, vocab.txt); none: from scratch"
    )
    random_weights: bool = option(
        False, "with --init: keep its architecture and tokenizer but start from random weights "
        "(the controlled twin that shows what pretraining contributes)"
    )
    lower_case: bool | None = option(
        None, "lower-case the text (default: a Google checkpoint's folder name says, else uncased)"
    )
    preset: str = option("tiny", "BERT preset when training from scratch")
    vocabulary_size: int = option(8000, "vocabulary size when training from scratch")
    max_sequence_length: int = option(128, "packed sequence length (question_answerer: 384 in BERT)")
    batch_size: int = option(32, "global batch size")
    epochs: int = option(3, "passes over the training set")
    min_steps: int = option(0, "train at least this many steps: more epochs when there are few examples")
    peak_learning_rate: float = option(1e-4, "peak learning rate (2e-5 to 5e-5 for BERT-Base)")
    max_train_examples: int | None = option(
        None, "train on this many examples drawn at random with --seed (a label budget); default: all")
    max_query_length: int = option(64, "question_answerer: most question pieces")
    doc_stride: int = option(128, "question_answerer: distance between the windows over a long context, in pieces")
    max_answer_length: int = option(30, "question_answerer: longest answer, in pieces")

    def __post_init__(self):
        object.__setattr__(self, "task", OLD_TASK_NAMES.get(self.task, self.task))

    @property
    def finetuning_task(self):
        """The `FinetuningTask` that `task` names."""
        return finetuning_task(self.task)


@dataclasses.dataclass(frozen=True)
class LanguageModelJob(RunOptions):
    """Train a decoder-only CausalLM on documents; report held-out perplexity."""

    runner: ClassVar[str] = "language_model"
    resume_safe_options: ClassVar[frozenset] = RunOptions.resume_safe_options | {"prompts", "sample_length",
                                                                                 "decoding"}

    source: str = option("jane_austen", "jane_austen, or files (plain text, blank line between documents)")
    document_files: tuple[str, ...] = option((), "with source=files: the text files")
    tokens: str = option("characters", "characters, or wordpiece (uncased subwords)")
    vocabulary_size: int = option(4000, "wordpiece: vocabulary size; characters: most characters kept")
    preset: str = option("tiny", "CausalLM preset: test, tiny, gpt2_small")
    dropout: float | None = option(None, "dropout rate (default: the preset's)")
    sequence_length: int = option(128, "tokens per training window (at most the preset's context)")
    batch_size: int = option(32, "global batch size, in windows")
    steps: int = option(1500, "training steps")
    peak_learning_rate: float = option(2e-3, "peak learning rate (warm-up 10%, then linear decay)")
    held_out_documents: int = option(10, "documents kept aside for perplexity and the baselines")
    prompts: tuple[str, ...] = option(("It is a truth universally acknowledged", "Emma"),
                                      "texts the run continues at the end, as samples")
    sample_length: int = option(200, "most tokens generated per sample (and no further than sequence_length)")
    decoding: DecodingConfig = option(DecodingConfig("sample", temperature=0.8), "decoding of the samples")


# What `config.json`'s "job" names, for `load_job`.
JOB_CLASSES = {cls.__name__: cls for cls in (TranslationJob, PretrainingJob, FinetuningJob, LanguageModelJob)}


def load_job(run_dir):
    """The job config a run saved in its `config.json`, pointing at where
    the run is now (it may have been moved). Options that this version no
    longer knows are dropped."""
    config_file = Path(run_dir) / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run folder (it has no config.json): give the "
                                "--output-dir of a finished run, or an export under saved_models/.")
    config = json.loads(config_file.read_text())
    job_class = JOB_CLASSES[config.pop("job")]
    return job_class.from_values({**config, "output_dir": str(run_dir)}, unknown="drop")
