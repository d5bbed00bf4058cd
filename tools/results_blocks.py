"""The numbers of README.md, README.zh-CN.md and docs/*.md, written from the
committed result files.

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
PAGES = ("README.md", "README.zh-CN.md", "docs/*.md")
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
    lines = "".join(f"| {row['setup']} | {row['policy']} | {row['step_ms']:.0f} | {row['speedup']:.2f}x |\n"
                    for row in rows("translation_step_cpu.json"))
    return ("| batches | precision | ms per step | speed vs bucketed float32 |\n|---|---|---:|---:|\n"
            f"{lines}\n{provenance('translation_step_cpu.json', lang)}")


def serving_memory(lang):
    """Peak memory of one oversized request to each export."""
    measured = rows("serving_memory_cpu.json")
    exports = list(dict.fromkeys(row["export"] for row in measured))
    peak = {(row["export"], row["megabytes"]): row["peak_mib_above_idle"] for row in measured}
    lines = "".join(f"| {name} | {peak[(name, 1.0)]:.0f} MiB | {peak[(name, 10.0)]:.0f} MiB |\n" for name in exports)
    return ("| export | 1 MB request | 10 MB request |\n|---|---:|---:|\n"
            f"{lines}\n{provenance('serving_memory_cpu.json', lang)}")


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
    serving_memory, throughput, pretraining_input, presets, results_files)}


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
