"""Binary codes: 0/1 arrays, bit-packed 64-bit words, and integer hash addresses."""

import numpy as np


def codes_to_addresses(codes):
    """Read each row of 0/1 bits as one integer, first bit most significant.

    Parameters
    ----------
    codes : ndarray of shape (n_samples, n_bits)
        Binary codes with values 0 and 1.

    Returns
    -------
    addresses : ndarray of shape (n_samples,)
        ``uint64`` when ``n_bits <= 64``; above 64 bits an ``object`` array of Python
        ints, which are exact at any width (a uint64 cannot hold them).

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.utils import codes_to_addresses
    >>> codes_to_addresses(np.array([[1, 0, 1], [0, 0, 1]], dtype=np.uint8))
    array([5, 1], dtype=uint64)
    """
    codes = np.asarray(codes)
    n_bits = codes.shape[1]
    if n_bits <= 64:
        shifts = np.arange(n_bits - 1, -1, -1, dtype=np.uint64)
        return (codes.astype(np.uint64) << shifts).sum(axis=1, dtype=np.uint64)
    out = np.empty(codes.shape[0], dtype=object)
    for i, row in enumerate(np.packbits(codes.astype(np.uint8), axis=1)):
        out[i] = int.from_bytes(row.tobytes(), "big") >> (8 * row.size - n_bits)
    return out


def pack_codes(codes):
    """Pack 0/1 codes into 64-bit words, ``ceil(n_bits / 64)`` per row.

    Bit ``j`` of a row lands in word ``j // 64`` at position ``j % 64`` (least
    significant first); unused high bits of the last word are zero, so XOR-popcount
    between packed rows is the Hamming distance.

    Parameters
    ----------
    codes : array-like of shape (n_samples, n_bits)
        Values 0 and 1.

    Returns
    -------
    packed : ndarray of shape (n_samples, ceil(n_bits / 64)), dtype uint64

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.utils import pack_codes
    >>> pack_codes(np.array([[1, 1, 0, 1]]))
    array([[11]], dtype=uint64)
    """
    codes = np.asarray(codes, dtype=np.uint8)
    n_samples, n_bits = codes.shape
    n_words = max(1, -(-n_bits // 64))
    padded = np.zeros((n_samples, n_words * 64), dtype=np.uint8)
    padded[:, :n_bits] = codes
    as_bytes = np.packbits(padded, axis=1, bitorder="little")
    return np.ascontiguousarray(as_bytes).view("<u8").astype(np.uint64, copy=False)


def unpack_codes(packed, n_bits):
    """Inverse of :func:`pack_codes`: 64-bit words back to 0/1 ``uint8`` codes.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.utils import pack_codes, unpack_codes
    >>> unpack_codes(pack_codes(np.array([[0, 1, 1]])), n_bits=3)
    array([[0, 1, 1]], dtype=uint8)
    """
    packed = np.ascontiguousarray(packed, dtype="<u8")
    as_bytes = packed.view(np.uint8).reshape(packed.shape[0], -1)
    return np.unpackbits(as_bytes, axis=1, bitorder="little")[:, :n_bits]
