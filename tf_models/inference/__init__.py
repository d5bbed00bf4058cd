"""Inference: decoding for the Transformer and the CausalLM, task modules for BERT.

`DecodingConfig` (`decoding_config.py`) imports no TensorFlow, and neither
does importing this package: the names below load their module when first
used (PEP 562), so the command line can build its flags at once.
"""

import importlib

from tf_models.inference.decoding_config import DECODING_METHODS, METHOD_OPTIONS, DecodingConfig

# name -> module, imported on first use.
_LAZY = {
    "FillMask": "bert",
    "QuestionAnswerer": "bert",
    "SentenceEncoder": "bert",
    "TextClassifier": "bert",
    "TextRegressor": "bert",
    "TokenTagger": "bert",
    "tokenize_with_masks": "bert",
    "ServingModule": "base",
    "beam_search": "decoding",
    "encode": "decoding",
    "greedy_search": "decoding",
    "sample": "decoding",
    "uncached_greedy_decode": "decoding",
    "generate": "decoding",
    "Translator": "translator",
    "TextGenerator": "text_generator",
}
def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


__all__ = ["DECODING_METHODS", "DecodingConfig", "METHOD_OPTIONS", *_LAZY]
