"""Draws the three models of one block: docs/images/three_models.svg and .png.

    python -m tools.draw_models            # rewrites both files
    python -m tools.draw_models OUT_DIR    # writes them elsewhere (the test)

The picture shows what README.md and docs/index.md say in words: the
Transformer (encoder-decoder), BERT (encoder-only) and CausalLM
(decoder-only) stack the same `TransformerEncoderLayer` (the dark boxes); only
the Transformer's decoder has a block of its own. The SVG is written without
a date or random ids, so the same code gives the same file.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT_DIR = Path(__file__).resolve().parents[1] / "docs" / "images"
SHARED = "#1f4e79"  # the one encoder layer class, in all three models
OWN = "#c9d9ea"  # the Transformer decoder's own block
IO = "#f2f2f2"  # inputs, outputs and heads


def box(ax, x, y, width, height, text, color, text_color="black", size=9):
    """A rounded box centred on (x, y) with its text."""
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=color, edgecolor="#333333", linewidth=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=size, color=text_color)


def arrow(ax, start, end, style="-|>", linestyle="-"):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12,
                                 color="#333333", linewidth=1, linestyle=linestyle))


def stack(ax, x, y, text, color, text_color, width=2.5):
    """A layer box with a shadow box behind it: N layers of it."""
    box(ax, x + 0.08, y + 0.08, width, 1.1, "", color)
    box(ax, x, y, width, 1.1, text, color, text_color, size=7.5)


def draw():
    """The figure: three columns, one per model, input at the bottom."""
    figure, ax = plt.subplots(figsize=(10, 5))
    ax.set_xlim(-0.1, 13.1)
    ax.set_ylim(-0.2, 6.2)
    ax.axis("off")
    encoder = "encoder layer × N\n(TransformerEncoderLayer)\n"

    def column(x, title, use):
        ax.text(x, 6.1, title, ha="center", va="top", fontsize=11, weight="bold")
        ax.text(x, 4.75, use, ha="center", fontsize=9, style="italic")

    # The Transformer: the encoder's output feeds the decoder's cross-attention.
    column(2.65, "Transformer\n(encoder-decoder)", "use: translate, summarise")
    box(ax, 1.2, 0.5, 2.0, 0.5, "source tokens", IO)
    box(ax, 4.1, 0.5, 2.0, 0.5, "target so far", IO)
    stack(ax, 1.2, 2.2, encoder + "sees both ways", SHARED, "white")
    stack(ax, 4.1, 2.2, "decoder layer × N\n(TransformerDecoderLayer)\ncausal + cross-attention", OWN, "black")
    box(ax, 4.1, 4.0, 2.0, 0.5, "next target token", IO)
    arrow(ax, (1.2, 0.75), (1.2, 1.65))
    arrow(ax, (4.1, 0.75), (4.1, 1.65))
    arrow(ax, (2.45, 2.2), (2.85, 2.2))
    arrow(ax, (4.1, 2.75), (4.1, 3.75))

    # BERT: one encoder stack, two pretraining heads.
    column(7.55, "BERT\n(encoder-only)", "use: classify, tag, answer")
    box(ax, 7.55, 0.5, 2.4, 0.5, "[CLS] A [SEP] B [SEP]", IO)
    stack(ax, 7.55, 2.2, encoder + "sees both ways", SHARED, "white")
    box(ax, 7.55, 4.0, 2.4, 0.6, "masked tokens;\nis B the next sentence?", IO, size=8)
    arrow(ax, (7.55, 0.75), (7.55, 1.65))
    arrow(ax, (7.55, 2.75), (7.55, 3.7))

    # CausalLM: the same block with a causal mask.
    column(11.3, "CausalLM, GPT's layout\n(decoder-only)", "use: continue text")
    box(ax, 11.3, 0.5, 2.2, 0.5, "text so far", IO)
    stack(ax, 11.3, 2.2, encoder + "causal mask: sees the past", SHARED, "white")
    box(ax, 11.3, 4.0, 2.2, 0.5, "next token", IO)
    arrow(ax, (11.3, 0.75), (11.3, 1.65))
    arrow(ax, (11.3, 2.75), (11.3, 3.75))

    ax.text(6.5, -0.2, "dark boxes: one class, tf_models.layers.TransformerEncoderLayer; "
            "light box: the Transformer decoder's own block", ha="center", va="bottom", fontsize=8.5)
    return figure


def main(argv=None):
    """Writes three_models.svg and three_models.png into the folder given
    (docs/images by default).

    Args:
        argv: the command's arguments: an optional output folder.

    Returns:
        The paths written.

    Example:
    >>> import tempfile
    >>> [path.name for path in main([tempfile.mkdtemp()])]
    ['three_models.svg', 'three_models.png']
    """
    argv = sys.argv[1:] if argv is None else argv
    out_dir = Path(argv[0]) if argv else OUT_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    # Same code, same file: no date in the metadata, no random ids in the SVG.
    plt.rcParams["svg.hashsalt"] = "tf_models"
    figure = draw()
    paths = [out_dir / "three_models.svg", out_dir / "three_models.png"]
    figure.savefig(paths[0], bbox_inches="tight", metadata={"Date": None})
    figure.savefig(paths[1], bbox_inches="tight", dpi=110, metadata={"Software": None})
    plt.close(figure)
    return paths


if __name__ == "__main__":
    main()
