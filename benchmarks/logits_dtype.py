"""The tied output projection under mixed precision: in float32 (before
2026-12-03) or in the compute dtype (now; softmax, loss and returned logits
stay float32).

For each model, the same weights and batch under `--policy`: the loss with
each projection (their relative difference), and the training step time
with each (`train_on_batch` on one batch, the median of `--steps` steps
after `--warmup`), in the same process.

    python -m benchmarks.logits_dtype --json benchmarks/results/logits_dtype_cpu.json
"""

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from benchmarks.common import timed, write_results  # noqa: E402
from tf_models.layers import TokenEmbedding  # noqa: E402
from tf_models.models import BertBackbone, BertPretrainer, Transformer  # noqa: E402
from tf_models.training import compile_bert_pretrainer, compile_transformer  # noqa: E402

_COMPUTE_DTYPE_CALL = TokenEmbedding.call


def _float32_call(self, inputs, reverse=False):
    """The projection as it was: table and hidden states in float32."""
    if not reverse:
        return _COMPUTE_DTYPE_CALL(self, inputs)
    return ops.matmul(ops.cast(inputs, "float32"), ops.transpose(ops.cast(self.embeddings, "float32")))


def _transformer(args, rng):
    model = Transformer.from_preset(args.transformer_preset, vocabulary_size=args.vocabulary_size)
    compile_transformer(model, warmup_steps=100)
    ids = rng.integers(4, args.vocabulary_size, (args.batch_size, args.length)).astype("int32")
    return model, ({"encoder_token_ids": ids, "decoder_token_ids": ids}, {"logits": ids})


def _bert(args, rng):
    backbone = BertBackbone.from_preset(args.bert_preset, vocabulary_size=args.vocabulary_size,
                                        max_sequence_length=args.length)
    model = BertPretrainer(backbone)
    compile_bert_pretrainer(model, 1000)
    ids = rng.integers(5, args.vocabulary_size, (args.batch_size, args.length)).astype("int32")
    masked = max(1, round(0.15 * args.length))
    positions = np.sort(np.stack([rng.choice(np.arange(1, args.length), masked, replace=False)
                                  for _ in range(args.batch_size)]), axis=1).astype("int32")
    features = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids),
                "mask_positions": positions}
    labels = {"mlm_logits": np.take_along_axis(ids, positions, axis=1),
              "nsp_logits": rng.integers(0, 2, args.batch_size).astype("int32")}
    return model, (features, labels)


def _measure(name, build, args):
    """One row: the loss and the step time of model `name` with each projection."""
    row = {"model": name}
    for projection, call in (("float32", _float32_call), ("compute_dtype", _COMPUTE_DTYPE_CALL)):
        TokenEmbedding.call = call
        keras.utils.set_random_seed(0)
        model, (x, y) = build(args, np.random.default_rng(0))
        row[f"{projection}_loss"] = float(model.evaluate(x, y, batch_size=args.batch_size, verbose=0,
                                                         return_dict=True)["loss"])
        # `train_on_batch` returns the loss as a number: the step is done when the clock stops.
        timing = timed(lambda: model.train_on_batch(x, y), args.steps, warmup=args.warmup)
        row.update(timing.fields(f"{projection}_step_seconds"))
    TokenEmbedding.call = _COMPUTE_DTYPE_CALL
    row["loss_relative_difference"] = abs(row["compute_dtype_loss"] - row["float32_loss"]) / abs(row["float32_loss"])
    row["speedup"] = row["float32_step_seconds"] / row["compute_dtype_step_seconds"]
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", default="mixed_bfloat16")
    parser.add_argument("--transformer-preset", default="tiny")
    parser.add_argument("--bert-preset", default="mini")
    parser.add_argument("--vocabulary-size", type=int, default=8000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--length", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20, help="timed steps (the median is reported)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (the first traces)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    keras.config.set_dtype_policy(args.policy)
    rows = [_measure(f"transformer_{args.transformer_preset}", _transformer, args),
            _measure(f"bert_{args.bert_preset}", _bert, args)]
    keras.config.set_dtype_policy("float32")
    print(json.dumps(rows, indent=2))
    if args.json:
        write_results(args.json, "logits_dtype", args, rows)
    return rows


if __name__ == "__main__":
    main()
