"""The README, README.zh-CN.md, docs/ and benchmarks/README.md: numbers from
the results files, links that resolve, and a site that builds.

Together about 5 seconds (the MkDocs build is most of it).
"""

import inspect
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


# What a measured number looks like: a ratio to two decimals, a percentage to
# one, a memory, a time per step or a throughput. Outside a results block such
# a number was typed by hand and goes stale; settings and goals ("1.2x", "15%")
# have no such precision.
MEASURED = re.compile(r"\b\d+\.\d\dx\b|\b\d+\.\d%|\d[\d,.]*\s?(?:MiB|GiB|ms|tokens/s|sequences/s|sentences/s)\b"
                      r"|BLEU:? \d+\.\d|\d+\.\d+ BLEU")
PROSE_PAGES = [*results_blocks.pages(), ROOT / "notebooks" / "README.md", ROOT / "saved_models" / "README.md"]


def test_benchmarks_readme_quotes_the_results_files_through_blocks():
    readme = ROOT / "benchmarks" / "README.md"
    assert readme in results_blocks.pages()  # so --check and the test above read it
    quoted = set(re.findall(r"<!-- results: ([a-z0-9_]+) -->", readme.read_text()))
    # Each results file is read by a block of that page (demo_cpu.json: the README's).
    files = {path.name for path in results_blocks.RESULTS.glob("*_cpu.json")} - {"demo_cpu.json"}
    read = {name for name in files if any(name in inspect.getsource(results_blocks.BLOCKS[block]) for block in quoted)}
    assert read == files, f"results files no block of benchmarks/README.md reads: {sorted(files - read)}"


@pytest.mark.parametrize("page", PROSE_PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_measured_numbers_appear_only_inside_results_blocks(page):
    text = results_blocks.BLOCK.sub("", page.read_text())
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)  # commands and printed output
    typed = [match.group(0) for match in MEASURED.finditer(text)]
    assert not typed, f"{page.relative_to(ROOT)}: numbers typed by hand, not from a results file: {typed}"


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
