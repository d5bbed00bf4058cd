"""Functional Keras models: the Transformer, and BERT with its task heads."""

from tf_models.models.bert import (
    BertBackbone,
    BertClassifier,
    BertPretrainer,
    BertSpanLabeler,
    BertTokenClassifier,
    MaskedLMHead,
    bert_initializer,
)
from tf_models.models.configs import (
    BERT_PRESETS,
    TRANSFORMER_PRESETS,
    BertConfig,
    TransformerConfig,
)
from tf_models.models.transformer import Transformer

__all__ = [
    "BERT_PRESETS",
    "TRANSFORMER_PRESETS",
    "BertBackbone",
    "BertClassifier",
    "BertConfig",
    "BertPretrainer",
    "BertSpanLabeler",
    "BertTokenClassifier",
    "MaskedLMHead",
    "Transformer",
    "TransformerConfig",
    "bert_initializer",
]
