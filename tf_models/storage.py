"""Files that are either whole or absent: never half-written.

A run is killed, a disk fills up, a notebook is interrupted: whatever was
being written at that moment must not be read back later as if it were
complete. Every file a later step trusts (a run's `config.json`,
`results.json`, `vocab.txt`, its models, `models.config`) is therefore
written to a temporary file in the same folder, flushed to disk, then
renamed over its final name: `os.replace` within one file system is atomic,
so a reader sees the old file or the new one, never a mix. A kill leaves at
most a `.tmp-*` file behind, which `remove_leftovers` clears.

Example:
>>> import tempfile
>>> from pathlib import Path
>>> path = Path(tempfile.mkdtemp()) / "results.json"
>>> write_json(path, {"accuracy": 0.5})
>>> path.read_text()
'{\\n  "accuracy": 0.5\\n}\\n'
"""

import contextlib
import json
import os
import tempfile
from pathlib import Path

TEMPORARY_PREFIX = ".tmp-"


def _default_mode():
    # What `open()` would give a new file: mkstemp's 0600 would hide the run's
    # files from a server or a colleague running as another user.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _default_mode()


def _commit(temporary, path):
    """Moves the finished `temporary` file onto `path` (one place, so that
    tests can inject a failure into every write)."""
    with open(temporary, "rb") as file:
        os.fsync(file.fileno())  # the data on disk before the name points at it
    os.replace(temporary, path)
    try:
        folder = os.open(path.parent, os.O_RDONLY)
    except OSError:  # some file systems do not open folders
        return
    try:
        os.fsync(folder)  # the rename itself on disk
    finally:
        os.close(folder)


@contextlib.contextmanager
def atomic_path(path):
    """A temporary path beside `path` to write to; when the block ends
    without error, the file written there replaces `path` in one step.

    The temporary name ends with `path`'s name, so that writers that check
    the suffix (`model.save` wants `.keras`, `save_weights` `.weights.h5`)
    accept it.

    Args:
        path: the file to (re)write; its folder is created if needed.

    Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "vocab.txt"
    >>> with atomic_path(path) as temporary:
    ...     _ = temporary.write_text("[PAD]\\n")
    >>> path.read_text()
    '[PAD]\\n'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, suffix=f"-{path.name}", dir=path.parent)
    os.close(descriptor)
    os.chmod(temporary, FILE_MODE)
    try:
        yield Path(temporary)
        _commit(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_text(path, text):
    """Writes `text` to `path` atomically.

    Args:
        path: the file.
        text: a string, written as UTF-8.
    """
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_json(path, value):
    """Writes `value` as indented JSON to `path` atomically.

    Args:
        path: the file.
        value: anything `json.dumps` takes.
    """
    write_text(path, json.dumps(value, indent=2) + "\n")


def save_model(model, path):
    """`model.save(path)`, atomically: a kill never leaves half a `.keras` file.

    Args:
        model: a Keras model.
        path: a `.keras` file.
    """
    with atomic_path(path) as temporary:
        model.save(temporary)


def save_weights(model, path):
    """`model.save_weights(path)`, atomically.

    Args:
        model: a Keras model.
        path: a `.weights.h5` file.
    """
    with atomic_path(path) as temporary:
        model.save_weights(temporary)


def remove_leftovers(folder):
    """Removes the temporary files a killed writer left in `folder`.

    Only call it while no other process writes there (under the run's lock).

    Args:
        folder: the folder to clear.
    """
    for leftover in Path(folder).glob(f"{TEMPORARY_PREFIX}*"):
        leftover.unlink(missing_ok=True)
