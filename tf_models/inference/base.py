"""What every inference module shares: its task name, its serving
signatures, how a command-line request is made and how results print."""

import tensorflow as tf

# What one request may cost: its strings are cut to `max_input_bytes` bytes
# each and it holds at most `max_batch_size` of them (or rows of ids). Without
# a cap a single request with a 1 MB context made the tiny question answerer
# allocate about 700 MiB (benchmarks.serving_memory); a wider model, more.
MAX_INPUT_BYTES = 16_384
MAX_BATCH_SIZE = 256


def check_batch_size(values, max_batch_size):
    """`values`, once checked to have at most `max_batch_size` rows.

    Args:
        values: a request's input, batch first.
        max_batch_size: most rows allowed.

    Returns:
        `values`, computed after the check: nothing downstream runs on a
        request that fails it (`InvalidArgumentError`, an HTTP 400 from TF
        Serving).
    """
    check = tf.debugging.assert_less_equal(
        tf.shape(values)[0], max_batch_size,
        message=f"a request holds at most {max_batch_size} inputs; send several requests")
    with tf.control_dependencies([check]):
        return tf.identity(values)


def bounded_strings(strings, max_bytes, max_batch_size, keep="start"):
    """`strings` cut to `max_bytes` bytes each, after `check_batch_size`.

    Args:
        strings: `(batch,)` strings.
        max_bytes: bytes kept of each.
        max_batch_size: most strings in one request.
        keep: `"start"` keeps the first bytes, `"end"` the last (a prompt,
            which is continued from its end).

    Returns:
        `(batch,)` strings. A cut through a character leaves part of its
        bytes, which the tokenizers read as they read any invalid UTF-8;
        byte offsets into a kept start are offsets into the input.

    Example:
    >>> bounded_strings(tf.constant(["abcdef", "ab"]), 4, 8, keep="end").numpy().tolist()
    [b'cdef', b'ab']
    """
    strings = check_batch_size(strings, max_batch_size)
    lengths = tf.strings.length(strings)  # bytes
    start = tf.maximum(lengths - max_bytes, 0) if keep == "end" else tf.zeros_like(lengths)
    return tf.strings.substr(strings, start, tf.fill(tf.shape(start), max_bytes))


def known_ids(token_ids, vocabulary_size, unk_id):
    """`token_ids` with ids outside `[0, vocabulary_size)` read as `unk_id`:
    a serving signature must not crash on the ids a client sends."""
    return tf.where((token_ids < 0) | (token_ids >= vocabulary_size), unk_id, token_ids)


class ServingModule(tf.Module):
    """A `tf.Module` that `tf_models.export` saves for TF Serving.

    A subclass declares its task as data: `TASK` (the task's one name: its
    default export name, and `settings["task"]` in the export, so the
    command line knows how to query and print any export),
    `SERVING_SIGNATURES` (signature name -> method), `SETTINGS` (the
    attributes its export records), `EXAMPLE_INPUTS` (the warmup requests)
    and `TEXTS_INPUT` (the input of `serving_default` that takes the texts
    of the command line); and it implements `format_outputs`. Its
    signatures pass every input through `bounded` (strings) or
    `check_batch_size` (ids).

    Args:
        max_input_bytes: bytes kept of each input string; the rest is
            dropped (for prompts: the start).
        max_batch_size: most inputs in one request; more is an error.
    """

    TASK = None
    SERVING_SIGNATURES = {"serving_default": "__call__"}
    SETTINGS = ()
    EXAMPLE_INPUTS = {"serving_default": {"sentences": ["A short sentence.", ""]}}
    TEXTS_INPUT = "sentences"
    # A module that decodes sets its `DecodingConfig`: the export records it too.
    decoding = None

    def __init__(self, max_input_bytes=MAX_INPUT_BYTES, max_batch_size=MAX_BATCH_SIZE):
        super().__init__()
        self.max_input_bytes = max_input_bytes
        self.max_batch_size = max_batch_size

    @property
    def limits(self):
        """The caps on one request, as the export's settings record them."""
        return {"max_input_bytes": self.max_input_bytes, "max_batch_size": self.max_batch_size}

    @property
    def settings(self):
        """What the export records: the task, the limits, the decoding method
        and its options (if it decodes) and the `SETTINGS` attributes."""
        decoding = {} if self.decoding is None else self.decoding.settings
        own = {name: getattr(self, name) for name in self.SETTINGS}
        return {"task": self.TASK, **self.limits, **decoding, **own}

    @property
    def example_inputs(self):
        """Requests for the TF Serving warmup file: `EXAMPLE_INPUTS`."""
        return self.EXAMPLE_INPUTS

    def bounded(self, strings, keep="start"):
        """`strings` within this module's limits (`bounded_strings`)."""
        return bounded_strings(strings, self.max_input_bytes, self.max_batch_size, keep)

    @classmethod
    def request(cls, texts, context=None, second=None):
        """`(signature name, inputs)` that ask this model about `texts`.

        Args:
            texts: the strings given on the command line.
            context: the text questions are answered from (question answering).
            second: the second text of every pair (models of text pairs).

        Raises:
            ValueError: `context` or `second`, where this task reads none.
        """
        if context is not None:
            raise ValueError(f"--context is for question answering, not {cls.TASK}.")
        if second is not None:
            if "pairs" not in cls.SERVING_SIGNATURES:
                raise ValueError(f"--second is for models of text pairs, not {cls.TASK}.")
            return "pairs", {"first": list(texts), "second": [second] * len(texts)}
        return "serving_default", {cls.TEXTS_INPUT: list(texts)}

    @staticmethod
    def format_outputs(texts, outputs):
        """One printable line per text, from the NumPy `outputs` of `request`."""
        raise NotImplementedError

    def strings_in_batches(self, texts, output, batch_size=64):
        """Runs `self` on a Python list of strings, batch by batch; returns
        the `output` string of each, decoded."""
        results = []
        for start in range(0, len(texts), batch_size):
            batch = tf.constant(texts[start : start + batch_size], tf.string)
            results.extend(value.decode("utf-8") for value in self(batch)[output].numpy())
        return results

    @classmethod
    def query(cls, function_for, texts, context=None, second=None):
        """Printable lines of a request; `function_for(signature name)` runs it."""
        signature, inputs = cls.request(texts, context, second)
        tensors = {name: tf.constant(values, tf.string, shape=[len(values)]) for name, values in inputs.items()}
        outputs = function_for(signature)(**tensors)
        return cls.format_outputs(texts, {name: value.numpy() for name, value in outputs.items()})
