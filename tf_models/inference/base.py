"""What every inference module shares: its task name, its serving
signatures, how a command-line request is made and how results print."""

import tensorflow as tf


def known_ids(token_ids, vocabulary_size, unk_id):
    """`token_ids` with ids outside `[0, vocabulary_size)` read as `unk_id`:
    a serving signature must not crash on the ids a client sends."""
    return tf.where((token_ids < 0) | (token_ids >= vocabulary_size), unk_id, token_ids)


class ServingModule(tf.Module):
    """A `tf.Module` that `tf_models.export` saves for TF Serving.

    Subclasses set `TASK` (the task's one name: its default export name,
    and `settings["task"]` in the export, so the command line knows how to
    query and print any export) and
    `SERVING_SIGNATURES` (signature name -> method), and implement
    `format_outputs`.
    """

    TASK = None
    SERVING_SIGNATURES = {"serving_default": "__call__"}

    @classmethod
    def request(cls, texts, context=None, second=None):
        """`(signature name, inputs)` that ask this model about `texts`.

        Args:
            texts: the strings given on the command line.
            context: the text questions are answered from (question answering).
            second: the second text of every pair (models of text pairs).
        """
        if context is not None:
            raise SystemExit(f"--context is for question answering, not {cls.TASK}.")
        if second is not None:
            if "pairs" not in cls.SERVING_SIGNATURES:
                raise SystemExit(f"--second is for models of text pairs, not {cls.TASK}.")
            return "pairs", {"first": list(texts), "second": [second] * len(texts)}
        return "serving_default", {"sentences": list(texts)}

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
