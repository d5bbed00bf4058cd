"""The training jobs behind the command line and the main job.

Each job is a frozen config (a dataclass whose fields are the command-line
options) and a function that runs it: load the data, train a tokenizer,
build the tf.data pipeline, build and compile the model inside the
distribution strategy's scope, `fit`, evaluate on held-out data, and save
everything under `output_dir`:

    config.json    the resolved config          vocab.txt, tokenizer_config.json
    *.keras        the trained model                         the tokenizer
    results.json   the scores
    history.csv, logs/ (TensorBoard), best.keras  from the callbacks
"""

import contextlib
import dataclasses
import json
import logging
import random
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tf_models.checkpoints import load_google_bert, load_huggingface_bert
from tf_models.data import (
    documents_dataset,
    load_classification_tsv,
    load_conll,
    load_documents,
    load_parallel_files,
    load_source,
    load_squad,
    split_sentences,
    squad,
)
from tf_models.data.pipelines import (
    DropCounter,
    bert_pretraining_dataset,
    classification_dataset,
    translation_dataset,
    with_known_length,
)
from tf_models.data.splits import drop_held_out_sources, split_by_source
from tf_models.data.tasks import squad_dataset, squad_predictions, tagging_dataset, word_predictions
from tf_models.data.tokenizers import (
    BERT_RESERVED_TOKENS,
    TRANSLATION_RESERVED_TOKENS,
    WordPieceTokenizer,
    train_wordpiece_tokenizer,
)
from tf_models.export import export_saved_model, write_models_config
from tf_models.inference import (
    FillMask,
    QuestionAnswerer,
    SentenceEncoder,
    TextClassifier,
    TokenTagger,
    Translator,
)
from tf_models.models import (
    BertBackbone,
    BertClassifier,
    BertPretrainer,
    BertSpanLabeler,
    BertTokenClassifier,
    Transformer,
)
from tf_models.training import (
    compile_bert_classifier,
    compile_bert_pretrainer,
    compile_bert_span_labeler,
    compile_bert_token_classifier,
    compile_transformer,
    progress_verbosity,
    select_policy,
    select_strategy,
    training_callbacks,
)
from tf_models.training.baselines import majority_class, tfidf_logistic_regression
from tf_models.training.evaluation import classification_scores, corpus_bleu, squad_scores, tagging_scores

logger = logging.getLogger(__name__)


def option(default, help):
    """A config field with its command-line help."""
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """Options every job shares."""

    output_dir: str = option("runs/job", "where the run's files go")
    precision: str = option("auto", "auto, float32, mixed_float16 or mixed_bfloat16")
    strategy: str = option("auto", "auto, default, one_device, mirrored, multi_worker or tpu")
    jit_compile: bool = option(False, "compile training steps with XLA")
    steps_per_execution: int = option(1, "training steps per tf.function call")
    seed: int = option(0, "random seed of data order, initialisation and masking")
    verbose: int | None = option(
        None, "training progress: 1 a progress bar, 2 one line per epoch, 0 none; "
        "default: a bar on a terminal, one line per epoch in logs and notebooks"
    )


@dataclasses.dataclass(frozen=True)
class TranslationJob(RunOptions):
    """Train a `Transformer` on sentence pairs; report BLEU."""

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
    max_train_pairs: int | None = option(None, "use at most this many training pairs")
    test_size: int = option(1000, "held-out test pairs when the source has no test split")
    decoding: str = option("beam", "decoding of the test set and of exports: greedy, beam or sample")
    beam_width: int = option(4, "beam search width (the paper: 4)")
    alpha: float = option(0.6, "beam search length penalty exponent (the paper: 0.6)")

    @property
    def decoding_options(self):
        """The `Translator` arguments of the chosen decoding."""
        if self.decoding == "beam":
            return {"method": "beam", "beam_width": self.beam_width, "alpha": self.alpha}
        if self.decoding == "sample":
            return {"method": "sample", "seed": self.seed}
        return {"method": self.decoding}


@dataclasses.dataclass(frozen=True)
class PretrainingJob(RunOptions):
    """Pretrain BERT with masked LM + next-sentence prediction."""

    source: str = option(
        "jane_austen", "jane_austen, fine_food_reviews (the training reviews' text, labels dropped), "
        "or files (plain text, blank line between documents)"
    )
    document_files: tuple[str, ...] = option((), "with source=files: the text files")
    preset: str = option("tiny", "BERT preset: test, tiny, mini, small, medium, base, large")
    vocabulary_size: int = option(8000, "WordPiece vocabulary size")
    max_sequence_length: int = option(128, "packed sequence length")
    max_predictions_per_sequence: int = option(20, "most masked tokens per sequence")
    whole_word_masking: bool = option(False, "mask all pieces of a word together")
    batch_size: int = option(32, "global batch size")
    steps: int = option(600, "training steps")
    peak_learning_rate: float = option(1e-3, "peak learning rate (BERT-Base used 1e-4)")
    held_out_documents: int = option(10, "documents kept aside for evaluation")


@dataclasses.dataclass(frozen=True)
class FinetuningJob(RunOptions):
    """Fine-tune BERT: classify texts or pairs, tag words, or answer questions."""

    task: str = option("classify", "classify (texts or pairs), tag (one tag per word) or qa (answer spans)")
    source: str = option(
        "fine_food_reviews", "classify: fine_food_reviews, sst2 or files (GLUE-style TSV); "
        "tag: files (CoNLL); qa: squad or files (SQuAD v1.1 JSON)"
    )
    data_dir: str | None = option(None, "folder of sst2 or squad files (none: download them)")
    train_file: str | None = option(None, "with source=files: the training file")
    test_file: str | None = option(None, "with source=files: the test file")
    text_columns: tuple[str, ...] = option(("sentence",), "classify, files: text column(s)")
    label_column: str = option("label", "classify, files: label column")
    word_column: int = option(0, "tag: column of the words")
    tag_column: int = option(-1, "tag: column of the tags")
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
    max_sequence_length: int = option(128, "packed sequence length (qa: 384 in BERT)")
    batch_size: int = option(32, "global batch size")
    epochs: int = option(3, "passes over the training set")
    peak_learning_rate: float = option(1e-4, "peak learning rate (2e-5 to 5e-5 for BERT-Base)")
    max_train_examples: int | None = option(None, "use at most this many training examples")
    max_query_length: int = option(64, "qa: most question pieces")
    doc_stride: int = option(128, "qa: distance between the windows over a long context, in pieces")
    max_answer_length: int = option(30, "qa: longest answer, in pieces")


@contextlib.contextmanager
def stage(name, advice=""):
    """Prints a line when a stage starts and ends, and names it on failure."""
    started = time.time()
    print(f"[{name}] ...", flush=True)
    try:
        yield
    except Exception as error:
        print(f"[{name}] FAILED after {time.time() - started:.0f}s: {error}", flush=True)
        if advice:
            print(f"[{name}] {advice}", flush=True)
        raise
    print(f"[{name}] done in {time.time() - started:.0f}s", flush=True)


def _start(job):
    """Strategy (first: a multi-worker one needs that), seeds, the output
    folder, the resolved config, and the dtype policy."""
    strategy = select_strategy(job.strategy)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        raise SystemExit(
            "Keras 3's model.fit does not support MultiWorkerMirroredStrategy yet "
            "(keras-team/keras#20585), and the jobs train with fit; "
            "tests/scripts/multi_worker.py shows a custom training loop that does."
        )
    keras.utils.set_random_seed(job.seed)
    output_dir = Path(job.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    config = {"job": type(job).__name__, **dataclasses.asdict(job)}
    (output_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    with strategy.scope():
        policy = select_policy(job.precision, strategy)
    print(f"output: {output_dir}  strategy: {type(strategy).__name__}  precision: {policy.name}")
    return output_dir, strategy


def save_tokenizer(tokenizer, output_dir):
    """Writes what defines a run's WordPiece tokenizer: `vocab.txt` and
    `tokenizer_config.json` (the casing)."""
    tokenizer.save_vocabulary(Path(output_dir) / "vocab.txt")
    settings = {"lower_case": tokenizer.lower_case}
    (Path(output_dir) / "tokenizer_config.json").write_text(json.dumps(settings) + "\n")


def run_tokenizer(run_dir, job):
    """The tokenizer a finished run trained with."""
    run = Path(run_dir)
    if (run / "tokenizer_config.json").exists():
        lower_case = json.loads((run / "tokenizer_config.json").read_text())["lower_case"]
    else:  # runs saved before tokenizer_config.json existed
        lower_case = not isinstance(job, TranslationJob)
    return WordPieceTokenizer(run / "vocab.txt", lower_case=lower_case)


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


def _finish(output_dir, results):
    (output_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {output_dir / 'results.json'}")
    return results


def _compile_options(job):
    return {"jit_compile": job.jit_compile, "steps_per_execution": job.steps_per_execution}


def _as_lists(pairs):
    return [(s.decode("utf-8"), t.decode("utf-8")) for s, t in pairs.as_numpy_iterator()]


def _pairs_dataset(pairs):
    sources, targets = zip(*pairs)
    return tf.data.Dataset.from_tensor_slices((list(sources), list(targets)))


def _translation_splits(job):
    """(train, validation, test, report): lists of (source, target) strings
    with no held-out source in training, and the `SplitReport`."""
    if job.source == "multi30k":
        load = lambda split: _as_lists(  # noqa: E731
            load_source("multi30k", data_dir=job.data_dir, split=split,
                        source_language=job.source_language, target_language=job.target_language)
        )
        val, test = load("val"), load("test_2016_flickr")
        train, report = drop_held_out_sources(load("train"), val, test)  # published splits kept
    else:
        if job.source in ("ding_de_en", "software_de_en"):
            if {job.source_language, job.target_language} != {"de", "en"}:
                raise ValueError(f"{job.source} is German-English: use languages de and en.")
            pairs = _as_lists(load_source(job.source, reverse=job.source_language == "en"))
        elif job.source == "files":
            if len(job.train_files) != 2:
                raise ValueError("source=files needs --train-files SOURCE_FILE TARGET_FILE.")
            pairs = _as_lists(load_parallel_files(*job.train_files))
        elif job.source.startswith("tfds:"):
            pairs = _as_lists(load_source(job.source, split="train"))
        else:
            raise ValueError(f"Unknown translation source {job.source!r}.")
        train, val, test, report = split_by_source(pairs, job.test_size, job.test_size // 2, seed=job.seed)
    if job.max_train_pairs:
        train = train[: job.max_train_pairs]
    return train, val, test, report


def train_translation(job):
    """Runs a `TranslationJob`; returns its results dict."""
    output_dir, strategy = _start(job)
    with stage("data", "check the source and paths, or run `apt-get update` for Debian sources"):
        train, val, test, split_report = _translation_splits(job)
        print(f"pairs: {len(train)} train, {len(val)} validation, {len(test)} test; "
              f"split by source sentence: {split_report}")
    with stage("tokenizer"):
        texts = tf.data.Dataset.from_tensor_slices([s for pair in train for s in pair])
        tokenizer = train_wordpiece_tokenizer(
            texts, job.vocabulary_size, output_dir / "vocab.txt",
            reserved_tokens=TRANSLATION_RESERVED_TOKENS, lower_case=False,
        )
        save_tokenizer(tokenizer, output_dir)
        print(f"shared cased WordPiece vocabulary: {tokenizer.vocabulary_size} tokens")
    counter = DropCounter()
    train_data = translation_dataset(
        _pairs_dataset(train), tokenizer, batch_size=job.batch_size, max_length=job.max_length,
        bucket_boundaries=job.bucket_boundaries, seed=job.seed, counter=counter,
    )
    train_data = with_known_length(train_data)  # one pass to count the batches,
    counter.reset()  # which the length filter must not count as an epoch
    val_data = with_known_length(translation_dataset(
        _pairs_dataset(val), tokenizer, batch_size=job.batch_size, max_length=job.max_length,
        shuffle_buffer_size=0,
    ))
    with strategy.scope():
        overrides = {} if job.dropout is None else {"dropout": job.dropout}
        model = Transformer.from_preset(job.preset, vocabulary_size=tokenizer.vocabulary_size, **overrides)
        compile_transformer(
            model, warmup_steps=job.warmup_steps, label_smoothing=job.label_smoothing,
            **_compile_options(job),
        )
    print(f"Transformer '{job.preset}': {model.count_params():,} parameters")
    with stage("train", "lower --batch-size or --max-length if memory ran out"):
        model.fit(train_data, validation_data=val_data, epochs=job.epochs,
                  callbacks=training_callbacks(output_dir), verbose=progress_verbosity(job.verbose),
                  shuffle=False)  # the pipeline shuffles
        print(f"length filter: {counter} (longer than {job.max_length} tokens), over all epochs")
        model.save(output_dir / "transformer.keras")
    with stage("evaluate"):
        results = evaluate_translation(model, tokenizer, test, job.max_length, train_pairs=train,
                                       **job.decoding_options)
        results["split"] = dataclasses.asdict(split_report)
    return _finish(output_dir, results)


def evaluate_translation(model, tokenizer, pairs, max_length, samples=5, method="greedy",
                         train_pairs=(), **options):
    """Decodes the sources of `pairs`; BLEU against their targets, with baselines.

    Beside the test BLEU stand, from the same run: the BLEU of copying the
    source unchanged (what a model scores that learned nothing but to
    echo; names and numbers make it non-zero), and the BLEU on as many
    training pairs (the gap to the test BLEU is what memorising costs).

    Args:
        model: a trained `Transformer`.
        tokenizer: its tokenizer.
        pairs: the test `(source, target)` strings.
        max_length: the longest translation, in tokens.
        samples: how many translations to print and return.
        method: the `Translator`'s decoding (e.g. "beam").
        train_pairs: training pairs; up to `len(pairs)` of them, evenly
            spaced, are decoded for the training BLEU (none: not computed).
        **options: more `Translator` options (e.g. beam_width=4, alpha=0.6).
    """
    translator = Translator(model, tokenizer, max_length=max_length, method=method, **options)
    sources, references = zip(*pairs)
    started = time.time()
    hypotheses = translator.translate(list(sources))
    seconds = time.time() - started
    bleu, signature = corpus_bleu(hypotheses, references)
    baselines = {"copy_source_bleu": corpus_bleu(list(sources), references)[0]}
    if train_pairs:
        seen = list(train_pairs)[:: max(len(train_pairs) // len(pairs), 1)][: len(pairs)]
        baselines["train_bleu"] = corpus_bleu(translator.translate([s for s, _ in seen]),
                                              [t for _, t in seen])[0]
    decoding = ", ".join(f"{k} {v}" for k, v in translator.settings.items() if k != "task")
    print(f"test BLEU {bleu:.1f} ({len(pairs)} sentences; {decoding}; {signature})")
    print(f"  baseline, copy the source: BLEU {baselines['copy_source_bleu']:.1f}"
          + (f"; same model on training pairs: BLEU {baselines['train_bleu']:.1f}" if train_pairs else ""))
    if bleu <= baselines["copy_source_bleu"]:
        print("  the model does NOT beat copying the source: it has not learned to translate")
    for source, hypothesis, reference in list(zip(sources, hypotheses, references))[:samples]:
        print(f"  source:     {source}\n  translated: {hypothesis}\n  reference:  {reference}")
    return {
        "bleu": bleu,
        "bleu_signature": signature,
        "baselines": baselines,
        "decoding": translator.settings,
        "test_sentences": len(pairs),
        "decode_seconds_per_sentence": seconds / max(len(pairs), 1),
        "samples": [{"source": s, "translation": h, "reference": r}
                    for s, h, r in list(zip(sources, hypotheses, references))[:samples]],
    }


def review_documents(data):
    """The texts of `ClassificationData` as documents of sentences, labels
    dropped: the unlabelled in-domain text of self-pretraining."""
    texts, _ = texts_and_labels(data)
    return [split_sentences(" ".join(text) if isinstance(text, tuple) else text) for text in texts]


def _documents(job):
    if job.source == "jane_austen":
        documents = load_source("jane_austen")
    elif job.source == "fine_food_reviews":  # the training reviews only: test texts stay unseen
        return review_documents(load_source("fine_food_reviews", split="train"))
    elif job.source == "files":
        documents = load_documents(list(job.document_files))
    else:
        raise ValueError(f"Unknown pretraining source {job.source!r}.")
    return [[s.decode("utf-8") for s in doc] for doc in documents.as_numpy_iterator()]


def pretrain_bert(job):
    """Runs a `PretrainingJob`; returns its results dict."""
    output_dir, strategy = _start(job)
    with stage("data", "check the source and paths, or run `apt-get update` for Debian sources"):
        documents = _documents(job)
        random.Random(job.seed).shuffle(documents)
        held_out, documents = documents[: job.held_out_documents], documents[job.held_out_documents :]
        sentences = sum(len(d) for d in documents)
        print(f"documents: {len(documents)} for training ({sentences} sentences), {len(held_out)} held out")
    with stage("tokenizer"):
        texts = tf.data.Dataset.from_tensor_slices([s for d in documents for s in d])
        tokenizer = train_wordpiece_tokenizer(
            texts, job.vocabulary_size, output_dir / "vocab.txt", reserved_tokens=BERT_RESERVED_TOKENS
        )
        save_tokenizer(tokenizer, output_dir)
        print(f"uncased WordPiece vocabulary: {tokenizer.vocabulary_size} tokens")
    options = dict(
        batch_size=job.batch_size,
        max_sequence_length=job.max_sequence_length,
        max_predictions_per_sequence=job.max_predictions_per_sequence,
        whole_word_masking=job.whole_word_masking,
    )
    with stage("pipeline"):
        train_data = bert_pretraining_dataset(
            documents_dataset(documents), tokenizer, seed=job.seed, **options
        ).repeat()
        eval_data = bert_pretraining_dataset(
            documents_dataset(held_out), tokenizer, seed=job.seed + 1, **options
        )
    with strategy.scope():
        backbone = BertBackbone.from_preset(
            job.preset, vocabulary_size=tokenizer.vocabulary_size,
            max_sequence_length=job.max_sequence_length,
        )
        model = BertPretrainer(backbone)
        compile_bert_pretrainer(model, job.steps, peak_rate=job.peak_learning_rate, **_compile_options(job))
    print(f"BERT '{job.preset}' with MLM and NSP heads: {model.count_params():,} parameters")
    steps_per_epoch = max(job.steps // 4, 1)  # four progress reports
    with stage("train", "lower --batch-size or --max-sequence-length if memory ran out"):
        model.fit(train_data, steps_per_epoch=steps_per_epoch, epochs=-(-job.steps // steps_per_epoch),
                  callbacks=training_callbacks(output_dir, monitor="loss"),
                  verbose=progress_verbosity(job.verbose), shuffle=False)
        backbone.save(output_dir / "backbone.keras")
        model.save(output_dir / "pretrainer.keras")
    with stage("evaluate"):
        frequent = most_frequent_token([s for d in documents for s in d], tokenizer)
        results = evaluate_pretrainer(model, eval_data, frequent, tokenizer)
    return _finish(output_dir, results)


def token_counts(texts, tokenizer):
    """How often each token id occurs in `texts` (a list of strings)."""
    counts = np.zeros(tokenizer.vocabulary_size, np.int64)
    batches = tf.data.Dataset.from_tensor_slices(list(texts)).batch(1024).map(tokenizer.tokenize)
    for ids in batches:
        counts += np.bincount(ids.flat_values.numpy(), minlength=tokenizer.vocabulary_size)
    return counts


def evaluate_pretrainer(model, data, most_frequent_id=None, tokenizer=None):
    """Masked-LM and NSP accuracy on a pretraining dataset, with baselines.

    One pass over `data`: the model and the baselines are scored on the
    same masked positions and the same sentence pairs (the pipeline draws
    new masks on every pass, so two passes would not compare).

    Args:
        model: a `BertPretrainer`.
        data: a `bert_pretraining_dataset`.
        most_frequent_id: the most frequent token of the training text;
            the masked-LM baseline predicts it at every masked position.
        tokenizer: names that token in the results.

    Returns:
        `mlm_logits_accuracy`, `nsp_logits_accuracy`, `mlm_loss` (mean
        cross-entropy per masked token, in nats) and `baselines`:
        `mlm_most_frequent_token_accuracy`, `nsp_chance_accuracy` (0.5) and
        `nsp_majority_accuracy`, each on the same examples.
    """
    correct = total = baseline_correct = 0
    log_loss = 0.0
    nsp_correct, nsp_labels = 0, []
    for features, labels, weights in data:
        outputs = model.predict_on_batch(features)
        mlm = np.asarray(outputs["mlm_logits"], np.float64)  # (B, P, V)
        targets, mask = labels["mlm_logits"].numpy(), weights["mlm_logits"].numpy() > 0  # (B, P)
        peak = mlm.max(-1, keepdims=True)
        log_probabilities = mlm - peak - np.log(np.exp(mlm - peak).sum(-1, keepdims=True))
        target_log_probabilities = np.take_along_axis(log_probabilities, targets[..., None], -1)[..., 0]
        correct += int(((mlm.argmax(-1) == targets) & mask).sum())
        baseline_correct += int(((targets == most_frequent_id) & mask).sum())
        log_loss -= float(target_log_probabilities[mask].sum())
        total += int(mask.sum())
        nsp = labels["nsp_logits"].numpy()
        nsp_correct += int((np.argmax(outputs["nsp_logits"], -1) == nsp).sum())
        nsp_labels.append(nsp)
    nsp_labels = np.concatenate(nsp_labels)
    results = {
        "mlm_logits_accuracy": correct / max(total, 1),
        "nsp_logits_accuracy": nsp_correct / max(len(nsp_labels), 1),
        "mlm_loss": log_loss / max(total, 1),
        "masked_tokens": total,
        "sentence_pairs": len(nsp_labels),
        "baselines": {
            "mlm_most_frequent_token_accuracy": baseline_correct / max(total, 1),
            "nsp_chance_accuracy": 0.5,
            "nsp_majority_accuracy": float(max(np.mean(nsp_labels), 1 - np.mean(nsp_labels))),
        },
    }
    if tokenizer is not None and most_frequent_id is not None:
        results["baselines"]["most_frequent_token"] = tokenizer.vocabulary[most_frequent_id]
    base = results["baselines"]
    print(f"held-out documents: masked-LM accuracy {results['mlm_logits_accuracy']:.1%} "
          f"(baseline, always the most frequent token: {base['mlm_most_frequent_token_accuracy']:.1%}), "
          f"NSP accuracy {results['nsp_logits_accuracy']:.1%} (chance 50%, majority "
          f"{base['nsp_majority_accuracy']:.1%}); {total} masked tokens, {len(nsp_labels)} pairs")
    for name, value, baseline in (("masked-LM", results["mlm_logits_accuracy"],
                                   base["mlm_most_frequent_token_accuracy"]),
                                  ("NSP", results["nsp_logits_accuracy"], base["nsp_majority_accuracy"])):
        if value <= baseline:
            print(f"  {name} does NOT beat its baseline")
    return results


def most_frequent_token(texts, tokenizer):
    """The id of the most frequent non-special token in `texts`."""
    counts = token_counts(texts, tokenizer)
    counts[[i for i, token in enumerate(tokenizer.vocabulary) if token.startswith("[")]] = 0
    return int(np.argmax(counts))


def _classification_splits(job):
    if job.source == "fine_food_reviews":
        train = load_source("fine_food_reviews", split="train")
        test = load_source("fine_food_reviews", split="test")
    elif job.source == "sst2":
        train = load_source("sst2", data_dir=job.data_dir, split="train")
        test = load_source("sst2", data_dir=job.data_dir, split="dev")
    elif job.source == "files":
        kwargs = dict(text_columns=job.text_columns, label_column=job.label_column)
        train = load_classification_tsv(job.train_file, **kwargs)
        test = load_classification_tsv(job.test_file, label_names=train.label_names, **kwargs)
    else:
        raise ValueError(f"Unknown classification source {job.source!r}.")
    return train, test


def _finetuning_splits(job):
    """`(train, test)` of the job's task: `ClassificationData` (classify),
    `TaggingData` (tag) or lists of `SquadExample` (qa)."""
    if job.task == "classify":
        return _classification_splits(job)
    if job.task == "tag":
        if job.source != "files":
            raise ValueError("--task tag reads CoNLL files: --source files --train-file F --test-file F.")
        columns = dict(word_column=job.word_column, tag_column=job.tag_column)
        train = load_conll(job.train_file, **columns)
        return train, load_conll(job.test_file, label_names=train.label_names, **columns)
    if job.task == "qa":
        if job.source == "squad":
            return squad(job.data_dir, "train"), squad(job.data_dir, "dev")
        if job.source == "files":
            return load_squad(job.train_file), load_squad(job.test_file)
        raise ValueError("--task qa reads SQuAD v1.1: --source squad, or --source files --train-file F --test-file F.")
    raise ValueError(f"Unknown task {job.task!r}; expected classify, tag or qa.")


def _take(train, count, task):
    """The first `count` training examples (all when `count` is None)."""
    if count is None:
        return train
    if task == "classify":
        return dataclasses.replace(train, dataset=train.dataset.take(count))
    if task == "tag":
        return dataclasses.replace(train, sentences=train.sentences[:count], tags=train.tags[:count])
    return train[:count]


def _texts(train, task):
    """The training texts, to learn a vocabulary from when starting from scratch."""
    if task == "classify":
        return train.dataset.map(_first_text)
    if task == "tag":
        sentences = [" ".join(words) for words in train.sentences]
    else:
        sentences = [text for example in train for text in (example.question, example.context)]
    return tf.data.Dataset.from_tensor_slices(sentences)


def _first_text(texts, label):
    return texts[0]


def _finetuning_dataset(job, examples, tokenizer, training):
    """Batches for `fit` (`training`: shuffled) or for evaluation."""
    shuffle = dict(shuffle_buffer_size=10_000, seed=job.seed) if training else {}
    options = dict(batch_size=job.batch_size, max_sequence_length=job.max_sequence_length, **shuffle)
    if job.task == "classify":
        return classification_dataset(examples.dataset, tokenizer, **options)
    if job.task == "tag":
        return tagging_dataset(examples, tokenizer, **options)
    return squad_dataset(examples, tokenizer, max_query_length=job.max_query_length,
                         doc_stride=job.doc_stride, training=training, **options)


# Where a fine-tuning run saves its model, by task.
FINETUNED_MODEL_FILES = {"classify": "classifier.keras", "tag": "tagger.keras", "qa": "span_labeler.keras"}


def _task_model(task, backbone, train):
    """The task's model on `backbone`, and the function that compiles it."""
    if task == "classify":
        return BertClassifier(backbone, train.num_classes), compile_bert_classifier
    if task == "tag":
        return BertTokenClassifier(backbone, train.num_classes), compile_bert_token_classifier
    return BertSpanLabeler(backbone), compile_bert_span_labeler


def finetune_bert(job):
    """Runs a `FinetuningJob`; returns its results dict."""
    output_dir, strategy = _start(job)
    with stage("data", "check the source and paths, or run `apt-get update` for Debian sources"):
        train, test = _finetuning_splits(job)
        train = _take(train, job.max_train_examples, job.task)
        label_names = getattr(train, "label_names", None)
        print(f"task: {job.task}" + (f", labels {list(label_names)}" if label_names else ""))
    with strategy.scope():  # a checkpoint's backbone is built here
        with stage("initial weights", "--init takes a pretrain-bert run, a Hugging Face or a Google BERT folder"):
            if job.init:
                backbone, tokenizer, origin = initial_bert(job.init, job.lower_case)
                if job.random_weights:  # same architecture and tokenizer, fresh weights
                    backbone = BertBackbone.from_config(backbone.get_config())
                    origin = f"random weights, architecture and tokenizer of {origin}"
            else:
                lower_case = True if job.lower_case is None else job.lower_case
                tokenizer = train_wordpiece_tokenizer(
                    _texts(train, job.task), job.vocabulary_size, output_dir / "vocab.txt",
                    reserved_tokens=BERT_RESERVED_TOKENS, lower_case=lower_case,
                )
                backbone = BertBackbone.from_preset(
                    job.preset, vocabulary_size=tokenizer.vocabulary_size,
                    max_sequence_length=max(job.max_sequence_length, 2),
                )
                origin = "from scratch"
            save_tokenizer(tokenizer, output_dir)
        if job.max_sequence_length > backbone.max_sequence_length:
            raise ValueError(f"--max-sequence-length {job.max_sequence_length} exceeds the backbone's "
                             f"{backbone.max_sequence_length} positions.")
        train_data = with_known_length(_finetuning_dataset(job, train, tokenizer, training=True))
        steps = int(train_data.cardinality()) * job.epochs
        model, compile_model = _task_model(job.task, backbone, train)
        compile_model(model, steps, peak_rate=job.peak_learning_rate, **_compile_options(job))
    print(f"BERT {job.task} model ({origin}): {model.count_params():,} parameters, {steps} steps")
    with stage("train", "lower --batch-size or --max-sequence-length if memory ran out"):
        model.fit(train_data, epochs=job.epochs, callbacks=training_callbacks(output_dir, monitor="loss"),
                  verbose=progress_verbosity(job.verbose), shuffle=False)
        model.save(output_dir / FINETUNED_MODEL_FILES[job.task])
    with stage("evaluate"):
        results = evaluate_finetuned(model, test, tokenizer, job)
        if job.task == "classify":
            results["baselines"] = classification_baselines(train, test, results["accuracy"])
    return _finish(output_dir, results)


def texts_and_labels(data):
    """`ClassificationData` as Python values: a list of texts (str, or tuples
    for pairs) and an int array of labels, for the classical baselines.

    Example:
    >>> from tf_models.data import classification_data
    >>> texts_and_labels(classification_data(["good", "bad"], [1, 0], ("neg", "pos")))
    (['good', 'bad'], array([1, 0]))
    """
    texts, labels = [], []
    for columns, label in data.dataset.as_numpy_iterator():
        decoded = tuple(column.decode("utf-8") for column in columns)
        texts.append(decoded[0] if len(decoded) == 1 else decoded)
        labels.append(int(label))
    return texts, np.array(labels)


def classification_baselines(train, test, model_accuracy=None):
    """Accuracy and macro F1 of the majority class and of TF-IDF + logistic
    regression, trained on `train` and scored on `test` (`ClassificationData`)."""
    train_texts, train_labels = texts_and_labels(train)
    test_texts, test_labels = texts_and_labels(test)
    predictions = {
        "majority_class": np.full(len(test_labels), majority_class(train_labels)),
        "tfidf_logistic_regression": tfidf_logistic_regression(train_texts, train_labels, test_texts),
    }
    baselines = {}
    for name, predicted in predictions.items():
        scores = classification_scores(test_labels, predicted)
        baselines[f"{name}_accuracy"], baselines[f"{name}_macro_f1"] = scores["accuracy"], scores["macro_f1"]
    print(f"  baselines on the same test set: majority class {baselines['majority_class_accuracy']:.1%}, "
          f"TF-IDF + logistic regression {baselines['tfidf_logistic_regression_accuracy']:.1%}")
    if model_accuracy is not None:
        beaten = [name for name in predictions if model_accuracy <= baselines[f"{name}_accuracy"]]
        if beaten:
            print(f"  the model does NOT beat: {', '.join(beaten)}")
    return baselines


def evaluate_finetuned(model, test, tokenizer, job):
    """The task's scores of a fine-tuned model on the test examples."""
    data = _finetuning_dataset(job, test, tokenizer, training=False)
    if job.task == "classify":
        return evaluate_classifier(model, data, test.label_names)
    if job.task == "tag":
        return evaluate_tagger(model, data, test)
    return evaluate_span_labeler(model, data, test, job.max_answer_length)


def evaluate_classifier(model, data, label_names):
    """Accuracy, macro F1 and MCC of `model` on a classification dataset."""
    labels, predictions = [], []
    for features, targets in data:
        logits = model.predict_on_batch(features)["logits"]
        predictions.append(np.argmax(logits, axis=-1))
        labels.append(targets["logits"].numpy())
    scores = classification_scores(np.concatenate(labels), np.concatenate(predictions))
    scores["label_names"] = list(label_names)
    print(
        f"test accuracy {scores['accuracy']:.1%} (majority baseline {scores['majority_baseline']:.1%}), "
        f"macro F1 {scores['macro_f1']:.3f}, MCC {scores['mcc']:.3f}"
    )
    return scores


def evaluate_tagger(model, data, test):
    """Word accuracy and entity F1 (conlleval) on `TaggingData`, in order.

    Words cut off by `max_sequence_length` count as tagged "O" (or the
    first tag when there is no "O"), so every word of the test set counts.
    """
    fill = test.label_names.index("O") if "O" in test.label_names else 0
    predicted = []
    for features, targets in data:
        logits = model.predict_on_batch(features)["logits"]
        first = len(predicted)
        num_words = [len(words) for words in test.sentences[first : first + len(logits)]]
        predicted += word_predictions(np.argmax(logits, axis=-1), targets["logits"], num_words, fill)
    scores = tagging_scores(test.tag_names(), test.tag_names(predicted))
    scores["label_names"] = list(test.label_names)
    print(f"test word accuracy {scores['accuracy']:.1%}, entity precision {scores['precision']:.3f}, "
          f"recall {scores['recall']:.3f}, F1 {scores['f1']:.3f}")
    return scores


def evaluate_span_labeler(model, data, examples, max_answer_length=30):
    """Exact match and F1 (SQuAD v1.1's script) of the best span of each question."""
    logits, metadata = {"start_logits": [], "end_logits": []}, {}
    for inputs, window_metadata in data:
        outputs = model.predict_on_batch(inputs)
        for key in logits:
            logits[key].append(outputs[key])
        for key, value in window_metadata.items():
            metadata.setdefault(key, []).append(value.numpy())
    metadata = {key: np.concatenate(value) for key, value in metadata.items()}
    predictions = squad_predictions(
        examples, metadata, np.concatenate(logits["start_logits"]), np.concatenate(logits["end_logits"]),
        max_answer_length=max_answer_length,
    )
    scores = squad_scores(predictions, examples)
    scores["samples"] = [
        {"question": e.question, "prediction": predictions[e.id], "answers": [a for a, _ in e.answers]}
        for e in examples[:5]
    ]
    print(f"test exact match {scores['exact_match']:.1f}, F1 {scores['f1']:.1f} ({len(examples)} questions)")
    return scores


def evaluate_run(job):
    """Scores a finished run (its `output_dir`) again on its test data."""
    run = Path(job.output_dir)
    tokenizer = run_tokenizer(run, job)
    if isinstance(job, TranslationJob):
        model = keras.saving.load_model(run / "transformer.keras")
        train, _, test, _ = _translation_splits(job)
        return evaluate_translation(model, tokenizer, test, job.max_length, train_pairs=train,
                                    **job.decoding_options)
    if isinstance(job, FinetuningJob):
        model = keras.saving.load_model(run / FINETUNED_MODEL_FILES[job.task])
        train, test = _finetuning_splits(job)
        results = evaluate_finetuned(model, test, tokenizer, job)
        if job.task == "classify":
            results["baselines"] = classification_baselines(
                _take(train, job.max_train_examples, job.task), test, results["accuracy"])
        return results
    documents = _documents(job)
    random.Random(job.seed).shuffle(documents)
    held_out, documents = documents[: job.held_out_documents], documents[job.held_out_documents :]
    data = bert_pretraining_dataset(
        documents_dataset(held_out), tokenizer, seed=job.seed + 1,
        batch_size=job.batch_size, max_sequence_length=job.max_sequence_length,
        max_predictions_per_sequence=job.max_predictions_per_sequence,
        whole_word_masking=job.whole_word_masking,
    )
    frequent = most_frequent_token([s for d in documents for s in d], tokenizer)
    return evaluate_pretrainer(keras.saving.load_model(run / "pretrainer.keras"), data, frequent, tokenizer)


def inference_modules(run_dir, job, **decoding):
    """The inference modules of a finished run, by default export name.

    Translation runs give a `Translator` (decoding as the run was
    evaluated unless `decoding` overrides it); fine-tuning runs a
    `TextClassifier`, `TokenTagger` or `QuestionAnswerer` (by task);
    pretraining runs a `FillMask` and a `SentenceEncoder`.
    """
    run = Path(run_dir)
    tokenizer = run_tokenizer(run, job)
    if isinstance(job, TranslationJob):
        model = keras.saving.load_model(run / "transformer.keras")
        options = decoding or job.decoding_options
        return {"translator": Translator(model, tokenizer, max_length=job.max_length, **options)}
    if isinstance(job, FinetuningJob):
        model = keras.saving.load_model(run / FINETUNED_MODEL_FILES[job.task])
        if job.task == "qa":
            return {"question_answerer": QuestionAnswerer(
                model, tokenizer, job.max_sequence_length, job.max_query_length, job.doc_stride,
                job.max_answer_length,
            )}
        label_names = json.loads((run / "results.json").read_text())["label_names"]
        if job.task == "tag":
            return {"tagger": TokenTagger(model, tokenizer, label_names, job.max_sequence_length)}
        return {"classifier": TextClassifier(model, tokenizer, label_names, job.max_sequence_length)}
    pretrainer = keras.saving.load_model(run / "pretrainer.keras")
    return {
        "fill_mask": FillMask(pretrainer, tokenizer, max_sequence_length=job.max_sequence_length),
        "sentence_encoder": SentenceEncoder(pretrainer.backbone, tokenizer,
                                            max_sequence_length=job.max_sequence_length),
    }


def export_run(run_dir, job, base_dir="saved_models", name=None, version=None, **decoding):
    """Exports a finished run for TF Serving; returns the version folders.

    Args:
        run_dir: the run's output directory.
        job: its job config.
        base_dir: the model base path (TF Serving's layout).
        name: the model name; a pretraining run, which exports two models,
            uses it as a prefix. Default: "translator", "classifier",
            "tagger", "question_answerer", "fill_mask" and "sentence_encoder".
        version: an int; default: the next free version.
        **decoding: `Translator` decoding options (translation runs).
    """
    modules = inference_modules(run_dir, job, **decoding)
    paths = []
    for default_name, module in modules.items():
        model_name = name if name and len(modules) == 1 else f"{name}_{default_name}" if name else default_name
        path = export_saved_model(module, base_dir, model_name, version)
        print(f"exported {default_name} to {path}")
        paths.append(path)
    write_models_config(base_dir)
    return paths
