"""Classical hashers under the hashers' contract: LSH (random hyperplanes) and ITQ."""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.decomposition import TruncatedSVD
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from .._hasher import HasherMixin
from ..utils._validation import check_has_words


class _ProjectionHasher(HasherMixin, BaseEstimator):
    """Codes are the signs of a fitted affine projection: ``(X @ W_ - offset_) > 0``."""

    _parameter_constraints: dict = {
        "n_bits": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def _validate(self, X, reset, dtype=(np.float64, np.float32)):
        """X validated (and, for ``reset``, its feature count recorded), as ``dtype``:
        one dtype converts to it, a tuple keeps X's where it is listed."""
        return validate_data(self, X, accept_sparse=("csr", "csc", "coo"), dtype=dtype,
                             reset=reset)

    def _project(self, X):
        """``X @ projection_ - offset_`` as a dense array, X validated against the fit."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        projected = X @ self.projection_
        projected = projected.toarray() if sp.issparse(projected) else np.asarray(projected)
        return projected - self.offset_

    def transform(self, X):
        """Binary codes of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Term weights (TF-IDF or counts).

        Returns
        -------
        codes : ndarray of shape (n_samples, n_bits), dtype uint8
        """
        return (self._project(X) > 0).astype(np.uint8)



class LSHHasher(_ProjectionHasher):
    """Random-hyperplane LSH (SimHash): the signs of Gaussian random projections.

    Parameters
    ----------
    n_bits : int, default=32
        Code length.
    random_state : int, RandomState instance or None, default=None
        Seeds the hyperplanes.

    Attributes
    ----------
    projection_ : ndarray of shape (`n_features_in_`, n_bits)
        The hyperplanes' normals.
    offset_ : ndarray of shape (n_bits,)
        Zeros: hyperplanes pass through the origin.
    n_features_in_ : int
        Number of features seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.baselines import LSHHasher
    >>> X = np.random.default_rng(0).random((5, 20))
    >>> LSHHasher(n_bits=8, random_state=0).fit_transform(X).shape
    (5, 8)
    """

    def __init__(self, n_bits=32, *, random_state=None):
        self.n_bits = n_bits
        self.random_state = random_state

    def fit(self, X, y=None):
        """Draw the hyperplanes for X's number of features.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Term weights.
        y : None
            Ignored.

        Returns
        -------
        self : LSHHasher
        """
        self._validate_params()
        X = self._validate(X, reset=True)
        rng = check_random_state(self.random_state)
        self.projection_ = rng.standard_normal((X.shape[1], self.n_bits))
        self.offset_ = np.zeros(self.n_bits)
        return self


class ITQHasher(_ProjectionHasher):
    """Iterative quantisation (Gong & Lazebnik, CVPR 2011) on a truncated SVD.

    Projects onto the top ``n_bits`` singular directions (TruncatedSVD, so sparse input
    stays sparse), centres the projections, and learns the rotation that brings them
    closest to binary corners, alternating codes and an orthogonal Procrustes step.

    Parameters
    ----------
    n_bits : int, default=32
        Code length; at most the number of features.
    n_iter : int, default=50
        Alternations of the quantisation.
    random_state : int, RandomState instance or None, default=None
        Seeds the SVD and the initial rotation.

    Attributes
    ----------
    projection_ : ndarray of shape (`n_features_in_`, n_bits)
        SVD directions times the learned rotation.
    offset_ : ndarray of shape (n_bits,)
        The training projections' mean, rotated.
    n_features_in_ : int
        Number of features seen in ``fit``.

    Notes
    -----
    ``fit`` computes in float64 whatever the input's dtype: in float32 the randomized
    SVD's rounding depends on the BLAS library's thread count, and the quantisation's
    iterations amplified it (on 20 Newsgroups at 32 bits, up to 4% of the training
    codes' bits differed between one thread and two). In float64 the codes are the same.
    Fitting float32 input therefore holds a float64 copy of it.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.baselines import ITQHasher
    >>> X = np.random.default_rng(0).random((30, 20))
    >>> ITQHasher(n_bits=4, random_state=0).fit_transform(X).shape
    (30, 4)
    """

    _parameter_constraints: dict = {
        **_ProjectionHasher._parameter_constraints,
        "n_iter": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, n_bits=32, *, n_iter=50, random_state=None):
        self.n_bits = n_bits
        self.n_iter = n_iter
        self.random_state = random_state

    def fit(self, X, y=None):
        """Learn the projection and rotation on X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Term weights.
        y : None
            Ignored.

        Returns
        -------
        self : ITQHasher
        """
        self._validate_params()
        # float64 throughout: in float32 the randomized SVD's rounding, which varies with
        # BLAS's thread count, moved its directions by ~1e-4, and ITQ's iterations turned
        # that into up to 4% different bits (20 Newsgroups, 32 bits, 1 against 2 threads)
        X = self._validate(X, reset=True, dtype=np.float64)
        check_has_words(X, self)
        n_samples, n_features = X.shape
        if self.n_bits > min(n_features, n_samples):
            raise ValueError(
                f"ITQHasher needs n_bits <= min(n_samples, n_features), got n_bits={self.n_bits} "
                f"with n_samples={n_samples}, n_features={n_features}."
            )
        rng = check_random_state(self.random_state)
        if self.n_bits < min(n_features, n_samples):
            svd = TruncatedSVD(self.n_bits, algorithm="randomized", random_state=rng).fit(X)
            directions = svd.components_.T
        else:  # every direction: an exact SVD of the (small) matrix
            dense = X.toarray() if sp.issparse(X) else X
            directions = np.linalg.svd(dense, full_matrices=False)[2][: self.n_bits].T
        V = np.asarray(X @ directions)
        mean = V.mean(axis=0)
        V -= mean
        rotation, _ = np.linalg.qr(rng.standard_normal((self.n_bits, self.n_bits)))
        for _ in range(self.n_iter):
            B = np.where(V @ rotation >= 0, 1.0, -1.0)
            U, _, Wt = np.linalg.svd(V.T @ B)
            rotation = U @ Wt
        self.projection_ = directions @ rotation
        self.offset_ = mean @ rotation
        return self
