"""The README, README.zh-CN.md and docs/: numbers from the results files,
links that resolve, and a site that builds.

Together about 5 seconds (the MkDocs build is most of it).
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools import results_blocks

ROOT = Path(__file__).resolve().parents[1]
FRONT_DOORS = [ROOT / "README.md", ROOT / "README.zh-CN.md"]


def test_every_results_block_is_what_the_results_files_say():
    stale = results_blocks.stale_pages()
    assert not stale, (f"{', '.join(str(page.relative_to(ROOT)) for page in stale)}: a results block differs "
                       "from its file; run `python -m tools.results_blocks`")


def test_the_front_doors_share_their_generated_blocks():
    english, chinese = (re.findall(r"<!-- results: ([a-z0-9_]+) -->", page.read_text()) for page in FRONT_DOORS)
    assert english and english == chinese


def test_an_unknown_block_name_is_refused():
    with pytest.raises(KeyError, match="no results block named 'nope'"):
        results_blocks.render("<!-- results: nope -->\n<!-- /results -->\n")


def test_a_block_says_which_file_date_and_machine_it_comes_from():
    block = results_blocks.BLOCKS["demo_table"]("en")
    assert "benchmarks/results/demo_cpu.json" in block and re.search(r"\d{4}-\d\d-\d\d", block)
    # A file written before write_results recorded a machine: provenance.json speaks for it.
    assert "model not recorded" in results_blocks.BLOCKS["serving_memory"]("en")


@pytest.mark.parametrize("page", FRONT_DOORS, ids=lambda page: page.name)
def test_the_front_doors_relative_links_resolve(page):
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text())
    local = [target for target in targets if "://" not in target]
    assert local
    missing = [target for target in local if not (ROOT / target).exists()]
    assert not missing, f"{page.name} links to missing files: {missing}"


def test_the_docs_site_builds_strictly(tmp_path):
    # --strict: a broken link or anchor, a page left out of the nav, or a
    # docstring mkdocstrings cannot read fails the build.
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir",
                           str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "glossary" / "index.html").exists()
    assert "TransformerEncoderLayer" in (tmp_path / "site" / "api" / "layers" / "index.html").read_text()
