"""Small helpers shared by the hashers, the search index and the metrics."""

from ._bits import codes_to_addresses, pack_codes, unpack_codes

__all__ = ["codes_to_addresses", "pack_codes", "unpack_codes"]
