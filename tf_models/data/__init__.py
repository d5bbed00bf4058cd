"""Data: corpora as plain Python records, tokenizers, and the `tf.data` that models read.

Data flows one way: files and named sources -> records -> tokenizers ->
`tf.data` -> models.

* Corpora, in plain Python: `records` (the shapes corpora come in),
  `readers` (files: text, TSV, CoNLL, SQuAD JSON), `sources` (named corpora,
  fetched and read with `downloads`, `debian` and `r_data`), `sentences` (a
  sentence splitter) and `splits` (held-out splits that keep every source
  sentence on one side).
* `tokenizers`: WordPiece, SentencePiece and character tokenizers, which run
  inside graphs; they learn their vocabularies from text streamed through
  `tf.data`.
* `tf.data` from records, for each kind of model: `pipelines` (translation,
  classification, causal LM, and the datasets of strings the records become
  first), `masked_lm` (BERT pretraining: masked LM with or without next
  sentence), `tagging` and `question_answering` (fine-tuning on CoNLL and
  SQuAD; their featurizers are graph ops that serving signatures call too).
"""

from tf_models.data.debian import debian_package
from tf_models.data.downloads import cache_dir, cached_download
from tf_models.data.r_data import read_r_lazyload
from tf_models.data.readers import (
    load_classification_tsv,
    load_conll,
    load_documents,
    load_parallel_files,
    load_parallel_tsv,
    load_regression_tsv,
    load_squad,
    read_lines,
)
from tf_models.data.records import (
    ClassificationData,
    CorpusError,
    RegressionData,
    SquadExample,
    TaggingData,
    classification_data,
)
from tf_models.data.sentences import split_sentences
from tf_models.data.masked_lm import bert_pretraining_dataset
from tf_models.data.pipelines import (
    DropCounter,
    classification_dataset,
    documents_dataset,
    global_batch_size,
    labelled_text_dataset,
    pack_segments,
    pairs_dataset,
    translation_dataset,
)
from tf_models.data.sources import (
    SOURCES,
    debian_descriptions,
    debian_sections,
    debian_word_classes,
    ding_de_en,
    fine_food_reviews,
    jane_austen,
    load_source,
    multi30k,
    software_de_en,
    software_zh_en,
    squad,
    sst2,
    stsb,
    tfds_source,
)
from tf_models.data.splits import SplitReport, drop_held_out_sources, source_key, split_by_source
from tf_models.data.question_answering import (
    answer_byte_span,
    squad_best_spans,
    squad_dataset,
    squad_features,
    squad_predictions,
)
from tf_models.data.tagging import IGNORED_LABEL, tagging_dataset, tagging_features, word_predictions
from tf_models.data.tokenizers import (
    BERT_RESERVED_TOKENS,
    CHARACTER_RESERVED_TOKENS,
    TRANSLATION_RESERVED_TOKENS,
    CharacterTokenizer,
    SentencePieceTokenizer,
    WordPieceTokenizer,
    train_character_tokenizer,
    train_sentencepiece_tokenizer,
    train_wordpiece_tokenizer,
    train_wordpiece_vocabulary,
)

__all__ = [
    "BERT_RESERVED_TOKENS",
    "CHARACTER_RESERVED_TOKENS",
    "CharacterTokenizer",
    "ClassificationData",
    "RegressionData",
    "CorpusError",
    "DropCounter",
    "IGNORED_LABEL",
    "SOURCES",
    "SentencePieceTokenizer",
    "SplitReport",
    "SquadExample",
    "TRANSLATION_RESERVED_TOKENS",
    "TaggingData",
    "WordPieceTokenizer",
    "answer_byte_span",
    "bert_pretraining_dataset",
    "cache_dir",
    "cached_download",
    "classification_data",
    "classification_dataset",
    "debian_descriptions",
    "debian_package",
    "debian_sections",
    "debian_word_classes",
    "ding_de_en",
    "documents_dataset",
    "drop_held_out_sources",
    "fine_food_reviews",
    "global_batch_size",
    "pack_segments",
    "jane_austen",
    "labelled_text_dataset",
    "load_classification_tsv",
    "load_conll",
    "load_documents",
    "load_parallel_files",
    "load_parallel_tsv",
    "load_regression_tsv",
    "load_source",
    "load_squad",
    "multi30k",
    "pairs_dataset",
    "read_lines",
    "read_r_lazyload",
    "software_de_en",
    "software_zh_en",
    "source_key",
    "split_by_source",
    "split_sentences",
    "squad_best_spans",
    "squad_dataset",
    "squad_features",
    "squad_predictions",
    "squad",
    "sst2",
    "stsb",
    "tagging_dataset",
    "tagging_features",
    "tfds_source",
    "train_character_tokenizer",
    "train_sentencepiece_tokenizer",
    "train_wordpiece_tokenizer",
    "train_wordpiece_vocabulary",
    "translation_dataset",
    "word_predictions",
]
