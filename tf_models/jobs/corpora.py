"""Which corpus a job's `--source` names, read with the job's options: one
registry (`CORPORA`) for every job.

Each job needs one kind of record: sentence pairs (translation), documents
(pretraining, the language model), labelled texts (classifier), scored
texts (regressor), tagged words (tagger) or questions (question answerer).
`CORPORA[kind]` names the corpora of that kind, each with a function that
reads its splits from the job's options (`data_dir`, `train_files`, ...).
Adding a corpus is its loader in `tf_models.data.sources` and one line here.

Example:
>>> sorted(CORPORA["documents"])
['debian_descriptions', 'files', 'fine_food_reviews', 'jane_austen']
>>> from tf_models.jobs import LanguageModelJob
>>> read_corpus("labelled_texts", LanguageModelJob(source="jane_austen"))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: Unknown source 'jane_austen': --task classifier reads labelled texts; sources: fine_food_reviews, ...
"""

import random

from tf_models.data import (
    load_classification_tsv,
    load_conll,
    load_documents,
    load_parallel_files,
    load_regression_tsv,
    load_source,
    load_squad,
    split_sentences,
)


def _to_english(language, name):
    """A reader of a corpus of `(language, english)` pairs: the job's
    languages pick the direction, the corpus' own when none is given."""
    def read(job):
        source = job.source_language or language
        if {source, job.target_language} != {language, "en"}:
            raise ValueError(f"{job.source} is {name}-English: use languages {language} and en.")
        return {"all": load_source(job.source, reverse=source == "en")}

    return read


def _multi30k(job):
    def load(split):
        return load_source("multi30k", data_dir=job.data_dir, split=split,
                           source_language=job.source_language or "de", target_language=job.target_language)

    return {"train": load("train"), "validation": load("val"), "test": load("test_2016_flickr")}


def _parallel_files(job):
    if len(job.train_files) != 2:
        raise ValueError("source=files needs --train-files SOURCE_FILE TARGET_FILE.")
    return {"all": load_parallel_files(*job.train_files)}


def review_documents(data):
    """The texts of `ClassificationData` as documents of sentences, labels
    dropped: the unlabelled in-domain text of self-pretraining."""
    texts = data.texts[0] if len(data.texts) == 1 else [" ".join(pair) for pair in zip(*data.texts)]
    return [split_sentences(text) for text in texts]


def _published(name, splits, downloads=False):
    """A reader of the corpus `name`'s `splits` (`{our name: its name}`);
    `downloads`: it reads `job.data_dir`, or downloads when that is None."""
    def read(job):
        options = {"data_dir": job.data_dir} if downloads else {}
        return {ours: load_source(name, split=theirs, **options) for ours, theirs in splits.items()}

    return read


def _train_and_test_files(job):
    if not (job.train_file and job.test_file):
        raise ValueError("source=files needs --train-file FILE and --test-file FILE.")


def _tsv_files(loader, keep_label_names):
    def read(job):
        _train_and_test_files(job)
        columns = dict(text_columns=job.text_columns, label_column=job.label_column)
        train = loader(job.train_file, **columns)
        test_columns = dict(columns, label_names=train.label_names) if keep_label_names else columns
        return {"train": train, "test": loader(job.test_file, **test_columns)}

    return read


def _conll_files(job):
    _train_and_test_files(job)
    columns = dict(word_column=job.word_column, tag_column=job.tag_column)
    train = load_conll(job.train_file, **columns)
    return {"train": train, "test": load_conll(job.test_file, label_names=train.label_names, **columns)}


def _squad_files(job):
    _train_and_test_files(job)
    return {"train": load_squad(job.train_file), "test": load_squad(job.test_file)}


_LABELLED = {"train": "train", "validation": "validation", "test": "test"}

# kind -> {source name -> read(job) -> {split: records}}. Pairs without a
# published split come as "all" (the translation job splits them by source
# sentence); documents as "train" only (held-out documents are the job's).
CORPORA = {
    "pairs": {
        "software_de_en": _to_english("de", "German"),
        "software_zh_en": _to_english("zh", "Chinese"),
        "ding_de_en": _to_english("de", "German"),
        "multi30k": _multi30k,
        "files": _parallel_files,
        "tfds:": lambda job: {"all": load_source(job.source, split="train")},
    },
    "documents": {
        "jane_austen": lambda job: {"train": load_source("jane_austen")},
        "fine_food_reviews": lambda job: {
            "train": review_documents(load_source("fine_food_reviews", split="train"))},
        "debian_descriptions": lambda job: {"train": load_source("debian_descriptions", split="train")},
        "files": lambda job: {"train": load_documents(list(job.document_files))},
    },
    "labelled_texts": {
        "fine_food_reviews": _published("fine_food_reviews", _LABELLED),
        "debian_sections": _published("debian_sections", _LABELLED),
        "sst2": _published("sst2", {"train": "train", "test": "dev"}, downloads=True),
        "files": _tsv_files(load_classification_tsv, keep_label_names=True),
    },
    "scored_texts": {
        "stsb": _published("stsb", {"train": "train", "test": "dev"}, downloads=True),
        "files": _tsv_files(load_regression_tsv, keep_label_names=False),
    },
    "tagged_words": {
        "debian_word_classes": _published("debian_word_classes", {"train": "train", "test": "test"}),
        "files": _conll_files,
    },
    "questions": {
        "squad": _published("squad", {"train": "train", "test": "dev"}, downloads=True),
        "files": _squad_files,
    },
}


# What each kind of corpus is, for the error that names a wrong --source.
_KIND_ADVICE = {
    "pairs": "translation reads sentence pairs",
    "documents": "pretraining and the language model read documents",
    "labelled_texts": "--task classifier reads labelled texts",
    "scored_texts": "--task regressor reads scored texts or pairs (e.g. --source files --text-columns sentence1 "
                    "sentence2 --label-column score)",
    "tagged_words": "--task tagger reads tagged words: --source debian_word_classes, or CoNLL files (--source "
                    "files --train-file F --test-file F)",
    "questions": "--task question_answerer reads SQuAD v1.1 (--source squad, or --source files --train-file F "
                 "--test-file F)",
}


def read_corpus(kind, job):
    """The splits of the corpus `job.source` names, as `{split: records}`.

    Args:
        kind: the records the job needs, a key of `CORPORA`.
        job: the job config (`source` and the options its corpus reads).

    Raises:
        ValueError: `job.source` is no corpus of that kind (the message
            lists those there are).
    """
    corpora = CORPORA[kind]
    name = "tfds:" if job.source.startswith("tfds:") and "tfds:" in corpora else job.source
    if name not in corpora:
        names = ", ".join(n + "NAME" if n == "tfds:" else n for n in corpora)
        raise ValueError(f"Unknown source {job.source!r}: {_KIND_ADVICE[kind]}; sources: {names}.")
    return corpora[name](job)


def job_documents(job):
    """`(training, held_out)` documents (lists of sentences) of a
    `PretrainingJob` or `LanguageModelJob`: the corpus' training split,
    shuffled with the job's seed, its first `held_out_documents` kept aside."""
    documents = read_corpus("documents", job)["train"]
    random.Random(job.seed).shuffle(documents)
    if len(documents) <= job.held_out_documents:
        raise ValueError(f"{len(documents)} documents leave none for training after "
                         f"{job.held_out_documents} held out.")
    return documents[job.held_out_documents :], documents[: job.held_out_documents]
