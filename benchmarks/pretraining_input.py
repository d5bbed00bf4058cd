"""BERT pretraining input: sequences per second `bert_pretraining_dataset` makes.

What is timed is the pipeline alone, as a training loop would read it: NSP
sentence pairs packed as `[CLS] A [SEP] B [SEP]` to `--length`, 15% of the
tokens chosen for the masked LM (80% `[MASK]`, 10% a random token, 10%
unchanged) afresh at every epoch, batched and padded. The text is the
package's Jane Austen novels (a package manager ships them), tokenized once
with a WordPiece vocabulary learned from them; the tokenizing is set-up,
not timed, as it happens once per run.

    python -m benchmarks.pretraining_input --json benchmarks/results/pretraining_input_cpu.json

Prints one JSON object: sequences per second over `--batches` batches after
`--warmup` (the median of `--repeats` passes), and whether two pipelines with
the same seed gave the same batches.
"""

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.common import timed, write_results  # noqa: E402
from tf_models.data.masked_lm import bert_pretraining_dataset  # noqa: E402
from tf_models.data.sources import jane_austen  # noqa: E402
from tf_models.data.tokenizers import BERT_RESERVED_TOKENS, train_wordpiece_tokenizer  # noqa: E402


def _first_batches(dataset, count=3):
    return [tf.nest.map_structure(lambda t: t.numpy(), batch) for batch in dataset.take(count)]


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(tf.nest.flatten(a), tf.nest.flatten(b)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--length", type=int, default=128, help="packed sequence length")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-predictions", type=int, default=20)
    parser.add_argument("--vocabulary-size", type=int, default=8000)
    parser.add_argument("--whole-word-masking", action="store_true")
    parser.add_argument("--batches", type=int, default=300, help="batches timed per pass")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)

    documents = jane_austen()
    sentences = [s for d in documents for s in d]
    tokenizer = train_wordpiece_tokenizer(sentences, args.vocabulary_size, os.path.join(tempfile.mkdtemp(), "vocab.txt"),
                                          reserved_tokens=BERT_RESERVED_TOKENS)

    def pipeline(seed=0):
        return bert_pretraining_dataset(
            documents, tokenizer, batch_size=args.batch_size, max_sequence_length=args.length,
            max_predictions_per_sequence=args.max_predictions, whole_word_masking=args.whole_word_masking, seed=seed,
        ).repeat()

    started = time.perf_counter()
    dataset = pipeline()  # built once, as a training run does
    setup_seconds = time.perf_counter() - started
    iterator = iter(dataset)
    for _ in range(args.warmup):  # the first batches start the pipeline's threads and fill its buffers
        next(iterator)

    def read_batches():
        # A rate over a whole pass, not per batch: the passes cross epochs,
        # where the next epoch's pairs are cut.
        for _ in range(args.batches):
            next(iterator)

    per_batch = timed(read_batches, args.repeats, warmup=0).per(args.batches)
    row = {
        "documents": len(documents),
        "sentences": len(sentences),
        "length": args.length,
        "batch_size": args.batch_size,
        "whole_word_masking": args.whole_word_masking,
        "setup_seconds": round(setup_seconds, 2),
        **per_batch.fields("batch_seconds"),
        "sequences_per_second": round(args.batch_size / per_batch.median),
        "same_batches_for_the_same_seed": _same(_first_batches(pipeline()), _first_batches(pipeline())),
    }
    print(json.dumps(row, indent=2))
    if args.json:
        write_results(args.json, "pretraining_input", args, [row])
    return row


if __name__ == "__main__":
    main()
