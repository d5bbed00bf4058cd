"""Pretrained-weight import, checked against the reference implementations.

Tiny random `transformers` BERTs are saved the ways Hugging Face and Google
ship them (safetensors, `pytorch_model.bin`, a TF1 name-based checkpoint
written from the same weights under the original variable names), imported,
and run next to the PyTorch model on the same padded batch. Nothing is
downloaded.
"""

import json
import re
import shutil
import sys

import keras_hub
import numpy as np
import pytest
import safetensors.numpy
import tensorflow as tf
from helpers import max_abs_diff

from tf_models.checkpoints import (
    CheckpointError,
    bert_config_from_google,
    bert_config_from_huggingface,
    from_keras_hub,
    load_google_bert,
    load_huggingface_bert,
    save_google_checkpoint,
)
from tf_models.checkpoints.google import _lower_case_from_name
from tf_models.models import BertBackbone, BertPretrainer

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

TOLERANCE = 1e-4  # float32, PyTorch vs TensorFlow kernels
# Random weights as large as this make the two GELUs differ: with the exact
# one where the tanh one belongs, outputs move by 4e-4 to 2e-3 (measured),
# far past the tolerance; the correct import differs by about 1e-6.
NOISE = 0.2

# Text for the vocabularies: accents, CJK, punctuation, German, numbers.
CORPUS = [
    "The café in Zürich serves crème brûlée to naïve tourists.",
    "Café naïve Zürich, Ångström and Émile went to the ÉCOLE.",
    "我爱北京天安门。東京は日本の首都です。",
    "Hello, world! (Yes) [no] {maybe} $5.00 100% a-b c_d e/f \"quoted\" 'single' #hash @at",
    "She doesn't like green apples; he prefers red ones... Really?!",
    "Die Katze sitzt auf der Matte und schläft, während der Hund bellt.",
    "Running runners ran quickly; the quick brown fox jumps over the lazy dog.",
    "Numbers like 3.14, 42 and 1,000,000 are tokens too.",
] * 5

# Inputs on which our tokenizer and Hugging Face's give the same ids (and
# so do those of KNOWN_DIFFERENCES in the other casing).
PARITY_INPUTS = [
    "Café naïve Zürich",
    "我爱北京",
    "東京は日本の首都です。",
    "The café in Zürich serves crème brûlée to naïve tourists.",
    "Hello,world!!  multiple   spaces\tand\ttabs\nnew line\r\nand CRLF",
    "unknownwordxyz zebra quokka",  # pieces, and whole words as [UNK]
    "emoji 🚀🔥 smile😀 and 👍 too",
    "ÉCOLE Ångström Émile",
    "punctuation!!! (brackets) [square] {curly} $5 100% a-b c_d e/f ~^|<>=+`",
    "She doesn't like green apples; he prefers red ones... Really?!",
    "a" * 120,  # over 100 characters: one [UNK] on both sides
    "",
    "   ",
]

# Inputs where they differ, with the reason. Each is asserted to differ, so
# that this list is a fact about the current code, not a stale comment.
KNOWN_DIFFERENCES = {
    # BERT's tokenizer (Google's and Hugging Face's) deletes control and
    # format characters (Cc, Cf) and U+FFFD; tensorflow-text's BertTokenizer
    # turns them into spaces, so they split words. Uncased, tensorflow-text's
    # NFKC_Casefold first removes the default-ignorable ones (ZWJ, U+200B,
    # soft hyphen), so only the others differ there.
    "ctrl\x00char\x07bell\x1bescape": (True, False),
    "bad \ufffd replacement": (True, False),
    "soft\u00adhyphen zero\u200bwidth and 👨\u200d👩\u200d👧 family": (False,),
    # Cased, tensorflow-text applies no normalisation, and its regex \s is
    # ASCII-only: a no-break or ideographic space stays inside a word, where
    # BERT's tokenizer treats every Unicode space (Zs) as a space.
    "tabs\tand\u00a0no-break spaces\u3000too": (False,),
    # Uncased, tensorflow-text lower-cases with ICU's NFKC_Casefold, Python
    # with str.lower(): "ß" becomes "ss", full-width letters, ligatures,
    # "…" and "™" are decomposed, final sigma becomes σ.
    "straße": (True,),
    "ＡＢＣ ﬁne ellipsis… trademark™": (True,),
    # tensorflow-text's word limit is 100 UTF-8 bytes, BERT's 100 characters:
    # 60 "é" (120 bytes) are one [UNK] here, 60 pieces there (cased; uncased,
    # the accents are stripped first).
    "é" * 60: (False,),
    # Special tokens typed in the text: Hugging Face keeps "[MASK]" whole;
    # ours tokenizes raw text as text.
    "the [MASK] sat": (True, False),
}


@pytest.fixture(scope="module")
def vocabularies(tmp_path_factory):
    """`{lower_case: vocab.txt}`, trained with the `tokenizers` WordPiece trainer."""
    from tokenizers import BertWordPieceTokenizer

    files = {}
    for lower_case in (True, False):
        trainer = BertWordPieceTokenizer(lowercase=lower_case, strip_accents=lower_case)
        trainer.train_from_iterator(CORPUS, vocab_size=300, show_progress=False,
                                    special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
        vocabulary = trainer.get_vocab()
        path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
        path.write_text("\n".join(sorted(vocabulary, key=vocabulary.get)) + "\n", encoding="utf-8")
        files[lower_case] = path
    return files


def _vocabulary_size(path):
    return len(path.read_text(encoding="utf-8").rstrip("\n").split("\n"))


def _random_bert(model_class, seed, **config):
    """A `transformers` BERT with every weight random, LayerNorms and biases
    included (they start at 1 and 0, which would hide a swapped pair)."""
    torch.manual_seed(seed)
    model = model_class(transformers.BertConfig(**config)).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(NOISE * torch.randn_like(parameter))
    return model


# Two differently shaped checkpoints: exact GELU and uncased; tanh GELU,
# three segments, 40 positions, epsilon 1e-7 and cased. The second is saved
# the way transformers 5 saves tokenizers (tokenizer.json, no vocab.txt).
HF_CONFIGS = {
    "exact_gelu": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                       hidden_act="gelu", max_position_embeddings=64, type_vocab_size=2,
                       layer_norm_eps=1e-12, lower_case=True),
    "tanh_gelu": dict(hidden_size=48, num_hidden_layers=3, num_attention_heads=3, intermediate_size=64,
                      hidden_act="gelu_new", max_position_embeddings=40, type_vocab_size=3,
                      layer_norm_eps=1e-7, lower_case=False),
}


@pytest.fixture(scope="module")
def huggingface_checkpoints(vocabularies, tmp_path_factory):
    """`{name: (BertForPreTraining, directory)}`, saved with `save_pretrained`."""
    checkpoints = {}
    for seed, (name, settings) in enumerate(HF_CONFIGS.items()):
        settings = dict(settings)
        lower_case = settings.pop("lower_case")
        vocabulary = vocabularies[lower_case]
        model = _random_bert(transformers.BertForPreTraining, seed,
                             vocab_size=_vocabulary_size(vocabulary), **settings)
        path = tmp_path_factory.mktemp(name)
        model.save_pretrained(path)
        transformers.BertTokenizer(str(vocabulary), do_lower_case=lower_case).save_pretrained(path)
        if name == "exact_gelu":
            shutil.copy(vocabulary, path / "vocab.txt")
        checkpoints[name] = (model, path)
    return checkpoints


def _inputs(vocabulary_size, num_segments, batch=3, length=12, real_lengths=(12, 9, 5), seed=0):
    """A batch with real padding, several segments and two mask positions per row."""
    rng = np.random.default_rng(seed)
    padding_mask = (np.arange(length)[None] < np.array(real_lengths)[:, None]).astype("int32")
    token_ids = rng.integers(5, vocabulary_size, (batch, length)).astype("int32") * padding_mask
    segment_ids = np.minimum(np.arange(length)[None] // 4, num_segments - 1).astype("int32") * padding_mask
    mask_positions = np.array([[1, 10], [3, 7], [2, 4]], "int32")
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask,
            "mask_positions": mask_positions}


def _reference_outputs(model, inputs):
    """The `transformers` model's outputs in our names (MLM logits gathered)."""
    arguments = dict(input_ids=torch.tensor(inputs["token_ids"], dtype=torch.long),
                     token_type_ids=torch.tensor(inputs["segment_ids"], dtype=torch.long),
                     attention_mask=torch.tensor(inputs["padding_mask"], dtype=torch.long))
    bert = getattr(model, "bert", model)
    with torch.no_grad():
        encoded = bert(**arguments)
        outputs = {"sequence_output": encoded.last_hidden_state.numpy(),
                   "pooled_output": encoded.pooler_output.numpy()}
        if bert is not model:
            heads = model(**arguments)
            logits = heads.prediction_logits.numpy()  # (B, T, V)
            outputs["mlm_logits"] = np.take_along_axis(logits, inputs["mask_positions"][:, :, None], axis=1)
            outputs["nsp_logits"] = heads.seq_relationship_logits.numpy()
    return outputs


def _our_outputs(model, inputs):
    if isinstance(model, BertPretrainer):
        outputs = dict(model.backbone({k: v for k, v in inputs.items() if k != "mask_positions"}))
        outputs.update(model(inputs))
    else:
        outputs = model({k: v for k, v in inputs.items() if k != "mask_positions"})
    return {key: np.asarray(value) for key, value in outputs.items()}


def _assert_same_outputs(ours, reference, inputs, tolerance=TOLERANCE):
    outputs = _our_outputs(ours, inputs)
    expected = _reference_outputs(reference, inputs)
    assert set(expected) <= set(outputs)
    differences = {key: max_abs_diff(outputs[key], expected[key]) for key in expected}
    print("max abs diff:", differences)  # shown with pytest -s
    assert all(diff <= tolerance for diff in differences.values()), differences
    return differences


# === Hugging Face ===


@pytest.mark.parametrize("name", list(HF_CONFIGS))
def test_huggingface_pretraining_checkpoint_matches_transformers(huggingface_checkpoints, name):
    reference, path = huggingface_checkpoints[name]
    model, tokenizer = load_huggingface_bert(path, with_heads=True)
    settings = HF_CONFIGS[name]
    backbone = model.backbone
    assert isinstance(model, BertPretrainer)
    assert (backbone.num_layers, backbone.num_heads, backbone.hidden_dim, backbone.intermediate_dim,
            backbone.max_sequence_length, backbone.num_segments, backbone.layer_norm_epsilon) == (
        settings["num_hidden_layers"], settings["num_attention_heads"], settings["hidden_size"],
        settings["intermediate_size"], settings["max_position_embeddings"], settings["type_vocab_size"],
        settings["layer_norm_eps"])
    assert backbone.activation == {"gelu": "gelu", "gelu_new": "gelu_approximate"}[settings["hidden_act"]]
    assert tokenizer.lower_case is settings["lower_case"]
    assert tokenizer.vocabulary_size == backbone.vocabulary_size
    _assert_same_outputs(model, reference, _inputs(backbone.vocabulary_size, backbone.num_segments))


def test_huggingface_bert_model_checkpoint_has_no_prefix_and_no_heads(huggingface_checkpoints, tmp_path):
    reference, path = huggingface_checkpoints["exact_gelu"]
    reference.bert.save_pretrained(tmp_path)  # a BertModel: embeddings.*, encoder.*, pooler.*
    names = safetensors.numpy.load_file(tmp_path / "model.safetensors")
    assert not any(name.startswith("bert.") for name in names)
    shutil.copy(path / "vocab.txt", tmp_path)
    model, tokenizer = load_huggingface_bert(tmp_path)
    assert isinstance(model, BertBackbone) and tokenizer.lower_case  # no tokenizer_config: the default
    _assert_same_outputs(model, reference.bert, _inputs(model.vocabulary_size, 2))
    with pytest.raises(CheckpointError, match="no pretraining heads"):
        load_huggingface_bert(tmp_path, with_heads=True)


def _legacy_layer_norm_name(name):
    """`...LayerNorm.weight` / `.bias` -> `...LayerNorm.gamma` / `.beta`."""
    name = re.sub(r"LayerNorm\.weight$", "LayerNorm.gamma", name)
    return re.sub(r"LayerNorm\.bias$", "LayerNorm.beta", name)


def _save_pytorch_bin(model, path, vocabulary, legacy_names=False):
    """What `save_pretrained` wrote before safetensors: a pickled state dict
    (transformers 5 writes safetensors even with safe_serialization=False).
    It holds the tied decoder matrix and bias twice and, in old versions,
    the position_ids buffer and LayerNorm.gamma/beta names."""
    state = dict(model.state_dict())
    state["bert.embeddings.position_ids"] = torch.arange(model.config.max_position_embeddings)[None]
    if legacy_names:
        state = {_legacy_layer_norm_name(name): value for name, value in state.items()}
    torch.save(state, path / "pytorch_model.bin")
    model.config.to_json_file(path / "config.json")
    shutil.copy(vocabulary, path / "vocab.txt")
    return state


def test_pytorch_bin_with_legacy_names(huggingface_checkpoints, vocabularies, tmp_path):
    reference, _ = huggingface_checkpoints["exact_gelu"]
    state = _save_pytorch_bin(reference, tmp_path, vocabularies[True], legacy_names=True)
    assert "cls.predictions.decoder.weight" in state and "bert.embeddings.LayerNorm.gamma" in state
    model, _ = load_huggingface_bert(tmp_path, with_heads=True)
    _assert_same_outputs(model, reference, _inputs(model.backbone.vocabulary_size, 2))


def test_pytorch_bin_without_torch_says_so(huggingface_checkpoints, vocabularies, tmp_path, monkeypatch):
    reference, _ = huggingface_checkpoints["exact_gelu"]
    _save_pytorch_bin(reference, tmp_path, vocabularies[True])
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails
    with pytest.raises(ImportError, match="needs PyTorch"):
        load_huggingface_bert(tmp_path)


# === Google ===


def _google_name(name):
    """A Hugging Face tensor name -> the original TF1 variable name, and
    whether the matrix is transposed; written independently of the
    importer's table, so a wrong row there fails here."""
    special = {
        "cls.predictions.bias": ("cls/predictions/output_bias", False),
        "cls.seq_relationship.weight": ("cls/seq_relationship/output_weights", False),  # (2, H) in both
        "cls.seq_relationship.bias": ("cls/seq_relationship/output_bias", False),
    }
    if name in special:
        return special[name]
    name = re.sub(r"layer\.(\d+)", r"layer_\1", name)
    if name.endswith("_embeddings.weight"):
        return name.removesuffix(".weight").replace(".", "/"), False
    name = _legacy_layer_norm_name(name)
    if name.endswith(".weight"):
        return name.removesuffix(".weight").replace(".", "/") + "/kernel", True
    return name.replace(".", "/"), False


@pytest.fixture(scope="module")
def google_checkpoint(vocabularies, tmp_path_factory):
    """`(BertForPreTraining, directory)`: a tanh-GELU model (what Google's
    "gelu" is) written as google-research/bert's TF1 checkpoint, plus
    optimizer state that must be skipped."""
    vocabulary = vocabularies[True]
    reference = _random_bert(transformers.BertForPreTraining, 7, vocab_size=_vocabulary_size(vocabulary),
                             hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=40,
                             hidden_act="gelu_new", max_position_embeddings=32, type_vocab_size=2,
                             layer_norm_eps=1e-12)
    path = tmp_path_factory.mktemp("google") / "uncased_L-2_H-32_A-2"
    path.mkdir()
    tensors = {}
    for name, value in reference.state_dict().items():
        if name.startswith("cls.predictions.decoder."):
            continue  # tied to the word embeddings and output bias
        google_name, transpose = _google_name(name)
        tensors[google_name] = value.numpy().T if transpose else value.numpy()
    query = "bert/encoder/layer_0/attention/self/query/kernel"
    tensors[query + "/adam_m"] = np.zeros_like(tensors[query])
    tensors[query + "/adam_v"] = np.ones_like(tensors[query])
    tensors["global_step"] = np.array(1000, "int64")
    names = sorted(tensors)
    tf.raw_ops.SaveV2(prefix=str(path / "bert_model.ckpt"), tensor_names=names,
                      shape_and_slices=[""] * len(names), tensors=[tensors[n] for n in names])
    config = reference.config
    (path / "bert_config.json").write_text(json.dumps({
        "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "hidden_size": config.hidden_size, "initializer_range": 0.02,
        "intermediate_size": config.intermediate_size,
        "max_position_embeddings": config.max_position_embeddings,
        "num_attention_heads": config.num_attention_heads, "num_hidden_layers": config.num_hidden_layers,
        "type_vocab_size": config.type_vocab_size, "vocab_size": config.vocab_size}))
    shutil.copy(vocabulary, path / "vocab.txt")
    return reference, path


def test_google_checkpoint_matches_transformers(google_checkpoint, tmp_path):
    reference, path = google_checkpoint
    names = tf.train.list_variables(str(path / "bert_model.ckpt"))
    assert "global_step" in dict(names)  # a genuine TF1 name-based checkpoint
    model, tokenizer = load_google_bert(path, with_heads=True)
    assert tokenizer.lower_case is True  # from "uncased" in the directory name
    assert model.backbone.activation == "gelu_approximate"
    inputs = _inputs(model.backbone.vocabulary_size, 2)
    _assert_same_outputs(model, reference, inputs)

    # Written back in the same format, it reads back the same.
    save_google_checkpoint(model, tmp_path / "copy", tokenizer=tokenizer)
    again, _ = load_google_bert(tmp_path / "copy", with_heads=True, lower_case=True)
    for ours, theirs in zip(model.weights, again.weights):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    backbone, _ = load_google_bert(path)  # heads and optimizer state left out
    assert isinstance(backbone, BertBackbone)


@pytest.mark.parametrize("name, lower_case", [
    ("uncased_L-12_H-768_A-12", True), ("wwm_uncased_L-24_H-1024_A-16", True),
    ("cased_L-12_H-768_A-12", False), ("multi_cased_L-12_H-768_A-12", False),
    ("multilingual_L-12_H-768_A-12", True), ("my_bert", True),
])
def test_google_lower_case_from_directory_name(name, lower_case):
    assert _lower_case_from_name(name) is lower_case


# === Errors ===


def test_all_problems_are_reported_at_once(huggingface_checkpoints, tmp_path):
    _, path = huggingface_checkpoints["exact_gelu"]
    tensors = safetensors.numpy.load_file(path / "model.safetensors")
    del tensors["bert.encoder.layer.1.output.dense.bias"]  # missing
    tensors["bert.encoder.layer.2.output.dense.bias"] = np.zeros(32, "float32")  # unexpected
    tensors["bert.pooler.dense.weight"] = np.zeros((32, 31), "float32")  # wrong shape
    untied = tensors["bert.embeddings.word_embeddings.weight"] + 1
    tensors["cls.predictions.decoder.weight"] = untied
    safetensors.numpy.save_file(tensors, tmp_path / "model.safetensors")
    for file in ("config.json", "vocab.txt"):
        shutil.copy(path / file, tmp_path)
    with pytest.raises(CheckpointError) as caught:
        load_huggingface_bert(tmp_path, with_heads=True)
    error = caught.value
    assert error.missing == ["bert.encoder.layer.1.output.dense.bias"]
    assert error.unexpected == ["bert.encoder.layer.2.output.dense.bias"]
    assert [name for name, _ in error.mismatched] == [
        "bert.pooler.dense.weight", "cls.predictions.decoder.weight"]
    message = str(error)
    assert "1 missing, 1 unexpected, 2 mismatched" in message
    assert ("bert.pooler.dense.weight: (32, 31) in the checkpoint (transposed: (31, 32)), "
            "but backbone.pooler.kernel is (32, 32)") in message
    assert "ties the two" in message


@pytest.mark.parametrize("change, message", [
    ({"position_embedding_type": "relative_key"}, "position_embedding_type"),
    ({"is_decoder": True}, "is_decoder"),
    ({"add_cross_attention": True}, "add_cross_attention"),
    ({"hidden_act": "quick_gelu"}, "hidden_act='quick_gelu' is not supported"),
    ({"model_type": "roberta"}, "model_type"),
    ({"attention_probs_dropout_prob": 0.2}, "pass dropout="),
    ({"num_attention_heads": 5}, "not divisible"),
])
def test_unsupported_huggingface_configs_are_refused(change, message):
    config = dict(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                  intermediate_size=37, hidden_act="gelu", max_position_embeddings=64, type_vocab_size=2,
                  hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    assert bert_config_from_huggingface(config).activation == "gelu"
    with pytest.raises(CheckpointError, match=re.escape(message)):
        bert_config_from_huggingface({**config, **change})


def test_config_choices():
    config = dict(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                  intermediate_size=37, hidden_act="gelu", max_position_embeddings=64, type_vocab_size=2,
                  hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.2)
    assert bert_config_from_huggingface(config, dropout=0.0).dropout == 0.0
    assert bert_config_from_huggingface({**config, "hidden_act": "gelu_pytorch_tanh"},
                                        dropout=0.1).activation == "gelu_approximate"
    google = bert_config_from_google(config, dropout=0.1)
    assert (google.activation, google.layer_norm_epsilon) == ("gelu_approximate", 1e-12)
    with pytest.raises(CheckpointError, match="gelu_new"):
        bert_config_from_google({**config, "hidden_act": "gelu_new"}, dropout=0.1)
    with pytest.raises(CheckpointError, match="missing key 'vocab_size'"):
        bert_config_from_google({k: v for k, v in config.items() if k != "vocab_size"})


# === keras-hub ===


def test_keras_hub_backbone_gives_the_same_outputs():
    theirs = keras_hub.models.BertBackbone(vocabulary_size=60, num_layers=2, num_heads=3, hidden_dim=24,
                                           intermediate_dim=40, max_sequence_length=16, num_segments=3)
    rng = np.random.default_rng(0)
    for weight in theirs.weights:  # LayerNorms and biases too
        weight.assign(np.asarray(weight) + NOISE * rng.normal(size=weight.shape).astype("float32"))
    ours = from_keras_hub(theirs)
    inputs = _inputs(60, 3)
    del inputs["mask_positions"]
    expected, outputs = theirs(inputs), ours(inputs)
    for key in ("sequence_output", "pooled_output"):
        diff = max_abs_diff(outputs[key], expected[key])
        print(f"keras-hub {key} max abs diff: {diff}")
        assert diff <= 1e-5, key
    with pytest.raises(CheckpointError, match=r"Pass its \.backbone"):
        from_keras_hub(keras_hub.models.BertMaskedLM(theirs))


# === Tokenizer parity ===


@pytest.fixture(scope="module")
def imported_tokenizers(huggingface_checkpoints):
    """`{lower_case: (ours, [Hugging Face tokenizers])}`, ours from the
    checkpoint directories (vocab.txt uncased, tokenizer.json cased)."""
    tokenizers = {}
    for name in HF_CONFIGS:
        _, path = huggingface_checkpoints[name]
        ours = load_huggingface_bert(path)[1]
        vocabulary = str(ours.vocabulary_file.asset_path.numpy().decode())
        references = [cls(vocabulary, do_lower_case=ours.lower_case)
                      for cls in (transformers.BertTokenizer, transformers.BertTokenizerLegacy)]
        tokenizers[ours.lower_case] = (ours, references)
    assert set(tokenizers) == {True, False}
    return tokenizers


def _ids(ours, references, texts):
    expected = [[reference(text, add_special_tokens=False)["input_ids"] for text in texts]
                for reference in references]
    return ours.tokenize(texts).to_list(), expected


@pytest.mark.parametrize("lower_case", [True, False], ids=["uncased", "cased"])
def test_tokenizer_matches_huggingface(imported_tokenizers, lower_case):
    ours, references = imported_tokenizers[lower_case]
    texts = PARITY_INPUTS + [text for text, cases in KNOWN_DIFFERENCES.items() if lower_case not in cases]
    ids, expected = _ids(ours, references, texts)
    for reference_ids in expected:  # the fast (Rust) and the legacy (Python) tokenizer
        for text, got, want in zip(texts, ids, reference_ids):
            tokens = [ours.id_to_token(i) for i in got], [ours.id_to_token(i) for i in want]
            assert got == want, (text, *tokens)
    assert any(ours.unk_id in row for row in ids) and any(len(row) > 5 for row in ids)


@pytest.mark.parametrize("lower_case", [True, False], ids=["uncased", "cased"])
def test_tokenizer_known_differences_from_huggingface(imported_tokenizers, lower_case):
    ours, references = imported_tokenizers[lower_case]
    texts = [text for text, cases in KNOWN_DIFFERENCES.items() if lower_case in cases]
    ids, expected = _ids(ours, references, texts)
    for reference_ids in expected:
        for text, got, want in zip(texts, ids, reference_ids):
            assert got != want, f"{text!r} now matches: move it to PARITY_INPUTS"


def test_a_shard_index_cannot_point_outside_the_checkpoint_folder(tmp_path):
    from tf_models.checkpoints import huggingface

    folder = tmp_path / "model"
    folder.mkdir()
    safetensors.numpy.save_file({"w": np.ones(2, "float32")}, str(tmp_path / "elsewhere.safetensors"))
    safetensors.numpy.save_file({"v": np.ones(2, "float32")}, str(folder / "part-1.safetensors"))
    index = {"weight_map": {"v": "part-1.safetensors", "w": "../elsewhere.safetensors"}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match=r"names the shard '\.\./elsewhere\.safetensors', outside"):
        huggingface._read_tensors(folder)
    index["weight_map"]["w"] = "part-1.safetensors"
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    assert sorted(huggingface._read_tensors(folder)[0]) == ["v"]
