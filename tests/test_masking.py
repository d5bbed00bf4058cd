import numpy as np

from tf_models.layers import causal_mask, merge_attention_masks, padding_mask_from_ids


def test_padding_mask_from_ids_marks_real_tokens():
    mask = padding_mask_from_ids(np.array([[4, 5, 0, 0], [0, 3, 0, 1]]))
    assert np.asarray(mask).tolist() == [[True, True, False, False], [False, True, False, True]]


def test_padding_mask_custom_padding_id():
    assert np.asarray(padding_mask_from_ids(np.array([[1, 7, 7]]), padding_id=7)).tolist() == [
        [True, False, False]
    ]


def test_causal_mask_is_lower_triangular():
    np.testing.assert_array_equal(np.asarray(causal_mask(4)), np.tril(np.ones((4, 4), bool)))


def test_causal_mask_with_offset_for_cached_decoding():
    # Query 0 sits at absolute position 2 of a 5-slot cache.
    mask = np.asarray(causal_mask(2, 5, offset=2))
    np.testing.assert_array_equal(mask, [[1, 1, 1, 0, 0], [1, 1, 1, 1, 0]])


def test_merge_returns_none_without_masks():
    assert merge_attention_masks(3, 3) is None


def test_merge_combines_all_three():
    padding = np.array([[1, 1, 0], [1, 1, 1]])
    custom = np.ones((2, 3, 3), bool)
    custom[1, 2, 0] = False
    mask = np.asarray(
        merge_attention_masks(
            3, 3, padding_mask=padding, attention_mask=custom, use_causal_mask=True
        )
    )
    expected = np.tril(np.ones((3, 3), bool))[None] & padding.astype(bool)[:, None, :] & custom
    np.testing.assert_array_equal(mask, expected)
    assert mask.shape == (2, 3, 3)
