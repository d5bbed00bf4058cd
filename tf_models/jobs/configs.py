"""The jobs' configs: frozen dataclasses whose fields are the command-line options.

`JOBS` is the one list of jobs: the command line makes a command of each
(`command`), `load_job` finds a run's job by name, and `serving_module`
finds the class behind an export's task. Each job names its
`JobTemplate` (`template_class`: the sequence it runs, its slots filled).

This module imports neither TensorFlow nor Keras, so the command line can
list every option (`--help`) at once: a job's template is imported only
when it is used.

Example:
>>> job = TranslationJob(output_dir="runs/tiny", preset="tiny", epochs=1)
>>> job.preset, job.decoding.settings
('tiny', {'method': 'beam', 'beam_width': 4, 'alpha': 0.6})
>>> [job.command for job in JOBS]
['train-translation', 'pretrain-bert', 'finetune-bert', 'train-lm']
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
# that implements it and the serving module of its exports. Adding a task
# is one class (see `finetuning_tasks.FinetuningTask`) and one line here.
FINETUNING_TASKS = {
    "classifier": ("tf_models.jobs.finetuning_tasks.Classify", "tf_models.inference.bert.TextClassifier"),
    "regressor": ("tf_models.jobs.finetuning_tasks.Regress", "tf_models.inference.bert.TextRegressor"),
    "tagger": ("tf_models.jobs.finetuning_tasks.Tag", "tf_models.inference.bert.TokenTagger"),
    "question_answerer": ("tf_models.jobs.finetuning_tasks.AnswerQuestions",
                          "tf_models.inference.bert.QuestionAnswerer"),
}


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
    if name not in FINETUNING_TASKS:
        raise ValueError(f"Unknown task {name!r}; expected one of {', '.join(FINETUNING_TASKS)}.")
    return _import(FINETUNING_TASKS[name][0])()


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """Options every job shares, and what every job can do.

    Subclasses name their command (`command`), their `JobTemplate`
    (`template_class`, "module.Class") and the serving modules of their exports
    (`serving`: export task -> "module.Class").
    """

    command: ClassVar[str] = ""
    template_class: ClassVar[str] = ""
    serving: ClassVar[dict] = {}
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
        `config.json`): lists become tuples, dicts nested configs.

        Args:
            values: option name -> value.
            unknown: what to do with names the job does not have: "raise"
                (`ValueError`) or "drop" (a run saved by another version).
        """
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

    def template(self, **kwargs):
        """The job's `JobTemplate`, which runs it (`kwargs`: its own arguments)."""
        return _import(self.template_class)(self, **kwargs)

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
            return self.template().run()
        except BaseException:
            if created and output_dir.is_dir() and not (output_dir / "logs").exists():
                shutil.rmtree(output_dir, ignore_errors=True)  # still under the lock
            raise
        finally:
            lock.release()

    def evaluate(self):
        """Scores the finished run in `output_dir` again on its test data; returns the scores."""
        return self.template().evaluate_again()

    def inference_modules(self, decoding=None):
        """The finished run's inference modules (`tf.Module`s), by default export name.

        Args:
            decoding: a `DecodingConfig` for translation and language-model
                runs (default: the run's own); other runs take none.
        """
        return self.template().inference_modules(decoding)

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

    command: ClassVar[str] = "train-translation"
    template_class: ClassVar[str] = "tf_models.jobs.translation.Translation"
    serving: ClassVar[dict] = {"translator": "tf_models.inference.translator.Translator"}
    # Noam's schedule does not depend on the number of epochs: a run resumed
    # with more trains on exactly as if it had been started with them.
    resume_safe_options: ClassVar[frozenset] = RunOptions.resume_safe_options | {"epochs", "decoding"}

    source: str = option(
        "software_de_en",
        "software_de_en, software_zh_en (Chinese), ding_de_en, multi30k, files, or tfds:NAME (e.g. "
        "tfds:ted_hrlr_translate/pt_to_en)",
    )
    data_dir: str | None = option(None, "folder of multi30k files (e.g. ../shared/data/multi30k)")
    train_files: tuple[str, ...] = option((), "with source=files: SOURCE_FILE TARGET_FILE, line-aligned")
    source_language: str | None = option(
        None, "source language (default: the corpus' own; software_de_en, ding_de_en: de or en; software_zh_en: "
        "zh or en; multi30k: de, en or fr, default de)"
    )
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


@dataclasses.dataclass(frozen=True)
class PretrainingJob(RunOptions):
    """Pretrain BERT: masked LM, with or without next-sentence prediction."""

    command: ClassVar[str] = "pretrain-bert"
    template_class: ClassVar[str] = "tf_models.jobs.pretraining.Pretraining"
    serving: ClassVar[dict] = {"fill_mask": "tf_models.inference.bert.FillMask",
                               "sentence_encoder": "tf_models.inference.bert.SentenceEncoder"}

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

    command: ClassVar[str] = "finetune-bert"
    template_class: ClassVar[str] = "tf_models.jobs.finetuning.Finetuning"
    serving: ClassVar[dict] = {name: serving for name, (_, serving) in FINETUNING_TASKS.items()}

    task: str = option(
        "classifier", "classifier (a label per text or pair), regressor (a score per text or pair, e.g. "
        "STS-B), tagger (a tag per word) or question_answerer (answer spans)"
    )
    source: str = option(
        "fine_food_reviews", "classifier: fine_food_reviews, debian_sections (package descriptions by archive "
        "section; scored on its validation split too), sst2 or files (GLUE-style TSV); "
        "regressor: stsb or files (TSV); tagger: debian_word_classes (each word's class from WordNet, in "
        "sentences of package descriptions) or files (CoNLL); question_answerer: squad or files "
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
    max_test_examples: int | None = option(
        None, "score on this many test examples drawn at random with --seed (quicker, noisier); default: all")
    max_query_length: int = option(64, "question_answerer: most question pieces")
    doc_stride: int = option(128, "question_answerer: distance between the windows over a long context, in pieces")
    max_answer_length: int = option(30, "question_answerer: longest answer, in pieces")

    @property
    def finetuning_task(self):
        """The `FinetuningTask` that `task` names."""
        return finetuning_task(self.task)


@dataclasses.dataclass(frozen=True)
class LanguageModelJob(RunOptions):
    """Train a decoder-only CausalLM on documents; report held-out perplexity."""

    command: ClassVar[str] = "train-lm"
    template_class: ClassVar[str] = "tf_models.jobs.language_model.LanguageModel"
    serving: ClassVar[dict] = {"text_generator": "tf_models.inference.text_generator.TextGenerator"}
    resume_safe_options: ClassVar[frozenset] = RunOptions.resume_safe_options | {"prompts", "sample_length",
                                                                                 "decoding"}

    source: str = option(
        "jane_austen", "jane_austen, fine_food_reviews, debian_descriptions, or files (plain text, blank line "
        "between documents)"
    )
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


# Every job: adding one is its config class here, its `JobTemplate` and a line here.
JOBS = (TranslationJob, PretrainingJob, FinetuningJob, LanguageModelJob)


def _import(dotted):
    module, name = dotted.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def serving_module(task):
    """The `ServingModule` class whose exports record `settings["task"] == task`.

    Example:
    >>> serving_module("translator").__name__
    'Translator'
    """
    for job in JOBS:
        if task in job.serving:
            return _import(job.serving[task])
    raise ValueError(f"{task!r} is no export task of this version of tf_models; known: "
                     f"{', '.join(task for job in JOBS for task in job.serving)}. Export the run again.")


def load_job(run_dir):
    """The job config a run saved in its `config.json`, pointing at where
    the run is now (it may have been moved). Options that this version no
    longer knows are dropped; a run saved by a version whose files this one
    cannot read is refused, asking to run the job again."""
    run_dir = Path(run_dir)
    config_file = run_dir / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run folder (it has no config.json): give the "
                                "--output-dir of a finished run, or an export under saved_models/.")
    config = json.loads(config_file.read_text())
    jobs = {job.__name__: job for job in JOBS}
    job_class = jobs.get(config.pop("job", None))
    old = (job_class is None or config.get("task", "classifier") not in FINETUNING_TASKS
           or isinstance(config.get("decoding"), str) or "beam_width" in config
           or ((run_dir / "vocab.txt").exists() and not (run_dir / "tokenizer_config.json").exists()))
    if old:
        raise ValueError(f"{run_dir} was made by an older version of tf_models, whose run folders this one does "
                         "not read: run the job again.")
    return job_class.from_values({**config, "output_dir": str(run_dir)}, unknown="drop")
