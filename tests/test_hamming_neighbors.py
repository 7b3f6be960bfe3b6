"""HammingNeighbors: exact agreement with a numpy reference on every algorithm."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skhash import HammingNeighbors
from skhash.utils import pack_codes, unpack_codes

ALGORITHMS = [
    dict(algorithm="brute"),
    dict(algorithm="mih"),
    dict(algorithm="mih", n_substrings=1),
    dict(algorithm="mih", n_substrings=3),
    dict(algorithm="auto"),
]


def reference_distances(queries, database):
    return (queries[:, None, :] != database[None, :, :]).sum(-1)


def reference_kneighbors(queries, database, k, leave_self_out=False):
    dist = reference_distances(queries, database)
    if leave_self_out:
        np.fill_diagonal(dist, 10**6)
    order = np.lexsort((np.broadcast_to(np.arange(database.shape[0]), dist.shape), dist))
    idx = order[:, :k]
    return np.take_along_axis(dist, idx, axis=1), idx


@st.composite
def code_sets(draw):
    n_bits = draw(st.sampled_from([1, 2, 3, 5, 8, 13, 31, 64, 65, 100, 128]))
    n_db = draw(st.integers(1, 60))
    n_q = draw(st.integers(1, 10))
    # few distinct patterns -> many exact ties
    n_patterns = draw(st.integers(1, 8))
    patterns = draw(arrays(np.uint8, (n_patterns, n_bits), elements=st.integers(0, 1)))
    pick = draw(arrays(np.int64, n_db + n_q, elements=st.integers(0, n_patterns - 1)))
    flips = draw(arrays(np.uint8, (n_db + n_q, n_bits), elements=st.sampled_from([0, 0, 0, 1])))
    codes = patterns[pick] ^ flips
    return codes[:n_db], codes[n_db:]


@settings(max_examples=60, deadline=None)
@given(data=code_sets(), k_frac=st.floats(0, 1), params=st.sampled_from(ALGORITHMS))
def test_kneighbors_matches_reference_exactly(data, k_frac, params):
    database, queries = data
    k = max(1, int(round(k_frac * database.shape[0])))
    nn = HammingNeighbors(**params).fit(database)
    dist, idx = nn.kneighbors(queries, k)
    ref_dist, ref_idx = reference_kneighbors(queries, database, k)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_array_equal(dist, ref_dist)
    if database.shape[0] > 1:
        k_loo = min(k, database.shape[0] - 1)
        dist, idx = nn.kneighbors(None, k_loo)
        ref_dist, ref_idx = reference_kneighbors(database, database, k_loo, leave_self_out=True)
        np.testing.assert_array_equal(idx, ref_idx)
        np.testing.assert_array_equal(dist, ref_dist)


@settings(max_examples=60, deadline=None)
@given(data=code_sets(), radius=st.integers(0, 12), params=st.sampled_from(ALGORITHMS))
def test_radius_neighbors_is_exactly_the_ball(data, radius, params):
    database, queries = data
    nn = HammingNeighbors(**params).fit(database)
    dist, idx = nn.radius_neighbors(queries, radius)
    ref = reference_distances(queries, database)
    for q in range(queries.shape[0]):
        inside = np.flatnonzero(ref[q] <= radius)
        inside = inside[np.argsort(ref[q][inside], kind="stable")]
        np.testing.assert_array_equal(idx[q], inside)
        np.testing.assert_array_equal(dist[q], ref[q][inside])
    loo_idx = nn.radius_neighbors(radius=radius, return_distance=False)
    self_ref = reference_distances(database, database)
    for i in range(database.shape[0]):
        expected = set(np.flatnonzero(self_ref[i] <= radius)) - {i}
        assert set(loo_idx[i].tolist()) == expected


@settings(max_examples=40, deadline=None)
@given(data=code_sets())
def test_hamming_distance_is_a_metric(data):
    database, _ = data
    nn = HammingNeighbors(algorithm="brute").fit(database)
    n = database.shape[0]
    dist, idx = nn.kneighbors(database, n)
    full = np.empty((n, n), dtype=np.int64)
    np.put_along_axis(full, idx, dist, axis=1)
    assert (np.diag(full) == 0).all()
    np.testing.assert_array_equal(full, full.T)
    assert (full[:, :, None] <= full[:, None, :] + full.T[None, :, :]).all()
    same = (database[:, None, :] == database[None, :, :]).all(-1)
    np.testing.assert_array_equal(full == 0, same)


@given(arrays(np.uint8, st.tuples(st.integers(1, 20), st.integers(1, 200)),
              elements=st.integers(0, 1)))
def test_packing_round_trips(codes):
    packed = pack_codes(codes)
    assert packed.dtype == np.uint64 and packed.shape == (codes.shape[0], -(-codes.shape[1] // 64))
    np.testing.assert_array_equal(unpack_codes(packed, codes.shape[1]), codes)


def test_packed_input_gives_the_same_answers():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 2, size=(200, 70)).astype(np.uint8)
    plain = HammingNeighbors(n_neighbors=7).fit(codes)
    packed = HammingNeighbors(n_neighbors=7, packed_bits=70).fit(pack_codes(codes))
    np.testing.assert_array_equal(
        plain.kneighbors(codes[:20])[1], packed.kneighbors(pack_codes(codes[:20]))[1]
    )
    assert packed.codes_.nbytes == 200 * 16  # two 64-bit words a 70-bit code
    with pytest.raises(ValueError, match="beyond packed_bits"):
        HammingNeighbors(packed_bits=3).fit(np.array([[np.uint64(8)]], dtype=np.uint64))


def test_graphs_match_the_neighbour_lists():
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 2, size=(40, 6)).astype(np.uint8)
    nn = HammingNeighbors(n_neighbors=3, radius=2).fit(codes)
    graph = nn.kneighbors_graph(codes[:5], mode="distance")
    dist, idx = nn.kneighbors(codes[:5])
    assert sp.isspmatrix_csr(graph) and graph.shape == (5, 40)
    for q in range(5):
        np.testing.assert_array_equal(graph[q].indices, idx[q])
        np.testing.assert_array_equal(graph[q].data, dist[q])
    rgraph = nn.radius_neighbors_graph(mode="connectivity")
    ridx = nn.radius_neighbors(return_distance=False)
    assert rgraph.shape == (40, 40)
    for i in range(40):
        assert set(rgraph[i].indices) == set(ridx[i]) and (rgraph[i].data == 1).all()


def test_wide_codes_with_one_requested_substring_stay_exact():
    # 128-bit codes cannot be one 64-bit substring: the count is raised to 2
    rng = np.random.default_rng(4)
    codes = rng.integers(0, 2, size=(300, 128)).astype(np.uint8)
    codes[150:] = codes[:150] ^ (rng.random((150, 128)) < 0.02)
    nn = HammingNeighbors(algorithm="mih", n_substrings=1).fit(codes)
    assert nn._substring_count(3) == 2
    ref = reference_distances(codes[:20], codes)
    for q, found in enumerate(nn.radius_neighbors(codes[:20], radius=6, return_distance=False)):
        inside = np.flatnonzero(ref[q] <= 6)
        np.testing.assert_array_equal(found, inside[np.argsort(ref[q][inside], kind="stable")])
    np.testing.assert_array_equal(
        nn.kneighbors(codes[:20], 5)[1], reference_kneighbors(codes[:20], codes, 5)[1]
    )


@pytest.mark.parametrize("n_bits", [40, 64, 128, 200])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_scan_across_chunks_and_query_blocks_is_exact(n_bits, n_threads):
    # The hypothesis tests' sets fit in one chunk of database rows and one block of
    # queries; here the scan crosses several chunks (1,300 rows, the last one partial) and
    # several query blocks (75 queries), with codes of one, two and four 64-bit words,
    # clustered so that distances tie and chunks are skipped.
    import numba

    rng = np.random.default_rng(n_bits)
    centres = rng.integers(0, 2, size=(12, n_bits), dtype=np.uint8)
    codes = centres[rng.integers(12, size=1375)] ^ (rng.random((1375, n_bits)) < 0.05)
    database, queries = codes[:1300].astype(np.uint8), codes[1300:].astype(np.uint8)
    nn = HammingNeighbors(algorithm="brute").fit(database)
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        dist, idx = nn.kneighbors(queries, 60)
        loo_dist, loo_idx = nn.kneighbors(None, 10)
        ball = nn.radius_neighbors(queries, radius=n_bits // 10)
    finally:
        numba.set_num_threads(previous)
    ref_dist, ref_idx = reference_kneighbors(queries, database, 60)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_array_equal(dist, ref_dist)
    ref_loo_dist, ref_loo_idx = reference_kneighbors(database, database, 10, leave_self_out=True)
    np.testing.assert_array_equal(loo_idx, ref_loo_idx)
    np.testing.assert_array_equal(loo_dist, ref_loo_dist)
    ref = reference_distances(queries, database)
    for q in range(queries.shape[0]):
        inside = np.flatnonzero(ref[q] <= n_bits // 10)
        inside = inside[np.argsort(ref[q][inside], kind="stable")]
        np.testing.assert_array_equal(ball[1][q], inside)
        np.testing.assert_array_equal(ball[0][q], ref[q][inside])


def test_refit_replaces_the_index_and_pickles():
    a = np.array([[0, 0, 0], [1, 1, 1]])
    b = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]])
    nn = HammingNeighbors(n_neighbors=1, algorithm="mih").fit(a)
    nn.fit(b)
    assert nn.n_samples_fit_ == 3
    np.testing.assert_array_equal(nn.kneighbors([[1, 1, 0]])[1], [[0]])
    restored = pickle.loads(pickle.dumps(nn))
    np.testing.assert_array_equal(restored.kneighbors(b, 2)[1], nn.kneighbors(b, 2)[1])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda nn: HammingNeighbors().fit([[0, 2, 1]]), "only 0 and 1"),
        (lambda nn: HammingNeighbors().fit([[0.5, 1.0]]), "only 0 and 1"),
        (lambda nn: HammingNeighbors().fit(np.zeros((0, 4))), "empty"),
        (lambda nn: HammingNeighbors().fit(np.zeros(4)), "2-D"),
        (lambda nn: nn.kneighbors([[0, 1]]), "2 bits, but .* fitted with 3-bit"),
        (lambda nn: nn.kneighbors([[0, 1, 1]], n_neighbors=5), "n_neighbors <= n_samples_fit"),
        (lambda nn: nn.kneighbors(n_neighbors=4), "n_neighbors <= n_samples_fit - 1"),
        (lambda nn: nn.kneighbors([[0, 1, 1]], n_neighbors=0), "positive integer"),
        (lambda nn: nn.radius_neighbors([[0, 1, 1]], radius=-1), "non-negative"),
    ],
)
def test_bad_input_clear_errors(call, message):
    nn = HammingNeighbors().fit(np.array([[0, 0, 1], [1, 1, 0], [1, 1, 1], [0, 0, 0]]))
    with pytest.raises(ValueError, match=message):
        call(nn)


def test_unfitted_search_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        HammingNeighbors().kneighbors([[0, 1]])
