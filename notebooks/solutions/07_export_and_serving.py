"""Solutions to the exercises of notebooks/07_export_and_serving.ipynb.

One function per exercise; each asserts what a correct solution shows.

    python notebooks/solutions/07_export_and_serving.py
    TF_MODELS_QUICK=1 python notebooks/solutions/07_export_and_serving.py   # as `make test`

The mechanics of exporting do not depend on training, so the exercises
export a small untrained classifier (the `test` preset in quick mode,
`tiny` otherwise) into a fresh temporary folder, and exercise 3 trains it
a few steps before exporting it again.
"""

import functools
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from tf_models.data import ClassificationData, WordPieceTokenizer, classification_dataset
from tf_models.export import (export_saved_model, latest_version, load_export, read_export_info, resolve_export,
                              write_models_config)
from tf_models.inference import TextClassifier
from tf_models.models import BertBackbone, BertClassifier

QUICK = os.environ.get("TF_MODELS_QUICK") == "1"
WORDS = ["great", "good", "fine", "bad", "awful", "coffee", "tea", "taste", "smell", "the", "is", "was", "."]
LABELS = ["great", "other"]


def classifier_module(seed):
    """A `TextClassifier`: an untrained `BertClassifier` with a WordPiece vocabulary of `WORDS`."""
    folder = Path(tempfile.mkdtemp())
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    keras.utils.set_random_seed(seed)
    backbone = BertBackbone.from_preset("test" if QUICK else "tiny", vocabulary_size=5 + len(WORDS),
                                        max_sequence_length=32)
    return TextClassifier(BertClassifier(backbone, num_classes=len(LABELS)), WordPieceTokenizer(folder / "vocab.txt"),
                          LABELS, max_sequence_length=32)


@functools.lru_cache(maxsize=None)
def exported():
    """`(module, base folder, version folder)` of one export, shared by exercises 1 and 2."""
    module = classifier_module(seed=0)
    base = Path(tempfile.mkdtemp()) / "saved_models"
    return module, base, export_saved_model(module, base, "classifier")


@functools.lru_cache(maxsize=None)
def loaded(version):
    """An export, loaded with TensorFlow alone (`tf.saved_model.load`, plus TF Text's ops)."""
    return load_export(version)


def exercise_1_saved_model_cli_in_python():
    """Exercise 1 (easy): list what `saved_model_cli show --all` lists (each
    signature's inputs and outputs, with dtypes and shapes) by reading
    `saved_model.pb` yourself."""
    _, _, version = exported()
    saved_model = saved_model_pb2.SavedModel.FromString((version / "saved_model.pb").read_bytes())
    (graph,) = saved_model.meta_graphs  # one MetaGraph, tagged "serve"
    assert list(graph.meta_info_def.tags) == ["serve"]
    mine = {}
    for name, signature in sorted(graph.signature_def.items()):
        if name.startswith("__"):  # TensorFlow's own (saved_model_init_op)
            continue

        def spec(info):
            return {"dtype": tf.dtypes.as_dtype(info.dtype).name,
                    "shape": [None if d.size == -1 else d.size for d in info.tensor_shape.dim]}

        mine[name] = {"inputs": {k: spec(v) for k, v in sorted(signature.inputs.items())},
                      "outputs": {k: spec(v) for k, v in sorted(signature.outputs.items())}}
        print(f"signature {name!r} (method {signature.method_name})")
        for kind in ("inputs", "outputs"):
            for key, value in mine[name][kind].items():
                print(f"  {kind[:-1]:<7}{key!r:<18}{value['dtype']:<9}{value['shape']}")
    # The export records the same description (assets.extra/tf_models.json).
    assert mine == read_export_info(version)["signatures"]
    assert mine["serving_default"]["inputs"] == {"sentences": {"dtype": "string", "shape": [None]}}
    assert set(mine) == {"serving_default", "pairs", "ids"}


def exercise_2_query_the_export():
    """Exercise 2 (medium): load the export with TensorFlow alone, answer a
    REST-style request with it, and check it agrees with the module in memory."""
    module, _, version = exported()
    request = json.dumps({"instances": ["the coffee is great .", "the tea was awful", "good"]})
    instances = json.loads(request)["instances"]
    outputs = loaded(version).signatures["serving_default"](sentences=tf.constant(instances))
    # TF Serving's row format: one prediction per instance, every output of the signature.
    def json_value(value):  # a NumPy value as JSON has it: strings decoded, arrays as lists
        return value.decode() if isinstance(value, bytes) else value.tolist()

    response = json.dumps({"predictions": [{name: json_value(value.numpy()[i]) for name, value in outputs.items()}
                                           for i in range(len(instances))]})
    print("POST /v1/models/classifier:predict", request)
    print(response)
    predictions = json.loads(response)["predictions"]
    in_memory = module(tf.constant(instances))
    assert np.allclose(outputs["probabilities"].numpy(), in_memory["probabilities"].numpy(), atol=1e-5)
    assert [p["label"].encode() for p in predictions] == in_memory["label"].numpy().tolist()
    assert np.allclose(outputs["probabilities"].numpy().sum(-1), 1, atol=1e-5)


def exercise_3_a_new_version():
    """Exercise 3 (medium): train the model a little more, export it again
    under the same name, and check which version a server would load and
    that version 1 still answers as before."""
    module, base, version_1 = exported()
    sentences = tf.constant(["the coffee is great .", "the tea was awful"])
    before = module(sentences)["probabilities"].numpy()
    weights = module.model.get_weights()
    try:
        # A few steps of gradient descent change the weights in place; the module's
        # graphs read them, so exporting it again saves the new weights.
        # (Here it learns from two new "great" reviews.)
        reviews = ClassificationData.from_lists(["great coffee .", "the tea was great ."], [0, 0], LABELS)
        features, labels = next(iter(classification_dataset(reviews, module.tokenizer)))
        optimizer = keras.optimizers.SGD(0.5)
        for _ in range(3):
            with tf.GradientTape() as tape:
                logits = module.model(features, training=True)["logits"]
                loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels["logits"], logits,
                                                                                   from_logits=True))
            optimizer.apply(tape.gradient(loss, module.model.trainable_variables), module.model.trainable_variables)
        version_2 = export_saved_model(module, base, "classifier")
        print("versions:", sorted(p.name for p in (base / "classifier").iterdir() if p.name.isdigit()))
        assert version_2.name == "2" and latest_version(base / "classifier") == 2
        assert resolve_export(base / "classifier") == version_2, "a server loads the highest version"
        try:
            export_saved_model(module, base, "classifier", version=1)
            raise AssertionError("version 1 was overwritten")
        except FileExistsError as error:
            print("exporting version 1 again:", error)
        answers = {version.name: loaded(version).signatures["serving_default"](sentences=sentences)
                   for version in (version_1, version_2)}
        for name, outputs in answers.items():
            print(f"version {name}: p(great) {np.round(outputs['probabilities'].numpy()[:, 0], 3).tolist()}")
        assert np.allclose(answers["1"]["probabilities"].numpy(), before, atol=1e-5), "version 1 is unchanged"
        assert np.allclose(answers["2"]["probabilities"].numpy(), module(sentences)["probabilities"].numpy(),
                           atol=1e-5), "version 2 is the retrained model"
        first, second = answers["1"]["probabilities"].numpy(), answers["2"]["probabilities"].numpy()
        assert np.all(second[:, 0] > first[:, 0] + 0.1), "version 2 learned that reviews are great"
        config = write_models_config(base).read_text()
        print(config)
        assert "name: 'classifier'" in config and "base_path: '/models/classifier'" in config
    finally:
        module.model.set_weights(weights)  # exercises 1 and 2 share the module


EXERCISES = [exercise_1_saved_model_cli_in_python, exercise_2_query_the_export, exercise_3_a_new_version]


def main():
    for exercise in EXERCISES:
        print(f"\n== {exercise.__name__}")
        exercise()
    print("\nall exercises passed")


if __name__ == "__main__":
    main()
