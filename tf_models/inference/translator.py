"""Raw text in, translated text out: tokenizer, model and decoder together."""

import tensorflow as tf

from tf_models.inference.base import MAX_BATCH_SIZE, MAX_INPUT_BYTES, ServingModule, check_batch_size, known_ids
from tf_models.inference.decoding import generate
from tf_models.inference.decoding_config import DecodingConfig


class Translator(ServingModule):
    """Translates batches of raw strings with a trained `Transformer`.

    Tokenization, decoding and detokenization all run in one `tf.function`,
    so the same object is what `tf_models.export` saves for TF Serving. The
    decoding method and its options are fixed when the translator is made.

    Sources longer than `max_length` tokens are truncated to their first
    `max_length` tokens. Each translation has at most `source tokens +
    extra_length` tokens, and never more than `max_length`.

    Args:
        model: a trained `Transformer`.
        source_tokenizer: tokenizer of the source language.
        target_tokenizer: tokenizer with `[START]` and `[END]`; defaults to
            `source_tokenizer`.
        max_length: hard cap on source tokens and on generated tokens.
        extra_length: generated tokens beyond the source length allowed.
        decoding: a `DecodingConfig` (default: greedy).
        **options: changes to `decoding`, as a shorthand: `method`
            ("greedy", "beam" or "sample") and the method's options
            (`beam_width` and `alpha` for beam search; `temperature`,
            `top_k`, `top_p` and `seed` for sampling).

    Example:
    >>> import tempfile
    >>> from tf_models.data import WordPieceTokenizer
    >>> from tf_models.models import Transformer
    >>> path = tempfile.mkdtemp() + "/vocab.txt"
    >>> tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[START]", "[END]", "a", "b"]
    >>> _ = open(path, "w").write("\\n".join(tokens) + "\\n")
    >>> model = Transformer.from_preset("test", vocabulary_size=len(tokens))
    >>> translator = Translator(model, WordPieceTokenizer(path), method="beam", beam_width=2)
    >>> translator(tf.constant(["a b", ""]))["translation"].shape
    TensorShape([2])
    """

    TASK = "translator"
    # Signature name -> method, for `tf_models.export`.
    SERVING_SIGNATURES = {"serving_default": "__call__", "ids": "translate_ids"}
    SETTINGS = ("max_length", "extra_length")

    def __init__(self, model, source_tokenizer, target_tokenizer=None, max_length=128, extra_length=16,
                 decoding=None, max_input_bytes=MAX_INPUT_BYTES, max_batch_size=MAX_BATCH_SIZE, **options):
        super().__init__(max_input_bytes, max_batch_size)
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer or source_tokenizer
        self.max_length = max_length
        self.extra_length = extra_length
        self.decoding = (decoding or DecodingConfig()).replace(**options)

    @staticmethod
    def format_outputs(texts, outputs):
        """`source -> translation` per sentence."""
        return [f"{text} -> {translation.decode()}" for text, translation in zip(texts, outputs["translation"])]

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def translate_ids(self, encoder_token_ids):
        """Token ids in (padded with the padding id), token ids out.

        Args:
            encoder_token_ids: `(batch, source_length)` int32; ids outside
                the vocabulary read as `[UNK]`.

        Returns:
            A dict: `token_ids` `(batch, length)` int32 (padded after
            `[END]`) and `scores` `(batch,)` float32.
        """
        encoder_token_ids = check_batch_size(encoder_token_ids, self.max_batch_size)
        source = encoder_token_ids[:, : self.max_length]
        source = known_ids(source, self.model.vocabulary_size, self.source_tokenizer.unk_id)
        lengths = tf.reduce_sum(tf.cast(source != self.model.padding_id, tf.int32), axis=1)
        # An empty source still gets a (padding) column for the encoder.
        source = tf.pad(source, [[0, 0], [0, tf.maximum(1 - tf.shape(source)[1], 0)]])
        limits = tf.minimum(lengths + self.extra_length, self.max_length)  # (B,)
        starts = tf.fill([tf.shape(source)[0], 1], tf.constant(self.target_tokenizer.start_id, tf.int32))
        token_ids, scores = generate(
            self.model, {"encoder_token_ids": source, "decoder_token_ids": starts}, limits,
            self.target_tokenizer.end_id, self.decoding.method, **self.decoding.options,
        )
        return {"token_ids": token_ids, "scores": scores}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, sentences):
        """Raw strings in, translations out.

        Args:
            sentences: `(batch,)` strings.

        Returns:
            A dict: `translation` `(batch,)` strings, `token_ids` `(batch,
            length)` int32 and `scores` `(batch,)` float32.
        """
        source = self.source_tokenizer.tokenize(self.bounded(sentences))[:, : self.max_length]
        outputs = self.translate_ids(source.to_tensor(default_value=self.model.padding_id))
        return {"translation": self.target_tokenizer.detokenize(outputs["token_ids"]), **outputs}

    def translate(self, sentences, batch_size=64):
        """Translates a Python list of strings, batch by batch."""
        return self.strings_in_batches(sentences, "translation", batch_size)
