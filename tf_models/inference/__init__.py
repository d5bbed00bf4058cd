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
# The `settings["task"]` that exports made before each module's task was its export name.
_OLD_TASK_NAMES = {"translation": "translator", "classification": "classifier", "regression": "regressor",
                   "tagging": "tagger", "question_answering": "question_answerer",
                   "sentence_embedding": "sentence_encoder"}


def _inference_modules():
    """`settings["task"]` of an export -> the module class that made it (how
    to query and print it): every `ServingModule` subclass with a `TASK`."""
    for module in ("bert", "translator", "text_generator"):  # the modules that define them
        importlib.import_module(f"{__name__}.{module}")
    classes, found = [__getattr__("ServingModule")], {}
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        if cls.TASK:
            found[cls.TASK] = cls
    return {**found, **{old: found[new] for old, new in _OLD_TASK_NAMES.items()}}


def __getattr__(name):
    if name == "INFERENCE_MODULES":
        value = _inference_modules()
    elif name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


__all__ = ["DECODING_METHODS", "DecodingConfig", "INFERENCE_MODULES", "METHOD_OPTIONS", *_LAZY]
