"""`python -m tf_models ...`: see `tf_models.cli`.

TensorFlow is imported once a command runs, through
`tf_models.startup.import_tensorflow`, which quiets its C++ start-up lines
and sets `TF_CPP_MIN_LOG_LEVEL=3` unless the environment sets it.
"""

import sys

from tf_models.cli import main

sys.exit(main())
