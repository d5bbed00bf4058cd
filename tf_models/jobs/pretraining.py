"""The pretraining job: BERT with masked LM (and, optionally, next-sentence prediction) on
documents, scored on held-out documents beside its baselines
(`PretrainingJob.run()`)."""

import math
import random
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tf_models import storage
from tf_models.data import load_documents, load_source, split_sentences
from tf_models.data.masked_lm import bert_pretraining_dataset, masked_lm_dataset
from tf_models.data.tokenizers import BERT_RESERVED_TOKENS
from tf_models.inference import FillMask, SentenceEncoder
from tf_models.jobs.common import (
    DATA_ADVICE,
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
from tf_models.jobs.finetuning_tasks import texts_and_labels
from tf_models.models import BertBackbone, BertPretrainer
from tf_models.training import compile_bert_pretrainer, is_chief


def review_documents(data):
    """The texts of `ClassificationData` as documents of sentences, labels
    dropped: the unlabelled in-domain text of self-pretraining."""
    texts, _ = texts_and_labels(data)
    return [split_sentences(" ".join(text) if isinstance(text, tuple) else text) for text in texts]


def job_documents(job):
    """`(training, held_out)` documents (lists of sentences) of a `PretrainingJob`."""
    if job.source in ("jane_austen", "debian_descriptions"):  # the training split only: held-out texts stay unseen
        documents = load_source(job.source)
    elif job.source == "fine_food_reviews":
        documents = review_documents(load_source("fine_food_reviews", split="train"))
    elif job.source == "files":
        documents = load_documents(list(job.document_files))
    else:
        raise ValueError(f"Unknown pretraining source {job.source!r}.")
    random.Random(job.seed).shuffle(documents)
    return documents[job.held_out_documents :], documents[: job.held_out_documents]


def _pretraining_data(job, documents, tokenizer, seed, training):
    pipeline = bert_pretraining_dataset if job.next_sentence_prediction else masked_lm_dataset
    # A fixed cap would silently lower a higher --masking-rate.
    predictions = job.max_predictions_per_sequence or math.ceil(job.masking_rate * job.max_sequence_length)
    return pipeline(
        documents, tokenizer, seed=seed, batch_size=job.batch_size,
        max_sequence_length=job.max_sequence_length,
        max_predictions_per_sequence=predictions,
        masking_rate=job.masking_rate,
        whole_word_masking=job.whole_word_masking,
        drop_remainder=training,  # one shape for every training step
    )


def train(job):
    """Runs a `PretrainingJob`; returns its results dict."""
    output_dir, strategy = start_run(job)
    with stage("data", DATA_ADVICE):
        documents, held_out = job_documents(job)
        sentences = sum(len(d) for d in documents)
        print(f"documents: {len(documents)} for training ({sentences} sentences), {len(held_out)} held out")
    with stage("tokenizer"):
        tokenizer = learn_wordpiece_tokenizer(
            job, output_dir, strategy, [s for d in documents for s in d], reserved_tokens=BERT_RESERVED_TOKENS
        )
        print(f"uncased WordPiece vocabulary: {tokenizer.vocabulary_size} tokens")
    with stage("pipeline"):
        def train_data():
            return _pretraining_data(job, documents, tokenizer, job.seed, training=True)
        eval_data = _pretraining_data(job, held_out, tokenizer, job.seed + 1, training=False)
    with strategy.scope():
        backbone = BertBackbone.from_preset(
            job.preset, vocabulary_size=tokenizer.vocabulary_size, max_sequence_length=job.max_sequence_length,
        )
        model = BertPretrainer(backbone, next_sentence_prediction=job.next_sentence_prediction)
        compile_bert_pretrainer(model, job.steps, peak_rate=job.peak_learning_rate, **compile_options(job))
    heads = "MLM and NSP heads" if job.next_sentence_prediction else "an MLM head (no NSP), sequences packed full"
    print(f"BERT '{job.preset}' with {heads}: {model.count_params():,} parameters")
    steps_per_epoch = max(job.steps // 4, 1)  # four progress reports
    with stage("train", "lower --batch-size or --max-sequence-length if memory ran out"):
        fit(job, model, train_data, output_dir, steps_per_epoch=steps_per_epoch,
            epochs=-(-job.steps // steps_per_epoch), monitor="loss", vocabulary=tokenizer.vocabulary)
        storage.save_model(backbone, output_dir / "backbone.keras")
        storage.save_model(model, output_dir / "pretrainer.keras")
    if not is_chief(strategy):
        return finish_worker(output_dir, strategy)
    model = evaluation_model(model, output_dir / "pretrainer.keras")
    with stage("evaluate"):
        frequent = most_frequent_token([s for d in documents for s in d], tokenizer)
        results = evaluate_pretrainer(model, eval_data, frequent, tokenizer)
    return finish_run(output_dir, results)


def token_counts(texts, tokenizer):
    """How often each token id occurs in `texts` (a list of strings)."""
    counts = np.zeros(tokenizer.vocabulary_size, np.int64)
    batches = tf.data.Dataset.from_tensor_slices(list(texts)).batch(1024).map(tokenizer.tokenize)
    for ids in batches:
        counts += np.bincount(ids.flat_values.numpy(), minlength=tokenizer.vocabulary_size)
    return counts


def most_frequent_token(texts, tokenizer):
    """The id of the most frequent non-special token in `texts`."""
    counts = token_counts(texts, tokenizer)
    counts[[i for i, token in enumerate(tokenizer.vocabulary) if token.startswith("[")]] = 0
    return int(np.argmax(counts))


def evaluate_pretrainer(model, data, most_frequent_id=None, tokenizer=None):
    """Masked-LM (and NSP) accuracy on a pretraining dataset, with baselines.

    One pass over `data`: the model and the baselines are scored on the
    same masked positions and the same sentence pairs (the pipeline draws
    new masks on every pass, so two passes would not compare).

    Args:
        model: a `BertPretrainer`.
        data: a `bert_pretraining_dataset`, or a `masked_lm_dataset` for a
            model without NSP.
        most_frequent_id: the most frequent token of the training text;
            the masked-LM baseline predicts it at every masked position.
        tokenizer: names that token in the results.

    Returns:
        `mlm_logits_accuracy`, `mlm_loss` (mean cross-entropy per masked
        token, in nats), `masked_tokens` and `baselines`
        (`mlm_most_frequent_token_accuracy`); with NSP also
        `nsp_logits_accuracy`, `sentence_pairs` and the baselines
        `nsp_chance_accuracy` (0.5) and `nsp_majority_accuracy`, each on the
        same examples.
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
        if "nsp_logits" in labels:
            nsp = labels["nsp_logits"].numpy()
            nsp_correct += int((np.argmax(outputs["nsp_logits"], -1) == nsp).sum())
            nsp_labels.append(nsp)
    results = {
        "mlm_logits_accuracy": correct / max(total, 1),
        "mlm_loss": log_loss / max(total, 1),
        "masked_tokens": total,
        "baselines": {"mlm_most_frequent_token_accuracy": baseline_correct / max(total, 1)},
    }
    if nsp_labels:
        nsp_labels = np.concatenate(nsp_labels)
        results["nsp_logits_accuracy"] = nsp_correct / max(len(nsp_labels), 1)
        results["sentence_pairs"] = len(nsp_labels)
        results["baselines"]["nsp_chance_accuracy"] = 0.5
        results["baselines"]["nsp_majority_accuracy"] = float(max(np.mean(nsp_labels), 1 - np.mean(nsp_labels)))
    if tokenizer is not None and most_frequent_id is not None:
        results["baselines"]["most_frequent_token"] = tokenizer.vocabulary[most_frequent_id]
    _print_pretraining_scores(results)
    return results


def _print_pretraining_scores(results):
    base = results["baselines"]
    scores = [("masked-LM", results["mlm_logits_accuracy"], base["mlm_most_frequent_token_accuracy"])]
    line = (f"held-out documents: masked-LM accuracy {results['mlm_logits_accuracy']:.1%} (baseline, always the "
            f"most frequent token: {base['mlm_most_frequent_token_accuracy']:.1%})")
    if "nsp_logits_accuracy" in results:
        scores.append(("NSP", results["nsp_logits_accuracy"], base["nsp_majority_accuracy"]))
        line += (f", NSP accuracy {results['nsp_logits_accuracy']:.1%} (chance 50%, majority "
                 f"{base['nsp_majority_accuracy']:.1%}); {results['masked_tokens']} masked tokens, "
                 f"{results['sentence_pairs']} pairs")
    else:
        line += f"; {results['masked_tokens']} masked tokens"
    print(line)
    for name, value, baseline in scores:
        if value <= baseline:
            print(f"  {name} does NOT beat its baseline")


def evaluate(job):
    """Scores a finished pretraining run again on its held-out documents."""
    run = Path(job.output_dir)
    tokenizer = run_tokenizer(run, job)
    documents, held_out = job_documents(job)
    frequent = most_frequent_token([s for d in documents for s in d], tokenizer)
    return evaluate_pretrainer(keras.saving.load_model(run / "pretrainer.keras"),
                               _pretraining_data(job, held_out, tokenizer, job.seed + 1, training=False), frequent, tokenizer)


def inference_modules(job, decoding=None):
    """`{"fill_mask": FillMask, "sentence_encoder": SentenceEncoder}`.

    The fill-mask model answers words (`words_only`): what a small model
    has learned shows in its best words, not in the "." it ranks first. The
    sentence encoder reads BERT's pooled `[CLS]` output where NSP trained
    the pooler, and the mean of the token outputs where it did not.
    """
    run = Path(job.output_dir)
    tokenizer = run_tokenizer(run, job)
    pretrainer = keras.saving.load_model(run / "pretrainer.keras")
    return {
        "fill_mask": FillMask(pretrainer, tokenizer, max_sequence_length=job.max_sequence_length, words_only=True),
        "sentence_encoder": SentenceEncoder(pretrainer.backbone, tokenizer,
                                            pooling="pooled" if job.next_sentence_prediction else "mean",
                                            max_sequence_length=job.max_sequence_length),
    }
