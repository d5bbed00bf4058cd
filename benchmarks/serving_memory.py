"""Peak memory of one oversized request to each of the eight exports.

Every export caps what one request may cost (`max_input_bytes` per string,
`max_batch_size` inputs; question answering reads its contexts up to a
longer cap, in windows). This benchmark exports the eight tiny modules
(random weights, `test` presets), then, in a fresh process per export and
size, loads the SavedModel as TF Serving would, warms it up on a short
input, and sends one request whose text is 1 MB or 10 MB. It reports the
resident memory the request added at its peak (Linux's `VmHWM`, reset after
the warm-up), above the loaded, idle process.

    python -m benchmarks.serving_memory --json benchmarks/results/serving_memory_cpu.json
    python -m benchmarks.serving_memory --sizes 1 --exports question_answerer

Prints a Markdown table: megabytes sent, peak MiB above idle, seconds.
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

from benchmarks.common import write_results  # noqa: E402

EXPORTS = ("translator", "text_generator", "classifier", "regressor", "tagger", "question_answerer", "fill_mask",
           "sentence_encoder")
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[START]", "[END]", "the", "cat", "sat", "on", "mat",
              "##s", ".", ",", "a", "dog"]
LENGTH = 16


def build_modules(folder):
    """`{export name: module}`: the eight tiny modules, random weights."""
    import keras

    from tf_models.data import WordPieceTokenizer
    from tf_models.data.tokenizers import train_character_tokenizer
    from tf_models.inference import (FillMask, QuestionAnswerer, SentenceEncoder, TextClassifier, TextGenerator,
                                     TextRegressor, TokenTagger, Translator)
    from tf_models.models import (BertBackbone, BertClassifier, BertPretrainer, BertSpanLabeler,
                                  BertTagger, CausalLM, Transformer)

    keras.utils.set_random_seed(0)
    path = Path(folder) / "vocab.txt"
    path.write_text("\n".join(VOCABULARY) + "\n")
    tokenizer, size = WordPieceTokenizer(path), len(VOCABULARY)

    def backbone():
        return BertBackbone.from_preset("test", vocabulary_size=size, max_sequence_length=LENGTH)

    pretrainer = BertPretrainer(backbone())
    characters = train_character_tokenizer(VOCABULARY[7:], Path(folder) / "characters.json")
    return {
        "translator": Translator(Transformer.from_preset("test", vocabulary_size=size), tokenizer,
                                 max_length=LENGTH, method="beam", beam_width=3),
        "text_generator": TextGenerator(CausalLM.from_preset("test", vocabulary_size=characters.vocabulary_size),
                                        characters, max_new_tokens=6, context_length=LENGTH, method="greedy"),
        "classifier": TextClassifier(BertClassifier(backbone(), num_classes=3), tokenizer, ["a", "b", "c"], LENGTH),
        "regressor": TextRegressor(BertClassifier(backbone(), num_classes=1), tokenizer, LENGTH),
        "tagger": TokenTagger(BertTagger(backbone(), num_classes=3), tokenizer, ["O", "B", "I"], LENGTH),
        "question_answerer": QuestionAnswerer(BertSpanLabeler(backbone()), tokenizer, max_sequence_length=LENGTH,
                                              max_query_length=6, doc_stride=4),
        "fill_mask": FillMask(pretrainer, tokenizer, top_k=3, max_sequence_length=LENGTH),
        "sentence_encoder": SentenceEncoder(pretrainer.backbone, tokenizer, max_sequence_length=LENGTH),
    }


def request(name, text):
    """The serving_default inputs of export `name` that carry `text`."""
    if name == "question_answerer":
        return {"questions": ["where did the cat sit ?"], "contexts": [text]}
    if name == "text_generator":
        return {"prompts": [text]}
    if name == "fill_mask":
        return {"sentences": [text.replace("cat", "[MASK]")]}
    return {"sentences": [text]}


def memory_kib(field):
    """A memory figure of this process from `/proc/self/status`, in KiB
    (`"VmRSS"`: resident now, `"VmHWM"`: its peak; Linux only)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status (Linux only)")


def measure(export_dir, name, size):
    """Peak MiB one request of `size` bytes adds to an idle, loaded export."""
    import gc

    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizers' ops, as TF Serving links them)

    function = tf.saved_model.load(str(export_dir)).signatures["serving_default"]

    def call(text):
        return function(**{key: tf.constant(values) for key, values in request(name, text).items()})

    call("the cat sat on the mat .")  # warm-up: the first call allocates what every call reuses
    text = ("the cat sat on the mat . " * (size // 25 + 1))[:size]
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current VmRSS
    idle = memory_kib("VmRSS")
    started = time.perf_counter()
    outputs = call(text)
    seconds = time.perf_counter() - started
    return {"export": name, "megabytes": size / 1e6, "peak_mib_above_idle": (memory_kib("VmHWM") - idle) / 1024,
            "idle_mib": idle / 1024, "seconds": seconds, "outputs": sorted(outputs)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exports", nargs="+", default=list(EXPORTS), choices=EXPORTS)
    parser.add_argument("--sizes", nargs="+", type=float, default=[1, 10], help="request sizes, in MB")
    parser.add_argument("--json", help="where to write the results")
    parser.add_argument("--measure", nargs=3, metavar=("EXPORT_DIR", "NAME", "BYTES"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure[0], args.measure[1], int(args.measure[2]))))
        return
    from tf_models.export import export_saved_model

    folder = Path(tempfile.mkdtemp(prefix="serving_memory_"))
    modules = build_modules(folder)
    rows = []
    for name in args.exports:
        path = export_saved_model(modules[name], folder / "saved_models", name)
        settings = {key: value for key, value in getattr(modules[name], "settings", {}).items()
                    if key in ("max_input_bytes", "max_batch_size")}
        for megabytes in args.sizes:
            done = subprocess.run([sys.executable, "-m", "benchmarks.serving_memory", "--measure", str(path), name,
                                   str(int(megabytes * 1e6))], capture_output=True, text=True, timeout=1800)
            if done.returncode != 0:
                raise SystemExit(f"{name} at {megabytes} MB failed:\n{done.stderr[-3000:]}")
            row = {**json.loads(done.stdout.strip().splitlines()[-1]), **settings}
            rows.append(row)
            print(f"| {name} | {megabytes:g} MB | {row['peak_mib_above_idle']:.0f} MiB | {row['seconds']:.2f} s | "
                  f"{settings or 'no caps'} |", flush=True)
    if args.json:
        write_results(args.json, "serving_memory", args, rows)


if __name__ == "__main__":
    main()
