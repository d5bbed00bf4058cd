"""Helpers shared by the tests: random inputs, the contract every layer
keeps (`run_layer_test`), a WordPiece tokenizer from a word list, and weight
copying from the independent Keras / keras-hub implementations into
tf_models layers."""

import json
import tempfile
from pathlib import Path

import keras
import numpy as np

# Vocabulary and length of the tiny models that the export and serving tests
# export (the fixtures are in conftest.py).
EXPORT_VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[START]", "[END]",
                     "the", "cat", "sat", "on", "mat", "##s", ".", ",", "a", "dog"]
EXPORT_MAX_LENGTH = 16


def random_ids(batch, length, vocabulary_size, seed=0, low=1):
    """Token ids in [low, vocabulary_size), so none is the padding id 0."""
    return np.random.default_rng(seed).integers(low, vocabulary_size, (batch, length)).astype("int32")


def random_floats(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def max_abs_diff(a, b):
    return float(np.max(np.abs(np.asarray(a, "float32") - np.asarray(b, "float32"))))


# The dtype policies every layer is tested under: variables stay float32 in
# all three, the computation runs in float32, float16 or bfloat16.
POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")


def run_layer_test(layer_class, init_kwargs, inputs, call_kwargs=None, train=True):
    """Checks the contract every tf_models layer keeps, whatever it computes.

    1. Config: `from_config(get_config())` rebuilds the same layer, and the
       config survives JSON (`serialize_keras_object`), which is what a
       `.keras` file stores.
    2. Precision: built with each policy of `POLICIES` (passed as `dtype=`,
       so a sublayer that does not inherit its parent's policy shows up),
       every floating output, called eagerly, in training or not, and traced
       symbolically, is in the policy's compute dtype; every floating
       variable is in its variable dtype; every sublayer has the policy.
    3. Saving: a functional model around the layer, saved to `.keras` and
       loaded, gives the same outputs.
    4. Training: one optimizer step on that model (mean squared error
       against zeros) gives a finite loss and moves the trainable weights.

    Args:
        layer_class: the layer's class.
        init_kwargs: its constructor arguments (without `dtype`).
        inputs: the positional inputs of `call`: one array or a tuple.
        call_kwargs: keyword inputs of `call`: arrays (masks) become model
            inputs, other values (flags) are passed as they are.
        train: whether to run step 4 (False for a layer without weights).

    Returns:
        The float32 layer's outputs for `inputs`, for the test's own checks.

    Example:
    >>> from tf_models.layers import FeedForward
    >>> outputs = run_layer_test(FeedForward, {"intermediate_dim": 8}, random_floats(2, 3, 4))
    >>> tuple(outputs.shape)
    (2, 3, 4)
    """
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    call_kwargs = dict(call_kwargs or {})
    layer = layer_class(**init_kwargs)
    outputs = layer(*inputs, **call_kwargs)
    config = layer.get_config()
    clone = layer_class.from_config(config)
    assert clone.get_config() == config
    # Equal configs can hide an argument `get_config` forgot (both lack it):
    # the clone must also build the same weights and compute the same thing.
    clone(*inputs, **call_kwargs)
    clone.set_weights(layer.get_weights())
    _assert_same_outputs(clone(*inputs, **call_kwargs), outputs)
    serialized = keras.saving.serialize_keras_object(layer)
    revived = keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized)))
    assert type(revived) is layer_class and revived.get_config() == config

    for policy in POLICIES:
        _check_precision(layer_class(**init_kwargs, dtype=policy), inputs, call_kwargs)

    model = _functional_model(layer, inputs, call_kwargs)
    data = [*inputs, *(call_kwargs[name] for name in _array_names(call_kwargs))]
    with tempfile.TemporaryDirectory() as folder:
        model.save(Path(folder) / "layer.keras")
        restored = keras.saving.load_model(Path(folder) / "layer.keras")
    _assert_same_outputs(restored(data), outputs)
    if train:
        _check_training_step(model, data, outputs)
    return outputs


def _assert_same_outputs(actual, expected):
    for a, e in zip(keras.tree.flatten(actual), keras.tree.flatten(expected), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), atol=1e-6)


def _array_names(call_kwargs):
    return [name for name, value in call_kwargs.items() if isinstance(value, np.ndarray)]


def _check_precision(layer, inputs, call_kwargs):
    policy = layer.dtype_policy
    where = f"{type(layer).__name__} under {policy.name}"
    for training in (False, True):
        for output in keras.tree.flatten(layer(*inputs, training=training, **call_kwargs)):
            assert _dtype(output) == policy.compute_dtype or not _is_float(output), f"{where}: output {_dtype(output)}"
    # Symbolic inputs: the dtypes Keras infers when it builds a model, which
    # `compute_output_spec` decides (and may get wrong) apart from `call`.
    symbolic = [keras.KerasTensor(x.shape, x.dtype) for x in inputs]
    symbolic_kwargs = {name: keras.KerasTensor(value.shape, value.dtype) if isinstance(value, np.ndarray) else value
                       for name, value in call_kwargs.items()}
    for spec in keras.tree.flatten(layer(*symbolic, **symbolic_kwargs)):
        assert _dtype(spec) == policy.compute_dtype or not _is_float(spec), f"{where}: symbolic output {_dtype(spec)}"
    for variable in layer.variables:
        if _is_float(variable):
            assert _dtype(variable) == policy.variable_dtype, f"{where}: {variable.path} is {_dtype(variable)}"
    # `_flatten_layers` is Keras' own walk over a layer and its sublayers
    # (keras-hub's layer tests use it too); Keras has no public one.
    for sublayer in layer._flatten_layers():
        assert sublayer.dtype_policy.name == policy.name, f"{where}: {sublayer.name} has {sublayer.dtype_policy.name}"


def _functional_model(layer, inputs, call_kwargs):
    """The layer in a functional model whose inputs are its array inputs."""
    positional = [keras.Input(x.shape[1:], dtype=x.dtype) for x in inputs]
    names = _array_names(call_kwargs)
    keyword = {name: keras.Input(call_kwargs[name].shape[1:], dtype=call_kwargs[name].dtype) for name in names}
    outputs = layer(*positional, **{**call_kwargs, **keyword})
    return keras.Model([*positional, *keyword.values()], outputs)


def _check_training_step(model, data, outputs):
    before = [np.array(w) for w in model.trainable_weights]
    assert before, "the layer has no trainable weights: pass train=False"
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    targets = keras.tree.map_structure(lambda x: np.zeros(x.shape, "float32"), outputs)
    loss = model.train_on_batch(data, targets)
    assert np.all(np.isfinite(loss)), loss
    assert any(not np.array_equal(a, np.array(w)) for a, w in zip(before, model.trainable_weights))


def _dtype(x):
    return keras.backend.standardize_dtype(x.dtype)


def _is_float(x):
    return keras.backend.is_float_dtype(_dtype(x))


def wordpiece_tokenizer(vocabulary, folder):
    """A WordPiece tokenizer over `vocabulary` (a list of tokens), its
    `vocab.txt` written into `folder`."""
    from tf_models.data import WordPieceTokenizer  # imports TensorFlow: only when asked

    path = Path(folder) / "vocab.txt"
    path.write_text("\n".join(vocabulary) + "\n")
    return WordPieceTokenizer(path)


def copy_dense(source, target):
    target.kernel.assign(np.asarray(source.kernel))
    target.bias.assign(np.asarray(source.bias))


def copy_layer_norm(source, target):
    target.gamma.assign(np.asarray(source.gamma))
    target.beta.assign(np.asarray(source.beta))


def copy_keras_attention(source, target):
    """keras.layers.MultiHeadAttention -> tf_models MultiHeadAttention.

    Keras keeps per-head kernels, `(in, heads, head_dim)` and `(heads,
    head_dim, out)`; tf_models keeps flat ones, `(in, heads * head_dim)` and
    `(heads * head_dim, out)`.
    """
    pairs = [
        (source._query_dense, target.query_dense),
        (source._key_dense, target.key_dense),
        (source._value_dense, target.value_dense),
    ]
    for src, dst in pairs:
        kernel = np.asarray(src.kernel)
        dst.kernel.assign(kernel.reshape(kernel.shape[0], -1))
        dst.bias.assign(np.asarray(src.bias).reshape(-1))
    kernel = np.asarray(source._output_dense.kernel)
    target.output_dense.kernel.assign(kernel.reshape(-1, kernel.shape[-1]))
    target.output_dense.bias.assign(np.asarray(source._output_dense.bias))


def copy_feed_forward(source_layer, target):
    """The feed-forward weights of a keras-hub encoder or decoder layer."""
    copy_dense(source_layer._feedforward_intermediate_dense, target.intermediate_dense)
    copy_dense(source_layer._feedforward_output_dense, target.output_dense)


def copy_keras_hub_encoder(source, target):
    """keras_hub.layers.TransformerEncoder -> TransformerEncoderLayer."""
    copy_keras_attention(source._self_attention_layer, target.self_attention)
    copy_layer_norm(source._self_attention_layer_norm, target.self_attention_norm)
    copy_feed_forward(source, target.feed_forward)
    copy_layer_norm(source._feedforward_layer_norm, target.feed_forward_norm)


def copy_keras_hub_decoder(source, target):
    """keras_hub.layers.TransformerDecoder -> TransformerDecoderLayer."""
    copy_keras_attention(source._self_attention_layer, target.self_attention)
    copy_layer_norm(source._self_attention_layer_norm, target.self_attention_norm)
    copy_keras_attention(source._cross_attention_layer, target.cross_attention)
    copy_layer_norm(source._cross_attention_layer_norm, target.cross_attention_norm)
    copy_feed_forward(source, target.feed_forward)
    copy_layer_norm(source._feedforward_layer_norm, target.feed_forward_norm)


def copy_keras_hub_bert(source, target):
    """keras_hub.models.BertBackbone -> tf_models BertBackbone."""
    embedding = target.embedding
    embedding.token_embedding.embeddings.assign(
        np.asarray(source.get_layer("token_embedding").embeddings)
    )
    embedding.segment_embedding.embeddings.assign(
        np.asarray(source.get_layer("segment_embedding").embeddings)
    )
    embedding.position_embedding.embeddings.assign(
        np.asarray(source.get_layer("position_embedding").position_embeddings)
    )
    copy_layer_norm(source.get_layer("embeddings_layer_norm"), embedding.layer_norm)
    for i, layer in enumerate(target.encoder_layers):
        copy_keras_hub_encoder(source.get_layer(f"transformer_layer_{i}"), layer)
    copy_dense(source.get_layer("pooled_dense"), target.pooler)
