"""Shared fixtures. TensorFlow's C++ logging is quieted before it is imported."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import pytest  # noqa: E402

POLICIES = ["float32", "mixed_float16", "mixed_bfloat16"]


@pytest.fixture(autouse=True)
def _seed_and_policy_reset():
    """Every test starts from the same seed and the float32 policy."""
    keras.utils.set_random_seed(1234)
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture(params=POLICIES)
def policy(request):
    """Runs a test under each dtype policy, set globally as a user would."""
    keras.config.set_dtype_policy(request.param)
    return keras.mixed_precision.Policy(request.param)
