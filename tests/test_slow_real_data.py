"""Slow tests on the real corpora (run with ``-m slow``; SKHASH_DATA or ../shared/data)."""

import numpy as np
import pytest
import scipy.sparse as sp

from skhash import HammingNeighbors, NASHHasher
from skhash.metrics import precision_at_k

pytestmark = pytest.mark.slow


def _load(folder, split):
    return sp.load_npz(folder / f"X_{split}.npz"), np.load(folder / f"y_{split}.npy")


def test_nash_on_reuters_beats_random_ranking_by_far(shared_data):
    folder = shared_data / "reuters"
    X_train, y_train = _load(folder, "train")
    X_test, y_test = _load(folder, "test")
    hasher = NASHHasher(n_bits=32, max_iter=15, random_state=0).fit(X_train)
    train_codes, test_codes = hasher.transform(X_train), hasher.transform(X_test)
    p100 = precision_at_k(test_codes, y_test, train_codes, y_train, k=100)
    # README of the data: random ranking ~0.22, 64-bit LSH ~0.35-0.40, TF-IDF cosine 0.769
    assert p100 > 0.7
    # the search index returns the rankings the metric used
    nn = HammingNeighbors(n_neighbors=100).fit(train_codes)
    _, ind = nn.kneighbors(test_codes[:50])
    rel = np.einsum("qkl,ql->qk", y_train[ind] != 0, y_test[:50] != 0) > 0
    assert rel.mean() == pytest.approx(
        precision_at_k(test_codes[:50], y_test[:50], train_codes, y_train, k=100)
    )


@pytest.mark.parametrize("hasher_class", ["NASHHasher", "SupervisedNASHHasher"])
def test_grid_search_and_cross_val_on_raw_posts(ng20_raw_sample, hasher_class):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import Pipeline

    import skhash
    from skhash.metrics import precision_at_k_scorer

    texts, labels = ng20_raw_sample
    hasher = getattr(skhash, hasher_class)(hidden_layer_sizes=(64,), max_iter=15, random_state=0)
    pipe = Pipeline([("tfidf", TfidfVectorizer(stop_words="english", min_df=2)),
                     ("hash", hasher)])
    search = GridSearchCV(pipe, {"hash__n_bits": [8, 16]}, cv=3, n_jobs=2,
                          scoring=precision_at_k_scorer(20)).fit(texts, labels)
    assert search.best_params_["hash__n_bits"] in (8, 16)
    scores = search.cv_results_["mean_test_score"]
    assert scores.shape == (2,) and (scores > 1 / 3).all()  # 3 groups: chance is 1/3
    cv_scores = cross_val_score(pipe, texts, labels, cv=3, scoring=precision_at_k_scorer(20))
    assert cv_scores.shape == (3,) and (cv_scores > 1 / 3).all()


def _ng20_subset_precision(shared_data, **params):
    """precision@100 of NASHHasher(n_bits=32, max_iter=20, random_state=0, **params)
    trained on 3,000 ng20 training posts, queried by 1,000 test posts."""
    folder = shared_data / "ng20"
    X_train, y_train = _load(folder, "train")
    X_test, y_test = _load(folder, "test")
    X_train, y_train = X_train[:3000], y_train[:3000]
    X_test, y_test = X_test[:1000], y_test[:1000]
    hasher = NASHHasher(n_bits=32, max_iter=20, random_state=0, **params).fit(X_train)
    return precision_at_k(hasher.transform(X_test), y_test, hasher.transform(X_train),
                          y_train, k=100)


def test_neighbour_targets_raise_precision_on_ng20(shared_data):
    # the paper's targets otherwise (lsa_components=0): over seeds 0/1/2 this measured
    # 0.387/0.392/0.382 without neighbour targets and 0.508/0.525/0.500 with 10
    plain = _ng20_subset_precision(shared_data, lsa_components=0)
    neighbours = _ng20_subset_precision(shared_data, lsa_components=0, target_neighbors=10)
    assert plain > 0.3
    assert neighbours > plain + 0.05


def test_lsa_smoothed_targets_raise_precision_on_ng20(shared_data):
    plain = _ng20_subset_precision(shared_data, lsa_components=0)
    smoothed = _ng20_subset_precision(shared_data)  # the default smoothing
    assert plain > 0.3
    assert smoothed > plain + 0.02


@pytest.mark.parametrize("hasher_class", ["ITQHasher", "SpectralHasher"])
def test_svd_hashers_give_the_same_codes_on_one_blas_thread_or_two(shared_data, hasher_class):
    from threadpoolctl import threadpool_limits

    from skhash import baselines

    X_train, _ = _load(shared_data / "ng20", "train")
    codes = []
    for threads in (1, 2):
        with threadpool_limits(threads):
            hasher = getattr(baselines, hasher_class)(n_bits=32, random_state=0)
            codes.append(hasher.fit(X_train).transform(X_train))
    # the float32 SVD gave up to 4% different ITQ bits here (2026-11-29)
    np.testing.assert_array_equal(codes[0], codes[1])


def test_lsa_smoothed_targets_are_the_same_on_one_blas_thread_or_two(shared_data):
    from threadpoolctl import threadpool_limits

    from skhash.nash._lsa_targets import lsa_smoothed_targets

    X_train, _ = _load(shared_data / "ng20", "train")
    targets = []
    for threads in (1, 2):
        with threadpool_limits(threads):
            targets.append(lsa_smoothed_targets(X_train, 64, 256, 1.0))
    # so NASH's fits stay independent of the thread count, as they were before
    assert (targets[0] != targets[1]).nnz == 0
