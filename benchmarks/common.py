"""What every benchmark shares: one timer and one layout of its JSON results.

`timed` repeats a call after warm-up calls and reports the median of the
repeats and their range. `write_results` writes a benchmark's results as

    {
      "benchmark": "decoding",
      "date": "2026-12-05T10:31:02+01:00",
      "machine": {"cpu": "Intel(R) Xeon(R) ...", "cores": 2, "python": "3.11.9",
                  "tensorflow": "2.21.0", "keras": "3.15.1", "keras_hub": "0.32.0"},
      "settings": {...what the command was asked to do...},
      "rows": [{...one measurement...}, ...],
      ...sections of the benchmark's own (a summary, a curve)
    }

so that a number can be traced to the machine, the versions and the
settings that gave it. Files written before this layout (a bare list of
rows, or a dict without `benchmark`) stay in `benchmarks/results/`;
`read_rows` reads both.
"""

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import NamedTuple

# The header every results file starts with; a benchmark's own sections
# come after it and may not reuse these names.
HEADER = ("benchmark", "date", "machine", "settings", "rows")


class Timing(NamedTuple):
    """Seconds per call of a timed function: the median over the repeats,
    and the fastest and slowest repeat."""

    median: float
    min: float
    max: float
    repeats: int

    def per(self, count):
        """The timing of one of `count` equal pieces of work done by each
        call (the steps of a block, the batches of a pass)."""
        return Timing(self.median / count, self.min / count, self.max / count, self.repeats)

    def fields(self, name):
        """The timing as fields of a result row: `{name: median,
        name_min: min, name_max: max}`."""
        return {name: self.median, f"{name}_min": self.min, f"{name}_max": self.max}


def timed(function, repeats=3, warmup=1, clock=time.perf_counter):
    """Times `repeats` calls of `function()` after `warmup` untimed ones.

    The warm-up calls take the one-time costs (tracing a `tf.function`,
    compiling with XLA, filling caches). `function` must wait for its own
    result, for example by calling `.numpy()` on it: TensorFlow and JAX run
    asynchronously, and a clock stopped before the work is done measures
    only the dispatch.

    The median is the headline, not the best: on a shared machine a slow
    repeat is another process's doing and a fast one is luck, and the
    median is neither. The range says how far to trust it.

    Args:
        function: a callable without arguments.
        repeats: how many calls are timed.
        warmup: how many calls run first, untimed.
        clock: a clock in seconds (the tests pass a fake one).

    Returns:
        A `Timing`, in seconds per call.

    Example:
    >>> timing = timed(lambda: sum(range(10_000)), repeats=5)
    >>> timing.min <= timing.median <= timing.max
    True
    """
    for _ in range(warmup):
        function()
    seconds = []
    for _ in range(repeats):
        started = clock()
        function()
        seconds.append(clock() - started)
    return Timing(statistics.median(seconds), min(seconds), max(seconds), repeats)


def cpu_model():
    """The CPU's name from `/proc/cpuinfo` (Linux), or what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(distribution):
    # From the installed package's metadata, without importing it: reading
    # a version must not start TensorFlow (benchmarks.gpu_jax runs without it).
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine():
    """The machine and the library versions a measurement was made with."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": _version("tensorflow"),
        "keras": _version("keras"),
        "keras_hub": _version("keras-hub"),
    }


def write_results(path, benchmark, settings, rows, **sections):
    """Writes a benchmark's results as JSON, in the layout of this module.

    Args:
        path: the JSON file to write (its folder must exist).
        benchmark: the benchmark's name, its module's (`"decoding"`).
        settings: what the run was asked to do: a dict, or the command's
            `argparse.Namespace`.
        rows: the measurements, one dict each.
        **sections: what else the benchmark reports (a summary, a curve),
            each under its own key.

    Returns:
        The dict that was written.

    Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "example.json"
    >>> results = write_results(path, "example", {"repeats": 3}, [{"seconds": 1.5}])
    >>> sorted(results)
    ['benchmark', 'date', 'machine', 'rows', 'settings']
    >>> read_rows(path)
    [{'seconds': 1.5}]
    """
    clash = set(sections) & set(HEADER)
    if clash:
        raise ValueError(f"{sorted(clash)} are header keys of every results file; name the section otherwise.")
    if isinstance(settings, argparse.Namespace):
        settings = vars(settings)
    results = {
        "benchmark": benchmark,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": dict(settings),
        "rows": list(rows),
        **sections,
    }
    # default=str: settings may hold paths.
    Path(path).write_text(json.dumps(results, indent=2, default=str) + "\n")
    return results


def read_rows(path):
    """The rows of a results file: one in this module's layout, or an older
    one that is a bare list of rows (`benchmarks/results/` keeps both)."""
    results = json.loads(Path(path).read_text())
    return results if isinstance(results, list) else results["rows"]
