"""Inference: autoregressive decoding for the Transformer."""

from tf_models.inference.decoding import encode, greedy_decode
from tf_models.inference.translator import Translator

__all__ = ["Translator", "encode", "greedy_decode"]
