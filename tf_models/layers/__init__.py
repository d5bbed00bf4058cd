"""Keras layers of the Transformer and BERT.

The encoder layer here is the one block both models stack.
"""

from tf_models.layers.activations import gelu_approximate, get_activation
from tf_models.layers.attention import MultiHeadAttention
from tf_models.layers.dropout import Dropout
from tf_models.layers.embeddings import BertEmbedding, TokenEmbedding, TransformerEmbedding
from tf_models.layers.feed_forward import FeedForward
from tf_models.layers.masking import (
    causal_mask,
    merge_attention_masks,
    padding_mask_from_ids,
)
from tf_models.layers.position import (
    PositionEmbedding,
    SinusoidalPositionEncoding,
    sinusoidal_position_encoding,
)
from tf_models.layers.transformer_decoder import TransformerDecoderLayer
from tf_models.layers.transformer_encoder import TransformerEncoderLayer

__all__ = [
    "BertEmbedding",
    "Dropout",
    "FeedForward",
    "MultiHeadAttention",
    "PositionEmbedding",
    "SinusoidalPositionEncoding",
    "TokenEmbedding",
    "TransformerDecoderLayer",
    "TransformerEmbedding",
    "TransformerEncoderLayer",
    "causal_mask",
    "gelu_approximate",
    "get_activation",
    "merge_attention_masks",
    "padding_mask_from_ids",
    "sinusoidal_position_encoding",
]
