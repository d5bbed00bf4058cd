"""Solutions to the exercises of notebooks/05_bert_finetuning.ipynb.

One function per exercise; each asserts what a correct solution shows.

    python notebooks/solutions/05_bert_finetuning.py
    TF_MODELS_QUICK=1 python notebooks/solutions/05_bert_finetuning.py  # tiny settings, as `make test`

In full mode the data are the notebook's (Debian's package descriptions and
their sections, from apt-get's index) and the start is a `tiny` BERT
pretrained here on the descriptions with masked LM (600 steps, a third of
the notebook's run). Quick mode makes up three-topic descriptions, so that
it needs no download, and trains the `test` preset for a few steps,
eagerly (tracing a training step would take longer than the steps): its
models learn little, and only what holds for any amount of training is
checked.
"""

import functools
import os
import random
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy as np

from tf_models.data import (BERT_RESERVED_TOKENS, ClassificationData, classification_dataset, debian_descriptions,
                            debian_sections, train_wordpiece_tokenizer)
from tf_models.data.masked_lm import masked_lm_dataset
from tf_models.models import BertBackbone, BertClassifier, BertPretrainer
from tf_models.training import (compile_bert_classifier, compile_bert_pretrainer, majority_class,
                                tfidf_logistic_regression)

QUICK = os.environ.get("TF_MODELS_QUICK") == "1"
LENGTH = 32 if QUICK else 128  # tokens per description


def made_up_descriptions(count, seed):
    """Package descriptions of three made-up sections, as `ClassificationData`."""
    sections = {"games": ["game", "puzzle", "player", "level", "arcade"],
                "sound": ["audio", "music", "mixer", "sound", "player"],
                "mail": ["mail", "email", "inbox", "message", "server"]}
    shared = ["simple", "fast", "free", "small", "graphical", "command", "line", "tool", "library", "data"]
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(count):
        label = rng.randrange(len(sections))
        words = rng.sample(list(sections.values())[label], 2) + rng.sample(shared, 3)
        rng.shuffle(words)
        texts.append(f"a {' '.join(words)} program. it is {rng.choice(shared)} and {rng.choice(shared)}.")
        labels.append(label)
    return ClassificationData.from_lists(texts, labels, list(sections))


@functools.lru_cache(maxsize=None)
def task():
    """`(train, test)` labelled descriptions, the pretraining documents and the tokenizer."""
    if QUICK:
        train, test = made_up_descriptions(200, seed=0), made_up_descriptions(60, seed=1)
        documents = [[text] for text in made_up_descriptions(300, seed=2).texts[0]]
    else:
        train, test, documents = debian_sections("train"), debian_sections("test"), debian_descriptions("train")
    tokenizer = train_wordpiece_tokenizer([s for d in documents for s in d], 200 if QUICK else 8000,
                                          tempfile.mkdtemp() + "/vocab.txt", reserved_tokens=BERT_RESERVED_TOKENS)
    return train, test, documents, tokenizer


@functools.lru_cache(maxsize=None)
def pretrained_backbone_config_and_weights():
    """A BERT pretrained with masked LM on the unlabelled descriptions, packed full
    (the notebook's `PretrainingJob`, shorter): its backbone's config and weights."""
    _, _, documents, tokenizer = task()
    keras.utils.set_random_seed(0)
    steps = 2 if QUICK else 600
    backbone = BertBackbone.from_preset("test" if QUICK else "tiny", vocabulary_size=tokenizer.vocabulary_size,
                                        max_sequence_length=LENGTH)
    pretrainer = BertPretrainer(backbone, next_sentence_prediction=False)
    compile_bert_pretrainer(pretrainer, total_steps=steps, peak_learning_rate=1e-3, run_eagerly=QUICK)
    data = masked_lm_dataset(documents, tokenizer, batch_size=32, max_sequence_length=LENGTH, seed=0)
    pretrainer.fit(data.repeat(), steps_per_epoch=steps, epochs=1, verbose=0 if QUICK else 2)
    return backbone.get_config(), backbone.get_weights()


def pretrained_backbone():
    """A fresh copy of the pretrained backbone (fine-tuning changes the weights it is given)."""
    config, weights = pretrained_backbone_config_and_weights()
    backbone = BertBackbone.from_config(config)
    backbone.set_weights(weights)
    return backbone


def fine_tune(backbone, train, test, frozen=False):
    """Fine-tunes a `BertClassifier` on `train` as the notebook's job does;
    returns the classifier and its test accuracy."""
    _, _, _, tokenizer = task()
    keras.utils.set_random_seed(0)
    model = BertClassifier(backbone, num_classes=len(train.label_names))
    if frozen:  # only the head (the pooler and the classifier) learns
        for layer in backbone.layers:
            layer.trainable = layer.name == "pooler"
    steps = 3 if QUICK else 600
    compile_bert_classifier(model, total_steps=steps, peak_learning_rate=1e-3 if QUICK else 1e-4,
                            run_eagerly=QUICK)
    data = classification_dataset(train, tokenizer, batch_size=16, max_sequence_length=LENGTH,
                                  shuffle_buffer_size=len(train), seed=0)
    model.fit(data.repeat(), steps_per_epoch=steps, epochs=1, verbose=0)
    test_data = classification_dataset(test, tokenizer, batch_size=64, max_sequence_length=LENGTH)
    predictions = np.argmax(model.predict(test_data, verbose=0)["logits"], -1)
    return model, float(np.mean(predictions == np.array(test.labels)))


def exercise_1_the_head_by_hand():
    """Exercise 1 (easy): recompute a `BertClassifier`'s logits from its
    backbone's sequence output: the pooler on [CLS], then the dense layer."""
    keras.utils.set_random_seed(0)
    backbone = BertBackbone.from_preset("test", vocabulary_size=100, max_sequence_length=16)
    model = BertClassifier(backbone, num_classes=3)
    ids = np.array([[2, 17, 42, 9, 3, 0, 0], [2, 5, 3, 0, 0, 0, 0]], "int32")  # [CLS] ... [SEP], padded
    inputs = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": ids != 0}

    sequence_output = backbone(inputs)["sequence_output"]  # (batch, length, hidden)
    cls_vector = np.asarray(sequence_output)[:, 0]  # [CLS] is the first token
    kernel, bias = backbone.pooler.get_weights()
    pooled = np.tanh(cls_vector @ kernel + bias)  # BERT's pooler: tanh(W h_[CLS] + b)
    kernel, bias = model.get_layer("classifier").get_weights()
    logits = pooled @ kernel + bias  # dropout is off outside training
    difference = np.abs(logits - np.asarray(model(inputs)["logits"])).max()
    print("max difference from the model's logits:", difference)
    assert difference < 1e-5
    print(f"the classifier layer: {kernel.size + bias.size} weights of the model's {model.count_params():,}")


def exercise_2_label_budget():
    """Exercise 2 (medium): fine-tune the pretrained start on fewer and on more
    labelled examples, beside the two baselines trained on the same labels."""
    train, test, _, _ = task()
    budgets = (40, 160) if QUICK else (100, 500)
    results = {}
    for budget in budgets:
        labelled = train.select(random.Random(0).sample(range(len(train)), budget))
        _, accuracy = fine_tune(pretrained_backbone(), labelled, test)
        tfidf = np.mean(tfidf_logistic_regression(list(labelled.texts[0]), labelled.labels,
                                                  list(test.texts[0])) == np.array(test.labels))
        majority = np.mean(np.array(test.labels) == majority_class(labelled.labels))
        results[budget] = accuracy, tfidf, majority
        print(f"{budget} labels: BERT {accuracy:.1%}, TF-IDF + LR {tfidf:.1%}, majority class {majority:.1%}")
        assert majority == np.bincount(test.labels)[majority_class(labelled.labels)] / len(test)
    if not QUICK:
        (small, small_tfidf, _), (large, large_tfidf, _) = results[budgets[0]], results[budgets[1]]
        assert large > small and large_tfidf > small_tfidf, "more labels, better classifiers"
        assert large > results[budgets[1]][2], "BERT beats the majority class"


def exercise_3_frozen_encoder():
    """Exercise 3 (medium): fine-tune with the encoder frozen (only the pooler
    and the classifier learn) and compare with fine-tuning every weight."""
    train, test, _, _ = task()
    labelled = train.take(160 if QUICK else 500)
    accuracies = {}
    for frozen in (True, False):
        backbone = pretrained_backbone()
        before = [w.numpy().copy() for w in backbone.token_embedding.weights]
        model, accuracies[frozen] = fine_tune(backbone, labelled, test, frozen=frozen)
        trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        moved = any(not np.array_equal(b, w.numpy()) for b, w in zip(before, backbone.token_embedding.weights))
        print(f"{'frozen encoder' if frozen else 'all weights   '}: {trainable:,} of {model.count_params():,} "
              f"weights train; test accuracy {accuracies[frozen]:.1%}")
        assert moved != frozen, "a frozen encoder keeps its weights; full fine-tuning moves them"
        assert (trainable < model.count_params() / 10) == frozen
    if not QUICK:
        assert accuracies[False] > accuracies[True], "BERT's recipe trains every weight, and it pays"


EXERCISES = [exercise_1_the_head_by_hand, exercise_2_label_budget, exercise_3_frozen_encoder]


def main():
    for exercise in EXERCISES:
        print(f"\n== {exercise.__name__}")
        exercise()
    print("\nall exercises passed")


if __name__ == "__main__":
    main()
