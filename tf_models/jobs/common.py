"""What every job does the same way: start a run, report its stages,
save and reload its tokenizer and config, finish it, export it.

A run's folder (`output_dir`):

    config.json    the resolved config          vocab.txt, tokenizer_config.json
    *.keras        the trained model                         the tokenizer
    results.json   the scores
    history.csv, logs/ (TensorBoard), best.keras  from the callbacks
"""

import contextlib
import dataclasses
import json
import time
from pathlib import Path

import keras
import tensorflow as tf

from tf_models.data.tokenizers import WordPieceTokenizer
from tf_models.export import export_saved_model, write_models_config
from tf_models.training import (
    check_devices,
    check_jit_compile,
    progress_verbosity,
    select_policy,
    select_strategy,
    training_callbacks,
)


@contextlib.contextmanager
def stage(name, advice=""):
    """Prints a line when a stage starts and ends, and names it on failure."""
    started = time.time()
    print(f"[{name}] ...", flush=True)
    try:
        yield
    except Exception as error:
        print(f"[{name}] FAILED after {time.time() - started:.0f}s: {error}", flush=True)
        if advice:
            print(f"[{name}] {advice}", flush=True)
        raise
    print(f"[{name}] done in {time.time() - started:.0f}s", flush=True)


DATA_ADVICE = "check the source and paths, or run `apt-get update` for Debian sources"


def start_run(job):
    """Strategy (first: a multi-worker one needs that), seeds, the output
    folder, the resolved config and the dtype policy.

    Returns:
        `(output_dir, strategy)`.
    """
    strategy = select_strategy(job.strategy)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        raise SystemExit(
            "Keras 3's model.fit does not support MultiWorkerMirroredStrategy yet "
            "(keras-team/keras#20585), and the jobs train with fit; "
            "tests/scripts/multi_worker.py shows a custom training loop that does."
        )
    # Before any work: the command line prints these ValueErrors as one line.
    gpus = tf.config.list_physical_devices("GPU")
    check_devices(job.strategy, job.precision, len(gpus), isinstance(strategy, tf.distribute.TPUStrategy))
    check_jit_compile(job.jit_compile, strategy)
    keras.utils.set_random_seed(job.seed)
    output_dir = Path(job.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    config = {"job": type(job).__name__, **dataclasses.asdict(job)}
    (output_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    with strategy.scope():
        policy = select_policy(job.precision, strategy)
    try:
        devices = ", ".join(strategy.extended.worker_devices)
    except RuntimeError:  # the default strategy: TensorFlow's own placement, the first GPU if any
        devices = "/gpu:0" if gpus else "/cpu:0"
    print(f"output: {output_dir}  strategy: {type(strategy).__name__} ({strategy.num_replicas_in_sync} "
          f"replica(s): {devices})  precision: {policy.name}")
    return output_dir, strategy


def finish_run(output_dir, results):
    """Writes `results.json` and returns `results`."""
    (Path(output_dir) / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {Path(output_dir) / 'results.json'}")
    return results


def compile_options(job):
    """The `Model.compile` arguments every job takes from its flags."""
    return {"jit_compile": job.jit_compile, "steps_per_execution": job.steps_per_execution}


def fit_options(job, output_dir, monitor="val_loss"):
    """The `Model.fit` arguments every job shares: callbacks, progress, no
    shuffling by Keras (the pipelines shuffle)."""
    return {"callbacks": training_callbacks(output_dir, monitor=monitor),
            "verbose": progress_verbosity(job.verbose), "shuffle": False}


def save_tokenizer(tokenizer, output_dir):
    """Writes what defines a run's WordPiece tokenizer: `vocab.txt` and
    `tokenizer_config.json` (the casing)."""
    tokenizer.save_vocabulary(Path(output_dir) / "vocab.txt")
    settings = {"lower_case": tokenizer.lower_case}
    (Path(output_dir) / "tokenizer_config.json").write_text(json.dumps(settings) + "\n")


def run_tokenizer(run_dir, job):
    """The tokenizer a finished run trained with."""
    run = Path(run_dir)
    if (run / "tokenizer_config.json").exists():
        lower_case = json.loads((run / "tokenizer_config.json").read_text())["lower_case"]
    else:  # runs saved before tokenizer_config.json existed
        lower_case = job.legacy_lower_case
    return WordPieceTokenizer(run / "vocab.txt", lower_case=lower_case)


def export_modules(modules, base_dir="saved_models", name=None, version=None):
    """Exports inference modules for TF Serving; returns the version folders.

    Args:
        modules: `{default export name: tf.Module}`, as a job's
            `inference_modules()` returns them.
        base_dir: the model base path (TF Serving's layout).
        name: the model name; with several modules, a prefix.
        version: an int; default: the next free version.
    """
    paths = []
    for default_name, module in modules.items():
        model_name = name if name and len(modules) == 1 else f"{name}_{default_name}" if name else default_name
        path = export_saved_model(module, base_dir, model_name, version)
        print(f"exported {default_name} to {path}")
        paths.append(path)
    write_models_config(base_dir)
    return paths
