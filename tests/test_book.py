"""The book (book/): every page listed and runnable as a notebook, the fast switch, cross-references.

These checks are fast: they never execute a page. ``make book`` executes every page (CI runs it);
``pytest -m slow tests/test_book.py`` does it too, into a temporary folder.
"""

from __future__ import annotations

import importlib.util
import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
PAGES = sorted(p for p in BOOK.glob("*.md") if p.stem != "index")
#: chapters that docstrings may already name but whose task mir101 cannot run yet (no page until then)
CHAPTERS_TO_COME: set[str] = set()

pytest.importorskip("sphinx")
pytest.importorskip("myst_nb")


def code_cells(page: Path) -> list[str]:
    return re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", page.read_text(encoding="utf-8"), re.S)


def test_every_page_is_in_the_toc_and_every_toc_entry_is_a_page():
    index = (BOOK / "index.md").read_text(encoding="utf-8")
    toctree = re.search(r"```\{toctree\}\n(.*?)```", index, re.S)
    assert toctree, "book/index.md has no toctree"
    entries = [
        line.strip() for line in toctree.group(1).splitlines() if line.strip() and not line.startswith(":")
    ]
    assert sorted(entries) == sorted(p.stem for p in PAGES)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_is_a_notebook_that_imports_mir101_and_the_book_setup(page):
    text = page.read_text(encoding="utf-8")
    assert text.startswith("---\njupytext:"), (
        f"{page.name}: no jupytext header (it would not open as a notebook)"
    )
    assert "kernelspec:" in text.split("---")[1], f"{page.name}: no kernelspec in the header"
    cells = code_cells(page)
    assert cells, f"{page.name}: no code cell"
    assert "from booksetup import" in cells[0], f"{page.name}: the first cell must import booksetup"
    assert any(re.search(r"^\s*(from|import) mir101", c, re.M) for c in cells), (
        f"{page.name}: no mir101 import"
    )


def test_book_pages_named_by_docstrings_exist():
    """``Book page: ``book/<page>.md`` `` in the package names a page that exists (or a chapter to come)."""
    named = set()
    for path in (ROOT / "src" / "mir101").rglob("*.py"):
        named |= set(re.findall(r"book/([\w-]+)\.md", path.read_text(encoding="utf-8")))
    missing = sorted(n for n in named if not (BOOK / f"{n}.md").is_file() and n not in CHAPTERS_TO_COME)
    assert not missing, f"docstrings name book pages that do not exist: {missing}"


def _load_booksetup(monkeypatch, name: str):
    spec = importlib.util.spec_from_file_location(name, BOOK / "booksetup.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


def test_the_fast_switch_is_read_in_booksetup(monkeypatch):
    monkeypatch.setenv("MIR101_BOOK_FAST", "1")
    fast = _load_booksetup(monkeypatch, "booksetup_fast")
    monkeypatch.setenv("MIR101_BOOK_FAST", "0")
    full = _load_booksetup(monkeypatch, "booksetup_full")
    assert fast.FAST is True and full.FAST is False
    assert fast.SIZES.chorales["n"] < full.SIZES.chorales["n"]
    assert fast.SIZES.chorales["n"] >= 3, "a split needs at least 3 works (train, valid, test)"
    for page in PAGES:
        assert "MIR101_BOOK_FAST" not in "".join(code_cells(page)), f"{page.name} reads the switch itself"


def test_build_executes_every_page_and_fails_on_errors():
    conf = runpy.run_path(str(BOOK / "conf.py"))
    assert conf["nb_execution_mode"] == "force"
    assert conf["nb_execution_raise_on_error"] is True
    assert "intersphinx" not in " ".join(conf["extensions"]), "no network during the build"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    book_rule = re.search(r"^book:.*?\n((?:\t.*\n)+)", makefile, re.M)
    assert book_rule and "MIR101_BOOK_FAST=1" in book_rule.group(1) and " -W" in book_rule.group(1)


def _sphinx(src: Path, out: Path, execute: bool = False) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html"]
    if not execute:
        args += ["-D", "nb_execution_mode=off"]
    env = {**os.environ, "MIR101_BOOK_FAST": "1"}
    return subprocess.run([*args, str(src), str(out)], capture_output=True, text=True, env=env, timeout=1200)


def _copy_book(tmp_path: Path) -> Path:
    src = tmp_path / "book"
    shutil.copytree(BOOK, src, ignore=shutil.ignore_patterns("_build", "__pycache__", "*.ipynb"))
    return src


def test_cross_references_resolve(tmp_path):
    """Every {ref}, {doc} and link of the real pages resolves (pages not executed: fast)."""
    result = _sphinx(_copy_book(tmp_path), tmp_path / "html")
    assert result.returncode == 0, result.stderr[-3000:]


def test_a_broken_cross_reference_fails_the_build(tmp_path):
    """A {ref} to no label, a {doc} to no page, a link to no file: each is reported and fails the build."""
    src = _copy_book(tmp_path)
    broken = {
        "{ref}`no-such-label`": "undefined label: 'no-such-label'",
        "{doc}`no-such-page`": "unknown document: 'no-such-page'",
        "[a link](no-such-file.md)": "no-such-file.md",
    }
    with (src / "index.md").open("a", encoding="utf-8") as fid:
        fid.write("\n" + "\n\n".join(f"See {ref}." for ref in broken) + "\n")
    result = _sphinx(src, tmp_path / "html")
    assert result.returncode != 0
    for message in broken.values():
        assert message in result.stderr, result.stderr[-3000:]


@pytest.mark.slow
def test_the_book_executes(tmp_path):
    """What ``make book`` does: execute every page in fast mode."""
    result = _sphinx(BOOK, tmp_path / "html", execute=True)
    assert result.returncode == 0, result.stderr[-5000:]


@pytest.mark.parametrize("name", ["multipitch_rows.json", "multipitch_peers.json"])
def test_stored_benchmark_results_render_as_tables(name, monkeypatch):
    """The results tables the pages read: the benchmarks' JSON (rows or systems keyed by name)."""
    path = ROOT / "benchmarks" / "results" / name
    if not path.is_file():
        pytest.skip(f"{name} not measured yet")
    monkeypatch.syspath_prepend(str(BOOK))
    from booksetup import stored_results

    text = stored_results(path).data
    rows = __import__("json").loads(path.read_text())
    names = rows.get("rows") or rows.get("systems")
    for row in names:
        assert f"| {row} |" in text
    assert "Accuracy" in text
