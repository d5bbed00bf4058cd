"""Executes the notebooks in full mode and saves their outputs in place.

    make notebooks                                   # all eight, one after another
    .venv/bin/python notebooks/run_all.py 03 05      # the ones whose names start so

Each notebook runs top to bottom in a fresh kernel in this folder, without
`TF_MODELS_QUICK` (so with its full settings), and is written back with its
outputs and a `tf_models` entry in its metadata: the mode, the date, the
machine (CPU model, cores, memory) and the seconds it took. A cell that
fails stops that notebook and leaves the committed file as it was. `make
test` executes copies in quick mode and never rewrites these files;
`tests/test_notebooks.py` checks that the committed outputs came from a
full run without errors.
"""

import datetime
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

FOLDER = Path(__file__).resolve().parent


def cpu_model(cpuinfo="/proc/cpuinfo"):
    """The CPU's name, with "AMX" where it has Intel's matrix units (bfloat16
    matmuls run on them, so timings depend on it), e.g. "Intel(R) Xeon(R)
    Processor with AMX"; from `/proc/cpuinfo` (Linux), else what `platform` knows."""
    try:
        lines = Path(cpuinfo).read_text().splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    flags = {flag for line in lines if line.startswith("flags") for flag in line.split(":", 1)[1].split()}
    name = names[0] if names else platform.processor() or platform.machine()
    return f"{name} with AMX" if "amx_bf16" in flags else name


def machine():
    """A short description of this computer, e.g.
    "Intel(R) Xeon(R) Processor with AMX, 2 CPU cores, 24 GiB, x86_64, no GPU used"."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu_model()}, {os.cpu_count()} CPU cores, {memory:.0f} GiB, {platform.machine()}, no GPU used"


def run(path, timeout=1800):
    """Runs one notebook in full mode and writes it back with its outputs."""
    notebook = nbformat.read(path, as_version=4)
    environment = {k: v for k, v in os.environ.items() if k != "TF_MODELS_QUICK"}
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # Hide any GPU: the committed numbers are the CPU's the README quotes.
    environment["CUDA_VISIBLE_DEVICES"] = ""
    started = time.time()
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(FOLDER)}})
    original = os.environ.copy()
    os.environ.clear()
    os.environ.update(environment)  # the kernel inherits this process's environment
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(original)
    seconds = time.time() - started
    notebook.metadata["tf_models"] = {
        "mode": "full",
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "seconds": round(seconds),
    }
    nbformat.write(notebook, path)
    print(f"{path.name}: {seconds / 60:.1f} minutes", flush=True)


def main(prefixes):
    paths = sorted(FOLDER.glob("[0-9][0-9]_*.ipynb"))
    chosen = [p for p in paths if not prefixes or p.name.startswith(tuple(prefixes))]
    if not chosen:
        raise SystemExit(f"no notebook starts with {prefixes}; there are {[p.name for p in paths]}")
    for path in chosen:
        run(path)


if __name__ == "__main__":
    main(sys.argv[1:])
