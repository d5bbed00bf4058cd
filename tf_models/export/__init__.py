"""Export for TF Serving: versioned SavedModels that take raw strings."""

from tf_models.export.saved_model import (
    export_saved_model,
    latest_version,
    load_export,
    read_export_info,
    resolve_export,
    write_models_config,
)
from tf_models.export.warmup import read_warmup_requests, write_warmup_requests

__all__ = [
    "export_saved_model",
    "latest_version",
    "load_export",
    "read_export_info",
    "read_warmup_requests",
    "resolve_export",
    "write_models_config",
    "write_warmup_requests",
]
