import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest
import tensorflow as tf

from tf_models.training import (
    check_devices,
    cpu_has_bfloat16_units,
    check_jit_compile,
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


@pytest.fixture(scope="module")
def replicas():
    """The results of tests/scripts/replica_checks.py: one replica vs two
    logical CPUs (a process of its own: logical devices are set before
    TensorFlow starts)."""
    script = Path(__file__).parent / "scripts" / "replica_checks.py"
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(result.stdout.strip().splitlines()[-1])
    assert results["replicas"] == 2
    return results


def test_mirrored_over_two_cpus_matches_one_device(replicas):
    """Same global batch, same losses step by step: the gradient all-reduce
    and the per-replica loss scaling are right."""
    losses = replicas["classifier"]
    # Float32 sums in another order: agreement to 1e-5 relative.
    assert losses["mirrored"] == pytest.approx(losses["default"], rel=1e-5)
    assert losses["default"][-1] < losses["default"][0]  # it trained


@pytest.mark.parametrize("option", ["global_clipnorm", "clipnorm", "clipvalue"])
def test_clipping_applies_to_the_summed_gradient_of_all_replicas(replicas, option):
    """w = 0, SGD at rate 1, clipping at 1, per-example gradients -40 and +8
    (-20 and +4 per replica): the mean, -16, clips to -1 and w ends at 1 on
    one device. Clipping each replica's share alone gives -1 + 1 = 0."""
    weights = replicas["clipping"][option]
    assert weights["default"] == pytest.approx(1.0)
    assert weights["mirrored"] == pytest.approx(1.0)
    # Keras' own SGD still clips per replica (if this fails, Keras fixed it upstream).
    assert weights["mirrored_keras_sgd"] == pytest.approx(0.0)


def test_the_causal_lm_task_trains_alike_on_one_and_two_replicas(replicas):
    """The compiled task (AdamW, every step clipped to a small global norm,
    masked loss over padded windows): same losses and weights to 1e-5."""
    run = replicas["causal_lm"]
    assert run["mirrored"] == pytest.approx(run["default"], rel=1e-5)
    assert run["weights_relative_difference"] < 1e-5
    assert run["default"][-1] < run["default"][0]


def test_an_overflow_on_one_replica_skips_the_step_on_all(replicas):
    overflow = replicas["overflow"]
    assert overflow["weights_finite"] and overflow["weights_unchanged"]
    assert overflow["loss_scale"] == overflow["initial_loss_scale"] / 2
    # Keras' LossScaleOptimizer lets the other replica's step through, inf and all.
    assert not replicas["overflow_keras"]["weights_finite"]


def test_dropout_masks_differ_across_replicas(replicas):
    assert replicas["dropout_masks_differ"]


@pytest.mark.parametrize("strategy", ["one_device", "mirrored"])
def test_fit_resumable_runs_and_resumes_under_a_strategy(replicas, strategy):
    losses = replicas["resumable"][strategy]
    assert len(losses) == 3  # two epochs, then the one left after resuming
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("strategy", ["default", "mirrored"])
def test_a_run_interrupted_mid_epoch_resumes_to_the_same_weights(replicas, strategy):
    assert replicas["exact_resume"][strategy] == 0.0  # dropout on, exactly equal


def test_jit_compile_over_several_replicas_is_refused_with_a_reason(replicas):
    assert "2 replicas" in replicas["jit_refused"] and "keras-team/keras#19005" in replicas["jit_refused"]
    check_jit_compile(True, tf.distribute.get_strategy())  # one replica: allowed


def test_gpu_settings_are_refused_only_where_no_gpu_is_seen():
    check_devices("auto", "auto", num_gpus=0)
    check_devices("default", "float32", num_gpus=0)
    check_devices("mirrored", "mixed_float16", num_gpus=2)
    check_devices("tpu", "mixed_bfloat16", num_gpus=0, has_tpu=True)
    for strategy, precision in (("mirrored", "auto"), ("auto", "mixed_float16"), ("auto", "mixed_bfloat16")):
        with pytest.raises(ValueError, match="asks for a GPU, but TensorFlow sees none"):
            check_devices(strategy, precision, num_gpus=0)
    # A CPU with bfloat16 units (AMX, AVX-512 BF16) runs mixed_bfloat16, and only that, natively.
    check_devices("auto", "mixed_bfloat16", num_gpus=0, cpu_bfloat16=True)
    for strategy, precision in (("mirrored", "mixed_bfloat16"), ("auto", "mixed_float16")):
        with pytest.raises(ValueError, match="asks for a GPU"):
            check_devices(strategy, precision, num_gpus=0, cpu_bfloat16=True)


@pytest.mark.parametrize(
    "flags, expected",
    [
        ("fpu sse2 avx2 avx512f amx_bf16 amx_tile amx_int8", True),  # Sapphire Rapids
        ("fpu sse2 avx2 avx512f avx512_bf16", True),  # Cooper Lake, Zen 4
        ("fpu sse2 avx2 avx512f avx512_vnni", False),  # Ice Lake: no bfloat16 units
    ],
)
def test_bfloat16_units_are_read_from_the_cpu_flags(tmp_path, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n")
    assert cpu_has_bfloat16_units(cpuinfo) is expected
    assert cpu_has_bfloat16_units(tmp_path / "missing") is False
