"""SpectralHasher: spectral hashing (Weiss, Torralba & Fergus, NIPS 2008) on a PCA."""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import PCA

from ..utils._validation import check_has_words
from ._projection import _ProjectionHasher


class SpectralHasher(_ProjectionHasher):
    """Spectral hashing: thresholded analytical eigenfunctions along principal directions.

    The training documents are projected on their top principal directions (PCA with
    implicit centring, so sparse input is never densified). Assuming the projections
    uniform on their ranges, the Laplacian eigenfunctions of one direction ``d`` are
    ``cos(k * pi * (v_d - lo_d) / (hi_d - lo_d))``, ``k = 1, 2, ...``, with eigenvalues
    growing with ``(k / (hi_d - lo_d))**2``. The ``n_bits`` smoothest of them, over all
    directions, are kept, and each bit is the sign of one: the first bit of a direction
    splits its range in half, the next ones in ever finer stripes.

    Parameters
    ----------
    n_bits : int, default=32
        Code length.
    n_components : int or None, default=None
        Principal directions to take the eigenfunctions from; None takes
        ``min(n_bits, n_samples - 1, n_features)``, as the method prescribes.
    random_state : int, RandomState instance or None, default=None
        Seeds the sparse eigen-solver's start vector. The PCA runs in float64 whatever
        the input's dtype, so the codes do not depend on the BLAS library's thread count.

    Attributes
    ----------
    projection_ : ndarray of shape (`n_features_in_`, n_components)
        Principal directions.
    offset_ : ndarray of shape (n_components,)
        The training mean, projected.
    lower_ : ndarray of shape (n_components,)
        Smallest training projection on each direction.
    bit_components_ : ndarray of shape (n_bits,)
        Direction each bit's eigenfunction lives on.
    frequencies_ : ndarray of shape (n_bits,)
        Each bit's angular frequency ``k * pi / (hi_d - lo_d)``, ascending.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    ITQHasher : Rotates the principal directions instead of subdividing them.

    References
    ----------
    Y. Weiss, A. Torralba and R. Fergus. "Spectral Hashing". NIPS 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.baselines import SpectralHasher
    >>> X = np.random.default_rng(0).random((50, 10))
    >>> sh = SpectralHasher(n_bits=6, random_state=0).fit(X)
    >>> sh.transform(X).shape
    (50, 6)
    >>> bool(np.all(np.diff(sh.frequencies_) >= 0))  # smoothest eigenfunctions first
    True
    """

    _parameter_constraints: dict = {
        **_ProjectionHasher._parameter_constraints,
        "n_components": [Integral, None],
    }

    def __init__(self, n_bits=32, *, n_components=None, random_state=None):
        self.n_bits = n_bits
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X, y=None):
        """Learn the principal directions, their ranges and the chosen eigenfunctions.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Term weights.
        y : None
            Ignored.

        Returns
        -------
        self : SpectralHasher
        """
        self._validate_params()
        # the PCA in float64, as ITQHasher's SVD: its rounding then moves no code bit
        X = self._validate(X, reset=True, dtype=np.float64)
        check_has_words(X, self)
        n_samples, n_features = X.shape
        if n_samples < 2:
            raise ValueError(f"SpectralHasher needs at least 2 samples, got n_samples={n_samples}.")
        most = min(n_samples - 1, n_features)
        n_components = min(self.n_bits, most) if self.n_components is None else self.n_components
        if not 1 <= n_components <= most:
            raise ValueError(
                f"n_components must be between 1 and min(n_samples - 1, n_features) = {most}, "
                f"got {n_components}."
            )
        if sp.issparse(X) and n_components < most:
            pca = PCA(n_components, svd_solver="arpack", random_state=self.random_state).fit(X)
        else:
            dense = X.toarray() if sp.issparse(X) else X
            pca = PCA(n_components, svd_solver="full").fit(dense)
        self.projection_ = pca.components_.T
        self.offset_ = pca.mean_ @ self.projection_
        V = self._project(X)
        self.lower_ = V.min(axis=0)
        span = np.maximum(V.max(axis=0) - self.lower_, np.finfo(np.float64).eps)
        # Every (direction, mode k) pair; keep the n_bits lowest frequencies, ties by
        # direction then mode, so the choice is deterministic.
        modes = np.arange(1, self.n_bits + 1)
        frequency = modes[None, :] * np.pi / span[:, None]
        component = np.repeat(np.arange(n_components), self.n_bits)
        order = np.lexsort((np.tile(modes, n_components), component, frequency.ravel()))
        chosen = order[: self.n_bits]
        self.bit_components_ = component[chosen]
        self.frequencies_ = frequency.ravel()[chosen]
        return self

    def transform(self, X):
        """Binary codes of X: the sign of each chosen eigenfunction.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Term weights (TF-IDF or counts).

        Returns
        -------
        codes : ndarray of shape (n_samples, n_bits), dtype uint8
        """
        V = self._project(X)[:, self.bit_components_] - self.lower_[self.bit_components_]
        return (np.cos(self.frequencies_ * V) > 0).astype(np.uint8)
