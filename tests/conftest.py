"""Shared fixtures. TensorFlow's C++ logging is quieted before it is imported."""

import os
import shutil
from collections.abc import Mapping

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import pytest  # noqa: E402
from helpers import POLICIES, wordpiece_tokenizer  # noqa: E402


@pytest.fixture(autouse=True)
def _seed_and_policy_reset():
    """Every test starts from the same seed and the float32 policy."""
    keras.utils.set_random_seed(1234)
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture(params=POLICIES)
def policy(request):
    """Runs a test under each dtype policy, set globally as a user would."""
    keras.config.set_dtype_policy(request.param)
    return keras.mixed_precision.Policy(request.param)


@pytest.fixture(scope="module")
def tokenizer(request, tmp_path_factory):
    """An (uncased) WordPiece tokenizer over the test module's `VOCABULARY`:
    each module lists the tokens its assertions count on."""
    vocabulary = getattr(request.module, "VOCABULARY", None)
    if vocabulary is None:
        pytest.fail(f"{request.module.__name__} uses the `tokenizer` fixture but defines no VOCABULARY list")
    return wordpiece_tokenizer(vocabulary, tmp_path_factory.mktemp("vocab"))


@pytest.fixture(scope="session")
def debian_cache(tmp_path_factory):
    """A corpus cache for the Debian packages of the offline sources, fetched
    into it with apt-get once per session (test_debian.py, test_sources.py)."""
    if shutil.which("apt-get") is None:
        pytest.skip("apt-get is not available: the offline corpora come from Debian packages")
    return tmp_path_factory.mktemp("debian_cache")


@pytest.fixture
def with_debian_cache(debian_cache, monkeypatch):
    from tf_models.data import downloads

    monkeypatch.setenv(downloads.CACHE_ENVIRONMENT_VARIABLE, str(debian_cache))


# The eight inference modules on tiny models, and their exports, shared by
# test_export.py and test_serving.py (exporting takes a minute).


@pytest.fixture(scope="session")
def inference_modules(tmp_path_factory):
    from helpers import EXPORT_MAX_LENGTH, EXPORT_VOCABULARY

    from tf_models.data.tokenizers import train_character_tokenizer
    from tf_models.inference import (
        FillMask,
        QuestionAnswerer,
        SentenceEncoder,
        TextClassifier,
        TextGenerator,
        TextRegressor,
        TokenTagger,
        Translator,
    )
    from tf_models.models import (
        BertBackbone,
        BertClassifier,
        BertPretrainer,
        BertSpanLabeler,
        BertTagger,
        CausalLM,
        Transformer,
    )

    keras.utils.set_random_seed(99)
    tokenizer = wordpiece_tokenizer(EXPORT_VOCABULARY, tmp_path_factory.mktemp("vocab"))
    size, length = len(EXPORT_VOCABULARY), EXPORT_MAX_LENGTH
    pretrainer = BertPretrainer(BertBackbone.from_preset("test", vocabulary_size=size, max_sequence_length=length))

    def backbone():
        return BertBackbone.from_preset("test", vocabulary_size=size, max_sequence_length=length)

    classifier = BertClassifier(backbone(), num_classes=3)
    characters = train_character_tokenizer(EXPORT_VOCABULARY[7:], tmp_path_factory.mktemp("characters") / "c.json")
    causal_lm = CausalLM.from_preset("test", vocabulary_size=characters.vocabulary_size)
    tagger = BertTagger(backbone(), num_classes=3)
    return {
        "translator": Translator(Transformer.from_preset("test", vocabulary_size=size), tokenizer,
                                 max_length=length, method="beam", beam_width=3, alpha=0.6),
        "classifier": TextClassifier(classifier, tokenizer, ["negative", "neutral", "positive"], length),
        "regressor": TextRegressor(BertClassifier(backbone(), num_classes=1), tokenizer, length),
        "fill_mask": FillMask(pretrainer, tokenizer, top_k=3, max_sequence_length=length),
        "sentence_encoder": SentenceEncoder(pretrainer.backbone, tokenizer, max_sequence_length=length),
        "tagger": TokenTagger(tagger, tokenizer, ["O", "B-ANIMAL", "I-ANIMAL"], length),
        # Windows of 7 context pieces, 4 apart: long contexts take many windows.
        "question_answerer": QuestionAnswerer(BertSpanLabeler(backbone()), tokenizer, max_sequence_length=length,
                                              max_query_length=6, doc_stride=4),
        # Characters, sampled: a context of 16 positions, prompts cut to their last 8 tokens.
        "text_generator": TextGenerator(causal_lm, characters, max_new_tokens=6, context_length=length,
                                        method="sample", top_k=5, seed=3),
    }


class _ExportsOnDemand(Mapping):
    """`{name: version folder}` of the modules, each exported the first time
    it is asked for: test_serving.py, in the other test process, needs two
    of the eight, and every export is seconds of graph tracing."""

    def __init__(self, modules, base):
        self.modules, self.base, self.folders = modules, base, {}

    def __getitem__(self, name):
        from tf_models.export import export_saved_model

        if name not in self.folders:
            self.folders[name] = export_saved_model(self.modules[name], self.base, name)
        return self.folders[name]

    def __iter__(self):
        return iter(self.modules)

    def __len__(self):
        return len(self.modules)


@pytest.fixture(scope="session")
def exported_models(inference_modules, tmp_path_factory):
    """`(base_dir, {name: version folder})` of the modules, exported on demand."""
    base = tmp_path_factory.mktemp("saved_models")
    return base, _ExportsOnDemand(inference_modules, base)
