"""Clients for a running TF Serving: REST (port 8501) and gRPC (port 8500).

TF Serving's REST API takes either the row format, `{"instances": [...]}`
(answered with `{"predictions": [...]}`), or the columnar format,
`{"inputs": {...}}` (answered with `{"outputs": ...}`); a failed request
is answered with an HTTP error status and `{"error": "..."}`.

Example (with a server started as in docs/serving.md):

    client = RestClient("http://localhost:8501")
    client.predict("translator", instances=["Guten Morgen."])
    # [{"translation": "good morning.", "scores": -1.2, "token_ids": [...]}]
"""

import threading

import requests


class ServingError(RuntimeError):
    """A request TF Serving refused or could not answer."""


class RestClient:
    """TF Serving's REST API.

    Args:
        url: the server, e.g. "http://localhost:8501".
        timeout: seconds a whole request may take, connection, upload and
            answer together (a server that answers a byte at a time is
            cut off at the deadline too, not only one that goes silent).
    """

    def __init__(self, url="http://localhost:8501", timeout=30.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _model_url(self, model, version=None):
        return f"{self.url}/v1/models/{model}" + (f"/versions/{version}" if version is not None else "")

    def _request(self, method, url, payload=None):
        """The JSON answer to one request, within the deadline; every failure
        is a `ServingError`."""
        outcome = {}

        def send():
            try:
                # `timeout` bounds each read; the caller's deadline bounds the whole.
                outcome["response"] = requests.request(method, url, json=payload, timeout=self.timeout)
            except BaseException as error:  # handed to the caller, whatever it is
                outcome["error"] = error

        # The request runs in a daemon thread so that the caller stops waiting
        # at the deadline. The thread itself ends with the connection: when
        # the server finishes, closes, or stays silent for `timeout` seconds
        # (a connection cannot be closed safely from another thread mid-read).
        worker = threading.Thread(target=send, daemon=True)
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive() or isinstance(outcome.get("error"), requests.Timeout):
            raise ServingError(f"{url}: no answer within {self.timeout} s.")
        error = outcome.get("error")
        if isinstance(error, requests.ConnectionError):
            raise ServingError(f"{url}: cannot connect ({error}). Is the server running?") from error
        if isinstance(error, requests.RequestException):
            raise ServingError(f"{url}: {type(error).__name__}: {error}") from error
        if error is not None:
            raise error  # not the server's doing (a payload JSON cannot hold): as it was raised
        response = outcome["response"]
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text[:500]}
        if not response.ok:
            # TF Serving answers {"error": "..."}; a proxy in front of it may answer anything.
            reason = body.get("error", body) if isinstance(body, dict) else body
            raise ServingError(f"{url}: HTTP {response.status_code}: {str(reason)[:500]}")
        if not isinstance(body, dict):
            raise ServingError(f"{url}: expected a JSON object, got {str(body)[:300]}")
        return body

    def status(self, model, version=None):
        """The model's version status (`GET /v1/models/<model>`)."""
        return self._request("GET", self._model_url(model, version))

    def metadata(self, model, version=None):
        """The model's signatures (`GET /v1/models/<model>/metadata`)."""
        return self._request("GET", self._model_url(model, version) + "/metadata")

    def predict(self, model, instances=None, inputs=None, signature_name=None, version=None):
        """Runs a signature (`POST /v1/models/<model>:predict`).

        Give exactly one of `instances` (a list, one entry per example: a
        string, or a dict of named inputs) or `inputs` (a dict of batched
        lists).

        Returns:
            The `predictions` list (row format) or `outputs` (columnar).
        """
        if (instances is None) == (inputs is None):
            raise ValueError("Give exactly one of instances or inputs.")
        payload = {"instances": instances} if instances is not None else {"inputs": inputs}
        if signature_name:
            payload["signature_name"] = signature_name
        body = self._request("POST", self._model_url(model, version) + ":predict", payload)
        key = "predictions" if instances is not None else "outputs"
        if key not in body:
            raise ServingError(f"Unexpected answer without {key!r}: {str(body)[:300]}")
        return body[key]


class GrpcClient:
    """TF Serving's gRPC `PredictionService` (needs `tensorflow-serving-api`).

    Args:
        target: "host:port" of the gRPC endpoint, e.g. "localhost:8500".
        timeout: seconds to wait for a response.
    """

    def __init__(self, target="localhost:8500", timeout=30.0):
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        self.target = target
        self.timeout = timeout
        self._channel = grpc.insecure_channel(target)
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def predict(self, model, inputs, signature_name="serving_default", version=None):
        """Runs a signature on `{input_name: array or list}`.

        Lists of Python ints are sent as int32 (what tf_models' id
        signatures take) and strings as UTF-8; pass NumPy arrays to choose
        other dtypes.

        Returns:
            `{output_name: np.ndarray}` (strings as bytes).
        """
        import grpc
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        from tf_models.export.warmup import tensor_proto

        request = predict_pb2.PredictRequest()
        request.model_spec.name = model
        request.model_spec.signature_name = signature_name
        if version is not None:
            request.model_spec.version.value = int(version)
        for name, values in inputs.items():
            request.inputs[name].CopyFrom(tensor_proto(values))
        try:
            response = self._stub.Predict(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise ServingError(f"{self.target}: {error.code().name}: {error.details()}") from error
        return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}

    def close(self):
        self._channel.close()
