"""Choosing the distribution strategy and the dtype policy for the hardware.

Each choice is a pure function of what is present (easy to test with fake
device lists) plus a thin function that looks at the real machine. Both can
be overridden by name.
"""

import logging
from pathlib import Path

import keras
import tensorflow as tf

from tf_models.cluster import read_tf_config, task_name, training_tasks
from tf_models.training.watchdog import awaiting_peers, watch_peers

logger = logging.getLogger(__name__)

STRATEGIES = ("auto", "default", "one_device", "mirrored", "multi_worker", "tpu")
POLICIES = ("auto", "float32", "mixed_float16", "mixed_bfloat16")


def choose_strategy_name(num_gpus, has_tpu=False, tf_config=None):
    """What `"auto"` means on a machine.

    Args:
        num_gpus: GPUs visible to TensorFlow.
        has_tpu: whether a TPU can be resolved.
        tf_config: the parsed `TF_CONFIG` environment variable, if any.

    Returns:
        `"tpu"`; `"multi_worker"` when `TF_CONFIG` names several training
        tasks (its chief and workers);
        `"mirrored"` for several GPUs; `"one_device"` for one GPU; else
        `"default"` (on CPU a one-replica `MirroredStrategy` only costs
        speed).

    Example:
    >>> choose_strategy_name(num_gpus=4)
    'mirrored'
    """
    if has_tpu:
        return "tpu"
    if training_tasks(tf_config or {}) > 1:
        return "multi_worker"
    if num_gpus > 1:
        return "mirrored"
    if num_gpus == 1:
        return "one_device"
    return "default"


def choose_policy_name(device_kind, compute_capabilities=()):
    """What `"auto"` precision means for a device.

    Args:
        device_kind: `"tpu"`, `"gpu"` or `"cpu"`.
        compute_capabilities: `(major, minor)` of each GPU.

    Returns:
        `"mixed_bfloat16"` on TPUs and on GPUs of compute capability 8.0 or
        more (Ampere and later), `"mixed_float16"` (with loss scaling) on
        older GPUs, and `"float32"` on CPUs, where half precision is slower.

    Example:
    >>> choose_policy_name("gpu", [(9, 0)])
    'mixed_bfloat16'
    """
    if device_kind == "tpu":
        return "mixed_bfloat16"
    if device_kind == "gpu":
        if compute_capabilities and min(compute_capabilities) >= (8, 0):
            return "mixed_bfloat16"
        return "mixed_float16"
    return "float32"


def _find_tpu():
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        resolver.master()  # raises when there is no TPU
        return resolver
    except (ValueError, RuntimeError, tf.errors.NotFoundError):
        return None


def _tf_config():
    return read_tf_config()


def select_strategy(name="auto", worker_timeout=600):
    """Returns a `tf.distribute.Strategy` by name, or the best for this machine.

    Call it at the start of the program, before other TensorFlow work:
    a `MultiWorkerMirroredStrategy` can only be created then.

    Args:
        name: one of `STRATEGIES`; `"auto"` picks with `choose_strategy_name`.
        worker_timeout: under several workers, the seconds this one waits
            for the others (to join, then at each step) before it ends with
            an error naming them (`watchdog.py`).

    Example:
    >>> select_strategy("default").num_replicas_in_sync
    1
    """
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; choose one of {STRATEGIES}.")
    tf_config = _tf_config()
    multi_worker = training_tasks(tf_config) > 1
    # Probe for a TPU only where it can matter. Nothing here may start the
    # TensorFlow runtime: MultiWorkerMirroredStrategy must be created first.
    tpu = _find_tpu() if name == "tpu" or (name == "auto" and not multi_worker) else None
    if name == "auto":
        gpus = tf.config.list_physical_devices("GPU")
        name = choose_strategy_name(len(gpus), tpu is not None, tf_config)
    logger.info("distribution strategy: %s", name)
    if name == "tpu":
        if tpu is None:
            raise RuntimeError("strategy 'tpu' was asked for, but no TPU was found.")
        tf.config.experimental_connect_to_cluster(tpu)
        tf.tpu.experimental.initialize_tpu_system(tpu)
        return tf.distribute.TPUStrategy(tpu)
    if name == "multi_worker":
        task = task_name(tf_config)
        peers = [f"{kind} {index} ({address})" for kind in ("chief", "worker")
                 for index, address in enumerate(tf_config["cluster"].get(kind, [])) if f"{kind} {index}" != task]
        watch_peers(worker_timeout, task, peers)
        with awaiting_peers("joining them (every worker starts the same command with its own TF_CONFIG)"):
            return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "one_device":
        device = "/gpu:0" if tf.config.list_physical_devices("GPU") else "/cpu:0"
        return tf.distribute.OneDeviceStrategy(device)
    return tf.distribute.get_strategy()


def select_policy(name="auto", strategy=None):
    """Sets and returns the global Keras dtype policy.

    Call it before building models (inside the strategy's scope is fine);
    layers then follow it, never set their own.

    Args:
        name: one of `POLICIES`; `"auto"` picks with `choose_policy_name`.
        strategy: the strategy in use, to recognise TPUs.

    Example:
    >>> select_policy("float32").name
    'float32'
    """
    if name not in POLICIES:
        raise ValueError(f"Unknown precision {name!r}; choose one of {POLICIES}.")
    if name == "auto":
        if isinstance(strategy, tf.distribute.TPUStrategy):
            name = choose_policy_name("tpu")
        else:
            gpus = tf.config.list_physical_devices("GPU")
            capabilities = [
                tf.config.experimental.get_device_details(gpu).get("compute_capability", (0, 0))
                for gpu in gpus
            ]
            name = choose_policy_name("gpu" if gpus else "cpu", capabilities)
    logger.info("dtype policy: %s", name)
    keras.config.set_dtype_policy(name)
    return keras.config.dtype_policy()


def check_jit_compile(jit_compile, strategy):
    """Refuses XLA compilation of a training step that spans several replicas.

    Keras 3's `fit` under a MirroredStrategy with `jit_compile=True` fails
    inside the compiled step (keras-team/keras#19005; measured here with
    Keras 3.15: `InvalidArgumentError` on the first step over two logical
    CPUs), so say so before any work is done.

    Args:
        jit_compile: the run's `--jit-compile` setting.
        strategy: the run's `tf.distribute.Strategy`.

    Raises:
        ValueError: `jit_compile` with more than one replica.

    Example:
    >>> check_jit_compile(True, tf.distribute.get_strategy())  # one replica: fine
    """
    replicas = strategy.num_replicas_in_sync
    if jit_compile and replicas > 1:
        raise ValueError(
            f"--jit-compile with {replicas} replicas fails inside Keras 3's fit (keras-team/keras#19005): "
            "drop --jit-compile, or train on one device (--strategy one_device)."
        )


def cpu_has_bfloat16_units(cpuinfo="/proc/cpuinfo"):
    """Whether this CPU multiplies bfloat16 matrices natively: Intel AMX
    (`amx_bf16`, Sapphire Rapids and later) or AVX-512 BF16 (`avx512_bf16`:
    Cooper Lake, AMD Zen 4 and later). oneDNN then runs `mixed_bfloat16`
    matmuls faster than float32; elsewhere bfloat16 is emulated, and slower.

    Args:
        cpuinfo: the file listing the CPU's flags (Linux); where it cannot
            be read (macOS, Windows) the answer is `False`.

    Example:
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as file:
    ...     _ = file.write("flags : fpu sse2 avx512f amx_bf16 amx_tile")
    >>> cpu_has_bfloat16_units(file.name), cpu_has_bfloat16_units("/no/such/file")
    (True, False)
    """
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return False
    flags = {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[-1].split()}
    return bool(flags & {"amx_bf16", "avx512_bf16"})


def check_devices(strategy_name, precision_name, num_gpus, has_tpu=False, cpu_bfloat16=False):
    """Refuses settings that need a GPU on a machine where TensorFlow sees none.

    When TensorFlow's CUDA libraries are missing or fail to load, it says so
    in one log line and carries on with the CPU: a run asked to use
    several GPUs or mixed precision would train, slowly, on the CPU. The one
    exception is `mixed_bfloat16` on a CPU with bfloat16 units (see
    `cpu_has_bfloat16_units`), where it is the faster choice.

    Args:
        strategy_name: the `--strategy` asked for.
        precision_name: the `--precision` asked for.
        num_gpus: GPUs TensorFlow sees.
        has_tpu: whether the run found a TPU (where mixed_bfloat16 is native).
        cpu_bfloat16: whether the CPU has bfloat16 matrix units.

    Raises:
        ValueError: `mirrored` or a mixed policy with no GPU (or TPU) seen.

    Example:
    >>> check_devices("auto", "auto", num_gpus=0)  # the CPU: fine
    >>> check_devices("auto", "mixed_bfloat16", num_gpus=0, cpu_bfloat16=True)  # an AMX CPU: fine
    """
    if num_gpus or has_tpu:
        return
    asked = [f"--strategy {strategy_name}"] if strategy_name == "mirrored" else []
    if precision_name.startswith("mixed_") and not (precision_name == "mixed_bfloat16" and cpu_bfloat16):
        asked.append(f"--precision {precision_name}")
    if asked:
        raise ValueError(
            f"{' and '.join(asked)} asks for a GPU, but TensorFlow sees none: check `nvidia-smi`, install "
            "TensorFlow's CUDA libraries (`make install-gpu`, or `pip install -r requirements-gpu.txt`), "
            "or leave --strategy and --precision at auto to train on the CPU (--precision mixed_bfloat16 "
            "runs on CPUs with bfloat16 units: Intel AMX or AVX-512 BF16)."
        )
