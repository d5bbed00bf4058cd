"""The corpus cache and the one way files get into it: a cached download."""

import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from tf_models.data.records import CorpusError

logger = logging.getLogger(__name__)

CACHE_ENVIRONMENT_VARIABLE = "TF_MODELS_CACHE"


def cache_dir():
    """The folder where downloaded and unpacked corpora are kept.

    Example:
    >>> from unittest import mock
    >>> with mock.patch.dict("os.environ", {"TF_MODELS_CACHE": "/data/corpora"}):
    ...     print(cache_dir())
    /data/corpora
    """
    configured = os.environ.get(CACHE_ENVIRONMENT_VARIABLE)
    return Path(configured) if configured else Path.home() / ".cache" / "tf_models"


def _download(url, path):
    """Fetches `url` into `path` through a temporary file, so no half file is left."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            with urllib.request.urlopen(url, timeout=60) as response:
                shutil.copyfileobj(response, file)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def cached_download(url, path, what, unpack=None):
    """Makes `path` hold the file from `url`, downloading it only if absent.

    Args:
        url: where the file comes from.
        path: where it lives in the cache (see `cache_dir`).
        what: the files a user can provide instead, for the error message.
        unpack: optional `unpack(downloaded, path)` that turns the downloaded
            file (e.g. a `.gz` or `.zip`) into `path` and whatever else
            belongs beside it; the download itself is removed afterwards.

    Returns:
        `path`.

    Raises:
        CorpusError: when the download fails, saying what to pass instead.

    Example:
    >>> path = cache_dir() / "squad" / "dev-v1.1.json"
    >>> cached_download("https://rajpurkar.github.io/SQuAD-explorer/dataset/dev-v1.1.json",
    ...                 path, "dev-v1.1.json")  # doctest: +SKIP
    PosixPath('/root/.cache/tf_models/squad/dev-v1.1.json')
    """
    path = Path(path)
    if path.is_file():
        return path
    # A name of this process' own: two processes filling one cache never
    # write into each other's file (the last rename wins, whole).
    unique = f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.download"
    downloaded = path if unpack is None else path.with_name(unique)
    logger.info("downloading %s into %s", url, downloaded)
    try:
        _download(url, downloaded)
    except (OSError, urllib.error.URLError) as error:
        raise CorpusError(
            f"could not download {url} ({error}); without internet, pass data_dir= a folder "
            f"that holds {what}"
        ) from error
    if unpack is not None:
        try:
            unpack(downloaded, path)
        finally:
            downloaded.unlink(missing_ok=True)
    return path


def require_files(folder, names, what):
    """Raises `CorpusError` naming the files of `names` missing from `folder`."""
    folder = Path(folder)
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        present = sorted(path.name for path in folder.glob("*")) if folder.is_dir() else []
        raise CorpusError(
            f"{folder}: missing {', '.join(missing)} of {what}; the folder holds "
            f"{', '.join(present) if present else 'nothing'}"
        )
