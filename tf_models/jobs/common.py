"""What every job does the same way: start a run, report its stages,
save and reload its tokenizer and config, finish it, export it.

A run's folder (`output_dir`):

    config.json    the resolved config          vocab.txt, tokenizer_config.json
    *.keras        the trained model                         the tokenizer
    results.json   the scores
    history.csv, logs/ (TensorBoard), best.keras  from the callbacks
    backup/        while it trains: the state to resume from, its fingerprint
    .lock          held by the process that runs the job (`run_folder.py`)

Every file is written atomically (`tf_models.storage`), and `backup/` is
removed only once the model and `results.json` are in place: a kill at any
moment leaves either a run to resume or a finished one.
"""

import atexit
import contextlib
import dataclasses
import hashlib
import json
import shutil
import tempfile
import time
from pathlib import Path

import keras
import tensorflow as tf

from tf_models import storage
from tf_models.data.tokenizers import WordPieceTokenizer, train_wordpiece_vocabulary
from tf_models.export import export_saved_model, write_models_config
from tf_models.jobs.run_folder import (
    ResumeMismatch,
    check_resume,
    read_fingerprint,
    result_options,
    write_fingerprint,
)
from tf_models.training.watchdog import remove_on_timeout
from tf_models.training import (
    check_devices,
    broadcast_from_chief,
    check_jit_compile,
    check_workers_agree,
    cpu_has_bfloat16_units,
    fit_resumable,
    is_chief,
    is_multi_worker,
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
        if advice and not isinstance(error, FloatingPointError):  # a divergence carries its own advice
            print(f"[{name}] {advice}", flush=True)
        raise
    print(f"[{name}] done in {time.time() - started:.0f}s", flush=True)


DATA_ADVICE = "check the source and paths, or run `apt-get update` for Debian sources"


def start_run(job):
    """Strategy (first: a multi-worker one needs that), seeds, the output
    folder, the resolved config and the dtype policy.

    A start resumes the interrupted run its folder's `backup/` holds, if
    the options that change the result are the same (`ResumeMismatch`
    otherwise); `job.restart` discards that backup. Under several workers
    only the chief writes into `job.output_dir`; the others get a temporary
    folder of their own (`finish_worker` removes it).

    Returns:
        `(output_dir, strategy)`.
    """
    backup = backup_folder(job)
    if not job.restart and is_resuming(job):  # before any slow work: a mismatch is a one-line error
        check_resume(backup, result_options(job))
    strategy = select_strategy(job.strategy, worker_timeout=job.worker_timeout)
    # Before any work: the command line prints these ValueErrors as one line.
    gpus = tf.config.list_physical_devices("GPU")
    check_devices(job.strategy, job.precision, len(gpus), isinstance(strategy, tf.distribute.TPUStrategy),
                  cpu_bfloat16=cpu_has_bfloat16_units())
    check_jit_compile(job.jit_compile, strategy)
    keras.utils.set_random_seed(job.seed)
    chief = is_chief(strategy)
    output_dir = Path(job.output_dir) if chief else Path(tempfile.mkdtemp(prefix="tf_models_worker_"))
    output_dir.mkdir(parents=True, exist_ok=True)
    if not chief:  # gone however the worker ends: an error, a worker timeout, the end
        atexit.register(shutil.rmtree, output_dir, ignore_errors=True)
        remove_on_timeout(output_dir)
    else:
        storage.remove_leftovers(output_dir)  # a killed writer's, never a file in use: the folder is locked
        if job.restart or not is_resuming(job):
            # A fresh start owns the folder: nothing of an earlier run's training is kept.
            shutil.rmtree(backup, ignore_errors=True)
            for name in ("best.keras", "best.json", "history.csv", "results.json"):
                (output_dir / name).unlink(missing_ok=True)
    config = {"job": type(job).__name__, **dataclasses.asdict(job)}
    storage.write_json(output_dir / "config.json", config)
    with strategy.scope():
        policy = select_policy(job.precision, strategy)
    try:
        devices = ", ".join(strategy.extended.worker_devices)
    except RuntimeError:  # the default strategy: TensorFlow's own placement, the first GPU if any
        devices = "/gpu:0" if gpus else "/cpu:0"
    name = type(strategy).__name__
    if is_multi_worker(strategy):
        name = "MultiWorkerMirroredStrategy"  # its class is CollectiveAllReduceStrategy
        resolver = strategy.cluster_resolver
        workers = len(resolver.cluster_spec().as_dict().get("worker", []))
        role = "chief" if is_chief(strategy) else "not the chief: files in a temporary folder"
        devices = f"{resolver.task_type} {resolver.task_id} of {workers} ({role}), this one on {devices}"
    print(f"output: {output_dir}  strategy: {name} ({strategy.num_replicas_in_sync} "
          f"replica(s): {devices})  precision: {policy.name}")
    return output_dir, strategy


def fit(job, model, make_train_data, output_dir, steps_per_epoch, epochs, validation_data=None, monitor="val_loss",
        vocabulary=None, callbacks=()):
    """Trains `model` as every job does: `fit_resumable` (backups every
    `job.backup_every` steps in `<job.output_dir>/backup`, exact resumption),
    the callbacks of `training_callbacks`, progress as `job.verbose` says.

    Args:
        job: the job (its options).
        model: the compiled model.
        make_train_data: a function returning the training batches,
            shuffled with the job's seed (see `fit_resumable`).
        output_dir: this process' output folder (`start_run`'s).
        steps_per_epoch: batches per epoch.
        epochs: epochs in all.
        validation_data: batches scored at each epoch's end.
        monitor: the metric that picks `best.keras`.
        vocabulary: the tokenizer's tokens; several workers check they agree.
        callbacks: more Keras callbacks that write files (the chief's only).
    """
    strategy = model.distribute_strategy
    if is_multi_worker(strategy) and vocabulary is not None:
        check_workers_agree(strategy, "vocabulary", list(vocabulary))
    chief = is_chief(strategy)
    resume = is_resuming(job)
    if chief and not resume:  # kept with the backups, to refuse a resume with other settings
        write_fingerprint(backup_folder(job), result_options(job), vocabulary_hash(vocabulary))
    if resume:
        check_vocabulary(backup_folder(job), vocabulary_hash(vocabulary))
    callbacks = (training_callbacks(output_dir, monitor=monitor, write_files=chief, resume=resume)
                 + (list(callbacks) if chief else []))
    # The chief's backup goes once the run's results are in place (`finish_run`).
    return fit_resumable(
        model, make_train_data, steps_per_epoch, epochs, backup_folder(job), backup_every=job.backup_every,
        callbacks=callbacks, validation_data=validation_data,
        verbose=progress_verbosity(job.verbose) if chief else 0, delete_backup=not chief,
    )


def is_resuming(job):
    """Whether `job.output_dir` holds an interrupted run to resume."""
    return tf.train.latest_checkpoint(str(backup_folder(job))) is not None


def check_vocabulary(backup_dir, sha256):
    """Raises `ResumeMismatch` unless the tokenizer's vocabulary (its hash
    `sha256`) is the one the backup in `backup_dir` was trained with."""
    expected = backup_vocabulary_hash(backup_dir)
    if expected is not None and sha256 != expected:
        raise ResumeMismatch(
            f"{backup_dir} was trained with another vocabulary than this run's tokenizer files (vocab.txt or "
            "characters.json were changed or damaged): restore them, or start afresh with --restart.")


def backup_vocabulary_hash(backup_dir):
    """The `vocabulary_hash` the backup in `backup_dir` was trained with (None when unknown)."""
    return (read_fingerprint(backup_dir) or {}).get("vocabulary_sha256")


def vocabulary_hash(vocabulary):
    """A SHA-256 of the tokens (None for none), to tell one vocabulary from another."""
    if vocabulary is None:
        return None
    return hashlib.sha256("\n".join(vocabulary).encode("utf-8")).hexdigest()


def finish_worker(output_dir, strategy):
    """Where a worker other than the chief stops: after training, before
    evaluation (the chief's alone). Removes its temporary folder; returns `{}`."""
    if is_chief(strategy):
        raise ValueError("finish_worker is for the workers other than the chief")
    shutil.rmtree(output_dir, ignore_errors=True)
    print("training done; the chief evaluates and writes the run's files", flush=True)
    return {}


def evaluation_model(model, path):
    """The trained model to evaluate. Under several workers, the chief's copy
    reloaded from `path` outside the strategy: a distributed model's
    predictions would wait for the workers that have stopped."""
    if is_multi_worker(model.distribute_strategy):
        return keras.saving.load_model(path)
    return model


def finish_run(output_dir, results):
    """Writes `results.json`, then removes the backup a kill before this
    point would have resumed from; returns `results`."""
    storage.write_json(Path(output_dir) / "results.json", results)
    shutil.rmtree(Path(output_dir) / "backup", ignore_errors=True)
    print(f"results: {Path(output_dir) / 'results.json'}")
    return results


def compile_options(job):
    """The `Model.compile` arguments every job takes from its flags."""
    return {"jit_compile": job.jit_compile, "steps_per_execution": job.steps_per_execution}


def backup_folder(job):
    """Where a job's training state is backed up: `<output_dir>/backup`, on
    the storage every worker shares."""
    return Path(job.output_dir) / "backup"


def learn_wordpiece_tokenizer(job, output_dir, strategy, texts, **kwargs):
    """The run's WordPiece tokenizer: one vocabulary for every worker and
    every try of the run, saved in `output_dir`.

    The same text gives the same vocabulary in every process
    (`train_wordpiece_vocabulary`). Still, a run started again after a kill
    reads the vocabulary its backup was trained with (the weights in the
    backup only make sense with it, whatever version of the learner runs
    now), and several workers take the chief's.

    Args:
        job: the job (`output_dir`, `vocabulary_size`).
        output_dir: this process' output folder (`start_run`'s).
        strategy: the run's strategy.
        texts: the training text.
        **kwargs: more `train_wordpiece_vocabulary` arguments.
    """
    saved = Path(job.output_dir) / "vocab.txt"
    vocabulary = None
    if saved.exists() and is_resuming(job):
        kept = saved.read_text(encoding="utf-8").rstrip("\n").split("\n")  # as WordPieceTokenizer reads it
        expected = backup_vocabulary_hash(backup_folder(job))
        if expected in (None, vocabulary_hash(kept)):
            vocabulary = kept
            print(f"vocabulary: {saved}, as the backup was trained with it")
    if vocabulary is None:
        # The learner gives the same vocabulary in every process: a damaged
        # vocab.txt is learned again, and `fit` checks it against the backup's.
        vocabulary = broadcast_from_chief(strategy, train_wordpiece_vocabulary(texts, job.vocabulary_size, **kwargs))
    path = Path(output_dir) / "vocab.txt"
    _write_if_changed(path, "\n".join(vocabulary) + "\n")
    tokenizer = WordPieceTokenizer(path, lower_case=kwargs.get("lower_case", True))
    save_tokenizer(tokenizer, output_dir)
    return tokenizer


def save_tokenizer(tokenizer, output_dir):
    """Writes what defines a run's WordPiece tokenizer: `vocab.txt` and
    `tokenizer_config.json` (the casing), each atomically and only if it
    changed, so a resume never rewrites the vocabulary its backup needs."""
    _write_if_changed(Path(output_dir) / "vocab.txt", "\n".join(tokenizer.vocabulary) + "\n")
    _write_if_changed(Path(output_dir) / "tokenizer_config.json",
                      json.dumps({"lower_case": tokenizer.lower_case}) + "\n")


def _write_if_changed(path, text):
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        storage.write_text(path, text)


def run_tokenizer(run_dir):
    """The WordPiece tokenizer a finished run trained with."""
    config = Path(run_dir) / "tokenizer_config.json"
    if not config.exists():
        raise ValueError(f"{run_dir} has no tokenizer_config.json: it was made by an older version of tf_models, "
                         "whose run folders this one does not read: run the job again.")
    return WordPieceTokenizer(Path(run_dir) / "vocab.txt", lower_case=json.loads(config.read_text())["lower_case"])


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
