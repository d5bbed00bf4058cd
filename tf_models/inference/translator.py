"""Raw text in, translated text out: tokenizer, model and decoder together."""

import tensorflow as tf

from tf_models.inference.decoding import greedy_decode


class Translator(tf.Module):
    """Translates batches of raw strings with a trained `Transformer`.

    Tokenization, greedy decoding and detokenization all run in one
    `tf.function`, so the same object can later be exported for TF Serving.

    Args:
        model: a trained `Transformer`.
        source_tokenizer: tokenizer of the source language.
        target_tokenizer: tokenizer with `[START]` and `[END]`; defaults to
            `source_tokenizer`.
        max_length: hard cap on source tokens and on generated tokens.
        extra_length: at most `source length + extra_length` tokens are
            generated (translations are rarely much longer than the source).
    """

    def __init__(self, model, source_tokenizer, target_tokenizer=None, max_length=128, extra_length=16):
        super().__init__()
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer or source_tokenizer
        self.max_length = max_length
        self.extra_length = extra_length

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, sentences):
        """`(batch,)` strings -> `(batch,)` translated strings."""
        source = self.source_tokenizer.tokenize(sentences)[:, : self.max_length]
        source = source.to_tensor(default_value=self.model.padding_id)  # (B, S)
        limit = tf.minimum(tf.shape(source)[1] + self.extra_length, self.max_length)
        generated = greedy_decode(
            self.model,
            source,
            start_id=self.target_tokenizer.start_id,
            end_id=self.target_tokenizer.end_id,
            max_length=limit,
        )
        return self.target_tokenizer.detokenize(generated)

    def translate(self, sentences, batch_size=64):
        """Translates a Python list of strings, batch by batch."""
        translations = []
        for start in range(0, len(sentences), batch_size):
            batch = tf.constant(sentences[start : start + batch_size])
            translations.extend(t.decode("utf-8") for t in self(batch).numpy())
        return translations
