"""The command line, end to end on tiny data the tests write themselves."""

import ast
import json
import math
import os
import random
import re
import subprocess
import sys

import numpy as np
import pytest

from tf_models.cli import build_job, main
from tf_models.jobs import FinetuningJob, TranslationJob

ENGLISH_TO_GERMAN = {
    "the": "der", "a": "ein", "cat": "Katze", "dog": "Hund", "sat": "sass", "ran": "lief",
    "on": "auf", "under": "unter", "mat": "Matte", "house": "Haus", "big": "gross",
}


def _main(capsys, *args):
    """Runs the CLI in this process (no TensorFlow start-up): its stdout."""
    capsys.readouterr()
    assert main([str(a) for a in args]) == 0
    return capsys.readouterr().out


# TensorFlow's C++ start-up lines, which TF_CPP_MIN_LOG_LEVEL does not hold back
# in TensorFlow 2.21 (tf_models.startup).
STARTUP_NOISE = ("absl::InitializeLog", "oneDNN custom operations", "Could not find cuda drivers",
                 "cpu_feature_guard", "Unable to register")


def _run(*args, timeout=300):
    """Runs `python -m tf_models ARGS` as a user would: its stdout. Its
    stderr must hold none of TensorFlow's start-up lines (the CLI imports
    TensorFlow through tf_models.startup.import_tensorflow, whose default
    level applies: the environment sets none)."""
    env = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-m", "tf_models", *args], capture_output=True,
                            text=True, env=env, timeout=timeout)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    noise = [line for line in result.stderr.splitlines() if any(mark in line for mark in STARTUP_NOISE)]
    assert not noise, "\n".join(noise)
    return result.stdout


@pytest.fixture(scope="module")
def parallel_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    rng = random.Random(0)
    english = [" ".join(rng.choice(list(ENGLISH_TO_GERMAN)) for _ in range(rng.randint(3, 7))) for _ in range(300)]
    (folder / "train.en").write_text("\n".join(english) + "\n")
    (folder / "train.de").write_text("\n".join(" ".join(ENGLISH_TO_GERMAN[w] for w in s.split()) for s in english) + "\n")
    return folder


def test_train_translation_then_translate_and_evaluate(parallel_files, tmp_path, capsys):
    run = tmp_path / "run"
    config = tmp_path / "job.json"
    config.write_text(json.dumps({"preset": "test", "vocabulary_size": 150, "epochs": 1, "test_size": 20,
                                  "decoding": {"method": "greedy"}}))
    output = _run(
        "train-translation", "--config", str(config), "--source", "files",
        "--train-files", str(parallel_files / "train.de"), str(parallel_files / "train.en"),
        "--batch-size", "32", "--warmup-steps", "10", "--output-dir", str(run),
    )
    for stage in ("[data] done", "[tokenizer] done", "[train] done", "[evaluate] done"):
        assert stage in output
    resolved = json.loads((run / "config.json").read_text())
    assert resolved["preset"] == "test" and resolved["batch_size"] == 32 and resolved["job"] == "TranslationJob"
    assert resolved["decoding"]["method"] == "greedy"  # the config file's nested decoding
    results = json.loads((run / "results.json").read_text())
    assert results["test_sentences"] == 20 and 0.0 <= results["bleu"] <= 100.0
    for name in ("transformer.keras", "vocab.txt", "history.csv", "best.keras"):
        assert (run / name).exists(), name
    # The follow-up commands read the tokenizer as trained: cased.
    assert json.loads((run / "tokenizer_config.json").read_text()) == {"lower_case": False}
    translated = _main(capsys, "translate", run, "der Hund lief", "ein Haus", "--method", "greedy")
    assert translated.count(" -> ") == 2
    sampled = _main(capsys, "translate", run, "der Hund lief", "--method", "sample", "--top-k", "5")
    assert sampled.count(" -> ") == 1

    saved = tmp_path / "saved_models"
    exported = _main(capsys, "export", run, "--base-dir", saved, "--method", "greedy")
    assert (saved / "translator" / "1" / "saved_model.pb").exists() and "exported translator" in exported
    assert "name: 'translator'" in (saved / "models.config").read_text()
    from_export = _main(capsys, "translate", saved / "translator", "der Hund lief", "ein Haus")
    assert from_export.splitlines()[-2:] == translated.splitlines()[-2:]  # greedy both times


def test_pretrain_finetune_export_and_predict(tmp_path, capsys):
    rng = random.Random(1)
    words = list(ENGLISH_TO_GERMAN)
    documents = "\n\n".join(
        "\n".join(" ".join(rng.choice(words) for _ in range(rng.randint(4, 9))) + "." for _ in range(8))
        for _ in range(30)
    )
    (tmp_path / "corpus.txt").write_text(documents + "\n")
    rows = ["sentence\tlabel"] + [
        f"{' '.join(rng.choice(words) for _ in range(5))} {'big' if label else 'under'}\t{label}"
        for label in [rng.randint(0, 1) for _ in range(120)]
    ]
    (tmp_path / "train.tsv").write_text("\n".join(rows) + "\n")
    pretraining, finetuning, saved = tmp_path / "pretraining", tmp_path / "finetuning", tmp_path / "saved_models"
    tiny = ["--preset", "test", "--vocabulary-size", "120", "--max-sequence-length", "24", "--batch-size", "8"]
    # In this process (the translation test above runs the CLI as a new process).
    _main(capsys, "pretrain-bert", "--source", "files", "--document-files", tmp_path / "corpus.txt", *tiny,
          "--steps", "4", "--held-out-documents", "3", "--output-dir", pretraining)
    _main(capsys, "finetune-bert", "--source", "files", "--train-file", tmp_path / "train.tsv",
          "--test-file", tmp_path / "train.tsv", "--init", pretraining,
          "--max-sequence-length", "24", "--epochs", "1", "--output-dir", finetuning)
    predicted = _main(capsys, "predict", finetuning, "the big cat", "a dog under the mat")
    assert sum(line.split(" ")[0] in ("0", "1") for line in predicted.splitlines()) == 2
    filled = _main(capsys, "predict", pretraining, "the [MASK] sat on the mat.")
    candidates = filled.splitlines()[-1].rsplit("[", 1)[1].rstrip("]").split(" / ")  # "word 0.12 / ..."
    assert len(candidates) == 5 and all(c.split(" ")[0].isalpha() for c in candidates)  # words, no "." or "##s"

    _main(capsys, "export", pretraining, "--base-dir", saved)
    _main(capsys, "export", finetuning, "--base-dir", saved, "--name", "sentiment")
    assert sorted(p.name for p in saved.iterdir()) == ["fill_mask", "models.config", "sentence_encoder", "sentiment"]
    from_export = _main(capsys, "predict", saved / "sentiment" / "1", "the big cat", "a dog under the mat")
    assert from_export.splitlines()[-2:] == predicted.splitlines()[-2:]
    embedded = _main(capsys, "predict", saved / "sentence_encoder", "the cat")
    assert "(16 dims)" in embedded


@pytest.mark.parametrize("job", ["train-translation", "pretrain-bert"])
def test_the_same_command_in_two_processes_learns_the_same_vocabulary_and_weights(job, parallel_files, tmp_path):
    """A run is reproducible from its command: the same data and seed give
    the same WordPiece vocabulary and the same final weights in any process
    (the fast vocabulary learner once gave each process its own)."""
    import keras

    import tf_models.models  # noqa: F401  (registers the classes)

    if job == "train-translation":
        flags = ["--source", "files", "--train-files", parallel_files / "train.de", parallel_files / "train.en",
                 "--epochs", "1", "--test-size", "20", "--method", "greedy", "--warmup-steps", "10"]
        model_file = "transformer.keras"
    else:
        sentences = (parallel_files / "train.en").read_text().splitlines()
        (tmp_path / "corpus.txt").write_text(
            "\n\n".join("\n".join(sentences[i : i + 6]) for i in range(0, len(sentences), 6)) + "\n")
        flags = ["--source", "files", "--document-files", tmp_path / "corpus.txt", "--steps", "12",
                 "--held-out-documents", "3", "--no-next-sentence-prediction", "--max-sequence-length", "32"]
        model_file = "pretrainer.keras"
    runs = [tmp_path / "first", tmp_path / "second"]
    for run in runs:
        _run(job, *flags, "--preset", "test", "--vocabulary-size", "90", "--batch-size", "16", "--seed", "3",
             "--output-dir", run)
    assert (runs[0] / "vocab.txt").read_text() == (runs[1] / "vocab.txt").read_text()
    first, second = (keras.saving.load_model(run / model_file, compile=False).get_weights() for run in runs)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_train_a_character_language_model_beside_its_baselines(tmp_path, capsys):
    rng = random.Random(5)
    words = list(ENGLISH_TO_GERMAN)
    documents = "\n\n".join(
        "\n".join(" ".join(rng.choice(words) for _ in range(rng.randint(4, 9))) + "." for _ in range(6))
        for _ in range(24)
    )
    (tmp_path / "corpus.txt").write_text(documents + "\n")
    run = tmp_path / "lm"
    output = _main(capsys, "train-lm", "--source", "files", "--document-files", tmp_path / "corpus.txt",
                   "--preset", "test", "--sequence-length", "24", "--batch-size", "8", "--steps", "30",
                   "--held-out-documents", "4", "--prompts", "the cat", "--sample-length", "20",
                   "--output-dir", run)
    assert "bits per character" in output and "bigram" in output
    results = json.loads((run / "results.json").read_text())
    # Every held-out character after the first is scored once ([END] counts as one).
    assert results["held_out_tokens"] == results["held_out_characters"] - 1
    for name in ("unigram", "bigram"):
        assert results["baselines"][f"{name}_perplexity"] > 1.0
        assert results["baselines"][f"{name}_bits_per_character"] == pytest.approx(
            math.log2(results["baselines"][f"{name}_perplexity"]) * results["held_out_tokens"]
            / results["held_out_characters"])
    # The bigram model of text made of eleven words beats the unigram one.
    assert results["baselines"]["bigram_perplexity"] < results["baselines"]["unigram_perplexity"]
    assert results["perplexity"] == pytest.approx(math.exp(results["nats_per_token"]))
    assert results["samples"][0]["prompt"] == "the cat" and len(results["samples"][0]["continuation"]) <= 20
    assert (run / "causal_lm.keras").exists() and (run / "characters.json").exists()
    assert "held-out perplexity" in _main(capsys, "evaluate", run)
    # Generation from the run and from its export: the same seeded samples, prompts of any length.
    prompts = ["the cat", "", "a much longer prompt than the other two"]
    generated = _main(capsys, "generate", run, *prompts).splitlines()[-3:]
    assert [line.split(" -> ")[0] for line in generated] == [repr(p) for p in prompts]
    # Sampling draws per batch: alone, the first prompt gets the run's own sample.
    alone = _main(capsys, "generate", run, "the cat").splitlines()[-1]
    assert ast.literal_eval(alone.split(" -> ")[1]) == results["samples"][0]["continuation"]
    greedy = _main(capsys, "generate", run, *prompts, "--method", "greedy").splitlines()[-3:]
    assert greedy != generated
    _main(capsys, "export", run, "--base-dir", tmp_path / "saved")
    assert _main(capsys, "generate", tmp_path / "saved" / "text_generator", *prompts).splitlines()[-3:] == generated


def test_build_job_merges_defaults_file_and_flags(tmp_path):
    config = tmp_path / "job.yaml"
    config.write_text("epochs: 5\npreset: test\ntext_columns: [a, b]\n")
    job = build_job(FinetuningJob, {"config": str(config), "epochs": 2})
    assert (job.epochs, job.preset, job.text_columns, job.batch_size) == (2, "test", ("a", "b"), 32)
    with pytest.raises(SystemExit, match="Unknown option"):
        config.write_text("epochz: 5\n")
        build_job(TranslationJob, {"config": str(config)})


def test_decoding_flags_come_from_decoding_config():
    import argparse

    from tf_models.cli import add_job_arguments
    from tf_models.inference import DecodingConfig

    parser = argparse.ArgumentParser()
    add_job_arguments(parser, TranslationJob)

    def job(*flags):
        return build_job(TranslationJob, vars(parser.parse_args(flags)))

    assert job().decoding == DecodingConfig("beam")  # the job's default: the paper's beam search
    assert job("--beam-width", "8").decoding == DecodingConfig("beam", beam_width=8)
    sampled = job("--method", "sample", "--top-k", "5", "--decoding-seed", "3", "--seed", "1")
    assert sampled.decoding == DecodingConfig("sample", top_k=5, seed=3) and sampled.seed == 1
    with pytest.raises(SystemExit, match=r"'beam' takes \['beam_width', 'alpha'\], not \['top_k'\]"):
        job("--top-k", "5")


def test_help_lists_every_command_without_importing_tensorflow():
    output = _run("--help", timeout=120)
    for command in ("train-translation", "pretrain-bert", "finetune-bert", "train-lm", "evaluate", "export",
                    "translate", "predict", "demo"):
        assert command in output
    # Every job's flags come from its config alone: TensorFlow is not imported for --help.
    code = ("import sys\nfrom tf_models.cli import main\n"
            "for command in ('train-translation', 'pretrain-bert', 'finetune-bert'):\n"
            "    try:\n        main([command, '--help'])\n    except SystemExit:\n        pass\n"
            "print('TF_IMPORTED' if {'tensorflow', 'keras'} & set(sys.modules) else 'TF_NOT_IMPORTED')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "--task" in result.stdout and result.stdout.strip().endswith("TF_NOT_IMPORTED"), result.stderr[-2000:]


def test_finetune_regressor_on_sentence_pairs_then_predict_and_export(tmp_path, capsys):
    # STS-B's shape: two sentences and a 0-5 similarity (here: 5 x the share of shared words).
    rng = random.Random(4)
    words = list(ENGLISH_TO_GERMAN)
    rows = ["index\tsentence1\tsentence2\tscore"]
    for i in range(130):
        first = [rng.choice(words) for _ in range(5)]
        second = [w if rng.random() < 0.5 else rng.choice(words) for w in first]
        rows.append(f"{i}\t{' '.join(first)}\t{' '.join(second)}\t{5 * len(set(first) & set(second)) / len(set(first)):.2f}")
    (tmp_path / "train.tsv").write_text("\n".join(rows[:101]) + "\n")
    (tmp_path / "dev.tsv").write_text("\n".join(rows[:1] + rows[101:]) + "\n")
    run, saved = tmp_path / "regressor", tmp_path / "saved_models"
    output = _main(capsys, "finetune-bert", "--task", "regressor", "--source", "files",
                   "--train-file", tmp_path / "train.tsv", "--test-file", tmp_path / "dev.tsv",
                   "--text-columns", "sentence1", "sentence2", "--label-column", "score", "--preset", "test",
                   "--vocabulary-size", "100", "--max-sequence-length", "24", "--batch-size", "16", "--epochs", "1",
                   "--peak-learning-rate", "1e-3", "--output-dir", run)
    assert "test Pearson" in output and "TF-IDF + ridge regression" in output
    results = json.loads((run / "results.json").read_text())
    assert -1.0 <= results["pearson"] <= 1.0 and -1.0 <= results["spearman"] <= 1.0 and results["mse"] >= 0
    for name in ("mean_score_mse", "tfidf_ridge_regression_pearson", "tfidf_ridge_regression_spearman"):
        assert name in results["baselines"], name
    assert (run / "regressor.keras").exists()
    assert "test Pearson" in _main(capsys, "evaluate", run)
    scored = _main(capsys, "predict", run, "the cat sat", "a dog ran", "--second", "the cat sat").splitlines()[-2:]
    assert len(scored) == 2 and all(math.isfinite(float(line.split(":")[0])) for line in scored)
    _main(capsys, "export", run, "--base-dir", saved)
    assert (saved / "regressor" / "1" / "saved_model.pb").exists()
    from_export = _main(capsys, "predict", saved / "regressor", "the cat sat", "a dog ran", "--second", "the cat sat")
    assert from_export.splitlines()[-2:] == scored
    with pytest.raises(SystemExit, match="--context is for question answering"):
        main(["predict", str(run), "the cat", "--context", "a mat"])


def test_every_finetuning_task_is_registered_once():
    from tf_models.jobs import FINETUNING_TASKS, finetuning_task, serving_module

    tasks = [finetuning_task(name) for name in FINETUNING_TASKS]
    # One name per task: its flag value, model file, export name and exported settings["task"].
    assert [task.name for task in tasks] == list(FINETUNING_TASKS)
    assert [task.model_file for task in tasks] == [f"{name}.keras" for name in FINETUNING_TASKS]
    assert all(serving_module(name).TASK == name for name in FINETUNING_TASKS)
    with pytest.raises(ValueError, match="Unknown task 'summarize'"):
        finetuning_task("summarize")


ANIMALS = ["cat", "dog"]


def _tagged_sentences(rng, count):
    """Sentences of ENGLISH_TO_GERMAN words; animals are tagged B-ANIMAL."""
    words = list(ENGLISH_TO_GERMAN)
    sentences = []
    for _ in range(count):
        sentence = [rng.choice(words) for _ in range(rng.randint(3, 8))]
        sentences.append("\n".join(f"{w} X {'B-ANIMAL' if w in ANIMALS else 'O'}" for w in sentence))
    return "\n\n".join(sentences) + "\n"


def test_finetune_tagger_from_a_google_checkpoint(tmp_path, capsys):
    from helpers import wordpiece_tokenizer

    from tf_models.checkpoints import save_google_checkpoint
    from tf_models.models import BertBackbone

    rng = random.Random(2)
    (tmp_path / "train.conll").write_text("-DOCSTART- X O\n\n" + _tagged_sentences(rng, 60))
    (tmp_path / "test.conll").write_text(_tagged_sentences(rng, 10))
    tokenizer = wordpiece_tokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *ENGLISH_TO_GERMAN], tmp_path)
    google = tmp_path / "uncased_L-2_H-16_A-2"
    backbone = BertBackbone.from_preset("test", vocabulary_size=5 + len(ENGLISH_TO_GERMAN), max_sequence_length=32)
    save_google_checkpoint(backbone, google, tokenizer)
    run, saved = tmp_path / "tagger", tmp_path / "saved_models"
    output = _main(capsys, "finetune-bert", "--task", "tagger", "--source", "files", "--init", google,
                   "--train-file", tmp_path / "train.conll", "--test-file", tmp_path / "test.conll",
                   "--word-column", "0", "--tag-column", "2", "--max-sequence-length", "16", "--epochs", "1",
                   "--batch-size", "8", "--max-test-examples", "6", "--output-dir", run)
    assert "Google BERT checkpoint" in output
    results = json.loads((run / "results.json").read_text())
    # The six test sentences drawn with the seed (0) are scored, every word of them.
    test_sentences = (tmp_path / "test.conll").read_text().strip().split("\n\n")
    drawn = random.Random(0).sample(range(len(test_sentences)), 6)
    assert results["scored_words"] == sum(len(test_sentences[i].splitlines()) for i in drawn)
    assert results["label_names"] == ["O", "B-ANIMAL"]
    assert 0.0 <= results["f1"] <= 1.0 and 0.0 <= results["accuracy"] <= 1.0
    tagged = _main(capsys, "predict", run, "the cat sat on a mat").splitlines()[-1]
    assert [pair.split("/")[0] for pair in tagged.split()] == ["the", "cat", "sat", "on", "a", "mat"]
    _main(capsys, "export", run, "--base-dir", saved)
    from_export = _main(capsys, "predict", saved / "tagger", "the cat sat on a mat").splitlines()[-1]
    assert from_export == tagged


def test_finetune_question_answering_from_a_hugging_face_checkpoint(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")

    rng = random.Random(3)
    words = list(ENGLISH_TO_GERMAN)
    paragraphs = []
    for i in range(40):
        animal, place = rng.choice(ANIMALS), rng.choice(["mat", "house"])
        context = f"{' '.join(rng.choice(words) for _ in range(4))} . the {animal} sat on the {place} ."
        answer = f"the {place}"
        paragraphs.append({"context": context, "qas": [{"id": f"q{i}", "question": f"where sat the {animal} ?",
                                                        "answers": [{"text": answer,
                                                                     "answer_start": context.rindex(answer)}]}]})
    squad = {"version": "1.1", "data": [{"title": "animals", "paragraphs": paragraphs}]}
    (tmp_path / "train.json").write_text(json.dumps(squad))
    (tmp_path / "dev.json").write_text(json.dumps({**squad, "data": [{"title": "a", "paragraphs": paragraphs[:8]}]}))
    huggingface = tmp_path / "bert-test-uncased"
    huggingface.mkdir()
    (huggingface / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "where", "?", *words]) + "\n")
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=7 + len(words), hidden_size=16, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=32, max_position_embeddings=64)
    transformers.BertModel(config).save_pretrained(huggingface)

    run, saved = tmp_path / "qa", tmp_path / "saved_models"
    output = _main(capsys, "finetune-bert", "--task", "question_answerer", "--source", "files", "--init", huggingface,
                   "--train-file", tmp_path / "train.json", "--test-file", tmp_path / "dev.json",
                   "--max-sequence-length", "32", "--max-query-length", "8", "--doc-stride", "8",
                   "--epochs", "1", "--batch-size", "8", "--output-dir", run)
    assert "Hugging Face checkpoint" in output
    assert json.loads((run / "config.json").read_text())["task"] == "question_answerer"
    assert (run / "question_answerer.keras").exists()
    results = json.loads((run / "results.json").read_text())
    assert 0.0 <= results["exact_match"] <= results["f1"] <= 100.0 and len(results["samples"]) == 5
    context = "a big dog ran . the cat sat on the house ."
    answered = _main(capsys, "predict", run, "where sat the cat ?", "--context", context).splitlines()[-1]
    assert answered.startswith("where sat the cat ? -> ")
    answer = answered.split(" -> ")[1].rsplit(" (", 1)[0]
    assert answer == "(no answer)" or answer in context  # a span of the context, as written
    _main(capsys, "export", run, "--base-dir", saved)
    from_export = _main(capsys, "predict", saved / "question_answerer", "where sat the cat ?", "--context", context)
    assert from_export.splitlines()[-1] == answered


def test_demo_summary_puts_every_number_beside_its_baselines_and_exports_the_better_classifier(capsys):
    from tf_models.demo import DEMO_LABELS, DEMO_PEAK_RATES, demo_jobs, demo_summary, print_summary

    translation, pretraining, finetuning = demo_jobs("runs/demo", seed=4)
    assert translation.source == "software_de_en" and pretraining.source == "debian_descriptions"
    assert not pretraining.next_sentence_prediction
    assert {job.peak_learning_rate for job in finetuning.values()} == set(DEMO_PEAK_RATES.values())
    assert finetuning["random"].random_weights and not finetuning["pretrained"].random_weights
    assert finetuning["pretrained"].init == finetuning["random"].init == pretraining.output_dir
    assert {job.max_train_examples for job in finetuning.values()} == {DEMO_LABELS}
    assert {job.seed for job in (translation, pretraining, *finetuning.values())} == {4}
    classification = {"majority_class_accuracy": 0.26, "majority_class_macro_f1": 0.03,
                      "tfidf_logistic_regression_accuracy": 0.7, "tfidf_logistic_regression_macro_f1": 0.6}

    def summary_of(pretrained_validation, random_validation, test_accuracy=0.6):
        return demo_summary(
            {"bleu": 21.0, "baselines": {"copy_source_bleu": 4.0, "train_bleu": 22.0}},
            {"mlm_logits_accuracy": 0.3, "baselines": {"mlm_most_frequent_token_accuracy": 0.05}},
            {"pretrained": {"accuracy": test_accuracy, "baselines": classification,
                            "validation": {"accuracy": pretrained_validation, "majority_baseline": 0.27}},
             "random": {"accuracy": 0.45, "baselines": classification,
                        "validation": {"accuracy": random_validation, "majority_baseline": 0.27}}},
        )

    summary = summary_of(0.62, 0.41)
    assert summary["translation"] == {"test_bleu": 21.0, "baseline_copy_source_bleu": 4.0, "train_bleu": 22.0}
    assert summary["classification"] == {
        "labels": DEMO_LABELS, "pretrained_accuracy": 0.6, "random_accuracy": 0.45,
        "baseline_majority_class_accuracy": 0.26, "baseline_tfidf_logistic_regression_accuracy": 0.7,
        "pretrained_validation_accuracy": 0.62, "random_validation_accuracy": 0.41,
        "baseline_validation_majority_class_accuracy": 0.27, "exported": "pretrained",
        "exported_because": "validation accuracy 62.0% vs 41.0% from random weights"}
    assert summary["warnings"] == []
    print_summary(summary)
    lines = capsys.readouterr().out.splitlines()
    assert "  test_bleu: 21.0" in lines and "    baseline_copy_source_bleu: 4.0" in lines
    assert "  mlm_accuracy: 30.0%" in lines  # as the README's table rounds it
    assert not any("WARNING" in line for line in lines)

    # Validation decides, never the test set; a classifier that answers like
    # the majority class is exported only with a warning, on screen too.
    summary = summary_of(0.28, 0.30, test_accuracy=0.9)
    assert summary["classification"]["exported"] == "random" and summary["warnings"] == []
    summary = summary_of(0.25, 0.20)
    assert summary["classification"]["exported"] == "pretrained"
    assert len(summary["warnings"]) == 1 and "does not beat the majority class on validation" in summary["warnings"][0]
    print_summary(summary)
    assert "WARNING: the exported classifier (pretrained) does not beat the majority class" in capsys.readouterr().out


@pytest.mark.parametrize("flags, named", [
    (["--precision", "mixed_float16"], "--precision mixed_float16"),
    # (mixed_bfloat16 alone runs on CPUs with bfloat16 units: test_distribute.py)
    (["--strategy", "mirrored", "--precision", "mixed_float16"], "--strategy mirrored and --precision mixed_float16"),
])
def test_gpu_settings_without_a_gpu_stop_before_any_work(tmp_path, flags, named):
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as stopped:
        main(["train-lm", "--output-dir", str(run), "--preset", "test", *flags])
    message = str(stopped.value)
    assert message.startswith(f"error: {named} asks for a GPU, but TensorFlow sees none") and "\n" not in message
    assert "requirements-gpu.txt" in message
    assert not run.exists()  # nothing half-done


def _cli_error(argv, capsys):
    """Runs the command line; returns (its one-line message, what it printed)."""
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    return str(stopped.value), capsys.readouterr().out


@pytest.mark.parametrize("flags, expected", [
    (["train-translation", "--source", "files", "--train-files", "/nope/de.txt", "/nope/en.txt"],
     r"/nope/de.txt: cannot read \(No such file or directory\)"),
    (["train-translation", "--source", "multi30k", "--data-dir", "/nope"], r"/nope: missing .* of Multi30k"),
    (["train-translation", "--source", "ding_de_en", "--source-language", "fr"], "use languages de and en"),
    (["train-translation", "--source", "software_zh_en", "--source-language", "de"], "use languages zh and en"),
    (["finetune-bert", "--task", "summarize"], "Unknown task 'summarize'; expected one of classifier"),
    (["finetune-bert", "--task", "tagger", "--source", "sst2"], "--task tagger reads tagged words"),
    (["finetune-bert", "--task", "regressor", "--source", "files"], "source=files needs --train-file FILE and"),
    (["train-lm", "--source", "files", "--document-files", "/nope/book.txt"], "/nope/book.txt: cannot read"),
])
def test_bad_data_and_flags_stop_in_one_line_and_leave_no_run_folder(tmp_path, capsys, flags, expected):
    run = tmp_path / "run"
    message, _ = _cli_error([*flags, "--output-dir", str(run)], capsys)
    assert message.startswith("error: ") and "\n" not in message and "Traceback" not in message
    assert re.search(expected, message), message
    assert not run.exists()  # nothing half-done


def test_a_malformed_file_is_named_with_its_line(tmp_path, capsys):
    table = tmp_path / "reviews.tsv"
    table.write_text("no tabs here\nstill none\n")
    message, _ = _cli_error(["finetune-bert", "--source", "files", "--train-file", str(table), "--test-file",
                             str(table), "--output-dir", str(tmp_path / "run")], capsys)
    assert f"{table}, line 1: missing column(s) 'sentence', 'label'" in message


@pytest.mark.parametrize("command", [["evaluate"], ["export"], ["translate"], ["generate"]])
def test_a_folder_that_is_not_a_run_is_named_as_such(tmp_path, capsys, command):
    texts = ["hallo"] if command[0] in ("translate", "generate") else []
    message, _ = _cli_error([*command, str(tmp_path), *texts], capsys)
    assert message.startswith("error: ") and str(tmp_path) in message
    assert "not a run folder" in message or "No SavedModel" in message


def test_a_cli_run_killed_with_sigkill_resumes_to_the_uninterrupted_weights(tmp_path):
    """The jobs' own backups (`backup/`, every `--backup-every` steps): the
    same command again continues from the step of the last backup, in the
    middle of an epoch, and ends with exactly the weights of a run that was
    never interrupted."""
    import signal

    import keras

    import tf_models.models  # noqa: F401  (registers the classes)

    rng = random.Random(7)
    words = list(ENGLISH_TO_GERMAN)
    (tmp_path / "corpus.txt").write_text("\n\n".join(
        "\n".join(" ".join(rng.choice(words) for _ in range(6)) + "." for _ in range(5)) for _ in range(12)) + "\n")

    def command(run):
        return [sys.executable, "-m", "tf_models", "train-lm", "--source", "files", "--document-files",
                str(tmp_path / "corpus.txt"), "--preset", "test", "--sequence-length", "16", "--batch-size", "4",
                "--steps", "400", "--backup-every", "30", "--dropout", "0.1", "--held-out-documents", "2",
                "--sample-length", "5", "--verbose", "2", "--output-dir", str(run)]

    run = tmp_path / "lm"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    first = subprocess.Popen(command(run), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    try:
        for line in first.stdout:  # epoch 2 begins after step 100; the last backup is step 90's
            seen.append(line)
            if line.startswith("Epoch 2/4"):
                first.send_signal(signal.SIGKILL)
                break
    finally:
        first.kill()
        first.wait(timeout=60)
    assert any(line.startswith("Epoch 2/4") for line in seen), "".join(seen)[-3000:]
    assert not (run / "results.json").exists() and (run / "backup").exists()

    again = subprocess.run(command(run), env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "after step 90 (epoch 1, batch 91)" in again.stdout, again.stdout[-3000:]
    epochs = [line.split()[1] for line in again.stdout.splitlines() if line.startswith("Epoch ")]
    assert epochs == ["1/4", "2/4", "3/4", "4/4"]  # the rest of epoch 1 first
    assert json.loads((run / "results.json").read_text())["perplexity"] > 1.0
    assert not (run / "backup").exists()  # a finished run's backups are removed

    uninterrupted = subprocess.run(command(tmp_path / "reference"), env=env, capture_output=True, text=True,
                                   timeout=600)
    assert uninterrupted.returncode == 0, uninterrupted.stdout[-3000:]
    expected = keras.saving.load_model(tmp_path / "reference" / "causal_lm.keras", compile=False).get_weights()
    for want, got in zip(expected, keras.saving.load_model(run / "causal_lm.keras", compile=False).get_weights()):
        np.testing.assert_array_equal(got, want)
