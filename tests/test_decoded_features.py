"""``max_decoded_features``: the decoder reconstructs the most frequent words only, the
encoder still reads every word."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from skhash import NASHHasher, SupervisedNASHHasher

FAST = dict(hidden_layer_sizes=(16,), max_iter=3, batch_size=40, random_state=0)


def _corpus(n=160, n_features=60, seed=0):
    rng = np.random.default_rng(seed)
    # word j in about 1 / (1 + j / 6) of the documents: frequencies fall with the column
    rate = 0.5 / (1.0 + np.arange(n_features) / 6.0)
    mask = rng.random((n, n_features)) < rate
    X = np.where(mask, rng.random((n, n_features)) + 0.1, 0.0)
    X[:, 7] = np.where(rng.random(n) < 0.9, 1.0, 0.0)  # column 7 the most frequent
    return sp.csr_matrix(X)


@pytest.mark.parametrize("Estimator", [NASHHasher, SupervisedNASHHasher])
def test_the_decoder_keeps_the_words_in_the_most_documents(Estimator):
    X = _corpus()
    y = np.arange(X.shape[0]) % 3
    model = Estimator(8, max_decoded_features=12, **FAST).fit(X, y)
    doc_freq = np.diff(X.tocsc().indptr)
    expected = np.sort(np.argsort(-doc_freq, kind="stable")[:12])
    np.testing.assert_array_equal(model.decoded_features_, expected)
    assert 7 in model.decoded_features_
    assert model.network_.decoder.word_bias.shape == (12,)
    assert model.network_.encoder.embed.weight.shape[0] == X.shape[1]  # reads them all
    codes = model.transform(X)
    assert codes.shape == (X.shape[0], 8)
    score = model.score(X, y) if Estimator is SupervisedNASHHasher else model.score(X)
    assert np.isfinite(score)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.transform(X), codes)
    np.testing.assert_array_equal(again.decoded_features_, expected)


def test_words_outside_the_decoder_still_move_the_codes():
    X = _corpus()
    model = NASHHasher(8, max_decoded_features=12, **FAST).fit(X)
    outside = np.setdiff1d(np.arange(X.shape[1]), model.decoded_features_)
    word = outside[0]
    rows = np.flatnonzero(X[:, word].toarray().ravel())
    assert rows.size > 0
    without = X.tolil()
    without[:, word] = 0
    scores = model._code_scores(X[rows]).numpy()
    scores_without = model._code_scores(sp.csr_matrix(without)[rows]).numpy()
    assert np.abs(scores - scores_without).max() > 1e-4


def test_a_cap_at_or_above_the_vocabulary_decodes_every_word():
    X = _corpus()
    full = NASHHasher(8, max_decoded_features=None, **FAST).fit(X)
    capped = NASHHasher(8, max_decoded_features=X.shape[1], **FAST).fit(X)
    default = NASHHasher(8, **FAST).fit(X)  # the default cap (20,000) is above 60 words
    for model in (full, capped, default):
        assert model.decoded_features_ is None
        assert model.network_.decoder.word_bias.shape == (X.shape[1],)
    np.testing.assert_array_equal(capped.transform(X), full.transform(X))
    np.testing.assert_array_equal(default.transform(X), full.transform(X))
    assert capped.loss_curve_ == full.loss_curve_


def test_the_cap_changes_what_is_reconstructed_and_so_the_loss():
    X = _corpus()
    full = NASHHasher(8, max_decoded_features=None, **FAST).fit(X)
    capped = NASHHasher(8, max_decoded_features=12, **FAST).fit(X)
    # fewer words to reconstruct: a smaller negative ELBO per document
    assert capped.loss_curve_[-1] < full.loss_curve_[-1]
    assert capped.score(X) > full.score(X)


def test_warm_start_keeps_the_decoded_words():
    X = _corpus()
    model = NASHHasher(8, max_decoded_features=12, warm_start=True, **FAST).fit(X)
    first = model.decoded_features_.copy()
    other = _corpus(seed=5)[:, ::-1]  # other documents, other frequent words
    model.fit(sp.csr_matrix(other))
    np.testing.assert_array_equal(model.decoded_features_, first)
    assert model.n_iter_ == 6


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10000"])
def test_max_decoded_features_is_validated(bad):
    with pytest.raises(InvalidParameterError, match="max_decoded_features"):
        NASHHasher(8, max_decoded_features=bad, **FAST).fit(_corpus())


def test_clone_keeps_the_parameter():
    model = NASHHasher(8, max_decoded_features=123)
    assert clone(model).get_params()["max_decoded_features"] == 123
