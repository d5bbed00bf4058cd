"""Makes the attention examples the README links: a per-head grid (PNG) and
an HTML head view of a small Transformer trained to reverse words.

    .venv/bin/python docs/attention_example.py      # about a minute on a 2-core CPU

Reversing is a task only attention can solve (output letter `i` is input
letter `n - 1 - i`), so a trained model's cross-attention has a pattern one
can check by eye: the anti-diagonal. The model is a 2-layer, 4-head
`Transformer` (width 64), trained from scratch on random letter strings for
the steps below; the drawn word is not in its training data.
"""

import os
import string
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import numpy as np  # noqa: E402

from tf_models.models import Transformer  # noqa: E402
from tf_models.training import compile_transformer  # noqa: E402
from tf_models.visualization import attention_maps, plot_attention_heads, write_head_view  # noqa: E402

PAD, START, END = 0, 1, 2
LETTERS = string.ascii_lowercase
VOCABULARY = ["[PAD]", "[START]", "[END]", *LETTERS]
LENGTH = 10  # the longest string
WORD = "attention"


def ids(text):
    return [3 + LETTERS.index(c) for c in text]


def reversal_data(count, rng):
    """Random strings of 4 to 10 letters: source, decoder input, labels."""
    source = np.zeros((count, LENGTH), "int32")
    decoder = np.zeros((count, LENGTH + 1), "int32")
    labels = np.zeros((count, LENGTH + 1), "int32")
    for row in range(count):
        text = "".join(rng.choice(list(LETTERS), rng.integers(4, LENGTH + 1)))
        target = ids(text[::-1]) + [END]
        source[row, : len(text)] = ids(text)
        decoder[row, : len(target)] = [START] + target[:-1]
        labels[row, : len(target)] = target
    return {"encoder_token_ids": source, "decoder_token_ids": decoder}, {"logits": labels}


def main(folder=Path(__file__).parent, steps=600):
    keras.utils.set_random_seed(0)
    model = Transformer(len(VOCABULARY), num_layers=2, num_heads=4, hidden_dim=64, intermediate_dim=128,
                        dropout=0.0)
    compile_transformer(model, warmup_steps=100, label_smoothing=0.0)
    features, labels = reversal_data(steps * 32, np.random.default_rng(0))
    history = model.fit(features, labels, batch_size=32, epochs=1, verbose=0)
    print(f"{steps} steps, token accuracy {history.history['accuracy'][-1]:.1%}")

    decoder_input = [START] + ids(WORD[::-1])
    maps = attention_maps(model, {"encoder_token_ids": np.array([ids(WORD)]),
                                  "decoder_token_ids": np.array([decoder_input])})
    source_tokens = list(WORD)
    target_tokens = [VOCABULARY[i] for i in decoder_input]  # row i predicts the letter after
    figure = plot_attention_heads(maps["decoder_cross"], source_tokens, query_tokens=target_tokens,
                                  title=f"Cross-attention reversing '{WORD}' (decoder input rows, source columns)")
    (folder / "images").mkdir(parents=True, exist_ok=True)
    figure.savefig(folder / "images" / "attention_grid.png", dpi=80)
    page = write_head_view(folder / "attention_head_view.html", maps["decoder_cross"], source_tokens,
                           query_tokens=target_tokens, title=f"Cross-attention reversing '{WORD}'")
    for path in (folder / "images" / "attention_grid.png", page):
        print(f"{path}: {path.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main(*(Path(arg) for arg in sys.argv[1:2]))
