"""The notebooks' exercises and their solutions (notebooks/solutions/).

Each notebook ends with an "## Exercises" cell; each exercise has a
function in the notebook's solution file that asserts what a correct
solution shows. Here every one of them runs in quick mode, in this process
(TensorFlow starts once), so the solutions stay correct as the package
changes.
"""

import ast
import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = ROOT / "notebooks" / "solutions"


def solution_file(notebook):
    return SOLUTIONS / f"{notebook.stem}.py"


def exercise_names(path):
    """The solution file's `exercise_*` functions, in order, read without importing it."""
    tree = ast.parse(path.read_text())
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("exercise_")]


_MODULES = {}


def load_solution(path, monkeypatch):
    """Imports a solution file once, in quick mode (it reads `TF_MODELS_QUICK` when imported)."""
    if path not in _MODULES:
        monkeypatch.setenv("TF_MODELS_QUICK", "1")
        spec = importlib.util.spec_from_file_location(f"solution_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _MODULES[path] = module
    return _MODULES[path]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_ends_with_exercises_that_its_solution_file_answers(notebook):
    path = solution_file(notebook)
    assert path.exists(), f"{notebook.name} has no solution file {path.relative_to(ROOT)}"
    names = exercise_names(path)
    assert 2 <= len(names) <= 4, f"{path.name}: two to four exercises, found {names}"
    assert [int(re.match(r"exercise_(\d+)_", name).group(1)) for name in names] == list(range(1, len(names) + 1))
    last = json.loads(notebook.read_text())["cells"][-1]
    text = "".join(last["source"])
    assert last["cell_type"] == "markdown" and text.startswith("## Exercises"), "the last cell is the exercises"
    assert f"solutions/{path.name}" in text, "the exercises link to their solutions"
    # One numbered exercise in the cell per function, each with a difficulty, a hint and what it shows.
    headings = re.findall(r"^\*\*(\d+)\. .+\*\* · \*(easy|medium|hard)\*", text, re.MULTILINE)
    assert [int(number) for number, _ in headings] == list(range(1, len(names) + 1)), headings
    assert text.count("*Hint:*") == len(names) and text.count("*A correct solution shows:*") == len(names)
    module = ast.parse(path.read_text())
    listed = next(node for node in module.body if isinstance(node, ast.Assign)
                  and getattr(node.targets[0], "id", None) == "EXERCISES")
    assert [element.id for element in listed.value.elts] == names, "EXERCISES lists every exercise, in order"


CASES = [(path, name) for path in sorted(SOLUTIONS.glob("[0-9][0-9]_*.py")) for name in exercise_names(path)]


@pytest.mark.parametrize("path, name", CASES, ids=[f"{path.stem[:2]}-{name}" for path, name in CASES])
def test_solution(path, name, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # whatever a solution writes lands here
    getattr(load_solution(path, monkeypatch), name)()
