"""The layers and models under another Keras backend (run with
KERAS_BACKEND=jax, by tests/test_backends.py): they import without
TensorFlow, run forward, train a step with `fit`, and decode with their
caches exactly as without. Prints one JSON line of results.

TensorFlow is installed in the test environment, so this process hides it
first, as a machine without it would be: importing `tensorflow` raises
ImportError (Keras then takes it for absent, as it does there).
"""

import json
import os
import sys

import no_tensorflow  # noqa: F401,E402  (first: hides TensorFlow)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tf_models.layers as layers  # noqa: E402
from tf_models.models import BertBackbone, BertClassifier, BertPretrainer, CausalLM, Transformer  # noqa: E402


def forward_shapes():
    """Each model's outputs on a small batch, as `{name: shape}`."""
    ids = np.array([[5, 6, 7, 0], [8, 9, 0, 0]], "int32")
    bert = BertBackbone.from_preset("test", vocabulary_size=50)
    bert_inputs = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": (ids > 0).astype("int32")}
    pretrainer = BertPretrainer(bert)
    transformer = Transformer.from_preset("test", vocabulary_size=50)
    causal = CausalLM.from_preset("test", vocabulary_size=50)
    outputs = {
        "bert": bert(bert_inputs),
        "pretrainer": pretrainer(dict(bert_inputs, mask_positions=np.array([[1, 2], [0, 1]], "int32"))),
        "transformer": transformer({"encoder_token_ids": ids, "decoder_token_ids": ids}),
        "causal_lm": causal({"token_ids": ids, "padding_mask": (ids > 0).astype("int32")}),
    }
    return {f"{model}/{name}": list(keras.ops.shape(value)) for model, result in outputs.items()
            for name, value in result.items()}


def one_training_step():
    """A classifier's loss before and after a few `fit` steps on one batch
    (dropout on): it falls, and the weights stay finite."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 50, (8, 12)).astype("int32")
    features = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)}
    labels = rng.integers(0, 2, 8).astype("int32")
    model = BertClassifier(BertBackbone.from_preset("test", vocabulary_size=50, dropout=0.1), num_classes=2)
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)})
    history = model.fit(features, {"logits": labels}, batch_size=8, epochs=5, verbose=0)
    finite = all(np.isfinite(np.asarray(w)).all() for w in model.get_weights())
    return {"losses": history.history["loss"], "finite": bool(finite)}


def dropout_trains_and_infers():
    dropout = layers.Dropout(0.5, seed=1)
    x = keras.ops.ones((4, 64))
    trained = np.asarray(dropout(x, training=True))
    return {"values": sorted(set(trained.ravel().tolist())), "inference_unchanged": bool(
        np.array_equal(np.asarray(dropout(x)), np.asarray(x)))}


def cached_decoding_gap():
    """CausalLM: logits from `decode_step`, token by token, against one full
    causal pass; Transformer: the same for its decoder. Largest gaps."""
    keras.utils.set_random_seed(0)
    ids = np.array([[3, 7, 9, 4, 2, 8]], "int32")
    causal = CausalLM.from_preset("test", vocabulary_size=50)
    full = np.asarray(causal({"token_ids": ids, "padding_mask": np.ones_like(ids)})["logits"])
    caches = causal.empty_caches(1, max_length=ids.shape[1])
    stepped = []
    for index in range(ids.shape[1]):
        logits, caches = causal.decode_step(keras.ops.convert_to_tensor(ids[:, index]), index, caches)
        stepped.append(np.asarray(logits))
    causal_gap = float(np.max(np.abs(np.stack(stepped, axis=1) - full)))

    transformer = Transformer.from_preset("test", vocabulary_size=50)
    source = np.array([[5, 6, 7, 8]], "int32")
    full = np.asarray(transformer({"encoder_token_ids": source, "decoder_token_ids": ids})["logits"])
    encoder_output, encoder_mask = transformer.encode(source)
    cross = transformer.cross_attention_caches(encoder_output)
    own = transformer.empty_caches(1, max_length=ids.shape[1])
    stepped = []
    for index in range(ids.shape[1]):
        logits, own = transformer.decode_step(keras.ops.convert_to_tensor(ids[:, index]), index, own, cross,
                                              encoder_mask)
        stepped.append(np.asarray(logits))
    transformer_gap = float(np.max(np.abs(np.stack(stepped, axis=1) - full)))
    return {"causal_lm": causal_gap, "transformer": transformer_gap}


if __name__ == "__main__":
    results = {
        "backend": keras.backend.backend(),
        "forward": forward_shapes(),
        "training": one_training_step(),
        "dropout": dropout_trains_and_infers(),
        "cached_decoding_gap": cached_decoding_gap(),
    }
    results["tensorflow_imported"] = "tensorflow" in sys.modules
    results["keras_backend_env"] = os.environ.get("KERAS_BACKEND")
    print(json.dumps(results))
