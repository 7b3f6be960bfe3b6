"""SupervisedNASHHasher: NASH with a label loss on the codes (the paper's NASH-DN-S)."""

import warnings
from numbers import Real

import numpy as np
import torch
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.exceptions import DataConversionWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data
from torch.nn import functional as F

from ._base import DEFAULT_DECODED_FEATURES, BaseNASH


class SupervisedNASHHasher(ClassifierMixin, BaseNASH):
    """NASH with labels: codes that reconstruct the words and predict the labels.

    The unsupervised objective of :class:`NASHHasher` plus ``label_weight`` times a
    classification loss of a linear classifier on the code bits, trained jointly: the
    supervised NASH of Shen et al. (ACL 2018). Documents of the same class get nearby
    codes, which is what retrieval by label measures. It is a transformer (``transform``
    gives the codes) and a classifier (``predict`` gives labels from the code).

    Parameters
    ----------
    n_bits : int, default=32
        Code length.
    label_weight : float, default=20.0
        Weight of the label loss (cross-entropy, or the sum of binary cross-entropies
        for multi-label y) per document, against the reconstruction's negative
        log-likelihood of the document's words plus the KL term.
    label_smoothing : float in [0, 1), default=0.2
        For single-label y, the share of each document's one-hot target spread evenly
        over all classes, as in :class:`torch.nn.CrossEntropyLoss`: it keeps the
        classifier on the code from chasing certainty on the training set. Measured on
        ng20 at 32 bits, precision@100 over seeds 0/1/2: 0.689/0.683/0.687 without,
        0.702/0.695/0.698 at 0.2 (0.699 and 0.701 at 0.1 and 0.3, seed 0). Multi-label y
        is fitted unsmoothed: on reuters the same smoothing of each binary target lowered
        precision@100 at every length from 8 to 128 bits (by 0.003 to 0.014, seed 0).
    lsa_components : int, default=0
        As in :class:`NASHHasher`, but off by default here: with the label loss the
        smoothed targets lowered precision@100 at every code length, by 0.022-0.031 on
        20 Newsgroups and 0.006-0.026 on Reuters (8-128 bits, 3 seeds each, against the
        paper's targets; ``benchmarks/README.rst``). The labels already say which
        documents belong together.
    noise : {"data", "fixed"} or None, default="data"
        As in :class:`NASHHasher`, whose default is ``"fixed"``; here the paper's
        NASH-DN-S (learned noise) stays the default, the setting the supervised rows of
        the benchmarks were measured with.
    hidden_layer_sizes, noise_std, target_neighbors, neighbor_weight, neighbor_terms, \
neighbor_similarity, lsa_terms, lsa_weight, max_iter, batch_size, learning_rate_init, \
weight_decay, weight_averaging, max_decoded_features, shuffle, tol, n_iter_no_change, \
random_state, device, compute_dtype, verbose, warm_start
        As in :class:`NASHHasher`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (single-label y), or ``arange(n_labels)`` for an indicator y.
    network_, decoded_features_, n_iter_, loss_curve_, best_loss_, n_features_in_, \
feature_names_in_
        As in :class:`NASHHasher`.

    See Also
    --------
    NASHHasher : The unsupervised model.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import SupervisedNASHHasher
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(["sport", "space"], 20)
    >>> X = rng.poisson(1.0, size=(40, 30)).astype(float)
    >>> X[y == "sport", :15] += 3
    >>> hasher = SupervisedNASHHasher(n_bits=8, hidden_layer_sizes=(16,), max_iter=40,
    ...                               random_state=0).fit(X, y)
    >>> hasher.classes_
    array(['space', 'sport'], dtype='<U5')
    >>> hasher.transform(X).shape
    (40, 8)
    >>> bool(hasher.score(X, y) > 0.9)
    True
    """

    _parameter_constraints: dict = {
        **BaseNASH._parameter_constraints,
        "label_weight": [Interval(Real, 0, None, closed="left")],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
        n_bits=32,
        *,
        label_weight=20.0,
        label_smoothing=0.2,
        hidden_layer_sizes=(500, 500),
        noise="data",
        noise_std=0.5,
        target_neighbors=0,
        neighbor_weight=1.0,
        neighbor_terms=None,
        neighbor_similarity=None,
        lsa_components=0,
        lsa_terms=256,
        lsa_weight=1.0,
        max_iter=50,
        batch_size="auto",
        learning_rate_init=3e-3,
        weight_decay=0.01,
        weight_averaging=0.2,
        max_decoded_features=DEFAULT_DECODED_FEATURES,
        shuffle=True,
        tol=1e-4,
        n_iter_no_change=10,
        random_state=None,
        device="cpu",
        compute_dtype="float32",
        verbose=0,
        warm_start=False,
    ):
        super().__init__(
            n_bits,
            hidden_layer_sizes=hidden_layer_sizes,
            noise=noise,
            noise_std=noise_std,
            target_neighbors=target_neighbors,
            neighbor_weight=neighbor_weight,
            neighbor_terms=neighbor_terms,
            neighbor_similarity=neighbor_similarity,
            lsa_components=lsa_components,
            lsa_terms=lsa_terms,
            lsa_weight=lsa_weight,
            max_iter=max_iter,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            weight_decay=weight_decay,
            weight_averaging=weight_averaging,
            max_decoded_features=max_decoded_features,
            shuffle=shuffle,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            random_state=random_state,
            device=device,
            compute_dtype=compute_dtype,
            verbose=verbose,
            warm_start=warm_start,
        )
        self.label_weight = label_weight
        self.label_smoothing = label_smoothing

    def _encode_labels(self, y):
        """Float targets for the label loss; sets ``classes_`` and the label mode."""
        y = np.asarray(y) if not hasattr(y, "toarray") else y.toarray()
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected; it is read "
                "as class labels. Pass y.ravel() to silence this.",
                DataConversionWarning,
                stacklevel=3,
            )
            y = y.ravel()
        kind = type_of_target(y, input_name="y")
        if kind == "multilabel-indicator":
            self._multilabel = True
            self.classes_ = np.arange(y.shape[1])
            return y.astype(np.float32)
        check_classification_targets(y)
        if y.ndim != 1:
            raise ValueError(
                f"y must be 1-D class labels or a 0/1 indicator matrix, got {kind!r} with "
                f"shape {y.shape}."
            )
        self._multilabel = False
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        codes = encoder.transform(y)
        return np.eye(len(self.classes_), dtype=np.float32)[codes]

    def _label_loss(self, label_logits, labels):
        if self._multilabel:
            per_label = F.binary_cross_entropy_with_logits(label_logits, labels, reduction="none")
            loss = per_label.sum(dim=1)
        else:
            eps = self.label_smoothing
            targets = labels * (1.0 - eps) + eps / labels.shape[1]
            loss = -(targets * F.log_softmax(label_logits, dim=1)).sum(dim=1)
        return self.label_weight * loss

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the hasher on documents X with labels y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Non-negative term weights: TF-IDF or raw counts.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels (ints or strings), or a 0/1 indicator matrix for multi-label
            data (a document may have several labels, or none).

        Returns
        -------
        self : SupervisedNASHHasher
            The fitted hasher.
        """
        warm = self.warm_start and hasattr(self, "network_")
        X, y = validate_data(
            self, X, y, accept_sparse=("csr", "csc", "coo"), dtype=(np.float32, np.float64),
            multi_output=True, reset=not warm, y_numeric=False,
        )
        X = self._validate_X(X, reset=False)
        previous = getattr(self, "classes_", None)
        labels = self._encode_labels(y)
        if warm and (previous is None or not np.array_equal(previous, self.classes_)):
            raise ValueError(
                "warm_start=True needs the same classes as the first fit; "
                f"had {previous!r}, got {self.classes_!r}."
            )
        return self._fit_network(X, labels)

    def _label_logits(self, X):
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        codes = self._code_scores(X) > self._thresholds()
        with torch.no_grad():
            return self.network_.classifier(codes.float())

    def predict_proba(self, X):
        """Label probabilities from each document's code.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Non-negative term weights.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities (rows sum to 1), or for multi-label y each label's
            probability.
        """
        logits = self._label_logits(X)
        if self._multilabel:
            return torch.sigmoid(logits).numpy().astype(np.float64)
        return torch.softmax(logits, dim=1).numpy().astype(np.float64)

    def score(self, X, y, sample_weight=None):
        """Accuracy of ``predict(X)`` against y (subset accuracy for multi-label y).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Non-negative term weights.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Share of documents whose predicted labels are exactly right.
        """
        return super().score(X, y, sample_weight=sample_weight)

    def predict(self, X):
        """Labels predicted from each document's code.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Non-negative term weights.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Classes from ``classes_``, or a 0/1 indicator matrix for multi-label y.
        """
        proba = self.predict_proba(X)
        if self._multilabel:
            return (proba > 0.5).astype(np.int64)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        # The encoder sees each row at unit L2 norm (a document's direction, not its
        # length): on the common checks' 2-feature blobs even a logistic regression on
        # unit rows scores 0.79, under their 0.83 bar. Text is not hurt by this.
        tags.classifier_tags.poor_score = True
        return tags
