"""Retrieval metrics: hand-computed cases, bounds, invariances, the scorer."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skhash.metrics import (
    cosine_precision_at_k,
    hamming_precision_recall,
    mean_average_precision,
    precision_at_k,
    precision_at_k_scorer,
    precision_within_radius,
    recall_at_k,
)

# Four database codes and two queries, worked by hand below.
DB = np.array([[0, 0, 0], [0, 0, 1], [1, 1, 1], [0, 1, 1]])
DB_Y = np.array([0, 1, 1, 0])
Q = np.array([[0, 0, 0], [1, 1, 1]])
Q_Y = np.array([0, 1])
# distances: q0 -> [0, 1, 3, 2], ranking 0,1,3,2 -> relevance 1,0,1,0
#            q1 -> [3, 2, 0, 1], ranking 2,3,1,0 -> relevance 1,0,1,0


def test_precision_and_recall_by_hand():
    assert precision_at_k(Q, Q_Y, DB, DB_Y, k=1) == 1.0
    assert precision_at_k(Q, Q_Y, DB, DB_Y, k=2) == 0.5
    assert precision_at_k(Q, Q_Y, DB, DB_Y, k=3) == pytest.approx(2 / 3)
    assert recall_at_k(Q, Q_Y, DB, DB_Y, k=1) == 0.5
    assert recall_at_k(Q, Q_Y, DB, DB_Y, k=3) == 1.0
    # k larger than the database: all of it is used
    assert precision_at_k(Q, Q_Y, DB, DB_Y, k=100) == 0.5


def test_per_query_precision_by_hand():
    # q0 ranking 0,1,3,2 -> relevance 1,0,1,0; q1 ranking 2,3,1,0 -> relevance 1,0,1,0
    per_query = precision_at_k(Q, Q_Y, DB, DB_Y, k=1, average=False)
    assert per_query.shape == (2,) and per_query.dtype == np.float64
    assert per_query.tolist() == [1.0, 1.0]
    far_y = np.array([1, 0])  # the same codes, each query now of the other class
    assert precision_at_k(Q, far_y, DB, DB_Y, k=3, average=False).tolist() == [
        pytest.approx(1 / 3), pytest.approx(1 / 3)]
    # leave-one-out: one value per query, the same mean as average=True
    codes = np.array([[0, 0], [0, 1], [1, 1], [1, 1]])
    loo = precision_at_k(codes, [0, 1, 1, 1], k=2, average=False)
    assert loo.tolist() == [0.0, 0.5, 1.0, 1.0]  # q0: db1, then db2 of the tie (both class 1)
    assert loo.mean() == precision_at_k(codes, [0, 1, 1, 1], k=2)


def test_cosine_per_query_precision_by_hand():
    X_db = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    X_q = np.array([[1.0, 0.05], [0.05, 1.0]])
    per_query = cosine_precision_at_k(X_q, ["a", "a"], X_db, ["a", "a", "b", "a"], k=2,
                                      average=False)
    # q0's two nearest are db0, db1 (both a); q1's are db2 (b), db3 (a)
    assert per_query.tolist() == [1.0, 0.5]
    assert cosine_precision_at_k(X_q, ["a", "a"], X_db, ["a", "a", "b", "a"], k=2) == 0.75


def test_mean_average_precision_by_hand():
    # both queries: relevant at ranks 1 and 3 -> (1/1 + 2/3) / 2
    assert mean_average_precision(Q, Q_Y, DB, DB_Y) == pytest.approx((1 + 2 / 3) / 2)


def test_radius_metrics_by_hand():
    # radius 0: q0 finds db0 (relevant), q1 finds db2 (relevant)
    assert precision_within_radius(Q, Q_Y, DB, DB_Y, radius=0) == 1.0
    # radius 1: q0 finds db0, db1 -> 1/2; q1 finds db2, db3 -> 1/2
    assert precision_within_radius(Q, Q_Y, DB, DB_Y, radius=1) == 0.5
    far = np.array([[1, 1, 0]])  # distances 2, 3, 1, 2: nothing within 0 -> precision 0
    assert precision_within_radius(far, [0], DB, DB_Y, radius=0) == 0.0
    curve = hamming_precision_recall(Q, Q_Y, DB, DB_Y)
    assert curve["radius"].tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(curve["precision"], [1.0, 0.5, 2 / 3, 0.5])
    np.testing.assert_allclose(curve["recall"], [0.5, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(curve["mean_retrieved"], [1, 2, 3, 4])


def test_multilabel_relevance_is_a_shared_label():
    db_y = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1]])
    q_y = np.array([[0, 1, 0], [1, 0, 1]])
    # q0 ranking 0,1,3,2: shares label 1 with db1, db2 -> relevance 0,1,0,1
    # q1 ranking 2,3,1,0: shares with db2 (label 0), db3 (label 2), db0 -> 1,1,0,1
    assert precision_at_k(Q, q_y, DB, db_y, k=2) == pytest.approx((0.5 + 1.0) / 2)
    assert recall_at_k(Q, q_y, DB, db_y, k=2) == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert mean_average_precision(Q, q_y, DB, db_y) == pytest.approx(
        ((1 / 2 + 2 / 4) / 2 + (1 + 1 + 3 / 4) / 3) / 2
    )


def test_leave_one_out_never_retrieves_the_query():
    codes = np.array([[0, 0], [0, 0], [1, 1], [1, 1]])
    # each item's nearest other item is its twin
    assert precision_at_k(codes, [0, 0, 1, 1], k=1) == 1.0
    assert precision_at_k(codes, [0, 1, 0, 1], k=1) == 0.0
    assert recall_at_k(codes, [0, 0, 1, 1], k=1) == 1.0


@st.composite
def problems(draw):
    n_bits = draw(st.integers(1, 16))
    n = draw(st.integers(2, 40))
    codes = draw(arrays(np.uint8, (n, n_bits), elements=st.integers(0, 1)))
    if draw(st.booleans()):
        labels = draw(arrays(np.int64, n, elements=st.integers(0, 3)))
    else:
        labels = draw(arrays(np.uint8, (n, 3), elements=st.integers(0, 1)))
    return codes, labels


@settings(max_examples=50, deadline=None)
@given(problem=problems(), k=st.integers(1, 50), seed=st.integers(0, 100))
def test_bounds_and_query_order_invariance(problem, k, seed):
    codes, labels = problem
    order = np.random.default_rng(seed).permutation(codes.shape[0])
    db_codes, db_labels = codes[::-1].copy(), labels[::-1].copy()
    for metric in (precision_at_k, recall_at_k):
        value = metric(codes, labels, db_codes, db_labels, k=k)
        assert np.isnan(value) or 0.0 <= value <= 1.0
        shuffled = metric(codes[order], labels[order], db_codes, db_labels, k=k)
        assert shuffled == pytest.approx(value, nan_ok=True)
    value = mean_average_precision(codes, labels, db_codes, db_labels)
    assert np.isnan(value) or 0.0 <= value <= 1.0
    assert mean_average_precision(
        codes[order], labels[order], db_codes, db_labels
    ) == pytest.approx(value, nan_ok=True)
    radius = k % (codes.shape[1] + 1)
    value = precision_within_radius(codes, labels, db_codes, db_labels, radius=radius)
    assert 0.0 <= value <= 1.0
    # chunking does not change anything, and the per-query values average to the mean
    assert precision_at_k(codes, labels, k=k, chunk_size=3) == pytest.approx(
        precision_at_k(codes, labels, k=k)
    )
    per_query = precision_at_k(codes, labels, k=k, chunk_size=3, average=False)
    assert per_query.shape == (codes.shape[0],)
    assert ((per_query >= 0) & (per_query <= 1)).all()
    assert per_query.mean() == pytest.approx(precision_at_k(codes, labels, k=k))
    curve = hamming_precision_recall(codes, labels, chunk_size=5)
    assert curve["mean_retrieved"].iloc[-1] == codes.shape[0] - 1
    assert (np.diff(curve["recall"].dropna()) >= -1e-12).all()


def _direct_loo_precision(codes, labels, k):
    dist = (codes[:, None, :] != codes[None, :, :]).sum(-1)
    n = len(codes)
    total = 0.0
    for i in range(n):
        others = [j for j in np.lexsort((np.arange(n), dist[i])) if j != i][:k]
        total += np.mean(labels[others] == labels[i])
    return total / n


class _Identity:
    def transform(self, X):
        return X


def test_scorer_equals_direct_leave_one_out():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 2, size=(50, 6)).astype(np.uint8)
    labels = rng.integers(0, 3, size=50)
    scorer = precision_at_k_scorer(k=10)
    assert scorer(_Identity(), codes, labels) == pytest.approx(
        _direct_loo_precision(codes, labels, 10)
    )
    # fewer than k other documents: all of them are used
    assert scorer(_Identity(), codes[:5], labels[:5]) == pytest.approx(
        _direct_loo_precision(codes[:5], labels[:5], 4)
    )
    restored = pickle.loads(pickle.dumps(scorer))
    assert restored(_Identity(), codes, labels) == scorer(_Identity(), codes, labels)
    assert repr(scorer) == "precision_at_k_scorer(k=10)"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: precision_at_k([[0, 2]], [0]), "only 0 and 1"),
        (lambda: precision_at_k(np.zeros((0, 3)), []), "empty"),
        (lambda: precision_at_k([[0, 1]], [0], [[0, 1, 1]], [0]), "2 bits but database codes have 3"),
        (lambda: precision_at_k([[0, 1], [1, 1]], [0]), "1 rows but the codes have 2"),
        (lambda: precision_at_k([[0, 1], [1, 1]], [0, 1], k=0), "positive integer"),
        (lambda: precision_at_k([[0, 1]], [0]), "at least 2"),
        (lambda: precision_within_radius([[0], [1]], [0, 1], radius=-1), "non-negative"),
        (lambda: precision_at_k([[0], [1]], [0, 1], [[0]], None), "without database_labels"),
        (lambda: precision_at_k_scorer(k=0), "positive integer"),
    ],
)
def test_bad_input_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_cosine_precision_at_k_hand_cases():
    # queries [1, 0] and [0, 1]; database rows 1 and 2 tie for the first query
    X_db = sp.csr_matrix(np.array([[0.0, 1.0], [2.0, 0.0], [1.0, 0.0], [0.6, 0.8]]))
    X_q = np.array([[1.0, 0.0], [0.0, 1.0]])
    # query 0 ranks rows 1, 2 (a tie) -> labels b, a; query 1 ranks rows 0, 3 -> b, a
    assert cosine_precision_at_k(X_q, ["a", "b"], X_db, ["b", "b", "a", "a"], k=2) == 0.5
    # the tie between rows 1 (b) and 2 (a) goes to the lower index
    assert cosine_precision_at_k(X_q[:1], ["b"], X_db, ["b", "b", "a", "a"], k=1) == 1.0
    assert cosine_precision_at_k(X_q[:1], ["a"], X_db, ["b", "b", "a", "a"], k=1) == 0.0
    # multi-label: relevant when one label is shared; k above the database size uses all
    Y_db = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    got = cosine_precision_at_k(X_q[:1], np.array([[1, 0]]), X_db, Y_db, k=10)
    assert got == 0.5  # rows 0 and 2 share label 0 with the query: 2 of 4
    with pytest.raises(ValueError, match="query_labels has 1 rows but the codes have 2"):
        cosine_precision_at_k(X_q, ["a"], X_db, ["b", "b", "a", "a"])
