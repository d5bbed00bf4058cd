"""Command line: `python -m tf_models demo`.

Until the data, training and export modules land, `demo` is a smoke job on
synthetic data that exercises the whole model stack end to end: it trains a
small Transformer to reverse sequences and a small BERT classifier to spot a
token, decodes a few sequences greedily, then saves and reloads both models.
"""

import argparse
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from tf_models.models import BertBackbone, BertClassifier, Transformer

PAD, START, END = 0, 1, 2
FIRST_TOKEN = 3  # ids below are reserved


def reversal_batch(rng, batch_size, vocabulary_size, max_length):
    """A toy translation task: the target is the source reversed.

    Returns `(inputs, labels)` for `Transformer`: padded source ids, decoder
    inputs `[START] + target` and labels `target + [END]`.
    """
    source = np.zeros((batch_size, max_length), "int32")
    decoder_inputs = np.zeros((batch_size, max_length + 1), "int32")
    labels = np.zeros((batch_size, max_length + 1), "int32")
    for row in range(batch_size):
        length = rng.integers(3, max_length + 1)
        tokens = rng.integers(FIRST_TOKEN, vocabulary_size, length)
        source[row, :length] = tokens
        decoder_inputs[row, : length + 1] = [START, *tokens[::-1]]
        labels[row, : length + 1] = [*tokens[::-1], END]
    return {"encoder_token_ids": source, "decoder_token_ids": decoder_inputs}, labels


def greedy_decode(model, source, max_length):
    """Greedy decoding by re-running the full decoder at every step.

    Deliberately simple (O(n^2) per sequence); cached decoding is the job of
    the inference module.
    """
    decoded = np.full((source.shape[0], 1), START, "int32")
    for _ in range(max_length + 1):
        logits = model.predict_on_batch({"encoder_token_ids": source, "decoder_token_ids": decoded})
        next_token = logits["logits"][:, -1].argmax(-1).astype("int32")
        decoded = np.concatenate([decoded, next_token[:, None]], axis=1)
    return decoded[:, 1:]


def strip(tokens):
    tokens = list(tokens)
    return tokens[: tokens.index(END)] if END in tokens else tokens


def run_demo(steps, seed, output_dir):
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    vocabulary_size, max_length = 24, 8
    started = time.time()

    print("== Transformer (encoder-decoder): learn to reverse sequences ==")
    transformer = Transformer(
        vocabulary_size,
        num_layers=2,
        num_heads=4,
        hidden_dim=64,
        intermediate_dim=128,
        dropout=0.0,
    )
    print(f"parameters: {transformer.count_params():,}")
    transformer.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
    )
    inputs, labels = reversal_batch(rng, 64 * steps, vocabulary_size, max_length)
    # Padding labels get weight 0, so the loss covers real tokens only.
    weights = (labels != PAD).astype("float32")
    history = transformer.fit(
        inputs, {"logits": labels}, sample_weight={"logits": weights}, batch_size=64,
        epochs=1, verbose=2,
    )
    test_inputs, test_labels = reversal_batch(rng, 256, vocabulary_size, max_length)
    predictions = transformer.predict(test_inputs, verbose=0)["logits"].argmax(-1)
    real = test_labels != PAD
    accuracy = float((predictions == test_labels)[real].mean())
    print(f"final training loss {history.history['loss'][-1]:.3f}; "
          f"held-out next-token accuracy (teacher forcing) {accuracy:.1%}")
    source = test_inputs["encoder_token_ids"][:3]
    decoded = greedy_decode(transformer, source, max_length)
    exact = 0
    for src, out in zip(source, decoded):
        src, out = [int(t) for t in src if t != PAD], [int(t) for t in strip(out)]
        exact += out == src[::-1]
        print(f"  source {src} -> greedy {out}")

    print("\n== BERT (encoder only, the same encoder layer): spot a token ==")
    backbone = BertBackbone(
        vocabulary_size, num_layers=2, num_heads=4, hidden_dim=64, intermediate_dim=128,
        dropout=0.0, max_sequence_length=max_length + 1,
    )
    classifier = BertClassifier(backbone, num_classes=2, dropout=0.0)
    print(f"parameters: {classifier.count_params():,}; encoder layer class shared with the "
          f"Transformer: {type(backbone.encoder_layers[0]) is type(transformer.encoder_layers[0])}")
    bert_inputs, bert_labels = spot_token_batch(rng, 64 * steps, vocabulary_size, max_length)
    classifier.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
        metrics={"logits": ["sparse_categorical_accuracy"]},
    )
    classifier.fit(bert_inputs, {"logits": bert_labels}, batch_size=64, epochs=1, verbose=2)
    test_inputs_bert, test_labels_bert = spot_token_batch(rng, 256, vocabulary_size, max_length)
    bert_accuracy = float(
        (classifier.predict(test_inputs_bert, verbose=0)["logits"].argmax(-1) == test_labels_bert).mean()
    )
    print(f"held-out accuracy {bert_accuracy:.1%} (majority baseline "
          f"{max(test_labels_bert.mean(), 1 - test_labels_bert.mean()):.1%})")

    print("\n== Save and reload (.keras, safe_mode=True) ==")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, model, model_inputs in [
        ("transformer", transformer, test_inputs),
        ("bert_classifier", classifier, test_inputs_bert),
    ]:
        path = output_dir / f"{name}.keras"
        model.save(path)
        restored = keras.saving.load_model(path, safe_mode=True)
        same = all(
            np.array_equal(a, b)
            for a, b in zip(
                model.predict(model_inputs, verbose=0).values(),
                restored.predict(model_inputs, verbose=0).values(),
            )
        )
        print(f"{path}: reloaded outputs identical: {same}")

    print(
        f"\nSmoke demo done in {time.time() - started:.0f}s: trained a "
        f"{transformer.count_params():,}-parameter Transformer for {steps} steps on synthetic "
        f"reversal data (greedy exact matches {exact}/3) and a BERT classifier for {steps} steps "
        f"(accuracy {bert_accuracy:.1%}), then saved and reloaded both. Real corpora, "
        "translation training, BLEU and TF Serving export arrive with the data, training and "
        "export modules."
    )
    return {"transformer_accuracy": accuracy, "bert_accuracy": bert_accuracy}


def spot_token_batch(rng, batch_size, vocabulary_size, max_length, target_token=FIRST_TOKEN):
    """A toy classification task: label 1 if `target_token` occurs in the text."""
    token_ids = np.zeros((batch_size, max_length + 1), "int32")
    token_ids[:, 0] = START  # stands in for [CLS]
    labels = rng.integers(0, 2, batch_size)
    for row in range(batch_size):
        length = rng.integers(3, max_length + 1)
        tokens = rng.integers(FIRST_TOKEN + 1, vocabulary_size, length)
        if labels[row]:
            tokens[rng.integers(length)] = target_token
        token_ids[row, 1 : length + 1] = tokens
    padding_mask = (token_ids != PAD).astype("int32")
    inputs = {"token_ids": token_ids, "segment_ids": np.zeros_like(token_ids), "padding_mask": padding_mask}
    return inputs, labels


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tf_models", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="smoke job on synthetic data (see above)")
    demo.add_argument("--steps", type=int, default=300, help="training steps per model")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--output-dir", default=None,
                      help="where the .keras files go (default: a temporary directory)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.output_dir:
            run_demo(args.steps, args.seed, args.output_dir)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                run_demo(args.steps, args.seed, tmp)
    return 0
