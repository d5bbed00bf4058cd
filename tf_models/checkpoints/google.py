"""BERT checkpoints as google-research/bert released them.

A directory such as `uncased_L-12_H-768_A-12/` holds `bert_config.json`, a
TensorFlow 1 name-based checkpoint (`bert_model.ckpt.index` and
`bert_model.ckpt.data-*`) and `vocab.txt`. TensorFlow's dense layers already
store `(in, out)` kernels, so every tensor goes in as it is except the
next-sentence matrix, which the original code keeps as `(2, hidden)`.
"""

import json
import re
from pathlib import Path

import numpy as np
import tensorflow as tf

from tf_models.checkpoints.weights import (
    CheckpointError,
    assign,
    build_bert,
    resolve,
    same,
    transposed,
    translate_config,
)
from tf_models.data import WordPieceTokenizer
from tf_models.models import BertPretrainer

# The original modeling.py computes "gelu" with the tanh approximation.
GOOGLE_ACTIVATIONS = {"gelu": "gelu_approximate", "relu": "relu"}

# One encoder layer: (our weight, variable under bert/encoder/layer_{i}/, transform).
_LAYER = [
    ("self_attention.query_dense.kernel", "attention/self/query/kernel", same),
    ("self_attention.query_dense.bias", "attention/self/query/bias", same),
    ("self_attention.key_dense.kernel", "attention/self/key/kernel", same),
    ("self_attention.key_dense.bias", "attention/self/key/bias", same),
    ("self_attention.value_dense.kernel", "attention/self/value/kernel", same),
    ("self_attention.value_dense.bias", "attention/self/value/bias", same),
    ("self_attention.output_dense.kernel", "attention/output/dense/kernel", same),
    ("self_attention.output_dense.bias", "attention/output/dense/bias", same),
    ("self_attention_norm.gamma", "attention/output/LayerNorm/gamma", same),
    ("self_attention_norm.beta", "attention/output/LayerNorm/beta", same),
    ("feed_forward.intermediate_dense.kernel", "intermediate/dense/kernel", same),
    ("feed_forward.intermediate_dense.bias", "intermediate/dense/bias", same),
    ("feed_forward.output_dense.kernel", "output/dense/kernel", same),
    ("feed_forward.output_dense.bias", "output/dense/bias", same),
    ("feed_forward_norm.gamma", "output/LayerNorm/gamma", same),
    ("feed_forward_norm.beta", "output/LayerNorm/beta", same),
]

_EMBEDDINGS_AND_POOLER = [
    ("embedding.token_embedding.embeddings", "bert/embeddings/word_embeddings", same),
    ("embedding.segment_embedding.embeddings", "bert/embeddings/token_type_embeddings", same),
    ("embedding.position_embedding.embeddings", "bert/embeddings/position_embeddings", same),
    ("embedding.layer_norm.gamma", "bert/embeddings/LayerNorm/gamma", same),
    ("embedding.layer_norm.beta", "bert/embeddings/LayerNorm/beta", same),
    ("pooler.kernel", "bert/pooler/dense/kernel", same),
    ("pooler.bias", "bert/pooler/dense/bias", same),
]

# The masked-LM output reuses bert/embeddings/word_embeddings (tied).
_HEADS = [
    ("mlm_head.transform.kernel", "cls/predictions/transform/dense/kernel", same),
    ("mlm_head.transform.bias", "cls/predictions/transform/dense/bias", same),
    ("mlm_head.layer_norm.gamma", "cls/predictions/transform/LayerNorm/gamma", same),
    ("mlm_head.layer_norm.beta", "cls/predictions/transform/LayerNorm/beta", same),
    ("mlm_head.output_bias", "cls/predictions/output_bias", same),
    ("nsp_head.kernel", "cls/seq_relationship/output_weights", transposed),  # stored (2, H)
    ("nsp_head.bias", "cls/seq_relationship/output_bias", same),
]

# Training state saved next to the weights: Adam's moments and the step.
_OPTIMIZER_STATE = re.compile(r"(/adam_[mv]|^global_step)$")


def bert_config_from_google(config, dropout=None):
    """Translates google-research/bert's `bert_config.json` into a `BertConfig`.

    Args:
        config: the parsed `bert_config.json` (a dict).
        dropout: one dropout rate for the whole model; `None` takes
            `hidden_dropout_prob`, which must then equal
            `attention_probs_dropout_prob` (our layers have one rate).

    Returns:
        A `BertConfig` with the original code's fixed LayerNorm epsilon,
        1e-12, and its `"gelu"` as `"gelu_approximate"` (modeling.py
        computes the tanh approximation).

    Raises:
        CheckpointError: missing keys or an unsupported activation.

    Example:
    >>> config = bert_config_from_google({
    ...     "vocab_size": 30522, "hidden_size": 128, "num_hidden_layers": 2,
    ...     "num_attention_heads": 2, "intermediate_size": 512,
    ...     "hidden_act": "gelu", "max_position_embeddings": 512,
    ...     "type_vocab_size": 2, "hidden_dropout_prob": 0.1,
    ...     "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02})
    >>> config.activation, config.layer_norm_epsilon
    ('gelu_approximate', 1e-12)
    """
    return translate_config(config, GOOGLE_ACTIVATIONS, "bert_config.json",
                            layer_norm_epsilon=1e-12, dropout=dropout)


def load_google_bert(path, with_heads=False, lower_case=None, dropout=None):
    """Loads an original google-research/bert directory into a tf_models model.

    Args:
        path: a directory with `bert_config.json`, `vocab.txt` and one
            checkpoint (`bert_model.ckpt.*`, or any single `*.index`).
        with_heads: return a `BertPretrainer` with the masked-LM and
            next-sentence heads (`cls/...`); when false they are left out.
        lower_case: whether the tokenizer lower-cases and strips accents.
            The checkpoint does not record it, so `None` reads the directory
            name as Google named them: "uncased" -> true, "cased" (as in
            `cased_L-12_H-768_A-12` or `multi_cased_...`) -> false, anything
            else -> true. Pass it when you renamed the directory.
        dropout: see `bert_config_from_google`.

    Returns:
        `(model, tokenizer)`: a `BertBackbone` (or `BertPretrainer`) and a
        `WordPieceTokenizer`. Optimizer slots (`*/adam_m`, `*/adam_v`) and
        `global_step` are skipped.

    Raises:
        CheckpointError: an unsupported config; variables that do not fit
            (all listed at once); heads asked for but absent.

    Example:
    >>> import tempfile
    >>> from tf_models.models import BertBackbone
    >>> path = tempfile.mkdtemp(suffix="_uncased_L-2_H-16_A-2")
    >>> original = BertBackbone.from_preset("test")
    >>> save_google_checkpoint(original, path)
    >>> _ = open(f"{path}/vocab.txt", "w").write("[PAD]\\n[UNK]\\nhello\\n")
    >>> model, tokenizer = load_google_bert(path)
    >>> tokenizer.lower_case, tokenizer.tokenize(["Hello"]).to_list()
    (True, [[2]])
    >>> bool((model.pooler.kernel.numpy() == original.pooler.kernel.numpy()).all())
    True
    """
    path = Path(path)
    config_file = path / "bert_config.json"
    if not config_file.exists():
        raise CheckpointError(f"{config_file} not found.")
    config = bert_config_from_google(json.loads(config_file.read_text()), dropout=dropout)
    if lower_case is None:
        lower_case = _lower_case_from_name(path.resolve().name)
    tokenizer = WordPieceTokenizer(path / "vocab.txt", lower_case=lower_case)
    if tokenizer.vocabulary_size > config.vocabulary_size:
        raise CheckpointError(f"{path}: the vocabulary has {tokenizer.vocabulary_size} tokens, "
                              f"but the model only {config.vocabulary_size} embeddings")

    prefix = _checkpoint_prefix(path)
    reader = tf.train.load_checkpoint(prefix)
    table = _table(config.num_layers, with_heads)
    names = [name for name in reader.get_variable_to_shape_map() if not _OPTIMIZER_STATE.search(name)]
    if not any(name.startswith("bert/") for name in names):
        raise CheckpointError(f"{prefix} has no bert/* variables: not an original BERT checkpoint "
                              "(TensorFlow 2 Model Garden checkpoints are object-based and not supported).")
    if not with_heads:
        names = [name for name in names if name.startswith("bert/")]
    elif not any(name.startswith("cls/") for name in names):
        raise CheckpointError(f"{prefix} has no pretraining heads (cls/*); load it with with_heads=False.")
    tensors = {name: reader.get_tensor(name) for name in names}
    model = build_bert(config, with_heads)
    assign(model, table, tensors, prefix)
    return model, tokenizer


def save_google_checkpoint(model, path, tokenizer=None):
    """Writes a model in google-research/bert's format, for tools that read it.

    The result is what `load_google_bert` reads: `bert_config.json` and a
    TensorFlow 1 name-based `bert_model.ckpt` (no optimizer state).

    Args:
        model: a `BertBackbone`, or a `BertPretrainer` (heads included).
        path: the directory to write (created if needed).
        tokenizer: a `WordPieceTokenizer` whose `vocab.txt` to write too.

    Raises:
        CheckpointError: settings the original code cannot express (exact
            GELU, a LayerNorm epsilon other than 1e-12).
    """
    with_heads = isinstance(model, BertPretrainer)
    backbone = model.backbone if with_heads else model
    activations = {ours: theirs for theirs, ours in GOOGLE_ACTIVATIONS.items()}
    problems = []
    if backbone.activation not in activations:
        problems.append(f"activation={backbone.activation!r} (supported: {sorted(activations)})")
    if backbone.layer_norm_epsilon != 1e-12:
        problems.append(f"layer_norm_epsilon={backbone.layer_norm_epsilon} (the original code fixes 1e-12)")
    if problems:
        raise CheckpointError("The original BERT format cannot express " + "; ".join(problems))

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = {
        "attention_probs_dropout_prob": backbone.dropout,
        "hidden_act": activations[backbone.activation],
        "hidden_dropout_prob": backbone.dropout,
        "hidden_size": backbone.hidden_dim,
        "initializer_range": 0.02,
        "intermediate_size": backbone.intermediate_dim,
        "max_position_embeddings": backbone.max_sequence_length,
        "num_attention_heads": backbone.num_heads,
        "num_hidden_layers": backbone.num_layers,
        "type_vocab_size": backbone.num_segments,
        "vocab_size": backbone.vocabulary_size,
    }
    (path / "bert_config.json").write_text(json.dumps(config, indent=2) + "\n")
    # `same` and `transposed` are their own inverses.
    table = _table(backbone.num_layers, with_heads)
    names = [theirs for _, theirs, _ in table]
    values = [transform(np.asarray(resolve(model, ours))) for ours, _, transform in table]
    tf.raw_ops.SaveV2(prefix=str(path / "bert_model.ckpt"), tensor_names=names,
                      shape_and_slices=[""] * len(names), tensors=values)
    if tokenizer is not None:
        tokenizer.save_vocabulary(path / "vocab.txt")


def _table(num_layers, with_heads):
    """(our weight, Google variable, transform) rows for the whole model."""
    table = list(_EMBEDDINGS_AND_POOLER)
    for i in range(num_layers):
        table += [(f"encoder_layers.{i}.{ours}", f"bert/encoder/layer_{i}/{theirs}", transform)
                  for ours, theirs, transform in _LAYER]
    if with_heads:
        table = [("backbone." + ours, theirs, transform) for ours, theirs, transform in table] + _HEADS
    return table


def _lower_case_from_name(name):
    name = name.lower()
    if "uncased" in name:
        return True
    return "cased" not in name


def _checkpoint_prefix(path):
    if (path / "bert_model.ckpt.index").exists():
        return str(path / "bert_model.ckpt")
    indexes = sorted(path.glob("*.index"))
    if len(indexes) != 1:
        found = ", ".join(index.name for index in indexes) or "none"
        raise CheckpointError(f"{path}: expected bert_model.ckpt.index or one *.index file, found {found}.")
    return str(indexes[0].with_suffix(""))
