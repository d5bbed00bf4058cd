"""Chinese to English: the main job's translation run on `software_zh_en`,
and its export asked in Chinese.

    python -m benchmarks.translation_zh_en --json benchmarks/results/translation_zh_en_cpu.json  # ~15 minutes

Runs `COMMAND` (the main job's translation settings, `tf_models.demo.demo_jobs`,
with `--source software_zh_en`) as a user would, timing it; exports the run
and asks the export to translate Chinese sentences, counting their [UNK]
tokens. Beside the job's test BLEU stand two baselines on the same held-out
sources: copying the source, which scores almost nothing here (Chinese
shares few words with English), and a translation memory, which answers
each test source with the English of the most similar training source
(`nearest_training_target`). With `--run-dir` of a finished run of the same
command, its training is not repeated (`--wall-seconds` then says how long it took).
"""

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks.common import write_results  # noqa: E402

# The main job's translation flags (`demo_jobs`; the test checks they agree), on the Chinese corpus.
FLAGS = ("--source", "software_zh_en", "--preset", "tiny", "--dropout", "0", "--vocabulary-size", "4000",
         "--max-length", "24", "--batch-size", "64", "--bucket-boundaries", "8", "12", "16", "--epochs", "6",
         "--warmup-steps", "400", "--seed", "0")
# Sentences of no split: what a user might type.
OWN_QUERIES = ("文件无法保存。", "打开新窗口", "请检查网络连接。")


def command(run_dir):
    return [sys.executable, "-m", "tf_models", "train-translation", "--output-dir", str(run_dir), *FLAGS]


def unknown_tokens(tokenizer, texts):
    """How many of the tokens of each text are [UNK]."""
    return [row.count(tokenizer.unk_id) for row in tokenizer.tokenize(list(texts)).to_list()]


def measure(run_dir, base_dir, queries=3):
    """The run's numbers, its baselines, and its export's answers."""
    from tf_models.jobs.common import run_tokenizer
    from tf_models.jobs.configs import load_job
    from tf_models.jobs.query import query
    from tf_models.jobs.translation import translation_splits
    from tf_models.training import nearest_training_target
    from tf_models.training.evaluation import corpus_bleu

    job = load_job(run_dir)
    results = json.loads((Path(run_dir) / "results.json").read_text())
    train, _, test, report = translation_splits(job)
    sources, references = zip(*test)
    memory_bleu = corpus_bleu(nearest_training_target(train, sources), references)[0]
    tokenizer = run_tokenizer(run_dir)
    unknown = unknown_tokens(tokenizer, sources)
    tokens = sum(tokenizer.tokenize(list(sources)).row_lengths().numpy())
    export = job.export(base_dir)[0]
    texts = [*sources[:queries], *OWN_QUERIES]
    answers = query(export, texts)
    row = {
        "test_bleu": results["bleu"],
        "copy_source_bleu": results["baselines"]["copy_source_bleu"],
        "translation_memory_bleu": memory_bleu,
        "train_bleu": results["baselines"].get("train_bleu"),
        "test_sentences": len(test),
        "train_pairs": len(train),
        "unk_share_of_test_source_tokens": sum(unknown) / tokens,
        "test_sources_with_unk": sum(count > 0 for count in unknown),
    }
    export_answers = [
        {"text": text, "answer": answer.split(" -> ", 1)[-1], "unk_tokens": count, "held_out": i < queries}
        for i, (text, answer, count) in enumerate(zip(texts, answers, unknown_tokens(tokenizer, texts)))
    ]
    return row, results, export_answers, dataclasses.asdict(report)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", help="the run's folder (default: a temporary one); a finished run is reused")
    parser.add_argument("--wall-seconds", type=float, help="with a reused run: how long its command took")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    run_dir = Path(args.run_dir or tempfile.mkdtemp(prefix="translation_zh_en_"))
    print(" ".join(["python", *command(run_dir)[1:]]))
    wall_seconds = args.wall_seconds
    if not (run_dir / "results.json").exists():
        started = time.time()
        subprocess.run(command(run_dir), check=True, cwd=Path(__file__).resolve().parent.parent)
        wall_seconds = time.time() - started
    row, results, answers, split = measure(run_dir, run_dir / "saved_models")
    row["wall_seconds"] = wall_seconds
    print(f"test BLEU {row['test_bleu']:.1f}; copy the source {row['copy_source_bleu']:.1f}; translation memory "
          f"{row['translation_memory_bleu']:.1f}; training pairs {row['train_bleu']:.1f}")
    print(f"[UNK]: {row['unk_share_of_test_source_tokens']:.2%} of the test sources' tokens")
    for answer in answers:
        print(f"  {answer['answer']}   ({answer['unk_tokens']} [UNK])")
    if args.json:
        settings = {"command": "python -m tf_models train-translation --output-dir RUN_DIR " + " ".join(FLAGS)}
        write_results(args.json, "translation_zh_en", settings, [row], split=split, results=results,
                      export_answers=answers)
    return row


if __name__ == "__main__":
    main()
