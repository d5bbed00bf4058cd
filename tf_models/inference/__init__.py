"""Inference: autoregressive decoding for the Transformer."""

from tf_models.inference.decoding import encode, greedy_decode

__all__ = ["encode", "greedy_decode"]
