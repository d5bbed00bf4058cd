"""What the notebooks may write to stderr: shared by tests/test_notebooks.py
(the committed outputs of a full run) and the repository's conftest.py (the
quick-mode copies that `make test` executes with nbmake).

A notebook's stderr is where a learner sees warnings, so start-up noise and
repeated library warnings are fixed where they start (`tf_models.startup`,
`shuffle=False` for datasets, `with_known_length`), not left in the outputs.
A line the lesson needs goes in `ALLOWED_STDERR`, with a comment saying why.
"""

import re

# Patterns (re.search) of the stderr lines a notebook may keep, each with the
# reason. None is needed today.
ALLOWED_STDERR = [
]


def stderr_lines(notebook):
    """`(cell index, line)` of every non-blank line a notebook's code cells
    wrote to stderr; `notebook` is the .ipynb file's JSON as a dict."""
    found = []
    for index, cell in enumerate(notebook["cells"]):
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream" and output["name"] == "stderr":
                text = "".join(output["text"])
                found += [(index, line) for line in text.splitlines() if line.strip()]
    return found


def unexpected_stderr(notebook):
    """The stderr lines no `ALLOWED_STDERR` pattern allows, as
    "cell <index>: <line>" strings."""
    return [f"cell {index}: {line}" for index, line in stderr_lines(notebook)
            if not any(re.search(pattern, line) for pattern in ALLOWED_STDERR)]
