"""Input checks shared by the hashers that learn from their training documents."""

import numpy as np
import scipy.sparse as sp


def check_has_words(X, estimator):
    """Refuse to fit on a matrix whose every row is empty.

    A hasher that learns from the documents (NASH, VDSH, ITQ, spectral hashing) learns
    nothing from rows with no non-zero term weight, and the usual cause is upstream: a
    vectorizer whose vocabulary misses every document, or an input of the wrong slice.
    Single empty rows are allowed (they get a code, see each hasher's notes).

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Validated input.
    estimator : object
        The estimator being fitted, named in the error.

    Raises
    ------
    ValueError
        If X has no non-zero entry.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import NASHHasher
    >>> from skhash.utils._validation import check_has_words
    >>> check_has_words(np.eye(2), NASHHasher())  # passes silently
    >>> try:
    ...     check_has_words(np.zeros((3, 4)), NASHHasher())
    ... except ValueError as exc:
    ...     print(str(exc)[:66])
    NASHHasher cannot be fitted on X of shape (3, 4): every row is emp
    """
    nnz = X.count_nonzero() if sp.issparse(X) else np.count_nonzero(X)
    if nnz == 0:
        raise ValueError(
            f"{type(estimator).__name__} cannot be fitted on X of shape {X.shape}: every row "
            "is empty (no non-zero term weight), so there is nothing to learn from. Check "
            "the vectorizer's vocabulary (stop words, min_df, max_df) and the documents "
            "passed in."
        )
