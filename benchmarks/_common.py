"""Helpers shared by the benchmark scripts: data folders, machine facts."""

import os
import platform
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import sklearn
import torch

import skhash


def data_folder(path_or_name):
    """A corpus folder: a path, or a name under ``SKHASH_DATA``."""
    path = Path(path_or_name)
    if not path.is_dir() and os.environ.get("SKHASH_DATA"):
        path = Path(os.environ["SKHASH_DATA"]) / path_or_name
    if not (path / "X_train.npz").is_file():
        raise SystemExit(f"{path_or_name}: no X_train.npz there (give a data folder or set SKHASH_DATA)")
    return path


def load_split(folder, split, counts=False):
    X = sp.load_npz(folder / f"X_{split}{'_counts' if counts else ''}.npz").tocsr()
    return X, np.load(folder / f"y_{split}.npy")


def matmul_gflops(n=2048, repeats=10, dtype=torch.float32):
    """Matrix-multiply rate of this machine through torch in ``dtype``, in GFLOP/s."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def machine_line():
    return (
        f"{platform.node()} | {platform.processor() or platform.machine()} | "
        f"{os.cpu_count()} cores, torch threads {torch.get_num_threads()} | python "
        f"{platform.python_version()} torch {torch.__version__} sklearn {sklearn.__version__} "
        f"numpy {np.__version__} skhash {skhash.__version__}"
    )
