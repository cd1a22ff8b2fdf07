"""The test folders have no ``__init__.py`` (pytest's rootdir import mode): two test files with one
basename stop the whole collection, so every basename is unique."""

from collections import Counter
from pathlib import Path


def test_test_module_basenames_are_unique():
    names = Counter(p.name for p in Path(__file__).parent.rglob("test_*.py"))
    assert not [n for n, c in names.items() if c > 1], names
