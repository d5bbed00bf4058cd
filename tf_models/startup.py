"""Importing TensorFlow without its C++ start-up log lines.

TensorFlow 2.21 logs a few lines from C++ while its shared libraries load,
twice (two libraries each hold a copy of absl's logging):

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:1796502838.407386    4421 port.cc:153] oneDNN custom operations are on. ...
    I0000 00:00:1796502838.416278    4421 cudart_stub.cc:31] Could not find cuda drivers on your machine, ...

They come before absl's logging is initialised, when absl writes every
message to stderr whatever its severity, so `TF_CPP_MIN_LOG_LEVEL` does not
filter them (it does filter everything TensorFlow logs later; see
tensorflow/tensorflow#100442). In a notebook they land in the first cell's
output, since the kernel forwards what C code writes to file descriptor 2.
`import_tensorflow` imports TensorFlow with that descriptor read into a
file, then writes back every line except the banner and the log lines below
`TF_CPP_MIN_LOG_LEVEL`, so the setting applies to the start-up lines too and
nothing else is hidden. This module imports nothing heavy itself.
"""

import contextlib
import importlib
import os
import re
import sys
import tempfile

_BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# absl's "I0000 00:00:1796502838.407386    4421 port.cc:153] ..." and TensorFlow's own
# "2025-09-17 14:44:05.157831: I external/.../cudart_stub.cc:32] ..."; the letter is the severity.
_LOG_LINE = re.compile(r"^(?:([IWEF])\d{4} [\d:.]+\s+\d+ |\d{4}-\d\d-\d\d [\d:.]+: ([IWEF]) )\S+:\d+\] ")
_SEVERITIES = "IWEF"  # TF_CPP_MIN_LOG_LEVEL 0, 1, 2, 3


def keep_log_line(line, min_log_level):
    """Whether a line TensorFlow wrote while loading passes `min_log_level`.

    Args:
        line: one line of what was written to stderr.
        min_log_level: `TF_CPP_MIN_LOG_LEVEL` as an int: 0 keeps all
            severities, 1 drops INFO, 2 also WARNING, 3 also ERROR.

    Example:
    >>> keep_log_line("I0000 00:00:1796502838.416278    4421 cudart_stub.cc:31] Could not find cuda drivers", 3)
    False
    >>> keep_log_line("E0000 00:00:1796502838.416278    4421 cuda_dnn.cc:8579] Unable to register cuDNN", 1)
    True
    >>> keep_log_line("UserWarning: anything that is not a log line is kept", 3)
    True
    """
    if line.rstrip("\n") == _BANNER:
        return False
    match = _LOG_LINE.match(line)
    if match is None:
        return True
    return _SEVERITIES.index(match.group(1) or match.group(2)) >= min_log_level


@contextlib.contextmanager
def filtered_native_stderr(min_log_level):
    """Within the block, what is written to file descriptor 2 (C code, and
    Python's `sys.stderr` where it writes there) is held back; at its end the
    lines `keep_log_line` keeps are written, in order.

    Args:
        min_log_level: as `keep_log_line`'s.

    Example:
    >>> with filtered_native_stderr(3):
    ...     _ = os.write(2, b"I0000 00:00:17.5 1 port.cc:153] oneDNN custom operations are on.\\n")
    """
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 (a detached process): nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as held:
        sys.stderr.flush()
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines = held.read().decode(errors="replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if keep_log_line(line, min_log_level))
            if kept:
                os.write(2, kept.encode())


def import_tensorflow(min_log_level="3"):
    """Imports TensorFlow, its C++ start-up lines filtered by `TF_CPP_MIN_LOG_LEVEL`.

    Call it before anything imports TensorFlow (Keras, tf_models' models):
    it sets `TF_CPP_MIN_LOG_LEVEL` unless the environment does, which holds
    back TensorFlow's later C++ logs as well. Where TensorFlow is already
    imported it only returns it.

    Args:
        min_log_level: `TF_CPP_MIN_LOG_LEVEL` unless the environment sets it:
            "3" keeps only fatal errors, "2" errors too, "0" everything.

    Returns:
        The `tensorflow` module.

    Example:
    >>> tf = import_tensorflow()
    >>> tf.__name__
    'tensorflow'
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", min_log_level)
    try:
        level = int(os.environ["TF_CPP_MIN_LOG_LEVEL"])
    except ValueError:  # TensorFlow reads an unparsable level as 0
        level = 0
    with filtered_native_stderr(level):
        return importlib.import_module("tensorflow")
