"""Neighbour-smoothed reconstruction targets (NASHHasher(target_neighbors=k))."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from skhash import NASHHasher
from skhash.nash._batches import BatchPlan, target_matrix
from skhash.nash._neighbor_targets import cosine_neighbors, neighbor_smoothed_targets
from skhash.nash._network import NASHNetwork

from ._fast_estimators import FAST_NASH
from .test_nash_hasher import topic_counts


def _random_docs(n=37, d=15, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d)) * (rng.random((n, d)) < 0.4)
    return sp.csr_matrix(X.astype(np.float32))


@pytest.mark.parametrize("block_entries", [1, 400, 1 << 24])
def test_cosine_neighbors_match_brute_force(block_entries):
    X = _random_docs()
    dense = X.toarray().astype(np.float64)
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    S = (dense / norms) @ (dense / norms).T
    np.fill_diagonal(S, -np.inf)
    expected = np.argsort(-S, axis=1, kind="stable")[:, :5]
    idx, sims = cosine_neighbors(X, 5, block_entries=block_entries)
    np.testing.assert_array_equal(idx, expected)
    np.testing.assert_allclose(sims, np.take_along_axis(S, expected, axis=1), rtol=1e-5)
    assert not (idx == np.arange(37)[:, None]).any()


def test_cosine_neighbors_fill_with_zero_similarity_rows_in_order():
    # sparse rows: many share no term with many others, one is empty, so most rows have
    # fewer than k positive similarities and the rest of their slots are filled
    rng = np.random.default_rng(3)
    dense = rng.random((30, 40)) * (rng.random((30, 40)) < 0.06)
    dense[7] = 0.0
    X = sp.csr_matrix(dense.astype(np.float32))
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    unit = dense / np.where(norms > 0, norms, 1.0)
    S = unit @ unit.T
    np.fill_diagonal(S, -np.inf)
    k = 12
    expected = np.argsort(-S, axis=1, kind="stable")[:, :k]
    idx, sims = cosine_neighbors(X, k)
    assert (np.sum(S > 0, axis=1) < k).sum() > 20  # the case under test is the common one
    np.testing.assert_array_equal(idx, expected)
    np.testing.assert_allclose(sims, np.take_along_axis(S, expected, axis=1), rtol=1e-5)
    np.testing.assert_array_equal(idx[7], [i for i in range(13) if i != 7])
    assert not sims[7].any()
    assert all(len(set(row)) == k for row in idx.tolist())  # distinct neighbours


@pytest.mark.parametrize("block_entries", [30, 1 << 24])
def test_neighbour_search_and_targets_do_not_depend_on_the_thread_count(block_entries):
    X = _random_docs(n=61, seed=4)
    one = cosine_neighbors(X, 7, block_entries=block_entries)
    two = cosine_neighbors(X, 7, block_entries=block_entries, n_jobs=2)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
    T1 = neighbor_smoothed_targets(X, 7, 2.0, block_entries=block_entries)
    T2 = neighbor_smoothed_targets(X, 7, 2.0, block_entries=block_entries, n_jobs=3)
    for a, b in ((T1.indptr, T2.indptr), (T1.indices, T2.indices), (T1.data, T2.data)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("k", [0, 37])
def test_cosine_neighbors_rejects_impossible_counts(k):
    with pytest.raises(ValueError, match=rf"n_neighbors={k} must be in \[1, 36\]"):
        cosine_neighbors(_random_docs(), k)


def test_smoothed_targets_add_the_mean_of_similar_neighbours():
    X = _random_docs(seed=1).tolil()
    X[3] = 0  # an empty document
    X[5] = 0
    X[5, 14] = 2.0  # a word no other document has: no neighbour with similarity > 0
    for i in range(X.shape[0]):
        if i != 5:
            X[i, 14] = 0
    X = sp.csr_matrix(X)
    X.eliminate_zeros()
    own = target_matrix(X).toarray()
    got = neighbor_smoothed_targets(X, 4, 0.7).toarray()
    idx, sims = cosine_neighbors(X, 4)
    for i in range(X.shape[0]):
        keep = idx[i][sims[i] > 0]
        extra = 0.7 * own[keep].mean(axis=0) if len(keep) else 0.0
        np.testing.assert_allclose(got[i], own[i] + extra, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got[5], own[5])  # isolated: its own words only
    assert not got[3].any()  # empty: nothing to reconstruct
    assert (sims[idx == 3] <= 0).all()  # an empty document is never a counted neighbour
    # built in blocks of a few rows: the same matrix, stored the same way
    small = neighbor_smoothed_targets(X, 4, 0.7, block_entries=50)
    whole = neighbor_smoothed_targets(X, 4, 0.7, block_entries=1 << 30)
    assert small.dtype == whole.dtype == np.float32 and small.shape == X.shape
    for a, b in ((small.indptr, whole.indptr), (small.indices, whole.indices),
                 (small.data, whole.data)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(small.toarray(), got)


def test_smoothed_targets_take_neighbours_from_the_given_space():
    X = _random_docs(seed=2)
    own = target_matrix(X).toarray()
    # a space where rows i and i ^ 1 (0-1, 2-3, ...) point the same way and nothing else does
    n = X.shape[0] - X.shape[0] % 2
    space = sp.csr_matrix(np.eye(n // 2).repeat(2, axis=0))
    got = neighbor_smoothed_targets(X[:n], 1, 0.5, space=space).toarray()
    partner = np.arange(n) ^ 1
    np.testing.assert_allclose(got, own[:n] + 0.5 * own[partner], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="space has 4 rows, X has"):
        neighbor_smoothed_targets(X[:n], 1, 0.5, space=space[:4])


def test_batches_carry_their_own_target_pattern_in_order():
    X = _random_docs()
    T = neighbor_smoothed_targets(X, 3, 1.0)
    assert T.nnz > X.nnz
    order = np.random.default_rng(0).permutation(X.shape[0])
    dense = []
    for batch in BatchPlan(X, T).batches(8, order):
        block = torch.zeros(batch.n_rows, X.shape[1]).index_put_(
            (batch.target_rows, batch.target_indices), batch.targets, accumulate=True
        )
        dense.append(block.numpy())
    np.testing.assert_allclose(np.vstack(dense), T.toarray()[order], rtol=1e-6)
    with pytest.raises(ValueError, match="targets has 36 rows, X has 37"):
        BatchPlan(X, T[:36])


def test_decoder_reconstructs_the_given_targets():
    torch.manual_seed(0)
    X = _random_docs(n=6, d=9)
    T = neighbor_smoothed_targets(X, 2, 1.0)
    net = NASHNetwork(9, 4, (5,), "none", 0.5)
    batch = next(BatchPlan(X, T).batches(6))
    z = (torch.rand(6, 4) > 0.5).float()
    got = net.decoder(z, batch).detach().numpy()
    dec = net.decoder
    log_p = torch.log_softmax(z @ dec.word_embedding + dec.word_bias, dim=1).detach().numpy()
    np.testing.assert_allclose(got, -(T.toarray() * log_p).sum(1), rtol=1e-5)


def test_hasher_with_neighbour_targets_separates_topics():
    X, topics = topic_counts()
    hasher = NASHHasher(**{**FAST_NASH, "max_iter": 30}, target_neighbors=5, lsa_components=0,
                        random_state=0)
    codes = hasher.fit(X).transform(X).astype(int)
    dist = (codes[:, None, :] != codes[None, :, :]).sum(-1)
    same = topics[:, None] == topics[None, :]
    assert dist[same].mean() + 2 < dist[~same].mean()
    # the neighbours' words are part of the training loss, not of score()
    plain = NASHHasher(**{**FAST_NASH, "max_iter": 1}, lsa_components=0, random_state=0).fit(X)
    smoothed = NASHHasher(**{**FAST_NASH, "max_iter": 1}, target_neighbors=5, lsa_components=0,
                          random_state=0).fit(X)
    assert smoothed.loss_curve_[0] > 1.5 * plain.loss_curve_[0]


def test_more_neighbours_than_documents_is_capped():
    X, _ = topic_counts(n_docs=4)
    codes = NASHHasher(**FAST_NASH, target_neighbors=50, random_state=0).fit_transform(X)
    assert codes.shape == (4, 8)


def test_negative_neighbour_count_is_rejected():
    X, _ = topic_counts(n_docs=10)
    with pytest.raises(ValueError, match="target_neighbors"):
        NASHHasher(target_neighbors=-1).fit(X)


@pytest.mark.parametrize("block_entries", [40, 1 << 24])
def test_neighbour_words_cut_to_the_strongest_keep_their_weight(block_entries):
    X = _random_docs(n=45, d=30, seed=5)
    own = target_matrix(X).toarray()
    whole = neighbor_smoothed_targets(X, 6, 3.0).toarray()
    part = whole - own  # the neighbours' weighted mean words
    assert (np.count_nonzero(part > 1e-6, axis=1) > 4).all()  # so that the cut cuts
    cut = neighbor_smoothed_targets(X, 6, 3.0, n_terms=4,
                                    block_entries=block_entries).toarray()
    kept = cut - own
    for i in range(X.shape[0]):
        words = np.flatnonzero(kept[i] > 1e-6)
        assert len(words) == 4
        # the four strongest of the whole mean, scaled up to its total
        np.testing.assert_array_equal(np.sort(words), np.sort(np.argsort(-part[i])[:4]))
        np.testing.assert_allclose(kept[i, words],
                                   part[i, words] * part[i].sum() / part[i, words].sum(),
                                   rtol=1e-5)
    np.testing.assert_allclose(cut.sum(axis=1), whole.sum(axis=1), rtol=1e-5)
    # as many words as the vocabulary, or more: nothing is cut
    for n_terms in (30, 100):
        same = neighbor_smoothed_targets(X, 6, 3.0, n_terms=n_terms).toarray()
        np.testing.assert_array_equal(same, whole)


def test_hasher_passes_neighbor_terms_on_and_validates_it():
    X, topics = topic_counts()
    full = NASHHasher(**{**FAST_NASH, "max_iter": 1}, target_neighbors=5, lsa_components=0,
                      random_state=0)
    cut = NASHHasher(**{**FAST_NASH, "max_iter": 1}, target_neighbors=5, neighbor_terms=3,
                     lsa_components=0, random_state=0)
    Xc = sp.csr_matrix(X, dtype=np.float32)
    n_full = full._reconstruction_targets(Xc).nnz
    n_cut = cut._reconstruction_targets(Xc).nnz
    assert n_cut <= target_matrix(Xc).nnz + 3 * X.shape[0] < n_full
    assert cut.fit_transform(X).shape == (X.shape[0], 8)
    with pytest.raises(ValueError, match="neighbor_terms"):
        NASHHasher(target_neighbors=5, neighbor_terms=0).fit(X)


@pytest.mark.parametrize("min_similarity", [0.0, 0.55, 0.65])
def test_neighbours_above_a_similarity_each_weigh_a_fixed_share(min_similarity):
    X = _random_docs(n=41, d=20, seed=7)
    own = target_matrix(X).toarray()
    got = neighbor_smoothed_targets(X, 5, 2.0, min_similarity=min_similarity).toarray()
    idx, sims = cosine_neighbors(X, 5)
    counts = (sims > min_similarity).sum(axis=1)
    # (these documents' five nearest lie at similarities 0.41-0.90: the cuts cut)
    assert 0 < counts.sum() < 5 * X.shape[0] or min_similarity == 0.0
    assert len(set(counts.tolist())) > 2 or min_similarity == 0.0
    for i in range(X.shape[0]):
        keep = idx[i][sims[i] > min_similarity]
        # each counted neighbour at 2.0 / 5, however many count: fewer, less weight
        np.testing.assert_allclose(got[i], own[i] + (2.0 / 5) * own[keep].sum(axis=0),
                                   rtol=1e-5, atol=1e-6)
    # the neighbours' total weight follows the share of the five that are that similar
    extra = got.sum(axis=1) - own.sum(axis=1)
    expected = np.array([(2.0 / 5) * own[idx[i][sims[i] > min_similarity]].sum()
                         for i in range(X.shape[0])])
    np.testing.assert_allclose(extra, expected, rtol=1e-5, atol=1e-5)


def test_hasher_passes_neighbor_similarity_on_and_validates_it():
    X, topics = topic_counts()
    Xc = sp.csr_matrix(X, dtype=np.float32)
    params = {**FAST_NASH, "max_iter": 1, "target_neighbors": 5, "lsa_components": 0,
              "random_state": 0}
    strict = NASHHasher(**params, neighbor_similarity=0.99)._reconstruction_targets(Xc)
    loose = NASHHasher(**params, neighbor_similarity=0.0)._reconstruction_targets(Xc)
    # no two documents that similar: the own words alone; at 0 every positive one counts
    np.testing.assert_allclose(strict.toarray(), target_matrix(Xc).toarray(), rtol=1e-6)
    assert loose.nnz > strict.nnz
    hasher = NASHHasher(**params, neighbor_similarity=0.1)
    assert hasher.fit_transform(X).shape == (X.shape[0], 8)
    for bad in (1.0, -0.1, "high"):
        with pytest.raises(ValueError, match="neighbor_similarity"):
            NASHHasher(target_neighbors=5, neighbor_similarity=bad).fit(X)
