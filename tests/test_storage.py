"""Files that are whole or absent: a failed write leaves the old file, no
temporary file, and the mode a plain `open()` would give."""

import errno
import os
import stat

import pytest

from tf_models import storage


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    storage.write_json(path, {"accuracy": 0.5})

    def full_disk(temporary, target):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage, "_commit", full_disk)
    with pytest.raises(OSError):
        storage.write_json(path, {"accuracy": 0.9})
    assert path.read_text() == '{\n  "accuracy": 0.5\n}\n' and os.listdir(tmp_path) == ["results.json"]


def test_files_get_the_mode_open_gives_not_mkstemps(tmp_path):
    umask = os.umask(0o022)
    try:
        storage.FILE_MODE = storage._default_mode()
        storage.write_text(tmp_path / "vocab.txt", "[PAD]\n")
        assert stat.S_IMODE((tmp_path / "vocab.txt").stat().st_mode) == 0o644  # readable by a server's user
    finally:
        os.umask(umask)
        storage.FILE_MODE = storage._default_mode()


def test_leftovers_of_a_killed_writer_are_removed(tmp_path):
    (tmp_path / ".tmp-abc-best.keras").write_bytes(b"half")
    (tmp_path / "best.keras").write_bytes(b"whole")
    storage.remove_leftovers(tmp_path)
    assert os.listdir(tmp_path) == ["best.keras"]
