"""Generation speed: tf_models' cached searches vs keras-hub's samplers, same model, same run.

Two comparisons, each with greedy search, top-k sampling and beam search:

1. **The search loop.** `keras_hub.samplers` (`GreedySampler`, `TopKSampler`,
   `BeamSampler`) drive the very step function that tf_models' searches
   drive (the model's `generation_step`: `CausalLM.decode_step` after
   `CausalLM.prefill`, or `Transformer.decode_step` after the encoder), on
   the same batch: only the loops differ. Both forbid the padding id, so greedy search (and
   beam search, ours with `alpha=0`, when no beam ends) must give the same
   tokens: the `same tokens` column checks it.
2. **End to end (decoder-only).** keras-hub's own `GPT2CausalLM.generate_step`
   on a `GPT2Backbone` of the same shape (its cache is built by one pass
   over the whole padded window, then its sampler runs).

Every sequence generates exactly `--new-tokens` tokens (no end token), so
every loop runs the same number of steps. Each function runs as one
`tf.function` (not XLA), traced by a first call that is not timed; the
time is the median of `--repeats` calls.

    python -m benchmarks.generation                      # the table in benchmarks/README.md
    python -m benchmarks.generation --models causal_lm --preset test --new-tokens 4   # seconds

Prints a Markdown table of generated tokens per second and ratios
(tf_models / keras-hub: above 1 is faster).
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.common import timed, write_results  # noqa: E402
from tf_models.inference.decoding import _never_pad, generate  # noqa: E402
from tf_models.models import CausalLM, Transformer  # noqa: E402

NEVER = -1  # no token id is -1: every sequence runs to the limit
METHODS = ("greedy", "sample", "beam")


def compared_methods(args):
    """`{method: (our options, keras-hub's sampler)}`: each of our decoding
    methods that keras-hub has too, set to search alike."""
    import keras_hub

    return {
        "greedy": ({}, keras_hub.samplers.GreedySampler()),
        "sample": ({"top_k": args.top_k, "seed": 0}, keras_hub.samplers.TopKSampler(k=args.top_k, seed=0)),
        "beam": ({"beam_width": args.beam_width, "alpha": 0.0},
                 keras_hub.samplers.BeamSampler(num_beams=args.beam_width)),
    }


def keras_hub_search(sampler, next_logits, cache, start_ids, steps, padding_id):
    """Runs a keras-hub sampler over one of our step functions.

    keras-hub's samplers fill a fixed-width prompt in place: here the start
    token and `steps` empty slots. Their `next(prompt, cache, index)` wants
    the logits for slot `index`, i.e. our step at `index - 1`.

    Returns:
        `(batch, steps)` int32 generated tokens.
    """
    batch = tf.shape(start_ids)[0]
    token_ids = tf.concat([start_ids[:, None], tf.zeros([batch, steps], tf.int32)], axis=1)
    given = tf.concat([tf.ones([batch, 1], tf.bool), tf.zeros([batch, steps], tf.bool)], axis=1)

    def next(prompt, cache, index):
        logits, cache = next_logits(prompt[:, index - 1], index - 1, cache)
        return _never_pad(logits, padding_id), None, cache

    return sampler(next, token_ids, cache=cache, index=1, mask=given)[:, 1:]


def loop_functions(model, args, inputs_of, beams_in_step=False):
    """`{(library, method): tf.function(batch) -> (batch, new_tokens) ids}`: our
    search and keras-hub's sampler, each on `model.generation_step(inputs_of(batch))`.

    keras-hub's beam sampler repeats the cache for its beams itself, so its
    step starts from one cache row per example; a Transformer's step also
    holds its sources' rows (`beams_in_step`), which must be one per beam.
    """
    functions = {}
    for method, (options, sampler) in compared_methods(args).items():

        def ours(batch, method=method, options=options):
            return generate(model, inputs_of(batch), args.new_tokens, NEVER, method, **options)[0]

        def theirs(batch, sampler=sampler, options=options):
            repeat = options.get("beam_width", 1) if beams_in_step else 1
            next_logits, cache, start_ids, _ = model.generation_step(inputs_of(batch), args.new_tokens, repeat)
            cache = tuple(c[::repeat] for c in cache)  # one row per example
            return keras_hub_search(sampler, next_logits, cache, start_ids, args.new_tokens, model.padding_id)

        functions["tf_models", method] = tf.function(ours)
        functions["keras_hub_sampler", method] = tf.function(theirs)
    return functions


def causal_lm_functions(model, args):
    """The loops on a `CausalLM`, continuing a batch of prompts."""
    return loop_functions(model, args, lambda prompts: {"token_ids": prompts})


def gpt2_functions(model, args):
    """keras-hub's `GPT2CausalLM.generate_step` on a `GPT2Backbone` shaped like `model`."""
    import keras_hub

    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=model.vocabulary_size, num_layers=model.num_layers, num_heads=model.num_heads,
        hidden_dim=model.hidden_dim, intermediate_dim=model.intermediate_dim, dropout=0.0,
        max_sequence_length=model.max_sequence_length,
    )
    functions = {}
    for method, (_, sampler) in compared_methods(args).items():
        causal_lm = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
        causal_lm.compile(sampler=sampler)

        def theirs(prompts, causal_lm=causal_lm):
            batch, length = tf.shape(prompts)[0], tf.shape(prompts)[1]
            token_ids = tf.pad(prompts, [[0, 0], [0, args.new_tokens]])
            padding_mask = tf.sequence_mask(tf.fill([batch], length), length + args.new_tokens)
            generated = causal_lm.generate_step({"token_ids": token_ids, "padding_mask": padding_mask})
            return generated["token_ids"][:, length:]

        functions["keras_hub_gpt2", method] = tf.function(theirs)
    return functions, backbone.count_params()


def transformer_functions(model, args):
    """The loops on a `Transformer`, translating a batch of sources (start token 1)."""

    def inputs_of(sources):
        return {"encoder_token_ids": sources, "decoder_token_ids": tf.ones([tf.shape(sources)[0], 1], tf.int32)}

    return loop_functions(model, args, inputs_of, beams_in_step=True)


def run_and_time(function, inputs, repeats):
    """`(Timing, outputs)`: the first call traces, and gives the outputs."""
    outputs = function(inputs).numpy()
    return timed(lambda: function(inputs).numpy(), repeats, warmup=0), outputs


def measure(model_name, args):
    """Rows of one model: tokens/s of each (library, method), ratios, same-token checks."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    if model_name == "causal_lm":
        model = CausalLM.from_preset(args.preset, vocabulary_size=args.vocabulary_size)
        functions = causal_lm_functions(model, args)
        if not args.skip_gpt2:
            gpt2, gpt2_parameters = gpt2_functions(model, args)
            functions.update(gpt2)
    else:
        model = Transformer.from_preset(args.preset, vocabulary_size=args.vocabulary_size)
        functions = transformer_functions(model, args)
    inputs = tf.constant(rng.integers(7, args.vocabulary_size, (args.batch, args.prompt_length)), tf.int32)
    results = {key: run_and_time(function, inputs, args.repeats) for key, function in functions.items()}
    tokens = args.batch * args.new_tokens
    rows = []
    for method in METHODS:
        ours, ours_ids = results["tf_models", method]
        row = {
            "model": model_name, "preset": args.preset, "parameters": model.count_params(), "method": method,
            "batch": args.batch, "prompt_length": args.prompt_length, "new_tokens": args.new_tokens,
            **ours.fields("tf_models_seconds"), "tf_models_tokens_per_second": tokens / ours.median,
        }
        for library in ("keras_hub_sampler", "keras_hub_gpt2"):
            if (library, method) in results:
                theirs, ids = results[library, method]
                row.update(theirs.fields(f"{library}_seconds"))
                row[f"{library}_tokens_per_second"] = tokens / theirs.median
                row[f"{library}_ratio"] = theirs.median / ours.median
                if library == "keras_hub_sampler":
                    row["same_tokens"] = bool(np.array_equal(ids, ours_ids)) if method != "sample" else None
        if model_name == "causal_lm" and not args.skip_gpt2:
            row["keras_hub_gpt2_parameters"] = gpt2_parameters
        rows.append(row)
    return rows


def markdown_table(rows):
    """Tokens per second of each loop and the ratios (tf_models / keras-hub)."""
    lines = [
        "| model | method | batch x new tokens | tf_models tokens/s | keras-hub sampler, same step | ratio "
        "| same tokens | keras-hub GPT2CausalLM | ratio |",
        "|---|---|---|---:|---:|---:|---|---:|---:|",
    ]
    for r in rows:
        same = {True: "yes", False: "NO", None: "(random)"}[r["same_tokens"]]
        gpt2 = (f"{r['keras_hub_gpt2_tokens_per_second']:,.0f} | **{r['keras_hub_gpt2_ratio']:.2f}x**"
                if "keras_hub_gpt2_ratio" in r else "n/a | n/a")
        lines.append(
            f"| {r['model']} {r['preset']} | {r['method']} | {r['batch']} x {r['new_tokens']} "
            f"| {r['tf_models_tokens_per_second']:,.0f} | {r['keras_hub_sampler_tokens_per_second']:,.0f} "
            f"| **{r['keras_hub_sampler_ratio']:.2f}x** | {same} | {gpt2} |"
        )
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", choices=("causal_lm", "transformer"),
                        default=["causal_lm", "transformer"])
    parser.add_argument("--preset", default="tiny", help="the preset of both models (random weights)")
    parser.add_argument("--vocabulary-size", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=8, help="prompts (or sources) per batch")
    parser.add_argument("--prompt-length", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=112)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-gpt2", action="store_true", help="leave out keras-hub's GPT2CausalLM")
    parser.add_argument("--json", help="also write the rows here")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    rows = [row for model_name in args.models for row in measure(model_name, args)]
    print(markdown_table(rows))
    if args.json:
        write_results(args.json, "generation", args, rows)
    return rows


if __name__ == "__main__":
    main()
