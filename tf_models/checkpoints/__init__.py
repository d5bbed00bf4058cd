"""Pretrained BERT weights: Hugging Face, the original Google release, keras-hub.

Each importer translates the config, builds our `BertBackbone` (or
`BertPretrainer`) and copies the weights through an explicit name table,
checking every tensor first: one `CheckpointError` lists everything missing,
unexpected or of the wrong shape. The loaders also return the matching
`WordPieceTokenizer`.

    model, tokenizer = load_huggingface_bert("bert-base-uncased/")   # a downloaded repo
    model, tokenizer = load_google_bert("uncased_L-12_H-768_A-12/")  # an unzipped release
    model = from_keras_hub(keras_hub.models.BertBackbone.from_preset("bert_base_en_uncased"))

Nothing is downloaded here. PyTorch is needed only for `pytorch_model.bin`.
"""

from tf_models.checkpoints.google import (
    bert_config_from_google,
    load_google_bert,
    save_google_checkpoint,
)
from tf_models.checkpoints.huggingface import (
    bert_config_from_huggingface,
    huggingface_tokenizer,
    load_huggingface_bert,
)
from tf_models.checkpoints.keras_hub import from_keras_hub
from tf_models.checkpoints.weights import CheckpointError

__all__ = [
    "CheckpointError",
    "bert_config_from_google",
    "bert_config_from_huggingface",
    "from_keras_hub",
    "huggingface_tokenizer",
    "load_google_bert",
    "load_huggingface_bert",
    "save_google_checkpoint",
]
