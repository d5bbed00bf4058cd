"""Inference: decoding for the Transformer, task modules for BERT."""

from tf_models.inference.bert import (
    FillMask,
    QuestionAnswerer,
    SentenceEncoder,
    TextClassifier,
    TokenTagger,
    tokenize_with_masks,
)
from tf_models.inference.decoding import (
    beam_search,
    beam_search_decode,
    decode,
    encode,
    greedy_decode,
    greedy_search,
    sample,
    sample_decode,
    uncached_greedy_decode,
)
from tf_models.inference.translator import Translator

__all__ = [
    "FillMask",
    "QuestionAnswerer",
    "SentenceEncoder",
    "TextClassifier",
    "TokenTagger",
    "Translator",
    "beam_search",
    "beam_search_decode",
    "decode",
    "encode",
    "greedy_decode",
    "greedy_search",
    "sample",
    "sample_decode",
    "tokenize_with_masks",
    "uncached_greedy_decode",
]
