"""attention_maps reads each model's attention from its forward pass (masks,
layer order, dropout off, float32); the grid and the HTML head view draw it."""

import json
import re
from html.parser import HTMLParser

import keras
import matplotlib
import numpy as np
import pytest

from tf_models.layers import padding_mask_from_ids
from tf_models.models import BertBackbone, BertClassifier, CausalLM, Transformer
from tf_models.models.transformer import output_logits
from tf_models.visualization import attention_maps, head_view_html, plot_attention_heads, write_head_view

matplotlib.use("Agg")

# Row 0 is full, row 1 ends in padding (id 0), so masked keys show up.
SOURCE = np.array([[5, 6, 7, 8, 9], [5, 6, 7, 0, 0]])
TARGET = np.array([[1, 9, 10, 11], [1, 12, 0, 0]])
DROPOUT = 0.3  # the maps must come from a pass without it: test_the_maps_are_those_of_the_forward_pass


@pytest.fixture(scope="module")
def models():
    keras.utils.set_random_seed(0)
    return {
        "transformer": Transformer.from_preset("test", dropout=DROPOUT),
        "bert": BertBackbone.from_preset("test", dropout=DROPOUT),
        "causal_lm": CausalLM.from_preset("test", dropout=DROPOUT),
    }


def bert_inputs(ids):
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": ids != 0}


def test_every_layer_and_head_with_its_masks(models):
    transformer = attention_maps(models["transformer"], {"encoder_token_ids": SOURCE, "decoder_token_ids": TARGET})
    bert = attention_maps(BertClassifier(models["bert"], num_classes=2), bert_inputs(SOURCE))  # via .backbone
    causal = attention_maps(models["causal_lm"], {"token_ids": SOURCE, "padding_mask": SOURCE != 0})
    assert [list(transformer), list(bert), list(causal)] == [
        ["encoder", "decoder_self", "decoder_cross"], ["encoder"], ["encoder"]]
    kinds = [  # (maps, queries, key padding mask, causal)
        (transformer["encoder"], SOURCE, SOURCE != 0, False),
        (transformer["decoder_self"], TARGET, TARGET != 0, True),
        (transformer["decoder_cross"], TARGET, SOURCE != 0, False),
        (bert["encoder"], SOURCE, SOURCE != 0, False),
        (causal["encoder"], SOURCE, SOURCE != 0, True),
    ]
    for maps, queries, key_mask, causal_mask in kinds:
        assert len(maps) == 2  # the test presets' layers
        for layer in maps:
            assert layer.dtype == np.float32 and layer.shape == (2, 2, queries.shape[1], key_mask.shape[1])
            # Each query's weights over the keys it may see sum to 1; padding keys get exactly 0.
            np.testing.assert_allclose(layer.sum(-1), 1.0, atol=1e-5)
            assert np.all(layer.transpose(0, 3, 1, 2)[~key_mask] == 0)
            if causal_mask:
                assert np.all(np.triu(layer, k=1) == 0)
            else:  # they do look ahead: not causal by accident
                assert np.triu(layer[0], k=1).max() > 0.05


def test_the_maps_are_those_of_the_forward_pass(models):
    """Run the Transformer's layers by hand with `return_attention_scores`
    (no dropout): their logits equal the model's, and their scores the maps."""
    model = models["transformer"]
    maps = attention_maps(model, {"encoder_token_ids": SOURCE, "decoder_token_ids": TARGET})
    source_mask, target_mask = padding_mask_from_ids(SOURCE), padding_mask_from_ids(TARGET)
    x = model.encoder_embedding(SOURCE)
    for layer, expected in zip(model.encoder_layers, maps["encoder"]):
        x, scores = layer(x, padding_mask=source_mask, return_attention_scores=True)
        np.testing.assert_allclose(scores["self_attention"], expected, atol=1e-6)
    y = model.decoder_embedding(TARGET)
    for layer, expected_self, expected_cross in zip(model.decoder_layers, maps["decoder_self"],
                                                    maps["decoder_cross"]):
        y, scores = layer(y, x, decoder_padding_mask=target_mask, encoder_padding_mask=source_mask,
                          return_attention_scores=True)
        np.testing.assert_allclose(scores["self_attention"], expected_self, atol=1e-6)
        np.testing.assert_allclose(scores["cross_attention"], expected_cross, atol=1e-6)
    logits = output_logits(None, model.decoder_embedding.token_embedding, None, y)
    np.testing.assert_allclose(logits, model({"encoder_token_ids": SOURCE, "decoder_token_ids": TARGET})["logits"],
                               atol=1e-5)


def test_float32_maps_under_mixed_bfloat16():
    keras.config.set_dtype_policy("mixed_bfloat16")
    model = CausalLM.from_preset("test", num_layers=1)
    (layer,) = attention_maps(model, {"token_ids": SOURCE, "padding_mask": SOURCE != 0})["encoder"]
    assert model.encoder_layers[0].compute_dtype == "bfloat16" and layer.dtype == np.float32
    np.testing.assert_allclose(layer.sum(-1), 1.0, atol=2e-2)  # bfloat16's 8 bits of precision
    assert np.all(np.triu(layer, k=1) == 0) and np.all(layer[1, :, :, 3:] == 0)


def test_a_model_without_attention_scores_is_refused():
    with pytest.raises(TypeError, match="attention_scores"):
        attention_maps(keras.Sequential([keras.layers.Dense(2)]), {})


def test_the_grid_has_a_panel_per_head_and_layer_with_token_labels():
    import matplotlib.pyplot as plt

    maps = [np.random.default_rng(i).dirichlet(np.ones(5), (2, 3, 4)).astype("float32") for i in range(2)]
    fig = plot_attention_heads(maps, list("abcde"), query_tokens=list("wxyz"), example=1, title="t")
    panels = [ax for ax in fig.axes if ax.get_images()]
    assert len(panels) == 2 * 3 and len(fig.axes) == 2 * 3 + 1  # and a colour bar
    assert [t.get_text() for t in panels[0].get_xticklabels()] == list("abcde")
    assert [t.get_text() for t in panels[0].get_yticklabels()] == list("wxyz")
    np.testing.assert_allclose(panels[4].get_images()[0].get_array(), maps[1][1, 1])  # layer 1, head 1
    plt.close(fig)
    fig = plot_attention_heads(maps[0], list("abc"), query_tokens=list("wx"), layers=-1)  # cut to the tokens
    assert len(fig.axes) == 3 + 1 and fig.axes[0].get_images()[0].get_array().shape == (2, 3)
    plt.close(fig)
    with pytest.raises(ValueError, match="6 key tokens"):
        plot_attention_heads(maps, list("abcdef"))


class _Page(HTMLParser):
    """Collects the tags' attributes and the inline scripts."""

    def __init__(self):
        super().__init__()
        self.attributes, self.scripts, self.open = [], [], []

    def handle_starttag(self, tag, attrs):
        self.attributes += [(tag, name, value or "") for name, value in attrs]
        if tag not in ("meta", "br", "hr", "img", "input", "link"):  # elements without an end tag
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open.pop() == tag

    def handle_data(self, data):
        if self.open and self.open[-1] == "script":
            self.scripts.append(data)


def test_the_head_view_is_one_self_contained_page(tmp_path):
    maps = [np.random.default_rng(i).dirichlet(np.ones(3), (1, 2, 2)).astype("float32") for i in range(3)]
    tokens, queries = ["[CLS]", "é", "</script>"], ["x", "y"]  # a token that must not end the script
    path = write_head_view(tmp_path / "views" / "head.html", maps, tokens, query_tokens=queries)
    page = path.read_text(encoding="utf-8")
    assert path == tmp_path / "views" / "head.html" and page == head_view_html(maps, tokens, queries)
    parser = _Page()
    parser.feed(page)
    parser.close()
    assert not parser.open  # every element closed
    # Nothing is fetched: no src or href attributes at all, no <link>.
    assert not [(tag, name) for tag, name, _ in parser.attributes if name in ("src", "href")]
    assert "<link" not in page and not re.search(r"https?://(?!www\.w3\.org/2000/svg)", page)
    (script,) = parser.scripts
    data = json.loads(re.search(r"const DATA = (.*);\n", script).group(1))
    assert data["left"] == queries and data["right"] == tokens
    assert data["layer_names"] == ["layer 0", "layer 1", "layer 2"]
    np.testing.assert_allclose(data["layers"], np.stack([m[0] for m in maps]), atol=5e-4)
