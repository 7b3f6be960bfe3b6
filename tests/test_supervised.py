"""SupervisedNASHHasher: labels in every form, codes, classifier API, bad y."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skhash import NASHHasher, SupervisedNASHHasher
from skhash.metrics import precision_at_k

from ._fast_estimators import FAST_NASH
from .test_nash_hasher import topic_counts

PARAMS = {**FAST_NASH, "max_iter": 25, "random_state": 0}


@pytest.fixture(scope="module")
def corpus():
    X, topics = topic_counts(n_docs=150, n_words=45, n_topics=3, seed=1)
    names = np.array(["hockey", "space", "graphics"])[topics]
    return X, names


def test_string_classes_codes_and_predictions(corpus):
    X, y = corpus
    hasher = SupervisedNASHHasher(**PARAMS).fit(X, y)
    assert hasher.classes_.tolist() == ["graphics", "hockey", "space"]
    codes = hasher.transform(X)
    assert codes.shape == (150, 8) and codes.dtype == np.uint8
    pred = hasher.predict(X)
    assert pred.dtype == hasher.classes_.dtype and set(pred) <= set(hasher.classes_)
    assert hasher.score(X, y) > 0.9
    proba = hasher.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(hasher.classes_[proba.argmax(1)], pred)


def test_supervision_improves_retrieval_by_label(corpus):
    X, y = corpus
    rng = np.random.default_rng(0)
    noisy = X.toarray()
    noisy += rng.poisson(0.6, size=noisy.shape)  # shared words blur the topics
    sup = SupervisedNASHHasher(**PARAMS).fit(noisy, y)
    unsup = NASHHasher(**PARAMS).fit(noisy)
    p_sup = precision_at_k(sup.transform(noisy), y, k=20)
    p_unsup = precision_at_k(unsup.transform(noisy), y, k=20)
    assert p_sup > p_unsup


def test_multilabel_indicator(corpus):
    X, y = corpus
    Y = np.stack([y == "hockey", y == "space", (y == "space") | (y == "graphics")], 1)
    Y = Y.astype(np.int64)
    hasher = SupervisedNASHHasher(**PARAMS).fit(X, Y)
    np.testing.assert_array_equal(hasher.classes_, [0, 1, 2])
    pred = hasher.predict(X)
    assert pred.shape == Y.shape and set(np.unique(pred)) <= {0, 1}
    assert (pred == Y).all(axis=1).mean() > 0.8
    proba = hasher.predict_proba(X)
    assert proba.shape == Y.shape and ((proba >= 0) & (proba <= 1)).all()


def test_a_single_class_is_learned_and_predicted(corpus):
    X, _ = corpus
    hasher = SupervisedNASHHasher(**{**PARAMS, "max_iter": 2}).fit(X, ["only"] * X.shape[0])
    assert hasher.classes_.tolist() == ["only"]
    assert set(hasher.predict(X[:10])) == {"only"}
    np.testing.assert_allclose(hasher.predict_proba(X[:10]), 1.0)


def test_predictions_are_always_known_classes(corpus):
    X, y = corpus
    hasher = SupervisedNASHHasher(**{**PARAMS, "max_iter": 2}).fit(X[:60], y[:60])
    other = np.random.default_rng(2).poisson(2.0, size=(30, X.shape[1])).astype(float)
    assert set(hasher.predict(other)) <= set(hasher.classes_)


@pytest.mark.parametrize(
    "bad_y, message",
    [
        (lambda y: y[:-1], "inconsistent numbers of samples"),
        (lambda y: np.where(y == "space", np.nan, 1.0), "NaN"),
        (lambda y: np.linspace(0, 1, len(y)), "continuous"),
    ],
)
def test_bad_y_clear_errors(corpus, bad_y, message):
    X, y = corpus
    with pytest.raises(ValueError, match=message):
        SupervisedNASHHasher(**PARAMS).fit(X, bad_y(y))


def test_warm_start_needs_the_same_classes(corpus):
    X, y = corpus
    hasher = SupervisedNASHHasher(**{**PARAMS, "max_iter": 1}, warm_start=True).fit(X, y)
    hasher.fit(X, y)
    assert hasher.n_iter_ == 2
    with pytest.raises(ValueError, match="same classes"):
        hasher.fit(X, np.where(y == "space", "moon", y))


def test_clone_and_pickle(corpus):
    X, y = corpus
    hasher = SupervisedNASHHasher(**PARAMS, label_weight=5.0).fit(X, y)
    assert clone(hasher).get_params()["label_weight"] == 5.0
    restored = pickle.loads(pickle.dumps(hasher))
    np.testing.assert_array_equal(restored.predict(X), hasher.predict(X))
    np.testing.assert_array_equal(restored.transform(X), hasher.transform(X))


@pytest.mark.parametrize("multilabel", [False, True])
def test_label_smoothing_targets(multilabel):
    hasher = SupervisedNASHHasher(label_weight=2.0, label_smoothing=0.2)
    hasher._multilabel = multilabel
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    labels = torch.tensor([[1.0, 0.0, 1.0]] if multilabel else [[1.0, 0.0, 0.0]])
    got = float(hasher._label_loss(logits, labels)[0])
    hasher.label_smoothing = 0.0
    plain = float(hasher._label_loss(logits, labels)[0])
    if multilabel:  # binary cross-entropies on the 0/1 targets, unsmoothed
        t = labels.numpy()[0]
        p = 1.0 / (1.0 + np.exp(-logits.numpy()[0]))
        expected = -(t * np.log(p) + (1 - t) * np.log(1 - p)).sum()
        assert plain == pytest.approx(got)
    else:  # 0.2 of the mass spread over the 3 classes
        t = np.array([0.8 + 0.2 / 3, 0.2 / 3, 0.2 / 3])
        expected = -(t * torch.log_softmax(logits, dim=1).numpy()[0]).sum()
        assert plain < got  # the confident logits fit the one-hot target better
    assert got == pytest.approx(2.0 * expected, rel=1e-5)
