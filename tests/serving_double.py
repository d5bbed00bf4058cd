"""A TEST DOUBLE of TF Serving (not TF Serving): REST and gRPC servers on
127.0.0.1 that answer as TF Serving's documented APIs do, by running the
exported SavedModels in this process.

REST (https://www.tensorflow.org/tfx/serving/api_rest):
  GET  /v1/models/<name>[/versions/<v>]            version status
  GET  /v1/models/<name>[/versions/<v>]/metadata   signatures
  POST /v1/models/<name>[/versions/<v>]:predict    {"instances": [...]} -> {"predictions": [...]}
                                                   {"inputs": {...}}    -> {"outputs": {...}}
  Errors: an HTTP error status with {"error": "..."}; 404 for unknown models.
Row format: with one input an instance is its value, otherwise a dict; with
one output a prediction is its value, otherwise a dict. Columnar format: with
one output `outputs` is its value, otherwise a dict of outputs.
"""

import json
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc


def _jsonable(array):
    array = np.asarray(array)
    if array.dtype.kind in "OS":
        return np.vectorize(lambda b: b.decode("utf-8"), otypes=[object])(array).tolist() if array.size else array.tolist()
    return array.tolist()


class ServingDouble:
    """Serves `{name: {version: export_dir}}` over REST and gRPC."""

    def __init__(self, models, delay=0.0):
        self.loaded = {
            name: {int(v): tf.saved_model.load(str(path)) for v, path in versions.items()}
            for name, versions in models.items()
        }
        self.delay = delay

    def signature(self, name, version, signature_name):
        if name not in self.loaded:
            raise LookupError(f"Servable not found for request: Latest({name})")
        versions = self.loaded[name]
        version = max(versions) if version is None else int(version)
        if version not in versions:
            raise LookupError(f"Servable not found for request: Specific({name}, {version})")
        signatures = versions[version].signatures
        if signature_name not in signatures:
            raise ValueError(f"Serving signature name: \"{signature_name}\" not found in signature def")
        return version, signatures[signature_name]

    def predict_json(self, name, version, body):
        time.sleep(self.delay)
        version, function = self.signature(name, version, body.get("signature_name", "serving_default"))
        specs = function.structured_input_signature[1]
        if ("instances" in body) == ("inputs" in body):
            raise ValueError("JSON Value must have exactly one of 'instances' or 'inputs'")
        if "instances" in body:
            instances = body["instances"]
            if len(specs) == 1:
                columns = {next(iter(specs)): instances}
            else:
                columns = {k: [instance[k] for instance in instances] for k in specs}
        else:
            columns = body["inputs"]
        if set(columns) != set(specs):
            raise ValueError(f"Inputs {sorted(columns)} do not match the signature's {sorted(specs)}")
        tensors = {k: tf.constant(v, specs[k].dtype) if len(v) else tf.zeros([0] * specs[k].shape.rank, specs[k].dtype)
                   for k, v in columns.items()}
        outputs = {k: _jsonable(v) for k, v in function(**tensors).items()}
        if len(outputs) == 1:  # one output: its name is left out, in both formats
            only = next(iter(outputs.values()))
            return {"outputs": only} if "inputs" in body else {"predictions": only}
        if "inputs" in body:
            return {"outputs": outputs}
        batch = len(next(iter(outputs.values())))
        return {"predictions": [{k: v[i] for k, v in outputs.items()} for i in range(batch)]}

    def start_rest(self):
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _parse(self):
                path, _, verb = self.path.partition(":")
                parts = path.strip("/").split("/")  # v1 models NAME [versions V] [metadata]
                if parts[:2] != ["v1", "models"] or len(parts) < 3:
                    raise FileNotFoundError(self.path)
                version = parts[4] if len(parts) > 4 and parts[3] == "versions" else None
                return parts[2], version, verb, parts[-1] == "metadata"

            def do_GET(self):
                try:
                    name, version, _, metadata = self._parse()
                    version, _ = double.signature(name, version, "serving_default")
                    if metadata:
                        signatures = list(double.loaded[name][version].signatures)
                        self._reply(200, {"model_spec": {"name": name, "version": str(version)},
                                          "metadata": {"signature_def": {"signature_def": signatures}}})
                    else:
                        self._reply(200, {"model_version_status": [{"version": str(version), "state": "AVAILABLE",
                                                                    "status": {"error_code": "OK", "error_message": ""}}]})
                except (LookupError, FileNotFoundError) as error:
                    self._reply(404, {"error": str(error)})

            def do_POST(self):
                try:
                    name, version, verb, _ = self._parse()
                    if verb != "predict":
                        raise FileNotFoundError(self.path)
                    body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                    self._reply(200, double.predict_json(name, version, body))
                except (LookupError, FileNotFoundError) as error:
                    self._reply(404, {"error": str(error)})
                except Exception as error:  # what TF Serving reports as INVALID_ARGUMENT
                    self._reply(400, {"error": str(error).splitlines()[0]})

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    def start_grpc(self):
        double = self

        class Service(prediction_service_pb2_grpc.PredictionServiceServicer):
            def Predict(self, request, context):
                version = request.model_spec.version.value if request.model_spec.HasField("version") else None
                try:
                    _, function = double.signature(request.model_spec.name, version,
                                                   request.model_spec.signature_name or "serving_default")
                except LookupError as error:
                    context.abort(grpc.StatusCode.NOT_FOUND, str(error))
                tensors = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
                try:
                    outputs = function(**tensors)
                except (TypeError, ValueError, tf.errors.InvalidArgumentError) as error:
                    context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error).splitlines()[0])
                response = predict_pb2.PredictResponse()
                for k, v in outputs.items():
                    response.outputs[k].CopyFrom(tf.make_tensor_proto(v.numpy()))
                return response

        self.grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Service(), self.grpc)
        port = self.grpc.add_insecure_port("127.0.0.1:0")
        self.grpc.start()
        return f"127.0.0.1:{port}"

    def stop(self):
        if hasattr(self, "http"):
            self.http.shutdown()
            self.http.server_close()
        if hasattr(self, "grpc"):
            self.grpc.stop(0)
