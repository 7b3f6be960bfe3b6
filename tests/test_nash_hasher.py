"""NASHHasher: behaviour, reproducibility, bad input, and a real-text pipeline."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

from skhash import NASHHasher
from skhash.utils import codes_to_addresses

from ._fast_estimators import FAST_NASH


def topic_counts(n_docs=120, n_words=40, n_topics=3, seed=0):
    """Counts drawn from disjoint topic vocabularies, and each document's topic."""
    rng = np.random.default_rng(seed)
    topics = rng.integers(n_topics, size=n_docs)
    block = n_words // n_topics
    X = np.zeros((n_docs, n_words), dtype=np.float32)
    for i, t in enumerate(topics):
        words = rng.integers(t * block, (t + 1) * block, size=15)
        np.add.at(X[i], words, 1.0)
    return sp.csr_matrix(X), topics


@pytest.fixture(scope="module")
def fitted():
    X, topics = topic_counts()
    return NASHHasher(**{**FAST_NASH, "max_iter": 30}, random_state=0).fit(X), X, topics


def test_codes_shape_dtype_values(fitted):
    hasher, X, _ = fitted
    codes = hasher.transform(X)
    assert codes.shape == (X.shape[0], 8) and codes.dtype == np.uint8
    assert set(np.unique(codes)) <= {0, 1}


def test_codes_separate_topics(fitted):
    hasher, X, topics = fitted
    codes = hasher.transform(X).astype(int)
    dist = (codes[:, None, :] != codes[None, :, :]).sum(-1)
    same = topics[:, None] == topics[None, :]
    assert dist[same].mean() + 2 < dist[~same].mean()


def test_training_raises_the_elbo(fitted):
    hasher, X, _ = fitted
    once = NASHHasher(**{**FAST_NASH, "max_iter": 1}, random_state=0).fit(X)
    assert hasher.score(X) > once.score(X) + 1.0
    assert hasher.n_iter_ == len(hasher.loss_curve_) == 30
    assert hasher.best_loss_ == min(hasher.loss_curve_)


def test_predict_is_the_code_read_as_an_integer(fitted):
    hasher, X, _ = fitted
    addresses = hasher.predict(X)
    assert addresses.shape == (X.shape[0],) and addresses.dtype == np.uint64
    codes = hasher.transform(X)
    expected = [int("".join(map(str, row)), 2) for row in codes]
    assert addresses.tolist() == expected


def test_predict_above_64_bits_gives_exact_python_ints():
    X, _ = topic_counts(n_docs=30)
    hasher = NASHHasher(**{**FAST_NASH, "n_bits": 70}, random_state=0).fit(X)
    addresses, codes = hasher.predict(X), hasher.transform(X)
    assert addresses.dtype == object and addresses.shape == (30,)
    assert addresses[0] == int("".join(map(str, codes[0])), 2)
    assert codes_to_addresses(codes).tolist() == addresses.tolist()


@pytest.mark.parametrize("noise", [None, "fixed", "data"])
def test_same_random_state_same_codes(noise):
    X, _ = topic_counts()
    params = {**FAST_NASH, "noise": noise, "random_state": 3}
    a = NASHHasher(**params).fit(X)
    b = NASHHasher(**params).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert a.loss_curve_ == b.loss_curve_
    c = NASHHasher(**{**params, "random_state": 4}).fit(X)
    assert c.loss_curve_ != a.loss_curve_


def test_fit_leaves_global_random_state_untouched():
    X, _ = topic_counts()
    np.random.seed(11)
    torch.manual_seed(11)
    np_state, torch_state = np.random.get_state()[1].copy(), torch.get_rng_state().clone()
    NASHHasher(**FAST_NASH, random_state=0).fit(X)
    NASHHasher(**FAST_NASH, random_state=np.random.RandomState(5)).fit(X)
    assert np.array_equal(np.random.get_state()[1], np_state)
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_empty_documents_get_one_deterministic_code(fitted):
    hasher, X, _ = fitted
    X_empty = sp.csr_matrix((3, X.shape[1]), dtype=np.float32)
    codes = hasher.transform(X_empty)
    assert codes.shape == (3, 8)
    assert (codes == codes[0]).all()


def test_counts_and_tfidf_both_accepted(fitted):
    hasher, X, _ = fitted
    scaled = X.multiply(7.0).tocsr()  # the encoder sees rows at unit norm
    np.testing.assert_array_equal(hasher.transform(scaled), hasher.transform(X))


def test_a_term_stored_twice_counts_as_its_sum(fitted):
    hasher, X, _ = fitted
    # each stored value split in two halves, stored side by side (a valid, non-canonical CSR)
    lengths = np.diff(X.indptr)
    split = sp.csr_matrix(
        (np.repeat(X.data / 2, 2), np.repeat(X.indices, 2), np.r_[0, np.cumsum(2 * lengths)]),
        shape=X.shape,
    )
    assert not split.has_canonical_format and split.nnz == 2 * X.nnz
    np.testing.assert_array_equal(hasher.transform(split), hasher.transform(X))
    np.testing.assert_array_equal(
        NASHHasher(**FAST_NASH, random_state=0).fit(split).transform(X),
        NASHHasher(**FAST_NASH, random_state=0).fit(X).transform(X),
    )


@pytest.mark.parametrize(
    "bad, message",
    [
        (lambda X: -X, "Negative values"),
        (lambda X: _with(X, np.nan), "NaN"),
        (lambda X: _with(X, np.inf), "infinity"),
        (lambda X: X[:, :-1], "features"),
        (lambda X: X[:0], "0 sample"),
    ],
)
def test_bad_input_clear_errors(fitted, bad, message):
    hasher, X, _ = fitted
    with pytest.raises(ValueError, match=message):
        hasher.transform(bad(X))
    if message != "features":
        with pytest.raises(ValueError, match=message):
            clone(hasher).fit(bad(X))


def _with(X, value):
    X = X.toarray()
    X[0, 0] = value
    return X


def test_unavailable_cuda_is_named_at_fit(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    X, _ = topic_counts(n_docs=10)
    with pytest.raises(ValueError, match="device='cuda'.*not available"):
        NASHHasher(**FAST_NASH, device="cuda").fit(X)
    with pytest.raises(ValueError, match="not a torch device"):
        NASHHasher(**FAST_NASH, device="gpu please").fit(X)


def test_unfitted_transform_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        NASHHasher().transform(np.ones((2, 3)))


def test_verbose_prints_one_line_per_epoch(capsys):
    X, _ = topic_counts(n_docs=20)
    NASHHasher(**{**FAST_NASH, "max_iter": 4}, verbose=1, random_state=0).fit(X)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("Epoch 1: loss ") and lines[0].endswith(" s")


def test_warm_start_continues_training():
    X, _ = topic_counts()
    hasher = NASHHasher(**{**FAST_NASH, "max_iter": 2}, warm_start=True, random_state=0)
    hasher.fit(X)
    first = hasher.network_.decoder.word_embedding.detach().clone()
    hasher.fit(X)
    assert hasher.n_iter_ == 4 and len(hasher.loss_curve_) == 4
    assert not torch.equal(first, hasher.network_.decoder.word_embedding)
    with pytest.raises(ValueError, match="warm_start"):
        hasher.set_params(n_bits=9).fit(X)


def test_early_stopping_on_a_flat_loss():
    X, _ = topic_counts(n_docs=40)
    hasher = NASHHasher(
        **{**FAST_NASH, "max_iter": 200}, tol=10.0, n_iter_no_change=3, random_state=0
    ).fit(X)
    assert hasher.n_iter_ == 4  # the first epoch sets the best loss, 3 stale follow


def test_pandas_output_and_feature_names(fitted):
    hasher, X, _ = fitted
    names = hasher.get_feature_names_out()
    assert names.tolist() == [f"nashhasher{i}" for i in range(8)]
    frame = clone(hasher).set_output(transform="pandas").fit(X).transform(X)
    assert list(frame.columns) == names.tolist() and frame.shape == (X.shape[0], 8)


def test_pickle_round_trip(fitted):
    hasher, X, _ = fitted
    restored = pickle.loads(pickle.dumps(hasher))
    np.testing.assert_array_equal(restored.transform(X), hasher.transform(X))
    assert restored.score(X) == hasher.score(X)


def test_invalid_hidden_layer_sizes():
    X, _ = topic_counts(n_docs=10)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        NASHHasher(hidden_layer_sizes=(8, 0)).fit(X)


@st.composite
def sparse_nonnegative(draw):
    n_rows = draw(st.integers(1, 25))
    n_cols = draw(st.integers(1, 12))
    density = draw(st.floats(0.0, 1.0))
    seed = draw(st.integers(0, 2**31 - 1))
    X = sp.random(n_rows, n_cols, density=density, random_state=seed, format="csr")
    X.data = (X.data * draw(st.sampled_from([1.0, 10.0, 1000.0]))).astype(np.float32)
    return X


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(X=sparse_nonnegative(), seed=st.integers(0, 1000))
def test_codes_are_row_local_and_format_free(X, seed):
    # fitted with one more row that has every word (an all-empty X is refused at fit);
    # the codes of X itself, empty rows and all, are what the properties are about
    fit_on = sp.vstack([X, np.ones((1, X.shape[1]), dtype=np.float32)], format="csr")
    hasher = NASHHasher(n_bits=6, hidden_layer_sizes=(8,), max_iter=1, random_state=0)
    hasher.fit(fit_on)
    codes = hasher.transform(X)
    assert codes.shape == (X.shape[0], 6) and codes.dtype == np.uint8
    assert set(np.unique(codes)) <= {0, 1}
    order = np.random.default_rng(seed).permutation(X.shape[0])
    np.testing.assert_array_equal(hasher.transform(X[order]), codes[order])
    np.testing.assert_array_equal(hasher.transform(X[order[:1]]), codes[order[:1]])
    np.testing.assert_array_equal(hasher.transform(X.toarray()), codes)
    np.testing.assert_array_equal(hasher.transform(X.tocsc()), codes)
    np.testing.assert_array_equal(hasher.transform(X.tocoo()), codes)


def test_pipeline_on_real_posts(ng20_raw_sample):
    texts, labels = ng20_raw_sample
    pipe = Pipeline(
        [
            ("tfidf", TfidfVectorizer(stop_words="english", min_df=2, sublinear_tf=True)),
            ("hash", NASHHasher(n_bits=16, hidden_layer_sizes=(64,), max_iter=40, random_state=0)),
        ]
    ).fit(texts)
    codes = pipe.transform(texts)
    assert codes.shape == (300, 16)
    assert pipe.predict(texts).shape == (300,)
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.transform(texts[:50]), codes[:50])
    # codes carry the topic: a post's nearest other post shares its group far above chance
    dist = (codes[:, None, :] != codes[None, :, :]).sum(-1) + np.eye(300, dtype=int) * 99
    nearest = np.argmin(dist, axis=1)
    assert (labels[nearest] == labels).mean() > 0.6


def test_weight_decay_shrinks_unused_weights_by_the_adamw_factor():
    X, _ = topic_counts()  # 120 documents over 40 words; word 39 never occurs
    assert X[:, 39].nnz == 0
    params = {**FAST_NASH, "max_iter": 3, "random_state": 0,  # 4 batches of 32 an epoch
              "weight_averaging": 0.0}  # the last step's weights
    plain = NASHHasher(**params, weight_decay=0.0).fit(X)
    decayed = NASHHasher(**params, weight_decay=0.5).fit(X)
    initial = plain.network_.encoder.embed.weight[39].detach()  # no gradient: untouched
    factor = (1.0 - plain.learning_rate_init * 0.5) ** 12
    got = decayed.network_.encoder.embed.weight[39].detach()
    torch.testing.assert_close(got, initial * factor, rtol=1e-5, atol=1e-7)
    assert initial.abs().max() > 0
    with pytest.raises(ValueError, match="weight_decay"):
        NASHHasher(weight_decay=-1.0).fit(X)


def test_weight_averaging_leaves_the_mean_of_the_last_epochs_steps():
    # Word 39 never occurs, so its first-layer row only decays: after step k it is
    # initial * f**k. Averaged over the steps of the last round(0.34 * 3) = 1 epoch (steps
    # 9-12 of 12), the row must be initial * mean(f**9, ..., f**12).
    X, _ = topic_counts()
    params = {**FAST_NASH, "max_iter": 3, "random_state": 0, "weight_decay": 0.5}
    plain = NASHHasher(**params, weight_averaging=0.0).fit(X)
    averaged = NASHHasher(**params, weight_averaging=0.34).fit(X)
    factor = 1.0 - plain.learning_rate_init * 0.5
    start = plain.network_.encoder.embed.weight[39].detach().double() / factor**12
    expected = start * np.mean([factor**k for k in range(9, 13)])
    got = averaged.network_.encoder.embed.weight[39].detach().double()
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-7)
    assert not torch.allclose(got, plain.network_.encoder.embed.weight[39].double())
    # the same trajectory: the averaged model's loss curve is the plain one's
    np.testing.assert_allclose(averaged.loss_curve_, plain.loss_curve_, rtol=0, atol=0)
    # a weight of 0 averages nothing, and a fraction that rounds to no epoch neither
    few = NASHHasher(**params, weight_averaging=0.1).fit(X)  # round(0.3) = 0 epochs
    np.testing.assert_array_equal(few.transform(X), plain.transform(X))
    with pytest.raises(ValueError, match="weight_averaging"):
        NASHHasher(weight_averaging=1.5).fit(X)
