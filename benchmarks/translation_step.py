"""One Transformer training step on real Multi30k batches: precision and XLA.

The step of `train-translation` (tiny preset, 8,000 shared WordPiece tokens,
batch 64, buckets 12/18/26, max length 40) on the same cached batches, in
three set-ups, each under float32 and mixed_bfloat16, each in a process of
its own:

- `bucketed`: batches padded to their longest sentence, as the job trains
  without `--jit-compile` (many shapes; Keras traces the step with relaxed,
  unknown lengths);
- `padded to bounds`: padded to the bucket bounds rounded up to multiples
  of 8, full batches only (4 shapes), as `--jit-compile` pads them, without XLA;
- `padded + XLA`: the same batches with `jit_compile=True` (what
  `--jit-compile` runs).

    python -m benchmarks.translation_step --data-dir ../shared/data/multi30k
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import write_results

SETUPS = {"bucketed": (False, False), "padded to bounds": (True, False), "padded + XLA": (True, True)}
POLICIES = ("float32", "mixed_bfloat16")


def measure(setup, policy, args):
    """Milliseconds per step of one set-up (run in a child process)."""
    import keras

    from tf_models.data import load_source
    from tf_models.data.pipelines import translation_dataset
    from tf_models.data.tokenizers import WordPieceTokenizer, train_wordpiece_vocabulary
    from tf_models.models import Transformer
    from tf_models.training import compile_transformer

    pairs = load_source("multi30k", data_dir=args.data_dir, split="train", source_language="en",
                        target_language="de")
    vocabulary = train_wordpiece_vocabulary([s for pair in pairs for s in pair], 8000,
                                            reserved_tokens=["[PAD]", "[UNK]", "[START]", "[END]"], lower_case=False)
    vocab_file = Path(args.output_dir) / "vocab.txt"
    vocab_file.write_text("\n".join(vocabulary) + "\n")
    tokenizer = WordPieceTokenizer(vocab_file, lower_case=False)
    padded, jit = SETUPS[setup]
    batches = translation_dataset(pairs, tokenizer, batch_size=64, max_length=40, bucket_boundaries=(12, 18, 26),
                                  seed=0, pad_to_bucket=padded, drop_remainder=padded)
    batches = batches.take(args.warmup + args.steps).cache()
    tokens = sum(int((labels["logits"] != 0).numpy().sum()) for _, labels in batches.skip(args.warmup))
    keras.config.set_dtype_policy(policy)
    model = Transformer.from_preset("tiny", vocabulary_size=tokenizer.vocabulary_size)
    compile_transformer(model, warmup_steps=1000, jit_compile=jit)
    model.fit(batches.take(args.warmup), verbose=0)  # traces (and compiles) every shape
    started = time.perf_counter()
    model.fit(batches.skip(args.warmup), verbose=0)
    seconds = time.perf_counter() - started
    return {"setup": setup, "policy": policy, "step_ms": 1000 * seconds / args.steps,
            "target_tokens_per_second": tokens / seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/data/multi30k")
    parser.add_argument("--warmup", type=int, default=60, help="steps before timing (every shape traced)")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--output-dir", default="runs/translation_step")
    parser.add_argument("--json", default="benchmarks/results/translation_step_cpu.json")
    parser.add_argument("--child", nargs=2, metavar=("SETUP", "POLICY"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    Path(args.output_dir).mkdir(parents=True, exist_ok=True)
    if args.child:
        print(json.dumps(measure(*args.child, args)))
        return None
    rows = []
    for setup in SETUPS:
        for policy in POLICIES:
            command = [sys.executable, "-m", "benchmarks.translation_step", "--child", setup, policy,
                       "--data-dir", args.data_dir, "--warmup", str(args.warmup), "--steps", str(args.steps),
                       "--output-dir", args.output_dir]
            output = subprocess.run(command, capture_output=True, text=True, check=True,
                                    env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")).stdout
            rows.append(json.loads(output.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    base = rows[0]["target_tokens_per_second"]
    print("| batches | policy | ms per step | target tokens/s | vs bucketed float32 |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        r["speedup"] = r["target_tokens_per_second"] / base
        print(f"| {r['setup']} | {r['policy']} | {r['step_ms']:.0f} | {r['target_tokens_per_second']:,.0f} "
              f"| {r['speedup']:.2f}x |")
    write_results(args.json, "translation_step", args, rows)
    return rows


if __name__ == "__main__":
    main()
