"""BERT pretraining per CPU-minute: text tokens per second and masked-LM accuracy.

Every variant pretrains BERT `tiny` from the same random start on the same
text (Debian's package descriptions, `debian_descriptions`, with one WordPiece
vocabulary) for the same wall-clock budget, then scores its masked-LM
accuracy on the same held-out descriptions (the validation split, packed and
masked with one seed). A variant's steps are fitted to the budget: 30 steps
are timed first on a throwaway copy, so that its learning-rate schedule
(warm-up 10%, linear decay) ends when the budget does.

* `bert_pairs`: BERT's recipe, the package's before this benchmark: masked LM
  + next-sentence prediction on sentence pairs padded to the length;
* `packed`: masked LM alone on sequences packed full (`masked_lm_dataset`);
* `packed_bf16`: the same under `mixed_bfloat16` (CPUs with bfloat16 units);
* `packed_mask30`: 30% of the tokens masked instead of 15%;
* `packed_len64`: sequences of 64 tokens, twice as many per batch;
* `keras_hub_packed`: keras-hub's `BertMaskedLM` (its `BertBackbone` and
  `MaskedLMHead`) at the `packed` configuration, on the same batches.

Each variant runs in a fresh process, one after the other.

    python -m benchmarks.pretraining_speed --json benchmarks/results/pretraining_speed_cpu.json
    python -m benchmarks.pretraining_speed --variants packed keras_hub_packed --minutes 1

Prints a Markdown table: text tokens per second (padding excluded), slots
per second (padding included), steps, and held-out masked-LM accuracy.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.common import write_results  # noqa: E402

# name -> what differs from `packed`.
VARIANTS = {
    "bert_pairs": {"next_sentence_prediction": True},
    "packed": {},
    "packed_bf16": {"precision": "mixed_bfloat16"},
    "packed_mask30": {"masking_rate": 0.3},
    "packed_len64": {"length": 64},
    "keras_hub_packed": {"library": "keras_hub"},
}
BASE = {"next_sentence_prediction": False, "precision": "float32", "masking_rate": 0.15, "length": 128,
        "library": "tf_models", "preset": "tiny"}
TOKENS_PER_STEP = 4096  # batch 32 at length 128


def _datasets(case, tokenizer, documents, held_out):
    from tf_models.data.masked_lm import bert_pretraining_dataset, masked_lm_dataset

    length = case["length"]
    options = dict(batch_size=TOKENS_PER_STEP // length, max_sequence_length=length,
                   max_predictions_per_sequence=round(length * case["masking_rate"] * 1.05) + 1,
                   masking_rate=case["masking_rate"])
    pipeline = bert_pretraining_dataset if case["next_sentence_prediction"] else masked_lm_dataset
    train = pipeline(documents, tokenizer, seed=0, drop_remainder=True, **options).repeat()
    # Every variant is scored on the same kind of input: held-out text packed
    # full, 15% masked, one seed (in rows of its own length: packed_len64's
    # score is on rows of 64, so it compares only roughly).
    evaluation = masked_lm_dataset(held_out, tokenizer, seed=1, **dict(options, masking_rate=0.15,
                                                                       max_predictions_per_sequence=length))
    return train, evaluation


def _model(case, vocabulary_size):
    from tf_models.models import BertBackbone, BertConfig, BertPretrainer

    if case["library"] == "tf_models":
        backbone = BertBackbone.from_preset(case["preset"], vocabulary_size=vocabulary_size,
                                            max_sequence_length=case["length"])
        return BertPretrainer(backbone, next_sentence_prediction=case["next_sentence_prediction"])
    import keras_hub

    config = BertConfig.preset(case["preset"], vocabulary_size=vocabulary_size)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=vocabulary_size, num_layers=config.num_layers, num_heads=config.num_heads,
        hidden_dim=config.hidden_dim, intermediate_dim=config.intermediate_dim, dropout=config.dropout,
        max_sequence_length=case["length"])
    masked_lm = keras_hub.models.BertMaskedLM(backbone, preprocessor=None)
    inputs = {name: keras.Input((None,), dtype="int32", name=name)
              for name in ("token_ids", "segment_ids", "padding_mask", "mask_positions")}
    # The same named output as BertPretrainer's, so both compile alike.
    return keras.Model(inputs, {"mlm_logits": keras.ops.cast(masked_lm(inputs), "float32")})


class StepClock(keras.callbacks.Callback):
    """Notes when the first training step ended: it traces the graph, so
    throughput is timed from there."""

    first_step_done = None

    def on_train_batch_end(self, batch, logs=None):
        if self.first_step_done is None:
            self.first_step_done = time.perf_counter()


def measure(case):
    """Pretrains one variant for `case["minutes"]` and scores it."""
    from tf_models.data import WordPieceTokenizer, load_documents
    from tf_models.jobs.pretraining import evaluate_pretrainer
    from tf_models.training import compile_bert_pretrainer

    keras.config.set_dtype_policy(case["precision"])
    tokenizer = WordPieceTokenizer(case["vocabulary"])
    documents = load_documents(case["documents"])
    held_out = load_documents(case["held_out"])
    # The share of the batches' positions that hold text (not padding).
    sample, _ = _datasets(case, tokenizer, documents, held_out)
    text_share = float(np.mean([np.mean(features["padding_mask"]) for features, _, _ in sample.take(200)]))

    # Time 30 steps on a throwaway model to fit this variant's steps to the budget.
    keras.utils.set_random_seed(0)
    probe = compile_bert_pretrainer(_model(case, tokenizer.vocabulary_size), 1000, peak_learning_rate=1e-3)
    probe.fit(sample, steps_per_epoch=5, epochs=1, verbose=0)
    started = time.perf_counter()
    probe.fit(sample, steps_per_epoch=30, epochs=1, verbose=0)
    steps = max(30, int(case["minutes"] * 60 / ((time.perf_counter() - started) / 30)))

    keras.utils.set_random_seed(0)
    train, evaluation = _datasets(case, tokenizer, documents, held_out)
    model = compile_bert_pretrainer(_model(case, tokenizer.vocabulary_size), steps, peak_learning_rate=1e-3)
    clock = StepClock()
    model.fit(train, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[clock])
    seconds = time.perf_counter() - clock.first_step_done  # the first step traces the graph
    scores = evaluate_pretrainer(model, evaluation)
    slots_per_second = (steps - 1) * TOKENS_PER_STEP / seconds
    return dict(case, steps=steps, train_seconds=seconds, text_tokens_per_second=slots_per_second * text_share,
                slots_per_second=slots_per_second, text_share=text_share, mlm_accuracy=scores["mlm_logits_accuracy"],
                mlm_loss=scores["mlm_loss"], parameters=int(model.count_params()))


def _in_child(case):
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-m", "benchmarks.pretraining_speed", "--child", json.dumps(case)],
                          capture_output=True, text=True, cwd=root, timeout=3600)
    if done.returncode:
        raise RuntimeError(f"{case['variant']} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def markdown_table(results):
    base = next((r for r in results if r["variant"] == "bert_pairs"), results[0])
    lines = ["| variant | text tokens/s | vs bert_pairs | slots/s | text share | steps | held-out MLM accuracy |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['variant']} | {r['text_tokens_per_second']:,.0f} "
                     f"| {r['text_tokens_per_second'] / base['text_tokens_per_second']:.2f}x "
                     f"| {r['slots_per_second']:,.0f} | {r['text_share']:.0%} | {r['steps']} "
                     f"| {r['mlm_accuracy']:.1%} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--minutes", type=float, default=4.0, help="training wall-clock budget of each variant")
    parser.add_argument("--vocabulary-size", type=int, default=8000)
    parser.add_argument("--held-out-documents", type=int, default=2000)
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(json.loads(args.child))))
        return None

    from tf_models.data import BERT_RESERVED_TOKENS, load_source, train_wordpiece_vocabulary

    work = Path(tempfile.mkdtemp(prefix="pretraining_speed_"))
    documents, held_out = load_source("debian_descriptions"), load_source("debian_descriptions", split="validation")
    for name, docs in (("documents", documents), ("held_out", held_out[: args.held_out_documents])):
        (work / f"{name}.txt").write_text("\n\n".join("\n".join(d) for d in docs) + "\n", encoding="utf-8")
    vocabulary = train_wordpiece_vocabulary([s for d in documents for s in d], args.vocabulary_size,
                                            reserved_tokens=BERT_RESERVED_TOKENS)
    (work / "vocab.txt").write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    results = []
    for variant in args.variants:
        case = dict(BASE, **VARIANTS[variant], variant=variant, minutes=args.minutes,
                    vocabulary=str(work / "vocab.txt"), documents=str(work / "documents.txt"),
                    held_out=str(work / "held_out.txt"))
        results.append(_in_child(case))
        r = results[-1]
        print(f"{variant}: {r['text_tokens_per_second']:,.0f} text tokens/s, {r['steps']} steps, "
              f"held-out MLM accuracy {r['mlm_accuracy']:.1%}", file=sys.stderr, flush=True)
        if args.json:
            write_results(args.json, "pretraining_speed", args, results)
    print(markdown_table(results))
    return results


if __name__ == "__main__":
    main()
