"""R's lazy-load data bases: the format in which R packages (and so Debian's
`r-cran-*` packages) ship their data sets."""

import bz2
import lzma
import struct
import zlib
from pathlib import Path

from tf_models.data.records import CorpusError

# --------------------------------------------------------- R lazy-load data

# R's lazy-load data bases ("<name>.rdx" + "<name>.rdb", R's
# src/main/serialize.c and makeLazyLoadDB): the .rdx file is an ordinary
# gzip-compressed RDS file holding list(variables = list(<name> = c(offset,
# length)), references = ..., compressed = ...). Each object is stored in the
# .rdb at that offset: a 4-byte big-endian uncompressed length, then
#   compressed == 1 (TRUE): a zlib stream;
#   compressed 2 or 3: a type byte and the data: '1' zlib, '2' bzip2,
#   'Z' a raw LZMA2 stream (xz preset 6, R's choice), '0' stored as is.
# The decompressed bytes are an RDS stream that `rdata` parses.
_R_LZMA_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 6}]


def _r_decompress(blob, compressed):
    if not compressed:
        return blob
    (length,) = struct.unpack(">I", blob[:4])
    if compressed == 1:
        data = zlib.decompress(blob[4:])
    else:
        kind, payload = blob[4:5], blob[5:]
        if kind == b"Z":
            decompressor = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=_R_LZMA_FILTERS)
            data = decompressor.decompress(payload)
        elif kind == b"2":
            data = bz2.decompress(payload)
        elif kind == b"1":
            data = zlib.decompress(payload)
        elif kind == b"0":
            data = payload
        else:
            raise CorpusError(f"unknown R compression type {kind!r}")
    if len(data) != length:
        raise CorpusError(f"R object decompressed to {len(data)} bytes, expected {length}")
    return data


def _r_convert(parsed):
    import rdata  # imported here: it brings pandas, which only R data needs

    # Tibbles are data frames to Python; naming them avoids rdata's warnings.
    dataframe = rdata.conversion.DEFAULT_CLASS_MAP["data.frame"]
    constructors = {**rdata.conversion.DEFAULT_CLASS_MAP, "tbl_df": dataframe, "tbl": dataframe}
    return rdata.conversion.convert(parsed, constructors)


def read_r_lazyload(path, name=None):
    """Reads objects from an R lazy-load data base (`<path>.rdx` and `<path>.rdb`).

    R packages store their data sets this way (`data/Rdata.rdx` and
    `data/Rdata.rdb`); the `rdata` package reads RDS streams but not the
    data base around them, which this function unpacks.

    Args:
        path: the common path of the two files, without extension, e.g.
            `.../site-library/janeaustenr/data/Rdata`.
        name: the object to read; `None` lists the names instead.

    Returns:
        The object converted by `rdata` (character vectors become NumPy
        string arrays, data frames and tibbles pandas `DataFrame`s, factors
        pandas `Categorical`s), or a sorted list of names when `name` is None.

    Raises:
        CorpusError: when the files are missing or `name` is not in them.

    Example:
    >>> read_r_lazyload("/usr/lib/R/site-library/janeaustenr/data/Rdata")  # doctest: +SKIP
    ['emma', 'mansfieldpark', 'northangerabbey', 'persuasion', 'prideprejudice', 'sensesensibility']
    """
    import rdata

    path = Path(path)
    index_path, data_path = path.with_name(path.name + ".rdx"), path.with_name(path.name + ".rdb")
    try:
        index = _r_convert(rdata.parser.parse_data(index_path.read_bytes(), extension=".rds"))
    except OSError as error:
        raise CorpusError(f"{index_path}: cannot read ({error.strerror or error})") from error
    variables = {str(key): value for key, value in index["variables"].items()}
    if name is None:
        return sorted(variables)
    if name not in variables:
        names = ", ".join(sorted(variables))
        raise CorpusError(f"{index_path}: no object {name!r}; it holds {names}")
    offset, length = (int(value) for value in variables[name])
    with open(data_path, "rb") as file:
        file.seek(offset)
        blob = file.read(length)
    compressed = int(index["compressed"][0]) if "compressed" in index else 1
    return _r_convert(rdata.parser.parse_data(_r_decompress(blob, compressed), extension=".rds"))
