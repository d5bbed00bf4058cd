"""Where this process stands in a run: alone, or one of several workers,
and whether it writes the run's files.

One rule everywhere: several processes train together when the cluster
(`TF_CONFIG`, or the strategy's resolver once the strategy exists) names
two or more chief and worker tasks (`tf_models.cluster`); the chief is
the `chief` task, or worker 0 when there is none.
"""

from pathlib import Path

import tensorflow as tf

from tf_models.cluster import is_chief_task, training_tasks


def strategy_cluster(strategy):
    """The strategy's cluster in `TF_CONFIG`'s form (`{}` for a strategy of one process)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return {}
    return {"cluster": resolver.cluster_spec().as_dict(),
            "task": {"type": resolver.task_type, "index": resolver.task_id}}


def is_multi_worker(strategy):
    """Whether `strategy` spans several processes (the loop `fit` cannot run)."""
    return training_tasks(strategy_cluster(strategy)) > 1


def is_chief(strategy):
    """Whether this process writes the run's files: always on one machine;
    under several workers, the `chief` task (or worker 0)."""
    return is_chief_task(strategy_cluster(strategy))


def worker_directory(directory, strategy):
    """Where this process writes what every worker must write (checkpoints):
    `directory` itself on the chief, `<parent>/workertemp_<id>/<name>` on
    the others, deleted after each save (TensorFlow's multi-worker rule, as
    `PreemptionCheckpointHandler` follows it)."""
    directory = Path(directory)
    if is_chief(strategy):
        return directory
    return directory.parent / f"workertemp_{strategy.cluster_resolver.task_id}" / directory.name
