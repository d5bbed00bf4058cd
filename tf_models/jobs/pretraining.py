"""The pretraining job: BERT with masked LM (and, optionally, next-sentence prediction) on
documents, scored on held-out documents beside its baselines
(`PretrainingJob.run()`, `Pretraining`)."""

import math

import numpy as np
import tensorflow as tf

from tf_models import storage
from tf_models.data.masked_lm import bert_pretraining_dataset, masked_lm_dataset
from tf_models.data.tokenizers import BERT_RESERVED_TOKENS
from tf_models.inference import FillMask, SentenceEncoder
from tf_models.jobs.common import compile_options, learn_wordpiece_tokenizer
from tf_models.jobs.corpora import job_documents
from tf_models.jobs.template import Batches, JobTemplate
from tf_models.models import BertBackbone, BertPretrainer
from tf_models.training import compile_bert_pretrainer


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


class Pretraining(JobTemplate):
    """The pretraining job's slots (`PretrainingJob`): masked LM (and NSP)
    on documents, scored on held-out documents."""

    model_file = "pretrainer.keras"
    memory_advice = "lower --batch-size or --max-sequence-length if memory ran out"

    def load_data(self):
        self.documents, self.held_out = job_documents(self.job)
        sentences = sum(len(d) for d in self.documents)
        print(f"documents: {len(self.documents)} for training ({sentences} sentences), {len(self.held_out)} held out")

    def make_tokenizer(self):
        tokenizer = learn_wordpiece_tokenizer(self.job, self.output_dir, self.strategy, self._sentences(),
                                              reserved_tokens=BERT_RESERVED_TOKENS)
        print(f"uncased WordPiece vocabulary: {tokenizer.vocabulary_size} tokens")
        return tokenizer

    def _sentences(self):
        return [s for d in self.documents for s in d]

    def make_batches(self, tokenizer):
        job = self.job

        def train_data():
            return _pretraining_data(job, self.documents, tokenizer, job.seed, training=True)

        self.held_out_data = _pretraining_data(job, self.held_out, tokenizer, job.seed + 1, training=False)
        steps_per_epoch = max(job.steps // 4, 1)  # four progress reports
        return Batches(train_data, steps_per_epoch, epochs=-(-job.steps // steps_per_epoch))

    def make_model(self, tokenizer, total_steps):
        job = self.job
        backbone = BertBackbone.from_preset(
            job.preset, vocabulary_size=tokenizer.vocabulary_size, max_sequence_length=job.max_sequence_length,
        )
        model = BertPretrainer(backbone, next_sentence_prediction=job.next_sentence_prediction)
        # The schedule ends at --steps, which the epochs may round up.
        compile_bert_pretrainer(model, job.steps, peak_learning_rate=job.peak_learning_rate, **compile_options(job))
        return model

    def describe(self, model, batches):
        heads = ("MLM and NSP heads" if self.job.next_sentence_prediction
                 else "an MLM head (no NSP), sequences packed full")
        return f"BERT '{self.job.preset}' with {heads}: {model.count_params():,} parameters"

    def save(self, model):
        storage.save_model(model.backbone, self.output_dir / "backbone.keras")
        super().save(model)

    def evaluate(self, model, tokenizer):
        frequent = most_frequent_token(self._sentences(), tokenizer)
        return evaluate_pretrainer(model, self.held_out_data, frequent, tokenizer)

    def inference_modules(self, decoding=None):
        """`{"fill_mask": FillMask, "sentence_encoder": SentenceEncoder}`.

        The fill-mask model answers words (`words_only`): what a small model
        has learned shows in its best words, not in the "." it ranks first. The
        sentence encoder reads BERT's pooled `[CLS]` output where NSP trained
        the pooler, and the mean of the token outputs where it did not.
        """
        job, tokenizer, pretrainer = self.job, self.tokenizer(), self.trained_model()
        return {
            "fill_mask": FillMask(pretrainer, tokenizer, max_sequence_length=job.max_sequence_length, words_only=True),
            "sentence_encoder": SentenceEncoder(pretrainer.backbone, tokenizer,
                                                pooling="pooled" if job.next_sentence_prediction else "mean",
                                                max_sequence_length=job.max_sequence_length),
        }


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

