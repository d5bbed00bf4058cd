import keras
import keras_hub
import numpy as np
import pytest
from helpers import copy_keras_hub_bert, max_abs_diff, random_ids

from tf_models.layers import TransformerDecoderLayer, TransformerEncoderLayer
from tf_models.models import BERT_PRESETS, BertBackbone, BertClassifier, BertPretrainer, CausalLM, Transformer

VOCAB = 50  # the "test" preset's vocabulary


def _batch(batch=3, length=8, real_lengths=(8, 5, 3), seed=0):
    token_ids = random_ids(batch, length, VOCAB, seed=seed)
    padding_mask = (np.arange(length)[None] < np.array(real_lengths)[:, None]).astype("int32")
    token_ids = token_ids * padding_mask
    segment_ids = (np.arange(length)[None] >= 2).astype("int32") * padding_mask
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}


def test_bert_the_transformer_and_the_causal_lm_stack_the_same_encoder_class():
    bert = BertBackbone.from_preset("test")
    transformer = Transformer.from_preset("test")
    causal_lm = CausalLM.from_preset("test")
    layers = bert.encoder_layers + transformer.encoder_layers + causal_lm.encoder_layers
    assert {type(layer) for layer in layers} == {TransformerEncoderLayer}
    assert {type(layer) for layer in transformer.decoder_layers} == {TransformerDecoderLayer}
    assert not issubclass(TransformerDecoderLayer, TransformerEncoderLayer)
    blocks = [
        layer
        for model in (bert, transformer, causal_lm)
        for layer in model._flatten_layers()
        if hasattr(layer, "self_attention") and hasattr(layer, "feed_forward")
        and not isinstance(layer, TransformerDecoderLayer)
    ]
    assert blocks and all(type(layer) is TransformerEncoderLayer for layer in blocks)


@pytest.mark.parametrize("num_layers, hidden_dim, num_heads", [(2, 16, 2), (3, 24, 4)])
def test_matches_keras_hub_bert_backbone(num_layers, hidden_dim, num_heads):
    sizes = dict(
        vocabulary_size=VOCAB,
        num_layers=num_layers,
        num_heads=num_heads,
        hidden_dim=hidden_dim,
        intermediate_dim=2 * hidden_dim,
        max_sequence_length=16,
    )
    reference = keras_hub.models.BertBackbone(**sizes)
    ours = BertBackbone(**sizes, activation="gelu_approximate")
    copy_keras_hub_bert(reference, ours)
    inputs = _batch()
    expected, outputs = reference(inputs), ours(inputs)
    for key in ("sequence_output", "pooled_output"):
        assert max_abs_diff(outputs[key], expected[key]) <= 1e-5, key


def test_padding_does_not_change_real_positions():
    backbone = BertBackbone.from_preset("test")
    inputs = _batch(real_lengths=(8, 8, 8))
    outputs = backbone(inputs)
    padded = {key: np.pad(value, ((0, 0), (0, 4))) for key, value in inputs.items()}
    padded["token_ids"][:, 8:] = random_ids(3, 4, VOCAB, seed=9)  # garbage under the mask
    padded_outputs = backbone(padded)
    assert max_abs_diff(padded_outputs["sequence_output"][:, :8], outputs["sequence_output"]) <= 1e-5
    assert max_abs_diff(padded_outputs["pooled_output"], outputs["pooled_output"]) <= 1e-5


def test_output_dtypes(policy):
    backbone = BertBackbone.from_preset("test")
    outputs = backbone(_batch())
    assert outputs["sequence_output"].dtype == policy.compute_dtype
    assert tuple(outputs["pooled_output"].shape) == (3, 16)
    pretrainer = BertPretrainer(backbone)
    inputs = dict(_batch(), mask_positions=np.array([[1, 2], [3, 0], [1, 0]]))
    outputs = pretrainer(inputs)
    assert outputs["mlm_logits"].dtype == "float32" and tuple(outputs["mlm_logits"].shape) == (3, 2, VOCAB)
    assert outputs["nsp_logits"].dtype == "float32" and tuple(outputs["nsp_logits"].shape) == (3, 2)
    logits = BertClassifier(backbone, num_classes=4)(_batch())["logits"]
    assert logits.dtype == "float32" and tuple(logits.shape) == (3, 4)


def test_mlm_head_is_tied_to_the_token_embedding():
    backbone = BertBackbone.from_preset("test")
    pretrainer = BertPretrainer(backbone)
    inputs = dict(_batch(), mask_positions=np.array([[1, 2]] * 3))
    head = pretrainer.mlm_head
    hidden = np.asarray(backbone(_batch())["sequence_output"])[:, 1:3]
    transformed = np.asarray(head.layer_norm(head.transform(hidden)))
    table = np.asarray(backbone.token_embedding.embeddings)
    expected = transformed @ table.T + np.asarray(head.output_bias)
    assert max_abs_diff(pretrainer(inputs)["mlm_logits"], expected) <= 1e-5
    # One table, counted once.
    tables = [w for w in pretrainer.weights if w.shape == (VOCAB, 16)]
    assert len(tables) == 1


def _fit_losses(model, inputs, labels, loss):
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=loss)
    return model.fit(inputs, labels, epochs=25, verbose=0).history["loss"]


def test_pretrainer_fit_reduces_loss():
    model = BertPretrainer(BertBackbone.from_preset("test"))
    inputs = dict(_batch(batch=8, real_lengths=[8] * 8), mask_positions=random_ids(8, 3, 8, low=1))
    labels = {"mlm_logits": random_ids(8, 3, VOCAB, seed=4), "nsp_logits": np.arange(8) % 2}
    scce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    losses = _fit_losses(model, inputs, labels, {"mlm_logits": scce, "nsp_logits": scce})
    assert np.all(np.isfinite(losses)) and losses[-1] < 0.7 * losses[0], losses


def test_a_pretrainer_without_nsp_trains_on_masked_lm_alone_and_round_trips(tmp_path):
    from tf_models.training import compile_bert_pretrainer

    model = BertPretrainer(BertBackbone.from_preset("test"), next_sentence_prediction=False)
    inputs = dict(_batch(batch=8, real_lengths=[8] * 8), mask_positions=random_ids(8, 3, 8, low=1))
    assert set(model(inputs)) == {"mlm_logits"} and model.nsp_head is None
    assert not model.backbone.pooler.trainable  # it gets no gradient: nothing reads it
    compile_bert_pretrainer(model, total_steps=20, peak_learning_rate=1e-2)
    labels = {"mlm_logits": random_ids(8, 3, VOCAB, seed=4)}
    losses = model.fit(inputs, labels, sample_weight={"mlm_logits": np.ones((8, 3))}, epochs=20,
                       verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < 0.7 * losses[0], losses
    model.save(tmp_path / "pretrainer.keras")
    restored = keras.saving.load_model(tmp_path / "pretrainer.keras")
    assert not restored.next_sentence_prediction
    assert max_abs_diff(restored(inputs)["mlm_logits"], model(inputs)["mlm_logits"]) == 0.0
    # A classifier on the saved backbone trains the pooler it reads.
    model.backbone.save(tmp_path / "backbone.keras")
    classifier = BertClassifier(keras.saving.load_model(tmp_path / "backbone.keras"), num_classes=2)
    assert classifier.backbone.pooler.trainable
    assert any("pooler" in weight.path for weight in classifier.trainable_weights)


def test_classifier_fit_reduces_loss():
    model = BertClassifier(BertBackbone.from_preset("test"), num_classes=3, dropout=0.0)
    inputs = _batch(batch=8, real_lengths=[8, 7, 6, 5, 4, 3, 8, 8])
    labels = {"logits": np.arange(8) % 3}
    scce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    losses = _fit_losses(model, inputs, labels, {"logits": scce})
    assert np.all(np.isfinite(losses)) and losses[-1] < 0.7 * losses[0], losses


def test_keras_file_round_trips(tmp_path):
    backbone = BertBackbone.from_preset("test")
    inputs = _batch()
    pretrainer_inputs = dict(inputs, mask_positions=np.array([[1, 2]] * 3))
    models = [
        (backbone, inputs),
        (BertPretrainer(backbone), pretrainer_inputs),
        (BertClassifier(backbone, num_classes=3), inputs),
    ]
    for model, model_inputs in models:
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        restored = keras.saving.load_model(path, safe_mode=True)
        assert type(restored) is type(model)
        expected, outputs = model(model_inputs), restored(model_inputs)
        for key in expected:
            assert max_abs_diff(outputs[key], expected[key]) == 0.0, (model.name, key)


def test_config_round_trips():
    backbone = BertBackbone.from_preset("test", activation="gelu", dropout=0.2)
    assert BertBackbone.from_config(backbone.get_config()).get_config() == backbone.get_config()
    classifier = BertClassifier(backbone, num_classes=5, dropout=0.3)
    clone = BertClassifier.from_config(classifier.get_config())
    assert clone.num_classes == 5 and clone.backbone.get_config() == backbone.get_config()


def _analytic_count(vocabulary_size, num_layers, hidden_dim, intermediate_dim,
                    max_sequence_length, num_segments, **_):
    h, f = hidden_dim, intermediate_dim
    embeddings = (vocabulary_size + max_sequence_length + num_segments) * h + 2 * h
    layer = 4 * (h * h + h) + 2 * h * f + f + h + 4 * h
    pooler = h * h + h
    return embeddings + num_layers * layer + pooler


@pytest.mark.parametrize(
    "name, paper_count",
    [("tiny", 4.4e6), ("mini", 11.3e6), ("small", 29.1e6), ("medium", 41.7e6),
     ("base", 110e6), ("large", 340e6)],
)
def test_preset_parameter_counts_match_the_papers(name, paper_count):
    backbone = BertBackbone.from_preset(name)
    count = backbone.count_params()
    assert count == _analytic_count(**vars(BERT_PRESETS[name]))
    # Devlin et al. 2018 (base, large); Turc et al. 2019 / google-research/bert (smaller).
    assert abs(count - paper_count) / paper_count < 0.03, count
