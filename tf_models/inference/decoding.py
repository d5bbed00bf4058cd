"""Autoregressive decoding for the `Transformer`, with a key/value cache.

The encoder runs once; the decoder then runs one token at a time, each step
reading the keys and values of earlier positions from a cache instead of
recomputing them, so a step costs O(length) instead of O(length^2). The loop
is a `tf.while_loop`, so decoding runs inside a `tf.function` and can be
exported in a SavedModel.
"""

import tensorflow as tf

from tf_models.layers import padding_mask_from_ids


def encode(model, encoder_token_ids):
    """Runs the encoder of a `Transformer` once.

    Args:
        model: a `Transformer`.
        encoder_token_ids: `(batch, source_length)` int32.

    Returns:
        `(encoder_output, encoder_padding_mask)`: `(batch, source_length,
        hidden_dim)` and `(batch, source_length)` bool.
    """
    mask = padding_mask_from_ids(encoder_token_ids, model.padding_id)
    x = model.encoder_embedding(encoder_token_ids)
    for layer in model.encoder_layers:
        x = layer(x, padding_mask=mask)
    if model.encoder_final_norm is not None:
        x = model.encoder_final_norm(x)
    return x, mask


def _logits(model, hidden):
    if model.decoder_final_norm is not None:
        hidden = model.decoder_final_norm(hidden)
    if model.output_projection is None:
        return model.decoder_embedding.token_embedding(hidden, reverse=True)
    return model.output_projection(hidden)


def greedy_decode(model, encoder_token_ids, start_id, end_id, max_length):
    """Greedy decoding: at every step, the most likely next token.

    Sequences that produced `end_id` keep producing padding; the loop stops
    early when every sequence has ended.

    Args:
        model: a `Transformer`.
        encoder_token_ids: `(batch, source_length)` int32 source tokens.
        start_id: the `[START]` id that begins every target.
        end_id: the `[END]` id.
        max_length: most tokens to generate (the `[END]` included); an int
            or a scalar tensor.

    Returns:
        `(batch, max_length)` int32 generated ids (without `[START]`), padded
        with the padding id after `[END]`.
    """
    encoder_token_ids = tf.convert_to_tensor(encoder_token_ids, tf.int32)
    batch = tf.shape(encoder_token_ids)[0]
    encoder_output, encoder_mask = encode(model, encoder_token_ids)
    num_heads = model.num_heads
    head_dim = model.hidden_dim // num_heads
    dtype = encoder_output.dtype
    pad = tf.constant(model.padding_id, tf.int32)

    # One self-attention cache per decoder layer: (L, B, 2, max_length, H, D).
    self_caches = tf.zeros(
        [len(model.decoder_layers), batch, 2, max_length, num_heads, head_dim], dtype
    )
    # Cross-attention keys and values depend on the encoder output only.
    cross_caches = tf.stack(
        [layer.cross_attention.compute_key_value_cache(encoder_output) for layer in model.decoder_layers]
    )

    def step(index, token, self_caches, output, finished):
        x = model.decoder_embedding(token[:, None], start_index=index)  # (B, 1, D)
        new_caches = []
        for i, layer in enumerate(model.decoder_layers):
            x, cache, _ = layer(
                x,
                encoder_padding_mask=encoder_mask,
                self_attention_cache=self_caches[i],
                cross_attention_cache=cross_caches[i],
                cache_update_index=index,
            )
            new_caches.append(cache)
        next_token = tf.argmax(_logits(model, x)[:, 0], axis=-1, output_type=tf.int32)  # (B,)
        next_token = tf.where(finished, pad, next_token)
        output = output.write(index, next_token)
        finished = tf.logical_or(finished, tf.equal(next_token, end_id))
        return index + 1, next_token, tf.stack(new_caches), output, finished

    def not_done(index, token, self_caches, output, finished):
        return tf.logical_and(index < max_length, tf.logical_not(tf.reduce_all(finished)))

    _, _, _, output, _ = tf.while_loop(
        not_done,
        step,
        (
            tf.constant(0),
            tf.fill([batch], tf.constant(start_id, tf.int32)),
            self_caches,
            tf.TensorArray(tf.int32, size=max_length, element_shape=[None]),
            tf.zeros([batch], tf.bool),
        ),
    )
    generated = tf.transpose(output.stack())  # (B, steps taken)
    # Pad to max_length when every sequence ended early.
    return tf.pad(generated, [[0, 0], [0, max_length - tf.shape(generated)[1]]])
