"""The layers and models under the JAX backend, with TensorFlow hidden
(tests/scripts/backend_checks.py): what a GPU machine with JAX but no
TensorFlow runs. `make test` also runs the layer tests under JAX."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent / "scripts" / "backend_checks.py"


@pytest.fixture(scope="module")
def jax_results():
    pytest.importorskip("jax", reason="make install-dev installs jax[cpu]")
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    done = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_models_run_forward_under_jax_without_tensorflow(jax_results):
    assert jax_results["backend"] == "jax" and not jax_results["tensorflow_imported"]
    assert jax_results["forward"] == {
        "bert/sequence_output": [2, 4, 16], "bert/pooled_output": [2, 16],
        "pretrainer/mlm_logits": [2, 2, 50], "pretrainer/nsp_logits": [2, 2],
        "transformer/logits": [2, 4, 50], "causal_lm/logits": [2, 4, 50],
    }


def test_fit_trains_under_jax_with_dropout(jax_results):
    losses = jax_results["training"]["losses"]
    assert jax_results["training"]["finite"] and losses[-1] < losses[0] * 0.95
    assert jax_results["dropout"] == {"values": [0.0, 2.0], "inference_unchanged": True}


def test_cached_decoding_equals_a_full_pass_under_jax(jax_results):
    assert jax_results["cached_decoding_gap"]["causal_lm"] < 1e-5
    assert jax_results["cached_decoding_gap"]["transformer"] < 1e-5
