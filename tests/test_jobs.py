"""The jobs' evaluation helpers: every score beside its baseline, on the same examples."""

import dataclasses
import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import wordpiece_tokenizer

from tf_models import jobs
from tf_models.jobs import corpora
from tf_models.jobs.corpora import review_documents
from tf_models.jobs.finetuning_tasks import classification_baselines
from tf_models.jobs.pretraining import evaluate_pretrainer, most_frequent_token, token_counts
from tf_models.data import classification_data
from tf_models.inference import DecodingConfig
from tf_models.models import BertBackbone, BertPretrainer
from tf_models.training.averaging import average_weights

# The tokens of the `tokenizer` fixture (conftest.py).
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", ",", "."]


def test_most_frequent_token_skips_special_tokens(tokenizer):
    # Raw text has no special tokens, but unknown words are [UNK] (here 3 per "[MASK]", 12 in all).
    texts = ["the cat sat, the cat.", "the the [MASK] [MASK] [MASK] [MASK]"]
    counts = token_counts(texts, tokenizer)
    assert counts[VOCABULARY.index("[UNK]")] == 12 and counts[VOCABULARY.index("the")] == 4
    assert counts[VOCABULARY.index("cat")] == 2 and counts.sum() == 21
    assert tokenizer.vocabulary[most_frequent_token(texts, tokenizer)] == "the"


def test_pretrainer_scores_and_baselines_count_the_same_masked_positions(tokenizer, capsys):
    model = BertPretrainer(BertBackbone.from_preset("test", vocabulary_size=len(VOCABULARY)))
    rng = np.random.default_rng(0)
    token_ids = rng.integers(5, len(VOCABULARY), (4, 12)).astype("int32")
    features = {"token_ids": token_ids, "segment_ids": np.zeros_like(token_ids),
                "padding_mask": np.ones_like(token_ids), "mask_positions": np.tile(np.arange(5), (4, 1))}
    targets = np.array([[5, 5, 6, 7, 5]] * 4, "int32")
    weights = np.array([[1, 1, 1, 0, 0]] * 4, "float32")  # two padded predictions per row
    nsp = np.array([0, 1, 1, 1], "int32")
    batch = (features, {"mlm_logits": targets, "nsp_logits": nsp},
             {"mlm_logits": weights, "nsp_logits": np.ones(4, "float32")})
    data = tf.data.Dataset.from_tensors(batch).repeat(2)
    results = evaluate_pretrainer(model, data, most_frequent_id=5, tokenizer=tokenizer)

    outputs = model.predict_on_batch(features)
    right = (np.argmax(outputs["mlm_logits"], -1) == targets) & (weights > 0)
    assert results["masked_tokens"] == 24 and results["sentence_pairs"] == 8
    assert results["mlm_logits_accuracy"] == pytest.approx(right.sum() / 12)
    assert results["nsp_logits_accuracy"] == pytest.approx(np.mean(np.argmax(outputs["nsp_logits"], -1) == nsp))
    baselines = results["baselines"]
    assert baselines["mlm_most_frequent_token_accuracy"] == pytest.approx(2 / 3)  # "the" at 2 of 3 real positions
    assert baselines["nsp_majority_accuracy"] == 0.75 and baselines["nsp_chance_accuracy"] == 0.5
    assert baselines["most_frequent_token"] == "the"
    logits = np.asarray(outputs["mlm_logits"], "float64")
    log_probabilities = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected_loss = -np.take_along_axis(log_probabilities, targets[..., None], -1)[..., 0][weights > 0].mean()
    assert results["mlm_loss"] == pytest.approx(expected_loss, rel=1e-5)
    assert "baseline, always the most frequent token: 66.7%" in capsys.readouterr().out


def test_classification_baselines_train_on_train_and_score_on_test(capsys):
    good, bad = ["tasty fresh lovely", "fresh and tasty"], ["stale broken", "awful stale box"]
    train = classification_data(good * 20 + bad * 10, [0] * 40 + [1] * 20, ("great", "other"))
    test = classification_data(["tasty", "stale box", "awful", "lovely fresh"], [0, 1, 1, 0], ("great", "other"))
    baselines = classification_baselines(train, test, model_accuracy=0.5)
    assert baselines["majority_class_accuracy"] == 0.5  # "great", the training majority
    assert baselines["tfidf_logistic_regression_accuracy"] == 1.0
    assert set(baselines) == {"majority_class_accuracy", "majority_class_macro_f1",
                              "tfidf_logistic_regression_accuracy", "tfidf_logistic_regression_macro_f1"}
    assert "the model does NOT beat: majority_class, tfidf_logistic_regression" in capsys.readouterr().out


def test_tagging_scores_skip_ignored_words_and_count_the_unseen_ones(tokenizer, capsys):
    """A word tagged IGNORED_LABEL is read but never scored, and the words
    after it keep their own predictions (no shift)."""
    from tf_models.data.records import TaggingData
    from tf_models.data.tagging import IGNORED_LABEL, tagging_dataset, word_predictions
    from tf_models.jobs.finetuning_tasks import Tag
    from tf_models.models import BertTagger

    keras.utils.set_random_seed(3)
    model = BertTagger(BertBackbone.from_preset("test", vocabulary_size=len(VOCABULARY)), num_classes=3)
    names = ("A", "B", "C")
    train = TaggingData([["the", "cat"], ["cat", "sat"]], [[0, 1], [1, IGNORED_LABEL]], names)
    test_words = [["the", "sat", "cat", "."], ["sat", ",", "the"]]
    test = TaggingData(test_words, [[0, IGNORED_LABEL, 1, 2], [2, 2, 0]], names)
    job = jobs.FinetuningJob(task="tagger", batch_size=2, max_sequence_length=16)
    scores = Tag().evaluate(model, tokenizer, train, test, job)

    every_word = TaggingData(test_words, [[0] * len(words) for words in test_words], names)
    features, labels = next(iter(tagging_dataset(every_word, tokenizer, batch_size=2)))
    predicted = word_predictions(np.argmax(model.predict_on_batch(features)["logits"], -1), labels["logits"])
    pairs = [(t, p) for tags, guesses in zip(test.tags, predicted) for t, p in zip(tags, guesses) if t >= 0]
    assert scores["scored_words"] == 6 and scores["accuracy"] == pytest.approx(np.mean([t == p for t, p in pairs]))
    # Unseen: "." and "," (and "sat" is seen, though its training tag was ignored).
    unseen = [(t, p) for words, tags, guesses in zip(test_words, test.tags, predicted)
              for w, t, p in zip(words, tags, guesses) if t >= 0 and w in (".", ",")]
    assert scores["unseen_words"] == 2
    assert scores["unseen_word_accuracy"] == pytest.approx(np.mean([t == p for t, p in unseen]))
    base = scores["baselines"]
    assert base["majority_tag_accuracy"] == pytest.approx(1 / 6)  # "B" (twice in training) is right once
    assert base["majority_tag_unseen_word_accuracy"] == 0.0
    output = capsys.readouterr().out
    assert "on the 2 words no training sentence has" in output and "entity" not in output  # no B-/I- tags


def test_review_documents_split_sentences_and_drop_labels():
    data = classification_data(["Great tea. I will buy it again!", "Stale."], [0, 1], ("great", "other"))
    assert review_documents(data) == [["Great tea.", "I will buy it again!"], ["Stale."]]


@pytest.mark.parametrize("source, languages, expected", [
    ("software_zh_en", {}, {"reverse": False}),  # the corpus' own direction: Chinese to English
    ("software_zh_en", {"source_language": "en", "target_language": "zh"}, {"reverse": True}),
    ("software_de_en", {}, {"reverse": False}),
    ("ding_de_en", {"source_language": "en", "target_language": "de"}, {"reverse": True}),
])
def test_pair_corpora_read_in_the_direction_the_languages_ask(monkeypatch, source, languages, expected):
    asked = []
    monkeypatch.setattr(corpora, "load_source", lambda name, **options: asked.append((name, options)) or [])
    assert corpora.read_corpus("pairs", jobs.TranslationJob(source=source, **languages)) == {"all": []}
    assert asked == [(source, expected)]


def test_job_configs_round_trip_through_config_json():
    # config.json holds the nested config as a dict.
    saved = json.loads(json.dumps(dataclasses.asdict(jobs.TranslationJob(decoding=DecodingConfig("sample", seed=4)))))
    assert jobs.TranslationJob.from_values(saved).decoding == DecodingConfig("sample", seed=4)
    with pytest.raises(ValueError, match=r"Unknown option\(s\) \['epochz'\]"):
        jobs.FinetuningJob.from_values({"epochz": 3})
    assert jobs.FinetuningJob.from_values({"epochz": 3}, unknown="drop") == jobs.FinetuningJob()


@pytest.mark.parametrize("config, files", [
    ({"job": "FinetuningJob", "task": "qa"}, ("vocab.txt", "tokenizer_config.json")),  # a task's old name
    ({"job": "TranslationJob", "decoding": "beam", "beam_width": 8}, ("vocab.txt", "tokenizer_config.json")),
    ({"job": "PretrainingJob"}, ("vocab.txt",)),  # before tokenizer_config.json
    ({"job": "SummarizationJob"}, ()),
])
def test_run_folders_of_older_versions_are_refused_with_one_clear_error(tmp_path, config, files):
    (tmp_path / "config.json").write_text(json.dumps(config))
    for name in files:
        (tmp_path / name).write_text("{}")
    with pytest.raises(ValueError, match="older version of tf_models.*run the job again"):
        jobs.load_job(tmp_path)


def test_a_model_file_this_version_cannot_read_asks_to_run_the_job_again(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"job": "LanguageModelJob"}))
    (tmp_path / "causal_lm.keras").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="causal_lm.keras cannot be read by this version.*run the job again"):
        jobs.load_job(tmp_path).inference_modules()


def test_one_registry_names_each_job_its_command_template_and_exports():
    assert [job.command for job in jobs.JOBS] == ["train-translation", "pretrain-bert", "finetune-bert", "train-lm"]
    tasks = [task for job in jobs.JOBS for task in job.serving]
    assert len(tasks) == len(set(tasks)) == 8
    for job in jobs.JOBS:
        for task in job.serving:
            assert jobs.serving_module(task).TASK == task
    assert set(jobs.FinetuningJob.serving) == set(jobs.FINETUNING_TASKS)
    with pytest.raises(ValueError, match="'translation' is no export task"):
        jobs.serving_module("translation")  # the old name of the translator's task


def test_a_resumed_run_keeps_the_vocabulary_its_backup_was_trained_with(tmp_path, capsys):
    from types import SimpleNamespace

    from tf_models.jobs.common import backup_folder, learn_wordpiece_tokenizer

    job = SimpleNamespace(output_dir=str(tmp_path), vocabulary_size=40)
    strategy = tf.distribute.get_strategy()
    texts = ["the cat sat on the mat", "a dog ran far away"] * 20
    learned = learn_wordpiece_tokenizer(job, tmp_path, strategy, texts).vocabulary
    assert "cat" in learned and (tmp_path / "vocab.txt").exists()
    # A first try that was killed: its vocabulary and a backup are on disk.
    (tmp_path / "vocab.txt").write_text("\n".join(VOCABULARY) + "\n")
    assert learn_wordpiece_tokenizer(job, tmp_path, strategy, texts).vocabulary != VOCABULARY  # no backup: learned
    (tmp_path / "vocab.txt").write_text("\n".join(VOCABULARY) + "\n")
    tf.train.Checkpoint(step=tf.Variable(1)).save(str(backup_folder(job) / "ckpt"))
    assert learn_wordpiece_tokenizer(job, tmp_path, strategy, texts).vocabulary == VOCABULARY
    assert "as the backup was trained with it" in capsys.readouterr().out


def test_translation_averages_the_last_epochs_when_validation_says_so(tmp_path):
    rng = np.random.default_rng(0)
    words = {"the": "der", "cat": "Katze", "dog": "Hund", "sat": "sass", "ran": "lief", "big": "gross"}
    english = [" ".join(rng.choice(list(words), rng.integers(3, 6))) for _ in range(200)]
    (tmp_path / "train.en").write_text("\n".join(english) + "\n")
    (tmp_path / "train.de").write_text("\n".join(" ".join(words[w] for w in s.split()) for s in english) + "\n")
    run = tmp_path / "run"
    job = jobs.TranslationJob(
        output_dir=str(run), source="files", train_files=(str(tmp_path / "train.en"), str(tmp_path / "train.de")),
        preset="test", vocabulary_size=80, batch_size=16, epochs=3, warmup_steps=10, test_size=10,
        average_last=2, decoding=DecodingConfig("greedy"), verbose=0,
    )
    averaging = job.run()["checkpoint_averaging"]
    snapshots = sorted(p.name for p in (run / "snapshots").iterdir())
    assert snapshots == ["epoch_0002.weights.h5", "epoch_0003.weights.h5"] and averaging["epochs"] == [2, 3]
    saved = keras.saving.load_model(run / "transformer.keras")
    expected = keras.saving.load_model(run / "transformer.keras")
    if averaging["kept_average"]:
        assert averaging["val_loss_average"] < averaging["val_loss_last"]
        average_weights(expected, [run / "snapshots" / name for name in snapshots])
    else:
        expected.load_weights(str(run / "snapshots" / snapshots[-1]))
    for a, b in zip(saved.trainable_variables, expected.trainable_variables):
        np.testing.assert_array_equal(np.asarray(a.value), np.asarray(b.value))

    # A new run in the same folder starts its snapshots afresh: one epoch, nothing to average.
    again = dataclasses.replace(job, epochs=1).run()
    assert sorted(p.name for p in (run / "snapshots").iterdir()) == ["epoch_0001.weights.h5"]
    assert again["checkpoint_averaging"] == {}


@pytest.mark.parametrize("masking_rate, expected", [(0.15, 20), (0.3, 39)])
def test_pretraining_data_masks_what_the_masking_rate_asks(tmp_path, masking_rate, expected):
    """A fixed cap of 20 predictions once cut --masking-rate 0.3 to about 16%."""
    from tf_models.jobs.pretraining import _pretraining_data

    words = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran"]
    tokenizer = wordpiece_tokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words], tmp_path)
    documents = [[" ".join(words[(i + j) % 8] for j in range(40))] for i in range(8)]
    job = jobs.PretrainingJob(masking_rate=masking_rate, next_sentence_prediction=False, batch_size=2)
    features, labels, weights = next(iter(_pretraining_data(job, documents, tokenizer, seed=0, training=True)))
    assert features["mask_positions"].shape == (2, expected)  # ceil(rate * 128)
    # The rate is met, not capped: about rate x 126 text tokens per row are predicted.
    assert np.mean(np.sum(weights["mlm_logits"], axis=1)) == pytest.approx(masking_rate * 126, abs=2)


def test_pretraining_exports_read_what_the_pretraining_trained(tmp_path):
    """Without NSP the pooler never trained: the sentence encoder averages the
    token outputs instead; the fill-mask model answers words."""
    (tmp_path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "."]) + "\n")
    (tmp_path / "tokenizer_config.json").write_text('{"lower_case": true}')
    keras.utils.set_random_seed(0)
    BertPretrainer(BertBackbone.from_preset("test", vocabulary_size=7), next_sentence_prediction=False).save(
        tmp_path / "pretrainer.keras")
    for nsp, pooling in ((False, "mean"), (True, "pooled")):
        job = jobs.PretrainingJob(output_dir=str(tmp_path), next_sentence_prediction=nsp)
        modules = job.inference_modules()
        assert modules["sentence_encoder"].pooling == pooling and modules["fill_mask"].words_only
