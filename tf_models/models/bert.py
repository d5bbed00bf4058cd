"""BERT (Devlin et al. 2018): the backbone and its task models."""

import dataclasses

import keras
from keras import ops

from tf_models.layers import BertEmbedding, Dropout, TransformerEncoderLayer, get_activation
from tf_models.layers.activations import serialize_initializer
from tf_models.models.configs import BertConfig, config_values
from tf_models.models.transformer import run_stack


def bert_initializer():
    """BERT initialises every weight matrix from N(0, 0.02), truncated."""
    return keras.initializers.TruncatedNormal(stddev=0.02)


def run_bert_encoder(embedding, layers, token_ids, segment_ids, padding_mask, attention_scores=None):
    """BERT's embeddings, then its stack: `(B, T) -> (B, T, H)`.

    The functional graph and `BertBackbone.attention_scores` call this
    (`attention_scores` as in `run_stack`).
    """
    x = embedding(token_ids, segment_ids)  # (B, T, H)
    return run_stack(layers, x, padding_mask=padding_mask, attention_scores=attention_scores)


@keras.saving.register_keras_serializable(package="tf_models")
class BertBackbone(keras.Model):
    """BERT's encoder: embeddings, then a stack of `TransformerEncoderLayer`.

    The stack is made of exactly the class the Transformer's encoder uses;
    BERT's differences are only settings (GELU, LayerNorm epsilon 1e-12,
    learned positions, segment embeddings) and a pooler on `[CLS]`.

    Inputs (a dict):
        token_ids: `(batch, length)` int32 WordPiece ids.
        segment_ids: `(batch, length)` int32, 0 for sentence A, 1 for B.
        padding_mask: `(batch, length)`, 1 (or true) for real tokens.

    Outputs (a dict):
        sequence_output: `(batch, length, hidden_dim)`, one vector per token.
        pooled_output: `(batch, hidden_dim)`, `tanh(W h_[CLS] + b)`.

    Args:
        vocabulary_size: WordPiece vocabulary size.
        num_layers: encoder layers (L).
        num_heads: attention heads (A).
        hidden_dim: width (H).
        intermediate_dim: feed-forward width (4H in the paper).
        dropout: dropout rate.
        max_sequence_length: number of learned positions.
        num_segments: number of segment ids.
        activation: feed-forward activation.
        layer_norm_epsilon: LayerNorm epsilon.
        **kwargs: `keras.Model` arguments such as `name`.

    Example:
    >>> backbone = BertBackbone.from_preset("test")
    >>> ids = keras.ops.array([[2, 7, 8, 3, 0]])
    >>> outputs = backbone({"token_ids": ids,
    ...                     "segment_ids": keras.ops.zeros_like(ids),
    ...                     "padding_mask": ids != 0})
    >>> outputs["pooled_output"].shape
    TensorShape([1, 16])
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        dropout=0.1,
        max_sequence_length=512,
        num_segments=2,
        activation="gelu_approximate",
        layer_norm_epsilon=1e-12,
        **kwargs,
    ):
        # === Layers ===
        embedding = BertEmbedding(
            vocabulary_size,
            hidden_dim,
            max_sequence_length=max_sequence_length,
            num_segments=num_segments,
            dropout=dropout,
            layer_norm_epsilon=layer_norm_epsilon,
            initializer=bert_initializer(),
            name="embedding",
        )
        encoder_layers = [
            TransformerEncoderLayer(
                num_heads=num_heads,
                intermediate_dim=intermediate_dim,
                dropout=dropout,
                activation=activation,
                layer_norm_epsilon=layer_norm_epsilon,
                kernel_initializer=bert_initializer(),
                name=f"encoder_layer_{i}",
            )
            for i in range(num_layers)
        ]
        pooler = keras.layers.Dense(
            hidden_dim,
            activation="tanh",
            kernel_initializer=bert_initializer(),
            name="pooler",
        )

        # === Functional graph ===
        token_ids = keras.Input((None,), dtype="int32", name="token_ids")
        segment_ids = keras.Input((None,), dtype="int32", name="segment_ids")
        padding_mask = keras.Input((None,), dtype="int32", name="padding_mask")

        x = run_bert_encoder(embedding, encoder_layers, token_ids, segment_ids, padding_mask)  # (B, T, H)
        pooled = pooler(x[:, 0, :])  # [CLS] is always the first token: (B, H)

        super().__init__(
            inputs={
                "token_ids": token_ids,
                "segment_ids": segment_ids,
                "padding_mask": padding_mask,
            },
            outputs={"sequence_output": x, "pooled_output": pooled},
            **kwargs,
        )

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon

        # === Parts ===
        self.embedding = embedding
        self.token_embedding = embedding.token_embedding
        self.encoder_layers = encoder_layers
        self.pooler = pooler

    def attention_scores(self, inputs):
        """Every layer's attention probabilities for `inputs`, from the
        forward pass itself (`run_bert_encoder`), dropout off.

        Args:
            inputs: the backbone's input dict (`token_ids`, `segment_ids`,
                `padding_mask`); other keys (a pretrainer's
                `mask_positions`) are ignored.

        Returns:
            `{"encoder": [...]}`: one `(batch, num_heads, length, length)`
            tensor per layer, in the compute dtype.
            `tf_models.visualization.attention_maps` returns them as
            float32 arrays, also for the task models built on a backbone.

        Example:
        >>> backbone = BertBackbone.from_preset("test")
        >>> ids = keras.ops.array([[2, 7, 8, 3, 0]])
        >>> scores = backbone.attention_scores({"token_ids": ids, "segment_ids": ids * 0,
        ...                                     "padding_mask": ids != 0})
        >>> [tuple(layer.shape) for layer in scores["encoder"]]
        [(1, 2, 5, 5), (1, 2, 5, 5)]
        """
        def ints(name):  # the dtype of the graph's inputs
            return ops.cast(ops.convert_to_tensor(inputs[name]), "int32")

        scores = []
        run_bert_encoder(self.embedding, self.encoder_layers, ints("token_ids"), ints("segment_ids"),
                         ints("padding_mask"), attention_scores=scores)
        return {"encoder": [layer_scores["self_attention"] for layer_scores in scores]}

    @classmethod
    def from_preset(cls, name, **overrides):
        """Builds a randomly initialised backbone from a named config preset.

        Args:
            name: a key of `tf_models.models.BERT_PRESETS` (`"tiny"`,
                `"mini"`, `"small"`, `"medium"`, `"base"`, `"large"`, `"test"`).
            **overrides: config fields to change, e.g. `vocabulary_size`.
        """
        return cls(**dataclasses.asdict(BertConfig.preset(name, **overrides)))

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, **config_values(self, BertConfig)}


@keras.saving.register_keras_serializable(package="tf_models")
class MaskedLMHead(keras.layers.Layer):
    """BERT's masked-LM head: predicts the tokens at the masked positions.

    Gathers the hidden states at `mask_positions`, transforms them (dense,
    activation, LayerNorm) and scores them against the token embedding table
    (tied weights) plus a per-token bias. Logits are float32.

    Args:
        token_embedding: the backbone's `TokenEmbedding`, whose table is
            reused for the output projection. It is shared, not owned, so it
            is not part of `get_config`: the model that builds this head
            passes it again when it is rebuilt.
        activation: activation of the transform.
        layer_norm_epsilon: epsilon of the transform's LayerNorm.
        kernel_initializer: initializer of the transform's kernel.
        **kwargs: standard `keras.layers.Layer` arguments.

    Example:
    >>> backbone = BertBackbone.from_preset("test")
    >>> head = MaskedLMHead(backbone.token_embedding)
    >>> hidden = keras.random.normal((2, 10, 16))
    >>> head(hidden, keras.ops.array([[1, 4], [2, 3]])).shape
    TensorShape([2, 2, 50])
    """

    def __init__(
        self,
        token_embedding,
        activation="gelu_approximate",
        layer_norm_epsilon=1e-12,
        kernel_initializer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.token_embedding = token_embedding
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.kernel_initializer = serialize_initializer(kernel_initializer or bert_initializer())

    def build(self, sequence_output_shape, mask_positions_shape=None):
        hidden_dim = sequence_output_shape[-1]
        self.transform = keras.layers.Dense(
            hidden_dim,
            activation=get_activation(self.activation),
            kernel_initializer=keras.initializers.get(self.kernel_initializer),
            dtype=self.dtype_policy,
            name="transform",
        )
        self.transform.build(sequence_output_shape)
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="layer_norm"
        )
        self.layer_norm.build(sequence_output_shape)
        self.output_bias = self.add_weight(
            shape=(self.token_embedding.vocabulary_size,),
            initializer="zeros",
            name="output_bias",
            autocast=False,  # added to float32 logits
        )

    def call(self, sequence_output, mask_positions):
        # (B, T, H), (B, M) -> (B, M, H)
        x = ops.take_along_axis(sequence_output, mask_positions[:, :, None], axis=1)
        x = self.layer_norm(self.transform(x))
        logits = self.token_embedding(x, reverse=True)  # (B, M, V) float32
        return logits + self.output_bias

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "kernel_initializer": self.kernel_initializer,
            }
        )
        return config


def freeze_unused_pooler(backbone):
    """Marks the pooler of `backbone` not trainable, for task models that
    read only the token outputs: it gets no gradient, and the optimizer
    would warn about it at every run. Its weights stay in the backbone (a
    classifier on this backbone can unfreeze them: `pooler.trainable = True`)."""
    backbone.pooler.trainable = False


class _BertTask(keras.Model):
    """Shared (de)serialisation of models that wrap a `BertBackbone`."""

    def _task_config(self):
        return {}

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            **self._task_config(),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="tf_models")
class BertPretrainer(_BertTask):
    """BERT with its pretraining heads: masked LM and, as in the paper, next
    sentence prediction.

    Inputs (a dict): the backbone's `token_ids`, `segment_ids`,
    `padding_mask`, plus `mask_positions`, `(batch, num_masked)` int32
    indices of the masked tokens (pad with 0 and give those a zero weight in
    the loss).

    Outputs (a dict):
        mlm_logits: `(batch, num_masked, vocabulary_size)` float32.
        nsp_logits: `(batch, 2)` float32; class 0 means "B follows A" (the
            original code's `is_random_next=False`). Only with
            `next_sentence_prediction`.

    Args:
        backbone: a `BertBackbone`.
        next_sentence_prediction: add the NSP head (BERT). Without it the
            model is pretrained on masked LM alone, as RoBERTa found works as
            well, on sequences packed full (`masked_lm_dataset`); the pooler
            then stays untrained until fine-tuning.
        **kwargs: `keras.Model` arguments such as `name`.

    Example:
    >>> model = BertPretrainer(BertBackbone.from_preset("test"))
    >>> ids = keras.ops.array([[2, 7, 4, 3]])
    >>> outputs = model({"token_ids": ids, "segment_ids": ids * 0,
    ...                  "padding_mask": ids != 0,
    ...                  "mask_positions": keras.ops.array([[2]])})
    >>> outputs["mlm_logits"].shape, outputs["nsp_logits"].shape
    (TensorShape([1, 1, 50]), TensorShape([1, 2]))
    """

    def __init__(self, backbone, next_sentence_prediction=True, **kwargs):
        mlm_head = MaskedLMHead(
            backbone.token_embedding,
            activation=backbone.activation,
            layer_norm_epsilon=backbone.layer_norm_epsilon,
            name="mlm_head",
        )
        inputs = dict(backbone.input)
        inputs["mask_positions"] = keras.Input((None,), dtype="int32", name="mask_positions")
        features = backbone({k: inputs[k] for k in backbone.input})
        outputs = {"mlm_logits": mlm_head(features["sequence_output"], inputs["mask_positions"])}
        nsp_head = None
        if next_sentence_prediction:
            nsp_head = keras.layers.Dense(
                2, kernel_initializer=bert_initializer(), dtype="float32", name="nsp_head"
            )
            outputs["nsp_logits"] = nsp_head(features["pooled_output"])
        else:
            freeze_unused_pooler(backbone)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.backbone = backbone
        self.next_sentence_prediction = next_sentence_prediction
        self.mlm_head = mlm_head
        self.nsp_head = nsp_head

    def _task_config(self):
        return {"next_sentence_prediction": self.next_sentence_prediction}


@keras.saving.register_keras_serializable(package="tf_models")
class BertClassifier(_BertTask):
    """BERT for sentence(-pair) classification: dropout and a dense layer on
    the pooled `[CLS]` output.

    Inputs (a dict): the backbone's `token_ids`, `segment_ids`, `padding_mask`.

    Outputs (a dict):
        logits: `(batch, num_classes)` float32.

    Args:
        backbone: a `BertBackbone`.
        num_classes: number of labels.
        dropout: dropout rate before the classifier (0.1 in the paper).
        **kwargs: `keras.Model` arguments such as `name`.

    Example:
    >>> model = BertClassifier(BertBackbone.from_preset("test"), num_classes=3)
    >>> ids = keras.ops.array([[2, 7, 3]])
    >>> model({"token_ids": ids, "segment_ids": ids * 0,
    ...        "padding_mask": ids != 0})["logits"].shape
    TensorShape([1, 3])
    """

    def __init__(self, backbone, num_classes, dropout=0.1, **kwargs):
        dropout_layer = Dropout(dropout, name="classifier_dropout")
        classifier = keras.layers.Dense(
            num_classes,
            kernel_initializer=bert_initializer(),
            dtype="float32",
            name="classifier",
        )
        # The pooler is this head's input: it trains, also when the backbone
        # comes frozen there from a model that did not read it (a masked-LM
        # pretrainer without NSP, a token tagger).
        backbone.pooler.trainable = True
        inputs = dict(backbone.input)
        pooled = backbone(inputs)["pooled_output"]
        logits = classifier(dropout_layer(pooled))
        super().__init__(inputs=inputs, outputs={"logits": logits}, **kwargs)
        self.backbone = backbone
        self.num_classes = num_classes
        self.dropout = dropout

    def _task_config(self):
        return {"num_classes": self.num_classes, "dropout": self.dropout}


@keras.saving.register_keras_serializable(package="tf_models")
class BertTagger(_BertTask):
    """BERT for token tagging (named entities, parts of speech): dropout and
    a dense layer on every token's output.

    Words are tagged through their first WordPiece; the other pieces, the
    special tokens and padding get logits too, which the loss ignores (see
    `tf_models.data.tagging.tagging_dataset`). The backbone's
    pooler, which this model does not read, is frozen (`freeze_unused_pooler`).

    Inputs (a dict): the backbone's `token_ids`, `segment_ids`, `padding_mask`.

    Outputs (a dict):
        logits: `(batch, length, num_classes)` float32.

    Args:
        backbone: a `BertBackbone`.
        num_classes: number of tags.
        dropout: dropout rate before the classifier (0.1 in the paper).
        **kwargs: `keras.Model` arguments such as `name`.

    Example:
    >>> model = BertTagger(BertBackbone.from_preset("test"), num_classes=5)
    >>> ids = keras.ops.array([[2, 7, 8, 3]])
    >>> model({"token_ids": ids, "segment_ids": ids * 0,
    ...        "padding_mask": ids != 0})["logits"].shape
    TensorShape([1, 4, 5])
    """

    def __init__(self, backbone, num_classes, dropout=0.1, **kwargs):
        dropout_layer = Dropout(dropout, name="classifier_dropout")
        classifier = keras.layers.Dense(
            num_classes,
            kernel_initializer=bert_initializer(),
            dtype="float32",
            name="classifier",
        )
        inputs = dict(backbone.input)
        sequence = backbone(inputs)["sequence_output"]  # (B, T, H)
        logits = classifier(dropout_layer(sequence))  # (B, T, C)
        super().__init__(inputs=inputs, outputs={"logits": logits}, **kwargs)
        freeze_unused_pooler(backbone)
        self.backbone = backbone
        self.num_classes = num_classes
        self.dropout = dropout

    def _task_config(self):
        return {"num_classes": self.num_classes, "dropout": self.dropout}


@keras.saving.register_keras_serializable(package="tf_models")
class BertSpanLabeler(_BertTask):
    """BERT for extractive question answering (SQuAD): one dense layer
    scores every token as the answer's start and as its end.

    The input is `[CLS] question [SEP] context [SEP]`; the answer is the
    context span from the best start to the best end (see
    `tf_models.data.question_answering.squad_predictions`). As in the paper
    the head has no dropout. The backbone's pooler, which this model does
    not read, is frozen (`freeze_unused_pooler`).

    Inputs (a dict): the backbone's `token_ids`, `segment_ids`, `padding_mask`.

    Outputs (a dict):
        start_logits: `(batch, length)` float32.
        end_logits: `(batch, length)` float32.

    Args:
        backbone: a `BertBackbone`.
        **kwargs: `keras.Model` arguments such as `name`.

    Example:
    >>> model = BertSpanLabeler(BertBackbone.from_preset("test"))
    >>> ids = keras.ops.array([[2, 7, 3, 8, 9, 3]])
    >>> outputs = model({"token_ids": ids, "segment_ids": ids * 0,
    ...                  "padding_mask": ids != 0})
    >>> outputs["start_logits"].shape, outputs["end_logits"].shape
    (TensorShape([1, 6]), TensorShape([1, 6]))
    """

    def __init__(self, backbone, **kwargs):
        span_head = keras.layers.Dense(
            2, kernel_initializer=bert_initializer(), dtype="float32", name="span_head"
        )
        inputs = dict(backbone.input)
        logits = span_head(backbone(inputs)["sequence_output"])  # (B, T, 2)
        super().__init__(
            inputs=inputs,
            outputs={"start_logits": logits[..., 0], "end_logits": logits[..., 1]},
            **kwargs,
        )
        freeze_unused_pooler(backbone)
        self.backbone = backbone
        self.span_head = span_head
