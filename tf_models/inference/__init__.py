"""Inference: decoding for the Transformer, task modules for BERT."""

from tf_models.inference.bert import (
    FillMask,
    QuestionAnswerer,
    SentenceEncoder,
    TextClassifier,
    TextRegressor,
    TokenTagger,
    tokenize_with_masks,
)
from tf_models.inference.base import ServingModule
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

# `settings["task"]` of an export -> the module class that made it (how to query and print it).
INFERENCE_MODULES = {
    module.TASK: module
    for module in (Translator, TextClassifier, TextRegressor, TokenTagger, QuestionAnswerer, FillMask, SentenceEncoder)
}

__all__ = [
    "INFERENCE_MODULES",
    "FillMask",
    "QuestionAnswerer",
    "SentenceEncoder",
    "ServingModule",
    "TextClassifier",
    "TextRegressor",
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
