"""The corpus cache and its one download helper, offline: fake or file:// responses."""

import gzip
import io
import urllib.error
import zipfile
from pathlib import Path

import pytest

from tf_models.data import downloads, sources
from tf_models.data.records import CorpusError


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(downloads.CACHE_ENVIRONMENT_VARIABLE, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_cache_dir_default_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv(downloads.CACHE_ENVIRONMENT_VARIABLE, raising=False)
    assert downloads.cache_dir() == Path.home() / ".cache" / "tf_models"
    monkeypatch.setenv(downloads.CACHE_ENVIRONMENT_VARIABLE, str(tmp_path))
    assert downloads.cache_dir() == tmp_path


def test_cannot_download(cache, monkeypatch):
    def offline(url, path):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(downloads, "_download", offline)
    message = r"could not download https://raw\.githubusercontent\.com/multi30k/.*train\.en\.gz"
    with pytest.raises(CorpusError, match=message + r" .*pass data_dir="):
        sources.multi30k(split="train")
    with pytest.raises(CorpusError, match=r"could not download https://dl\.fbaipublicfiles\.com/"):
        sources.sst2(split="dev")


def test_download_leaves_no_partial_file(tmp_path):
    # file:// URLs go through the same urllib code as https:// ones, offline.
    remote = tmp_path / "remote.txt"
    remote.write_text("data")
    downloads._download(remote.as_uri(), tmp_path / "cache" / "copy.txt")
    assert (tmp_path / "cache" / "copy.txt").read_text() == "data"
    with pytest.raises(urllib.error.URLError):
        downloads._download((tmp_path / "missing.txt").as_uri(), tmp_path / "cache" / "other.txt")
    assert [path.name for path in (tmp_path / "cache").iterdir()] == ["copy.txt"]


def test_downloads_land_in_the_cache_once(cache, monkeypatch):
    """The download code, run against fake responses: gunzip, unzip, reuse."""
    fetched = []

    def fake_download(url, path):
        fetched.append(url.rsplit("/", 1)[1])
        path.parent.mkdir(parents=True, exist_ok=True)
        if url.endswith(".zip"):  # GLUE's layout: no labels in test.tsv
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                archive.writestr("SST-2/train.tsv", "sentence\tlabel\ngreat fun \t1\n")
                archive.writestr("SST-2/dev.tsv", "sentence\tlabel\nboring \t0\n")
                archive.writestr("SST-2/test.tsv", "index\tsentence\n0\twho knows\n")
            path.write_bytes(buffer.getvalue())
        else:
            language = url[-5:-3]
            path.write_bytes(gzip.compress({"en": b"A dog.\n", "de": b"Ein Hund.\n"}[language]))

    monkeypatch.setattr(downloads, "_download", fake_download)
    for _ in range(2):
        assert sources.multi30k(split="val") == [("A dog.", "Ein Hund.")]
        data = sources.sst2(split="train")
        assert (data.texts, data.labels) == ((("great fun",),), (1,))
    assert fetched == ["val.en.gz", "val.de.gz", "SST-2.zip"]
    assert sorted(p.name for p in (cache / "multi30k").iterdir()) == ["val.de", "val.en"]
    assert sorted(p.name for p in (cache / "sst2").iterdir()) == [
        "dev.tsv", "test.tsv", "train.tsv"
    ]
    with pytest.raises(CorpusError, match=r"test\.tsv, line 1: missing column\(s\) 'label'"):
        sources.sst2(split="test")


def test_two_processes_downloading_into_one_cache_use_files_of_their_own(cache, monkeypatch):
    """Each download lands in a temporary name of its own before its rename:
    a second process filling the same cache never writes into the first's."""
    targets = []

    def fake_download(url, path):
        targets.append(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(b"A dog.\n"))

    monkeypatch.setattr(downloads, "_download", fake_download)
    for _ in range(2):  # as two processes would, each finding the file absent
        downloads.cached_download("https://example.org/val.en.gz", cache / "a" / "val.en", "val.en",
                                  unpack=sources._gunzip)
        (cache / "a" / "val.en").unlink()
    assert len(set(targets)) == 2 and all(path.parent == cache / "a" for path in targets)
    assert list((cache / "a").iterdir()) == []  # no download or part left behind
