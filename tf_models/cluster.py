"""Who this process is in a multi-worker run, read once from `TF_CONFIG`.

Every worker of a `MultiWorkerMirroredStrategy` run starts the same command
with its own `TF_CONFIG` (see `training/multi_worker.py`). The training
cluster is its `chief` task, if any, and its `worker` tasks; the run's files
are written by the chief, which is the `chief` task, or `worker` 0 when there
is none (TensorFlow's rule). This module imports no TensorFlow, so the
command line and the run-folder lock can ask before TensorFlow starts.

Example:
>>> config = {"cluster": {"chief": ["a:1"], "worker": ["b:1"]}, "task": {"type": "worker", "index": 0}}
>>> training_tasks(config), is_chief_task(config), task_name(config)
(2, False, 'worker 0')
"""

import json
import os

TRAINING_TASK_TYPES = ("chief", "worker")


def read_tf_config(environ=None):
    """The parsed `TF_CONFIG` (`{}` when unset), checked.

    Args:
        environ: the environment to read (default: `os.environ`).

    Raises:
        ValueError: naming `TF_CONFIG`, when it is not a JSON object, names a
            task that is not in its cluster, or makes this process an
            `evaluator` or `ps` task, which tf_models' jobs do not run (the
            chief evaluates after training).
    """
    text = (os.environ if environ is None else environ).get("TF_CONFIG", "")
    if not text.strip():
        return {}
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error}): {text[:200]!r}") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster", {}), dict):
        raise ValueError(f'TF_CONFIG must be a JSON object {{"cluster": {{...}}, "task": {{...}}}}, got {text[:200]!r}')
    cluster, task = config.get("cluster", {}), config.get("task", {})
    if not cluster:
        return config
    kind = task.get("type")
    try:
        index = int(task.get("index", 0))  # TensorFlow's resolver accepts "1" too
    except (TypeError, ValueError):
        index = -1
    if kind in ("evaluator", "ps"):
        raise ValueError(f"TF_CONFIG makes this process its {kind!r} task; tf_models jobs train on 'chief' and "
                         "'worker' tasks only, and the chief evaluates once training ends: start no such task.")
    if kind not in TRAINING_TASK_TYPES or not 0 <= index < len(cluster.get(kind, [])):
        raise ValueError(f"TF_CONFIG's task {task} is not one of its cluster's chief or worker tasks "
                         f"{ {name: len(cluster.get(name, [])) for name in TRAINING_TASK_TYPES} }.")
    return config


def training_tasks(config):
    """How many processes train together: the cluster's chief and workers.

    Args:
        config: a parsed `TF_CONFIG`.
    """
    cluster = config.get("cluster", {})
    return sum(len(cluster.get(kind, [])) for kind in TRAINING_TASK_TYPES)


def is_chief_task(config):
    """Whether this process writes the run's files: on one machine always;
    in a cluster, the `chief` task, or `worker` 0 when there is no chief.

    Args:
        config: a parsed `TF_CONFIG`.
    """
    if training_tasks(config) < 2:
        return True
    task, cluster = config.get("task", {}), config["cluster"]
    if "chief" in cluster:
        return task.get("type") == "chief"
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0


def task_name(config):
    """`"chief 0"`, `"worker 1"`, ...; `""` on one machine.

    Args:
        config: a parsed `TF_CONFIG`.
    """
    if training_tasks(config) < 2:
        return ""
    task = config.get("task", {})
    return f"{task.get('type')} {int(task.get('index', 0))}"
