"""Functional Keras models: the Transformer, BERT with its task heads, and a
decoder-only causal language model; all three stack `TransformerEncoderLayer`."""

from tf_models.models.bert import (
    BertBackbone,
    BertClassifier,
    BertPretrainer,
    BertSpanLabeler,
    BertTagger,
    MaskedLMHead,
    bert_initializer,
)
from tf_models.models.causal_lm import CausalLM
from tf_models.models.configs import (
    BERT_PRESETS,
    CAUSAL_LM_PRESETS,
    TRANSFORMER_PRESETS,
    BertConfig,
    CausalLMConfig,
    TransformerConfig,
)
from tf_models.models.transformer import Transformer

__all__ = [
    "BERT_PRESETS",
    "CAUSAL_LM_PRESETS",
    "TRANSFORMER_PRESETS",
    "BertBackbone",
    "BertClassifier",
    "BertConfig",
    "BertPretrainer",
    "BertSpanLabeler",
    "BertTagger",
    "CausalLM",
    "CausalLMConfig",
    "MaskedLMHead",
    "Transformer",
    "TransformerConfig",
    "bert_initializer",
]
