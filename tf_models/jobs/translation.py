"""The translation job: a `Transformer` trained on sentence pairs, scored
with BLEU beside its baselines (`TranslationJob.run()`, `Translation`)."""

import dataclasses
import shutil
import time

from tf_models import storage
from tf_models.data.pipelines import DropCounter, translation_dataset, with_known_length
from tf_models.data.splits import drop_held_out_sources, split_by_source
from tf_models.data.tokenizers import TRANSLATION_RESERVED_TOKENS
from tf_models.inference import Translator
from tf_models.jobs.common import compile_options, is_resuming, learn_wordpiece_tokenizer, stage
from tf_models.jobs.corpora import read_corpus
from tf_models.jobs.template import Batches, JobTemplate
from tf_models.models import Transformer
from tf_models.training import compile_transformer
from tf_models.training.averaging import EpochSnapshots, average_weights, snapshot_paths
from tf_models.training.evaluation import corpus_bleu

SNAPSHOTS = "snapshots"  # the last epochs' weights, for checkpoint averaging


def translation_splits(job):
    """(train, validation, test, report): lists of (source, target) strings
    with no held-out source in training, and the `SplitReport`. A corpus
    with published splits keeps them; the others are split by source
    sentence with the job's seed."""
    splits = read_corpus("pairs", job)
    if "all" in splits:
        train, val, test, report = split_by_source(splits["all"], job.test_size, job.test_size // 2, seed=job.seed)
    else:
        train, report = drop_held_out_sources(splits["train"], splits["validation"], splits["test"])
        val, test = splits["validation"], splits["test"]
    if job.max_train_pairs:
        train = train[: job.max_train_pairs]
    return train, val, test, report


class Translation(JobTemplate):
    """The translation job's slots (`TranslationJob`).

    Args:
        job: the `TranslationJob`.
        callbacks: more Keras callbacks for training (the chief's only).
    """

    model_file = "transformer.keras"
    memory_advice = "lower --batch-size or --max-length if memory ran out"
    monitor = "val_loss"

    def __init__(self, job, callbacks=()):
        super().__init__(job)
        self.extra_callbacks = list(callbacks)

    def load_data(self):
        self.train_pairs, self.val, self.test, self.split_report = translation_splits(self.job)
        print(f"pairs: {len(self.train_pairs)} train, {len(self.val)} validation, {len(self.test)} test; "
              f"split by source sentence: {self.split_report}")

    def make_tokenizer(self):
        tokenizer = learn_wordpiece_tokenizer(
            self.job, self.output_dir, self.strategy, [s for pair in self.train_pairs for s in pair],
            reserved_tokens=TRANSLATION_RESERVED_TOKENS, lower_case=False,
        )
        print(f"shared cased WordPiece vocabulary: {tokenizer.vocabulary_size} tokens")
        return tokenizer

    def make_batches(self, tokenizer):
        job, counter = self.job, DropCounter()
        self.length_filter = counter

        def train_data():
            return translation_dataset(
                self.train_pairs, tokenizer, batch_size=job.batch_size, max_length=job.max_length,
                bucket_boundaries=job.bucket_boundaries, seed=job.seed, counter=counter,
                # XLA compiles a program per batch shape: few shapes, full batches.
                pad_to_bucket=job.jit_compile, drop_remainder=job.jit_compile,
            )

        steps_per_epoch = int(with_known_length(train_data()).cardinality())  # one pass to count the batches,
        counter.reset()  # which the length filter must not count as an epoch
        validation = with_known_length(translation_dataset(
            self.val, tokenizer, batch_size=job.batch_size, max_length=job.max_length,
            shuffle_buffer_size=0, pad_to_bucket=job.jit_compile,
            bucket_boundaries=job.bucket_boundaries if job.jit_compile else None,
        ))
        return Batches(train_data, steps_per_epoch, job.epochs, validation)

    def make_model(self, tokenizer, total_steps):
        job = self.job
        overrides = {} if job.dropout is None else {"dropout": job.dropout}
        model = Transformer.from_preset(job.preset, vocabulary_size=tokenizer.vocabulary_size, **overrides)
        # Noam's schedule follows the step count alone, not `total_steps`.
        compile_transformer(model, warmup_steps=job.warmup_steps, label_smoothing=job.label_smoothing,
                            **compile_options(job))
        return model

    def describe(self, model, batches):
        return f"Transformer '{self.job.preset}': {model.count_params():,} parameters"

    def callbacks(self):
        """The epoch snapshots of checkpoint averaging; a fresh run first
        removes another run's."""
        snapshots = self.output_dir / SNAPSHOTS
        if not is_resuming(self.job):
            shutil.rmtree(snapshots, ignore_errors=True)  # a fresh run: none of another run's epochs
        if self.job.average_last > 1:
            return [*self.extra_callbacks, EpochSnapshots(snapshots, keep=self.job.average_last)]
        return self.extra_callbacks

    def save(self, model):
        print(f"length filter: {self.length_filter} (longer than {self.job.max_length} tokens), over all epochs")
        super().save(model)

    def after_training(self, model, batches):
        self.averaging, last_epochs = {}, snapshot_paths(self.output_dir / SNAPSHOTS)
        if self.job.average_last > 1 and len(last_epochs) > 1:
            with stage("average"):
                self.averaging = average_last_epochs(model, last_epochs, batches.validation)
                storage.save_model(model, self.output_dir / self.model_file)
        return model

    def evaluate(self, model, tokenizer):
        job = self.job
        results = evaluate_translation(model, tokenizer, self.test, job.max_length, job.decoding,
                                       train_pairs=self.train_pairs)
        results["split"] = dataclasses.asdict(self.split_report)
        results["checkpoint_averaging"] = self.averaging
        return results

    def evaluate_again(self):
        self.load_data()
        return evaluate_translation(self.trained_model(), self.tokenizer(), self.test, self.job.max_length,
                                    self.job.decoding, train_pairs=self.train_pairs)

    def inference_modules(self, decoding=None):
        """`{"translator": Translator}`, decoding as the run was evaluated
        unless `decoding` (a `DecodingConfig`) says otherwise."""
        translator = Translator(self.trained_model(), self.tokenizer(), max_length=self.job.max_length,
                                decoding=decoding or self.job.decoding)
        return {translator.TASK: translator}


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

