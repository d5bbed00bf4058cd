"""Decoding speed: batched cached greedy and beam search vs the TF tutorial's loop.

The baseline decodes one sentence at a time and re-runs the whole model
(encoder included) on the growing prefix at every step, as the TensorFlow
Transformer tutorial does; it runs as a graph (`tf.function`), so the
comparison is of algorithms, not of eager overhead. All three decode the
same sources with the same model to exactly `--output-tokens` tokens (the
end id is one the model never produces), so they do the same number of
steps.

    python -m benchmarks.decoding                    # the table in README.md
    python -m benchmarks.decoding --preset base --sentences 32

Prints a Markdown table of sentences per second (from the median of
`--repeats` passes) and speed-ups.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.common import timed, write_results  # noqa: E402
from tf_models.inference import generate, uncached_greedy_decode  # noqa: E402
from tf_models.models import Transformer  # noqa: E402

START, NEVER = 1, -1  # no token id is -1, so every sequence runs to the limit


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="small", help="Transformer preset (random weights)")
    parser.add_argument("--sentences", type=int, default=64, help="sentences decoded by the batched decoders")
    parser.add_argument("--baseline-sentences", type=int, default=8,
                        help="sentences decoded by the slow baseline (its rate is per sentence)")
    parser.add_argument("--source-length", type=int, default=20)
    parser.add_argument("--output-tokens", type=int, default=64)
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(0)
    model = Transformer.from_preset(args.preset)
    rng = np.random.default_rng(0)
    sources = rng.integers(3, model.vocabulary_size, (args.sentences, args.source_length)).astype("int32")
    length = args.output_tokens
    spec = [tf.TensorSpec([None, None], tf.int32)]

    def translate(batch, method, **options):
        starts = tf.fill([tf.shape(batch)[0], 1], START)
        return generate(model, {"encoder_token_ids": batch, "decoder_token_ids": starts}, length, NEVER, method,
                        **options)

    decoders = {
        "greedy, cached, batched": tf.function(lambda s: translate(s, "greedy"), input_signature=spec),
        f"beam {args.beam_width}, cached, batched": tf.function(
            lambda s: translate(s, "beam", beam_width=args.beam_width), input_signature=spec),
        "greedy, uncached, one at a time (TF tutorial)": tf.function(
            lambda s: uncached_greedy_decode(model, s, START, NEVER, length), input_signature=spec),
    }
    rows = []
    for name, function in decoders.items():
        if "one at a time" in name:
            batches = [sources[i : i + 1] for i in range(args.baseline_sentences)]
        else:
            batches = [sources]
        # One pass decodes every batch; the warm-up pass traces the function.
        timing = timed(lambda: [function(batch)[0].numpy() for batch in batches], args.repeats)
        sentences = sum(len(b) for b in batches)
        rows.append({"decoder": name, "sentences": sentences, **timing.fields("seconds"),
                     "sentences_per_second": sentences / timing.median})
    baseline = rows[-1]["sentences_per_second"]
    print(f"\n{args.preset} Transformer ({model.count_params():,} parameters), source {args.source_length} tokens, "
          f"{length} output tokens, {os.cpu_count()} CPU cores, TensorFlow {tf.__version__}\n")
    print("| decoder | sentences | seconds | sentences/s | speed-up |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        row["speedup"] = row["sentences_per_second"] / baseline
        print(f"| {row['decoder']} | {row['sentences']} | {row['seconds']:.2f} | "
              f"{row['sentences_per_second']:.2f} | {row['speedup']:.1f}x |")
    if args.json:
        write_results(args.json, "decoding", args, rows)


if __name__ == "__main__":
    main()
