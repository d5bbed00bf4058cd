"""Attention you can look into: every layer's and every head's attention of
the Transformer, BERT and the CausalLM, as a grid of heatmaps or as an
interactive HTML head view.

`attention_maps(model, inputs)` reads the maps from the model's own forward
pass (each model's `attention_scores`, which runs the same stack helper as
its functional graph, so masks and layer order are the training ones);
`plot_attention_heads` draws one panel per head and layer;
`write_head_view` writes a self-contained page (data, script and style
inline; it opens from the file, offline) with the query tokens on the left,
the key tokens on the right and one line per head and token pair, as dark
as its weight.
"""

import html
import json
from pathlib import Path

import numpy as np
from keras import ops


def attention_maps(model, inputs):
    """Every layer's and every head's attention probabilities for `inputs`.

    The maps come from the model's forward pass itself (its
    `attention_scores` method): the same layers in the same order, with the
    model's own padding and causal masks, and dropout off. Masked keys get
    exactly zero weight; each query's weights over the others sum to 1.

    Args:
        model: a `Transformer`, a `BertBackbone`, a model built on one
            (`BertPretrainer`, `BertClassifier`, ...: its `backbone` is
            read) or a `CausalLM`.
        inputs: the model's input dict, e.g. `{"encoder_token_ids",
            "decoder_token_ids"}` for the Transformer, `{"token_ids",
            "segment_ids", "padding_mask"}` for BERT, `{"token_ids",
            "padding_mask"}` for the CausalLM.

    Returns:
        A dict of lists with one float32 NumPy array `(batch, num_heads,
        queries, keys)` per layer, first layer first:
        `{"encoder", "decoder_self", "decoder_cross"}` for the Transformer
        (source to source, target to target, target to source);
        `{"encoder"}` for BERT and for the CausalLM (its stack is the same
        encoder layer class, called with a causal mask). Under a mixed
        precision policy the layers compute the softmax in float32 but hand
        back compute-dtype (e.g. bfloat16, about 3 significant digits)
        probabilities; they are returned as float32 all the same.

    Example:
    >>> from tf_models.models import CausalLM
    >>> model = CausalLM.from_preset("test")
    >>> ids = np.array([[5, 6, 7, 0]])
    >>> maps = attention_maps(model, {"token_ids": ids, "padding_mask": ids != 0})
    >>> len(maps["encoder"]), maps["encoder"][0].shape, maps["encoder"][0].dtype
    (2, (1, 2, 4, 4), dtype('float32'))
    """
    source = getattr(model, "backbone", model)  # BERT's task models wrap their backbone
    if not hasattr(source, "attention_scores"):
        raise TypeError(
            f"{type(model).__name__} has no attention_scores(inputs): pass a Transformer, a "
            "BertBackbone (or a model with a .backbone) or a CausalLM."
        )
    scores = source.attention_scores(inputs)
    return {name: [_float32_array(layer) for layer in layers] for name, layers in scores.items()}


def _float32_array(layer):
    """A tensor of any backend and dtype as a float32 NumPy array."""
    return np.asarray(ops.convert_to_numpy(ops.cast(layer, "float32")))


def _layer_list(attention):
    """One `(batch, heads, queries, keys)` array, or a list of them, as a list."""
    if isinstance(attention, dict):
        raise TypeError(f"pass one of the lists of the dict, e.g. maps[{next(iter(attention))!r}]")
    if hasattr(attention, "shape") and len(attention.shape) == 4:
        attention = [attention]
    layers = [_float32_array(layer) for layer in attention]
    if not layers or any(layer.ndim != 4 for layer in layers):
        raise ValueError("expected (batch, num_heads, queries, keys) arrays, one per layer")
    return layers


def _cut(layers, example, tokens, query_tokens):
    """The `example` row of each layer, cut to the tokens given: `(L, H, Q, K)`."""
    query_tokens = list(tokens if query_tokens is None else query_tokens)
    tokens = list(tokens)
    maps = np.stack([layer[example, :, : len(query_tokens), : len(tokens)] for layer in layers])
    if maps.shape[2:] != (len(query_tokens), len(tokens)):
        raise ValueError(
            f"{len(query_tokens)} query and {len(tokens)} key tokens for maps of "
            f"{layers[0].shape[2]} queries and {layers[0].shape[3]} keys"
        )
    return maps, [str(t) for t in query_tokens], [str(t) for t in tokens]


def plot_attention_heads(attention, tokens, query_tokens=None, example=0, layers=None, title=None,
                         cmap="viridis"):
    """A grid of heatmaps: one row per layer, one panel per head.

    Each panel is one head's `(queries, keys)` weights for one example: row
    `i` is where query token `i` looks. All panels share one colour scale,
    from 0 to the largest weight drawn, so heads can be compared.

    Args:
        attention: one layer's `(batch, num_heads, queries, keys)` array or
            tensor, or a list of them (one per layer), e.g.
            `attention_maps(model, inputs)["decoder_cross"]`.
        tokens: the key tokens (the columns). The maps are cut to the tokens
            given, so leaving out trailing padding tokens leaves out their
            rows and columns.
        query_tokens: the query tokens (the rows); `None` means `tokens`
            (self-attention).
        example: which example of the batch to draw.
        layers: the layer indices to draw (rows), an int for one layer, or
            `None` for all.
        title: the figure's title.
        cmap: a matplotlib colour map.

    Returns:
        The matplotlib `Figure` (made with `pyplot`: `plt.show()` shows it,
        `fig.savefig(path)` saves it).

    Example:
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> weights = np.full((1, 2, 3, 3), 1 / 3, "float32")  # one layer, two heads
    >>> fig = plot_attention_heads([weights, weights], ["a", "b", "c"], layers=1)
    >>> len(fig.axes)  # two heads, one colour bar
    3
    """
    import matplotlib.pyplot as plt

    all_layers = _layer_list(attention)
    indices = range(len(all_layers)) if layers is None else [layers] if isinstance(layers, int) else list(layers)
    indices = [i % len(all_layers) for i in indices]  # -1 is the last layer
    maps, query_tokens, key_tokens = _cut([all_layers[i] for i in indices], example, tokens, query_tokens)
    rows, heads = maps.shape[:2]
    # Inches: a fifth of an inch per token, plus room for the rotated key
    # labels under each row, the query labels and the colour bar.
    label = 0.08 * max(map(len, key_tokens + query_tokens))
    width = heads * (0.3 + 0.2 * max(len(key_tokens), 4)) + label + 1.4
    height = rows * (0.5 + 0.2 * max(len(query_tokens), 2) + label) + 0.5
    fig, axes = plt.subplots(rows, heads, figsize=(width, height), squeeze=False, constrained_layout=True)
    top = float(maps.max()) or 1.0
    for row, layer in enumerate(indices):
        for head in range(heads):
            ax = axes[row, head]
            image = ax.imshow(maps[row, head], cmap=cmap, vmin=0.0, vmax=top)
            ax.set_xticks(range(len(key_tokens)), key_tokens, rotation=90, fontsize=8)
            ax.set_yticks(range(len(query_tokens)), query_tokens, fontsize=8)
            ax.tick_params(labelleft=head == 0)  # the query tokens once per row
            if row == 0:
                ax.set_title(f"head {head}", fontsize=10)
            if head == 0:
                ax.set_ylabel(f"layer {layer}", fontsize=10)
    fig.colorbar(image, ax=axes, shrink=0.8, label="attention weight")
    if title:
        fig.suptitle(title)
    return fig


# Head colours: matplotlib's tab10, then tab20's light ones.
_HEAD_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94"]

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>__TITLE__</title>
<style>
body { font-family: sans-serif; margin: 16px; color: #222; }
h1 { font-size: 18px; margin: 0 0 8px 0; }
.controls { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 8px; }
.head { width: 22px; height: 22px; border: 2px solid #444; border-radius: 3px; cursor: pointer;
        color: #fff; font-size: 11px; line-height: 22px; text-align: center; user-select: none; }
.head.off { opacity: 0.15; }
.hint { color: #666; font-size: 12px; margin-bottom: 8px; }
svg text { font-family: monospace; font-size: 13px; cursor: default; }
svg text.lit { font-weight: bold; fill: #000; }
</style>
</head>
<body>
<h1>__TITLE__</h1>
<div class="controls">
  <label>layer <select id="layer"></select></label>
  <span>heads</span><span id="heads"></span>
  <button id="all" type="button">all</button><button id="none" type="button">none</button>
</div>
<div class="hint">Queries left, keys right; a line per head, as opaque as its weight.
Hover a token to see only its lines; click a head's square to hide or show it.</div>
<svg id="view" xmlns="http://www.w3.org/2000/svg"></svg>
<script>
const DATA = __DATA__;
const COLORS = __COLORS__;
const SVG_NS = "http://www.w3.org/2000/svg";
const ROW = 20, LEFT_X = 10, GAP = 160;
const numHeads = DATA.layers[0].length;
const state = {layer: DATA.layers.length - 1, shown: new Array(numHeads).fill(true), focus: null};
const svg = document.getElementById("view");
const width = Math.max(...DATA.left.concat(DATA.right).map(t => t.length)) * 8 + 12;
const rightX = LEFT_X + width + GAP;
svg.setAttribute("width", rightX + width + 10);
svg.setAttribute("height", ROW * Math.max(DATA.left.length, DATA.right.length) + 20);

function element(name, attributes, parent) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  parent.appendChild(node);
  return node;
}

// The lines are redrawn on every change; the tokens stay (hovering them must not replace them).
const lines = element("g", {}, svg);
const texts = {left: [], right: []};
[["left", DATA.left, LEFT_X + width - 4, "end"], ["right", DATA.right, rightX, "start"]].forEach(
  ([side, tokens, x, anchor]) => tokens.forEach((token, i) => {
    const text = element("text", {x: x, y: ROW * i + 20, "text-anchor": anchor}, svg);
    text.textContent = token;
    text.addEventListener("mouseenter", () => { state.focus = {side: side, index: i}; draw(); });
    text.addEventListener("mouseleave", () => { state.focus = null; draw(); });
    texts[side].push(text);
  }));

function draw() {
  while (lines.firstChild) lines.removeChild(lines.firstChild);
  const weights = DATA.layers[state.layer];
  for (let h = 0; h < numHeads; h++) {
    if (!state.shown[h]) continue;
    weights[h].forEach((row, q) => row.forEach((w, k) => {
      if (w < 0.01) return;
      if (state.focus && !(state.focus.side === "left" ? q === state.focus.index : k === state.focus.index)) return;
      const line = element("line", {x1: LEFT_X + width, y1: ROW * q + 16, x2: rightX - 4, y2: ROW * k + 16,
        stroke: COLORS[h % COLORS.length], "stroke-width": 2, "stroke-opacity": w}, lines);
      element("title", {}, line).textContent =
        `head ${h}: ${DATA.left[q]} -> ${DATA.right[k]} ${w.toFixed(3)}`;
    }));
  }
  for (const side of ["left", "right"]) {
    texts[side].forEach((text, i) => text.classList.toggle(
      "lit", Boolean(state.focus && state.focus.side === side && state.focus.index === i)));
  }
}

const select = document.getElementById("layer");
DATA.layers.forEach((_, i) => {
  const option = document.createElement("option");
  option.value = i;
  option.textContent = DATA.layer_names[i];
  select.appendChild(option);
});
select.value = state.layer;
select.addEventListener("change", () => { state.layer = Number(select.value); draw(); });

const boxes = [];
for (let h = 0; h < numHeads; h++) {
  const box = document.createElement("span");
  box.className = "head";
  box.style.background = COLORS[h % COLORS.length];
  box.textContent = h;
  box.title = `head ${h}`;
  box.addEventListener("click", () => { state.shown[h] = !state.shown[h]; refresh(); });
  document.getElementById("heads").appendChild(box);
  boxes.push(box);
}
function refresh() {
  boxes.forEach((box, h) => box.classList.toggle("off", !state.shown[h]));
  draw();
}
document.getElementById("all").addEventListener("click", () => { state.shown.fill(true); refresh(); });
document.getElementById("none").addEventListener("click", () => { state.shown.fill(false); refresh(); });
refresh();
</script>
</body>
</html>
"""


def head_view_html(attention, tokens, query_tokens=None, example=0, title="Attention head view"):
    """The head view as one self-contained HTML page (a string).

    Query tokens stand on the left, key tokens on the right; each head draws
    a line from every query to every key it attends to, as opaque as the
    weight (weights under 0.01 are left out). A menu picks the layer (the
    last one first), coloured squares show or hide each head, and hovering
    a token keeps only its lines. Data, script and style are inline: the
    page needs no network and no server.

    Args:
        attention: one layer's `(batch, num_heads, queries, keys)` array, or
            a list of them (one per layer), e.g.
            `attention_maps(model, inputs)["encoder"]`.
        tokens: the key tokens; the maps are cut to the tokens given.
        query_tokens: the query tokens; `None` means `tokens`.
        example: which example of the batch to show.
        title: the page's title.

    Returns:
        The page, a `str`.

    Example:
    >>> page = head_view_html(np.full((1, 2, 2, 2), 0.5), ["hello", "world"])
    >>> page.startswith("<!DOCTYPE html>"), "world" in page
    (True, True)
    """
    maps, query_tokens, key_tokens = _cut(_layer_list(attention), example, tokens, query_tokens)
    data = {
        "left": query_tokens,
        "right": key_tokens,
        "layer_names": [f"layer {i}" for i in range(maps.shape[0])],
        # 3 decimals keep the file small; the lines cannot show more.
        "layers": np.round(maps.astype("float64"), 3).tolist(),
    }

    def script_json(value):
        # "<" escaped, so no token can close the <script> element.
        return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")

    return (_PAGE.replace("__TITLE__", html.escape(title))
            .replace("__COLORS__", script_json(_HEAD_COLORS))
            .replace("__DATA__", script_json(data)))


def write_head_view(path, attention, tokens, query_tokens=None, example=0, title="Attention head view"):
    """Writes the head view of `head_view_html` to `path`.

    Open the file in a browser (double-click it, or `python -m webbrowser
    -t file:///...`): it needs no network and no server.

    Args:
        path: where to write the page (its folder is created).
        attention, tokens, query_tokens, example, title: as in
            `head_view_html`.

    Returns:
        The path written, a `pathlib.Path`.

    Example:
    >>> import tempfile
    >>> path = write_head_view(tempfile.mkdtemp() + "/view.html", np.full((1, 1, 2, 2), 0.5), ["a", "b"])
    >>> path.name, path.stat().st_size > 1000
    ('view.html', True)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(head_view_html(attention, tokens, query_tokens, example, title), encoding="utf-8")
    return path


def show_head_view(attention, tokens, query_tokens=None, example=0, title="Attention head view", height=None):
    """The head view inside a notebook: an `<iframe>` holding the page.

    Jupyter runs the page's script inside the frame; notebook viewers that
    show no scripts (GitHub) show nothing, so also `write_head_view` to a
    file for them.

    Args:
        attention, tokens, query_tokens, example, title: as in
            `head_view_html`.
        height: the frame's height in pixels; by default enough for the
            longer token column.

    Returns:
        An `IPython.display.HTML` object (the last expression of a cell
        displays it).

    Example:
    >>> view = show_head_view(np.full((1, 1, 2, 2), 0.5), ["a", "b"])
    >>> "iframe" in view.data
    True
    """
    from IPython.display import HTML

    page = head_view_html(attention, tokens, query_tokens, example, title)
    rows = max(len(tokens), len(tokens if query_tokens is None else query_tokens))
    height = height or 150 + 20 * rows
    # In a <div>: IPython warns about an HTML object that is a bare <iframe>.
    return HTML(f'<div><iframe srcdoc="{html.escape(page, quote=True)}" width="100%" height="{height}" '
                'style="border: none"></iframe></div>')


__all__ = ["attention_maps", "head_view_html", "plot_attention_heads", "show_head_view", "write_head_view"]
