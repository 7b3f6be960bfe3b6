"""HammingNeighbors against faiss.IndexBinaryFlat, and multi-index hashing against a scan.

Codes are clustered as a trained hasher's are: ``n_clusters`` random centres, each code a
centre with every bit flipped with probability ``--flip`` (and queries drawn the same
way). Prints, per code length: exact kNN time for skhash's scan and for faiss (both on
the same threads), their ratio, and whether their distances agree exactly (indices can
differ only inside ties, which skhash breaks by index); then radius search 0-3 by
multi-index hashing against skhash's own scan, with identical results checked; and bytes
per stored code.

    python benchmarks/bench_search.py --n 1000000 --queries 1000 --k 100
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line  # noqa: E402

from skhash import HammingNeighbors  # noqa: E402


def clustered_codes(n, n_bits, n_clusters, flip, rng):
    centres = rng.integers(0, 2, size=(n_clusters, n_bits), dtype=np.uint8)
    codes = centres[rng.integers(n_clusters, size=n)]
    codes ^= (rng.random((n, n_bits)) < flip).astype(np.uint8)
    return codes


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--bits", nargs="+", type=int, default=[32, 64, 128])
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--flip", type=float, default=0.1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import faiss
    import numba

    faiss.omp_set_num_threads(args.threads)
    numba.set_num_threads(args.threads)
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} | {machine_line()} | faiss {faiss.__version__} "
          f"numba {numba.__version__} | {args.threads} threads each")
    print(f"# {args.n:,} database codes, {args.queries:,} queries, k={args.k}, "
          f"{args.clusters} clusters, flip {args.flip}, best of {args.repeats}\n")
    rng = np.random.default_rng(args.seed)
    for n_bits in args.bits:
        codes = clustered_codes(args.n + args.queries, n_bits, args.clusters, args.flip, rng)
        database, queries = codes[: args.n], codes[args.n :]
        nn = HammingNeighbors(algorithm="brute").fit(database)
        nn.kneighbors(queries[:8], args.k)  # compile outside the timing
        t_sk, (d_sk, i_sk) = best_of(lambda: nn.kneighbors(queries, args.k), args.repeats)

        index = faiss.IndexBinaryFlat(n_bits)
        index.add(np.packbits(database, axis=1))
        packed_q = np.packbits(queries, axis=1)
        t_fa, (d_fa, _) = best_of(lambda: index.search(packed_q, args.k), args.repeats)
        agree = np.array_equal(d_sk, d_fa)
        print(f"kNN {n_bits:>3} bits: skhash {1e3 * t_sk / args.queries:.3f} ms/query  "
              f"faiss {1e3 * t_fa / args.queries:.3f} ms/query  ratio {t_sk / t_fa:.2f}  "
              f"distances agree: {agree}")

        mih = HammingNeighbors(algorithm="mih").fit(database)
        nn.radius_neighbors(queries[:8], 0)  # compile the scan's radius kernels untimed
        print(f"  storage: {nn.codes_.nbytes / args.n:.1f} bytes/code (scan)")
        for radius in range(4):
            mih.radius_neighbors(queries[:8], radius)  # build this radius' tables first
            m = mih._substring_count(radius)
            table_bytes = sum(t.nbytes for t in mih._tables[m][2:])
            t_mih, (_, i_mih) = best_of(lambda: mih.radius_neighbors(queries, radius), args.repeats)
            t_scan, (_, i_scan) = best_of(lambda: nn.radius_neighbors(queries, radius), 1)
            same = all(np.array_equal(a, b) for a, b in zip(i_mih, i_scan))
            found = np.mean([len(a) for a in i_mih])
            print(f"  radius {radius}: MIH {1e3 * t_mih / args.queries:.4f} ms/query  scan "
                  f"{1e3 * t_scan / args.queries:.3f} ms/query  speed-up {t_scan / t_mih:.0f}x  "
                  f"identical: {same}  ({found:.1f} found/query; {m} substrings, tables "
                  f"{table_bytes / args.n:.0f} bytes/code)")


if __name__ == "__main__":
    main()
