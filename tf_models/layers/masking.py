"""Attention masks, built and merged in one place.

Every mask in tf_models is boolean and means "may attend": `True` keeps a
position, `False` hides it. The three kinds of mask are

* a padding mask, `(batch, key_length)`: which key positions hold real tokens;
* an attention mask, `(batch, query_length, key_length)`: any custom pattern;
* the causal mask, `(query_length, key_length)`: a query never sees the future.

`merge_attention_masks` is the only function that combines them, so every
attention layer in the package masks in exactly the same way.
"""

from keras import ops


def padding_mask_from_ids(token_ids, padding_id=0):
    """Marks the real (non-padding) tokens of a batch of token ids.

    Args:
        token_ids: int tensor of any shape, usually `(batch, length)`.
        padding_id: the id used for padding.

    Returns:
        A bool tensor of the same shape, `True` where a token is not padding.

    Example:
    >>> padding_mask_from_ids([[5, 7, 0, 0]]).numpy().tolist()
    [[True, True, False, False]]
    """
    return ops.not_equal(token_ids, padding_id)


def causal_mask(query_length, key_length=None, offset=0):
    """A lower-triangular mask: query `i` may attend to keys `0 .. offset + i`.

    `offset` is the absolute position of the first query. It is zero for a
    full pass and equals the number of tokens already decoded when a key/value
    cache holds the earlier positions.

    Args:
        query_length: number of queries.
        key_length: number of keys; defaults to `query_length`.
        offset: int or scalar tensor, the position of query 0 among the keys.

    Returns:
        A bool tensor of shape `(query_length, key_length)`.

    Example:
    >>> causal_mask(3).numpy().astype(int).tolist()
    [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    """
    if key_length is None:
        key_length = query_length
    query_positions = ops.arange(query_length)[:, None] + offset  # (q, 1)
    key_positions = ops.arange(key_length)[None, :]  # (1, k)
    return ops.greater_equal(query_positions, key_positions)


def merge_attention_masks(
    query_length,
    key_length,
    padding_mask=None,
    attention_mask=None,
    use_causal_mask=False,
    causal_offset=0,
):
    """Combines padding, custom and causal masks into one attention mask.

    Args:
        query_length: number of queries.
        key_length: number of keys.
        padding_mask: optional `(batch, key_length)` mask of real key tokens
            (bool, or int where nonzero means real).
        attention_mask: optional `(batch, query_length, key_length)` mask.
        use_causal_mask: whether to hide future keys from each query.
        causal_offset: the absolute position of query 0 (see `causal_mask`).

    Returns:
        `None` when no mask applies, else a bool tensor of shape
        `(batch, query_length, key_length)`, where the batch axis is 1 when
        only the causal mask applies.

    Example:
    >>> mask = merge_attention_masks(3, 3, padding_mask=[[1, 1, 0]],
    ...                              use_causal_mask=True)
    >>> mask.numpy().astype(int).tolist()
    [[[1, 0, 0], [1, 1, 0], [1, 1, 0]]]
    """
    mask = None
    if padding_mask is not None:
        # (batch, k) -> (batch, 1, k): the same keys are hidden from every query.
        mask = ops.expand_dims(ops.cast(padding_mask, "bool"), axis=1)
    if attention_mask is not None:
        attention_mask = ops.cast(attention_mask, "bool")
        mask = attention_mask if mask is None else ops.logical_and(mask, attention_mask)
    if use_causal_mask:
        causal = causal_mask(query_length, key_length, causal_offset)[None]  # (1, q, k)
        mask = causal if mask is None else ops.logical_and(mask, causal)
    return mask
