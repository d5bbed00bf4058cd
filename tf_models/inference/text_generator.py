"""Raw prompts in, continuations out: tokenizer, `CausalLM` and search together."""

import tensorflow as tf

from tf_models.inference.base import MAX_BATCH_SIZE, MAX_INPUT_BYTES, ServingModule, check_batch_size, known_ids
from tf_models.inference.decoding import generate
from tf_models.inference.decoding_config import DecodingConfig


class TextGenerator(ServingModule):
    """Continues batches of raw prompt strings with a trained `CausalLM`.

    A prompt is read as the start of a document: it follows an `[END]`, as
    every document did in training, so an empty prompt asks for a new
    document. Tokenization, generation and detokenization run in one
    `tf.function`, so the same object is what `tf_models.export` saves for
    TF Serving; the decoding method and its options are fixed when the
    generator is made.

    A prompt keeps its last `max_prompt_length` tokens. A continuation has at
    most `max_new_tokens` tokens, ends at `[END]`, and never runs past
    `context_length` positions (beyond those the model saw in training its
    position embeddings are untrained).

    Args:
        model: a trained `CausalLM`.
        tokenizer: its tokenizer, with `[END]` (`CharacterTokenizer` or
            `WordPieceTokenizer`).
        max_new_tokens: most tokens generated per prompt.
        context_length: most positions used, prompt and continuation
            together (default: the model's `max_sequence_length`; a
            training run passes its `sequence_length`).
        max_prompt_length: most prompt tokens kept (default: half the
            context).
        decoding: a `DecodingConfig` (default: greedy).
        **options: changes to `decoding`, as in `Translator`.

    Example:
    >>> import tempfile
    >>> from tf_models.data.tokenizers import train_character_tokenizer
    >>> from tf_models.models import CausalLM
    >>> tokenizer = train_character_tokenizer(["a cat sat"], tempfile.mkdtemp() + "/c.json")
    >>> model = CausalLM.from_preset("test", vocabulary_size=tokenizer.vocabulary_size)
    >>> generator = TextGenerator(model, tokenizer, max_new_tokens=5, method="sample", seed=1)
    >>> generator(tf.constant(["a c", ""]))["text"].shape
    TensorShape([2])
    """

    TASK = "text_generator"
    # Signature name -> method, for `tf_models.export`.
    SERVING_SIGNATURES = {"serving_default": "__call__", "ids": "generate_ids"}
    SETTINGS = ("max_new_tokens", "context_length", "max_prompt_length")
    EXAMPLE_INPUTS = {"serving_default": {"prompts": ["It is a truth", ""]}}
    TEXTS_INPUT = "prompts"

    def __init__(self, model, tokenizer, max_new_tokens=100, context_length=None, max_prompt_length=None,
                 decoding=None, max_input_bytes=MAX_INPUT_BYTES, max_batch_size=MAX_BATCH_SIZE, **options):
        super().__init__(max_input_bytes, max_batch_size)
        self.model = model
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self.context_length = min(context_length or model.max_sequence_length, model.max_sequence_length)
        self.max_prompt_length = max_prompt_length or self.context_length // 2
        self.decoding = (decoding or DecodingConfig()).replace(**options)
        if tokenizer.end_id is None:
            raise ValueError("The tokenizer has no [END] token, which starts every prompt.")
        if max_new_tokens < 1 or self.max_prompt_length + 1 >= self.context_length:
            raise ValueError(f"max_new_tokens must be >= 1 and max_prompt_length ({self.max_prompt_length}) "
                             f"+ [END] must leave room in context_length {self.context_length}.")

    @staticmethod
    def format_outputs(texts, outputs):
        """`'prompt' -> 'continuation'` per prompt (quoted: spaces and newlines matter)."""
        return [f"{text!r} -> {continuation.decode()!r}" for text, continuation in zip(texts, outputs["text"])]

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def generate_ids(self, prompt_ids):
        """Prompt token ids in (each padded after its end), generated ids out.

        Args:
            prompt_ids: `(batch, length)` int32, a prompt's tokens up to
                its first padding id (no `[END]` before them: it is added);
                ids outside the vocabulary read as `[UNK]`.

        Returns:
            A dict: `token_ids` `(batch, max_new_tokens)` int32 (padded
            after `[END]`) and `scores` `(batch,)` float32.
        """
        prompt_ids = check_batch_size(prompt_ids, self.max_batch_size)
        pad = self.model.padding_id
        # A prompt ends at its first padding id; ids outside the vocabulary read as [UNK].
        real = tf.math.cumprod(tf.cast(prompt_ids != pad, tf.int32), axis=1)  # (B, L)
        prompt_ids = known_ids(prompt_ids, self.model.vocabulary_size, self.tokenizer.unk_id)
        prompts = tf.RaggedTensor.from_tensor(prompt_ids, lengths=tf.reduce_sum(real, axis=1))
        prompts = prompts[:, -self.max_prompt_length :]  # the last tokens matter most
        ends = tf.fill([prompts.nrows(), 1], tf.constant(self.tokenizer.end_id, tf.int32))
        prompts = tf.concat([tf.RaggedTensor.from_tensor(ends), prompts], axis=1)  # (B, None)
        limits = tf.minimum(self.max_new_tokens, self.context_length - tf.cast(prompts.row_lengths(), tf.int32))
        token_ids, scores = generate(self.model, {"token_ids": prompts.to_tensor(default_value=pad)}, limits,
                                     end_id=self.tokenizer.end_id, method=self.decoding.method,
                                     **self.decoding.options)
        # Every batch has the same width, whatever its limits.
        token_ids = tf.pad(token_ids, [[0, 0], [0, self.max_new_tokens - tf.shape(token_ids)[1]]],
                           constant_values=pad)
        return {"token_ids": token_ids, "scores": scores}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, prompts):
        """Raw prompt strings in, continuations out.

        Args:
            prompts: `(batch,)` strings.

        Returns:
            A dict: `text` `(batch,)` the continuations (without their
            prompts), `token_ids` `(batch, max_new_tokens)` int32 and
            `scores` `(batch,)` float32 log-probabilities.
        """
        # Only the end of a prompt is continued: its last bytes, then its last tokens.
        prompt_ids = self.tokenizer.tokenize(self.bounded(prompts, keep="end"))[:, -self.max_prompt_length :]
        outputs = self.generate_ids(prompt_ids.to_tensor(default_value=self.model.padding_id))
        return {"text": self.tokenizer.detokenize(outputs["token_ids"]), **outputs}

    def complete(self, prompts, batch_size=64):
        """Continues a Python list of prompts, batch by batch; returns strings."""
        return self.strings_in_batches(prompts, "text", batch_size)
