"""LSA-smoothed reconstruction targets (NASHHasher's lsa_components, lsa_terms, lsa_weight)."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.preprocessing import normalize
from sklearn.utils.extmath import randomized_svd

from skhash import NASHHasher, SupervisedNASHHasher
from skhash.nash._batches import target_matrix
from skhash.nash._lsa_targets import (
    largest_positive,
    lsa_smoothed_part,
    lsa_smoothed_targets,
)

from ._fast_estimators import FAST_NASH
from .test_nash_hasher import topic_counts


def _random_docs(n=60, d=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d)) * (rng.random((n, d)) < 0.2)
    X[3] = 0.0  # an empty document
    return sp.csr_matrix(X)


def _largest_by_sorting(block, m):
    """Per row, the set of columns of the m largest positive entries (stable sort)."""
    out = []
    for row in block:
        order = np.argsort(-row, kind="stable")
        out.append(set(order[:m][row[order[:m]] > 0].tolist()))
    return out


@pytest.mark.parametrize("m", [1, 5, 17, 40])
def test_largest_positive_keeps_each_rows_m_largest_positive_entries(m):
    rng = np.random.default_rng(1)
    block = rng.standard_normal((25, 40))
    block[0] = -1.0  # no positive entry
    block[1, :3] = [0.5, 0.25, 2.0]  # three positive entries
    block[1, 3:] = -0.1
    indices = np.empty((25, m), dtype=np.int64)
    values = np.empty((25, m))
    counts = np.empty(25, dtype=np.int64)
    largest_positive(block, indices, values, counts)
    expected = _largest_by_sorting(block, m)
    assert counts.tolist() == [len(e) for e in expected]
    assert counts[0] == 0 and counts[1] == min(m, 3)
    for r in range(25):
        kept = indices[r, :counts[r]]
        assert set(kept.tolist()) == expected[r]
        np.testing.assert_array_equal(values[r, :counts[r]], block[r, kept])


def test_largest_positive_breaks_ties_at_the_cut_the_same_way_every_time():
    block = np.array([[1.0, 3.0, 1.0, 2.0, 1.0]])
    kept = []
    for _ in range(2):
        indices = np.empty((1, 3), dtype=np.int64)
        values = np.empty((1, 3))
        counts = np.empty(1, dtype=np.int64)
        largest_positive(block, indices, values, counts)
        kept.append(sorted(indices[0].tolist()))
        assert sorted(values[0].tolist()) == [1.0, 2.0, 3.0]
    assert kept[0] == kept[1] and {1, 3} < set(kept[0])


@pytest.mark.parametrize("block_entries", [40, 400, 1 << 23])
def test_lsa_smoothed_part_matches_a_dense_reference(block_entries):
    X = _random_docs()
    S = lsa_smoothed_part(X, 5, 7, random_state=3, block_entries=block_entries)
    Xn = normalize(X)
    _, _, components = randomized_svd(Xn, 5, n_iter=5, random_state=3)
    dense = np.maximum((Xn @ components.T) @ components, 0.0)
    expected = np.zeros_like(dense)
    for r, cols in enumerate(_largest_by_sorting(dense, 7)):
        cols = sorted(cols)
        if cols:
            expected[r, cols] = dense[r, cols] / dense[r, cols].sum()
    assert S.shape == X.shape and S.has_sorted_indices
    np.testing.assert_allclose(S.toarray(), expected, atol=1e-12)
    row_sums = np.asarray(S.sum(axis=1)).ravel()
    assert row_sums[3] == 0.0  # the empty document gets nothing
    np.testing.assert_allclose(np.delete(row_sums, 3), 1.0)
    assert np.diff(S.indptr).max() == 7


def test_lsa_smoothed_part_spreads_a_document_over_its_topics_words():
    X, topics = topic_counts(n_docs=90, n_words=30)
    S = lsa_smoothed_part(X, 3, 10).toarray()
    block = 10
    for i, t in enumerate(topics):
        inside = S[i, t * block:(t + 1) * block].sum()
        assert inside > 0.99, (i, inside)
    # words the document never used but its topic does are among its targets
    gained = ((X.toarray() == 0) & (S > 0)).sum(axis=1)
    assert (gained > 0).mean() > 0.8


def test_lsa_smoothed_part_caps_the_rank_and_handles_degenerate_input():
    X = sp.csr_matrix(np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]]))
    S = lsa_smoothed_part(X, 64, 256)  # rank capped at min(2, 3) - 1 = 1
    assert S.shape == (2, 3)
    np.testing.assert_allclose(np.asarray(S.sum(axis=1)).ravel()[S.getnnz(axis=1) > 0], 1.0)
    assert lsa_smoothed_part(sp.csr_matrix((4, 5)), 3, 2).nnz == 0  # no words at all
    assert lsa_smoothed_part(sp.csr_matrix(np.ones((1, 5))), 3, 2).nnz == 0  # one document


def test_lsa_smoothed_targets_add_weight_times_the_documents_mass():
    X = _random_docs()
    own = target_matrix(X)
    for weight in (0.5, 1.0, 3.0):
        T = lsa_smoothed_targets(X, 5, 7, weight)
        assert T.dtype == np.float32 and T.shape == X.shape
        np.testing.assert_allclose(np.asarray(T.sum(axis=1)).ravel(),
                                   (1 + weight) * np.asarray(own.sum(axis=1)).ravel(),
                                   rtol=1e-5)
        # the own targets are all still there
        assert (T.toarray() >= own.toarray() * (1 - 1e-6)).all()
    np.testing.assert_array_equal(lsa_smoothed_targets(X, 5, 7, 0.0).toarray(),
                                  own.toarray().astype(np.float32))
    # added to other targets, the smoothed part still weighs the document's own mass
    base = own * 3.0
    T = lsa_smoothed_targets(X, 5, 7, 1.0, base=base)
    np.testing.assert_allclose(np.asarray(T.sum(axis=1)).ravel(),
                               4.0 * np.asarray(own.sum(axis=1)).ravel(), rtol=1e-5)
    with pytest.raises(ValueError, match=r"base has shape \(2, 40\), X has \(60, 40\)"):
        lsa_smoothed_targets(X, 5, 7, 1.0, base=own[:2])


def test_the_estimator_trains_on_smoothed_targets_by_default():
    X, topics = topic_counts()
    default = NASHHasher(**FAST_NASH, random_state=0)
    assert (default.lsa_components, default.lsa_terms, default.lsa_weight) == (64, 256, 1.0)
    default.fit(X)
    off = NASHHasher(**FAST_NASH, lsa_components=0, random_state=0).fit(X)
    no_weight = NASHHasher(**FAST_NASH, lsa_weight=0.0, random_state=0).fit(X)
    # twice the targets' mass: the first epoch's reconstruction term about doubles
    assert default.loss_curve_[0] > 1.6 * off.loss_curve_[0]
    # either switch turns the smoothing off: the very same fit
    np.testing.assert_array_equal(off.loss_curve_, no_weight.loss_curve_)
    np.testing.assert_array_equal(off.transform(X), no_weight.transform(X))
    # the smoothing is the corpus', not the seed's: score() (the document's own words)
    # is unchanged in kind, and smoothed codes still separate the topics
    assert np.isfinite(default.score(X))
    codes = NASHHasher(**{**FAST_NASH, "max_iter": 30}, random_state=0).fit_transform(X)
    dist = (codes[:, None, :].astype(int) != codes[None, :, :]).sum(-1)
    same = topics[:, None] == topics[None, :]
    assert dist[same].mean() + 2 < dist[~same].mean()


def test_the_supervised_hasher_smooths_only_when_asked():
    X, topics = topic_counts()
    default = SupervisedNASHHasher(**FAST_NASH, random_state=0).fit(X, topics)
    assert default.lsa_components == 0  # it lowered precision@100 with the label loss
    unsupervised = NASHHasher(**FAST_NASH, random_state=0).get_params()
    shared = {k: v for k, v in default.get_params().items() if k in unsupervised}
    # the defaults that differ: no smoothing, and the paper's learned noise (NASH-DN-S)
    assert shared == {**unsupervised, "lsa_components": 0, "noise": "data"}
    assert unsupervised["noise"] == "fixed"
    smoothed = SupervisedNASHHasher(**FAST_NASH, lsa_components=64, lsa_weight=2.0,
                                    random_state=0).fit(X, topics)
    # three times the targets' mass in the reconstruction term
    assert smoothed.loss_curve_[0] > 2 * default.loss_curve_[0]


@pytest.mark.parametrize("param, value", [("lsa_components", -1), ("lsa_terms", 0),
                                          ("lsa_weight", -0.5)])
def test_bad_smoothing_parameters_are_rejected_by_name(param, value):
    X, _ = topic_counts(n_docs=10)
    with pytest.raises(ValueError, match=param):
        NASHHasher(**{param: value}).fit(X)


def test_largest_positive_rows_keep_each_rows_largest_positive_entries():
    from skhash.nash._lsa_targets import largest_positive_rows

    rng = np.random.default_rng(7)
    dense = rng.normal(size=(6, 12))
    dense[2] = -1.0  # no positive entry
    dense[3, :] = -1.0
    dense[3, [4, 9]] = [0.5, 2.0]  # two, fewer than m
    rows, totals = largest_positive_rows(dense, 3)
    assert rows.shape == dense.shape
    for i in range(6):
        positive = np.flatnonzero(dense[i] > 0)
        best = np.sort(positive[np.argsort(-dense[i, positive], kind="stable")[:3]])
        got = rows.indices[rows.indptr[i]:rows.indptr[i + 1]]
        np.testing.assert_array_equal(got, best)  # columns sorted
        np.testing.assert_array_equal(rows.data[rows.indptr[i]:rows.indptr[i + 1]],
                                      dense[i, best])
        assert totals[i] == pytest.approx(dense[i, best].sum())
    assert rows.getnnz(axis=1).tolist()[2:4] == [0, 2]
