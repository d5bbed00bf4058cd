"""TF Serving warmup files: `assets.extra/tf_serving_warmup_requests`.

A TFRecord file of `PredictionLog` protos (from `tensorflow-serving-api`);
TF Serving replays each request once when it loads the model, so that the
first client does not wait for the graph to be prepared.
"""

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2


def tensor_proto(values):
    """A `TensorProto` of a request input: a list or a NumPy array.

    Python strings are sent as UTF-8 bytes (what `tf.string` holds) and
    lists of Python ints as int32 (what tf_models' id signatures take);
    NumPy arrays keep their dtype otherwise.
    """
    array = np.asarray(values)
    if array.dtype.kind == "U":
        array = np.char.encode(array, "utf-8")
    elif not isinstance(values, np.ndarray) and array.dtype.kind == "i":
        array = array.astype(np.int32)
    return tf.make_tensor_proto(array)


def write_warmup_requests(path, model_name, inputs):
    """Writes one Predict request per signature.

    Args:
        path: the file to write.
        model_name: the served model's name.
        inputs: `{signature_name: {input_name: list or array}}`.

    Example:
    >>> import tempfile
    >>> path = tempfile.mkdtemp() + "/tf_serving_warmup_requests"
    >>> write_warmup_requests(path, "translator", {"serving_default": {"sentences": ["Hallo."]}})
    >>> read_warmup_requests(path)[0][0]
    'serving_default'
    """
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature, tensors in inputs.items():
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature)
            )
            for input_name, values in tensors.items():
                request.inputs[input_name].CopyFrom(tensor_proto(values))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())


def read_warmup_requests(path):
    """Parses a warmup file back: a list of `(signature_name, {input: array})`."""
    requests = []
    for record in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
        request = prediction_log_pb2.PredictionLog.FromString(record).predict_log.request
        inputs = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
        requests.append((request.model_spec.signature_name, inputs))
    return requests
