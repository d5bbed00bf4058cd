"""Versioned SavedModels in TF Serving's layout: `<base>/<name>/<version>/`.

TF Serving watches `<base>/<name>/` and serves the highest integer
version it finds. So an export is written into a hidden temporary folder
next to the versions (TF Serving ignores names that are not integers) and
renamed into place only when complete: the server never sees half a model,
and an existing version is never overwritten.

Each export holds, besides the graph and variables:
* `assets/`: the tokenizer vocabulary (the graph reads it from there);
* `assets.extra/tf_serving_warmup_requests`: requests TF Serving runs once
  at load time, so the first real request does not pay for tracing;
* `assets.extra/tf_models.json`: what was exported (task settings such as
  the decoding method and beam size, the signatures, the versions).
"""

import datetime
import json
import os
import shutil
import tempfile
from pathlib import Path

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from tf_models import storage
from tf_models.export.warmup import write_warmup_requests

INFO_FILE = "tf_models.json"


def latest_version(model_dir):
    """The highest integer version under `model_dir`, or 0 if none."""
    model_dir = Path(model_dir)
    versions = [int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit()] if model_dir.is_dir() else []
    return max(versions, default=0)


def _describe_signatures(saved_model_dir):
    """Input and output names, dtypes and shapes, read from `saved_model.pb`
    (what a server sees)."""
    saved_model = saved_model_pb2.SavedModel.FromString((Path(saved_model_dir) / "saved_model.pb").read_bytes())

    def spec(info):
        dims = [None if d.size == -1 else d.size for d in info.tensor_shape.dim]
        return {"dtype": tf.dtypes.as_dtype(info.dtype).name, "shape": dims}

    return {
        name: {
            "inputs": {k: spec(v) for k, v in sorted(signature.inputs.items())},
            "outputs": {k: spec(v) for k, v in sorted(signature.outputs.items())},
        }
        for name, signature in sorted(saved_model.meta_graphs[0].signature_def.items())
        if not name.startswith("__")
    }


def export_saved_model(module, base_dir, name, version=None, warmup_inputs=None):
    """Saves an inference module for TF Serving at `base_dir/name/version`.

    Args:
        module: a `Translator`, `TextClassifier`, `FillMask` or
            `SentenceEncoder` (any `tf.Module` with `SERVING_SIGNATURES`,
            `settings` and `example_inputs`).
        base_dir: the model base path, e.g. "saved_models".
        name: the model name TF Serving serves it under.
        version: a positive int; default: one more than the latest.
        warmup_inputs: `{signature: {input: list}}` requests for the warmup
            file; default: the module's `example_inputs`.

    Returns:
        The `Path` of the new version folder.

    Raises:
        FileExistsError: if that version exists already.

    Example:
    >>> import tempfile
    >>> from tf_models.data import WordPieceTokenizer
    >>> from tf_models.inference import SentenceEncoder
    >>> from tf_models.models import BertBackbone
    >>> root = tempfile.mkdtemp()
    >>> _ = open(root + "/vocab.txt", "w").write("[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\n[MASK]\\nhi\\n")
    >>> encoder = SentenceEncoder(BertBackbone.from_preset("test", vocabulary_size=6),
    ...                           WordPieceTokenizer(root + "/vocab.txt"))
    >>> export_saved_model(encoder, root + "/saved_models", "encoder").name
    '1'
    >>> export_saved_model(encoder, root + "/saved_models", "encoder").name
    '2'
    """
    model_dir = Path(base_dir) / name
    model_dir.mkdir(parents=True, exist_ok=True)
    version = int(version) if version is not None else latest_version(model_dir) + 1
    if version < 1:
        raise ValueError(f"Versions are positive integers, got {version}.")
    final = model_dir / str(version)
    if final.exists():
        raise FileExistsError(f"{final} exists; exports never overwrite a version (pick another).")
    signatures = {
        signature: getattr(module, method).get_concrete_function()
        for signature, method in module.SERVING_SIGNATURES.items()
    }
    staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=model_dir))
    try:
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a server may run as another user
        tf.saved_model.save(module, str(staging), signatures=signatures)
        extra = staging / "assets.extra"
        extra.mkdir()
        inputs = module.example_inputs if warmup_inputs is None else warmup_inputs
        write_warmup_requests(extra / "tf_serving_warmup_requests", name, inputs)
        info = {
            "name": name,
            "version": version,
            "settings": module.settings,
            "signatures": _describe_signatures(staging),
            "tensorflow_version": tf.__version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        (extra / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
        # Renaming within one folder is atomic; it fails if `final` appeared meanwhile.
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def write_models_config(base_dir, names=None, container_base="/models"):
    """Writes `base_dir/models.config` so one server serves several models.

    Args:
        base_dir: the folder holding one sub-folder per model.
        names: the models to list; default: every sub-folder with a version.
        container_base: where `base_dir` is mounted for the server (the
            paths in the file are the server's, e.g. inside Docker).

    Returns:
        The `Path` of the file.
    """
    base_dir = Path(base_dir)
    if names is None:
        names = sorted(p.name for p in base_dir.iterdir() if p.is_dir() and latest_version(p))
    entries = "".join(
        f"  config {{\n    name: '{name}'\n    base_path: '{container_base}/{name}'\n"
        f"    model_platform: 'tensorflow'\n  }}\n"
        for name in names
    )
    path = base_dir / "models.config"
    storage.write_text(path, f"model_config_list {{\n{entries}}}\n")  # a server polling it never reads half
    return path


def resolve_export(path):
    """A version folder from a version folder or a model folder (latest)."""
    path = Path(path)
    if (path / "saved_model.pb").exists():
        return path
    version = latest_version(path)
    if not version:
        raise FileNotFoundError(f"No SavedModel in {path} nor a numbered version under it.")
    return path / str(version)


def read_export_info(path):
    """The `tf_models.json` an export carries (task settings, signatures)."""
    return json.loads((resolve_export(path) / "assets.extra" / INFO_FILE).read_text())


def load_export(path):
    """Loads an export with TensorFlow alone (and TF Text for its ops).

    Returns:
        The loaded object; call `.signatures["serving_default"](sentences=...)`.
    """
    import tensorflow_text  # noqa: F401  (registers the tokenizer ops)

    return tf.saved_model.load(str(resolve_export(path)))
