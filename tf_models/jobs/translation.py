"""The translation job: a `Transformer` trained on sentence pairs, scored
with BLEU beside its baselines (`TranslationJob.run()`)."""

import dataclasses
import shutil
import time
from pathlib import Path

import keras
import tensorflow as tf

from tf_models import storage
from tf_models.data import load_parallel_files, load_source
from tf_models.data.pipelines import DropCounter, translation_dataset, with_known_length
from tf_models.data.splits import drop_held_out_sources, split_by_source
from tf_models.data.tokenizers import TRANSLATION_RESERVED_TOKENS
from tf_models.inference import Translator
from tf_models.jobs.common import (
    DATA_ADVICE,
    backup_folder,
    compile_options,
    evaluation_model,
    finish_run,
    finish_worker,
    fit,
    run_tokenizer,
    learn_wordpiece_tokenizer,
    stage,
    start_run,
)
from tf_models.models import Transformer
from tf_models.training import compile_transformer, is_chief
from tf_models.training.averaging import EpochSnapshots, average_weights, snapshot_paths
from tf_models.training.evaluation import corpus_bleu

MODEL_FILE = "transformer.keras"
SNAPSHOTS = "snapshots"  # the last epochs' weights, for checkpoint averaging


def translation_splits(job):
    """(train, validation, test, report): lists of (source, target) strings
    with no held-out source in training, and the `SplitReport`."""
    if job.source == "multi30k":
        def load(split):
            return load_source("multi30k", data_dir=job.data_dir, split=split,
                               source_language=job.source_language, target_language=job.target_language)

        val, test = load("val"), load("test_2016_flickr")
        train, report = drop_held_out_sources(load("train"), val, test)  # published splits kept
    else:
        if job.source in ("ding_de_en", "software_de_en"):
            if {job.source_language, job.target_language} != {"de", "en"}:
                raise ValueError(f"{job.source} is German-English: use languages de and en.")
            pairs = load_source(job.source, reverse=job.source_language == "en")
        elif job.source == "files":
            if len(job.train_files) != 2:
                raise ValueError("source=files needs --train-files SOURCE_FILE TARGET_FILE.")
            pairs = load_parallel_files(*job.train_files)
        elif job.source.startswith("tfds:"):
            pairs = load_source(job.source, split="train")
        else:
            raise ValueError(f"Unknown translation source {job.source!r}.")
        train, val, test, report = split_by_source(pairs, job.test_size, job.test_size // 2, seed=job.seed)
    if job.max_train_pairs:
        train = train[: job.max_train_pairs]
    return train, val, test, report


def train(job, callbacks=()):
    """Runs a `TranslationJob`; returns its results dict.

    Args:
        job: the `TranslationJob`.
        callbacks: more Keras callbacks for training (the chief's only).
    """
    output_dir, strategy = start_run(job)
    with stage("data", DATA_ADVICE):
        train_pairs, val, test, split_report = translation_splits(job)
        print(f"pairs: {len(train_pairs)} train, {len(val)} validation, {len(test)} test; "
              f"split by source sentence: {split_report}")
    with stage("tokenizer"):
        tokenizer = learn_wordpiece_tokenizer(
            job, output_dir, strategy, [s for pair in train_pairs for s in pair],
            reserved_tokens=TRANSLATION_RESERVED_TOKENS, lower_case=False,
        )
        print(f"shared cased WordPiece vocabulary: {tokenizer.vocabulary_size} tokens")
    counter = DropCounter()

    def train_data():
        return translation_dataset(
            train_pairs, tokenizer, batch_size=job.batch_size, max_length=job.max_length,
            bucket_boundaries=job.bucket_boundaries, seed=job.seed, counter=counter,
            # XLA compiles a program per batch shape: few shapes, full batches.
            pad_to_bucket=job.jit_compile, drop_remainder=job.jit_compile,
        )

    steps_per_epoch = int(with_known_length(train_data()).cardinality())  # one pass to count the batches,
    counter.reset()  # which the length filter must not count as an epoch
    val_data = with_known_length(translation_dataset(
        val, tokenizer, batch_size=job.batch_size, max_length=job.max_length,
        shuffle_buffer_size=0, pad_to_bucket=job.jit_compile,
        bucket_boundaries=job.bucket_boundaries if job.jit_compile else None,
    ))
    with strategy.scope():
        overrides = {} if job.dropout is None else {"dropout": job.dropout}
        model = Transformer.from_preset(job.preset, vocabulary_size=tokenizer.vocabulary_size, **overrides)
        compile_transformer(model, warmup_steps=job.warmup_steps, label_smoothing=job.label_smoothing,
                            **compile_options(job))
    print(f"Transformer '{job.preset}': {model.count_params():,} parameters")
    snapshots = output_dir / SNAPSHOTS
    if not tf.train.latest_checkpoint(str(backup_folder(job))):
        shutil.rmtree(snapshots, ignore_errors=True)  # a fresh run: none of another run's epochs
    if job.average_last > 1:
        callbacks = [*callbacks, EpochSnapshots(snapshots, keep=job.average_last)]
    with stage("train", "lower --batch-size or --max-length if memory ran out"):
        fit(job, model, train_data, output_dir, steps_per_epoch=steps_per_epoch, epochs=job.epochs,
            validation_data=val_data, vocabulary=tokenizer.vocabulary, callbacks=callbacks)
        print(f"length filter: {counter} (longer than {job.max_length} tokens), over all epochs")
        storage.save_model(model, output_dir / MODEL_FILE)
    if not is_chief(strategy):
        return finish_worker(output_dir, strategy)
    model = evaluation_model(model, output_dir / MODEL_FILE)
    averaging, last_epochs = {}, snapshot_paths(snapshots)
    if job.average_last > 1 and len(last_epochs) > 1:
        with stage("average"):
            averaging = average_last_epochs(model, last_epochs, val_data)
            storage.save_model(model, output_dir / MODEL_FILE)
    with stage("evaluate"):
        results = evaluate_translation(model, tokenizer, test, job.max_length, job.decoding, train_pairs=train_pairs)
        results["split"] = dataclasses.asdict(split_report)
        results["checkpoint_averaging"] = averaging
    return finish_run(output_dir, results)


def average_last_epochs(model, snapshots, val_data):
    """Checkpoint averaging (see `tf_models.training.averaging`), kept only
    if it helps: `model` takes the mean of the weights files `snapshots`
    (`{epoch: path}`, the last epochs' ends) when its validation loss is
    below the last weights'.

    Returns:
        What was measured: both validation losses, the epochs averaged and
        whether the average was kept.
    """
    last_loss = model.evaluate(val_data, verbose=0, return_dict=True)["loss"]
    last_weights = [variable.numpy() for variable in model.trainable_variables]
    average_weights(model, list(snapshots.values()))
    average_loss = model.evaluate(val_data, verbose=0, return_dict=True)["loss"]
    kept = average_loss < last_loss
    if not kept:
        for variable, value in zip(model.trainable_variables, last_weights):
            variable.assign(value)
    epochs = list(snapshots)
    print(f"validation loss: {average_loss:.4f} for the mean of epochs {epochs[0]}-{epochs[-1]}'s weights, "
          f"{last_loss:.4f} for the last epoch's: {'the mean' if kept else 'the last epoch'} is kept")
    return {"epochs": epochs, "val_loss_average": average_loss, "val_loss_last": last_loss, "kept_average": bool(kept)}


def evaluate_translation(model, tokenizer, pairs, max_length, decoding=None, train_pairs=(), samples=5):
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
        decoding: a `DecodingConfig` (default: greedy).
        train_pairs: training pairs; up to `len(pairs)` of them, evenly
            spaced, are decoded for the training BLEU (none: not computed).
        samples: how many translations to print and return.
    """
    translator = Translator(model, tokenizer, max_length=max_length, decoding=decoding)
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


def evaluate(job):
    """Scores a finished translation run again on its test pairs."""
    run = Path(job.output_dir)
    model = keras.saving.load_model(run / MODEL_FILE)
    train_pairs, _, test, _ = translation_splits(job)
    return evaluate_translation(model, run_tokenizer(run, job), test, job.max_length, job.decoding,
                                train_pairs=train_pairs)


def inference_modules(job, decoding=None):
    """`{"translator": Translator}`, decoding as the run was evaluated
    unless `decoding` (a `DecodingConfig`) says otherwise."""
    run = Path(job.output_dir)
    model = keras.saving.load_model(run / MODEL_FILE)
    translator = Translator(model, run_tokenizer(run, job), max_length=job.max_length, decoding=decoding or job.decoding)
    return {translator.TASK: translator}
