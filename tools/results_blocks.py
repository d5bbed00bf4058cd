"""The numbers of README.md, README.zh-CN.md, docs/*.md and
benchmarks/README.md, written from the committed result files.

A page marks each generated block:

    <!-- results: demo_summary -->
    ...whatever this module writes...
    <!-- /results -->

and this module rewrites what lies between the markers from the files the
block reads (`benchmarks/results/*.json`, or a notebook's committed output),
ending with the file's name, its date and the machine it ran on. So a number
on those pages is never typed by hand, and `tests/test_docs.py` fails when a
page differs from what this module would write.

    python -m tools.results_blocks            # rewrites the pages' blocks
    python -m tools.results_blocks --check    # exit status 1 if a block is stale
    python -m tools.results_blocks --record-demo runs/demo
        # keeps a `make demo` run's numbers in benchmarks/results/demo_cpu.json

Files written before `benchmarks.common.write_results` recorded a date and a
machine carry neither; `benchmarks/results/provenance.json` says, for each,
the commit that added its numbers and what is known of the machine.
"""

import argparse
import contextlib
import datetime
import io
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PAGES = ("README.md", "README.zh-CN.md", "docs/*.md", "benchmarks/README.md")
BLOCK = re.compile(r"(<!-- results: (?P<name>[a-z0-9_]+) -->\n)(?P<body>.*?)(<!-- /results -->)", re.DOTALL)


def read(name):
    """A results file of benchmarks/results/, parsed."""
    return json.loads((RESULTS / name).read_text())


def rows(name):
    """The rows of a results file: a bare list (the early layout), `rows`
    (`write_results`), or `runs` (demo_bert's early layout)."""
    results = read(name)
    if isinstance(results, list):
        return results
    return results["runs"] if "runs" in results else results["rows"]


def provenance(name, lang="en"):
    """The line under a block: which file, when, on what machine."""
    results = read(name)
    if isinstance(results, dict) and "date" in results and "machine" in results:
        machine = results["machine"]
        date, where = results["date"][:10], f"{machine['cpu']}, {machine['cores']} cores"
    else:
        known = read("provenance.json")[name]
        date, where = known["date"], known["machine"]
    if lang == "zh":
        return f"（数据来源：`benchmarks/results/{name}`，{date}，{where}。）"
    return f"(From `benchmarks/results/{name}`, {date}, {where}.)"


def percent(value):
    return f"{100 * value:.1f}%"


# ----------------------------------------------------------------- the main job


def demo_summary(lang):
    """The main job's summary as `make demo` prints it."""
    from tf_models.demo import print_summary

    summary = read("demo_cpu.json")["summary"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        print("== Main job done: each result, with its baselines indented below it ==")
        print_summary(summary)
        print(f"minutes: {summary['minutes']:.1f}")
    return f"```\n{printed.getvalue()}```\n\n{provenance('demo_cpu.json', lang)}"


def demo_table(lang):
    """The main job's headline numbers beside their baselines."""
    summary = read("demo_cpu.json")["summary"]
    translation, pretraining, classification = (summary[key] for key in
                                                ("translation", "pretraining", "classification"))
    if lang == "zh":
        header = "| 任务 | 结果 | 基线 |\n|---|---|---|\n"
        rows = [
            ("德译英翻译（测试集 BLEU，束搜索）", f"{translation['test_bleu']:.1f}",
             f"原样复制源句 {translation['baseline_copy_source_bleu']:.1f}"),
            ("BERT 掩码语言模型（被遮住词元的准确率）", percent(pretraining["mlm_accuracy"]),
             f"总猜最常见词元 {percent(pretraining['baseline_most_frequent_token_accuracy'])}"),
            (f"软件包分类，{classification['labels']} 个标注（测试集准确率）",
             f"预训练起点 {percent(classification['pretrained_accuracy'])}；"
             f"随机起点 {percent(classification['random_accuracy'])}",
             f"TF-IDF + 逻辑回归 {percent(classification['baseline_tfidf_logistic_regression_accuracy'])}；"
             f"多数类 {percent(classification['baseline_majority_class_accuracy'])}"),
        ]
        chosen = classification["exported"]
        other = "random" if chosen == "pretrained" else "pretrained"
        minutes = (f"\n导出的分类器：{'预训练' if chosen == 'pretrained' else '随机'}起点（验证集准确率 "
                   f"{percent(classification[f'{chosen}_validation_accuracy'])}，另一个起点 "
                   f"{percent(classification[f'{other}_validation_accuracy'])}）。全程 {summary['minutes']:.1f} 分钟。")
    else:
        header = "| task | result | baselines |\n|---|---|---|\n"
        rows = [
            ("German to English translation (test BLEU, beam search)", f"{translation['test_bleu']:.1f}",
             f"copying the source {translation['baseline_copy_source_bleu']:.1f}"),
            ("BERT masked LM (accuracy on masked tokens)", percent(pretraining["mlm_accuracy"]),
             f"most frequent token {percent(pretraining['baseline_most_frequent_token_accuracy'])}"),
            (f"package section from {classification['labels']} labels (test accuracy)",
             f"pretrained start {percent(classification['pretrained_accuracy'])}; "
             f"random start {percent(classification['random_accuracy'])}",
             f"TF-IDF + logistic regression "
             f"{percent(classification['baseline_tfidf_logistic_regression_accuracy'])}; "
             f"majority class {percent(classification['baseline_majority_class_accuracy'])}"),
        ]
        minutes = (f"\nExported classifier: from {classification['exported']} weights "
                   f"({classification['exported_because']}). The whole job: {summary['minutes']:.1f} minutes.")
    table = header + "".join(f"| {a} | {b} | {c} |\n" for a, b, c in rows)
    return f"{table}{minutes}\n{provenance('demo_cpu.json', lang)}"


def demo_samples(lang):
    """Held-out translations of the run the summary comes from."""
    samples = read("demo_cpu.json")["translation"]["samples"]
    lines = "".join(f"| {s['source']} | {s['translation']} | {s['reference']} |\n" for s in samples)
    return ("| German (held out) | the model's English | the reference |\n|---|---|---|\n"
            f"{lines}\n{provenance('demo_cpu.json', lang)}")


def demo_split(lang):
    """What the split by source sentence did to software_de_en in that run."""
    split = read("demo_cpu.json")["translation"]["split"]
    return (f"In the main job's run, `software_de_en` held {split['pairs']:,} pairs with "
            f"{split['sources']:,} distinct German sources; the split removed "
            f"{split['removed_held_out_repeats']:,} further translations of held-out sources from "
            f"training and {split['removed_duplicates']:,} exact duplicates.\n"
            f"{provenance('demo_cpu.json', lang)}")


def demo_reproduced(lang):
    """Whether the main job's BERT numbers are those benchmarks.demo_bert
    measured for the same seed in other processes."""
    summary = read("demo_cpu.json")["summary"]
    numbers = {**summary["pretraining"], **summary["classification"]}
    (run,) = [run for run in rows("demo_bert_cpu.json") if run["seed"] == 0]
    shared = [name for name in run if name in numbers and isinstance(run[name], float)]
    differ = [name for name in shared if run[name] != numbers[name]]
    if differ:
        text = (f"This run's BERT numbers differ from seed 0 of `benchmarks.demo_bert` in {', '.join(differ)}: "
                "the two were not made by the same code, or a run is not reproducible.")
    else:
        text = (f"This run's BERT numbers ({len(shared)} of them, masked LM to validation accuracies) are exactly "
                "those of seed 0 of `benchmarks.demo_bert`, measured in other processes: the same command gives "
                "the same run.")
    return f"{text}\n{provenance('demo_cpu.json', lang)}\n{provenance('demo_bert_cpu.json', lang)}"


def demo_bert_seeds(lang):
    """The main job's BERT part over three seeds (benchmarks.demo_bert)."""
    results = read("demo_bert_cpu.json")
    lines = []
    for run in rows("demo_bert_cpu.json"):
        chosen = run["exported"]
        lines.append(f"| {run['seed']} | {percent(run['mlm_accuracy'])} | {percent(run['pretrained_accuracy'])} "
                    f"| {percent(run['random_accuracy'])} | {percent(run['baseline_tfidf_logistic_regression_accuracy'])} "
                    f"| {percent(run['baseline_majority_class_accuracy'])} | {chosen} "
                    f"({percent(run[f'{chosen}_validation_accuracy'])} on validation) |\n")
    summary = results["summary"]

    def spread(key):
        values = summary[key]
        return f"{percent(values['mean'])} [{100 * values['min']:.1f}, {100 * values['max']:.1f}]"

    lines.append(f"| mean [range] | {spread('mlm_accuracy')} | {spread('pretrained_accuracy')} "
                f"| {spread('random_accuracy')} | {spread('baseline_tfidf_logistic_regression_accuracy')} "
                f"| {spread('baseline_majority_class_accuracy')} | |\n")
    header = ("| seed | masked LM | pretrained | random weights | TF-IDF + LR | majority | exported |\n"
              "|---:|---:|---:|---:|---:|---:|---|\n")
    return header + "".join(lines) + "\n" + provenance("demo_bert_cpu.json", lang)


# ------------------------------------------------------------------ benchmarks


def multi30k(lang):
    """Multi30k English to German: BLEU after each training budget."""
    runs = rows("time_to_bleu_cpu.json")
    copy = runs[0]["copy_source_bleu"]
    lines = "".join(
        f"| {row['config']} | {row['epochs']} | {'mean of last 5' if row['averaged'] == 5 else 'last'} "
        f"| {row['train_minutes']:.1f} | {row['bleu']:.1f} |\n" for row in runs)
    return ("| settings | epochs | weights | training minutes | test2016 BLEU |\n|---|---:|---|---:|---:|\n"
            f"{lines}\nCopying the source scores {copy:.1f} BLEU.\n{provenance('time_to_bleu_cpu.json', lang)}")


def translation_step(lang):
    """One Multi30k training step under each precision and padding."""
    lines = "".join(f"| {row['setup']} | {row['policy']} | {row['step_ms']:.0f} "
                    f"| {row['target_tokens_per_second']:,.0f} | {row['speedup']:.2f}x |\n"
                    for row in rows("translation_step_cpu.json"))
    return ("| batches | precision | ms per step | target tokens/s | speed vs bucketed float32 |\n"
            f"|---|---|---:|---:|---:|\n{lines}\n{provenance('translation_step_cpu.json', lang)}")


def serving_memory(lang):
    """Peak memory of one oversized request to each export."""
    measured = rows("serving_memory_cpu.json")
    exports = list(dict.fromkeys(row["export"] for row in measured))
    peak = {(row["export"], row["megabytes"]): row["peak_mib_above_idle"] for row in measured}
    lines = "".join(f"| {name} | {peak[(name, 1.0)]:.0f} MiB | {peak[(name, 10.0)]:.0f} MiB |\n" for name in exports)
    return ("| export | 1 MB request | 10 MB request |\n|---|---:|---:|\n"
            f"{lines}\n{provenance('serving_memory_cpu.json', lang)}")


def translation_zh_en(lang):
    """The main job's translator trained on Chinese, beside its baselines."""
    results = read("translation_zh_en_cpu.json")
    (row,), split = results["rows"], results["split"]
    sample = next(s for s in results["results"]["samples"] if s["translation"] == s["reference"])
    return (f"`{results['settings']['command']}`: {split['pairs']:,} pairs, {split['sources']:,} distinct Chinese "
            f"sources, {row['train_pairs']:,} for training, {row['test_sentences']:,} held-out test sources "
            f"({split['removed_held_out_repeats']} further translations of them removed from training); "
            f"{row['wall_seconds'] / 60:.1f} minutes with the export and its queries.\n\n"
            f"| BLEU on the {row['test_sentences']:,} held-out sources | |\n|---|---:|\n"
            f"| the model, beam 4 | {row['test_bleu']:.1f} |\n"
            f"| copying the source | {row['copy_source_bleu']:.1f} |\n"
            f"| translation memory: the English of the most similar training source | "
            f"{row['translation_memory_bleu']:.1f} |\n"
            f"| the model on training pairs | {row['train_bleu']:.1f} |\n\n"
            f"[UNK] is {percent(row['unk_share_of_test_source_tokens'])} of the test sources' tokens "
            f"({row['test_sources_with_unk']} of {row['test_sentences']:,} sources hold one). "
            f"A held-out translation: {sample['source']} -> \"{sample['translation']}\" (the reference).\n\n"
            f"{provenance('translation_zh_en_cpu.json', lang)}")


def chinese_translation(lang):
    """The front doors' line on the Chinese corpus: BLEU beside its baselines."""
    (row,) = rows("translation_zh_en_cpu.json")
    scores = (row["test_bleu"], row["copy_source_bleu"], row["translation_memory_bleu"])
    if lang == "zh":
        text = ("| 中译英（测试集 BLEU，束搜索） | 模型 | 原样复制源句 | 翻译记忆（最相似训练句的英文） |\n|---|---:|---:|---:|\n"
                "| `--source software_zh_en` | {:.1f} | {:.1f} | {:.1f} |".format(*scores))
    else:
        text = ("| Chinese to English (test BLEU, beam search) | model | copy the source | translation memory "
                "(the most similar training source's English) |\n|---|---:|---:|---:|\n"
                "| `--source software_zh_en` | {:.1f} | {:.1f} | {:.1f} |".format(*scores))
    return f"{text}\n\n{provenance('translation_zh_en_cpu.json', lang)}"


def throughput(lang):
    """tf_models against keras-hub: the range of the training-speed and memory ratios."""
    paired = rows("throughput_cpu.json")
    speed = [row["speed_ratio"] for row in paired]
    memory = [row["memory_ratio"] for row in paired]
    return (f"Over {len(paired)} configurations (BERT and Transformer, tiny to small, lengths 128 and 512, with and "
            f"without XLA), tf_models trained at {min(speed):.2f}x to {max(speed):.2f}x keras-hub's speed, "
            f"with {min(memory):.2f}x to {max(memory):.2f}x its peak memory.\n"
            f"{provenance('throughput_cpu.json', lang)}")


def pretraining_input(lang):
    """How fast the MLM + NSP input pipeline makes batches."""
    after = read("pretraining_input_cpu.json")["after"]
    return (f"`bert_pretraining_dataset` made {after['sequences_per_second']:,} sequences of {after['length']} tokens "
            f"a second on {after['cpu_count']} CPU cores (Jane Austen: {after['documents']} chapters, "
            f"{after['sentences']:,} sentences), the same batches for the same seed.\n"
            f"{provenance('pretraining_input_cpu.json', lang)}")


# ------------------------------------------------------- benchmarks/README.md


def _benchmark(module):
    """A module of benchmarks/ (their tables are formatted by the scripts that measure them)."""
    import importlib

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(f"benchmarks.{module}")


def mean_range(values, scale=100, unit="%"):
    """`{"mean", "min", "max"}` as "64.9% [64.3, 65.4]"."""
    return (f"{scale * values['mean']:.1f}{unit} [{scale * values['min']:.1f}, {scale * values['max']:.1f}]")


def points(value):
    """A difference of two accuracies, in percentage points with its sign."""
    return f"{100 * value:+.1f}"


def throughput_table(lang):
    """Every row of the tf_models vs keras-hub training comparison."""
    table = _benchmark("throughput").markdown_table(rows("throughput_cpu.json"))
    return f"{table}\n\n{provenance('throughput_cpu.json', lang)}"


def throughput_findings(lang):
    """What the comparison's rows add up to, and what XLA did to each library."""
    paired = rows("throughput_cpu.json")
    speed = [row["speed_ratio"] for row in paired]
    slower = [row for row in paired if row["speed_ratio"] < 1]
    lowest = min(paired, key=lambda row: row["speed_ratio"])
    with_xla = max(row["speed_ratio"] for row in paired if row["jit_compile"])
    memory = [row["memory_ratio"] for row in paired]
    heavier = [ratio for ratio in memory if ratio > 1]
    measured = {(m["library"], m["model"], m["size"], m["sequence_length"], m["jit_compile"]): m["tokens_per_second"]
                for m in read("throughput_cpu.json")["measurements"]}
    xla = [speed_with / measured[key[:4] + (False,)]
           for key, speed_with in measured.items() if key[4]]
    return (f"- Speed ratios {min(speed):.2f}x to {max(speed):.2f}x; {len(slower)} of {len(paired)} rows below "
            f"1.00x, the lowest ({lowest['speed_ratio']:.2f}x) {lowest['model']} {lowest['size']} at "
            f"{lowest['sequence_length']} tokens {'with' if lowest['jit_compile'] else 'without'} XLA; no row with "
            f"XLA above {with_xla:.2f}x.\n"
            f"- Peak memory ratios {min(memory):.2f} to {max(memory):.2f}; above 1.00 in {len(heavier)} rows, by "
            f"{100 * (min(heavier) - 1):.0f}% to {100 * (max(heavier) - 1):.0f}%.\n"
            f"- With `jit_compile` a configuration ran at {min(xla):.2f}x to {max(xla):.2f}x of its speed without, "
            f"slower in {sum(ratio < 1 for ratio in xla)} of {len(xla)} (both libraries).\n\n"
            f"{provenance('throughput_cpu.json', lang)}")


def pretraining_input_table(lang):
    """The MLM + NSP input pipeline before and after its rewrite."""
    results = read("pretraining_input_cpu.json")
    after = results["after"]
    lines = "".join(
        f"| {when} | {run['code']} | {run['sequences_per_second']:,} "
        f"| {'yes' if run['same_batches_for_the_same_seed'] else 'no'} |\n"
        for when, run in (("before", results["before"]), ("now", after)))
    return (f"Length {after['length']}, batch {after['batch_size']}, {after['documents']} chapters "
            f"({after['sentences']:,} sentences), {after['cpu_count']} CPU cores, the pipeline alone:\n\n"
            "| pipeline | code | sequences/s | same batches for the same seed |\n|---|---|---:|---|\n"
            f"{lines}\n{provenance('pretraining_input_cpu.json', lang)}")


LOGITS_MODELS = {"transformer_tiny": "Transformer tiny", "bert_mini": "BERT mini (MLM + NSP)"}


def logits_dtype(lang):
    """The tied output projection in float32 or in the compute dtype."""
    results = read("logits_dtype_cpu.json")
    lines = "".join(
        f"| {label} | {m['float32']['loss']:.5f} | {m['compute_dtype']['loss']:.5f} "
        f"| {m['loss_relative_difference']:.1e} | {m['float32']['step_ms']:.1f} ms "
        f"| {m['compute_dtype']['step_ms']:.1f} ms | {m['speedup']:.2f}x |\n"
        for label, m in ((label, results[key]) for key, label in LOGITS_MODELS.items()))
    largest = max(results[key]["loss_relative_difference"] for key in LOGITS_MODELS)
    return (f"Under `{results['policy']}`, batch {results['batch_size']} x {results['length']} tokens, "
            f"{results['vocabulary_size']:,}-token vocabulary:\n\n"
            "| model | loss, float32 projection | loss, bf16 projection | relative difference | step, float32 "
            "| step, bf16 | speed-up |\n|---|---:|---:|---:|---:|---:|---:|\n"
            f"{lines}\nThe loss moved by {largest:.0e} relative at most.\n"
            f"{provenance('logits_dtype_cpu.json', lang)}")


def _run_label(row):
    return f"{row['config']}, {row['epochs']} epochs, {'mean of last 5' if row['averaged'] == 5 else 'last weights'}"


def time_to_bleu_findings(lang):
    """What the Multi30k runs and the bfloat16 curve say."""
    runs = rows("time_to_bleu_cpu.json")
    first30 = min((row for row in runs if row["bleu"] >= 30), key=lambda row: row["train_minutes"])
    first36 = min((row for row in runs if row["bleu"] >= 36), key=lambda row: row["train_minutes"])
    best = max((row for row in runs if row["train_minutes"] <= 60), key=lambda row: row["bleu"])
    curve = {(row["epochs"], row["averaged"]): row for row in runs if row["config"] == "tiny, bfloat16"}
    gains = {epochs: curve[(epochs, 5)]["bleu"] - curve[(epochs, 1)]["bleu"]
             for epochs in sorted({epochs for epochs, _ in curve})}
    first, second, *later = gains  # the curve's scored epochs: 5, 10, then 15 to 30
    rest = [gains[epochs] for epochs in later]
    by_config = {(row["config"], row["epochs"], row["averaged"]): row for row in runs}
    small = next(row for row in runs if row["config"].startswith("small"))
    tiny = by_config[("tiny, warmup 1000", 10, 1)]
    ratio = (small["train_minutes"] / small["epochs"]) / (tiny["train_minutes"] / tiny["epochs"])
    best_in_small = max((row for row in runs if row["train_minutes"] <= small["train_minutes"]
                         and row["config"].startswith("tiny")), key=lambda row: row["bleu"])
    bf16 = next(row for row in rows("translation_step_cpu.json")
                if row["setup"] == "bucketed" and row["policy"] == "mixed_bfloat16")
    return (f"- **Goals.** 30 BLEU within 20 minutes: {first30['bleu']:.1f} after {first30['train_minutes']:.1f} "
            f"minutes ({_run_label(first30)}). 36 within 60 minutes: {first36['bleu']:.1f} after "
            f"{first36['train_minutes']:.1f} ({_run_label(first36)}); the best within the hour "
            f"{best['bleu']:.1f} after {best['train_minutes']:.1f} ({_run_label(best)}).\n"
            f"- **Checkpoint averaging** on the bfloat16 curve: {gains[second]:+.1f} BLEU at {second} epochs, "
            f"{min(rest):+.1f} to {max(rest):+.1f} later, {gains[first]:+.1f} at {first} epochs "
            f"({curve[(first, 5)]['bleu']:.1f} against {curve[(first, 1)]['bleu']:.1f}).\n"
            f"- **The small preset**: an epoch took {ratio:.1f}x tiny's (warmup 1000); {small['epochs']} epochs, "
            f"{small['train_minutes']:.1f} minutes, {small['bleu']:.1f} BLEU, against tiny's best within as many "
            f"minutes, {best_in_small['bleu']:.1f} ({_run_label(best_in_small)}, {best_in_small['train_minutes']:.1f} "
            f"minutes).\n"
            f"- **bfloat16**: the bucketed training step ran {bf16['speedup']:.2f}x float32's "
            f"(`benchmarks.translation_step`); after 10 epochs, last weights, BLEU "
            f"{by_config[('tiny, bfloat16', 10, 1)]['bleu']:.1f} in bfloat16 against "
            f"{tiny['bleu']:.1f} for float32 (warmup 1000).\n\n"
            f"{provenance('time_to_bleu_cpu.json', lang)}\n{provenance('translation_step_cpu.json', lang)}")


def translation_step_findings(lang):
    """What precision, padding and XLA did to the translation step."""
    step = {(row["setup"], row["policy"]): row["speedup"] for row in rows("translation_step_cpu.json")}
    return (f"bfloat16 ran the bucketed step at {step[('bucketed', 'mixed_bfloat16')]:.2f}x float32's speed. "
            f"Padding to the bucket bounds cost {1 - step[('padded to bounds', 'float32')]:.0%} of the speed in "
            f"float32 without XLA ({step[('padded to bounds', 'float32')]:.2f}x); with XLA the padded step ran at "
            f"{step[('padded + XLA', 'float32')]:.2f}x (float32) and {step[('padded + XLA', 'mixed_bfloat16')]:.2f}x "
            "(bfloat16) of bucketed float32.\n"
            f"{provenance('translation_step_cpu.json', lang)}")


def scaling(lang):
    """A BERT-Tiny training step against sequence length and batch size."""
    module = _benchmark("scaling")
    by_length, by_batch = module.load(RESULTS / "scaling_cpu.json")
    a, b, c = module.quadratic_fit(by_length)
    shares = ", ".join(f"{c * r['sequence_length'] ** 2 / r['step_seconds']:.0%} at {r['sequence_length']}"
                       for r in by_length)
    return (f"{module.markdown_table(by_length, 'sequence_length')}\n\n"
            f"Fit over the length sweep: seconds = {a:.3g} + {b:.3g} T + {c:.3g} T^2; the T^2 term is {shares}.\n\n"
            f"{module.markdown_table(by_batch, 'batch_size')}\n\n{provenance('scaling_cpu.json', lang)}")


def scaling_findings(lang):
    """The scaling sweeps in four numbers."""
    module = _benchmark("scaling")
    by_length, by_batch = module.load(RESULTS / "scaling_cpu.json")
    slopes = [slope for slope in module.slopes(by_length, "sequence_length") if slope is not None]
    c = module.quadratic_fit(by_length)[2]
    longest, before = by_length[-1], by_length[-2]
    fixed = min(r["peak_memory_mb"] for r in by_length + by_batch)
    growth = (longest["peak_memory_mb"] - fixed) / (before["peak_memory_mb"] - fixed)
    per_token = [r["step_seconds"] / (r["batch_size"] * r["sequence_length"]) for r in by_batch]
    return (f"The slope against length grows from {slopes[0]:.2f} to {slopes[-1]:.2f}, and the fitted T^2 term is "
            f"{c * longest['sequence_length'] ** 2 / longest['step_seconds']:.0%} of the step at "
            f"{longest['sequence_length']:,} tokens. Above the smallest peak of the sweeps ({fixed:,.0f} MiB), "
            f"memory grows {growth:.1f}x from {before['sequence_length']} to {longest['sequence_length']:,} tokens "
            f"while time grows {longest['step_seconds'] / before['step_seconds']:.1f}x. Time per token falls "
            f"{per_token[0] / per_token[-1]:.1f}x from batch {by_batch[0]['batch_size']} to "
            f"{by_batch[-1]['batch_size']}.\n{provenance('scaling_cpu.json', lang)}")


def decoding(lang):
    """The batched, cached decoders against the TF tutorial's loop."""
    results = read("decoding_cpu.json")
    settings, measured = results["settings"], results["rows"]
    lines = "".join(f"| {row['decoder']} | {row['sentences']} | {row['seconds']:.2f} | "
                    f"{row['sentences_per_second']:.2f} | {row['speedup']:.1f}x |\n" for row in measured)
    greedy, beam = measured[0], measured[1]
    return (f"The `{settings['preset']}` preset, {settings['sentences']} sources of {settings['source_length']} "
            f"tokens ({settings['baseline_sentences']} for the one-at-a-time loop), {settings['output_tokens']} "
            f"output tokens each, beam width {settings['beam_width']}, best of {settings['repeats']} passes:\n\n"
            "| decoder | sentences | seconds | sentences/s | speed-up |\n|---|---:|---:|---:|---:|\n"
            f"{lines}\nBeam search took {beam['seconds'] / greedy['seconds']:.1f}x greedy's time.\n"
            f"{provenance('decoding_cpu.json', lang)}")


def generation(lang):
    """Our searches against keras-hub's samplers over the same step."""
    measured = rows("generation_cpu.json")

    def same(row):
        return "(random)" if row["same_tokens"] is None else ("yes" if row["same_tokens"] else "no")

    def gpt2(row, key, form):
        return format(row[key], form) if key in row else "n/a"

    lines = "".join(
        f"| {row['model']} {row['preset']} | {row['method']} | {row['batch']} x {row['new_tokens']} "
        f"| {row['tf_models_tokens_per_second']:,.0f} | {row['keras_hub_sampler_tokens_per_second']:,.0f} "
        f"| **{row['keras_hub_sampler_ratio']:.2f}x** | {same(row)} "
        f"| {gpt2(row, 'keras_hub_gpt2_tokens_per_second', ',.0f')} "
        f"| {'**' + gpt2(row, 'keras_hub_gpt2_ratio', '.2f') + 'x**' if 'keras_hub_gpt2_ratio' in row else 'n/a'} |\n"
        for row in measured)
    loops = [row["keras_hub_sampler_ratio"] for row in measured if row["method"] != "beam"]
    beams = [row["keras_hub_sampler_ratio"] for row in measured if row["method"] == "beam"]
    whole = {row["method"]: row["keras_hub_gpt2_ratio"] for row in measured if "keras_hub_gpt2_ratio" in row}
    return ("| model | method | batch x new tokens | tf_models tokens/s | keras-hub sampler, same step | ratio "
            "| same tokens | keras-hub GPT2CausalLM | ratio |\n|---|---|---|---:|---:|---:|---|---:|---:|\n"
            f"{lines}\nGreedy and sampling: {min(loops):.2f}x to {max(loops):.2f}x keras-hub's loops; beam search: "
            f"{min(beams):.2f}x to {max(beams):.2f}x; against the whole `GPT2CausalLM`: "
            + ", ".join(f"{method} {ratio:.2f}x" for method, ratio in whole.items()) + ".\n"
            + provenance("generation_cpu.json", lang))


def _variant(row):
    """A pretraining_speed row's settings, from its fields."""
    objective = "MLM + NSP on sentence pairs" if row["next_sentence_prediction"] else "MLM on packed documents"
    return (f"`{row['variant']}`: {row['library']}, {objective}, {row['precision']}, "
            f"{100 * row['masking_rate']:.0f}% masked, rows of {row['length']}")


def pretraining_speed(lang):
    """BERT tiny's variants, each pretrained for the same wall-clock minutes."""
    results = read("pretraining_speed_cpu.json")
    measured = {row["variant"]: row for row in results["results"]}
    lines = "".join(
        f"| {_variant(row)} | {row['steps']:,} | {row['text_tokens_per_second']:,.0f} | {row['slots_per_second']:,.0f} "
        f"| {row['text_share']:.0%} | {percent(row['mlm_accuracy'])} |\n" for row in measured.values())
    pairs, packed = measured["bert_pairs"], measured["packed"]
    bf16, hub = measured["packed_bf16"], measured["keras_hub_packed"]
    return (f"Each variant for {results['minutes']:.0f} minutes of wall clock, in a fresh process:\n\n"
            "| variant | steps | text tokens/s | slots/s | text share | held-out MLM accuracy |\n"
            "|---|---:|---:|---:|---:|---:|\n"
            f"{lines}\nPacking read {packed['text_tokens_per_second'] / pairs['text_tokens_per_second']:.2f}x the text "
            f"per second of the padded pairs, of which {1 - pairs['text_share']:.0%} of the slots were padding, and "
            f"ended {points(packed['mlm_accuracy'] - pairs['mlm_accuracy'])} points on held-out masked LM. "
            f"bfloat16 read {bf16['text_tokens_per_second'] / packed['text_tokens_per_second']:.2f}x float32's text "
            f"per second. tf_models read {packed['text_tokens_per_second'] / hub['text_tokens_per_second']:.2f}x "
            f"keras-hub's ({percent(packed['mlm_accuracy'])} against {percent(hub['mlm_accuracy'])} masked LM).\n"
            f"{provenance('pretraining_speed_cpu.json', lang)}")


def _curve_table(curve, starts, majority_name="majority_class"):
    lines = []
    for labels, scores in curve.items():
        majority = scores[majority_name]
        majority = majority["mean"] if isinstance(majority, dict) else majority
        lines.append(f"| {int(labels):,} | " + " | ".join(mean_range(scores[start]) for start in starts)
                     + f" | {percent(majority)} |\n")
    return "".join(lines)


def _sweep(sweep):
    return "; ".join(f"{start} " + " / ".join(f"{percent(accuracy)} at {rate}" for rate, accuracy in rates.items())
                     for start, rates in sweep.items())


def pretraining_curve(lang):
    """Pretrained vs random weights vs TF-IDF over label budgets (Debian sections)."""
    results = read("pretraining_curve_cpu.json")
    curve, settings = results["curve"], results["settings"]
    starts = ("pretrained", "random", "tfidf_logistic_regression")
    differences = []
    for labels, scores in curve.items():
        pretrained, random = scores["pretrained"], scores["random"]
        apart = pretrained["min"] > random["max"] or random["min"] > pretrained["max"]
        differences.append(f"{points(pretrained['mean'] - random['mean'])} at {labels} labels"
                           f" ({'ranges apart' if apart else 'ranges overlap'})")
    largest = max(curve, key=int)
    return ("| labels | pretrained BERT | random weights | TF-IDF + LR | majority |\n|---:|---|---|---|---:|\n"
            f"{_curve_table(curve, starts)}\n(mean [min, max] over seeds {', '.join(map(str, settings['seeds']))}; "
            f"validation accuracy of the peak-rate sweep at {settings['sweep_budget']} labels: "
            f"{_sweep(results['learning_rate_sweep'])}; chosen: "
            + ", ".join(f"{start} {rate}" for start, rate in results["peak_rates"].items())
            + f". The command took {results['minutes']:.0f} minutes"
            + (", reusing its pretraining run (`--reuse-pretraining`)" if settings.get("reuse_pretraining") else "")
            + ".)\n\n"
            f"Pretrained minus random weights: {'; '.join(differences)}. At {largest} labels TF-IDF + logistic "
            f"regression scored {mean_range(curve[largest]['tfidf_logistic_regression'])} against the pretrained "
            f"BERT's {mean_range(curve[largest]['pretrained'])}.\n{provenance('pretraining_curve_cpu.json', lang)}")


def word_classes(lang):
    """Where the main job's pretraining pays: word classes of words no label showed."""
    results = read("word_classes_cpu.json")
    summary, settings = results["summary"], results["settings"]
    columns = ("pretrained", "random", "majority_tag", "character_logistic_regression")
    if lang == "zh":
        header = "| 标注句子 | 词 | 预训练 BERT | 随机权重 | 多数词类 | 字符 n-gram + LR |\n"
        words = {"accuracy": "全部", "unseen_word_accuracy": "标注中未出现"}
    else:
        header = "| labelled sentences | words | pretrained BERT | random weights | majority tag | character n-grams + LR |\n"
        words = {"accuracy": "all", "unseen_word_accuracy": "not in the labels"}
    lines, differences = [], []
    for labels, entry in summary.items():
        for score, name in words.items():
            lines.append(f"| {int(labels):,} | {name} | "
                         + " | ".join(mean_range(entry[f"{column}_{score}"]) for column in columns) + " |\n")
            pretrained, random = entry[f"pretrained_{score}"], entry[f"random_{score}"]
            apart = pretrained["min"] > random["max"] or random["min"] > pretrained["max"]
            if lang == "zh":
                differences.append(f"{labels} 句、{name}：{points(pretrained['mean'] - random['mean'])}"
                                   f"（{'范围不重叠' if apart else '范围重叠'}）")
            else:
                which = "all words" if score == "accuracy" else "words not in the labels"
                differences.append(f"{points(pretrained['mean'] - random['mean'])} on {which} at {labels} sentences "
                                   f"({'ranges apart' if apart else 'ranges overlap'})")
    seeds = ", ".join(map(str, settings["seeds"]))
    if lang == "zh":
        tail = (f"\n（种子 {seeds} 的均值 [最小, 最大]，每个种子有自己的预训练；预训练减随机权重："
                f"{'；'.join(differences)}。共 {results['minutes']:.0f} 分钟。）\n")
    else:
        tail = (f"\n(mean [min, max] over seeds {seeds}, each with its own pretraining run. Pretrained minus random "
                f"weights: {'; '.join(differences)}. The command took {results['minutes']:.0f} minutes.)\n")
    return header + "|---:|---|---|---|---|---|\n" + "".join(lines) + tail + provenance("word_classes_cpu.json", lang)


def pretraining_runs(lang):
    """The same fine-tuning from other pretraining runs, and the main job over seeds."""
    curve, short = read("pretraining_curve_cpu.json"), read("pretraining_curve_short_rows_cpu.json")
    labels = max(curve["curve"], key=int)
    lines = [f"| none: random weights | | {mean_range(curve['curve'][labels]['random'])} |\n"]
    for name, results in (("the run above", curve),
                          ("the same with 10% of the rows cut short, as BERT does", short)):
        lines.append(f"| {name} | {percent(results['pretraining']['mlm_logits_accuracy'])} "
                     f"| {mean_range(results['curve'][labels]['pretrained'])} |\n")
    seeds = rows("demo_bert_cpu.json")
    summary = read("demo_bert_cpu.json")["summary"]
    gaps = sorted(((run["pretrained_accuracy"] - run["random_accuracy"], run["seed"]) for run in seeds))
    return (f"| pretraining run | held-out masked LM | test accuracy, {labels} labels |\n|---|---:|---|\n"
            + "".join(lines)
            + f"\n{provenance('pretraining_curve_cpu.json', lang)}\n"
            f"{provenance('pretraining_curve_short_rows_cpu.json', lang)}\n\n"
            f"The main job over {len(seeds)} seeds, each pretraining its own run and drawing its own "
            f"{seeds[0]['labels']} labels (`benchmarks.demo_bert`): pretrained "
            f"{mean_range(summary['pretrained_accuracy'])} "
            f"against random weights {mean_range(summary['random_accuracy'])}, from {points(gaps[-1][0])} points "
            f"(seed {gaps[-1][1]}) to {points(gaps[0][0])} (seed {gaps[0][1]}).\n"
            f"{provenance('demo_bert_cpu.json', lang)}")


def pretraining_probes(lang):
    """What the Debian pretraining run learned, by the curve's probes."""
    results = read("pretraining_curve_cpu.json")
    pretraining, probes = results["pretraining"], results["probes"]
    words, baselines = probes["masked_words"], pretraining["baselines"]
    prompt = "a free [MASK] game for children."
    neighbours = probes["nearest_words"]
    return (f"After {results['settings']['pretraining_steps']:,} steps the model predicted "
            f"{percent(pretraining['mlm_logits_accuracy'])} of held-out masked tokens against "
            f"{percent(baselines['mlm_most_frequent_token_accuracy'])} for always "
            f"\"{baselines['most_frequent_token']}\"; "
            f"among {words['masked_words']:,} masked *words* it found {percent(words['word_accuracy'])} against "
            f"{percent(words['baseline_most_frequent_word_accuracy'])} for always \"{words['most_frequent_word']}\"; "
            f"\"{prompt}\" -> {' / '.join(probes['prompts'][prompt])}; the nearest neighbours of \"game\" in its input "
            f"embeddings: {', '.join(neighbours['pretrained']['game'])} (from random weights: "
            f"{', '.join(neighbours['random']['game'])}); a logistic regression on its frozen mean-pooled features "
            f"scored {percent(probes['linear_probe']['pretrained'])} against "
            f"{percent(probes['linear_probe']['random'])} from random weights.\n"
            f"{provenance('pretraining_curve_cpu.json', lang)}")


def fine_food(lang):
    """The fine-food counter-example: self-pretrained BERT vs random weights vs TF-IDF."""
    results = read("pretraining_curve_fine_food_nsp_cpu.json")
    curve, pretraining = results["curve"], results["pretraining"]
    starts = ("pretrained", "random", "tfidf_logistic_regression")
    lines = "".join(f"| {int(labels):,} | " + " | ".join(mean_range(scores[start]) for start in starts) + " |\n"
                    for labels, scores in curve.items())
    behind = [scores["random"]["mean"] - scores["pretrained"]["mean"] for scores in curve.values()]
    majority = {scores["majority_class"] for scores in curve.values()}
    (prompt, answers), *_ = results["fill_mask_probe"]["prompts"].items()
    probe = results["linear_probe_1000_labels"]
    settings = results["settings"]
    return ("| labels | self-pretrained BERT | random weights | TF-IDF + LR |\n|---:|---|---|---|\n"
            f"{lines}\n(mean [min, max] over seeds {', '.join(map(str, settings['seeds']))}; majority class "
            f"{' / '.join(percent(value) for value in sorted(majority))}; pretraining: {settings['steps']:,} steps, "
            f"{results['minutes']:.0f} minutes with the fine-tuning; peaks "
            + ", ".join(f"{start} {rate}" for start, rate in results["peak_rates"].items()) + ".)\n\n"
            f"The pretrained start was {100 * min(behind):.1f} to {100 * max(behind):.1f} points behind random "
            f"weights. Its masked LM: {percent(pretraining['mlm_logits_accuracy'])} against "
            f"{percent(pretraining['baselines']['mlm_most_frequent_token_accuracy'])} for the most frequent token; "
            f"\"{prompt}\" -> {' / '.join(answers)}; a logistic regression on its frozen features (1,000 labels) "
            f"scored {percent(probe['pretrained'])} against {percent(probe['random'])} from random ones.\n"
            f"{provenance('pretraining_curve_fine_food_nsp_cpu.json', lang)}")


def demo_bert_findings(lang):
    """Which start the main job exported in each seed, and whether validation chose well."""
    seeds = rows("demo_bert_cpu.json")
    summary = read("demo_bert_cpu.json")["summary"]
    def other(start):
        return "random" if start == "pretrained" else "pretrained"

    exported = "; ".join(
        f"seed {run['seed']}: {run['exported']} ({percent(run[run['exported'] + '_validation_accuracy'])} on "
        f"validation against {percent(run[other(run['exported']) + '_validation_accuracy'])})"
        for run in seeds)

    def winner(run, suffix):
        return "pretrained" if run[f"pretrained{suffix}"] > run[f"random{suffix}"] else "random"

    agree = sum(winner(run, "_validation_accuracy") == winner(run, "_accuracy") for run in seeds)
    margin = min(min(run["pretrained_accuracy"], run["random_accuracy"]) - run["baseline_majority_class_accuracy"]
                 for run in seeds)
    minutes = summary["minutes"]
    return (f"Exported: {exported}. In {agree} of {len(seeds)} seeds the start that won on validation also won on "
            f"the test set; both classifiers beat the majority class by {100 * margin:.1f} points or more in every "
            f"seed. The BERT part took {minutes['mean']:.1f} minutes [{minutes['min']:.1f}, {minutes['max']:.1f}].\n"
            f"{provenance('demo_bert_cpu.json', lang)}")


# ------------------------------------------------------------------- notebooks


def notebook_output(stem, marker):
    """The committed stream output of the notebook cell whose code holds
    `marker`, and the notebook's run metadata."""
    notebook = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code" and marker in "".join(cell["source"]):
            text = "".join("".join(output.get("text", "")) for output in cell.get("outputs", [])
                           if output.get("name") == "stdout")
            return text, notebook["metadata"]["tf_models"]
    raise KeyError(f"notebooks/{stem}.ipynb has no code cell with {marker!r}")


PAPERS = {"Transformer base": "65M", "Transformer big": "213M", "BERT tiny": "4.4M", "BERT mini": "11.3M",
          "BERT small": "29.1M", "BERT medium": "41.7M", "BERT base": "110M", "BERT large": "340M"}


def presets(lang):
    """The presets' parameter counts, as notebook 06 printed them."""
    text, run = notebook_output("06_one_block_three_models", "def count(")
    lines = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 6:
            continue
        name = " ".join(fields[:2])
        layers, hidden, heads, parameters = fields[2:6]
        millions = int(parameters.replace(",", "")) / 1e6
        lines.append(f"| {name} | {layers} | {hidden} | {heads} | {millions:.1f}M | {PAPERS.get(name, '')} |\n")
    where = (f"（数据来源：`notebooks/06_one_block_three_models.ipynb` 的输出，{run['date']}，{run['machine']}。）"
             if lang == "zh" else
             f"(From the output of `notebooks/06_one_block_three_models.ipynb`, {run['date']}, {run['machine']}; "
             "the paper column is the papers' own count.)")
    return ("| preset | layers | hidden | heads | parameters | paper |\n|---|---|---|---|---:|---:|\n"
            + "".join(lines) + "\n" + where)


def results_files(lang):
    """Every results file with the date and machine it records, or what
    provenance.json says of it."""
    known = read("provenance.json")
    lines = []
    for path in sorted(RESULTS.glob("*.json")):
        if path.name == "provenance.json":
            continue
        results = read(path.name)
        if isinstance(results, dict) and "date" in results and "machine" in results:
            machine = results["machine"]
            lines.append(f"| `{path.name}` | {results['date'][:10]} | {machine['cpu']}, {machine['cores']} cores "
                         "| the file |\n")
        else:
            entry = known[path.name]
            lines.append(f"| `{path.name}` | {entry['date']} | {entry['machine']} "
                         f"| `provenance.json` (commit {entry['commit']}) |\n")
    return ("| file | date | machine | recorded in |\n|---|---|---|---|\n" + "".join(lines))


BLOCKS = {function.__name__: function for function in (
    demo_summary, demo_table, demo_samples, demo_reproduced, demo_split, demo_bert_seeds, multi30k, translation_step,
    serving_memory, throughput, pretraining_input, presets, results_files,
    # benchmarks/README.md
    throughput_table, throughput_findings, pretraining_input_table, logits_dtype, time_to_bleu_findings,
    translation_step_findings, scaling, scaling_findings, decoding, generation, pretraining_speed,
    pretraining_curve, pretraining_runs, pretraining_probes, fine_food, demo_bert_findings, translation_zh_en,
    chinese_translation, word_classes)}


# --------------------------------------------------------------------- pages


def pages():
    """Every page that may hold blocks."""
    found = []
    for pattern in PAGES:
        found.extend(sorted(ROOT.glob(pattern)))
    return found


def render(text, lang="en"):
    """`text` with every block rewritten.

    Args:
        text: a page's markdown.
        lang: `"zh"` writes the blocks' words in Chinese, where a block has them.

    Returns:
        The page with each block's body replaced.

    Example:
    >>> page = "a\\n<!-- results: throughput -->\\nold\\n<!-- /results -->\\nb\\n"
    >>> new = render(page)
    >>> "old" not in new and "keras-hub" in new and new.endswith("<!-- /results -->\\nb\\n")
    True
    """
    def replace(match):
        name = match.group("name")
        if name not in BLOCKS:
            raise KeyError(f"no results block named {name!r}; known: {', '.join(BLOCKS)}")
        return f"{match.group(1)}{BLOCKS[name](lang).rstrip()}\n{match.group(4)}"

    return BLOCK.sub(replace, text)


def stale_pages():
    """The pages whose blocks differ from what `render` writes, with the new text."""
    stale = {}
    for page in pages():
        text = page.read_text()
        new = render(text, "zh" if page.name.endswith(".zh-CN.md") else "en")
        if new != text:
            stale[page] = new
    return stale


def record_demo(run_dir, path=RESULTS / "demo_cpu.json"):
    """Keeps the numbers of a `make demo` run as a results file.

    The run folder is not committed (runs/ is ignored); this copies its
    summary, the translation's held-out samples and split, and adds the
    date the summary was written and this machine (the run's own machine:
    record on the machine that ran it).

    Args:
        run_dir: the main job's folder (`runs/demo`).
        path: the results file to write.
    """
    sys.path.insert(0, str(ROOT))
    from benchmarks.common import machine

    run_dir = Path(run_dir)
    summary_path = run_dir / "summary.json"
    translation = json.loads((run_dir / "translation" / "results.json").read_text())
    written = datetime.datetime.fromtimestamp(summary_path.stat().st_mtime).astimezone()
    results = {
        "benchmark": "demo",
        "date": written.isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {"command": "make demo", "run_dir": f"runs/{run_dir.name}"},
        "rows": [],
        "summary": json.loads(summary_path.read_text()),
        "translation": {key: translation[key] for key in ("samples", "split", "test_sentences", "decoding")},
    }
    Path(path).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a block differs; write nothing")
    parser.add_argument("--record-demo", metavar="RUN_DIR", help="copy a make demo run's numbers first")
    args = parser.parse_args(argv)
    if args.record_demo:
        record_demo(args.record_demo)
    stale = stale_pages()
    for page, text in stale.items():
        print(f"{'stale' if args.check else 'rewrote'}: {page.relative_to(ROOT)}")
        if not args.check:
            page.write_text(text)
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
