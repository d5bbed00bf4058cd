"""What the three importers share: the error, config translation, model
building and an all-or-nothing copy of named tensors into a model.

Each importer reads its checkpoint into a `{name: numpy array}` dict and
writes a table of `(our weight, their tensor, transform)` rows; `assign`
checks the whole table against the dict before it changes a single weight,
so one error lists every problem of a checkpoint.
"""

import dataclasses

import numpy as np

from tf_models.models import BertBackbone, BertConfig, BertPretrainer


class CheckpointError(ValueError):
    """A checkpoint (or its config) that the model cannot take.

    Attributes:
        missing: tensors the model needs and the checkpoint lacks.
        unexpected: checkpoint tensors that the model has no place for.
        mismatched: `(name, problem)` pairs: wrong shapes, untied weights.
    """

    def __init__(self, message, missing=(), unexpected=(), mismatched=()):
        super().__init__(message)
        self.missing = list(missing)
        self.unexpected = list(unexpected)
        self.mismatched = list(mismatched)


def same(array):
    """The tensor as it is: TensorFlow checkpoints share our layout."""
    return array


def transposed(array):
    """PyTorch's `Linear` stores `(out, in)`; a Keras `Dense` kernel is `(in, out)`."""
    return np.transpose(array)


def translate_config(config, activations, source, layer_norm_epsilon, dropout=None):
    """Turns the BERT `config.json` keys (the same in Hugging Face's and
    Google's files) into a `BertConfig`.

    Args:
        config: the parsed JSON.
        activations: `{their activation name: ours}`.
        source: what to call the file in messages.
        layer_norm_epsilon: the epsilon to use.
        dropout: one dropout rate for everything; `None` takes the file's,
            which must then be the same for hidden states and attention.

    Returns:
        A `BertConfig`.

    Raises:
        CheckpointError: missing keys or settings our layers cannot express.
    """
    required = ["vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "intermediate_size", "hidden_act", "max_position_embeddings", "type_vocab_size"]
    problems = [f"missing key {key!r}" for key in required if key not in config]
    if problems:
        raise CheckpointError(f"{source}: " + "; ".join(problems))

    activation = config["hidden_act"]
    if activation not in activations:
        problems.append(f"hidden_act={activation!r} is not supported (supported: {sorted(activations)})")
    if config["hidden_size"] % config["num_attention_heads"]:
        problems.append(f"hidden_size={config['hidden_size']} is not divisible by "
                        f"num_attention_heads={config['num_attention_heads']}")
    hidden_dropout = config.get("hidden_dropout_prob", 0.1)
    attention_dropout = config.get("attention_probs_dropout_prob", hidden_dropout)
    if dropout is None and hidden_dropout != attention_dropout:
        # Our encoder layer has one rate for both; neither choice changes
        # inference, but fine-tuning should not silently use the wrong one.
        problems.append(f"hidden_dropout_prob={hidden_dropout} differs from "
                        f"attention_probs_dropout_prob={attention_dropout}; our layers use one "
                        "rate for both: pass dropout=... to choose it")
    if problems:
        raise CheckpointError(f"{source}: " + "; ".join(problems))
    return BertConfig(
        vocabulary_size=config["vocab_size"],
        num_layers=config["num_hidden_layers"],
        num_heads=config["num_attention_heads"],
        hidden_dim=config["hidden_size"],
        intermediate_dim=config["intermediate_size"],
        dropout=hidden_dropout if dropout is None else dropout,
        max_sequence_length=config["max_position_embeddings"],
        num_segments=config["type_vocab_size"],
        activation=activations[activation],
        layer_norm_epsilon=layer_norm_epsilon,
    )


def build_bert(config, with_heads):
    """A randomly initialised `BertBackbone`, or `BertPretrainer` around one."""
    backbone = BertBackbone(**dataclasses.asdict(config))
    return BertPretrainer(backbone) if with_heads else backbone


def assign(model, table, tensors, source, tied=()):
    """Copies checkpoint tensors into `model`, all of them or none.

    Args:
        model: the model to fill.
        table: `(our weight, their tensor, transform)` rows. Our weight is a
            dotted attribute path from `model`, e.g.
            `"encoder_layers.0.self_attention.query_dense.kernel"`; the
            transform maps their array to our layout.
        tensors: `{their tensor: numpy array}`, the whole checkpoint (minus
            what the caller chose to leave out).
        source: the checkpoint, as named in messages.
        tied: `(their tensor, the tensor it must equal)` pairs, such as a
            decoder matrix tied to the word embeddings: checked, not copied.

    Raises:
        CheckpointError: naming every missing tensor, every unexpected
            tensor, every shape mismatch and every untied pair.
    """
    missing, mismatched, updates = [], [], []
    used = set()
    for path, name, transform in table:
        variable = resolve(model, path)
        if name not in tensors:
            missing.append(name)
            continue
        used.add(name)
        array = tensors[name]
        try:
            value = transform(array)
        except ValueError:
            value = None
        if value is None or tuple(value.shape) != tuple(variable.shape):
            shape = "?" if value is None else tuple(value.shape)
            after = "" if transform is same else f" ({transform.__name__}: {shape})"
            mismatched.append((name, f"{tuple(array.shape)} in the checkpoint{after}, "
                                     f"but {path} is {tuple(variable.shape)}"))
            continue
        updates.append((variable, value))
    for name, other in tied:
        if name not in tensors:
            continue
        used.add(name)
        if other in tensors and not np.array_equal(tensors[name], tensors[other]):
            mismatched.append((name, f"differs from {other}, but our model ties the two"))
    unexpected = sorted(set(tensors) - used)

    if missing or unexpected or mismatched:
        lines = [f"{source} does not fit {type(model).__name__} "
                 f"({len(missing)} missing, {len(unexpected)} unexpected, {len(mismatched)} mismatched):"]
        lines += [f"  missing: {name}" for name in missing]
        lines += [f"  unexpected: {name}" for name in unexpected]
        lines += [f"  mismatched: {name}: {problem}" for name, problem in mismatched]
        raise CheckpointError("\n".join(lines), missing, unexpected, mismatched)
    for variable, value in updates:
        variable.assign(np.asarray(value, dtype=variable.dtype))


def resolve(model, path):
    """The weight at a dotted path: `resolve(backbone, "pooler.bias")`."""
    target = model
    for part in path.split("."):
        target = target[int(part)] if part.isdigit() else getattr(target, part)
    return target
