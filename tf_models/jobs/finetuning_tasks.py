"""The fine-tuning tasks: what each adds to the shared fine-tuning job.

The fine-tuning job (`tf_models.jobs.finetuning`) is the same for every
task: initial weights, `fit`, save, score, export. A `FinetuningTask`
supplies the rest: its data, its batches, its model and compile settings,
its scores (beside baselines) and its inference module. Adding a task is a
subclass here and one line in `FINETUNING_TASKS` (`jobs/configs.py`).

* `Classify` ("classifier"): a label per text or text pair (`BertClassifier`).
* `Regress` ("regressor"): a real score per text or text pair, e.g. STS-B
  similarity (`BertClassifier` with one output).
* `Tag` ("tagger"): a tag per word, CoNLL files (`BertTagger`).
* `AnswerQuestions` ("question_answerer"): an answer span in a context,
  SQuAD (`BertSpanLabeler`).
"""

import dataclasses
import random

import numpy as np

from tf_models.data.pipelines import classification_dataset
from tf_models.data.question_answering import squad_dataset, squad_predictions
from tf_models.data.tagging import tagging_dataset, word_predictions
from tf_models.inference import QuestionAnswerer, TextClassifier, TextRegressor, TokenTagger
from tf_models.models import BertClassifier, BertSpanLabeler, BertTagger
from tf_models.training import (
    compile_bert_classifier,
    compile_bert_regressor,
    compile_bert_span_labeler,
    compile_bert_token_classifier,
)
from tf_models.training.baselines import (
    character_logistic_regression,
    majority_class,
    mean_score,
    tfidf_logistic_regression,
    tfidf_ridge_regression,
)
from tf_models.training.evaluation import classification_scores, regression_scores, squad_scores, tagging_scores


class FinetuningTask:
    """One fine-tuning task.

    Attributes:
        name: the task's one name: its `--task` value, the run's model file
            (`<name>.keras`), the default name of its TF Serving export and
            the `settings["task"]` recorded there (its inference module's
            `TASK`).
        corpus_kind: the records it trains on (a key of
            `tf_models.jobs.corpora.CORPORA`).
    """

    name = None
    corpus_kind = None

    @property
    def model_file(self):
        return f"{self.name}.keras"

    def sample(self, train, count, seed):
        """`count` training examples drawn at random with `seed` (all, if
        there are no more), in their order in `train`: a label budget that
        does not depend on how the source sorts its examples."""
        size = self.size(train)
        indices = sorted(random.Random(seed).sample(range(size), min(count, size)))
        return self.select(train, indices)

    def size(self, examples):
        """How many examples `examples` holds."""
        return len(examples)

    def select(self, examples, indices):
        """The examples at `indices`, as the same kind of record."""
        raise NotImplementedError

    def vocabulary_texts(self, train):
        """A list of training strings, to learn a vocabulary from."""
        raise NotImplementedError

    def dataset(self, job, examples, tokenizer, training):
        """Batches for `fit` (`training`: shuffled) or for evaluation."""
        raise NotImplementedError

    def model(self, backbone, train):
        """The task's model on `backbone`."""
        raise NotImplementedError

    def compile(self, model, total_steps, **options):
        """Compiles `model` for `total_steps` (options: `peak_learning_rate`, `compile` arguments)."""
        raise NotImplementedError

    def evaluate(self, model, tokenizer, train, test, job):
        """The scores of `model` on `test`, with baselines trained on `train`."""
        raise NotImplementedError

    def validate(self, model, tokenizer, validation, job):
        """The scores of `model` on the corpus' validation split, for
        choosing between runs without looking at the test set."""
        raise NotImplementedError

    def inference_module(self, model, tokenizer, job, results):
        """The `tf.Module` that serves the trained model (`results`: the run's scores)."""
        raise NotImplementedError

    def describe(self, train):
        """A few words about the training examples, for the log."""
        return ""

    @staticmethod
    def _batches(job, training):
        shuffle = dict(shuffle_buffer_size=10_000, seed=job.seed) if training else {}
        return dict(batch_size=job.batch_size, max_sequence_length=job.max_sequence_length, **shuffle)


def _examples_and_labels(data):
    """A list of texts (str, or tuples for pairs) and an array of the labels."""
    texts = list(data.texts[0]) if len(data.texts) == 1 else list(zip(*data.texts))
    return texts, np.array(data.labels)


def texts_and_labels(data):
    """`ClassificationData` as the classical baselines take it: a list of
    texts (str, or tuples for pairs) and an int array of labels.

    Example:
    >>> from tf_models.data import classification_data
    >>> texts_and_labels(classification_data(["good", "bad"], [1, 0], ("neg", "pos")))
    (['good', 'bad'], array([1, 0]))
    """
    texts, labels = _examples_and_labels(data)
    return texts, labels.astype(int)


def classification_baselines(train, test, model_accuracy=None):
    """Accuracy and macro F1 of the majority class and of TF-IDF + logistic
    regression, trained on `train` and scored on `test` (`ClassificationData`)."""
    train_texts, train_labels = texts_and_labels(train)
    test_texts, test_labels = texts_and_labels(test)
    predictions = {
        "majority_class": np.full(len(test_labels), majority_class(train_labels)),
        "tfidf_logistic_regression": tfidf_logistic_regression(train_texts, train_labels, test_texts),
    }
    baselines = {}
    for name, predicted in predictions.items():
        scores = classification_scores(test_labels, predicted)
        baselines[f"{name}_accuracy"], baselines[f"{name}_macro_f1"] = scores["accuracy"], scores["macro_f1"]
    print(f"  baselines on the same test set: majority class {baselines['majority_class_accuracy']:.1%}, "
          f"TF-IDF + logistic regression {baselines['tfidf_logistic_regression_accuracy']:.1%}")
    if model_accuracy is not None:
        beaten = [name for name in predictions if model_accuracy <= baselines[f"{name}_accuracy"]]
        if beaten:
            print(f"  the model does NOT beat: {', '.join(beaten)}")
    return baselines


def evaluate_classifier(model, data, label_names, split="test"):
    """Accuracy, macro F1 and MCC of `model` on a classification dataset
    (`split` names it in the printed line)."""
    labels, predictions = [], []
    for features, targets in data:
        logits = model.predict_on_batch(features)["logits"]
        predictions.append(np.argmax(logits, axis=-1))
        labels.append(targets["logits"].numpy())
    scores = classification_scores(np.concatenate(labels), np.concatenate(predictions))
    scores["label_names"] = list(label_names)
    print(
        f"{split} accuracy {scores['accuracy']:.1%} (majority baseline {scores['majority_baseline']:.1%}), "
        f"macro F1 {scores['macro_f1']:.3f}, MCC {scores['mcc']:.3f}"
    )
    return scores


class Classify(FinetuningTask):
    """A label per text or text pair: fine-food reviews, Debian package
    sections, SST-2 or GLUE-style TSV files."""

    name = "classifier"
    corpus_kind = "labelled_texts"

    def select(self, examples, indices):
        return examples.select(indices)

    def vocabulary_texts(self, train):
        return [text for column in train.texts for text in column]

    def dataset(self, job, examples, tokenizer, training):
        return classification_dataset(examples, tokenizer, **self._batches(job, training))

    def model(self, backbone, train):
        return BertClassifier(backbone, train.num_classes)

    def compile(self, model, total_steps, **options):
        return compile_bert_classifier(model, total_steps, **options)

    def evaluate(self, model, tokenizer, train, test, job):
        scores = evaluate_classifier(model, self.dataset(job, test, tokenizer, training=False), test.label_names)
        scores["baselines"] = classification_baselines(train, test, scores["accuracy"])
        return scores

    def validate(self, model, tokenizer, validation, job):
        return evaluate_classifier(model, self.dataset(job, validation, tokenizer, training=False),
                                   validation.label_names, split="validation")

    def inference_module(self, model, tokenizer, job, results):
        return TextClassifier(model, tokenizer, results["label_names"], job.max_sequence_length)

    def describe(self, train):
        return f", labels {list(train.label_names)}"


class Regress(FinetuningTask):
    """A real-valued score per text or text pair (STS-B's 0-5 similarity), by mean squared error.

    Scored with Pearson and Spearman correlation (as GLUE reports STS-B)
    beside two baselines trained on the same examples: predicting the
    training mean everywhere, and TF-IDF + ridge regression.
    """

    name = "regressor"
    corpus_kind = "scored_texts"

    def select(self, examples, indices):
        return examples.select(indices)

    def vocabulary_texts(self, train):
        return [text for column in train.texts for text in column]

    def dataset(self, job, examples, tokenizer, training):
        return classification_dataset(examples, tokenizer, **self._batches(job, training))

    def model(self, backbone, train):
        return BertClassifier(backbone, num_classes=1)

    def compile(self, model, total_steps, **options):
        return compile_bert_regressor(model, total_steps, **options)

    def evaluate(self, model, tokenizer, train, test, job):
        labels, predictions = [], []
        for features, targets in self.dataset(job, test, tokenizer, training=False):
            predictions.append(np.asarray(model.predict_on_batch(features)["logits"])[:, 0])
            labels.append(targets["logits"].numpy())
        labels, predictions = np.concatenate(labels), np.concatenate(predictions)
        scores = regression_scores(labels, predictions)
        train_texts, train_scores = _examples_and_labels(train)
        test_texts, _ = _examples_and_labels(test)
        baselines = {
            "mean_score": np.full(len(labels), mean_score(train_scores)),
            "tfidf_ridge_regression": tfidf_ridge_regression(train_texts, train_scores, test_texts),
        }
        scores["baselines"] = {f"{name}_{metric}": value for name, predicted in baselines.items()
                               for metric, value in regression_scores(labels, predicted).items()}
        base = scores["baselines"]
        print(f"test Pearson {scores['pearson']:.3f}, Spearman {scores['spearman']:.3f}, "
              f"mean squared error {scores['mse']:.3f} ({len(labels)} examples)")
        print(f"  baselines on the same test set: the training mean (MSE {base['mean_score_mse']:.3f}), "
              f"TF-IDF + ridge regression (Pearson {base['tfidf_ridge_regression_pearson']:.3f}, "
              f"Spearman {base['tfidf_ridge_regression_spearman']:.3f}, MSE {base['tfidf_ridge_regression_mse']:.3f})")
        if scores["pearson"] <= base["tfidf_ridge_regression_pearson"]:
            print("  the model does NOT beat TF-IDF + ridge regression")
        return scores

    def inference_module(self, model, tokenizer, job, results):
        return TextRegressor(model, tokenizer, job.max_sequence_length)


class Tag(FinetuningTask):
    """A tag per word (named entities, parts of speech): CoNLL files."""

    name = "tagger"
    corpus_kind = "tagged_words"

    def size(self, examples):
        return len(examples.sentences)

    def select(self, examples, indices):
        return dataclasses.replace(examples, sentences=[examples.sentences[i] for i in indices],
                                   tags=[examples.tags[i] for i in indices])

    def vocabulary_texts(self, train):
        return [" ".join(words) for words in train.sentences]

    def dataset(self, job, examples, tokenizer, training):
        return tagging_dataset(examples, tokenizer, **self._batches(job, training))

    def model(self, backbone, train):
        return BertTagger(backbone, train.num_classes)

    def compile(self, model, total_steps, **options):
        return compile_bert_token_classifier(model, total_steps, **options)

    def evaluate(self, model, tokenizer, train, test, job):
        """Word accuracy and entity F1 (conlleval) on `TaggingData`, in
        order, beside baselines trained on the same sentences.

        Words tagged `IGNORED_LABEL` are read as context and not scored.
        Words cut off by `max_sequence_length` count as tagged "O" (or the
        first tag when there is no "O"), so every scored word counts. Also
        `unseen_word_accuracy`: on the test words that no training sentence
        contains, which the labels alone cannot teach. Baselines: the
        majority tag, and `character_logistic_regression` (each word's
        character n-grams, no context).
        """
        fill = test.label_names.index("O") if "O" in test.label_names else 0
        # Every word's first piece is found, scored or not, when no tag is ignored.
        readable = dataclasses.replace(test, tags=[[max(tag, 0) for tag in tags] for tags in test.tags])
        predicted = []
        for features, targets in self.dataset(job, readable, tokenizer, training=False):
            logits = model.predict_on_batch(features)["logits"]
            first = len(predicted)
            num_words = [len(words) for words in test.sentences[first : first + len(logits)]]
            predicted += word_predictions(np.argmax(logits, axis=-1), targets["logits"], num_words, fill)
        scored = [[i for i, tag in enumerate(tags) if tag >= 0] for tags in test.tags]
        true = [[tags[i] for i in kept] for tags, kept in zip(test.tags, scored)]
        guess = [[tags[i] for i in kept] for tags, kept in zip(predicted, scored)]
        words = [[sentence[i] for i in kept] for sentence, kept in zip(test.sentences, scored)]
        scores = tagging_scores(test.tag_names(true), test.tag_names(guess))
        seen = {word for sentence in train.sentences for word in sentence}
        unseen = [(t, g) for ws, ts, gs in zip(words, true, guess) for w, t, g in zip(ws, ts, gs) if w not in seen]
        scores["unseen_word_accuracy"] = sum(t == g for t, g in unseen) / max(len(unseen), 1)
        scores["unseen_words"], scores["scored_words"] = len(unseen), sum(map(len, true))
        scores["label_names"] = list(test.label_names)
        scores["baselines"] = tagging_baselines(train, words, true, seen)
        base = scores["baselines"]
        line = (f"test word accuracy {scores['accuracy']:.1%} ({scores['unseen_word_accuracy']:.1%} on the "
                f"{len(unseen):,} words no training sentence has)")
        if any(name[:2] in ("B-", "I-") for name in test.label_names):  # entity chunks to score
            line += (f", entity precision {scores['precision']:.3f}, recall {scores['recall']:.3f}, "
                     f"F1 {scores['f1']:.3f}")
        print(line)
        print(f"  baselines on the same test words: majority tag {base['majority_tag_accuracy']:.1%} "
              f"({base['majority_tag_unseen_word_accuracy']:.1%}), character n-grams + logistic regression "
              f"{base['character_logistic_regression_accuracy']:.1%} "
              f"({base['character_logistic_regression_unseen_word_accuracy']:.1%})")
        return scores

    def inference_module(self, model, tokenizer, job, results):
        return TokenTagger(model, tokenizer, results["label_names"], job.max_sequence_length)

    def describe(self, train):
        return f", tags {list(train.label_names)}"


def tagging_baselines(train, test_words, test_tags, seen):
    """The majority tag and `character_logistic_regression`, trained on the
    scored words of `train` (`TaggingData`) and scored on `test_words`
    (sentences of words) against `test_tags` (their int tags), on all of
    them and on those not in `seen` (the training words).

    Example:
    >>> from tf_models.data.records import TaggingData
    >>> train = TaggingData([["quickly", "running"], ["slowly", "reading"]] * 3, [[1, 0], [1, -1]] * 3, ("V", "ADV"))
    >>> scores = tagging_baselines(train, [["gladly", "quickly"]], [[1, 1]], {"quickly", "running", "slowly"})
    >>> scores["majority_tag_accuracy"], scores["character_logistic_regression_unseen_word_accuracy"]
    (1.0, 1.0)
    """
    pairs = [(w, t) for words, tags in zip(train.sentences, train.tags) for w, t in zip(words, tags) if t >= 0]
    flat_words = [w for words in test_words for w in words]
    flat_tags = np.array([t for tags in test_tags for t in tags])
    unseen = np.array([w not in seen for w in flat_words], bool)
    predictions = {
        "majority_tag": np.full(len(flat_words), majority_class([t for _, t in pairs])),
        "character_logistic_regression": character_logistic_regression(
            [w for w, _ in pairs], [t for _, t in pairs], flat_words) if flat_words else np.zeros(0, int),
    }
    scores = {}
    for name, predicted in predictions.items():
        right = predicted == flat_tags
        scores[f"{name}_accuracy"] = float(right.mean()) if len(right) else 0.0
        scores[f"{name}_unseen_word_accuracy"] = float(right[unseen].mean()) if unseen.any() else 0.0
    return scores


class AnswerQuestions(FinetuningTask):
    """An answer span in a context: SQuAD v1.1, or files in its JSON format."""

    name = "question_answerer"
    corpus_kind = "questions"

    def select(self, examples, indices):
        return [examples[i] for i in indices]

    def vocabulary_texts(self, train):
        return [text for example in train for text in (example.question, example.context)]

    def dataset(self, job, examples, tokenizer, training):
        return squad_dataset(examples, tokenizer, max_query_length=job.max_query_length,
                             doc_stride=job.doc_stride, training=training, **self._batches(job, training))

    def model(self, backbone, train):
        return BertSpanLabeler(backbone)

    def compile(self, model, total_steps, **options):
        return compile_bert_span_labeler(model, total_steps, **options)

    def evaluate(self, model, tokenizer, train, test, job):
        """Exact match and F1 (SQuAD v1.1's script) of the best span of each question."""
        logits, metadata = {"start_logits": [], "end_logits": []}, {}
        for inputs, window_metadata in self.dataset(job, test, tokenizer, training=False):
            outputs = model.predict_on_batch(inputs)
            for key in logits:
                logits[key].append(outputs[key])
            for key, value in window_metadata.items():
                metadata.setdefault(key, []).append(value.numpy())
        metadata = {key: np.concatenate(value) for key, value in metadata.items()}
        predictions = squad_predictions(
            test, metadata, np.concatenate(logits["start_logits"]), np.concatenate(logits["end_logits"]),
            max_answer_length=job.max_answer_length,
        )
        scores = squad_scores(predictions, test)
        scores["samples"] = [
            {"question": e.question, "prediction": predictions[e.id], "answers": [a for a, _ in e.answers]}
            for e in test[:5]
        ]
        print(f"test exact match {scores['exact_match']:.1f}, F1 {scores['f1']:.1f} ({len(test)} questions)")
        return scores

    def inference_module(self, model, tokenizer, job, results):
        return QuestionAnswerer(model, tokenizer, job.max_sequence_length, job.max_query_length, job.doc_stride,
                                job.max_answer_length)
