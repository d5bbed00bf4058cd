"""Solutions to the exercises of notebooks/04_bert_pretraining.ipynb.

One function per exercise; each asserts what a correct solution shows.

    python notebooks/solutions/04_bert_pretraining.py
    TF_MODELS_QUICK=1 python notebooks/solutions/04_bert_pretraining.py  # tiny settings, as `make test`

In full mode the text is the notebook's (Jane Austen's novels, fetched with
apt-get). Quick mode makes up a few dozen short documents, so that it needs
no download, and trains the `test` preset for a few steps, eagerly
(tracing a training step would take longer than the steps): its models
learn little, and only what holds for any amount of training is checked.
"""

import os
import random
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy as np

from tf_models.data import BERT_RESERVED_TOKENS, bert_pretraining_dataset, jane_austen, train_wordpiece_tokenizer
from tf_models.data.masked_lm import masked_lm_dataset
from tf_models.jobs.pretraining import evaluate_pretrainer, most_frequent_token
from tf_models.models import BertBackbone, BertPretrainer
from tf_models.training import compile_bert_pretrainer

QUICK = os.environ.get("TF_MODELS_QUICK") == "1"
LENGTH = 32 if QUICK else 128  # tokens per packed pair


def made_up_documents(count=40, sentences=8, seed=0):
    """Short documents, each about one topic, as lists of sentences."""
    topics = [["kitchen", "bread", "soup", "oven", "cook"], ["garden", "rose", "tree", "rain", "bird"],
              ["ship", "wave", "sailor", "harbour", "storm"], ["town", "street", "shop", "church", "carriage"]]
    templates = ["the {0} was near the {1} .", "she saw a fine {0} by the {1} .", "he said the {0} would wait .",
                 "there was no {0} in the {1} that morning .", "they walked from the {0} to the {1} ."]
    rng = random.Random(seed)
    documents = []
    for index in range(count):
        words = topics[index % len(topics)]
        documents.append([rng.choice(templates).format(*rng.sample(words, 2)) for _ in range(sentences)])
    return documents


def corpus():
    """`(training documents, held-out documents, tokenizer)`, as the notebook makes them."""
    documents = made_up_documents() if QUICK else jane_austen()
    random.Random(0).shuffle(documents)
    held_out, documents = documents[:8], documents[8:]
    texts = [s for d in documents for s in d]
    tokenizer = train_wordpiece_tokenizer(texts, 200 if QUICK else 6000, tempfile.mkdtemp() + "/vocab.txt",
                                          reserved_tokens=BERT_RESERVED_TOKENS)
    return documents, held_out, tokenizer


def exercise_1_what_masking_does():
    """Exercise 1 (easy): count, in a few pretraining batches, how many tokens
    of each sequence are chosen for prediction and what becomes of them
    (BERT's 80% [MASK], 10% random, 10% unchanged)."""
    documents, _, tokenizer = corpus()
    rate, max_predictions = 0.15, 20
    data = bert_pretraining_dataset(documents, tokenizer, batch_size=32, max_sequence_length=LENGTH,
                                    max_predictions_per_sequence=max_predictions, masking_rate=rate, seed=0)
    outcomes = {"[MASK]": 0, "random": 0, "unchanged": 0}
    for features, labels, weights in data.take(2 if QUICK else 20):
        token_ids, positions = features["token_ids"].numpy(), features["mask_positions"].numpy()
        chosen = weights["mlm_logits"].numpy() > 0  # (batch, max_predictions): real predictions
        # The count per sequence: the rate of its non-padding length, at least 1, at most the cap.
        real_length = (token_ids != 0).sum(1)
        expected = np.minimum(max_predictions, np.maximum(1, np.round(real_length * rate)))
        assert np.array_equal(chosen.sum(1), expected)
        now = np.take_along_axis(token_ids, positions, 1)[chosen]  # what the model reads there
        original = labels["mlm_logits"].numpy()[chosen]  # what it must predict
        assert not np.isin(original, [tokenizer.cls_id, tokenizer.sep_id, 0]).any(), "never a special token"
        outcomes["[MASK]"] += int((now == tokenizer.mask_id).sum())
        outcomes["unchanged"] += int((now == original).sum())
        outcomes["random"] += int(((now != tokenizer.mask_id) & (now != original)).sum())
    total = sum(outcomes.values())
    shares = {name: count / total for name, count in outcomes.items()}
    print(f"{total} chosen tokens:", ", ".join(f"{name} {share:.1%}" for name, share in shares.items()))
    # A random replacement sometimes draws the original token: it then counts as unchanged.
    assert abs(shares["[MASK]"] - 0.8) < 0.05
    assert abs(shares["random"] - 0.1) < 0.04 and abs(shares["unchanged"] - 0.1) < 0.04


def pretrain(documents, tokenizer, masking_rate, steps):
    """A fresh BERT pretrained for `steps` steps at `masking_rate`; returns it and its loss by epoch."""
    keras.utils.set_random_seed(0)
    max_predictions = int(np.ceil(masking_rate * LENGTH))  # no cap: every chosen token is predicted
    data = bert_pretraining_dataset(documents, tokenizer, batch_size=32, max_sequence_length=LENGTH,
                                    max_predictions_per_sequence=max_predictions, masking_rate=masking_rate,
                                    seed=0)
    backbone = BertBackbone.from_preset("test" if QUICK else "tiny", vocabulary_size=tokenizer.vocabulary_size,
                                        max_sequence_length=LENGTH)
    model = BertPretrainer(backbone)
    compile_bert_pretrainer(model, total_steps=steps, peak_learning_rate=1e-3, run_eagerly=QUICK)
    history = model.fit(data.repeat(), steps_per_epoch=steps // 2, epochs=2, verbose=0 if QUICK else 2)
    return model, history.history["mlm_logits_loss"]


def exercise_2_masking_rate():
    """Exercise 2 (medium): pretrain at a masking rate of 15% and of 40%, the
    same number of steps, and compare their held-out masked-LM accuracy with
    the most-frequent-token baseline, on the same masked positions."""
    documents, held_out, tokenizer = corpus()
    frequent = most_frequent_token([s for d in documents for s in d], tokenizer)
    steps = 4 if QUICK else 600
    scores = {}
    for rate in (0.15, 0.40):
        model, losses = pretrain(documents, tokenizer, rate, steps)
        # Score both on the same held-out examples, masked at 15% (the same seed:
        # the same pairs and positions), so the two numbers compare.
        held_out_data = bert_pretraining_dataset(held_out, tokenizer, batch_size=32, max_sequence_length=LENGTH,
                                                 seed=1)
        print(f"masking rate {rate:.0%}: masked-LM loss by epoch {np.round(losses, 3).tolist()}")
        scores[rate] = evaluate_pretrainer(model, held_out_data, frequent, tokenizer)
        assert losses[-1] < losses[0], "the masked-LM loss went down"
    baselines = [s["baselines"]["mlm_most_frequent_token_accuracy"] for s in scores.values()]
    counts = [s["masked_tokens"] for s in scores.values()]
    assert baselines[0] == baselines[1] and counts[0] == counts[1], "both scored on the same masked tokens"
    if not QUICK:
        assert all(s["mlm_logits_accuracy"] > baselines[0] for s in scores.values()), "both beat the baseline"
    # More masking means more predictions per step but less context for each;
    # which one wins after the same steps is what the exercise measures.
    best = max(scores, key=lambda rate: scores[rate]["mlm_logits_accuracy"])
    print(f"higher held-out masked-LM accuracy: masking rate {best:.0%}")


def exercise_3_padding_in_pairs():
    """Exercise 3 (easy): what share of the positions in a batch are padding,
    with BERT's sentence pairs and with documents packed full (no NSP)?"""
    documents, _, tokenizer = corpus()
    length = 64 if QUICK else 128
    pairs = bert_pretraining_dataset(documents, tokenizer, batch_size=32, max_sequence_length=length, seed=0)
    packed = masked_lm_dataset(documents, tokenizer, batch_size=32, max_sequence_length=length, seed=0,
                               drop_remainder=True)
    padding = {}
    for name, data in (("sentence pairs (MLM + NSP)", pairs), ("packed full (MLM only)", packed)):
        masks = [features["padding_mask"].numpy() for features, _, _ in data.take(4 if QUICK else 20)]
        padding[name] = 1 - np.concatenate(masks).mean()
        print(f"{name}: {padding[name]:.0%} of the positions are padding")
    # Pairs stop at document ends (and 10% are cut short on purpose), so they pad;
    # packed rows run across documents and are full.
    assert padding["packed full (MLM only)"] == 0 < padding["sentence pairs (MLM + NSP)"]


EXERCISES = [exercise_1_what_masking_does, exercise_2_masking_rate, exercise_3_padding_in_pairs]


def main():
    for exercise in EXERCISES:
        print(f"\n== {exercise.__name__}")
        exercise()
    print("\nall exercises passed")


if __name__ == "__main__":
    main()
