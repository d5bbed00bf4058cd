"""One run per folder, and a resume only of the run that was interrupted.

A run folder holds one run's files and, while it trains, its `backup/`.
Two things would mix two runs in it:

* two processes started into one `--output-dir` (a typo, the same command
  in a second terminal). `RunFolderLock` takes an exclusive `fcntl` lock
  on `<folder>/.lock` for as long as the job runs; the operating system
  releases it when the process ends, however it ends, so a killed run never
  leaves the folder locked. Workers of one multi-worker run share the
  folder: each locks its own role (`.lock` for the chief, `.lock-worker-1`
  for worker 1, ...).
* a start with other settings than the run it resumes. The backup keeps
  the run's fingerprint (every option that changes the result); a start
  with different ones is refused with the list, unless `--restart` says to
  discard the backup.

This module imports no TensorFlow.

Example:
>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> with RunFolderLock(folder):
...     try:
...         RunFolderLock(folder).acquire()
...     except RunFolderBusy as error:
...         print("busy")
busy
"""

import dataclasses
import fcntl
import json
import os
import socket
import time
from pathlib import Path

from tf_models.storage import write_json

FINGERPRINT_FILE = "fingerprint.json"


class RunFolderBusy(ValueError):
    """Another process is running a job in this folder."""


class ResumeMismatch(ValueError):
    """A backup was made by a run with other settings than this start's."""


class RunFolderLock:
    """An exclusive lock on a run folder for this process' role, held until
    `release()` (or the process' end).

    Args:
        folder: the run folder (created if needed).
        role: `""` for the process that writes the folder (the chief),
            e.g. `"worker 1"` for another worker of the same run.
    """

    def __init__(self, folder, role=""):
        self.folder = Path(folder)
        self.role = role
        suffix = "-" + role.replace(" ", "-") if role else ""
        self.path = self.folder / f".lock{suffix}"
        self._descriptor = None

    def acquire(self):
        """Takes the lock, or raises `RunFolderBusy` naming its holder."""
        self.folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(descriptor, 4096).decode("utf-8", "replace").strip() or "another process"
            os.close(descriptor)
            raise RunFolderBusy(
                f"{self.folder} is in use by another run ({holder}); wait for it to end, stop it, or give this "
                "run another --output-dir") from None
        # Who holds it, for the message another start prints.
        holder = f"process {os.getpid()} on {socket.gethostname()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}"
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, holder.encode(), 0)
        self._descriptor = descriptor
        return self

    def release(self):
        """Gives the lock back (closing the file releases it)."""
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()


def result_options(job):
    """The options of `job` that change its result: what a backup's
    fingerprint keeps.

    Args:
        job: a job config (a dataclass with `resume_safe_options`).

    Returns:
        `{name: value}` of every option but `job.resume_safe_options`, by name.
    """
    return {name: value for name, value in sorted(dataclasses.asdict(job).items())
            if name not in job.resume_safe_options}


def write_fingerprint(backup_dir, options, vocabulary_sha256=None):
    """Keeps a run's fingerprint with its backups, before the first is taken.

    Args:
        backup_dir: the run's backup folder.
        options: the run's `result_options`.
        vocabulary_sha256: the hash of its tokenizer's vocabulary, if any.
    """
    write_json(Path(backup_dir) / FINGERPRINT_FILE, {"options": options, "vocabulary_sha256": vocabulary_sha256})


def read_fingerprint(backup_dir):
    """`{"options": ..., "vocabulary_sha256": ...}` kept with a backup, or None."""
    path = Path(backup_dir) / FINGERPRINT_FILE
    return json.loads(path.read_text()) if path.exists() else None


def check_resume(backup_dir, options):
    """Refuses a resume whose options differ from the backup's.

    Args:
        backup_dir: the run's backup folder.
        options: this start's `result_options`.

    Raises:
        ResumeMismatch: listing each option that differs (before -> now).

    Example:
    >>> import tempfile
    >>> backup = tempfile.mkdtemp()
    >>> write_fingerprint(backup, {"seed": 0, "batch_size": 4})
    >>> check_resume(backup, {"seed": 0, "batch_size": 4})
    >>> check_resume(backup, {"seed": 5, "batch_size": 4})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tf_models.jobs.run_folder.ResumeMismatch: ... --seed 0 -> 5. ...
    """
    saved = read_fingerprint(backup_dir)
    if saved is None:
        return
    saved = saved["options"]
    # A JSON round trip, so that tuples and lists compare equal.
    options = json.loads(json.dumps(options))
    differing = [f"--{name.replace('_', '-')} {_flag(saved.get(name))} -> {_flag(options.get(name))}"
                 for name in sorted(set(saved) | set(options)) if saved.get(name) != options.get(name)]
    if differing:
        raise ResumeMismatch(
            f"{backup_dir} holds an interrupted run with other settings: {'; '.join(differing)}. Start it again "
            "with its own settings to resume it, or add --restart to discard its backup and start afresh.")


def _flag(value):
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)
