"""Classical baselines, computed in the same run as the model they stand beside.

A score means little alone: 70% accuracy is good on a balanced task and
worse than guessing "the majority class" on one with 75% of a single label.
Each neural result of the package is printed next to the simplest model that
could reach it without learning what the lesson is about.
"""

import numpy as np


def tfidf_logistic_regression(train_texts, train_labels, test_texts, seed=0):
    """Test predictions of TF-IDF features + logistic regression (scikit-learn).

    The strong classical text classifier: word unigrams and bigrams weighted
    by TF-IDF (sublinear term frequency), an L2-regularised logistic
    regression on top. Sentence pairs are joined with a separator.

    Args:
        train_texts: a list of strings, or of tuples of strings (pairs).
        train_labels: their int labels.
        test_texts: texts to predict, shaped like `train_texts`.
        seed: the solver's seed.

    Returns:
        An int array of predicted labels for `test_texts`.

    Example:
    >>> texts = ["good food", "great taste", "bad smell", "awful taste"] * 5
    >>> labels = [1, 1, 0, 0] * 5
    >>> tfidf_logistic_regression(texts, labels, ["good taste", "awful food"]).tolist()
    [1, 0]
    """
    from sklearn.linear_model import LogisticRegression

    model = _tfidf(train_texts, LogisticRegression(C=10.0, max_iter=2000, random_state=seed))
    model.fit(_joined(train_texts), np.asarray(train_labels))
    return model.predict(_joined(test_texts))


def tfidf_ridge_regression(train_texts, train_scores, test_texts):
    """Test predictions of TF-IDF features + ridge regression (scikit-learn).

    The regression twin of `tfidf_logistic_regression`, for real-valued
    labels such as STS-B's similarity scores: the same features, a linear
    model fitted by L2-regularised least squares.

    Args:
        train_texts: a list of strings, or of tuples of strings (pairs).
        train_scores: their float scores.
        test_texts: texts to predict, shaped like `train_texts`.

    Returns:
        A float array of predicted scores for `test_texts`.

    Example:
    >>> texts = ["good food", "great taste", "bad smell", "awful taste"] * 5
    >>> scores = [4.5, 4.0, 1.0, 0.5] * 5
    >>> [round(float(s)) for s in tfidf_ridge_regression(texts, scores, ["good food", "bad smell"])]
    [4, 1]
    """
    from sklearn.linear_model import Ridge

    model = _tfidf(train_texts, Ridge(alpha=1.0))
    model.fit(_joined(train_texts), np.asarray(train_scores, np.float64))
    return model.predict(_joined(test_texts))


def character_logistic_regression(train_words, train_tags, test_words, seed=0):
    """Test predictions of a word tagger that reads only the word itself:
    TF-IDF of its character 1- to 4-grams (suffixes such as "-ly", "-ing",
    "-tion" included) + logistic regression (scikit-learn).

    The classical tagger of unknown words: it needs no context and no
    pretraining, and mostly gives a word seen in training the tag it was
    trained on.

    Args:
        train_words: a list of words (one per tagged occurrence).
        train_tags: their int tags.
        test_words: words to tag.
        seed: the solver's seed.

    Returns:
        An int array of predicted tags for `test_words`.

    Example:
    >>> words = ["quickly", "slowly", "gladly", "running", "reading", "singing"] * 3
    >>> tags = [1, 1, 1, 0, 0, 0] * 3
    >>> character_logistic_regression(words, tags, ["rarely", "jumping"]).tolist()
    [1, 0]
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    if len(set(np.asarray(train_tags).tolist())) < 2:  # one tag: nothing to learn (and scikit-learn refuses)
        return np.full(len(test_words), np.asarray(train_tags)[0] if len(train_tags) else 0)
    model = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True),
                          LogisticRegression(C=10.0, max_iter=2000, random_state=seed))
    model.fit(list(train_words), np.asarray(train_tags))
    return model.predict(list(test_words))


def _joined(texts):
    """Texts as single strings: a pair's two sides joined with a separator."""
    return [" | ".join(text) if isinstance(text, (tuple, list)) else text for text in texts]


def _tfidf(train_texts, estimator):
    """Word unigram and bigram TF-IDF features (sublinear term frequency) into `estimator`."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2 if len(train_texts) > 1000 else 1, sublinear_tf=True)
    return make_pipeline(vectorizer, estimator)


def mean_score(train_scores):
    """The mean training score: the regressor that reads nothing.

    Example:
    >>> mean_score([1.0, 2.0, 4.5])
    2.5
    """
    return float(np.mean(np.asarray(train_scores, np.float64)))


def majority_class(train_labels):
    """The most frequent training label: the classifier that reads nothing.

    Example:
    >>> majority_class([0, 1, 1, 2])
    1
    """
    return int(np.bincount(np.asarray(train_labels)).argmax())


def nearest_training_target(train_pairs, test_sources, batch_size=256):
    """The translation-memory baseline: each test source gets the target of
    the most similar training source, as a translator's memory proposes it,
    without a model. Where copying the source scores nothing (Chinese into
    English), this is the baseline a model must beat.

    Similarity is the cosine of character unigram and bigram TF-IDF vectors,
    which needs no word boundaries (Chinese has none).

    Args:
        train_pairs: `(source, target)` string pairs.
        test_sources: the source strings to translate.
        batch_size: test sources compared with all training sources at once.

    Returns:
        A list of target strings, one per test source.

    Example:
    >>> nearest_training_target([("打开文件", "Open File"), ("关闭窗口", "Close Window")], ["打开窗口文件"])
    ['Open File']
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    sources, targets = zip(*train_pairs)
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
    train = vectorizer.fit_transform(sources)  # rows normalised: dot products are cosines
    test = vectorizer.transform(list(test_sources))
    nearest = []
    for start in range(0, test.shape[0], batch_size):  # (batch, train) similarities, a batch at a time
        nearest.extend(np.asarray((test[start : start + batch_size] @ train.T).argmax(axis=1)).ravel())
    return [targets[i] for i in nearest]


def ngram_cross_entropy(train_ids, test_ids, vocabulary_size, order=2, weights=(0.5, 0.7, 0.9, 0.95),
                        skip_first=False):
    """Held-out cross-entropy of a unigram or bigram model: the language
    model's baselines, in nats per token.

    Counts come from `train_ids` only. The unigram model is add-one smoothed
    (no token has probability 0); the bigram model mixes the bigram estimate
    with the unigram one, `w * p(b | a) + (1 - w) * p(b)`, with the weight `w`
    that scores best on the last tenth of the training ids when counted on
    the rest (never on the test ids).

    Args:
        train_ids: 1-D int array of training tokens, texts joined.
        test_ids: 1-D int array of held-out tokens.
        vocabulary_size: number of token ids.
        order: 1 (unigram) or 2 (bigram).
        weights: the bigram weights tried.
        skip_first: score `test_ids[1:]` only, the first id being context
            (what a language model that reads the first token predicts).

    Returns:
        The mean negative log-probability of the test tokens (perplexity is
        its exponential; bits per character is its total over
        `ln 2 x characters`). A bigram model scores the first test token
        with the unigram model.

    Example:
    >>> train = np.array([1, 2, 1, 2, 1, 2, 1, 2] * 10)
    >>> unigram = ngram_cross_entropy(train, np.array([1, 2, 1, 2]), 4, order=1)
    >>> bigram = ngram_cross_entropy(train, np.array([1, 2, 1, 2]), 4, order=2)
    >>> round(float(np.exp(unigram)), 2), bigram < unigram
    (2.05, True)
    """
    train_ids, test_ids = np.asarray(train_ids, np.int64), np.asarray(test_ids, np.int64)
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order}.")
    if order == 1:
        log_probabilities = np.log(_unigram(train_ids, vocabulary_size)[test_ids])
        return float(-np.mean(log_probabilities[int(skip_first):]))
    cut = len(train_ids) * 9 // 10
    best = min(weights, key=lambda w: np.mean(_bigram_nats(train_ids[:cut], train_ids[cut:], vocabulary_size, w)))
    return float(np.mean(_bigram_nats(train_ids, test_ids, vocabulary_size, best)[int(skip_first):]))


def _unigram(ids, vocabulary_size):
    counts = np.bincount(ids, minlength=vocabulary_size).astype(np.float64) + 1.0  # add-one
    return counts / counts.sum()


def _bigram_nats(train_ids, test_ids, vocabulary_size, weight):
    """Each test id's negative log-probability; the first one's under the unigram model."""
    unigram = _unigram(train_ids, vocabulary_size)
    pairs = train_ids[:-1] * vocabulary_size + train_ids[1:]
    pair_ids, pair_counts = np.unique(pairs, return_counts=True)  # sparse: V^2 may not fit in memory
    context_counts = np.bincount(train_ids[:-1], minlength=vocabulary_size).astype(np.float64)
    test_pairs = test_ids[:-1] * vocabulary_size + test_ids[1:]
    found = np.searchsorted(pair_ids, test_pairs)
    found = np.minimum(found, len(pair_ids) - 1)
    counts = np.where(pair_ids[found] == test_pairs, pair_counts[found], 0)
    contexts = context_counts[test_ids[:-1]]
    bigram = np.divide(counts, contexts, out=np.zeros(len(counts)), where=contexts > 0)
    probabilities = weight * bigram + (1 - weight) * unigram[test_ids[1:]]
    return -np.concatenate([np.log(unigram[test_ids[:1]]), np.log(probabilities)])
