"""Solutions to the exercises of notebooks/03_transformer_translation.ipynb.

One function per exercise; each asserts what a correct solution shows.

    python notebooks/solutions/03_transformer_translation.py
    TF_MODELS_QUICK=1 python notebooks/solutions/03_transformer_translation.py  # tiny settings, as `make test`

Exercise 3 trains a translator: in full mode the `tiny` preset on 10,000
pairs of the notebook's corpus (`software_de_en`, fetched with apt-get);
in quick mode the `test` preset for a few steps, run eagerly, on a made-up
set of German-English menu commands, so that it needs no download (it then
translates nothing, and only what holds for any model is checked).
"""

import itertools
import os
import random
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy as np
import tensorflow as tf

from tf_models.data import TRANSLATION_RESERVED_TOKENS, software_de_en, train_wordpiece_tokenizer, translation_dataset
from tf_models.data.splits import split_by_source
from tf_models.inference import generate
from tf_models.models import Transformer
from tf_models.training import MaskedSparseCategoricalCrossentropy, TransformerSchedule, compile_transformer
from tf_models.training.evaluation import corpus_bleu

QUICK = os.environ.get("TF_MODELS_QUICK") == "1"


def exercise_1_noam_schedule():
    """Exercise 1 (easy): write the Noam schedule from the paper's equation,
    check `TransformerSchedule` against it, and find where and how high it peaks."""
    def noam(step, hidden_dim, warmup_steps):  # eq. 3 of Vaswani et al. 2017
        return hidden_dim**-0.5 * np.minimum(step**-0.5, step * warmup_steps**-1.5)

    steps = np.arange(1, 8001, dtype="float64")
    for hidden_dim, warmup_steps in ((128, 400), (512, 4000)):
        package = np.asarray(TransformerSchedule(hidden_dim, warmup_steps)(steps))
        mine = noam(steps, hidden_dim, warmup_steps)
        peak = int(steps[np.argmax(mine)])
        print(f"hidden_dim {hidden_dim}, warm-up {warmup_steps}: peak {mine.max():.2e} at step {peak}")
        assert np.allclose(package, mine, rtol=1e-5), "TransformerSchedule is eq. 3"
        assert peak == warmup_steps and np.isclose(mine.max(), (hidden_dim * warmup_steps) ** -0.5)
    # A wider model gets a smaller rate at every step: doubling d_model divides it by sqrt(2).
    assert np.allclose(noam(steps, 256, 400) / noam(steps, 128, 400), 2**-0.5)


def exercise_2_label_smoothing_by_hand():
    """Exercise 2 (easy): compute the label-smoothed, padding-masked loss of
    the notebook's example by hand, and find the prediction that minimises it."""
    eps = 0.1
    logits = np.array([[[4.0, 1.0, 0.0], [0.0, 3.0, 1.0], [9.0, -9.0, 5.0]]], "float32")
    labels = np.array([[1, 2, 0]])  # the last position is padding (id 0)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))  # log-softmax
    vocabulary = logits.shape[-1]
    target = (1 - eps) * np.eye(vocabulary)[labels] + eps / vocabulary  # smoothed one-hot
    per_token = -(target * log_p).sum(-1)  # (1, 3)
    real = labels != 0
    by_hand = per_token[real].mean()  # padding counts for nothing, also in the mean
    package = float(MaskedSparseCategoricalCrossentropy(label_smoothing=eps)(labels, logits))
    print(f"label-smoothed loss by hand {by_hand:.6f}, package {package:.6f}")
    assert abs(by_hand - package) < 1e-5

    # The loss is lowest when the model predicts the smoothed target itself:
    # p(label) = 1 - eps + eps / V, not 1. Being surer costs loss.
    loss = MaskedSparseCategoricalCrossentropy(label_smoothing=eps)

    def loss_at(p_label):  # one token, label 1, the rest of the mass spread evenly
        p = np.full((1, 1, vocabulary), (1 - p_label) / (vocabulary - 1), "float32")
        p[..., 1] = p_label
        return float(loss(np.array([[1]]), np.log(p)))

    best = 1 - eps + eps / vocabulary
    print(f"loss at p(label) = {best:.3f}: {loss_at(best):.4f}; at 0.99: {loss_at(0.99):.4f}")
    assert loss_at(best) < loss_at(0.99) and loss_at(best) < loss_at(best - 0.1)


def menu_commands():
    """Made-up German-English menu commands: "Neue Datei öffnen" -> "Open new file".
    German puts the verb last, English first."""
    # German noun (gender) -> English; an adjective before a noun without article
    # ends in -e (feminine), -en (masculine, accusative) or -es (neuter).
    nouns = {("Datei", "f"): "file", ("Ordner", "m"): "folder", ("Fenster", "n"): "window",
             ("Bild", "n"): "image", ("Seite", "f"): "page", ("Tabelle", "f"): "table",
             ("Dokument", "n"): "document", ("Eintrag", "m"): "entry"}
    adjectives = {"neu": "new", "alt": "old", "leer": "empty", "aktuell": "current", "nächst": "next",
                  "letzt": "last", "": ""}
    verbs = {"öffnen": "open", "speichern": "save", "schließen": "close", "löschen": "delete",
             "drucken": "print", "kopieren": "copy"}
    endings = {"f": "e", "m": "en", "n": "es"}
    pairs = []
    for (de_adj, en_adj), ((de_noun, gender), en_noun), (de_verb, en_verb) in itertools.product(
            adjectives.items(), nouns.items(), verbs.items()):
        german = " ".join(filter(None, [de_adj and de_adj + endings[gender], de_noun, de_verb]))
        english = " ".join(filter(None, [en_verb, en_adj, en_noun]))
        pairs.append((german[0].upper() + german[1:], english[0].upper() + english[1:]))
    return pairs


def trained_translator():
    """A Transformer and its tokenizer, trained as the notebook does; and held-out pairs."""
    keras.utils.set_random_seed(0)
    pairs = menu_commands() if QUICK else software_de_en()
    train, _, test, _ = split_by_source(pairs, test_size=24 if QUICK else 200, validation_size=0, seed=0)
    random.Random(0).shuffle(train)
    train = train[: 200 if QUICK else 10_000]
    tokenizer = train_wordpiece_tokenizer([s for pair in train for s in pair], 200 if QUICK else 3000,
                                          tempfile.mkdtemp() + "/vocab.txt",
                                          reserved_tokens=TRANSLATION_RESERVED_TOKENS, lower_case=False)
    model = Transformer.from_preset("test" if QUICK else "tiny", vocabulary_size=tokenizer.vocabulary_size,
                                    dropout=0.0)
    # Quick: a handful of steps, eagerly (tracing the step would take longer than they do).
    compile_transformer(model, warmup_steps=5 if QUICK else 400, run_eagerly=QUICK)
    data = translation_dataset(train, tokenizer, batch_size=32 if QUICK else 64, max_length=24, seed=0)
    if QUICK:  # two "epochs" of two batches: a loss curve to read
        history = model.fit(data.repeat(), steps_per_epoch=2, epochs=2, verbose=0)
    else:
        history = model.fit(data, epochs=4, verbose=2)
    return model, tokenizer, test, history.history["loss"]


def decode(model, tokenizer, sources, method, **options):
    """Translates `sources` (strings) with `generate`: `(texts, token_ids, scores)`."""
    source_ids = tokenizer.tokenize(sources)[:, :24]
    lengths = source_ids.row_lengths()
    starts = tf.fill([len(sources), 1], tokenizer.start_id)
    token_ids, scores = generate(model, {"encoder_token_ids": source_ids.to_tensor(), "decoder_token_ids": starts},
                                 tf.minimum(tf.cast(lengths, tf.int32) + 8, 24), tokenizer.end_id, method, **options)
    texts = [t.decode() for t in tokenizer.detokenize(token_ids).numpy()]
    return texts, token_ids.numpy(), scores.numpy()


def trimmed(token_ids, end_id):
    """A generated row as a list, up to and with its [END] (without the padding after it)."""
    token_ids = [int(t) for t in token_ids if t != 0]
    return token_ids[: token_ids.index(end_id) + 1] if end_id in token_ids else token_ids


def exercise_3_greedy_vs_beam():
    """Exercise 3 (medium): translate held-out sentences greedily and with
    beam search; compare the likelihood the model gives each, and their BLEU
    beside copying the source."""
    model, tokenizer, test, losses = trained_translator()
    print("training loss by epoch:", np.round(losses, 3).tolist())
    sources, references = (list(column) for column in zip(*test))
    greedy, greedy_ids, greedy_scores = decode(model, tokenizer, sources, "greedy")

    # A beam of width 1 without length penalty keeps the one best prefix, as greedy
    # search does; but each step also looks at the second-best token, and if that
    # is [END] it keeps that ended translation aside and may return it.
    _, beam_1_ids, beam_1_scores = decode(model, tokenizer, sources, "beam", beam_width=1, alpha=0.0)
    differ = 0
    for greedy_row, beam_row, greedy_score, beam_score in zip(greedy_ids, beam_1_ids, greedy_scores, beam_1_scores):
        greedy_row, beam_row = trimmed(greedy_row, tokenizer.end_id), trimmed(beam_row, tokenizer.end_id)
        if beam_row != greedy_row:  # then it is a start of greedy's, ended early
            differ += 1
            assert beam_row[-1] == tokenizer.end_id and beam_row[:-1] == greedy_row[: len(beam_row) - 1]
            assert tokenizer.end_id not in greedy_row[: len(beam_row)]
    print(f"beam width 1, alpha 0: the greedy translation for {len(sources) - differ} of {len(sources)} sources, "
          "a start of it ended early for the others")

    # Without length penalty, beam scores are plain log-probabilities, like greedy's:
    # beam search finds translations the model finds at least as likely.
    _, _, beam_raw_scores = decode(model, tokenizer, sources, "beam", beam_width=4, alpha=0.0)
    at_least_as_likely = np.mean(beam_raw_scores >= greedy_scores - 1e-4)
    print(f"mean log-probability: greedy {greedy_scores.mean():.2f}, beam 4 {beam_raw_scores.mean():.2f}; "
          f"beam at least as likely on {at_least_as_likely:.0%} of the sentences")
    assert beam_raw_scores.mean() >= greedy_scores.mean() - 1e-4 and at_least_as_likely >= 0.9

    # BLEU: likelier is not always better; the paper's beam 4 with alpha 0.6.
    beam, _, _ = decode(model, tokenizer, sources, "beam", beam_width=4, alpha=0.6)
    bleu = {name: corpus_bleu(hypotheses, references)[0]
            for name, hypotheses in (("greedy", greedy), ("beam 4", beam), ("copy the source", sources))}
    print("BLEU on", len(sources), "held-out sources:", {name: round(value, 1) for name, value in bleu.items()})
    for source, greedy_text, beam_text, reference in list(zip(sources, greedy, beam, references))[:3]:
        print(f"  {source}\n    greedy: {greedy_text}\n    beam:   {beam_text}\n    ref:    {reference}")
    assert losses[-1] < losses[0], "the loss went down"
    assert all(0 <= value <= 100 for value in bleu.values())
    if not QUICK:
        assert min(bleu["greedy"], bleu["beam 4"]) > bleu["copy the source"], "the model translates"


EXERCISES = [exercise_1_noam_schedule, exercise_2_label_smoothing_by_hand, exercise_3_greedy_vs_beam]


def main():
    for exercise in EXERCISES:
        print(f"\n== {exercise.__name__}")
        exercise()
    print("\nall exercises passed")


if __name__ == "__main__":
    main()
