"""`mir101 quickstart` (what `make demo` runs), end to end on a tiny chorale corpus."""

from __future__ import annotations

import json
import shutil

import pytest

from mir101.cli import main
from mir101.cli.quickstart import find_other_soundfont
from mir101.config import load_config
from mir101.data.corpora.render import default_soundfont
from mir101.data.store import Store
from mir101.tasks import EvalResult
from mir101.tasks.quickstart import held_out_chorales, quickstart_config
from mir101.utils.io import cache_dir

TINY = [
    "data.corpus_args.n=6",
    "data.corpus_args.renditions=1",
    "data.corpus_args.variation={tempo: [140.0, 160.0]}",
    "data.corpus_args.progress=false",
    "trainer.max_steps=2",
    "trainer.limit_val_batches=2",
    "trainer.enable_progress_bar=false",
]


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """An empty mir101 cache, with the chorale catalogue copied in when it is indexed already."""
    (tmp_path / "cache" / "corpora").mkdir(parents=True)
    for path in cache_dir("corpora").glob("chorale-catalogue-*.json"):
        shutil.copy(path, tmp_path / "cache" / "corpora")
    monkeypatch.setenv("MIR101_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_quickstart_scores_the_held_out_works_rendered_with_another_soundfont(
    own_cache, tmp_path, monkeypatch
):
    # the training SoundFont named as the "other" one: the same performances must then give the
    # same scores, which checks that the second store holds exactly the held-out renditions
    monkeypatch.setenv("MIR101_TEST_SOUNDFONT", str(default_soundfont()))
    assert find_other_soundfont() == default_soundfont()
    out = tmp_path / "run"
    assert main(["quickstart", "--out", str(out), *TINY]) == 0
    metrics = EvalResult.load(out / "metrics.json")
    test, other = metrics.sets["test"], metrics.sets["other_soundfont"]
    assert test["items"] == other["items"] >= 1
    assert other["Accuracy"] == pytest.approx(test["Accuracy"], abs=1e-9)
    held = held_out_chorales(load_config(quickstart_config(), TINY))
    split = json.loads((out / "split.json").read_text())
    assert sorted(k.split("-")[0] for k in split["test"]) == held
    rendered = [p for p in (own_cache / "corpora").glob("chorales-*.pyjama")]
    assert len(rendered) == 2  # the training corpus, and the held-out works alone
    sizes = sorted(len(Store(p.with_suffix("")).keys) for p in rendered)
    assert sizes[0] < sizes[1]
    assert (out / "report.md").is_file() and (out / "model.pt").is_file()


def test_a_missing_test_soundfont_is_named(own_cache, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("MIR101_TEST_SOUNDFONT", str(tmp_path / "nope.sf2"))
    assert main(["quickstart", "--out", str(tmp_path / "run"), *TINY]) == 2
    assert "MIR101_TEST_SOUNDFONT" in capsys.readouterr().err
