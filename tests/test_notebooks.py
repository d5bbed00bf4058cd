"""The committed notebooks carry the outputs of a full run, without errors.

`make notebooks` (notebooks/run_all.py) writes them; `make test` executes
copies in quick mode and never rewrites the committed files.
"""

import json
import re
from pathlib import Path

import pytest
from notebook_outputs import unexpected_stderr

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 8


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_committed_outputs_come_from_a_full_run_without_errors(path):
    notebook = json.loads(path.read_text())
    run = notebook["metadata"].get("tf_models", {})
    assert run.get("mode") == "full", f"{path.name}: run `make notebooks` to commit its full-mode outputs"
    assert run.get("date") and run.get("machine") and run.get("seconds", 0) > 0
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code and all(cell.get("execution_count") for cell in code), "a code cell was not executed"
    assert [cell["execution_count"] for cell in code] == list(range(1, len(code) + 1)), "not run top to bottom"
    for cell in code:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", f"{path.name}: {output.get('ename')}: {output.get('evalue')}"
            text = "".join(output.get("text", ""))
            assert "Traceback" not in text and "TF_MODELS_QUICK" not in text
    assert any(cell.get("outputs") for cell in code)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_committed_outputs_write_nothing_to_stderr_beyond_the_allowlist(path):
    """No start-up noise or repeated library warnings in what a reader sees
    (tests/notebook_outputs.py lists the lines a lesson may keep)."""
    unexpected = unexpected_stderr(json.loads(path.read_text()))
    if unexpected:
        pytest.fail(f"{path.name} wrote to stderr:\n" + "\n".join(unexpected), pytrace=False)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_committed_run_names_its_cpu(path):
    """Every committed number has its machine: the CPU model, not just the
    number of cores (notebooks/run_all.py writes it)."""
    machine = json.loads(path.read_text())["metadata"].get("tf_models", {}).get("machine", "")
    assert re.match(r"[^\d\W].*, \d+ CPU cores, ", machine), f"{path.name}: {machine!r}; run `make notebooks`"


ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_readme_links_each_notebook(path):
    assert f"notebooks/{path.name}" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_imports_the_package_instead_of_redefining_it(path):
    code = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
    assert "from tf_models" in code
    assert not re.search(r"^class ", code, re.MULTILINE), f"{path.name} defines a class: import it from tf_models"
