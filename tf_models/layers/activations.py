"""Activation functions by name, including BERT's tanh approximation of GELU,
and initializer handling shared by all layers."""

import keras


def gelu_approximate(x):
    """GELU with the tanh approximation used by the original BERT code."""
    return keras.activations.gelu(x, approximate=True)


def get_activation(name):
    """Returns the activation function for a name.

    Args:
        name: `"gelu_approximate"` (the original BERT) or any name that
            `keras.activations.get` knows (`"relu"`, `"gelu"` (exact), ...).

    Example:
    >>> get_activation("gelu_approximate")(keras.ops.zeros((2,))).shape
    TensorShape([2])
    """
    if name == "gelu_approximate":
        return gelu_approximate
    return keras.activations.get(name)


def serialize_initializer(initializer):
    """Normalises an initializer (name, config or object) to a config.

    Layers store this config and build a fresh initializer from it for every
    weight, so that two weights never share one seeded initializer object.
    """
    return keras.initializers.serialize(keras.initializers.get(initializer))
