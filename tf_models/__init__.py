"""tf_models: the Transformer and BERT in Keras 3 / TensorFlow.

BERT is a stack of the same `TransformerEncoderLayer` that the Transformer's
encoder stacks; see `tf_models.layers.TransformerEncoderLayer`.
"""

__version__ = "0.1.0"
