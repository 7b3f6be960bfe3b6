"""Helpers shared by the benchmark scripts: data folders, machine facts."""

import argparse
import ast
import os
import platform
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import sklearn
import torch

import skhash
from skhash.nash._base import resolve_device
from skhash.utils._hardware import native_bfloat16


def data_folder(path_or_name):
    """A corpus folder: a path, or a name under ``SKHASH_DATA``."""
    path = Path(path_or_name)
    if not path.is_dir() and os.environ.get("SKHASH_DATA"):
        path = Path(os.environ["SKHASH_DATA"]) / path_or_name
    if not (path / "X_train.npz").is_file():
        raise SystemExit(f"{path_or_name}: no X_train.npz there (give a data folder or set SKHASH_DATA)")
    return path


def torch_device(name):
    """The ``type`` of the scripts' ``--device`` options: ``name`` where torch can train
    there, else an argparse error with the estimators' own message."""
    try:
        resolve_device(name)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return name


#: The choices of the scripts' ``--compute-dtype`` options.
COMPUTE_DTYPES = ("float32", "bfloat16", "auto")


def compute_dtype_option(value, device="cpu", rates=None):
    """The neural fits' ``compute_dtype`` for a ``--compute-dtype`` value, and a note for
    the header.

    "auto" takes float32 where ``device`` lacks native bfloat16 (and where that is
    unknown). Where it has it, a CUDA device takes bfloat16; a CPU takes bfloat16 only if
    its bfloat16 products are also measured faster than its float32 ones
    (:func:`matmul_gflops`, or ``rates``: a callable dtype -> GFLOP/s), since the
    instruction set alone does not say so: on an Intel Xeon with AVX-512 BF16 but no AMX
    (2026-12-07) 2048 x 2048 products ran at 188-201 GFLOP/s in bfloat16 against 299-354
    in float32, and an epoch of 20 Newsgroups at 32 bits took 0.675 s against 0.560 s,
    where on an AMD Zen 4 bfloat16 ran at 406 against 177 GFLOP/s and trained faster.
    An explicit bfloat16 on a CPU without it is kept, with a note that torch emulates it
    there (products about 90 times slower than in float32 on an AVX2-only CPU,
    2026-12-06).
    """
    native = native_bfloat16(device)
    where = f"{device} {'has' if native else 'lacks' if native is False else 'may lack'}"
    if value == "auto":
        if not native:
            return "float32", f"--compute-dtype auto: float32 ({where} native bfloat16)"
        if torch.device(device).type == "cuda":
            return "bfloat16", f"--compute-dtype auto: bfloat16 ({where} native bfloat16)"
        rates = rates or (lambda dtype: matmul_gflops(dtype=dtype, device=device))
        fp32, bf16 = rates(torch.float32), rates(torch.bfloat16)
        chosen = "bfloat16" if bf16 > fp32 else "float32"
        return chosen, (f"--compute-dtype auto: {chosen} ({where} native bfloat16; "
                        f"products measured at {bf16:.0f} GFLOP/s in bfloat16, {fp32:.0f} "
                        "in float32)")
    if value == "bfloat16" and native is False:
        return value, (f"warning: {where} native bfloat16, so torch emulates it: expect "
                       "fits several times slower than in float32 (--compute-dtype auto "
                       "picks float32 here)")
    return value, ""


def load_split(folder, split, counts=False):
    X = sp.load_npz(folder / f"X_{split}{'_counts' if counts else ''}.npz").tocsr()
    return X, np.load(folder / f"y_{split}.npy")


@lru_cache(maxsize=4)
def load_corpus(folder, queries="test"):
    """``(X_train, y_train, X_queries, y_queries)`` of a data folder, read once per process:
    the queries are the ``test`` split, or ``val`` (for choosing settings without looking
    at the test queries)."""
    folder = Path(folder)
    if not (folder / f"X_{queries}.npz").is_file():
        raise SystemExit(f"{folder}: no X_{queries}.npz there (no {queries} split)")
    return (*load_split(folder, "train"), *load_split(folder, queries))


#: Set for the worker processes unless already set. glibc's malloc hands large freed
#: blocks (a mini-batch's 200 x vocabulary softmax, the first layer's gradient) back to
#: the kernel and faults them in again at the next step; with these it keeps them. Same
#: results; measured on reuters, NASH-DN in bfloat16, 15 fits in two workers: 603 s of
#: fits without, 531 s with. Ignored where the C library is not glibc.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(64 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}


def set_worker_malloc_env():
    """Put :data:`MALLOC_ENV` into the environment (where not set) for worker processes
    started from now on: each worker's C library reads it at start."""
    for name, value in MALLOC_ENV.items():
        os.environ.setdefault(name, value)


def prepare_parallel_run(data, out, jobs):
    """Set up a script that fits in ``jobs`` worker processes: resolve the data folders,
    make the output folder, put :data:`MALLOC_ENV` into the workers' environment and print
    the machine line. Returns the folders, the output folder and torch threads a worker."""
    folders = [data_folder(d) for d in data]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    set_worker_malloc_env()
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} | {machine_line()}")
    return folders, out, max(1, (os.cpu_count() or 1) // jobs)


def matmul_size(dtype=torch.float32, device="cpu"):
    """The side of the square products :func:`matmul_gflops` times by default: 2048, or
    512 for bfloat16 where ``device`` lacks it natively (at the 1.3 GFLOP/s measured on an
    AVX2-only CPU, eleven 2048 x 2048 products would take about two and a half minutes)."""
    return 512 if dtype == torch.bfloat16 and native_bfloat16(device) is False else 2048


def matmul_gflops(n=None, repeats=10, dtype=torch.float32, device="cpu"):
    """Matrix-multiply rate of ``device`` through torch in ``dtype``, in GFLOP/s, on
    ``n`` x ``n`` products (default :func:`matmul_size`)."""
    n = n or matmul_size(dtype, device)
    device = torch.device(device)
    a = torch.randn(n, n, dtype=dtype, device=device)
    b = torch.randn(n, n, dtype=dtype, device=device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    a @ b
    sync()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync()
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def machine_line():
    gpu = ""
    if torch.cuda.is_available():
        gpu = f" | GPU {torch.cuda.get_device_name(0)}"
    return (
        f"{platform.node()} | {platform.processor() or platform.machine()} | "
        f"{os.cpu_count()} cores, torch threads {torch.get_num_threads()} | python "
        f"{platform.python_version()} torch {torch.__version__} sklearn {sklearn.__version__} "
        f"numpy {np.__version__} skhash {skhash.__version__}{gpu}"
    )


def add_fit_options(parser):
    """The options of the scripts that fit NASHHasher at its defaults against ITQ (one fit
    of each per seed): ``--seeds``, ``--bits``, ``--max-iter``, ``--params``, ``--out``
    (:func:`fit_params` reads the two that set NASHHasher's parameters)."""
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--bits", type=int, default=32)
    parser.add_argument("--max-iter", type=int, default=None,
                        help="epochs (default: NASHHasher's)")
    parser.add_argument("--params", nargs="+", type=param_option, default=[],
                        metavar="NAME=VALUE",
                        help="NASHHasher parameters instead of its defaults, e.g. "
                             "target_neighbors=100 neighbor_weight=10 (values read as "
                             "Python literals)")
    parser.add_argument("--out", type=Path, default=None,
                        help="CSV of the per-seed rows, each written as its fits end (a file "
                             "already there is replaced)")


def param_option(value):
    """``"name=value"`` -> ``(name, value)``, the value a Python literal (else a string)."""
    name, sep, text = value.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"{value!r}: expected NAME=VALUE")
    try:
        return name, ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return name, text


def fit_params(args):
    """NASHHasher's parameters set by :func:`add_fit_options`' options (``--params``,
    then ``--max-iter``), as a dict of keyword arguments."""
    params = dict(args.params)
    if args.max_iter is not None:
        params["max_iter"] = args.max_iter
    return params


def fit_summary(args, params):
    """The run's header: what NASHHasher was fitted with, the length and the seeds."""
    return f"NASHHasher {params or 'defaults'}, {args.bits} bits, seeds {args.seeds}"


def fresh_csv(out, stem):
    """``out / f"{stem}.csv"``, or ``{stem}-2.csv``, ``-3``... where that is taken: a run
    never writes over the file of another run of the same minute (one it resumes, say)."""
    path = Path(out) / f"{stem}.csv"
    n = 2
    while path.exists():
        path = Path(out) / f"{stem}-{n}.csv"
        n += 1
    return path


def append_row(csv, row, columns):
    """Add one fit's ``row`` (its ``columns``, in that order) to the CSV file ``csv`` as the
    fit ends, so that a stopped run keeps what it finished; the header goes first into a
    new file."""
    frame = pd.DataFrame([{column: row.get(column) for column in columns}],
                         columns=list(columns))
    frame.to_csv(csv, mode="a", header=not Path(csv).exists(), index=False)


class RowWriter:
    """Each fit's row to the CSV file ``out`` (a path, or None: nothing written) as the fit
    ends, so that a stopped run keeps what it finished; a file already at ``out`` is
    replaced when the run's first row arrives."""

    def __init__(self, out):
        self.out = None if out is None else Path(out)
        self._started = False

    def __call__(self, row):
        if self.out is None:
            return
        if not self._started:
            self.out.unlink(missing_ok=True)
            self._started = True
        append_row(self.out, row, list(row))


def report(results, lines):
    """Print a script's table (``lines``); returns its per-seed rows (which a
    :class:`RowWriter` has already written, row by row)."""
    print("\n".join(lines))
    return results


def nash_and_itq(X_train, y_train, X_test, y_test, seed, n_bits, fit_rows=None, **params):
    """Fit NASHHasher (``params`` on top of its defaults) and ITQ at ``n_bits`` with
    ``seed`` on the training rows (or on ``fit_rows`` of them only); the test rows query
    all the training rows. Returns the fitted NASHHasher, its fit seconds and the
    precision@100 of both."""
    from skhash import NASHHasher
    from skhash.baselines import ITQHasher
    from skhash.metrics import precision_at_k

    X_fit = X_train if fit_rows is None else X_train[fit_rows]
    start = time.perf_counter()
    hasher = NASHHasher(n_bits, random_state=seed, **params).fit(X_fit)
    fit_s = time.perf_counter() - start
    nash = precision_at_k(hasher.transform(X_test), y_test, hasher.transform(X_train), y_train,
                          k=100)
    itq = ITQHasher(n_bits, random_state=seed).fit(X_fit)
    itq_p = precision_at_k(itq.transform(X_test), y_test, itq.transform(X_train), y_train,
                           k=100)
    return hasher, fit_s, nash, itq_p


def mean_spread(values):
    """``"mean ± std"`` of a column of per-seed values (population std), a fixed 16
    characters wide; the mean alone, padded, for one value."""
    spread = f" ± {values.std(ddof=0):.4f}" if len(values) > 1 else ""
    return f"{values.mean():.4f}{spread:9s}"


#: The header of :func:`quality_cells`' columns.
QUALITY_HEADER = f"{'NASH p@100':>16s} {'ITQ':>6s} {'cosine':>6s}"


def quality_cells(part):
    """The last cells of a table line of :func:`nash_and_itq` rows (one setting, a row per
    seed, columns ``nash``, ``itq``, ``cosine``): NASH's mean ± std, ITQ's mean and the
    cosine reference (the same for every seed)."""
    return f"{mean_spread(part['nash'])} {part['itq'].mean():.4f} {part['cosine'].iloc[0]:.4f}"
