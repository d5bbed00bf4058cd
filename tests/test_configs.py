import dataclasses
import inspect

import pytest

from tf_models.models import (
    BERT_PRESETS,
    TRANSFORMER_PRESETS,
    BertBackbone,
    BertConfig,
    CausalLM,
    CausalLMConfig,
    Transformer,
    TransformerConfig,
)


def test_configs_are_frozen():
    config = TransformerConfig.preset("base")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.hidden_dim = 3


@pytest.mark.parametrize(
    "config_class, model_class",
    [(TransformerConfig, Transformer), (BertConfig, BertBackbone), (CausalLMConfig, CausalLM)],
)
def test_config_fields_are_the_model_arguments(config_class, model_class):
    fields = {field.name for field in dataclasses.fields(config_class)}
    arguments = set(inspect.signature(model_class.__init__).parameters) - {"self", "kwargs"}
    assert fields == arguments


def test_paper_presets():
    base, big = TRANSFORMER_PRESETS["base"], TRANSFORMER_PRESETS["big"]
    assert (base.num_layers, base.hidden_dim, base.intermediate_dim, base.num_heads, base.dropout) == (
        6, 512, 2048, 8, 0.1)
    assert (big.num_layers, big.hidden_dim, big.intermediate_dim, big.num_heads, big.dropout) == (
        6, 1024, 4096, 16, 0.3)
    shapes = {name: (c.num_layers, c.hidden_dim, c.num_heads, c.intermediate_dim)
              for name, c in BERT_PRESETS.items() if name != "test"}
    assert shapes == {
        "tiny": (2, 128, 2, 512),
        "mini": (4, 256, 4, 1024),
        "small": (4, 512, 8, 2048),
        "medium": (8, 512, 8, 2048),
        "base": (12, 768, 12, 3072),
        "large": (24, 1024, 16, 4096),
    }
    assert all(c.vocabulary_size == 30522 for n, c in BERT_PRESETS.items() if n != "test")


def test_preset_overrides_and_unknown_names():
    assert BertConfig.preset("tiny", vocabulary_size=100).vocabulary_size == 100
    assert BERT_PRESETS["tiny"].vocabulary_size == 30522  # the preset itself is untouched
    with pytest.raises(ValueError, match="Unknown preset 'huge'"):
        TransformerConfig.preset("huge")
    with pytest.raises(TypeError):
        BertConfig.preset("tiny", hidden_size=10)  # Hugging Face's name is not ours
