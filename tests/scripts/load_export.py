"""Loads a SavedModel the way a server would: TensorFlow and TF Text only.

Usage: python load_export.py EXPORT_DIR REQUESTS_JSON OUTPUT_NPZ

REQUESTS_JSON maps "<signature>/<case>" to {input_name: list}; every output
of every request is saved into OUTPUT_NPZ as "<signature>/<case>/<output>".
It also writes "__modules__": the top-level packages imported, so the test
can check that neither tf_models nor keras_hub was needed.
"""

import json
import sys

import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops, as TF Serving links them)

export_dir, requests_file, output_file = sys.argv[1:4]
loaded = tf.saved_model.load(export_dir)
results = {}
for key, inputs in json.loads(open(requests_file).read()).items():
    signature = loaded.signatures[key.split("/")[0]]
    specs = signature.structured_input_signature[1]
    tensors = {}
    for name, values in inputs.items():
        if specs[name].dtype == tf.string:
            # Bytes travel as latin-1 text in JSON, so any byte string can be sent.
            values = np.array([v.encode("latin-1") for v in values], dtype=object)
        tensors[name] = tf.constant(values, dtype=specs[name].dtype, shape=None if len(values) else [0] + [0] * (specs[name].shape.rank - 1))
    for output_name, value in signature(**tensors).items():
        results[f"{key}/{output_name}"] = value.numpy()
results["__modules__"] = np.array(sorted({m.split(".")[0] for m in sys.modules}))
np.savez(output_file, **results)
