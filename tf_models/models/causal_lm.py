"""A decoder-only causal language model (GPT) from the shared encoder block."""

import dataclasses

import keras
from keras import ops

from tf_models.layers import Dropout, PositionEmbedding, TokenEmbedding, TransformerEncoderLayer
from tf_models.models.configs import CausalLMConfig, config_values
from tf_models.models.transformer import output_logits, run_stack


def gpt_initializer():
    """GPT-2's initializer of every kernel and embedding: normal, stddev 0.02."""
    return keras.initializers.RandomNormal(stddev=0.02)


def embed(token_embedding, position_embedding, dropout, token_ids, start_index=0, training=None):
    """Token plus learned position embeddings, then dropout: `(B, T) -> (B, T, D)`.

    The functional graph and `CausalLM.decode_step` both call this (and
    `output_logits`), so generation can never drift from training.
    """
    x = token_embedding(token_ids)  # (B, T, D)
    x = x + position_embedding(x, start_index=start_index)
    return dropout(x, training=training)


def run_causal_stack(token_embedding, position_embedding, dropout, layers, token_ids, padding_mask,
                     attention_scores=None):
    """A full pass through the embeddings and the causal stack, before the
    final norm: `(B, T) -> (B, T, D)`.

    The functional graph and `CausalLM.attention_scores` call this
    (`attention_scores` as in `run_stack`); `CausalLM.decode_step` runs the
    same layers with a key/value cache.
    """
    x = embed(token_embedding, position_embedding, dropout, token_ids)  # (B, T, D)
    return run_stack(layers, x, padding_mask=padding_mask, use_causal_mask=True, attention_scores=attention_scores)


@keras.saving.register_keras_serializable(package="tf_models")
class CausalLM(keras.Model):
    """A decoder-only language model: next-token logits for every position.

    GPT's architecture (Radford et al. 2018, 2019): token and learned position
    embeddings, a stack of the package's one `TransformerEncoderLayer` with a
    causal mask (no cross-attention, no encoder), a final LayerNorm after a
    pre-norm stack, and an output projection tied to the token embedding.
    The Transformer's encoder, BERT and this model are the same layer class;
    what differs is what each position may see (everything, everything,
    only the past) and what it is trained to predict.

    Inputs `{"token_ids", "padding_mask"}`, `(batch, length)` int32; output
    `{"logits"}`, `(batch, length, vocabulary_size)` float32: at position
    `t`, the logits of token `t + 1`.

    Args:
        vocabulary_size: number of tokens.
        num_layers: layers in the stack.
        num_heads: attention heads per layer.
        hidden_dim: model width.
        intermediate_dim: feed-forward width.
        dropout: dropout rate everywhere.
        max_sequence_length: learned positions, the longest context.
        normalize_first: pre-norm (GPT-2) or post-norm (GPT-1).
        activation: feed-forward activation.
        layer_norm_epsilon: LayerNorm epsilon.
        padding_id: the id of padding tokens.
        **kwargs: standard `keras.Model` arguments (`name`).

    Example:
    >>> model = CausalLM.from_preset("test")
    >>> ids = keras.ops.array([[5, 6, 7, 0]])
    >>> model({"token_ids": ids, "padding_mask": ids != 0})["logits"].shape
    TensorShape([1, 4, 50])
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        dropout=0.1,
        max_sequence_length=1024,
        normalize_first=True,
        activation="gelu_approximate",
        layer_norm_epsilon=1e-5,
        padding_id=0,
        **kwargs,
    ):
        # === Layers ===
        token_embedding = TokenEmbedding(
            vocabulary_size, hidden_dim, embeddings_initializer=gpt_initializer(), name="token_embedding"
        )
        position_embedding = PositionEmbedding(
            max_sequence_length, initializer=gpt_initializer(), name="position_embedding"
        )
        embedding_dropout = Dropout(dropout, name="embedding_dropout")
        layers = [
            TransformerEncoderLayer(
                num_heads=num_heads,
                intermediate_dim=intermediate_dim,
                dropout=dropout,
                activation=activation,
                layer_norm_epsilon=layer_norm_epsilon,
                normalize_first=normalize_first,
                kernel_initializer=gpt_initializer(),
                name=f"layer_{i}",
            )
            for i in range(num_layers)
        ]
        # Pre-norm leaves the residual stream unnormalised after the last layer.
        final_norm = (
            keras.layers.LayerNormalization(epsilon=layer_norm_epsilon, name="final_norm")
            if normalize_first else None
        )

        # === Functional graph ===
        token_ids = keras.Input((None,), dtype="int32", name="token_ids")
        padding_mask = keras.Input((None,), dtype="int32", name="padding_mask")
        x = run_causal_stack(token_embedding, position_embedding, embedding_dropout, layers, token_ids,
                             padding_mask)  # (B, T, D)
        logits = output_logits(final_norm, token_embedding, None, x)  # (B, T, V)
        super().__init__(
            inputs={"token_ids": token_ids, "padding_mask": padding_mask},
            outputs={"logits": logits},
            **kwargs,
        )

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.max_sequence_length = max_sequence_length
        self.normalize_first = normalize_first
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.padding_id = padding_id

        # === Parts, for step-by-step generation (`decode_step`) and inspection ===
        self.token_embedding = token_embedding
        self.position_embedding = position_embedding
        self.embedding_dropout = embedding_dropout
        self.encoder_layers = layers
        self.final_norm = final_norm

    def attention_scores(self, inputs):
        """Every layer's attention probabilities for `inputs`, from the
        forward pass itself (`run_causal_stack`), dropout off.

        Args:
            inputs: the model's input dict (`token_ids`, `padding_mask`).

        Returns:
            `{"encoder": [...]}`: one `(batch, num_heads, length, length)`
            tensor per layer, in the compute dtype, causal (zero above the
            diagonal). The key is `"encoder"` because the stack is
            `encoder_layers`, the shared encoder layer with a causal mask.
            `tf_models.visualization.attention_maps` returns them as
            float32 arrays.

        Example:
        >>> model = CausalLM.from_preset("test")
        >>> ids = keras.ops.array([[5, 6, 7, 0]])
        >>> scores = model.attention_scores({"token_ids": ids, "padding_mask": ids != 0})
        >>> [tuple(layer.shape) for layer in scores["encoder"]]
        [(1, 2, 4, 4), (1, 2, 4, 4)]
        """
        scores = []
        run_causal_stack(self.token_embedding, self.position_embedding, self.embedding_dropout,
                         self.encoder_layers, ops.convert_to_tensor(inputs["token_ids"], "int32"),
                         ops.cast(ops.convert_to_tensor(inputs["padding_mask"]), "int32"),  # the graph's input dtype
                         attention_scores=scores)
        return {"encoder": [layer_scores["self_attention"] for layer_scores in scores]}

    def empty_caches(self, rows, max_length, dtype="float32"):
        """Zeroed key/value caches for `decode_step`: a tuple of `(rows, 2,
        max_length, num_heads, head_dim)`, one per layer."""
        shape = (rows, 2, max_length, self.num_heads, self.hidden_dim // self.num_heads)
        return tuple(ops.zeros(shape, dtype) for _ in self.encoder_layers)

    def decode_step(self, tokens, index, caches):
        """One generation step: the logits of the token after `tokens`.

        The keys and values of `tokens` go into the caches at `index`; the
        new position attends to every cached position up to `index`, so
        running the steps over a sequence equals the full causal pass.

        Args:
            tokens: `(rows,)` int32, the tokens at position `index`.
            index: scalar int32 position of `tokens`.
            caches: as `empty_caches` made them, filled by the steps before.

        Returns:
            `(logits, caches)`: `(rows, vocabulary_size)` float32 logits for
            position `index + 1`, and the updated caches.

        Example:
        >>> model = CausalLM.from_preset("test")
        >>> caches = model.empty_caches(1, max_length=8)
        >>> logits, caches = model.decode_step(keras.ops.array([5]), 0, caches)
        >>> logits.shape
        TensorShape([1, 50])
        """
        logits, caches = self._cached_pass(tokens[:, None], index, caches)
        return logits[:, 0], caches

    def prefill(self, token_ids, caches):
        """Runs a prompt through the model at once, filling the caches.

        Args:
            token_ids: `(rows, length)` int32 from position 0, no padding.
            caches: as `empty_caches` made them.

        Returns:
            `(logits, caches)`: `(rows, length, vocabulary_size)` float32 and
            the caches, filled for positions `0 .. length - 1`.
        """
        return self._cached_pass(token_ids, 0, caches)

    def generation_step(self, inputs, max_length, repeat=1):
        """The step that the searches of `tf_models.inference` drive, for a batch of prompts.

        Prompts may differ in length. All but the last token of the shortest
        run through the model at once (`prefill`), filling the caches; the
        step goes on from there with `decode_step`, and the rest of each
        longer prompt is forced on the search, token by token.

        Args:
            inputs: a dict: `token_ids` `(batch, prompt_length)` int32, each
                row at least one token, padded after its end with
                `padding_id`.
            max_length: the most tokens generated after the longest prompt.
            repeat: rows per example (the beam width): the step works on
                `batch * repeat` rows, row `b * repeat + k` for example `b`.

        Returns:
            `(next_logits, cache, start_ids, forced_ids)`: the step
            `next_logits(tokens, index, cache) -> (logits, cache)` (float32
            `(rows, vocabulary_size)` logits for the token after `tokens`,
            `index` counting from the start tokens); its initial cache (the
            prefilled `empty_caches`); the `(batch,)` tokens it starts from;
            and the `(batch, F)` prompt tokens after them, padded, which
            the search must force.

        Example:
        >>> model = CausalLM.from_preset("test")
        >>> next_logits, cache, start_ids, forced_ids = model.generation_step(
        ...     {"token_ids": [[5, 6, 7], [8, 0, 0]]}, max_length=4)
        >>> start_ids.numpy().tolist(), forced_ids.numpy().tolist()
        ([5, 8], [[6, 7], [0, 0]])
        """
        prompt_ids = ops.convert_to_tensor(inputs["token_ids"], "int32")
        pad = self.padding_id
        # A column even for an empty batch, so the start tokens can be read.
        prompt_ids = ops.pad(prompt_ids, [[0, 0], [0, ops.maximum(1 - ops.shape(prompt_ids)[1], 0)]],
                             constant_values=pad)
        width = ops.shape(prompt_ids)[1]
        lengths = ops.sum(ops.cast(prompt_ids != pad, "int32"), axis=1)
        shortest = ops.maximum(ops.min(lengths, initial=width), 1)  # an empty batch's: width
        rows = ops.repeat(prompt_ids, repeat, axis=0)
        caches = self.empty_caches(ops.shape(rows)[0], width + max_length, self.encoder_layers[0].compute_dtype)
        _, caches = self.prefill(rows[:, : shortest - 1], caches)
        offset = shortest - 1

        def next_logits(tokens, index, caches):
            return self.decode_step(tokens, offset + index, caches)

        return next_logits, caches, prompt_ids[:, shortest - 1], prompt_ids[:, shortest:]

    def _cached_pass(self, token_ids, index, caches):
        """`token_ids` `(rows, T)` at positions `index ..`, through the cached layers."""
        x = embed(self.token_embedding, self.position_embedding, self.embedding_dropout, token_ids,
                  start_index=index)  # (rows, T, D)
        updated = []
        for layer, cache in zip(self.encoder_layers, caches):
            x, cache = layer(x, use_causal_mask=True, self_attention_cache=cache, cache_update_index=index)
            updated.append(cache)
        logits = output_logits(self.final_norm, self.token_embedding, None, x)  # (rows, T, V)
        return ops.cast(logits, "float32"), tuple(updated)

    @classmethod
    def from_preset(cls, name, **overrides):
        """Builds the named architecture (see `CAUSAL_LM_PRESETS`): `test`,
        `tiny` or `gpt2_small`, with random weights.

        Example:
        >>> CausalLM.from_preset("test", num_layers=1).num_layers
        1
        """
        return cls(**dataclasses.asdict(CausalLMConfig.preset(name, **overrides)))

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, **config_values(self, CausalLMConfig)}
