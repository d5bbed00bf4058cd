"""The encoder-decoder Transformer of Vaswani et al. 2017."""

import dataclasses

import keras
from keras import ops

from tf_models.layers import (
    TransformerDecoderLayer,
    TransformerEmbedding,
    TransformerEncoderLayer,
    padding_mask_from_ids,
)
from tf_models.models.configs import TransformerConfig, config_values


def run_stack(layers, x, *args, attention_scores=None, **kwargs):
    """`x` through `layers` in order, each called as `layer(x, *args, **kwargs)`.

    Every stack of the three models runs through here, in the functional
    graph and in `attention_scores()`, so the attention read out is the one
    of the forward pass (same masks, same order).

    Args:
        layers: encoder or decoder layers.
        x: `(batch, length, hidden_dim)`.
        *args: further positional inputs of every layer (a decoder's
            `encoder_sequence`).
        attention_scores: a list, or `None`; a list receives each layer's
            dict of attention probabilities (`"self_attention"`, and
            `"cross_attention"` in a decoder layer), in stack order.
        **kwargs: keyword inputs of every layer (its masks).

    Returns:
        The last layer's output, `(batch, length, hidden_dim)`.
    """
    for layer in layers:
        if attention_scores is None:
            x = layer(x, *args, **kwargs)
        else:
            x, scores = layer(x, *args, return_attention_scores=True, **kwargs)
            attention_scores.append(scores)
    return x


def run_encoder(embedding, layers, final_norm, token_ids, padding_mask, attention_scores=None):
    """The encoder stack: embedding, layers, then the final norm (pre-norm only).

    The functional graph, `Transformer.encode` and
    `Transformer.attention_scores` call this, so decoding and inspection
    can never drift from training (`attention_scores` as in `run_stack`).
    """
    x = embedding(token_ids)  # (B, S, D)
    x = run_stack(layers, x, padding_mask=padding_mask, attention_scores=attention_scores)
    return final_norm(x) if final_norm else x


def run_decoder(embedding, layers, token_ids, padding_mask, encoder_output, encoder_padding_mask,
                attention_scores=None):
    """The decoder stack of a full (teacher-forced) pass: embedding, then
    layers, before the final norm: `(B, T) -> (B, T, D)`.

    The functional graph and `Transformer.attention_scores` call this
    (`attention_scores` as in `run_stack`); `Transformer.decode_step` runs
    the same layers one cached position at a time.
    """
    y = embedding(token_ids)  # (B, T, D)
    return run_stack(layers, y, encoder_output, decoder_padding_mask=padding_mask,
                     encoder_padding_mask=encoder_padding_mask, attention_scores=attention_scores)


def output_logits(final_norm, token_embedding, projection, hidden):
    """A decoder's end (the Transformer's and the CausalLM's): final norm
    (pre-norm only), then the output projection, tied to `token_embedding`
    when `projection` is None: `(B, T, D) -> (B, T, V)` float32."""
    hidden = final_norm(hidden) if final_norm else hidden
    if projection is None:
        return token_embedding(hidden, reverse=True)
    return projection(hidden)


@keras.saving.register_keras_serializable(package="tf_models")
class Transformer(keras.Model):
    """Encoder-decoder Transformer returning next-token logits.

    The encoder is a stack of `TransformerEncoderLayer`, the very class that
    `BertBackbone` stacks; the decoder stacks `TransformerDecoderLayer`.
    Padding masks are derived from the token ids (`padding_id`) and passed
    explicitly to every layer.

    For decoding the model also runs step by step, from the same parts and
    helpers as its graph: `encode` once, then `decode_step` per token with
    key/value caches (`cross_attention_caches`, `empty_caches`);
    `generation_step` puts these together into the step that the searches
    of `tf_models.inference` drive.

    Inputs (a dict):
        encoder_token_ids: `(batch, source_length)` int32 source tokens.
        decoder_token_ids: `(batch, target_length)` int32 target tokens,
            shifted right (they start with the start token).

    Outputs (a dict):
        logits: `(batch, target_length, target_vocabulary_size)` float32,
            the prediction of the next target token at every position.

    Args:
        vocabulary_size: source vocabulary size (the shared one when
            `share_embeddings`).
        num_layers: encoder layers, and as many decoder layers.
        num_heads: attention heads per layer.
        hidden_dim: model width (d_model).
        intermediate_dim: feed-forward width (d_ff).
        dropout: dropout rate (P_drop).
        target_vocabulary_size: target vocabulary size; `None` means
            `vocabulary_size`.
        share_embeddings: one embedding table for source and target (the
            paper, section 3.4); needs equal vocabulary sizes.
        tie_output_embeddings: compute logits with the transposed target
            embedding table instead of a separate dense layer.
        normalize_first: pre-norm layers plus a final LayerNorm per stack.
        activation: feed-forward activation.
        layer_norm_epsilon: LayerNorm epsilon.
        padding_id: the token id that marks padding.
        **kwargs: `keras.Model` arguments such as `name`.

    Example:
    >>> model = Transformer.from_preset("test")
    >>> ids = keras.ops.array([[5, 6, 7, 0]])
    >>> model({"encoder_token_ids": ids, "decoder_token_ids": ids})["logits"].shape
    TensorShape([1, 4, 50])
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers=6,
        num_heads=8,
        hidden_dim=512,
        intermediate_dim=2048,
        dropout=0.1,
        target_vocabulary_size=None,
        share_embeddings=True,
        tie_output_embeddings=True,
        normalize_first=False,
        activation="relu",
        layer_norm_epsilon=1e-6,
        padding_id=0,
        **kwargs,
    ):
        target_size = target_vocabulary_size or vocabulary_size
        if share_embeddings and target_size != vocabulary_size:
            raise ValueError(
                "share_embeddings=True needs one vocabulary, but "
                f"vocabulary_size={vocabulary_size} and "
                f"target_vocabulary_size={target_vocabulary_size}."
            )

        # === Layers ===
        def embedding(size, name):
            return TransformerEmbedding(size, hidden_dim, dropout=dropout, name=name)

        def stack(layer_class, name):
            return [
                layer_class(
                    num_heads=num_heads,
                    intermediate_dim=intermediate_dim,
                    dropout=dropout,
                    activation=activation,
                    layer_norm_epsilon=layer_norm_epsilon,
                    normalize_first=normalize_first,
                    name=f"{name}_{i}",
                )
                for i in range(num_layers)
            ]

        def final_norm(name):
            # Pre-norm leaves the residual stream unnormalised after the last layer.
            if not normalize_first:
                return None
            return keras.layers.LayerNormalization(epsilon=layer_norm_epsilon, name=name)

        if share_embeddings:
            encoder_embedding = decoder_embedding = embedding(vocabulary_size, "embedding")
        else:
            encoder_embedding = embedding(vocabulary_size, "encoder_embedding")
            decoder_embedding = embedding(target_size, "decoder_embedding")
        encoder_layers = stack(TransformerEncoderLayer, "encoder_layer")
        decoder_layers = stack(TransformerDecoderLayer, "decoder_layer")
        encoder_norm = final_norm("encoder_final_norm")
        decoder_norm = final_norm("decoder_final_norm")
        if tie_output_embeddings:
            output_projection = None
        else:
            # float32 whatever the policy: logits feed a softmax and a loss.
            output_projection = keras.layers.Dense(
                target_size, dtype="float32", name="output_projection"
            )

        # === Functional graph ===
        encoder_token_ids = keras.Input((None,), dtype="int32", name="encoder_token_ids")
        decoder_token_ids = keras.Input((None,), dtype="int32", name="decoder_token_ids")
        encoder_mask = padding_mask_from_ids(encoder_token_ids, padding_id)  # (B, S)
        decoder_mask = padding_mask_from_ids(decoder_token_ids, padding_id)  # (B, T)

        encoder_output = run_encoder(encoder_embedding, encoder_layers, encoder_norm, encoder_token_ids,
                                     encoder_mask)  # (B, S, D)
        y = run_decoder(decoder_embedding, decoder_layers, decoder_token_ids, decoder_mask, encoder_output,
                        encoder_mask)  # (B, T, D)
        logits = output_logits(decoder_norm, decoder_embedding.token_embedding, output_projection, y)  # (B, T, V)

        super().__init__(
            inputs={
                "encoder_token_ids": encoder_token_ids,
                "decoder_token_ids": decoder_token_ids,
            },
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
        self.target_vocabulary_size = target_vocabulary_size
        self.share_embeddings = share_embeddings
        self.tie_output_embeddings = tie_output_embeddings
        self.normalize_first = normalize_first
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.padding_id = padding_id

        # === Parts, for step-by-step decoding (`decode_step`) and inspection ===
        self.encoder_embedding = encoder_embedding
        self.decoder_embedding = decoder_embedding
        self.encoder_layers = encoder_layers
        self.decoder_layers = decoder_layers
        self.encoder_final_norm = encoder_norm
        self.decoder_final_norm = decoder_norm
        self.output_projection = output_projection

    def encode(self, encoder_token_ids, attention_scores=None):
        """Runs the encoder once, for decoding.

        Args:
            encoder_token_ids: `(batch, source_length)` int32.
            attention_scores: a list to receive each encoder layer's
                attention (see `run_stack`), or `None`.

        Returns:
            `(encoder_output, encoder_padding_mask)`: `(batch, source_length,
            hidden_dim)` and `(batch, source_length)` bool.
        """
        mask = padding_mask_from_ids(encoder_token_ids, self.padding_id)
        output = run_encoder(self.encoder_embedding, self.encoder_layers, self.encoder_final_norm,
                             encoder_token_ids, mask, attention_scores)
        return output, mask

    def attention_scores(self, inputs):
        """Every layer's attention probabilities for `inputs`, from the
        forward pass itself (`run_encoder`, `run_decoder`), dropout off.

        Args:
            inputs: the model's input dict (`encoder_token_ids`,
                `decoder_token_ids`).

        Returns:
            A dict of lists, one `(batch, num_heads, queries, keys)` tensor
            per layer, in the compute dtype: `"encoder"` (source to source),
            `"decoder_self"` (target to target, causal) and `"decoder_cross"`
            (target to source). `tf_models.visualization.attention_maps`
            returns them as float32 arrays.

        Example:
        >>> model = Transformer.from_preset("test")
        >>> ids = keras.ops.array([[5, 6, 7, 0]])
        >>> scores = model.attention_scores({"encoder_token_ids": ids, "decoder_token_ids": ids[:, :3]})
        >>> {name: tuple(maps[-1].shape) for name, maps in scores.items()}
        {'encoder': (1, 2, 4, 4), 'decoder_self': (1, 2, 3, 3), 'decoder_cross': (1, 2, 3, 4)}
        """
        encoder, decoder = [], []
        encoder_output, encoder_mask = self.encode(ops.convert_to_tensor(inputs["encoder_token_ids"], "int32"),
                                                   encoder)
        decoder_ids = ops.convert_to_tensor(inputs["decoder_token_ids"], "int32")
        run_decoder(self.decoder_embedding, self.decoder_layers, decoder_ids,
                    padding_mask_from_ids(decoder_ids, self.padding_id), encoder_output, encoder_mask,
                    attention_scores=decoder)
        return {
            "encoder": [scores["self_attention"] for scores in encoder],
            "decoder_self": [scores["self_attention"] for scores in decoder],
            "decoder_cross": [scores["cross_attention"] for scores in decoder],
        }

    def cross_attention_caches(self, encoder_output):
        """Each decoder layer's cross-attention keys and values, computed once
        per source: a tuple of `(batch, 2, source_length, num_heads, head_dim)`."""
        return tuple(layer.cross_attention.compute_key_value_cache(encoder_output) for layer in self.decoder_layers)

    def empty_caches(self, rows, max_length, dtype="float32"):
        """Zeroed self-attention caches for `decode_step`: a tuple of
        `(rows, 2, max_length, num_heads, head_dim)`, one per decoder layer."""
        shape = (rows, 2, max_length, self.num_heads, self.hidden_dim // self.num_heads)
        return tuple(ops.zeros(shape, dtype) for _ in self.decoder_layers)

    def generation_step(self, inputs, max_length, repeat=1):
        """The step that the searches of `tf_models.inference` drive, for a batch of sources.

        The encoder runs once here; the step then runs `decode_step`, one
        token at a time, against the sources' cross-attention caches.

        Args:
            inputs: a dict: `encoder_token_ids` `(batch, source_length)`
                int32, and `decoder_token_ids` `(batch, prompt_length)`
                int32, the start of each target (at least its start token),
                padded after its end with `padding_id`.
            max_length: the most tokens generated after the longest target start.
            repeat: rows per example (the beam width): the step works on
                `batch * repeat` rows, row `b * repeat + k` for example `b`.

        Returns:
            `(next_logits, cache, start_ids, forced_ids)`: the step
            `next_logits(tokens, index, cache) -> (logits, cache)` (float32
            `(rows, target_vocabulary_size)` logits for position
            `index + 1`); its initial cache (`empty_caches`); the `(batch,)`
            tokens it starts from; and the `(batch, prompt_length - 1)`
            target tokens after them, which the search must force.

        Example:
        >>> model = Transformer.from_preset("test")
        >>> inputs = {"encoder_token_ids": [[5, 6, 7]], "decoder_token_ids": [[1]]}
        >>> next_logits, cache, start_ids, forced_ids = model.generation_step(inputs, max_length=4)
        >>> logits, cache = next_logits(start_ids, 0, cache)
        >>> logits.shape, forced_ids.shape
        (TensorShape([1, 50]), TensorShape([1, 0]))
        """
        encoder_output, encoder_mask = self.encode(ops.convert_to_tensor(inputs["encoder_token_ids"], "int32"))
        # Beams of one example share its source: its rows repeat the cross-attention caches.
        cross_caches = tuple(ops.repeat(c, repeat, axis=0) for c in self.cross_attention_caches(encoder_output))
        encoder_mask = ops.repeat(encoder_mask, repeat, axis=0)
        prompt_ids = ops.convert_to_tensor(inputs["decoder_token_ids"], "int32")
        # Every position after the first token: the forced ones, then the generated ones.
        caches = self.empty_caches(ops.shape(encoder_mask)[0], ops.shape(prompt_ids)[1] - 1 + max_length,
                                   encoder_output.dtype)

        def next_logits(tokens, index, caches):
            return self.decode_step(tokens, index, caches, cross_caches, encoder_mask)

        return next_logits, caches, prompt_ids[:, 0], prompt_ids[:, 1:]

    def decode_step(self, tokens, index, self_attention_caches, cross_attention_caches, encoder_padding_mask):
        """One decoding step: the logits of the token after `tokens`.

        Args:
            tokens: `(rows,)` int32, the target tokens at position `index`.
            index: scalar int32 position of `tokens`.
            self_attention_caches: as `empty_caches` made them,
                filled by the steps before.
            cross_attention_caches: `cross_attention_caches(encoder_output)`.
            encoder_padding_mask: `(rows, source_length)` bool.

        Returns:
            `(logits, self_attention_caches)`: `(rows, target_vocabulary_size)`
            float32 logits for position `index + 1`, and the updated caches.

        Example:
        >>> model = Transformer.from_preset("test")
        >>> source = keras.ops.array([[5, 6, 7]])
        >>> output, mask = model.encode(source)
        >>> caches = model.empty_caches(1, max_length=4)
        >>> logits, caches = model.decode_step(keras.ops.array([1]), 0, caches,
        ...                                    model.cross_attention_caches(output), mask)
        >>> logits.shape
        TensorShape([1, 50])
        """
        x = self.decoder_embedding(tokens[:, None], start_index=index)  # (rows, 1, D)
        updated = []
        for layer, self_cache, cross_cache in zip(self.decoder_layers, self_attention_caches, cross_attention_caches):
            x, self_cache, _ = layer(
                x,
                encoder_padding_mask=encoder_padding_mask,
                self_attention_cache=self_cache,
                cross_attention_cache=cross_cache,
                cache_update_index=index,
            )
            updated.append(self_cache)
        logits = output_logits(self.decoder_final_norm, self.decoder_embedding.token_embedding,
                               self.output_projection, x)
        return ops.cast(logits[:, 0], "float32"), tuple(updated)  # (rows, V)

    @classmethod
    def from_preset(cls, name, **overrides):
        """Builds a randomly initialised model from a named config preset.

        Args:
            name: a key of `tf_models.models.TRANSFORMER_PRESETS` (`"base"`,
                `"big"`, `"small"`, `"test"`).
            **overrides: config fields to change, e.g. `vocabulary_size`.
        """
        config = TransformerConfig.preset(name, **overrides)
        return cls(**dataclasses.asdict(config))

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, **config_values(self, TransformerConfig)}
