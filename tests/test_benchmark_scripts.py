"""The reproduction benchmark runs end to end on a small generated data folder."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from skhash.datasets import make_topic_corpus

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def data_folder(tmp_path):
    """A folder in the shared corpora's format: X_{split}.npz TF-IDF, y_{split}.npy."""
    texts, y = make_topic_corpus(260, n_topics=4, random_state=0)
    vectorizer = TfidfVectorizer().fit(texts[:200])
    folder = tmp_path / "topics"
    folder.mkdir()
    for split, rows in (("train", slice(0, 200)), ("test", slice(200, 260))):
        sp.save_npz(folder / f"X_{split}.npz", vectorizer.transform(texts[rows]).astype(np.float32))
        np.save(folder / f"y_{split}.npy", np.asarray(y[rows]))
    return folder


def _bench_reproduce():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_reproduce
    finally:
        sys.path.remove(str(BENCHMARKS))
    return bench_reproduce


def test_compare_gives_mean_differences_and_both_spreads():
    def frame(rows):
        return pd.DataFrame(rows, columns=["dataset", "method", "bits", "seed",
                                           "precision_at_100"])

    ours = frame([("d", "NASH", 8, 0, 0.50), ("d", "NASH", 8, 1, 0.52),
                  ("d", "ITQ", 8, 0, 0.40), ("e", "NASH", 8, 0, 0.10)])
    other = frame([("d", "NASH", 8, 0, 0.45), ("d", "NASH", 8, 1, 0.47),
                   ("d", "LSH", 8, 0, 0.20)])
    lines = _bench_reproduce().compare(ours, other, "d", [8, 16])
    assert lines == ["NASH: 8: +0.0500 (std 0.0141/0.0141)"]


def test_bench_reproduce_runs_and_records_the_compute_dtype(data_folder, tmp_path, capsys,
                                                           monkeypatch):
    bench_reproduce = _bench_reproduce()
    for name in bench_reproduce.MALLOC_ENV:  # main sets them; restored after the test
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "out"
    bench_reproduce.main(["--data", str(data_folder), "--methods", "ITQ", "NASH-DN", "NASH-DN-S",
                          "--bits", "8", "16", "--seeds", "0", "--epochs", "2", "--jobs", "1",
                          "--compute-dtype", "bfloat16", "--out", str(out)])
    printed = capsys.readouterr().out
    assert "neural compute_dtype bfloat16" in printed
    assert "## topics: precision@100" in printed
    assert "  [6/6] topics " in printed  # one progress line per fit
    assert f"MALLOC_MMAP_THRESHOLD_={64 << 20}" in printed
    (csv,) = out.glob("reproduce-*.csv")
    results = pd.read_csv(csv, keep_default_na=False)
    assert len(results) == 3 * 2
    assert set(results.method) == {"ITQ", "NASH-DN", "NASH-DN-S"}
    neural = results.method != "ITQ"
    assert (results.compute_dtype[neural] == "bfloat16").all()
    assert (results.compute_dtype[~neural] == "").all()
    assert (pd.to_numeric(results.epochs[neural]) == 2).all()
    assert results.precision_at_100.between(0, 1).all()
