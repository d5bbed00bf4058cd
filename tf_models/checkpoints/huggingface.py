"""BERT checkpoints in the Hugging Face `transformers` layout.

A model directory holds `config.json`, the weights (`model.safetensors`,
possibly sharded, or the older `pytorch_model.bin`) and the tokenizer
(`vocab.txt`, `tokenizer_config.json`). Safetensors files are read with
NumPy, so PyTorch is needed only for `pytorch_model.bin`.

Tensor names come in a few dialects: `BertForPreTraining` and the task
models prefix the encoder with `bert.` (`BertModel` does not), and old
checkpoints call LayerNorm's weights `gamma`/`beta` instead of
`weight`/`bias`. PyTorch's `Linear` stores its matrix as `(out, in)`, the
transpose of a Keras `Dense` kernel. The attention projections need no
other reshaping: both sides keep Q, K, V and the output as one flat
`hidden x hidden` matrix and split heads by reshaping the last axis.
"""

import json
import tempfile
from pathlib import Path

from tf_models.checkpoints.weights import (
    CheckpointError,
    assign,
    build_bert,
    same,
    transposed,
    translate_config,
)
from tf_models.data import WordPieceTokenizer

# Hugging Face's `hidden_act` names -> ours. "gelu" is the exact, erf-based
# GELU in `transformers`; the other GELUs are the tanh approximation of the
# original BERT code.
HUGGINGFACE_ACTIVATIONS = {
    "gelu": "gelu",
    "gelu_python": "gelu",
    "gelu_new": "gelu_approximate",
    "gelu_pytorch_tanh": "gelu_approximate",
    "gelu_fast": "gelu_approximate",
    "relu": "relu",
}

# One encoder layer: (our weight, Hugging Face tensor, transform), with
# "LayerNorm.weight"/"LayerNorm.bias" standing for either naming.
_LAYER = [
    ("self_attention.query_dense.kernel", "attention.self.query.weight", transposed),
    ("self_attention.query_dense.bias", "attention.self.query.bias", same),
    ("self_attention.key_dense.kernel", "attention.self.key.weight", transposed),
    ("self_attention.key_dense.bias", "attention.self.key.bias", same),
    ("self_attention.value_dense.kernel", "attention.self.value.weight", transposed),
    ("self_attention.value_dense.bias", "attention.self.value.bias", same),
    ("self_attention.output_dense.kernel", "attention.output.dense.weight", transposed),
    ("self_attention.output_dense.bias", "attention.output.dense.bias", same),
    ("self_attention_norm.gamma", "attention.output.LayerNorm.weight", same),
    ("self_attention_norm.beta", "attention.output.LayerNorm.bias", same),
    ("feed_forward.intermediate_dense.kernel", "intermediate.dense.weight", transposed),
    ("feed_forward.intermediate_dense.bias", "intermediate.dense.bias", same),
    ("feed_forward.output_dense.kernel", "output.dense.weight", transposed),
    ("feed_forward.output_dense.bias", "output.dense.bias", same),
    ("feed_forward_norm.gamma", "output.LayerNorm.weight", same),
    ("feed_forward_norm.beta", "output.LayerNorm.bias", same),
]

_EMBEDDINGS_AND_POOLER = [
    ("embedding.token_embedding.embeddings", "embeddings.word_embeddings.weight", same),
    ("embedding.segment_embedding.embeddings", "embeddings.token_type_embeddings.weight", same),
    ("embedding.position_embedding.embeddings", "embeddings.position_embeddings.weight", same),
    ("embedding.layer_norm.gamma", "embeddings.LayerNorm.weight", same),
    ("embedding.layer_norm.beta", "embeddings.LayerNorm.bias", same),
    ("pooler.kernel", "pooler.dense.weight", transposed),
    ("pooler.bias", "pooler.dense.bias", same),
]

# The pretraining heads of `BertForPreTraining`. The MLM decoder's matrix is
# the word embedding table (tied), so it is checked rather than copied.
_HEADS = [
    ("mlm_head.transform.kernel", "cls.predictions.transform.dense.weight", transposed),
    ("mlm_head.transform.bias", "cls.predictions.transform.dense.bias", same),
    ("mlm_head.layer_norm.gamma", "cls.predictions.transform.LayerNorm.weight", same),
    ("mlm_head.layer_norm.beta", "cls.predictions.transform.LayerNorm.bias", same),
    ("nsp_head.kernel", "cls.seq_relationship.weight", transposed),
    ("nsp_head.bias", "cls.seq_relationship.bias", same),
]

# Buffers some `transformers` versions saved with the weights; not weights.
_BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")


def bert_config_from_huggingface(config, dropout=None):
    """Translates a Hugging Face BERT `config.json` into a `BertConfig`.

    Args:
        config: the parsed `config.json` (a dict).
        dropout: one dropout rate for the whole model; `None` takes
            `hidden_dropout_prob`, which must then equal
            `attention_probs_dropout_prob` (our layers have one rate).

    Returns:
        A `BertConfig`. `hidden_act="gelu"` (exact in `transformers`) maps
        to `"gelu"`; `gelu_new`, `gelu_pytorch_tanh` and `gelu_fast` map to
        `"gelu_approximate"`.

    Raises:
        CheckpointError: a setting our model cannot express: another
            `model_type`, relative position embeddings, a decoder or cross
            attention, an unknown activation.

    Example:
    >>> config = bert_config_from_huggingface({
    ...     "vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12,
    ...     "num_attention_heads": 12, "intermediate_size": 3072,
    ...     "hidden_act": "gelu", "max_position_embeddings": 512,
    ...     "type_vocab_size": 2, "layer_norm_eps": 1e-12})
    >>> config.num_layers, config.activation
    (12, 'gelu')
    """
    source = "Hugging Face config"
    problems = []
    if config.get("model_type", "bert") != "bert":
        problems.append(f"model_type={config['model_type']!r}, not 'bert'")
    if config.get("position_embedding_type", "absolute") != "absolute":
        problems.append(f"position_embedding_type={config['position_embedding_type']!r}: "
                        "only learned absolute positions are supported")
    for flag in ("is_decoder", "add_cross_attention"):
        if config.get(flag):
            problems.append(f"{flag}=true: BertBackbone is a bidirectional encoder")
    if problems:
        raise CheckpointError(f"{source}: " + "; ".join(problems))
    return translate_config(config, HUGGINGFACE_ACTIVATIONS, source,
                            layer_norm_epsilon=config.get("layer_norm_eps", 1e-12), dropout=dropout)


def load_huggingface_bert(path, with_heads=False, dropout=None):
    """Loads a Hugging Face BERT directory into a tf_models model.

    Args:
        path: a directory with `config.json`; `model.safetensors` (or its
            shards with `model.safetensors.index.json`), else
            `pytorch_model.bin` (needs PyTorch); and `vocab.txt` (or a
            WordPiece `tokenizer.json`), with the lower-casing read from
            `tokenizer_config.json` (`do_lower_case`, true when absent).
        with_heads: return a `BertPretrainer` with the masked-LM and
            next-sentence heads of a `BertForPreTraining` checkpoint. When
            false, only the encoder is read and any heads are left out.
        dropout: see `bert_config_from_huggingface`.

    Returns:
        `(model, tokenizer)`: a `BertBackbone` (or `BertPretrainer`) and a
        `WordPieceTokenizer`.

    Raises:
        CheckpointError: unsupported config or tokenizer settings; weights
            that do not fit (all listed at once); heads asked for but absent.
        ImportError: a `pytorch_model.bin` without PyTorch installed.

    Example:
    >>> import tempfile, torch, transformers
    >>> path = tempfile.mkdtemp()
    >>> transformers.BertModel(transformers.BertConfig(
    ...     vocab_size=6, hidden_size=8, num_hidden_layers=1,
    ...     num_attention_heads=2, intermediate_size=16)).save_pretrained(path)
    >>> _ = open(f"{path}/vocab.txt", "w").write(
    ...     "[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\n[MASK]\\nhello\\n")
    >>> model, tokenizer = load_huggingface_bert(path)
    >>> model.num_layers, tokenizer.tokenize(["Hello"]).to_list()
    (1, [[5]])
    """
    path = Path(path)
    config = bert_config_from_huggingface(_read_json(path / "config.json"), dropout=dropout)
    tokenizer = huggingface_tokenizer(path)
    if tokenizer.vocabulary_size > config.vocabulary_size:
        raise CheckpointError(f"{path}: the vocabulary has {tokenizer.vocabulary_size} tokens, "
                              f"but the model only {config.vocabulary_size} embeddings")
    tensors, source = _read_tensors(path)
    model = build_bert(config, with_heads)
    prefix = "bert." if any(name.startswith("bert.") for name in tensors) else ""
    if not any(name.startswith(prefix + "embeddings.") for name in tensors):
        raise CheckpointError(f"{source} holds no BERT encoder (no {prefix}embeddings.* tensors).")
    tensors = {name: array for name, array in tensors.items()
               if name.removeprefix(prefix) not in _BUFFERS}
    if not with_heads:
        # Take the encoder; leave the checkpoint's heads (cls.*, classifier.*, ...) out.
        tensors = {name: array for name, array in tensors.items()
                   if name.removeprefix(prefix).split(".")[0] in ("embeddings", "encoder", "pooler")}
    elif not any(name.startswith("cls.") for name in tensors):
        raise CheckpointError(f"{source} has no pretraining heads (cls.*): it is not a "
                              "BertForPreTraining checkpoint; load it with with_heads=False.")

    layer_norm = "gamma" if any(name.endswith("LayerNorm.gamma") for name in tensors) else "weight"
    table = [(ours, prefix + theirs, transform)
             for ours, theirs, transform in _EMBEDDINGS_AND_POOLER]
    for i in range(config.num_layers):
        table += [(f"encoder_layers.{i}.{ours}", f"{prefix}encoder.layer.{i}.{theirs}", transform)
                  for ours, theirs, transform in _LAYER]
    tied = []
    if with_heads:
        table = [("backbone." + ours, theirs, transform) for ours, theirs, transform in table]
        bias = "cls.predictions.bias"
        if bias not in tensors and "cls.predictions.decoder.bias" in tensors:
            bias = "cls.predictions.decoder.bias"
        table += _HEADS + [("mlm_head.output_bias", bias, same)]
        tied = [("cls.predictions.decoder.weight", prefix + "embeddings.word_embeddings.weight"),
                ("cls.predictions.decoder.bias", bias)]
    if layer_norm == "gamma":
        table = [(ours, theirs.replace("LayerNorm.weight", "LayerNorm.gamma")
                  .replace("LayerNorm.bias", "LayerNorm.beta"), transform)
                 for ours, theirs, transform in table]
    assign(model, table, tensors, source, tied=[pair for pair in tied if pair[0] != pair[1]])
    return model, tokenizer


def huggingface_tokenizer(path):
    """The `WordPieceTokenizer` of a Hugging Face BERT directory.

    Args:
        path: a directory with `vocab.txt`, or a `tokenizer.json` with a
            WordPiece model (whose vocabulary is then written to a new
            temporary directory); and optionally `tokenizer_config.json`.

    Returns:
        A `WordPieceTokenizer`, lower-casing if `do_lower_case` is true or
        absent (the `transformers` default).

    Raises:
        CheckpointError: no vocabulary, or settings our tokenizer cannot
            follow (accent stripping without lower-casing or the reverse,
            CJK characters not split).
    """
    path = Path(path)
    settings = _read_json(path / "tokenizer_config.json") if (path / "tokenizer_config.json").exists() else {}
    fast = _read_json(path / "tokenizer.json") if (path / "tokenizer.json").exists() else {}
    normalizer = fast.get("normalizer") or {}
    lower_case = settings.get("do_lower_case", normalizer.get("lowercase", True))
    strip_accents = settings.get("strip_accents", normalizer.get("strip_accents"))
    problems = []
    if strip_accents is not None and strip_accents != lower_case:
        # tensorflow-text's BertTokenizer strips accents exactly when it lower-cases.
        problems.append(f"strip_accents={strip_accents} with do_lower_case={lower_case}")
    if not settings.get("tokenize_chinese_chars", normalizer.get("handle_chinese_chars", True)):
        problems.append("tokenize_chinese_chars=false")
    if problems:
        raise CheckpointError(f"{path}: tokenizer settings not supported: " + "; ".join(problems))

    vocabulary_file = path / "vocab.txt"
    if not vocabulary_file.exists():
        vocabulary = (fast.get("model") or {}).get("vocab")
        if not isinstance(vocabulary, dict):
            raise CheckpointError(f"{path} has neither vocab.txt nor a WordPiece tokenizer.json.")
        vocabulary_file = Path(tempfile.mkdtemp(prefix="vocab_")) / "vocab.txt"
        tokens = sorted(vocabulary, key=vocabulary.get)
        vocabulary_file.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return WordPieceTokenizer(vocabulary_file, lower_case=lower_case)


def _read_json(path):
    if not path.exists():
        raise CheckpointError(f"{path} not found.")
    return json.loads(path.read_text(encoding="utf-8"))


def _read_tensors(path):
    """`({name: numpy array}, the file(s) read)` from a model directory."""
    index = path / "model.safetensors.index.json"
    if index.exists():
        shards = sorted(set(_read_json(index)["weight_map"].values()))
        tensors = {}
        for shard in shards:
            tensors.update(_read_safetensors(_inside(path, shard, index)))
        return tensors, str(index)
    if (path / "model.safetensors").exists():
        return _read_safetensors(path / "model.safetensors"), str(path / "model.safetensors")
    if (path / "pytorch_model.bin").exists():
        return _read_pytorch(path / "pytorch_model.bin"), str(path / "pytorch_model.bin")
    raise CheckpointError(f"{path} has no model.safetensors or pytorch_model.bin.")


def _inside(folder, name, index):
    """`folder / name`, refused unless the name stays inside `folder`: an
    index must not make the loader read files elsewhere (`../x`, `/etc/x`).
    The name is checked, not where it links to: in a Hugging Face cache every
    shard is a link into `../../blobs/`."""
    if Path(name).is_absolute() or ".." in Path(name).parts:
        raise CheckpointError(f"{index} names the shard {name!r}, outside {folder}; refusing to read it.")
    return folder / name


def _read_safetensors(file):
    import safetensors.numpy

    try:
        return safetensors.numpy.load_file(file)
    except TypeError:
        # NumPy has no bfloat16; TensorFlow reads it, and we keep float32.
        import safetensors.tensorflow

        return {name: tensor.numpy().astype("float32")
                for name, tensor in safetensors.tensorflow.load_file(file).items()}


def _read_pytorch(file):
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            f"{file} is a PyTorch pickle, and reading it needs PyTorch (pip install torch). "
            "A model.safetensors version of the checkpoint needs nothing extra."
        ) from error
    state = torch.load(file, map_location="cpu", weights_only=True)
    return {name: (tensor.float() if tensor.is_floating_point() else tensor).numpy()
            for name, tensor in state.items()}
