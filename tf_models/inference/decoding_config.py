"""How a `Transformer` or a `CausalLM` decodes: the table of decoding methods,
and one frozen config for the jobs, the command line, `Translator` and
`TextGenerator`.

This module imports neither TensorFlow nor Keras, so the command line can
build its decoding flags from `DecodingConfig`'s fields at once.
"""

import dataclasses
from typing import NamedTuple

from tf_models.options import option


class DecodingMethod(NamedTuple):
    """One row of `DECODING_METHODS`."""

    search: str  # the function of `tf_models.inference.decoding` that runs it
    options: tuple = ()  # the `DecodingConfig` fields it reads: its keyword arguments


# The decoding methods: the command line's choices, `DecodingConfig`'s checks
# and `generate`'s search all come from this table. A new method is its search
# function in decoding.py and a row here (a new option: a field below too).
# The search is named, not imported: this module imports no TensorFlow.
DECODING_METHODS = {
    "greedy": DecodingMethod("greedy_search"),
    "beam": DecodingMethod("beam_search", ("beam_width", "alpha")),
    "sample": DecodingMethod("sample", ("temperature", "top_k", "top_p", "seed")),
}
# The fields each decoding method reads; the others do not apply to it.
METHOD_OPTIONS = {name: method.options for name, method in DECODING_METHODS.items()}


def _one_of(names):
    """`"greedy, beam or sample"`: the methods, for the flag's help."""
    *others, last = names
    return f"{', '.join(others)} or {last}" if others else last


@dataclasses.dataclass(frozen=True)
class DecodingConfig:
    """A decoding method and its options.

    Attributes:
        method: a key of `DECODING_METHODS`: `"greedy"`, `"beam"` (beam
            search) or `"sample"`.
        beam_width: hypotheses kept by beam search (the paper: 4).
        alpha: beam search's length penalty exponent (the paper: 0.6).
        temperature: sampling divides the logits by it (lower: safer).
        top_k: sample among the `top_k` likeliest tokens (None: all).
        top_p: sample among the likeliest tokens whose probabilities sum to
            `top_p` (nucleus sampling; None: all).
        seed: the sampling seed (its flag is `--decoding-seed`: jobs have a
            `--seed` of their own).

    Example:
    >>> DecodingConfig("beam").settings
    {'method': 'beam', 'beam_width': 4, 'alpha': 0.6}
    >>> DecodingConfig.from_settings({"method": "sample", "top_k": 5}).options
    {'temperature': 1.0, 'top_k': 5, 'top_p': None, 'seed': 0}
    """

    method: str = option("greedy", _one_of(list(DECODING_METHODS)), choices=tuple(DECODING_METHODS))
    beam_width: int = option(4, "beam search: hypotheses kept (the paper: 4)")
    alpha: float = option(0.6, "beam search: length penalty exponent (the paper: 0.6)")
    temperature: float = option(1.0, "sampling: logits are divided by it")
    top_k: int | None = option(None, "sampling: among the k likeliest tokens")
    top_p: float | None = option(None, "sampling: among the likeliest tokens of total probability p")
    seed: int = option(0, "sampling: the seed", flag="decoding-seed")

    def __post_init__(self):
        if self.method not in DECODING_METHODS:
            raise ValueError(f"Unknown decoding method {self.method!r}; use one of {sorted(DECODING_METHODS)}.")
        problems = [
            "beam_width must be at least 1" * (self.beam_width < 1),
            "temperature must be positive" * (self.temperature <= 0),
            "top_k must be at least 1" * (self.top_k is not None and self.top_k < 1),
            "top_p must be in (0, 1]" * (self.top_p is not None and not 0 < self.top_p <= 1),
        ]
        problems = [problem for problem in problems if problem]
        if problems:
            raise ValueError(f"Invalid decoding options: {'; '.join(problems)}.")

    @property
    def options(self):
        """The keyword arguments of the method's search."""
        return {name: getattr(self, name) for name in METHOD_OPTIONS[self.method]}

    @property
    def settings(self):
        """The method and its options: what results and exports record."""
        return {"method": self.method, **self.options}

    def replace(self, **changes):
        """A copy with `changes`, refusing options that its method does not read.

        Example:
        >>> DecodingConfig("beam").replace(method="sample", top_k=5).settings["top_k"]
        5
        >>> DecodingConfig("beam").replace(top_k=5)
        Traceback (most recent call last):
        ...
        ValueError: Decoding method 'beam' takes ['beam_width', 'alpha'], not ['top_k'].
        """
        method = changes.get("method", self.method)
        unused = set(changes) - {"method", *METHOD_OPTIONS.get(method, ())}
        if unused and method in METHOD_OPTIONS:
            raise ValueError(f"Decoding method {method!r} takes {list(METHOD_OPTIONS[method])}, "
                             f"not {sorted(unused)}.")
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_settings(cls, settings):
        """The config of a `{"method": ..., **options}` dict (e.g. an
        export's settings), refusing options that the method does not read."""
        return cls().replace(**settings)
