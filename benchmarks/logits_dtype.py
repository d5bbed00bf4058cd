"""The tied output projection under mixed precision: in float32 (before
2026-12-03) or in the compute dtype (now; softmax, loss and returned logits
stay float32).

For each model, the same weights and batch under `--policy`: the loss with
each projection (their relative difference), and the training step time
with each (`fit` on one repeated batch, median of `--steps` steps after a
warm-up), in the same process.

    python -m benchmarks.logits_dtype --json benchmarks/results/logits_dtype_cpu.json
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from tf_models.layers import TokenEmbedding  # noqa: E402
from tf_models.models import BertBackbone, BertPretrainer, Transformer  # noqa: E402
from tf_models.training import compile_bert_pretrainer, compile_transformer  # noqa: E402

_COMPUTE_DTYPE_CALL = TokenEmbedding.call


def _float32_call(self, inputs, reverse=False):
    """The projection as it was: table and hidden states in float32."""
    if not reverse:
        return _COMPUTE_DTYPE_CALL(self, inputs)
    return ops.matmul(ops.cast(inputs, "float32"), ops.transpose(ops.cast(self.embeddings, "float32")))


class _StepTimes(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self.started)

    def on_train_begin(self, logs=None):
        self.times = []


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


def _measure(build, args):
    rows = {}
    for projection, call in (("float32", _float32_call), ("compute_dtype", _COMPUTE_DTYPE_CALL)):
        TokenEmbedding.call = call
        keras.utils.set_random_seed(0)
        model, (x, y) = build(args, np.random.default_rng(0))
        loss = float(model.evaluate(x, y, batch_size=args.batch_size, verbose=0, return_dict=True)["loss"])
        timer = _StepTimes()
        model.fit(x, y, batch_size=args.batch_size, epochs=args.steps + args.warmup, verbose=0, callbacks=[timer])
        rows[projection] = {"loss": loss, "step_ms": 1000 * float(np.median(timer.times[args.warmup:]))}
    TokenEmbedding.call = _COMPUTE_DTYPE_CALL
    rows["loss_relative_difference"] = abs(rows["compute_dtype"]["loss"] - rows["float32"]["loss"]) / abs(
        rows["float32"]["loss"])
    rows["speedup"] = rows["float32"]["step_ms"] / rows["compute_dtype"]["step_ms"]
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", default="mixed_bfloat16")
    parser.add_argument("--transformer-preset", default="tiny")
    parser.add_argument("--bert-preset", default="mini")
    parser.add_argument("--vocabulary-size", type=int, default=8000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--length", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    keras.config.set_dtype_policy(args.policy)
    results = {"policy": args.policy, "batch_size": args.batch_size, "length": args.length,
               "vocabulary_size": args.vocabulary_size,
               f"transformer_{args.transformer_preset}": _measure(_transformer, args),
               f"bert_{args.bert_preset}": _measure(_bert, args)}
    keras.config.set_dtype_policy("float32")
    print(json.dumps(results, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
