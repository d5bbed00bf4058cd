import keras
import pytest
import tensorflow as tf

from tf_models.training import (
    choose_policy_name,
    choose_strategy_name,
    select_policy,
    select_strategy,
)

TWO_WORKERS = {"cluster": {"worker": ["127.0.0.1:2001", "127.0.0.1:2002"]}, "task": {"type": "worker", "index": 0}}


@pytest.mark.parametrize(
    "num_gpus, has_tpu, tf_config, expected",
    [
        (0, False, None, "default"),
        (1, False, None, "one_device"),
        (4, False, None, "mirrored"),
        (0, True, None, "tpu"),
        (2, False, TWO_WORKERS, "multi_worker"),
        (0, False, {"cluster": {"worker": ["127.0.0.1:2001"]}}, "default"),
    ],
)
def test_strategy_choice(num_gpus, has_tpu, tf_config, expected):
    assert choose_strategy_name(num_gpus, has_tpu, tf_config) == expected


@pytest.mark.parametrize(
    "kind, capabilities, expected",
    [
        ("cpu", (), "float32"),
        ("tpu", (), "mixed_bfloat16"),
        ("gpu", [(8, 0)], "mixed_bfloat16"),
        ("gpu", [(9, 0), (9, 0)], "mixed_bfloat16"),
        ("gpu", [(7, 5)], "mixed_float16"),
        ("gpu", [(8, 6), (7, 0)], "mixed_float16"),  # the oldest GPU decides
    ],
)
def test_policy_choice(kind, capabilities, expected):
    assert choose_policy_name(kind, capabilities) == expected


def test_auto_on_this_cpu_machine():
    assert select_strategy("auto") is tf.distribute.get_strategy()
    assert select_policy("auto").name == "float32"
    assert select_policy("mixed_bfloat16").name == keras.config.dtype_policy().name == "mixed_bfloat16"


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="Unknown strategy"):
        select_strategy("horovod")
    with pytest.raises(ValueError, match="Unknown precision"):
        select_policy("float8")


def test_mirrored_over_two_cpus_matches_one_device():
    """Same global batch, same losses step by step: the gradient all-reduce
    and the per-replica loss scaling are right."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parent / "scripts" / "mirrored_cpu.py"
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    losses = json.loads(result.stdout.strip().splitlines()[-1])
    assert losses["replicas"] == 2
    # Float32 sums in another order: agreement to 1e-5 relative.
    assert losses["mirrored"] == pytest.approx(losses["default"], rel=1e-5)
    assert losses["default"][-1] < losses["default"][0]  # it trained
