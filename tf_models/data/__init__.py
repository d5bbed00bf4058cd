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

__all__ = [
    "SOURCES",
    "ClassificationData",
    "CorpusError",
    "cache_dir",
    "classification_data",
    "ding_de_en",
    "documents_dataset",
    "fine_food_reviews",
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
]
