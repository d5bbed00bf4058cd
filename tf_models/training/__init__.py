"""Training pieces: schedules, optimizers, losses and metrics, hardware
choices and callbacks, for `model.fit`, and the loop that resumes exactly
and trains on several machines (`fit_resumable`)."""

from tf_models.training.baselines import (
    majority_class,
    mean_score,
    nearest_training_target,
    tfidf_logistic_regression,
    tfidf_ridge_regression,
)
from tf_models.training.callbacks import FirstStepTimer, progress_verbosity, training_callbacks
from tf_models.training.distribute import (
    check_devices,
    check_jit_compile,
    choose_policy_name,
    choose_strategy_name,
    cpu_has_bfloat16_units,
    select_policy,
    select_strategy,
)
from tf_models.training.losses import (
    MaskedAccuracy,
    MaskedSparseCategoricalCrossentropy,
    Perplexity,
)
from tf_models.training.optimizers import (
    LossScaleOptimizer,
    bert_optimizer,
    loss_scaled,
    transformer_optimizer,
)
from tf_models.training.multi_worker import WorkersDisagree, broadcast_from_chief, check_workers_agree, fingerprint
from tf_models.training.divergence import TrainingDiverged
from tf_models.training.resume import TrainingState, fit_resumable
from tf_models.training.topology import is_chief, is_multi_worker
from tf_models.training.schedules import TransformerSchedule, WarmupPolynomialDecay
from tf_models.training.compiling import (
    compile_bert_classifier,
    compile_bert_pretrainer,
    compile_causal_lm,
    compile_bert_regressor,
    compile_bert_span_labeler,
    compile_bert_token_classifier,
    compile_transformer,
)

__all__ = [
    "FirstStepTimer",
    "LossScaleOptimizer",
    "MaskedAccuracy",
    "MaskedSparseCategoricalCrossentropy",
    "Perplexity",
    "TrainingState",
    "TransformerSchedule",
    "WarmupPolynomialDecay",
    "WorkersDisagree",
    "bert_optimizer",
    "broadcast_from_chief",
    "check_devices",
    "check_jit_compile",
    "check_workers_agree",
    "choose_policy_name",
    "compile_bert_classifier",
    "compile_bert_pretrainer",
    "compile_causal_lm",
    "compile_bert_regressor",
    "compile_bert_span_labeler",
    "compile_bert_token_classifier",
    "compile_transformer",
    "cpu_has_bfloat16_units",
    "fingerprint",
    "fit_resumable",
    "is_chief",
    "is_multi_worker",
    "loss_scaled",
    "majority_class",
    "mean_score",
    "nearest_training_target",
    "progress_verbosity",
    "choose_strategy_name",
    "select_policy",
    "select_strategy",
    "tfidf_logistic_regression",
    "tfidf_ridge_regression",
    "training_callbacks",
    "TrainingDiverged",
    "transformer_optimizer",
]
