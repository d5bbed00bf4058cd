"""Config fields that carry their command-line help (no TensorFlow imported).

`tf_models.cli` makes one flag per field of a job config, or of a config
nested in one (`DecodingConfig`), from this metadata.
"""

import dataclasses


def option(default, help, **flag):
    """A config field with its command-line help.

    Args:
        default: the field's default.
        help: the flag's help text.
        **flag: how `tf_models.cli` makes the flag when the field's name will
            not do: `flag` (its name), `choices`.

    Example:
    >>> @dataclasses.dataclass(frozen=True)
    ... class Config:
    ...     epochs: int = option(3, "passes over the data")
    >>> dataclasses.fields(Config)[0].metadata["help"]
    'passes over the data'
    """
    return dataclasses.field(default=default, metadata={"help": help, **flag})
