"""Records: what the readers and sources return, as plain Python objects.

Corpora stay plain Python (lists, strings, ints) until `tf_models.data.pipelines`
turns them into `tf.data` batches for a model, so they can be inspected, split
and filtered with ordinary Python. (A labelled record hands its examples to
the pipelines itself, as a dataset of strings: `ClassificationData.dataset`.)
The shapes:

* **sentence pairs** (translation): a list of `(source, target)` strings;
* **documents** (BERT pretraining): a list of documents, each a list of
  sentence strings;
* **labelled text** (classification): `ClassificationData`, one or two text
  columns, a label index per example and the names of the labels;
* **scored text** (regression, e.g. STS-B): `RegressionData`, the same with a
  float score per example;
* **tagged words** (CoNLL): `TaggingData`, sentences as word lists and a tag
  index per word;
* **questions with answer spans** (SQuAD v1.1): a list of `SquadExample`.
"""

import dataclasses

import tensorflow as tf


class CorpusError(ValueError):
    """A corpus file is missing, malformed, or cannot be fetched."""


class _LabelledTexts:
    """What `ClassificationData` and `RegressionData` share: text columns and a label per example."""

    def __len__(self):
        return len(self.labels)

    def take(self, count):
        """The first `count` examples, as a record of the same kind."""
        return self.select(range(min(count, len(self))))

    def select(self, indices):
        """The examples at `indices`, in that order, as a record of the same kind."""
        return dataclasses.replace(self, texts=tuple(tuple(column[i] for i in indices) for column in self.texts),
                                   labels=tuple(self.labels[i] for i in indices))

    @property
    def dataset(self):
        """The examples as a `tf.data.Dataset` of `(texts, label)`, where the
        pipelines take them over (`tf_models.data.pipelines.labelled_text_dataset`).

        `texts` is a tuple of one or two scalar strings; `label` an int32
        class index, or a float32 score for `RegressionData`.
        """
        count = len(self)
        columns = tuple(tf.constant(list(column), tf.string, shape=[count]) for column in self.texts)
        labels = tf.constant(list(self.labels), self._label_dtype, shape=[count])
        return tf.data.Dataset.from_tensor_slices((columns, labels))


@dataclasses.dataclass(frozen=True)
class ClassificationData(_LabelledTexts):
    """Labelled sentences or sentence pairs and the names of their labels.

    Attributes:
        texts: a tuple of one or two text columns (a sentence, or a sentence
            pair per example), each a tuple of strings.
        labels: a tuple with each example's label, an int index into
            `label_names`.
        label_names: tuple of str, the name of each label index.

    Example:
    >>> data = ClassificationData.from_lists(["good", "bad"], [1, 0], ("neg", "pos"))
    >>> data.texts, data.labels, len(data), data.num_classes
    ((('good', 'bad'),), (1, 0), 2, 2)
    """

    texts: tuple
    labels: tuple
    label_names: tuple
    _label_dtype = tf.int32  # a class attribute, not a field

    @classmethod
    def from_lists(cls, texts, labels, label_names):
        """Builds the record from a list of strings (or a tuple of one or two
        lists, for sentence pairs), a list of label indices and the label names."""
        return cls(_text_columns(texts, len(labels)), tuple(int(label) for label in labels),
                   tuple(str(name) for name in label_names))

    @property
    def num_classes(self):
        return len(self.label_names)


@dataclasses.dataclass(frozen=True)
class RegressionData(_LabelledTexts):
    """Sentences or sentence pairs with a real-valued score each, as STS-B has.

    Attributes:
        texts: a tuple of one or two text columns, each a tuple of strings.
        labels: a tuple with each example's score, a float.

    Example:
    >>> data = RegressionData.from_lists((["A cat."], ["A dog."]), [1.5])
    >>> data.texts, data.labels
    ((('A cat.',), ('A dog.',)), (1.5,))
    """

    texts: tuple
    labels: tuple
    _label_dtype = tf.float32

    @classmethod
    def from_lists(cls, texts, labels):
        """Builds the record from text columns (as `ClassificationData.from_lists`) and scores."""
        return cls(_text_columns(texts, len(labels)), tuple(float(label) for label in labels))



def _text_columns(texts, count):
    """One or two text columns as a tuple of tuples of str, each `count` long."""
    if not isinstance(texts, tuple):
        texts = (texts,)
    if len(texts) not in (1, 2):
        raise ValueError(f"Expected one or two text columns, got {len(texts)}.")
    columns = tuple(tuple(str(text) for text in column) for column in texts)
    if any(len(column) != count for column in columns):
        lengths = ", ".join(str(len(column)) for column in columns)
        raise ValueError(f"Text columns of {lengths} examples for {count} labels.")
    return columns


def classification_data(texts, labels, label_names):
    """`ClassificationData.from_lists`, as a function.

    Example:
    >>> classification_data(["good", "bad"], [1, 0], ("neg", "pos")).labels
    (1, 0)
    """
    return ClassificationData.from_lists(texts, labels, label_names)


@dataclasses.dataclass(frozen=True)
class TaggingData:
    """Sentences with one tag per word, as in CoNLL-2003 named entities.

    Attributes:
        sentences: list of sentences, each a list of words (str).
        tags: list of the same shape: each word's tag, an int index into
            `label_names`.
        label_names: tuple of str, the name of each tag index.
    """

    sentences: list
    tags: list
    label_names: tuple

    @property
    def num_classes(self):
        return len(self.label_names)

    def tag_names(self, tags=None):
        """Tag indices (by default `self.tags`) as lists of tag names."""
        tags = self.tags if tags is None else tags
        return [[self.label_names[t] for t in sentence] for sentence in tags]



@dataclasses.dataclass(frozen=True)
class SquadExample:
    """A SQuAD question with its context paragraph and reference answers.

    Attributes:
        id: the question id.
        title: the title of the article.
        question: the question.
        context: the paragraph that holds the answer.
        answers: tuple of `(text, answer_start)`, `answer_start` a character
            (code point) index into `context`; `context[answer_start:
            answer_start + len(text)] == text`. One in the training set,
            usually three (from different annotators) in the dev set.
    """

    id: str
    title: str
    question: str
    context: str
    answers: tuple

    @property
    def answer_texts(self):
        return [text for text, _ in self.answers]

