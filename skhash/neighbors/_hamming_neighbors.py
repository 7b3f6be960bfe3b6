"""HammingNeighbors: exact nearest-neighbour and radius search over binary codes."""

import math
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..metrics._hamming import check_codes
from ..utils import pack_codes
from . import _kernels, _mih

#: Below this many database codes a scan is as fast as probing tables.
_MIH_MIN_SAMPLES = 10_000


class HammingNeighbors(BaseEstimator):
    """Exact neighbour search by Hamming distance over binary codes.

    It is called like :class:`sklearn.neighbors.NearestNeighbors`, with codes for
    points: ``fit`` stores the database codes bit-packed in 64-bit words (about
    ``n_bits / 8`` bytes a code, plus the tables of multi-index hashing when used);
    ``kneighbors`` and ``radius_neighbors`` answer queries exactly, with integer distances
    (numbers of differing bits). Ties in distance are always broken by ascending database
    index, on every algorithm, so rankings and the metrics computed from them reproduce.

    Parameters
    ----------
    n_neighbors : int, default=5
        Neighbours returned by :meth:`kneighbors` by default.
    radius : int, default=1
        Hamming radius used by :meth:`radius_neighbors` by default.
    algorithm : {"auto", "brute", "mih"}, default="auto"
        ``"brute"`` scans every code (compiled XOR-popcount with a bounded heap);
        ``"mih"`` is multi-index hashing (Norouzi, Punjani & Fleet, TPAMI 2014), which
        probes substring tables and checks only candidates; ``"auto"`` uses multi-index
        hashing for radius search on at least 10,000 codes when the radius is below the
        substring count times 3 (each substring probed within 2 bits), and the scan
        otherwise (the scan is the faster for kNN with k around 100).
    n_substrings : int or None, default=None
        Substrings for multi-index hashing, at least ``ceil(n_bits / 64)`` (a substring
        is indexed as one 64-bit word; a smaller value is raised to that). None takes, for kNN, ``round(n_bits /
        log2(n))`` as the paper recommends, and for a radius search the count with the
        least expected work at that radius (tables are built once per count used).
    packed_bits : int or None, default=None
        If given, inputs are codes already packed by :func:`skhash.utils.pack_codes`
        (``uint64`` words, ``ceil(packed_bits / 64)`` per row) of this many bits.

    Attributes
    ----------
    n_bits_ : int
        Code length.
    n_samples_fit_ : int
        Number of database codes.
    codes_ : ndarray of shape (`n_samples_fit_`, ceil(`n_bits_` / 64)), dtype uint64
        The packed database codes.

    See Also
    --------
    sklearn.neighbors.NearestNeighbors : The interface this class follows.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import HammingNeighbors
    >>> codes = np.array([[0, 0, 0, 0], [0, 0, 0, 1], [1, 1, 0, 1], [0, 0, 1, 1]])
    >>> nn = HammingNeighbors(n_neighbors=2).fit(codes)
    >>> dist, ind = nn.kneighbors([[0, 0, 0, 1]])
    >>> dist, ind
    (array([[0, 1]], dtype=int32), array([[1, 0]]))
    >>> nn.kneighbors(n_neighbors=1)[1].ravel()  # each code left out of its own result
    array([1, 0, 1, 1])
    >>> [r.tolist() for r in nn.radius_neighbors([[0, 0, 0, 0]], radius=1)[1]]
    [[0, 1]]
    """

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "radius": [Interval(Integral, 0, None, closed="left")],
        "algorithm": [StrOptions({"auto", "brute", "mih"})],
        "n_substrings": [Interval(Integral, 1, None, closed="left"), None],
        "packed_bits": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, n_neighbors=5, *, radius=1, algorithm="auto", n_substrings=None,
                 packed_bits=None):
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.algorithm = algorithm
        self.n_substrings = n_substrings
        self.packed_bits = packed_bits

    # -- input -------------------------------------------------------------------------
    def _pack(self, X, name):
        if sp.issparse(X):
            X = X.toarray()
        if self.packed_bits is None:
            return pack_codes(check_codes(X, name)), np.asarray(X).shape[1]
        X = np.asarray(X)
        n_words = -(-self.packed_bits // 64)
        if X.ndim != 2 or X.shape[1] != n_words or X.shape[0] == 0:
            raise ValueError(
                f"{name}: packed codes of {self.packed_bits} bits need shape "
                f"(n_samples >= 1, {n_words}), got {X.shape}."
            )
        if X.dtype != np.uint64:
            raise ValueError(f"{name}: packed codes must be uint64, got {X.dtype}.")
        spare = 64 * n_words - self.packed_bits
        if spare and np.any(X[:, -1] >> np.uint64(64 - spare)):
            raise ValueError(f"{name}: bits beyond packed_bits={self.packed_bits} are set.")
        return np.ascontiguousarray(X), self.packed_bits

    def _query(self, X):
        check_is_fitted(self)
        if X is None:
            return self.codes_, True
        packed, n_bits = self._pack(X, "X")
        if n_bits != self.n_bits_:
            raise ValueError(
                f"X has codes of {n_bits} bits, but HammingNeighbors was fitted with "
                f"{self.n_bits_}-bit codes."
            )
        return packed, False

    # -- fit ---------------------------------------------------------------------------
    def fit(self, X, y=None):
        """Index the database codes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_bits)
            0/1 codes (uint8, bool or int), or packed words if ``packed_bits`` is set.
        y : None
            Ignored.

        Returns
        -------
        self : HammingNeighbors
            The fitted index; any earlier index is replaced.
        """
        self._validate_params()
        self.codes_, self.n_bits_ = self._pack(X, "X")
        self.n_samples_fit_ = self.codes_.shape[0]
        # Multi-index tables by substring count: a cache of fitted state, built on
        # demand (a radius picks its own count), never a parameter.
        self._tables = {}
        if self.algorithm == "mih":
            self._mih_tables()
        return self

    def _substring_count(self, radius=None):
        """Substrings for multi-index hashing.

        For kNN (no radius), ``round(n_bits / log2(n))`` as the paper recommends. For a
        radius search, the count that minimises the expected work for uniform codes:
        look-ups ``m * sum_{t <= r // m} C(w, t)`` (each weighed as 10 candidate checks)
        plus candidates ``look-ups * n / 2**w``, with ``w = n_bits / m``.
        """
        # A substring is read into one 64-bit word: never fewer than ceil(n_bits / 64).
        fewest = -(-self.n_bits_ // 64)
        if self.n_substrings is not None:
            return max(min(self.n_substrings, self.n_bits_), fewest)
        n = self.n_samples_fit_
        if radius is None:
            guess = round(self.n_bits_ / max(1.0, math.log2(n)))
            return int(min(max(guess, fewest), self.n_bits_))
        best, best_cost = 1, math.inf
        for m in range(1, min(self.n_bits_, 32) + 1):
            width = self.n_bits_ / m
            if width > 64:
                continue
            sub = radius // m
            lookups = m * sum(math.comb(int(width), t) for t in range(min(sub, int(width)) + 1))
            cost = lookups * (10.0 + n / 2.0**width)
            if cost < best_cost:
                best, best_cost = m, cost
        return best

    def _mih_tables(self, radius=None):
        """Tables for the substring count that suits ``radius``, built on first use."""
        m = self._substring_count(radius)
        if m not in self._tables:
            self._tables[m] = _mih.build_tables(self.codes_, self.n_bits_, m)
        return self._tables[m]

    def _use_mih(self, radius=None):
        if self.algorithm != "auto":
            return self.algorithm == "mih"
        if radius is None or self.n_samples_fit_ < _MIH_MIN_SAMPLES:
            return False
        return radius // self._substring_count(radius) <= 2

    # -- queries -----------------------------------------------------------------------
    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """The k nearest database codes of each query, nearest first.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_bits), default=None
            Query codes. None queries the fitted codes, each left out of its own result.
        n_neighbors : int, default=None
            Neighbours per query; ``self.n_neighbors`` when None.
        return_distance : bool, default=True
            Whether to return the distances.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_neighbors), dtype int32
            Hamming distances, ascending; ties ordered by database index.
        indices : ndarray of shape (n_queries, n_neighbors), dtype int64
            Database rows.
        """
        queries, loo = self._query(X)
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        if not isinstance(k, Integral) or isinstance(k, bool) or k < 1:
            raise ValueError(f"n_neighbors must be a positive integer, got {k!r}.")
        available = self.n_samples_fit_ - int(loo)
        if k > available:
            raise ValueError(
                f"Expected n_neighbors <= n_samples_fit{' - 1' if loo else ''}, but "
                f"n_neighbors = {k}, n_samples_fit = {self.n_samples_fit_}."
            )
        if self._use_mih():
            dist, ind = _mih.mih_knn(queries, self.codes_, int(k), *self._mih_tables(), loo,
                                     self.n_bits_)
        else:
            dist, ind = _kernels.knn_scan(queries, self.codes_, int(k), loo)
        return (dist, ind) if return_distance else ind

    def radius_neighbors(self, X=None, radius=None, return_distance=True, sort_results=False):
        """Every database code within a Hamming radius of each query.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_bits), default=None
            Query codes. None queries the fitted codes, each left out of its own result.
        radius : int, default=None
            Largest distance included; ``self.radius`` when None.
        return_distance : bool, default=True
            Whether to return the distances.
        sort_results : bool, default=False
            Accepted for compatibility with scikit-learn: results are always sorted by
            distance, then database index.

        Returns
        -------
        distances : ndarray of shape (n_queries,), dtype object
            For each query, an int32 array of distances.
        indices : ndarray of shape (n_queries,), dtype object
            For each query, an int64 array of database rows.
        """
        indptr, dist, ind = self._radius_csr(X, radius)
        n_queries = len(indptr) - 1
        out_i = np.empty(n_queries, dtype=object)
        out_d = np.empty(n_queries, dtype=object)
        for q in range(n_queries):
            out_i[q] = ind[indptr[q] : indptr[q + 1]]
            out_d[q] = dist[indptr[q] : indptr[q + 1]]
        return (out_d, out_i) if return_distance else out_i

    def _radius_csr(self, X, radius):
        queries, loo = self._query(X)
        r = self.radius if radius is None else radius
        if not isinstance(r, Integral) or isinstance(r, bool) or r < 0:
            raise ValueError(f"radius must be a non-negative integer, got {r!r}.")
        r = int(min(r, self.n_bits_))
        if self._use_mih(r):
            tables = self._mih_tables(r)
            radii = np.full(queries.shape[0], r, dtype=np.int64)
            counts = _mih.mih_radius_count(queries, self.codes_, radii, *tables, loo)
            indptr, dist, ind = _csr_buffers(counts)
            _mih.mih_radius_fill(queries, self.codes_, radii, *tables, loo, indptr, dist, ind)
        else:
            counts = _kernels.radius_count(queries, self.codes_, r, loo)
            indptr, dist, ind = _csr_buffers(counts)
            _kernels.radius_fill(queries, self.codes_, r, loo, indptr, dist, ind)
        return indptr, dist, ind

    def kneighbors_graph(self, X=None, n_neighbors=None, mode="connectivity"):
        """Sparse graph of each query's k nearest codes.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_bits), default=None
            Query codes; None for the fitted codes, each left out of its own row.
        n_neighbors : int, default=None
            Neighbours per query; ``self.n_neighbors`` when None.
        mode : {"connectivity", "distance"}, default="connectivity"
            Ones, or Hamming distances, as the stored values.

        Returns
        -------
        graph : scipy.sparse.csr_matrix of shape (n_queries, n_samples_fit_)
        """
        dist, ind = self.kneighbors(X, n_neighbors)
        indptr = np.arange(0, ind.size + 1, ind.shape[1], dtype=np.int64)
        return self._graph(indptr, dist.ravel(), ind.ravel(), mode)

    def radius_neighbors_graph(self, X=None, radius=None, mode="connectivity",
                               sort_results=False):
        """Sparse graph of the codes within a radius of each query.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_bits), default=None
            Query codes; None for the fitted codes, each left out of its own row.
        radius : int, default=None
            Largest distance included; ``self.radius`` when None.
        mode : {"connectivity", "distance"}, default="connectivity"
            Ones, or Hamming distances, as the stored values (a distance of 0 is stored
            explicitly).
        sort_results : bool, default=False
            Accepted for compatibility; rows are always sorted by distance, then index.

        Returns
        -------
        graph : scipy.sparse.csr_matrix of shape (n_queries, n_samples_fit_)
        """
        indptr, dist, ind = self._radius_csr(X, radius)
        return self._graph(indptr, dist, ind, mode)

    def _graph(self, indptr, dist, ind, mode):
        if mode == "connectivity":
            data = np.ones(len(ind), dtype=np.float64)
        elif mode == "distance":
            data = dist.astype(np.float64)
        else:
            raise ValueError(f"mode must be 'connectivity' or 'distance', got {mode!r}.")
        shape = (len(indptr) - 1, self.n_samples_fit_)
        return sp.csr_matrix((data, ind, indptr), shape=shape)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_tables"] = {}  # rebuilt on demand; keeps pickles at n_bits/8 bytes a code
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _csr_buffers(counts):
    """Row pointers for per-query result counts, and empty distance/index arrays."""
    indptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr, np.empty(indptr[-1], dtype=np.int32), np.empty(indptr[-1], dtype=np.int64)
