"""Data: corpora (file formats and named sources), tokenizers and pipelines.

Data flows one way: corpora -> tokenizers -> pipelines -> models.
"""

from tf_models.data.formats import (
    ClassificationData,
    CorpusError,
    classification_data,
    documents_dataset,
    load_classification_tsv,
    load_documents,
    load_parallel_files,
    load_parallel_tsv,
    pairs_dataset,
    split_sentences,
)
from tf_models.data.pipelines import (
    DropCounter,
    bert_pretraining_dataset,
    classification_dataset,
    global_batch_size,
    pack_segments,
    translation_dataset,
)
from tf_models.data.sources import (
    SOURCES,
    cache_dir,
    ding_de_en,
    fine_food_reviews,
    jane_austen,
    load_source,
    multi30k,
    sst2,
    tfds_source,
)
from tf_models.data.tokenizers import (
    BERT_RESERVED_TOKENS,
    TRANSLATION_RESERVED_TOKENS,
    SentencePieceTokenizer,
    WordPieceTokenizer,
    train_sentencepiece_tokenizer,
    train_wordpiece_tokenizer,
    train_wordpiece_vocabulary,
)

__all__ = [
    "BERT_RESERVED_TOKENS",
    "ClassificationData",
    "CorpusError",
    "DropCounter",
    "SOURCES",
    "SentencePieceTokenizer",
    "TRANSLATION_RESERVED_TOKENS",
    "WordPieceTokenizer",
    "bert_pretraining_dataset",
    "cache_dir",
    "classification_data",
    "classification_dataset",
    "ding_de_en",
    "documents_dataset",
    "fine_food_reviews",
    "global_batch_size",
    "pack_segments",
    "jane_austen",
    "load_classification_tsv",
    "load_documents",
    "load_parallel_files",
    "load_parallel_tsv",
    "load_source",
    "multi30k",
    "pairs_dataset",
    "split_sentences",
    "sst2",
    "tfds_source",
    "train_sentencepiece_tokenizer",
    "train_wordpiece_tokenizer",
    "train_wordpiece_vocabulary",
    "translation_dataset",
]
