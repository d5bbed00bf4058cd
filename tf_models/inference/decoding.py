"""Autoregressive decoding: greedy search, beam search and sampling.

The searches are written against a step function and know nothing about
models:

    next_logits(tokens, index, cache) -> (logits, cache)

takes the `(rows,)` tokens at step `index` and returns float32
`(rows, vocabulary)` logits for the next token with the updated cache
(a tuple of tensors whose first axis is the row). Each model turns itself
into such a step: `Transformer.generation_step` runs the encoder once and
steps its decoder, `CausalLM.generation_step` runs the prompt through at
once and steps from there; both read the keys and values of earlier
positions from a cache instead of recomputing them, so a step costs
O(length) instead of O(length^2).

`generate` is the one entry point: it asks the model for its step and runs
the search of a decoding method (`DECODING_METHODS`). Every loop is a
`tf.while_loop`, so decoding runs inside a `tf.function` and is exported
with the model in a SavedModel. The padding id is never generated.
`max_length` everywhere is a scalar or a `(batch,)` vector: each example
stops at its own limit, so a batch decodes exactly like its examples one
by one.
"""

from typing import NamedTuple

import tensorflow as tf

from tf_models.inference.decoding_config import DECODING_METHODS, DecodingConfig

NEG_INF = float("-inf")


def encode(model, encoder_token_ids):
    """Runs the encoder of a `Transformer` once: `model.encode`.

    Returns:
        `(encoder_output, encoder_padding_mask)`: `(batch, source_length,
        hidden_dim)` and `(batch, source_length)` bool.
    """
    return model.encode(encoder_token_ids)


def _limits(max_length, batch):
    """Per-example limits `(batch,)` and the loop bound (their maximum)."""
    limits = tf.broadcast_to(tf.cast(max_length, tf.int32), [batch])
    # The maximum of an empty batch is the smallest int32: clip it to 0.
    return limits, tf.maximum(tf.reduce_max(limits), 0)


def uncached_step_function(model, encoder_token_ids, start_id, max_length):
    """A `Transformer` step that re-runs the whole model on the prefix, as the TF tutorial.

    The reference for `Transformer.generation_step` (same search, same
    results, much slower): its "cache" is just the tokens decoded so far.
    """
    batch = tf.shape(encoder_token_ids)[0]
    prefix = tf.fill([batch, max_length + 1], tf.constant(start_id, tf.int32))

    def next_logits(tokens, index, cache):
        prefix = tf.tensor_scatter_nd_update(
            cache[0],
            tf.stack([tf.range(batch), tf.fill([batch], index)], axis=1),
            tokens,
        )
        logits = model(
            {"encoder_token_ids": encoder_token_ids, "decoder_token_ids": prefix[:, : index + 1]}
        )["logits"]
        return tf.cast(logits[:, -1], tf.float32), (prefix,)

    return next_logits, (prefix,)


def _never_pad(logits, padding_id):
    """Forbids the padding id: the model was never trained to produce it, and
    in the full model a padding token inside the target would be masked."""
    return tf.where(tf.range(tf.shape(logits)[-1]) == padding_id, NEG_INF, logits)


def _forcing(forced_ids, batch, padding_id):
    """`(forced_ids, forced_lengths)`: the `(batch, F + 1)` forced tokens, a
    padding column added (so position F can be read), and `(batch,)` how
    many each row has (its tokens before the first `padding_id`)."""
    if forced_ids is None:
        forced_ids = tf.zeros([batch, 0], tf.int32)
    forced_ids = tf.pad(tf.convert_to_tensor(forced_ids, tf.int32), [[0, 0], [0, 1]], constant_values=padding_id)
    forced_lengths = tf.argmax(tf.cast(forced_ids == padding_id, tf.int32), axis=1, output_type=tf.int32)
    return forced_ids, forced_lengths


def _force(logits, index, forced_ids, forced_lengths):
    """Where a row still has a forced token at `index`, logits that allow
    only it (log-probability 0: forced tokens add nothing to a score).

    Returns:
        `(logits, forced_now)`: `(rows, V)` and `(rows,)` bool.
    """
    forced_now = index < forced_lengths  # (rows,)
    token = tf.gather(forced_ids, tf.minimum(index, tf.shape(forced_ids)[1] - 1), axis=1)  # (rows,)
    only_it = tf.where(tf.range(tf.shape(logits)[-1])[None, :] == token[:, None], 0.0, NEG_INF)
    return tf.where(forced_now[:, None], only_it, logits), forced_now


def _token_by_token(next_logits, cache, start_ids, end_id, max_length, choose, padding_id, forced_ids):
    """The loop greedy search and sampling share; `choose` picks a token."""
    start_ids = tf.convert_to_tensor(start_ids, tf.int32)
    batch = tf.shape(start_ids)[0]
    limits, bound = _limits(max_length, batch)
    forced_ids, forced_lengths = _forcing(forced_ids, batch, padding_id)
    pad = tf.constant(padding_id, tf.int32)

    def step(index, tokens, cache, output, scores, finished):
        logits, cache = next_logits(tokens, index, cache)  # (B, V)
        logits, forced_now = _force(_never_pad(logits, padding_id), index, forced_ids, forced_lengths)
        next_tokens = tf.where(finished, pad, choose(logits, index))
        log_probs = tf.gather(tf.nn.log_softmax(logits), next_tokens, batch_dims=1)  # (B,)
        scores += tf.where(finished, 0.0, log_probs)
        position = tf.one_hot(index, bound, on_value=True, off_value=False, dtype=tf.bool)  # (T,)
        output = tf.where(position, next_tokens[:, None], output)  # (B, T)
        ended = tf.equal(next_tokens, end_id) & ~forced_now
        finished = finished | ended | (index + 1 >= limits)
        return index + 1, next_tokens, cache, output, scores, finished

    def not_done(index, tokens, cache, output, scores, finished):
        return tf.logical_and(index < bound, tf.logical_not(tf.reduce_all(finished)))

    _, _, _, output, scores, _ = tf.while_loop(
        not_done,
        step,
        (
            tf.constant(0),
            start_ids,
            cache,
            tf.fill([batch, bound], pad),
            tf.zeros([batch], tf.float32),
            limits <= 0,
        ),
    )
    return output, scores


def greedy_search(next_logits, cache, start_ids, end_id, max_length, padding_id=0, forced_ids=None):
    """At every step, the most likely next token.

    Sequences that produced `end_id` continue with `padding_id`; the loop stops
    when every sequence has ended or reached its limit.

    Args:
        next_logits: the step function (see the module docstring).
        cache: its initial cache.
        start_ids: `(batch,)` int32 first tokens.
        end_id: the token that ends a sequence.
        max_length: most tokens to generate (the end token included), a
            scalar or a `(batch,)` vector.
        padding_id: the token after the end.
        forced_ids: `(batch, F)` int32 tokens that each sequence must begin
            with, padded with `padding_id` (None: none): how prompts of
            different lengths share a batch. They count towards
            `max_length` and are in the output, but add nothing to the
            score and never end a sequence.

    Returns:
        `(token_ids, scores)`: `(batch, max(max_length))` int32 generated
        tokens (without the start) and `(batch,)` float32 log-probabilities.

    Example:
    >>> table = tf.math.log([[0.1, 0.2, 0.7], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> step = lambda tokens, index, cache: (tf.gather(table, tokens), cache)
    >>> ids, scores = greedy_search(step, (), [0], end_id=1, max_length=4)
    >>> ids.numpy().tolist()
    [[2, 2, 2, 2]]
    """

    def choose(logits, index):
        return tf.argmax(logits, axis=-1, output_type=tf.int32)

    return _token_by_token(next_logits, cache, start_ids, end_id, max_length, choose, padding_id, forced_ids)


def _filter_logits(logits, top_k=None, top_p=None):
    """Keeps the `top_k` best tokens and the smallest set with mass `top_p`."""
    if top_k:
        k = tf.minimum(top_k, tf.shape(logits)[-1])
        kth_best = tf.math.top_k(logits, k=k).values[:, -1:]  # (B, 1)
        logits = tf.where(logits < kth_best, NEG_INF, logits)
    if top_p is not None and top_p < 1.0:
        ranked = tf.sort(logits, axis=-1, direction="DESCENDING")
        # Mass of the tokens ranked above each one: the best is always kept.
        mass_before = tf.cumsum(tf.nn.softmax(ranked), axis=-1, exclusive=True)
        lowest_kept = tf.reduce_min(tf.where(mass_before < top_p, ranked, ranked[:, :1]), -1, keepdims=True)
        logits = tf.where(logits < lowest_kept, NEG_INF, logits)
    return logits


def sample(next_logits, cache, start_ids, end_id, max_length, temperature=1.0, top_k=None, top_p=None,
           seed=0, padding_id=0, forced_ids=None):
    """Draws each next token from the model's distribution.

    Args:
        next_logits, cache, start_ids, end_id, max_length, padding_id,
            forced_ids: as in `greedy_search`.
        temperature: logits are divided by it (lower: more conservative).
        top_k: draw among the `top_k` most likely tokens only (None: all).
        top_p: draw among the most likely tokens whose probabilities sum
            to `top_p` (nucleus sampling; None or 1: all).
        seed: an int; the same seed gives the same output (stateless ops
            seeded with `(seed, step)`).

    Returns:
        `(token_ids, scores)` as in `greedy_search`; scores are the
        log-probabilities under the model (before temperature and filters).

    Example:
    >>> table = tf.math.log([[0.1, 0.2, 0.7], [0.0, 1.0, 0.0], [0.5, 0.0, 0.5]])
    >>> step = lambda tokens, index, cache: (tf.gather(table, tokens), cache)
    >>> a, _ = sample(step, (), [0, 0], end_id=1, max_length=5, top_k=2, seed=7)
    >>> b, _ = sample(step, (), [0, 0], end_id=1, max_length=5, top_k=2, seed=7)
    >>> bool(tf.reduce_all(a == b))
    True
    """
    seed = tf.cast(seed, tf.int64)

    def choose(logits, index):
        logits, candidates = logits / temperature, None
        if top_k:
            # Draw among the k best only (sorted): cheaper than masking all V, and the nucleus needs no sort.
            logits, candidates = tf.math.top_k(logits, k=tf.minimum(top_k, tf.shape(logits)[-1]))  # (B, k)
        logits = _filter_logits(logits, top_p=top_p)
        draw_seed = tf.stack([seed, tf.cast(index, tf.int64)])
        drawn = tf.random.stateless_categorical(logits, 1, seed=draw_seed, dtype=tf.int32)[:, 0]
        return drawn if candidates is None else tf.gather(candidates, drawn, batch_dims=1)

    return _token_by_token(next_logits, cache, start_ids, end_id, max_length, choose, padding_id, forced_ids)


def length_penalty(length, alpha):
    """Wu et al. (2016): `((5 + length) / 6) ** alpha`; scores are divided by it."""
    return tf.pow((5.0 + tf.cast(length, tf.float32)) / 6.0, alpha)


class BeamState(NamedTuple):
    """The loop state of `beam_search`, for `B` examples of `W` beams and `T` positions."""

    index: tf.Tensor  # () the position generated next
    alive_ids: tf.Tensor  # (B, W, T) the live prefixes, padded
    alive_scores: tf.Tensor  # (B, W) their log-probabilities (-inf: not a beam yet)
    finished_ids: tf.Tensor  # (B, W, T) the best ended hypotheses
    finished_scores: tf.Tensor  # (B, W) their length-penalized scores (-inf: none)
    cache: tuple  # the step function's cache; row b * W + k is beam k of example b

    # The fields that an example past its own limit keeps unchanged.
    PER_EXAMPLE = ("alive_ids", "alive_scores", "finished_ids", "finished_scores")

    @classmethod
    def start(cls, batch, width, length, padding_id, cache):
        """Before the first step: nothing finished, and only the first beam
        live (the others are copies of it)."""
        empty_ids = tf.fill([batch, width, length], tf.constant(padding_id, tf.int32))
        first_live = tf.concat([tf.zeros([batch, 1]), tf.fill([batch, width - 1], NEG_INF)], axis=1)
        return cls(index=tf.constant(0), alive_ids=empty_ids, alive_scores=first_live, finished_ids=empty_ids,
                   finished_scores=tf.fill([batch, width], NEG_INF), cache=cache)

    def extensions(self, log_probs, width):
        """The `2W` likeliest one-token extensions of the live beams: at most
        `W` of them end at this step, so `W` stay alive.

        Args:
            log_probs: `(B, W, V)` each beam's next-token log-probabilities.
            width: `W`.

        Returns:
            `(scores, parents, tokens, ids)`: `(B, 2W)` log-probabilities,
            the beam each extends and its new token, and `(B, 2W, T)` ids.
        """
        batch, vocabulary, length = tf.shape(log_probs)[0], tf.shape(log_probs)[2], tf.shape(self.alive_ids)[2]
        scores = tf.reshape(log_probs + self.alive_scores[:, :, None], [batch, width * vocabulary])
        scores, indices = tf.math.top_k(scores, k=2 * width)  # (B, 2W)
        parents, tokens = indices // vocabulary, indices % vocabulary
        position = tf.one_hot(self.index, length, on_value=True, off_value=False, dtype=tf.bool)  # (T,)
        ids = tf.where(position, tokens[:, :, None], tf.gather(self.alive_ids, parents, batch_dims=1))
        return scores, parents, tokens, ids

    def where_active(self, active, old):
        """This state, but the examples that are not `active` `(B,)` keep their beams of `old`."""

        def kept(new_value, old_value):
            return tf.where(tf.reshape(active, [-1] + [1] * (new_value.shape.rank - 1)), new_value, old_value)

        return self._replace(**{name: kept(getattr(self, name), getattr(old, name)) for name in self.PER_EXAMPLE})

    def best(self, alive_scores):
        """Each example's best finished hypothesis, or its best live beam
        (scored `alive_scores` `(B,)`) if none finished: `(ids, scores)`."""
        has_finished = self.finished_scores[:, 0] > NEG_INF
        token_ids = tf.where(has_finished[:, None], self.finished_ids[:, 0], self.alive_ids[:, 0])
        return token_ids, tf.where(has_finished, self.finished_scores[:, 0], alive_scores)


def _top(scores, ids, k):
    """The `k` best `(B, N)` `scores`, their `(B, N, T)` `ids` and their `(B, k)` indices."""
    scores, best = tf.math.top_k(scores, k=k)
    return scores, tf.gather(ids, best, batch_dims=1), best


def beam_search(next_logits, cache, start_ids, end_id, max_length, beam_width=4, alpha=0.6, padding_id=0,
                forced_ids=None):
    """Keeps the `beam_width` best prefixes; returns the best finished one.

    Hypotheses are ranked by log-probability divided by `length_penalty`
    (Wu et al. 2016; the Transformer paper used beam 4, alpha 0.6). Every
    step expands the live beams, moves those that produced `end_id` to a
    finished set, and keeps the best `beam_width` of the rest. An example
    stops when even its best live beam, at its longest allowed length,
    could not beat the worst of `beam_width` finished hypotheses.

    Args:
        next_logits: the step function; it and `cache` work on
            `batch * beam_width` rows, row `b * beam_width + k` for beam `k`
            of example `b`.
        cache: its initial cache.
        start_ids: `(batch,)` int32 first tokens.
        end_id: the token that ends a sequence.
        max_length: most tokens to generate (end included), scalar or
            `(batch,)`.
        beam_width: beams per example. 1 with alpha 0 follows greedy
            search's prefix, but keeps a hypothesis that ends with
            `end_id` as the second-best token of a step, and returns it
            when it beats what the beam goes on to (then a start of
            greedy's output, ended early).
        alpha: length penalty exponent, >= 0 (0: raw log-probability).
        padding_id: the token after the end.
        forced_ids: `(batch, F)` tokens every beam of an example begins
            with, as in `greedy_search`; the length penalty counts only
            the tokens after them.

    Returns:
        `(token_ids, scores)`: the best hypothesis of each example,
        `(batch, max(max_length))` int32, and its `(batch,)` float32
        length-normalized log-probability. An example whose limit came
        before any beam finished returns its best live beam.

    Example:
    >>> # From token 0: "2 1" has probability 0.4 * 0.9; "3 1" only 0.6 * 0.3.
    >>> table = tf.math.log([[0.0, 0.0, 0.4, 0.6], [0.0, 1.0, 0.0, 0.0],
    ...                      [0.0, 0.9, 0.05, 0.05], [0.0, 0.3, 0.4, 0.3]])
    >>> step = lambda tokens, index, cache: (tf.gather(table, tokens), cache)
    >>> ids, _ = beam_search(step, (), [0], end_id=1, max_length=3, beam_width=2, alpha=0.0)
    >>> ids.numpy().tolist()
    [[2, 1, 0]]
    """
    start_ids = tf.convert_to_tensor(start_ids, tf.int32)
    batch = tf.shape(start_ids)[0]
    limits, bound = _limits(max_length, batch)
    forced_ids, forced_lengths = _forcing(forced_ids, batch, padding_id)
    width = beam_width

    def penalized(log_probs, length):  # length: tokens after the forced ones
        return log_probs / length_penalty(length, alpha)

    def step(state):
        index = state.index
        last = tf.where(index == 0, tf.repeat(start_ids, width), tf.reshape(state.alive_ids[:, :, index - 1], [-1]))
        logits, cache = next_logits(last, index, state.cache)  # (B * W, V)
        logits, forced_now = _force(_never_pad(logits, padding_id), index, tf.repeat(forced_ids, width, axis=0),
                                    tf.repeat(forced_lengths, width))
        forced_now = tf.reshape(forced_now, [batch, width])[:, :1]  # (B, 1): the same for every beam
        log_probs = tf.reshape(tf.nn.log_softmax(logits), [batch, width, tf.shape(logits)[-1]])
        scores, parents, tokens, candidates = state.extensions(log_probs, width)  # (B, 2W), (B, 2W, T)
        ended = tf.equal(tokens, end_id) & ~forced_now

        # The finished set: the best W of the old ones and those ending now.
        ending = tf.where(ended, penalized(scores, (index + 1 - forced_lengths)[:, None]), NEG_INF)
        finished_scores, finished_ids, _ = _top(tf.concat([state.finished_scores, ending], 1),
                                                tf.concat([state.finished_ids, candidates], 1), width)
        # The live set: the best W candidates that did not end; each beam takes its parent's cache.
        alive_scores, alive_ids, best = _top(tf.where(ended, NEG_INF, scores), candidates, width)
        rows = tf.range(batch)[:, None] * width + tf.gather(parents, best, batch_dims=1)  # (B, W)
        cache = tf.nest.map_structure(lambda c: tf.gather(c, tf.reshape(rows, [-1])), cache)
        new = BeamState(index + 1, alive_ids, alive_scores, finished_ids, finished_scores, cache)
        # An example past its own limit keeps its beams while others go on.
        return new.where_active(index < limits, state)

    def not_done(state):
        # Scores only fall as a beam grows, so this bounds every live beam.
        best_alive = penalized(state.alive_scores[:, 0], limits - forced_lengths)
        done = (state.finished_scores[:, -1] >= best_alive) | (state.index >= limits)
        return tf.logical_and(state.index < bound, tf.logical_not(tf.reduce_all(done)))

    start = BeamState.start(batch, width, bound, padding_id, cache)
    # One loop variable (the whole state): tf.while_loop would unpack a bare namedtuple.
    (final,) = tf.while_loop(lambda state: not_done(state), lambda state: (step(state),), (start,))
    return final.best(penalized(final.alive_scores[:, 0], limits - forced_lengths))


# Each decoding method's search, as `DECODING_METHODS` names it.
SEARCHES = {name: globals()[method.search] for name, method in DECODING_METHODS.items()}


def generate(model, inputs, max_length, end_id=None, method="greedy", **options):
    """Continues each prompt with the model's own step, by `method` and its options.

    A `Transformer` continues the start of each target (its `[START]`
    token) given a source; a `CausalLM` continues text. A batch of prompts
    of different lengths generates exactly what each prompt would alone
    (greedy and beam search; sampling draws other numbers in another batch).

    Args:
        model: a model with a `generation_step`: a `Transformer` or a
            `CausalLM`.
        inputs: what its `generation_step` reads, rows padded after their
            end with `model.padding_id`: for a `Transformer`, the sources
            `encoder_token_ids` and the target starts `decoder_token_ids`;
            for a `CausalLM`, the prompts `token_ids`.
        max_length: most tokens to generate (the end token included), a
            scalar or a `(batch,)` vector.
        end_id: the token that ends a text (None: generate `max_length`).
        method: a key of `DECODING_METHODS` ("greedy", "beam" or
            "sample"); `options` as in `DecodingConfig`.

    Returns:
        `(token_ids, scores)`: `(batch, max(max_length))` int32 generated
        tokens (after the prompt, padded after `end_id`) and `(batch,)`
        float32 log-probabilities (length-penalized for beam search).

    Example:
    >>> from tf_models.models import CausalLM, Transformer
    >>> model = CausalLM.from_preset("test")
    >>> ids, scores = generate(model, {"token_ids": [[5, 6, 7], [8, 0, 0]]}, max_length=4,
    ...                        method="sample", top_k=5, seed=1)
    >>> ids.shape, scores.shape
    (TensorShape([2, 4]), TensorShape([2]))
    >>> model = Transformer.from_preset("test")
    >>> sources_and_starts = {"encoder_token_ids": [[5, 6]], "decoder_token_ids": [[1]]}
    >>> ids, _ = generate(model, sources_and_starts, max_length=3, end_id=2, method="beam", beam_width=2)
    >>> ids.shape
    TensorShape([1, 3])
    """
    decoding = DecodingConfig.from_settings({"method": method, **options})  # checks the options
    longest = tf.maximum(tf.reduce_max(tf.cast(max_length, tf.int32)), 0)
    # Beam search works on one row per beam.
    next_logits, cache, start_ids, forced_ids = model.generation_step(
        inputs, longest, repeat=decoding.options.get("beam_width", 1))
    pad = model.padding_id
    limits, bound = _limits(max_length, tf.shape(start_ids)[0])
    forced_lengths = tf.reduce_sum(tf.cast(forced_ids != pad, tf.int32), axis=1)  # (B,)
    end_id = -1 if end_id is None else end_id  # no token is -1: only the limit stops
    token_ids, scores = SEARCHES[method](next_logits, cache, start_ids, end_id, forced_lengths + limits,
                                         **decoding.options, padding_id=pad, forced_ids=forced_ids)
    # Each row's continuation begins after its own forced prompt tokens.
    token_ids = tf.pad(token_ids, [[0, 0], [0, bound]], constant_values=pad)
    columns = forced_lengths[:, None] + tf.range(bound)[None, :]  # (B, bound)
    return tf.gather(token_ids, columns, batch_dims=1), scores


def uncached_greedy_decode(model, encoder_token_ids, start_id, end_id, max_length):
    """Greedy decoding of a `Transformer` without the cache: the whole model runs every step.

    The TF tutorial's algorithm, kept as the reference that the cached
    step is tested and benchmarked against.

    Args:
        model: a `Transformer`.
        encoder_token_ids: `(batch, source_length)` int32 source tokens.
        start_id: the `[START]` id that begins every target.
        end_id: the `[END]` id.
        max_length: most tokens to generate (the `[END]` included), a
            scalar or a `(batch,)` vector.

    Returns:
        `(token_ids, scores)` as `generate`.
    """
    encoder_token_ids = tf.convert_to_tensor(encoder_token_ids, tf.int32)
    batch = tf.shape(encoder_token_ids)[0]
    _, bound = _limits(max_length, batch)
    next_logits, cache = uncached_step_function(model, encoder_token_ids, start_id, bound)
    start_ids = tf.fill([batch], tf.constant(start_id, tf.int32))
    return greedy_search(next_logits, cache, start_ids, end_id, max_length, model.padding_id)
