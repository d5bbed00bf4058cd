"""Importing this module hides TensorFlow from the process, as a machine
without it would: `import tensorflow` (or tensorflow_text) raises
ImportError, which Keras and keras-hub read as "not installed"."""

import importlib.abc
import sys


class _NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "tensorflow" or name.startswith(("tensorflow.", "tensorflow_text")):
            raise ImportError(f"{name} is hidden: this process checks that it runs without it")
        return None


if "tensorflow" in sys.modules:
    raise RuntimeError("import no_tensorflow before anything that imports TensorFlow")
sys.meta_path.insert(0, _NoTensorFlow())
