"""Loads SavedModels the way a server would: TensorFlow and TF Text only.

Usage: python load_export.py JOBS_JSON

JOBS_JSON is a list of {"export": DIR, "requests": {...}, "output": NPZ}.
"requests" maps "<signature>/<case>" to {input_name: list}; every output of
every request is saved into NPZ as "<signature>/<case>/<output>", with
"__modules__": the top-level packages imported, so the test can check that
neither tf_models nor keras_hub was needed.
"""

import json
import sys

import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops, as TF Serving links them)


def run(export_dir, requests, output_file):
    loaded = tf.saved_model.load(export_dir)
    results = {}
    for key, inputs in requests.items():
        signature = loaded.signatures[key.split("/")[0]]
        specs = signature.structured_input_signature[1]
        tensors = {}
        for name, values in inputs.items():
            if specs[name].dtype == tf.string:
                # Bytes travel as latin-1 text in JSON, so any byte string can be sent.
                values = np.array([v.encode("latin-1") for v in values], dtype=object)
            shape = None if len(values) else [0] * specs[name].shape.rank
            tensors[name] = tf.constant(values, dtype=specs[name].dtype, shape=shape)
        for output_name, value in signature(**tensors).items():
            results[f"{key}/{output_name}"] = value.numpy()
    results["__modules__"] = np.array(sorted({m.split(".")[0] for m in sys.modules}))
    np.savez(output_file, **results)


for job in json.loads(open(sys.argv[1]).read()):
    run(job["export"], job["requests"], job["output"])
