"""Probes: what a pretrained BERT knows before it sees a single label.

* `masked_word_accuracy`: hide one whole word per held-out sentence and ask
  the masked-LM head for it, choosing among word tokens only (letters, no
  punctuation or `##` pieces), beside the baseline that always answers the
  most frequent word. A small model's raw top answers are "," and "the";
  restricting to words asks whether it knows *which* word.
* `fill_mask_words`: the top word answers for prompts with a `[MASK]`.
* `linear_probe_accuracy`: logistic regression on frozen, mean-pooled
  features, which tells pretrained from random weights without fine-tuning.
* `nearest_words`: the words whose input embeddings lie closest to a word's:
  what pretraining put together.
"""

import numpy as np
import tensorflow as tf

from tf_models.data.records import classification_data
from tf_models.data.pipelines import classification_dataset
from tf_models.inference.bert import is_word_token, tokenize_with_masks


def word_token_ids(tokenizer):
    """Ids of the vocabulary's whole-word tokens made of letters only.

    Example:
    >>> class Vocabulary:
    ...     vocabulary = ["[PAD]", "the", ",", "##s", "cat", "42"]
    >>> word_token_ids(Vocabulary()).tolist()
    [1, 4]
    """
    return np.array([i for i, token in enumerate(tokenizer.vocabulary) if is_word_token(token)], np.int64)


def _masked_batch(rows, positions):
    """Pads token-id rows into one `BertPretrainer` input batch."""
    width = max(map(len, rows))
    token_ids = np.zeros((len(rows), width), np.int32)
    for i, row in enumerate(rows):
        token_ids[i, : len(row)] = row
    return {
        "token_ids": token_ids,
        "segment_ids": np.zeros_like(token_ids),
        "padding_mask": (token_ids != 0).astype(np.int32),
        "mask_positions": np.asarray(positions, np.int32)[:, None],
    }


def _word_logits(pretrainer, rows, positions, words):
    outputs = pretrainer.predict_on_batch(_masked_batch(rows, positions))
    return np.asarray(outputs["mlm_logits"], np.float32)[:, 0, :][:, words]  # (B, words)


def masked_word_accuracy(pretrainer, tokenizer, sentences, most_frequent_word, max_sequence_length=128,
                         seed=0, batch_size=64):
    """Accuracy at predicting one hidden word per sentence, among word tokens.

    Args:
        pretrainer: a `BertPretrainer`.
        tokenizer: its `WordPieceTokenizer`.
        sentences: held-out sentences (each gets one word masked, chosen at
            random with `seed`; sentences without a word token are skipped).
        most_frequent_word: the id of the most frequent word token of the
            training text, the baseline's constant answer.
        max_sequence_length: longest input, special tokens included.
        seed: which word each sentence hides.
        batch_size: sentences per forward pass.

    Returns:
        A dict: `word_accuracy`, `baseline_most_frequent_word_accuracy`,
        `masked_words` (how many were scored).
    """
    words = word_token_ids(tokenizer)
    is_word = np.zeros(tokenizer.vocabulary_size, bool)
    is_word[words] = True
    rng = np.random.default_rng(seed)
    correct = baseline = total = 0
    for start in range(0, len(sentences), batch_size):
        pieces = tokenizer.tokenize(tf.constant(list(sentences[start : start + batch_size])))
        rows, positions, targets = [], [], []
        for ids in pieces.to_list():
            ids = ids[: max_sequence_length - 2]
            candidates = [i for i, token in enumerate(ids) if is_word[token]]
            if not candidates:
                continue
            position = int(rng.choice(candidates)) + 1  # after [CLS]
            row = np.array([tokenizer.cls_id, *ids, tokenizer.sep_id])
            targets.append(row[position])
            row[position] = tokenizer.mask_id
            rows.append(row)
            positions.append(position)
        if rows:
            predicted = words[np.argmax(_word_logits(pretrainer, rows, positions, words), -1)]
            correct += int(np.sum(predicted == targets))
            baseline += int(np.sum(np.array(targets) == most_frequent_word))
            total += len(rows)
    return {
        "word_accuracy": correct / max(total, 1),
        "baseline_most_frequent_word_accuracy": baseline / max(total, 1),
        "masked_words": total,
    }


def fill_mask_words(pretrainer, tokenizer, prompts, top_k=5):
    """The `top_k` word tokens the masked-LM head puts at each prompt's `[MASK]`.

    Args:
        pretrainer: a `BertPretrainer`.
        tokenizer: its tokenizer (cased as the prompts should be read).
        prompts: strings with one `[MASK]` each.
        top_k: answers per prompt.

    Returns:
        A dict prompt -> list of `top_k` word tokens, likeliest first.
    """
    words = word_token_ids(tokenizer)
    rows, positions = [], []
    for prompt, ids in zip(prompts, tokenize_with_masks(tokenizer, tf.constant(list(prompts))).to_list()):
        row = np.array([tokenizer.cls_id, *ids, tokenizer.sep_id])
        if tokenizer.mask_id not in row:
            raise ValueError(f"the prompt {prompt!r} has no [MASK]")
        rows.append(row)
        positions.append(int(np.argmax(row == tokenizer.mask_id)))
    logits = _word_logits(pretrainer, rows, positions, words)
    return {prompt: [tokenizer.vocabulary[words[i]] for i in np.argsort(-row)[:top_k]]
            for prompt, row in zip(prompts, logits)}


def mean_pooled_features(backbone, tokenizer, texts, max_sequence_length=128, batch_size=64):
    """`(len(texts), hidden_dim)` float32: the last layer averaged over real tokens."""
    data = classification_dataset(classification_data(list(texts), [0] * len(texts), ("x",)),
                                  tokenizer, batch_size=batch_size, max_sequence_length=max_sequence_length)
    features = []
    for inputs, _ in data:
        sequence = np.asarray(backbone.predict_on_batch(inputs)["sequence_output"], np.float32)  # (B, T, H)
        mask = inputs["padding_mask"].numpy()[..., None].astype(np.float32)  # (B, T, 1)
        features.append((sequence * mask).sum(1) / mask.sum(1))
    return np.concatenate(features)


def linear_probe_accuracy(backbone, tokenizer, train, test, max_sequence_length=128):
    """Test accuracy of logistic regression on frozen mean-pooled features.

    Args:
        backbone: a `BertBackbone`, left unchanged.
        tokenizer: its tokenizer.
        train: `(texts, labels)` to fit the probe on.
        test: `(texts, labels)` to score it on.
        max_sequence_length: longest input.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000))
    probe.fit(mean_pooled_features(backbone, tokenizer, train[0], max_sequence_length), np.asarray(train[1]))
    features = mean_pooled_features(backbone, tokenizer, test[0], max_sequence_length)
    return float(probe.score(features, np.asarray(test[1])))


def nearest_words(backbone, tokenizer, words, k=5):
    """The `k` word tokens whose input embeddings are closest to each word's.

    Closeness is the cosine of the token-embedding rows. With enough
    pretraining, words that fill the same slots in the text (`game` and
    `puzzle`, `audio` and `sound`) end up together; in random weights a
    word's neighbours are arbitrary, and after minutes of pretraining on a
    CPU they still look so (`benchmarks.pretraining_curve`).

    Args:
        backbone: a `BertBackbone`.
        tokenizer: its tokenizer.
        words: whole-word tokens (`is_word_token`); others, and words not
            in the vocabulary, are skipped.
        k: neighbours per word.

    Returns:
        A dict word -> its `k` nearest word tokens, nearest first.

    Example:
    >>> import tempfile
    >>> from tf_models.data import WordPieceTokenizer
    >>> from tf_models.models import BertBackbone
    >>> path = tempfile.mkdtemp() + "/vocab.txt"
    >>> _ = open(path, "w").write("[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\n[MASK]\\ngame\\nplay\\nsound\\n")
    >>> tokenizer = WordPieceTokenizer(path)
    >>> neighbours = nearest_words(BertBackbone.from_preset("test", vocabulary_size=8), tokenizer, ["game"], k=2)
    >>> sorted(neighbours["game"])
    ['play', 'sound']
    """
    table = np.asarray(backbone.token_embedding.embeddings, np.float32)
    table = table / np.maximum(np.linalg.norm(table, axis=1, keepdims=True), 1e-12)
    candidates = word_token_ids(tokenizer)
    neighbours = {}
    for word in words:
        if not is_word_token(word) or word not in tokenizer.vocabulary:
            continue
        index = tokenizer.token_to_id(word)
        similarity = table[candidates] @ table[index]
        order = [candidates[i] for i in np.argsort(-similarity) if candidates[i] != index]
        neighbours[word] = [tokenizer.vocabulary[i] for i in order[:k]]
    return neighbours
