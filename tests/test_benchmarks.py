"""The benchmark scripts run (tiny settings) and their arithmetic is right; the
measurements themselves are in benchmarks/README.md."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import generation, scaling, throughput
from benchmarks.common import HEADER, read_rows, timed, write_results

ROOT = Path(__file__).parent.parent


def test_the_timer_skips_the_warm_up_and_reports_the_median_and_range():
    ticks = iter([0.0, 3.0, 10.0, 11.0, 20.0, 22.0])  # repeats of 3 s, 1 s and 2 s
    calls = []
    timing = timed(lambda: calls.append(1), repeats=3, warmup=2, clock=lambda: next(ticks))
    assert len(calls) == 5  # two warm-up calls, untimed
    assert (timing.median, timing.min, timing.max, timing.repeats) == (2.0, 1.0, 3.0, 3)
    assert timing.per(4).fields("step_seconds") == {"step_seconds": 0.5, "step_seconds_min": 0.25,
                                                    "step_seconds_max": 0.75}


def test_results_files_share_one_layout_and_old_ones_stay_readable(tmp_path):
    results = write_results(tmp_path / "r.json", "example", {"repeats": 3}, [{"seconds": 1.5}], summary={"n": 1})
    assert json.loads((tmp_path / "r.json").read_text()) == results
    assert list(results) == [*HEADER, "summary"] and results["benchmark"] == "example"
    assert results["machine"]["cores"] == os.cpu_count() and results["machine"]["keras"]
    assert read_rows(tmp_path / "r.json") == [{"seconds": 1.5}]
    (tmp_path / "old.json").write_text(json.dumps([{"seconds": 2.0}]))  # a bare list, as some were
    assert read_rows(tmp_path / "old.json") == [{"seconds": 2.0}]
    with pytest.raises(ValueError, match="header"):
        write_results(tmp_path / "r.json", "example", {}, [], machine="mine")


def test_the_committed_results_that_scripts_read_back_stay_readable(tmp_path):
    from benchmarks import time_to_bleu

    results = ROOT / "benchmarks" / "results"
    # time_to_bleu keeps its earlier rows; scaling --replot plots a saved file.
    assert len(time_to_bleu._previous_rows(results / "time_to_bleu_cpu.json")) == 18
    scaling.save(tmp_path / "scaling.json", {"size": "tiny"}, *scaling.load(results / "scaling_cpu.json"))
    for by_length, by_batch in (scaling.load(results / "scaling_cpu.json"), scaling.load(tmp_path / "scaling.json")):
        assert [r["sequence_length"] for r in by_length] == [64, 128, 256, 512, 1024]
        assert [r["batch_size"] for r in by_batch] == [1, 2, 4, 8, 16, 32]


def test_gpu_script_smoke_runs_every_part_on_cpu(tmp_path):
    # The GPU run has one try on a borrowed machine: its whole code path
    # (bf16 + XLA pretraining of both libraries, the comparison, the JSON)
    # must work before it gets there.
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.gpu", "--smoke", "--json", str(tmp_path / "gpu.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "gpu.json").read_text())
    assert report["benchmark"] == "gpu" and report["settings"]["smoke"]
    assert {r["library"] for r in report["pretraining"]} == {"tf_models", "keras_hub"}
    for r in report["pretraining"]:
        assert r["dtype_policy"] == "mixed_bfloat16" and r["jit_compile"]
        assert 0 < r["mfu_without_embeddings"] < r["mfu"] and math.isfinite(r["loss"])
    assert len(report["rows"]) == 2 and not report["skipped"]  # BERT, XLA off and on
    assert all(row["same_parameters"] for row in report["rows"])
    assert "| BERT-Test | tf_models |" in done.stdout and "speed ratio" in done.stdout


def test_both_libraries_build_the_same_architectures():
    sizes = throughput.bert_sizes("test", vocabulary_size=100)
    for build in (
        lambda library: throughput.build_bert_mlm(library, sizes, 16, next_sentence=True),
        lambda library: throughput.build_transformer(library, sizes),
    ):
        ours, theirs = build("tf_models"), build("keras_hub")
        assert ours.count_params() == theirs.count_params()
        # keras-hub keeps attention kernels per head, (H, heads, head_dim): same sizes.
        assert sorted(math.prod(v.shape) for v in ours.trainable_weights) == sorted(
            math.prod(v.shape) for v in theirs.trainable_weights
        )


def test_a_measurement_in_its_own_process():
    case = {"library": "keras_hub", "model": "transformer", "size": "test", "sequence_length": 16,
            "batch_size": 2, "jit_compile": False, "vocabulary_size": 100,
            "warmup": 1, "steps": 1, "repeats": 1}
    result = throughput.measure_in_child(case)
    assert result["tokens_per_second"] == pytest.approx(32 / result["step_seconds"])
    assert result["step_seconds_min"] <= result["step_seconds"] <= result["step_seconds_max"]
    assert result["peak_memory_mb"] > 0 and result["device"] == "CPU"


def test_rows_pair_the_libraries_into_a_table_row():
    common = {"model": "bert", "size": "tiny", "sequence_length": 128, "batch_size": 16,
              "jit_compile": False, "parameters": 10}
    results = [
        dict(common, library="tf_models", tokens_per_second=300.0, peak_memory_mb=90.0),
        dict(common, library="keras_hub", tokens_per_second=200.0, peak_memory_mb=100.0),
    ]
    (row,) = throughput.pair_rows(results)
    assert row["speed_ratio"] == 1.5 and row["memory_ratio"] == 0.9
    assert "| **1.50x** |" in throughput.markdown_table([row])


def test_attention_share_is_one_half_at_six_times_the_width():
    sizes = {"hidden_dim": 128, "intermediate_dim": 512}
    assert scaling.attention_share(sizes, 6 * 128) == pytest.approx(0.5)
    assert scaling.attention_share(sizes, 64) < 0.1 < 0.5 < scaling.attention_share(sizes, 2048)


def test_slopes_are_local_log_log_slopes():
    results = [{"sequence_length": n, "step_seconds": 0.001 * n**2} for n in (64, 128, 256)]
    assert scaling.slopes(results, "sequence_length") == [None, pytest.approx(2.0), pytest.approx(2.0)]


def test_quadratic_fit_recovers_the_terms():
    results = [{"sequence_length": n, "step_seconds": 0.01 + 1e-4 * n + 1e-7 * n**2} for n in (64, 128, 256, 512)]
    assert scaling.quadratic_fit(results) == pytest.approx((0.01, 1e-4, 1e-7), rel=1e-6)


def test_keras_hub_samplers_on_our_step_give_our_greedy_and_beam_tokens():
    # The generation benchmark's premise: both loops run the same step, so the
    # deterministic searches agree token for token (and the timing compares loops).
    args = generation.parse_args(["--preset", "test", "--vocabulary-size", "50", "--batch", "2",
                                  "--prompt-length", "3", "--new-tokens", "5", "--repeats", "1"])
    rows = generation.measure("causal_lm", args) + generation.measure("transformer", args)
    assert [(r["model"], r["method"]) for r in rows] == [
        (model, method) for model in ("causal_lm", "transformer") for method in generation.METHODS]
    for row in rows:
        assert row["same_tokens"] is (None if row["method"] == "sample" else True), row
        assert row["tf_models_tokens_per_second"] > 0 and row["keras_hub_sampler_ratio"] > 0
    # keras-hub's own GPT-2 of the same shape: the same parameter count as our CausalLM.
    assert all(r["keras_hub_gpt2_parameters"] == r["parameters"] for r in rows if r["model"] == "causal_lm")
    assert "| causal_lm test | beam |" in generation.markdown_table(rows)


def test_pretraining_input_benchmark_times_a_reproducible_pipeline(tmp_path):
    from benchmarks import pretraining_input

    row = pretraining_input.main(["--batches", "5", "--warmup", "1", "--repeats", "2", "--length", "64",
                                  "--vocabulary-size", "500", "--json", str(tmp_path / "r.json")])
    assert row["sequences_per_second"] > 0 and row["same_batches_for_the_same_seed"]
    assert row["batch_seconds_min"] <= row["batch_seconds"] <= row["batch_seconds_max"]
    assert read_rows(tmp_path / "r.json") == [row]


def _gpu_jax(*arguments):
    # TensorFlow hidden, JAX backend: as on a GPU machine that has only JAX.
    command = [sys.executable, "-c", "import no_tensorflow, runpy; runpy.run_module('benchmarks.gpu_jax', "
               "run_name='__main__')", *arguments]
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu",
               PYTHONPATH=os.pathsep.join([str(ROOT / "tests" / "scripts"), str(ROOT)]))
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_jax_gpu_benchmark_smoke_runs_both_libraries_without_tensorflow(tmp_path):
    pytest.importorskip("jax", reason="make install-dev installs jax[cpu]")
    done = _gpu_jax("--smoke", "--json", str(tmp_path / "gpu.json"))
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "gpu.json").read_text())
    assert results["benchmark"] == "gpu_jax" and results["jax"]
    ours, theirs = results["rows"]
    assert (ours["library"], theirs["library"]) == ("tf_models", "keras_hub")
    assert ours["parameters"] == theirs["parameters"]  # the same architecture
    assert ours["finite"] and theirs["finite"] and ours["sequences_per_second"] > 0
    assert "| BERT-tiny | tf_models |" in done.stdout
    # Without --smoke and without a GPU it stops at once, saying why.
    refused = _gpu_jax()
    assert refused.returncode == 2 and "no GPU" in refused.stderr


def test_jax_benchmark_flop_count_leaves_out_the_looked_up_tables():
    import importlib

    gpu_jax = importlib.import_module("benchmarks.gpu_jax")
    shape = {"vocabulary_size": 100, "hidden_dim": 8, "num_layers": 2, "max_sequence_length": 16}
    embeddings = (100 + 16 + 2) * 8
    parameters = embeddings + 1000
    # 6 x the matmul weights + attention 12 L T D + the tied projection at M of T positions.
    assert gpu_jax.flops_per_token(shape, parameters, length=16, masked=4) == (
        6 * 1000 + 12 * 2 * 16 * 8 + 6 * 100 * 8 * 4 / 16)


def test_time_to_bleu_reads_runs_curves_and_the_rows_saved_before(tmp_path):
    from types import SimpleNamespace

    from benchmarks import time_to_bleu

    args = SimpleNamespace(output_dir=str(tmp_path), data_dir="../shared/data/multi30k")
    folder = time_to_bleu._folder(tmp_path, "tiny, warmup 1000", 10)
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps({"bleu": 35.2, "baselines": {"copy_source_bleu": 0.5}}))
    assert time_to_bleu.collect("tiny, warmup 1000", 10, args) == []  # no log yet: not done
    (tmp_path / f"{folder.name}.log").write_text("[train] ...\n[train] done in 934s\n")
    [row] = time_to_bleu.collect("tiny, warmup 1000", 10, args)
    assert row["train_minutes"] == 934 / 60 and row["bleu"] == 35.2 and row["averaged"] == 1
    log = ("Epoch 1/2\nfirst step: traced and run in 7.5s; the steps after it are fast\n"
           "454/454 - 104s - 230ms/step - accuracy: 0.2287 - loss: 6.1450 - val_loss: 4.9261\n"
           "Epoch 2/2\n454/454 - 93s - 205ms/step - accuracy: 0.4600 - loss: 4.3682 - val_loss: 4.0395\n")
    assert time_to_bleu.epoch_seconds(log) == [104, 93]
    saved = tmp_path / "rows.json"
    old_rows = [{"config": "warmup 1000", "epochs": 4, "train_minutes": 7.0, "bleu": 30.5, "copy_source_bleu": 0.5},
                {"config": "gone", "epochs": 1}]
    expected = [{"config": "tiny, warmup 1000", "epochs": 4, "train_minutes": 7.0, "bleu": 30.5,
                 "copy_source_bleu": 0.5, "averaged": 1}]
    saved.write_text(json.dumps(old_rows))  # the layout before benchmarks.common: a bare list
    assert time_to_bleu._previous_rows(saved) == expected
    write_results(saved, "time_to_bleu", {}, old_rows)
    assert time_to_bleu._previous_rows(saved) == expected


def test_pretraining_speed_times_and_scores_both_libraries_on_packed_text(tmp_path):
    from benchmarks import pretraining_speed

    words = "game sound player editor mail font science library tool plays edits sends reads".split()
    rng = __import__("random").Random(0)
    documents = "\n\n".join("\n".join(" ".join(rng.choice(words) for _ in range(9)) + "." for _ in range(4))
                            for _ in range(200))  # enough sentence pairs for full batches of 128
    for name in ("documents", "held_out"):
        (tmp_path / f"{name}.txt").write_text(documents + "\n")
    (tmp_path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", *words]) + "\n")
    results = []
    for variant in ("bert_pairs", "keras_hub_packed"):
        case = dict(pretraining_speed.BASE, **pretraining_speed.VARIANTS[variant], variant=variant, preset="test",
                    length=32, minutes=0.01, vocabulary=str(tmp_path / "vocab.txt"),
                    documents=str(tmp_path / "documents.txt"), held_out=str(tmp_path / "held_out.txt"))
        results.append(pretraining_speed.measure(case))
    pairs, packed = results
    assert packed["text_share"] == 1.0 > pairs["text_share"] > 0.2  # rows full, the partial last one dropped
    for result in results:
        assert result["steps"] >= 30 and 0.0 <= result["mlm_accuracy"] <= 1.0 and math.isfinite(result["mlm_loss"])
        assert result["text_tokens_per_second"] == pytest.approx(result["slots_per_second"] * result["text_share"])
    assert "| keras_hub_packed |" in pretraining_speed.markdown_table(results)


def test_demo_seeds_are_summarised_as_mean_and_range():
    from benchmarks import demo_bert

    runs = [{**{name: value for name in demo_bert.NUMBERS}, "exported": start}
            for value, start in ((0.5, "pretrained"), (0.7, "pretrained"), (0.6, "random"))]
    table = demo_bert.summarize(runs)
    assert table["mlm_accuracy"]["mean"] == pytest.approx(0.6)
    assert (table["pretrained_accuracy"]["min"], table["pretrained_accuracy"]["max"]) == (0.5, 0.7)
    assert table["exported"] == ["pretrained", "pretrained", "random"]


def test_word_class_runs_are_summarised_per_budget_and_start_with_the_baselines_once():
    from benchmarks import word_classes

    def row(seed, start, accuracy):
        baselines = {f"{name}_{score}": 0.1 * seed for name in word_classes.BASELINES
                     for score in word_classes.SCORES}
        return {"seed": seed, "labels": 100, "start": start, "accuracy": accuracy,
                "unseen_word_accuracy": accuracy / 2, "baselines": baselines}

    rows = [row(seed, start, 0.8 + 0.01 * seed + (0.05 if start == "pretrained" else 0))
            for seed in range(3) for start in word_classes.STARTS]
    entry = word_classes.summarize(rows, [100])["100"]
    assert entry["pretrained_accuracy"]["mean"] == pytest.approx(0.86)
    assert (entry["random_unseen_word_accuracy"]["min"], entry["random_unseen_word_accuracy"]["max"]) == (
        pytest.approx(0.4), pytest.approx(0.41))
    assert entry["majority_tag_accuracy"]["values"] == [0.0, 0.1, 0.2]  # one value per seed, not per start


def test_the_chinese_run_has_the_main_jobs_translation_settings():
    import argparse
    import dataclasses

    from benchmarks.translation_zh_en import FLAGS
    from tf_models.cli import add_job_arguments, build_job
    from tf_models.demo import demo_jobs
    from tf_models.jobs import TranslationJob

    parser = argparse.ArgumentParser()
    add_job_arguments(parser, TranslationJob)
    job = build_job(TranslationJob, vars(parser.parse_args(["--output-dir", "runs/demo/translation", *FLAGS])))
    assert job == dataclasses.replace(demo_jobs("runs/demo")[0], source="software_zh_en")
