"""`python -m tf_models ...`: see `tf_models.cli`."""

import os
import sys

# Quiet TensorFlow's C++ start-up messages (CUDA probing on CPU machines)
# before TensorFlow is imported; a user's own setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from tf_models.cli import main  # noqa: E402

sys.exit(main())
