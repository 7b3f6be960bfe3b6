"""NASHHasher: training speed and precision@100 per bit length, beside ITQ and cosine.

Seeded and explicit. Speed: seconds per epoch on a corpus (default ng20, 32 bits,
defaults otherwise, and again with ``compute_dtype="bfloat16"``) printed beside this
machine's fp32 and bf16 matmul rates measured in the same run, and encoding throughput.
With ``--torch-compile`` the speed section also times training with the reconstruction
loss compiled (``skhash.config_context(torch_compile=True)``; it compiles bfloat16's
loss, so its float32 line repeats the uncompiled one). Quality: the paper's
protocol — test documents query the training set, precision of the 100 nearest by
Hamming distance (ties in database order), relevant = same class or at least one shared
label — for NASHHasher with its defaults, ITQ, and full-precision
TF-IDF cosine, all measured in this run (with ``--supervised``, SupervisedNASHHasher
with its defaults too). ``--device cuda`` trains every NASH model on the GPU (the matmul
rates are then the GPU's; encoding, like ``transform``, runs on the CPU).

    python benchmarks/bench_nash.py --data ../shared/data/ng20 ../shared/data/reuters
    python benchmarks/bench_nash.py --device cuda --bits 32
"""

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    data_folder,
    load_split,
    machine_line,
    matmul_gflops,
    matmul_size,
    torch_device,
)

import skhash  # noqa: E402
from skhash import NASHHasher, SupervisedNASHHasher  # noqa: E402
from skhash.baselines import ITQHasher  # noqa: E402
from skhash.metrics import cosine_precision_at_k, precision_at_k  # noqa: E402
from skhash.utils._hardware import native_bfloat16  # noqa: E402


def seconds_per_epoch(X, n_bits, seed, **params):
    """Per-epoch time from two fits, so set-up and the first epoch's warm-up cancel out.

    A discarded fit comes first: the first fit in a process also pays one-time costs
    (kernel selection, the allocator's first pages), and charged to the 1-epoch fit alone
    they were subtracted from the 4-epoch one, which halved the figure.
    """
    NASHHasher(n_bits=n_bits, max_iter=1, random_state=seed, **params).fit(X)
    times = {}
    for epochs in (1, 4):
        start = time.perf_counter()
        hasher = NASHHasher(n_bits=n_bits, max_iter=epochs, random_state=seed, **params).fit(X)
        times[epochs] = time.perf_counter() - start
    return (times[4] - times[1]) / 3, hasher


def speed(folder, n_bits, seed, device="cpu", torch_compile=False, bfloat16=True):
    """Corpus shape, non-zeros a row, s/epoch in float32 and bfloat16 (each a list:
    uncompiled, then, where ``torch_compile``, with ``skhash.config_context(
    torch_compile=True)``; no bfloat16 timings unless ``bfloat16``), encoding
    throughput, and seconds and epochs of a whole default fit (:func:`whole_fit`)."""
    X, _ = load_split(folder, "train")
    per_epoch, per_epoch_bf16 = [], []
    for compiled in (False, True) if torch_compile else (False,):
        with skhash.config_context(torch_compile=compiled):
            t, hasher = seconds_per_epoch(X, n_bits, seed, device=device)
            per_epoch.append(t)
            if bfloat16:
                t, _ = seconds_per_epoch(X, n_bits, seed, compute_dtype="bfloat16",
                                         device=device)
                per_epoch_bf16.append(t)
    hasher.transform(X)
    start = time.perf_counter()
    for _ in range(3):
        hasher.transform(X)
    docs_per_s = 3 * X.shape[0] / (time.perf_counter() - start)
    return (X.shape, X.nnz / X.shape[0], per_epoch, per_epoch_bf16, docs_per_s,
            whole_fit(X, n_bits, seed, device))


def whole_fit(X, n_bits, seed, device="cpu"):
    """Seconds and epochs of one fit at the defaults, set-up included.

    :func:`seconds_per_epoch` times epochs 2-4; this times all of them. The two differ
    where training slows as it goes: on an Intel Xeon (2026-12-07) the optimizers'
    decaying first moments turned subnormal after about 17 epochs and, before skhash
    flushed them, later epochs took up to 2.2 s against 0.6 s for the early ones.
    """
    start = time.perf_counter()
    hasher = NASHHasher(n_bits=n_bits, random_state=seed, device=device).fit(X)
    return time.perf_counter() - start, hasher.n_iter_


def quality(folder, bits, seed, k=100, supervised=False, device="cpu"):
    X_train, y_train = load_split(folder, "train")
    X_test, y_test = load_split(folder, "test")
    rows = []
    cosine = cosine_precision_at_k(X_test, y_test, X_train, y_train, k=k)
    for n_bits in bits:
        start = time.perf_counter()
        hasher = NASHHasher(n_bits=n_bits, random_state=seed, device=device).fit(X_train)
        fit_s = time.perf_counter() - start
        nash = precision_at_k(
            hasher.transform(X_test), y_test, hasher.transform(X_train), y_train, k=k
        )
        itq_hasher = ITQHasher(n_bits, random_state=seed).fit(X_train)
        itq = precision_at_k(
            itq_hasher.transform(X_test), y_test, itq_hasher.transform(X_train), y_train, k=k
        )
        row = dict(bits=n_bits, nash=nash, itq=itq, tfidf_cosine=cosine,
                   nash_minus_itq=nash - itq, epochs=hasher.n_iter_, fit_s=fit_s)
        if supervised:
            start = time.perf_counter()
            sup = SupervisedNASHHasher(n_bits=n_bits, random_state=seed, device=device)
            sup.fit(X_train, y_train)
            row["supervised_fit_s"] = time.perf_counter() - start
            row["supervised"] = precision_at_k(
                sup.transform(X_test), y_test, sup.transform(X_train), y_train, k=k
            )
            row["sup_minus_nash"] = row["supervised"] - nash
        rows.append(row)
        print(f"  {folder.name} {n_bits:>3} bits: NASH {nash:.4f}  ITQ {itq:.4f}"
              + (f"  supervised {row['supervised']:.4f}" if supervised else "")
              + f"  ({hasher.n_iter_} epochs, fit {fit_s:.1f} s)", flush=True)
    return pd.DataFrame(rows).set_index("bits")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["ng20", "reuters"],
                        help="data folders (or names under SKHASH_DATA)")
    parser.add_argument("--bits", nargs="+", type=int, default=[8, 16, 32, 64, 128])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--quality-only", action="store_true")
    parser.add_argument("--supervised", action="store_true",
                        help="also train SupervisedNASHHasher (defaults) at each bit length")
    parser.add_argument("--device", default="cpu", type=torch_device,
                        help="torch device of every NASH fit (default cpu; e.g. cuda)")
    parser.add_argument("--torch-compile", action="store_true",
                        help="speed: also time training with skhash.config_context("
                             "torch_compile=True)")
    args = parser.parse_args(argv)
    folders = [data_folder(d) for d in args.data]

    print(f"# {time.strftime('%Y-%m-%d %H:%M')} | {machine_line()}")
    if not args.quality_only:
        # Where bfloat16 is emulated (an AVX2-only CPU: 1.3 GFLOP/s against 114-177 in
        # float32) its products are timed smaller (matmul_size) and its fits not at all:
        # they would take minutes to say what the rate already says.
        native = native_bfloat16(args.device) is not False
        n_bf16 = matmul_size(torch.bfloat16, args.device)
        gflops = matmul_gflops(device=args.device)
        gflops_bf16 = matmul_gflops(dtype=torch.bfloat16, device=args.device)
        shape, nnz, per_epoch, per_epoch_bf16, docs_per_s, (seconds, epochs) = speed(
            folders[0], 32, args.seed, args.device, args.torch_compile, bfloat16=native)
        print(f"\n## Speed on {folders[0].name}: {shape[0]} docs x {shape[1]} terms, "
              f"{nnz:.1f} non-zeros/row, 32 bits, defaults, trained on {args.device}")
        print(f"{args.device} fp32 matmul (torch, 2048^3): {gflops:.0f} GFLOP/s")
        print(f"{args.device} bf16 matmul (torch, {n_bf16}^3): {gflops_bf16:.1f} GFLOP/s"
              + ("" if native else " (no native bfloat16 on this CPU: emulated)"))
        print(f"training: {per_epoch[0]:.3f} s/epoch   (target <= 1 s; peers 11-58 s)")
        print(f"training, a whole fit at the defaults: {seconds:.1f} s for {epochs} epochs, "
              f"{seconds / epochs:.3f} s/epoch with its set-up and late epochs")
        if native:
            print(f"training, compute_dtype='bfloat16': {per_epoch_bf16[0]:.3f} s/epoch")
        else:
            print("training, compute_dtype='bfloat16': not timed (emulated on this CPU; "
                  "the estimators warn and it trains several times slower)")
        if args.torch_compile:
            print(f"training, torch_compile=True: {per_epoch[1]:.3f} s/epoch"
                  + (f", with compute_dtype='bfloat16' {per_epoch_bf16[1]:.3f} s/epoch"
                     if native else ""))
        print(f"encoding: {docs_per_s:,.0f} docs/s   (target >= 50,000)")
    if not args.speed_only:
        for folder in folders:
            print(f"\n## precision@100 on {folder.name} (test queries vs train, seed {args.seed}, "
                  f"trained on {args.device})")
            table = quality(folder, args.bits, args.seed, supervised=args.supervised,
                            device=args.device)
            print(table.to_string(float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
