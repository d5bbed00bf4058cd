"""BERT at inference time: raw strings in, task results out.

Each class is a `tf.Module` whose methods are `tf.function`s with fixed
input signatures, tokenizer inside, so `tf_models.export` can save them
for TF Serving unchanged:

* `TextClassifier`: sentences or sentence pairs -> label, probabilities.
* `TextRegressor`: sentences or sentence pairs -> a score.
* `FillMask`: text with `[MASK]`s -> the likeliest tokens (or words) for
  each mask.
* `SentenceEncoder`: sentences -> fixed-size embeddings.
* `TokenTagger`: sentences -> one tag per (whitespace-separated) word.
* `QuestionAnswerer`: a question and a context -> the answer, a span of the
  context.

Inputs longer than `max_sequence_length` tokens (special tokens included)
are truncated, as BERT was trained.
"""

import tensorflow as tf

from tf_models.inference.base import MAX_BATCH_SIZE, MAX_INPUT_BYTES, ServingModule, check_batch_size, known_ids
from tf_models.data.pipelines import pack_segments
from tf_models.data.question_answering import SQUAD_INPUTS, squad_best_spans, squad_features
from tf_models.data.tagging import tagging_features
from tf_models.data.tokenizers import MASK

_STRINGS = tf.TensorSpec([None], tf.string)
_IDS = tf.TensorSpec([None, None], tf.int32)
# Question answering reads its contexts in windows: a longer cap (about 60
# windows of 384 pieces at most).
QA_MAX_INPUT_BYTES = 65_536


def is_word_token(token):
    """Whether a vocabulary entry is a whole word of letters: not
    punctuation, a number, a `##` continuation piece or a special token.

    Example:
    >>> [is_word_token(t) for t in ["the", ",", "##s", "[SEP]", "42", "café"]]
    [True, False, False, False, False, True]
    """
    return token.isalpha()


def clean_features(backbone, unk_id, token_ids, segment_ids, padding_mask):
    """Makes ids that clients send safe for the backbone.

    A serving signature must not crash on odd input: ids outside the
    vocabulary read as `[UNK]`, segment ids are clipped to the known
    segments, rows are cut to the backbone's `max_sequence_length`, and an
    empty batch or length gets one padding column (the pooled output reads
    the first position).

    Returns:
        A dict of `token_ids`, `segment_ids` and `padding_mask`, int32.
    """
    length = tf.minimum(tf.shape(token_ids)[1], backbone.max_sequence_length)
    features = [x[:, :length] for x in (token_ids, segment_ids, padding_mask)]
    features = [tf.pad(x, [[0, 0], [0, tf.maximum(1 - length, 0)]]) for x in features]
    token_ids, segment_ids, padding_mask = features
    return {
        "token_ids": known_ids(token_ids, backbone.vocabulary_size, unk_id),
        "segment_ids": tf.clip_by_value(segment_ids, 0, backbone.num_segments - 1),
        "padding_mask": tf.cast(padding_mask != 0, tf.int32),
    }


def pack_texts(tokenizer, max_sequence_length, *columns):
    """`(batch,)` string columns (one text, or the two of a pair) -> the
    packed `[CLS] A [SEP] (B [SEP])` features of `pack_segments`."""
    return pack_segments([tokenizer.tokenize(column) for column in columns], tokenizer, max_sequence_length)


class TextClassifier(ServingModule):
    """Classifies sentences or sentence pairs with a `BertClassifier`.

    Args:
        model: a trained `BertClassifier`.
        tokenizer: its `WordPieceTokenizer`.
        label_names: the class names, in label-id order.
        max_sequence_length: packed length, special tokens included.

    Example:
    >>> import tempfile
    >>> from tf_models.data import WordPieceTokenizer
    >>> from tf_models.models import BertBackbone, BertClassifier
    >>> path = tempfile.mkdtemp() + "/vocab.txt"
    >>> _ = open(path, "w").write("[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\n[MASK]\\ngood\\nbad\\n")
    >>> model = BertClassifier(BertBackbone.from_preset("test", vocabulary_size=7), num_classes=2)
    >>> classifier = TextClassifier(model, WordPieceTokenizer(path), ["negative", "positive"])
    >>> outputs = classifier(tf.constant(["good", "bad bad"]))
    >>> outputs["label"].shape, outputs["probabilities"].shape
    (TensorShape([2]), TensorShape([2, 2]))
    """

    TASK = "classifier"
    SERVING_SIGNATURES = {"serving_default": "__call__", "pairs": "classify_pairs", "ids": "classify_ids"}
    SETTINGS = ("label_names", "max_sequence_length")
    EXAMPLE_INPUTS = {**ServingModule.EXAMPLE_INPUTS,
                      "pairs": {"first": ["A short sentence."], "second": ["Another one."]}}

    def __init__(self, model, tokenizer, label_names, max_sequence_length=128, max_input_bytes=MAX_INPUT_BYTES,
                 max_batch_size=MAX_BATCH_SIZE):
        super().__init__(max_input_bytes, max_batch_size)
        self.model = model
        self.tokenizer = tokenizer
        self.label_names = list(label_names)
        self.max_sequence_length = max_sequence_length
        self._label_table = tf.constant(self.label_names)

    @staticmethod
    def format_outputs(texts, outputs):
        """`label (probability): text` per text."""
        return [f"{outputs['label'][i].decode()} ({outputs['probabilities'][i].max():.2f}): {text}"
                for i, text in enumerate(texts)]

    @tf.function(input_signature=[_IDS, _IDS, _IDS])
    def classify_ids(self, token_ids, segment_ids, padding_mask):
        """Packed ids in (as `pack_segments` makes them), results out.

        Returns:
            A dict: `label` `(batch,)` string, `label_id` `(batch,)` int32,
            `probabilities` `(batch, num_classes)` float32.
        """
        token_ids = check_batch_size(token_ids, self.max_batch_size)
        inputs = clean_features(self.model.backbone, self.tokenizer.unk_id, token_ids, segment_ids, padding_mask)
        logits = tf.cast(self.model(inputs)["logits"], tf.float32)  # (B, C)
        label_id = tf.argmax(logits, axis=-1, output_type=tf.int32)
        return {
            "label": tf.gather(self._label_table, label_id),
            "label_id": label_id,
            "probabilities": tf.nn.softmax(logits),
        }

    @tf.function(input_signature=[_STRINGS])
    def __call__(self, sentences):
        """`(batch,)` sentences -> the dict of `classify_ids`."""
        features = pack_texts(self.tokenizer, self.max_sequence_length, self.bounded(sentences))
        return self.classify_ids(**features)

    @tf.function(input_signature=[_STRINGS, _STRINGS])
    def classify_pairs(self, first, second):
        """`(batch,)` first and second sentences -> the dict of `classify_ids`."""
        return self.classify_ids(**pack_texts(self.tokenizer, self.max_sequence_length, self.bounded(first),
                                                 self.bounded(second)))


class TextRegressor(ServingModule):
    """Scores sentences or sentence pairs with a one-output `BertClassifier`
    trained by `compile_bert_regressor` (e.g. STS-B's 0-5 similarity).

    Args:
        model: a trained `BertClassifier` with `num_classes=1`.
        tokenizer: its `WordPieceTokenizer`.
        max_sequence_length: packed length, special tokens included.

    Example:
    >>> import tempfile
    >>> from tf_models.data import WordPieceTokenizer
    >>> from tf_models.models import BertBackbone, BertClassifier
    >>> path = tempfile.mkdtemp() + "/vocab.txt"
    >>> _ = open(path, "w").write("[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\n[MASK]\\na\\ncat\\n")
    >>> model = BertClassifier(BertBackbone.from_preset("test", vocabulary_size=7), num_classes=1)
    >>> regressor = TextRegressor(model, WordPieceTokenizer(path))
    >>> regressor.score_pairs(tf.constant(["a cat"]), tf.constant(["cat"]))["score"].shape
    TensorShape([1])
    """

    TASK = "regressor"
    SERVING_SIGNATURES = {"serving_default": "__call__", "pairs": "score_pairs", "ids": "score_ids"}
    SETTINGS = ("max_sequence_length",)
    EXAMPLE_INPUTS = {**ServingModule.EXAMPLE_INPUTS,
                      "pairs": {"first": ["A man is playing a guitar."], "second": ["A man plays the guitar."]}}

    def __init__(self, model, tokenizer, max_sequence_length=128, max_input_bytes=MAX_INPUT_BYTES,
                 max_batch_size=MAX_BATCH_SIZE):
        super().__init__(max_input_bytes, max_batch_size)
        self.model = model
        self.tokenizer = tokenizer
        self.max_sequence_length = max_sequence_length

    @staticmethod
    def format_outputs(texts, outputs):
        """`score: text` per text."""
        return [f"{score:.3f}: {text}" for text, score in zip(texts, outputs["score"])]

    @tf.function(input_signature=[_IDS, _IDS, _IDS])
    def score_ids(self, token_ids, segment_ids, padding_mask):
        """Packed ids in (as `pack_segments` makes them) -> `{"score": (batch,) float32}`."""
        token_ids = check_batch_size(token_ids, self.max_batch_size)
        inputs = clean_features(self.model.backbone, self.tokenizer.unk_id, token_ids, segment_ids, padding_mask)
        return {"score": tf.cast(self.model(inputs)["logits"], tf.float32)[:, 0]}  # (B,)

    @tf.function(input_signature=[_STRINGS])
    def __call__(self, sentences):
        """`(batch,)` sentences -> the dict of `score_ids`."""
        features = pack_texts(self.tokenizer, self.max_sequence_length, self.bounded(sentences))
        return self.score_ids(**features)

    @tf.function(input_signature=[_STRINGS, _STRINGS])
    def score_pairs(self, first, second):
        """`(batch,)` first and second sentences -> the dict of `score_ids`."""
        return self.score_ids(**pack_texts(self.tokenizer, self.max_sequence_length, self.bounded(first),
                                                 self.bounded(second)))


def tokenize_with_masks(tokenizer, strings):
    """Tokenizes text in which the literal `[MASK]` stands for masked words.

    The tokenizer alone would lower-case and split "[MASK]" into three
    tokens, so the text is cut at each `[MASK]`, the pieces are tokenized,
    and the mask id is put back between them.

    Args:
        tokenizer: a `WordPieceTokenizer` with `[MASK]`.
        strings: `(batch,)` strings.

    Returns:
        Ragged `(batch, None)` int32 token ids.
    """
    pieces = tf.strings.split(strings, sep=MASK)  # (B, pieces)
    piece_ids = tokenizer.tokenize(pieces.flat_values)  # (N, None)
    mask = tf.RaggedTensor.from_tensor(tf.fill([tf.shape(pieces.flat_values)[0], 1], tokenizer.mask_id))
    with_masks = tf.concat([piece_ids, mask], axis=1)  # every piece followed by [MASK]
    token_ids = tf.RaggedTensor.from_row_splits(with_masks, pieces.row_splits).merge_dims(1, 2)
    return token_ids[:, :-1]  # but the last


class FillMask(ServingModule):
    """Predicts the words behind each `[MASK]` with a `BertPretrainer`.

    Args:
        model: a trained `BertPretrainer` (its masked-LM head is used).
        tokenizer: its `WordPieceTokenizer`.
        top_k: candidates returned per mask.
        max_sequence_length: packed length; masks past it are dropped.
        words_only: rank only whole-word tokens (`is_word_token`) as
            candidates. A small or briefly trained model puts most of its
            probability on ",", "." and "the"; its best *word* for a blank
            says more about what it learned. Probabilities stay those of
            the whole vocabulary, so they show how sure the model is.

    Example:
    >>> import tempfile
    >>> from tf_models.data import WordPieceTokenizer
    >>> from tf_models.models import BertBackbone, BertPretrainer
    >>> path = tempfile.mkdtemp() + "/vocab.txt"
    >>> _ = open(path, "w").write("[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\n[MASK]\\nthe\\ncat\\nsat\\n")
    >>> model = BertPretrainer(BertBackbone.from_preset("test", vocabulary_size=8))
    >>> fill = FillMask(model, WordPieceTokenizer(path), top_k=3)
    >>> outputs = fill(tf.constant(["the [MASK] sat", "[MASK] [MASK]", "no mask"]))
    >>> outputs["tokens"].shape, outputs["filled"].shape
    (TensorShape([3, 2, 3]), TensorShape([3]))
    """

    TASK = "fill_mask"
    SERVING_SIGNATURES = {"serving_default": "__call__", "ids": "fill_ids"}
    SETTINGS = ("top_k", "max_sequence_length", "words_only")
    EXAMPLE_INPUTS = {"serving_default": {"sentences": ["A [MASK] sentence.", "No mask."]}}

    def __init__(self, model, tokenizer, top_k=5, max_sequence_length=128, words_only=False,
                 max_input_bytes=MAX_INPUT_BYTES, max_batch_size=MAX_BATCH_SIZE):
        super().__init__(max_input_bytes, max_batch_size)
        self.model = model
        self.tokenizer = tokenizer
        self.top_k = top_k
        self.max_sequence_length = max_sequence_length
        self.words_only = words_only
        self._vocabulary = tf.constant(tokenizer.vocabulary)
        allowed = [is_word_token(token) if words_only else True for token in tokenizer.vocabulary]
        if not any(allowed):
            raise ValueError("words_only=True, but the vocabulary has no whole-word token")
        self._candidates = tf.constant(allowed)  # (V,) which tokens may be answered
        self._candidate_count = sum(allowed)

    @staticmethod
    def format_outputs(texts, outputs):
        """The filled text, then each mask's candidates with their probabilities."""
        lines = []
        for i in range(len(texts)):
            count = outputs["mask_count"][i]
            candidates = "; ".join(
                " / ".join(f"{t.decode()} {p:.2f}" for t, p in zip(tokens, probabilities))
                for tokens, probabilities in zip(outputs["tokens"][i][:count], outputs["probabilities"][i][:count])
            )
            lines.append(f"{outputs['filled'][i].decode()}   [{candidates or 'no [MASK] in the text'}]")
        return lines

    @tf.function(input_signature=[_IDS, _IDS, _IDS, _IDS])
    def fill_ids(self, token_ids, segment_ids, padding_mask, mask_positions):
        """Packed ids and the `(batch, masks)` positions to fill.

        Returns:
            A dict: `token_ids` `(batch, masks, top_k)` int32 candidates,
            best first, and their `probabilities` float32.
        """
        token_ids = check_batch_size(token_ids, self.max_batch_size)
        inputs = clean_features(self.model.backbone, self.tokenizer.unk_id, token_ids, segment_ids, padding_mask)
        # Positions outside the (cleaned) sequence read the first position.
        length = tf.shape(inputs["token_ids"])[1]
        inputs["mask_positions"] = tf.where((mask_positions < 0) | (mask_positions >= length), 0, mask_positions)
        # Keras' take_along_axis (in the masked-LM head) fails on an empty
        # batch: run one padding row more and drop it.
        inputs = {k: tf.pad(v, [[0, 1], [0, 0]]) for k, v in inputs.items()}
        logits = tf.cast(self.model(inputs)["mlm_logits"], tf.float32)[:-1]  # (B, M, V)
        probabilities = tf.nn.softmax(logits)
        # Tokens that may not be answered rank below every candidate.
        ranked = tf.where(self._candidates, probabilities, -1.0)
        _, candidates = tf.math.top_k(ranked, k=min(self.top_k, self._candidate_count))  # (B, M, k)
        return {"token_ids": candidates, "probabilities": tf.gather(probabilities, candidates, batch_dims=2)}

    @tf.function(input_signature=[_STRINGS])
    def __call__(self, sentences):
        """`(batch,)` texts with `[MASK]`s -> candidates for each mask.

        Returns:
            A dict: `filled` `(batch,)` texts with each mask replaced by its
            best candidate; `tokens` `(batch, masks, top_k)` strings,
            `token_ids` int32 and `probabilities` float32, where `masks`
            is the most masks of any text (rows with fewer are padded with
            "" tokens, id 0 and probability 0); `mask_count` `(batch,)`.
        """
        token_ids = tokenize_with_masks(self.tokenizer, self.bounded(sentences))
        features = pack_segments([token_ids], self.tokenizer, self.max_sequence_length)
        is_mask = tf.equal(features["token_ids"], self.tokenizer.mask_id)  # (B, L)
        where = tf.where(is_mask)  # (N, 2) row-major, so in text order
        positions = tf.RaggedTensor.from_value_rowids(
            tf.cast(where[:, 1], tf.int32), where[:, 0], nrows=tf.shape(is_mask, out_type=tf.int64)[0]
        )
        valid = tf.ones_like(positions, tf.bool).to_tensor(False)  # (B, M)
        outputs = self.fill_ids(**features, mask_positions=positions.to_tensor(0))
        candidates = tf.where(valid[..., None], outputs["token_ids"], 0)  # (B, M, k)
        probabilities = tf.where(valid[..., None], outputs["probabilities"], 0.0)
        tokens = tf.where(valid[..., None], tf.gather(self._vocabulary, candidates), "")
        # Each mask replaced by its best candidate, then back to text.
        index_in_row = tf.ragged.range(positions.row_lengths()).flat_values  # (N,)
        best = tf.gather_nd(candidates[..., 0], tf.stack([where[:, 0], index_in_row], axis=1))
        filled_ids = tf.tensor_scatter_nd_update(features["token_ids"], where, best)
        return {
            "filled": self.tokenizer.detokenize(filled_ids),
            "tokens": tokens,
            "token_ids": candidates,
            "probabilities": probabilities,
            "mask_count": tf.cast(positions.row_lengths(), tf.int32),
        }


class SentenceEncoder(ServingModule):
    """Turns sentences into fixed-size vectors with a `BertBackbone`.

    Args:
        backbone: a trained `BertBackbone`.
        tokenizer: its `WordPieceTokenizer`.
        pooling: "pooled" (BERT's pooled `[CLS]` output, trained by the
            next-sentence task) or "mean" (the mean of the token outputs,
            padding excluded; often better for similarity).
        max_sequence_length: packed length, special tokens included.

    Example:
    >>> import tempfile
    >>> from tf_models.data import WordPieceTokenizer
    >>> from tf_models.models import BertBackbone
    >>> path = tempfile.mkdtemp() + "/vocab.txt"
    >>> _ = open(path, "w").write("[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\n[MASK]\\nhello\\n")
    >>> backbone = BertBackbone.from_preset("test", vocabulary_size=6)
    >>> encoder = SentenceEncoder(backbone, WordPieceTokenizer(path), pooling="mean")
    >>> encoder(tf.constant(["hello", "hello hello"]))["embedding"].shape
    TensorShape([2, 16])
    """

    TASK = "sentence_encoder"
    SERVING_SIGNATURES = {"serving_default": "__call__", "ids": "encode_ids"}
    SETTINGS = ("pooling", "max_sequence_length")

    def __init__(self, backbone, tokenizer, pooling="pooled", max_sequence_length=128,
                 max_input_bytes=MAX_INPUT_BYTES, max_batch_size=MAX_BATCH_SIZE):
        super().__init__(max_input_bytes, max_batch_size)
        if pooling not in ("pooled", "mean"):
            raise ValueError(f"pooling must be 'pooled' or 'mean', got {pooling!r}.")
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.max_sequence_length = max_sequence_length

    @staticmethod
    def format_outputs(texts, outputs):
        """The first values of each embedding, and its size."""
        return [f"{text}: [{', '.join(f'{x:.3f}' for x in vector[:4])}, ...] ({vector.size} dims)"
                for text, vector in zip(texts, outputs["embedding"])]

    @tf.function(input_signature=[_IDS, _IDS, _IDS])
    def encode_ids(self, token_ids, segment_ids, padding_mask):
        """Packed ids -> `{"embedding": (batch, hidden_dim) float32}`."""
        token_ids = check_batch_size(token_ids, self.max_batch_size)
        inputs = clean_features(self.backbone, self.tokenizer.unk_id, token_ids, segment_ids, padding_mask)
        outputs = self.backbone(inputs)
        if self.pooling == "pooled":
            return {"embedding": tf.cast(outputs["pooled_output"], tf.float32)}
        weights = tf.cast(inputs["padding_mask"], tf.float32)[..., None]  # (B, L, 1)
        total = tf.reduce_sum(tf.cast(outputs["sequence_output"], tf.float32) * weights, axis=1)
        return {"embedding": total / tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)}

    @tf.function(input_signature=[_STRINGS])
    def __call__(self, sentences):
        """`(batch,)` sentences -> `{"embedding": (batch, hidden_dim) float32}`."""
        features = pack_texts(self.tokenizer, self.max_sequence_length, self.bounded(sentences))
        return self.encode_ids(**features)


class TokenTagger(ServingModule):
    """Tags every word of sentences with a `BertTagger`.

    Words are the whitespace-separated parts of a sentence, as in CoNLL
    files; a word's tag is the one predicted at its first piece, as the
    model was trained. Words beyond `max_sequence_length` pieces get the
    tag `""` and the id -1.

    Args:
        model: a trained `BertTagger`.
        tokenizer: its `WordPieceTokenizer`.
        label_names: the tag names, in tag-id order.
        max_sequence_length: packed length, special tokens included.

    Example:
    >>> import tempfile
    >>> from tf_models.data import WordPieceTokenizer
    >>> from tf_models.models import BertBackbone, BertTagger
    >>> path = tempfile.mkdtemp() + "/vocab.txt"
    >>> _ = open(path, "w").write("[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\nparis\\nis\\nbig\\n")
    >>> model = BertTagger(BertBackbone.from_preset("test", vocabulary_size=7), num_classes=2)
    >>> tagger = TokenTagger(model, WordPieceTokenizer(path), ["O", "B-LOC"])
    >>> outputs = tagger(tf.constant(["Paris is big", "big"]))
    >>> outputs["words"].numpy().tolist(), outputs["word_count"].numpy().tolist()
    ([[b'Paris', b'is', b'big'], [b'big', b'', b'']], [3, 1])
    """

    TASK = "tagger"
    SERVING_SIGNATURES = {"serving_default": "__call__"}
    SETTINGS = ("label_names", "max_sequence_length")
    EXAMPLE_INPUTS = {"serving_default": {"sentences": ["John lives in Paris .", ""]}}

    def __init__(self, model, tokenizer, label_names, max_sequence_length=128, max_input_bytes=MAX_INPUT_BYTES,
                 max_batch_size=MAX_BATCH_SIZE):
        super().__init__(max_input_bytes, max_batch_size)
        self.model = model
        self.tokenizer = tokenizer
        self.label_names = list(label_names)
        self.max_sequence_length = max_sequence_length
        self._label_table = tf.constant(self.label_names + [""])  # the last one: no tag

    @staticmethod
    def format_outputs(texts, outputs):
        """`word/TAG` for every word (`?`: past `max_sequence_length`)."""
        lines = []
        for i in range(len(texts)):
            words = outputs["words"][i][: outputs["word_count"][i]]
            lines.append(" ".join(f"{w.decode()}/{t.decode() or '?'}" for w, t in zip(words, outputs["tags"][i])))
        return lines

    @tf.function(input_signature=[_STRINGS])
    def __call__(self, sentences):
        """`(batch,)` sentences -> a dict of `(batch, words)` tensors: `words`
        and `tags` strings (padded with `""`), `tag_ids` int32 (-1 for
        padding), and `word_count` `(batch,)` int32."""
        words = tf.strings.split(self.bounded(sentences))  # ragged (B, W)
        features = tagging_features(words, self.tokenizer, self.max_sequence_length)
        inputs = {key: features[key] for key in self.model.backbone.input}
        logits = self.model(inputs)["logits"]  # (B, T, C) float32
        predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)  # (B, T)

        # Move the prediction at each word's first piece to the word's slot.
        first_pieces = tf.where(features["word_ids"] >= 0)  # (N, 2): (row, position)
        slots = tf.stack(
            [tf.cast(first_pieces[:, 0], tf.int32), tf.gather_nd(features["word_ids"], first_pieces)], axis=1
        )
        word_count = tf.cast(words.row_lengths(), tf.int32)
        shape = tf.stack([tf.shape(word_count)[0], tf.reduce_max(tf.concat([word_count, [0]], 0))])
        # Stored shifted by one, so that words without a prediction read -1.
        tag_ids = tf.scatter_nd(slots, tf.gather_nd(predicted, first_pieces) + 1, shape) - 1  # (B, W)
        return {
            "words": words.to_tensor(""),
            "tags": tf.gather(self._label_table, tf.where(tag_ids < 0, len(self.label_names), tag_ids)),
            "tag_ids": tag_ids,
            "word_count": word_count,
        }


class QuestionAnswerer(ServingModule):
    """Answers questions with a span of a context, with a `BertSpanLabeler`.

    The context is read in windows as in training (`squad_features`: up to
    `max_sequence_length` pieces with the question, `doc_stride` apart), so
    long contexts are read whole; the answer is the best span over all
    windows (`squad_best_spans`), returned as the context's own bytes.

    Args:
        model: a trained `BertSpanLabeler`.
        tokenizer: its `WordPieceTokenizer`.
        max_sequence_length: packed length of a window (384 in BERT).
        max_query_length: most question pieces kept (64).
        doc_stride: distance between window starts, in pieces (128).
        max_answer_length: longest answer, in pieces (30).
        n_best_size: start and end candidates per window (20).

    Example:
    >>> import tempfile
    >>> from tf_models.data import WordPieceTokenizer
    >>> from tf_models.models import BertBackbone, BertSpanLabeler
    >>> path = tempfile.mkdtemp() + "/vocab.txt"
    >>> _ = open(path, "w").write("[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\nwho\\nsang\\nthe\\nbeatles\\n")
    >>> model = BertSpanLabeler(BertBackbone.from_preset("test", vocabulary_size=8))
    >>> reader = QuestionAnswerer(model, WordPieceTokenizer(path), max_sequence_length=16,
    ...                           max_query_length=8, doc_stride=4)
    >>> outputs = reader(tf.constant(["Who sang?"]), tf.constant(["The Beatles sang."]))
    >>> sorted(outputs), outputs["answer"].shape
    (['answer', 'begin', 'end', 'score'], TensorShape([1]))
    """

    TASK = "question_answerer"
    SERVING_SIGNATURES = {"serving_default": "__call__"}
    SETTINGS = ("max_sequence_length", "max_query_length", "doc_stride", "max_answer_length", "n_best_size")
    EXAMPLE_INPUTS = {"serving_default": {"questions": ["Who wrote it?", ""],
                                          "contexts": ["It was written by Jane Austen in 1813.", ""]}}
    NO_ANSWER_SCORE = -1e9  # JSON, and so TF Serving's REST API, has no -inf

    def __init__(self, model, tokenizer, max_sequence_length=384, max_query_length=64, doc_stride=128,
                 max_answer_length=30, n_best_size=20, max_input_bytes=QA_MAX_INPUT_BYTES,
                 max_batch_size=MAX_BATCH_SIZE):
        super().__init__(max_input_bytes, max_batch_size)
        if max_query_length + 4 > max_sequence_length:
            raise ValueError(
                f"max_sequence_length ({max_sequence_length}) must exceed max_query_length "
                f"({max_query_length}) + 3, to leave room for the context."
            )
        self.model = model
        self.tokenizer = tokenizer
        self.max_sequence_length = max_sequence_length
        self.max_query_length = max_query_length
        self.doc_stride = doc_stride
        self.max_answer_length = max_answer_length
        self.n_best_size = n_best_size

    @classmethod
    def request(cls, texts, context=None, second=None):
        """The questions `texts`, each about `context`."""
        if context is None:
            raise ValueError("A question-answering model reads the questions' --context TEXT.")
        return "serving_default", {"questions": list(texts), "contexts": [context] * len(texts)}

    @staticmethod
    def format_outputs(texts, outputs):
        """`question -> answer (score)` per question."""
        lines = []
        for i, text in enumerate(texts):
            answer = outputs["answer"][i].decode()
            lines.append(f"{text} -> {answer} ({outputs['score'][i]:.2f})" if answer else f"{text} -> (no answer)")
        return lines

    @tf.function(input_signature=[_STRINGS, _STRINGS])
    def __call__(self, questions, contexts):
        """`(batch,)` questions and contexts -> a dict of `(batch,)` tensors:
        `answer` string (`""` when no span qualifies), `begin` and `end`
        int32 byte offsets of the answer in its context (-1 without one), and
        `score` float32, the answer's start + end logit (`NO_ANSWER_SCORE`
        without one)."""
        questions, contexts = self.bounded(questions), self.bounded(contexts)  # bounds the windows too
        features = squad_features(questions, contexts, self.tokenizer, self.max_sequence_length,
                                  self.max_query_length, self.doc_stride)  # F windows
        logits = self.model({key: features[key] for key in SQUAD_INPUTS})  # (F, L) x 2
        spans = squad_best_spans(logits["start_logits"], logits["end_logits"], features,
                                 tf.shape(questions)[0], self.n_best_size, self.max_answer_length)
        found = spans["begin"] >= 0
        length = tf.maximum(spans["end"] - spans["begin"], 0)
        return {
            "answer": tf.strings.substr(contexts, tf.maximum(spans["begin"], 0), length),
            "begin": spans["begin"],
            "end": spans["end"],
            "score": tf.where(found, spans["score"], self.NO_ANSWER_SCORE),
        }
