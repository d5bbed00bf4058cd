"""R lazy-load data bases, written here the way R writes them."""

import bz2
import lzma
import struct
import zlib

import numpy as np
import pytest

from tf_models.data.r_data import read_r_lazyload
from tf_models.data.records import CorpusError


def compress_like_r(serialized, compressed, kind=None):
    """Stores one object as R's lazyLoadDBinsertValue does."""
    header = struct.pack(">I", len(serialized))
    if compressed == 1:
        return header + zlib.compress(serialized)
    packers = {
        b"Z": lambda data: lzma.compress(
            data, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "preset": 6}]
        ),
        b"2": bz2.compress,
        b"1": zlib.compress,
        b"0": lambda data: data,
    }
    return header + kind + packers[kind](serialized)


@pytest.mark.parametrize(
    "compressed, kind", [(1, None), (3, b"Z"), (2, b"2"), (3, b"1"), (3, b"0")]
)
def test_read_r_lazyload(tmp_path, compressed, kind):
    rdata = pytest.importorskip("rdata")
    # A character vector (how janeaustenr stores a novel) and a numeric one.
    objects = {"novel": np.array(["CHAPTER 1", "", "It began."]), "scores": np.array([1.5, 2.5])}
    blobs, variables, offset = [], {}, 0
    for name, value in objects.items():
        rdata.write_rds(tmp_path / f"{name}.rds", value, compression=None)
        blob = compress_like_r((tmp_path / f"{name}.rds").read_bytes(), compressed, kind)
        variables[name] = np.array([offset, len(blob)], np.int32)
        blobs.append(blob)
        offset += len(blob)
    (tmp_path / "Rdata.rdb").write_bytes(b"".join(blobs))
    flag = np.array([compressed], np.int32)
    index = {"variables": variables, "references": {}, "compressed": flag}
    rdata.write_rds(tmp_path / "Rdata.rdx", index)  # gzip, as R writes it

    database = tmp_path / "Rdata"
    assert read_r_lazyload(database) == ["novel", "scores"]
    assert read_r_lazyload(database, "novel").tolist() == ["CHAPTER 1", "", "It began."]
    assert read_r_lazyload(database, "scores").tolist() == [1.5, 2.5]
    with pytest.raises(CorpusError, match="no object 'poems'; it holds novel, scores"):
        read_r_lazyload(database, "poems")
