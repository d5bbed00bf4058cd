"""The REST and gRPC clients against serving_double.py, a TEST DOUBLE of
TF Serving that speaks its documented JSON and gRPC APIs (the real server
cannot be installed here)."""

import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import tensorflow as tf
from serving_double import ServingDouble

from tf_models.serving import GrpcClient, RestClient, ServingError


@pytest.fixture(scope="session")  # session: see test_export.py's `served`
def serving_double(inference_modules, exported_models):
    double = ServingDouble({name: {1: exported_models[1][name]} for name in ("translator", "classifier")})
    rest_url, grpc_target = double.start_rest(), double.start_grpc()
    yield {**inference_modules, "rest": rest_url, "grpc": grpc_target}
    double.stop()


def test_rest_row_format_returns_one_prediction_per_instance(serving_double):
    client = RestClient(serving_double["rest"], timeout=30)
    texts = ["the cat sat.", ""]
    predictions = client.predict("translator", instances=texts)
    expected = serving_double["translator"](tf.constant(texts))
    assert [p["translation"] for p in predictions] == [t.decode() for t in expected["translation"].numpy()]
    np.testing.assert_allclose([p["scores"] for p in predictions], expected["scores"], atol=1e-5)


def test_rest_columnar_format_and_a_named_signature(serving_double):
    client = RestClient(serving_double["rest"])
    outputs = client.predict("classifier", inputs={"first": ["the cat"], "second": ["sat ."]},
                             signature_name="pairs")
    expected = serving_double["classifier"].classify_pairs(tf.constant(["the cat"]), tf.constant(["sat ."]))
    np.testing.assert_allclose(outputs["probabilities"], expected["probabilities"], atol=1e-5)
    assert outputs["label"] == [expected["label"].numpy()[0].decode()]


def test_rest_status_and_metadata(serving_double):
    client = RestClient(serving_double["rest"])
    assert client.status("translator")["model_version_status"][0]["state"] == "AVAILABLE"
    assert "ids" in client.metadata("translator", version=1)["metadata"]["signature_def"]["signature_def"]


def test_rest_errors_are_clear(serving_double):
    client = RestClient(serving_double["rest"])
    with pytest.raises(ServingError, match="HTTP 404.*Servable not found"):
        client.predict("no_such_model", instances=["x"])
    with pytest.raises(ServingError, match="HTTP 400"):
        client.predict("translator", instances=["x"], signature_name="missing")
    with pytest.raises(ValueError, match="exactly one"):
        client.predict("translator")


def test_rest_client_reports_a_dead_server_and_a_timeout():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ServingError, match="cannot connect"):
        RestClient(f"http://127.0.0.1:{port}", timeout=5).status("translator")
    silent = socket.socket()  # accepts connections, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    try:
        with pytest.raises(ServingError, match="no answer within 0.5 s"):
            RestClient(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.5).status("translator")
    finally:
        silent.close()


def test_grpc_client_predicts_and_reports_errors(serving_double):
    client = GrpcClient(serving_double["grpc"], timeout=30)
    try:
        outputs = client.predict("translator", {"sentences": ["the cat sat."]})
        expected = serving_double["translator"](tf.constant(["the cat sat."]))
        assert outputs["translation"].tolist() == expected["translation"].numpy().tolist()
        ids = client.predict("classifier", {"token_ids": [[2, 7, 8, 3]], "segment_ids": [[0, 0, 0, 0]],
                                            "padding_mask": [[1, 1, 1, 1]]}, signature_name="ids", version=1)
        assert ids["probabilities"].shape == (1, 3)
        with pytest.raises(ServingError, match="NOT_FOUND"):
            client.predict("no_such_model", {"sentences": ["x"]})
    finally:
        client.close()


class _Answers(BaseHTTPRequestHandler):
    """A server in front of TF Serving as a proxy may be: any error body, or
    an answer that drips in a byte at a time."""

    def do_GET(self):
        if self.path.endswith("/drip"):
            self.send_response(200)
            self.send_header("Content-Length", "40")
            self.end_headers()
            try:
                for _ in range(40):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.25)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up at its deadline
                pass
            return
        body = {"/v1/models/list": b'["broken", 1]', "/v1/models/string": b'"overloaded"',
                "/v1/models/number": b"503", "/v1/models/html": b"<html>Bad gateway</html>"}
        self.send_response(200 if "ok" in self.path else 502)
        self.end_headers()
        self.wfile.write(body.get(self.path.split("?")[0].replace("_ok", ""), b"[1, 2]"))

    def log_message(self, *args):
        pass


@pytest.fixture
def odd_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("name, shown", [("list", "['broken', 1]"), ("string", "overloaded"), ("number", "503"),
                                         ("html", "Bad gateway")])
def test_rest_errors_of_any_body_shape_are_serving_errors(odd_server, name, shown):
    with pytest.raises(ServingError, match=f"HTTP 502: .*{re.escape(shown)}"):
        RestClient(odd_server, timeout=5).status(name)


def test_rest_answers_that_are_not_objects_are_serving_errors(odd_server):
    with pytest.raises(ServingError, match="expected a JSON object"):
        RestClient(odd_server, timeout=5).status("list_ok")


def test_rest_timeout_bounds_the_whole_request(odd_server):
    started = time.monotonic()
    with pytest.raises(ServingError, match="no answer within 1 s"):
        RestClient(odd_server, timeout=1).status("drip")  # a byte every 0.25 s: each read is quick
    assert time.monotonic() - started < 2
