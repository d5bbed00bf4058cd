"""`compile` settings of each model, as the papers trained them.

Call these inside `strategy.scope()`, after `select_policy`, so that the
optimizer's variables live where the model's do. Under `mixed_float16` the
optimizer is wrapped in `tf_models.training.optimizers.LossScaleOptimizer`,
which keeps replicas in step when one overflows.
"""

import keras

from tf_models.data.tagging import IGNORED_LABEL
from tf_models.training.losses import (
    MaskedAccuracy,
    MaskedSparseCategoricalCrossentropy,
    Perplexity,
)
from tf_models.training.optimizers import bert_optimizer, loss_scaled, transformer_optimizer
from tf_models.training.schedules import TransformerSchedule, WarmupPolynomialDecay


def compile_transformer(
    model,
    warmup_steps=4000,
    learning_rate=None,
    label_smoothing=0.1,
    **compile_kwargs,
):
    """Noam-scheduled Adam, label-smoothed masked cross-entropy, token
    accuracy and perplexity (Vaswani et al. 2017, section 5).

    Args:
        model: a `Transformer`.
        warmup_steps: warm-up of the Noam schedule.
        learning_rate: a float or schedule to use instead of Noam's.
        label_smoothing: 0.1 in the paper.
        **compile_kwargs: more `Model.compile` arguments (`jit_compile`,
            `steps_per_execution`).
    """
    padding_id = model.padding_id
    model.compile(
        optimizer=loss_scaled(transformer_optimizer(
            learning_rate or TransformerSchedule(model.hidden_dim, warmup_steps)
        )),
        loss={
            "logits": MaskedSparseCategoricalCrossentropy(
                padding_id=padding_id, label_smoothing=label_smoothing
            )
        },
        metrics={
            "logits": [
                MaskedAccuracy(padding_id=padding_id, name="accuracy"),
                Perplexity(padding_id=padding_id, name="perplexity"),
            ]
        },
        **compile_kwargs,
    )
    return model


def warmup_then_decay(peak_learning_rate, total_steps, warmup_steps=None):
    """BERT's schedule: linear warm-up over `warmup_steps` (default: 10% of
    `total_steps`), then linear decay to 0 at `total_steps`."""
    warmup_steps = total_steps // 10 if warmup_steps is None else warmup_steps
    return WarmupPolynomialDecay(peak_learning_rate, total_steps, warmup_steps)


def compile_bert_pretrainer(
    model, total_steps, peak_learning_rate=1e-4, warmup_steps=None, **compile_kwargs
):
    """AdamW with warm-up and linear decay; loss = MLM (+ NSP when the model
    has that head), with masked-LM accuracy (over real predictions) and NSP
    accuracy reported apart.

    Args:
        model: a `BertPretrainer`.
        total_steps: steps of the run (for the decay).
        peak_learning_rate: peak learning rate (1e-4 in BERT).
        warmup_steps: defaults to 10% of `total_steps`.
        **compile_kwargs: more `Model.compile` arguments.
    """
    # MLM labels are padded with id 0 and weighted by `mlm_weights`.
    loss = {"mlm_logits": MaskedSparseCategoricalCrossentropy(padding_id=0)}
    metrics = {"mlm_logits": [MaskedAccuracy(padding_id=0, name="accuracy")]}
    if "nsp_logits" in model.output:
        loss["nsp_logits"] = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metrics["nsp_logits"] = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    model.compile(
        optimizer=loss_scaled(bert_optimizer(warmup_then_decay(peak_learning_rate, total_steps, warmup_steps))),
        loss=loss,
        metrics=metrics,
        **compile_kwargs,
    )
    return model


def compile_causal_lm(model, total_steps, peak_learning_rate=1e-3, warmup_steps=None, **compile_kwargs):
    """AdamW with warm-up and linear decay; next-token cross-entropy over
    real tokens (labels 0, padding, count for nothing), with token accuracy.

    Args:
        model: a `CausalLM`.
        total_steps: steps of the run (for the decay).
        peak_learning_rate: peak learning rate (GPT-2 small used 2.5e-4 with larger batches).
        warmup_steps: defaults to 10% of `total_steps`.
        **compile_kwargs: more `Model.compile` arguments.
    """
    model.compile(
        optimizer=loss_scaled(bert_optimizer(warmup_then_decay(peak_learning_rate, total_steps, warmup_steps))),
        loss={"logits": MaskedSparseCategoricalCrossentropy(padding_id=0)},
        metrics={"logits": [MaskedAccuracy(padding_id=0, name="accuracy")]},
        **compile_kwargs,
    )
    return model


def compile_bert_classifier(
    model, total_steps, peak_learning_rate=5e-5, warmup_steps=None, **compile_kwargs
):
    """Fine-tuning settings of the BERT paper: AdamW, warm-up over the first
    10% of steps then linear decay, cross-entropy and accuracy.

    Args:
        model: a `BertClassifier`.
        total_steps: steps of the run.
        peak_learning_rate: 2e-5 to 5e-5 in the paper.
        warmup_steps: defaults to 10% of `total_steps`.
        **compile_kwargs: more `Model.compile` arguments.
    """
    schedule = warmup_then_decay(peak_learning_rate, total_steps, warmup_steps)
    model.compile(
        optimizer=loss_scaled(bert_optimizer(schedule)),
        loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
        metrics={"logits": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]},
        **compile_kwargs,
    )
    return model


def compile_bert_regressor(
    model, total_steps, peak_learning_rate=5e-5, warmup_steps=None, **compile_kwargs
):
    """Fine-tuning a `BertClassifier` with `num_classes=1` on real-valued
    labels (STS-B's similarity scores): the paper's AdamW schedule and
    mean squared error.

    Args:
        model: a `BertClassifier` with one output.
        total_steps: steps of the run.
        peak_learning_rate: peak learning rate.
        warmup_steps: defaults to 10% of `total_steps`.
        **compile_kwargs: more `Model.compile` arguments.
    """
    schedule = warmup_then_decay(peak_learning_rate, total_steps, warmup_steps)
    model.compile(
        optimizer=loss_scaled(bert_optimizer(schedule)),
        loss={"logits": keras.losses.MeanSquaredError()},
        metrics={"logits": [keras.metrics.MeanAbsoluteError(name="mae")]},
        **compile_kwargs,
    )
    return model


def compile_bert_token_classifier(
    model, total_steps, peak_learning_rate=5e-5, warmup_steps=None, **compile_kwargs
):
    """Fine-tuning settings for token tagging (BERT paper, section 5.3):
    AdamW, warm-up then linear decay, cross-entropy over the first piece
    of each word.

    Positions labelled `IGNORED_LABEL` (-1: later pieces of a word,
    `[CLS]`, `[SEP]`, padding; see `tagging_dataset`) get weight 0 in the
    loss and the accuracy, and the loss is the mean over the other
    positions. This is explicit in the labels, not taken from a Keras mask.

    Args:
        model: a `BertTagger`.
        total_steps: steps of the run.
        peak_learning_rate: peak learning rate.
        warmup_steps: defaults to 10% of `total_steps`.
        **compile_kwargs: more `Model.compile` arguments.
    """
    schedule = warmup_then_decay(peak_learning_rate, total_steps, warmup_steps)
    model.compile(
        optimizer=loss_scaled(bert_optimizer(schedule)),
        loss={"logits": MaskedSparseCategoricalCrossentropy(padding_id=IGNORED_LABEL)},
        metrics={"logits": [MaskedAccuracy(padding_id=IGNORED_LABEL, name="accuracy")]},
        **compile_kwargs,
    )
    return model


def compile_bert_span_labeler(
    model, total_steps, peak_learning_rate=5e-5, warmup_steps=None, **compile_kwargs
):
    """Fine-tuning settings for SQuAD (BERT paper, section 4.2): AdamW,
    warm-up then linear decay; the loss is the mean of the start and end
    positions' cross-entropies (each position is a class over the sequence).

    Args:
        model: a `BertSpanLabeler`.
        total_steps: steps of the run.
        peak_learning_rate: 5e-5 in the paper's SQuAD v1.1 runs.
        warmup_steps: defaults to 10% of `total_steps`.
        **compile_kwargs: more `Model.compile` arguments.
    """
    schedule = warmup_then_decay(peak_learning_rate, total_steps, warmup_steps)
    cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(
        optimizer=loss_scaled(bert_optimizer(schedule)),
        loss={"start_logits": cross_entropy, "end_logits": cross_entropy},
        loss_weights={"start_logits": 0.5, "end_logits": 0.5},
        metrics={
            "start_logits": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            "end_logits": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        },
        **compile_kwargs,
    )
    return model
