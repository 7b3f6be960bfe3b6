"""The NASH paper's comparison, rebuilt on the data at hand: every method, 8-128 bits, 3 seeds.

For each data folder (the format of ``../shared/data/*``: ``X_{split}.npz`` TF-IDF and
``y_{split}.npy`` labels, single- or multi-label), trains every method at every bit length
and seed on the training split and measures precision@100 of test queries against the
training set (Hamming ranking, ties in database order; relevant = same class or at least
one shared label). Prints a table per dataset (mean +- std over seeds) with TF-IDF cosine
at full precision as the reference line and the numbers *reported in the literature*
beside ours (marked "paper"; their data differ from ours), checks the paper's findings,
and writes a CSV (one row per fit) and a PNG plot per dataset. ``--queries val`` measures
with the validation split's queries instead (for choosing a setting without the test
queries; the paper's rows are then left out).

Methods: LSH, SpH (spectral hashing), ITQ, VDSH (skhash.baselines); NASH, NASH-N,
NASH-DN (NASHHasher with noise=None/"fixed"/"data"), NASH-DN-S (SupervisedNASHHasher);
and skhash's extension NASH-DN+nbr10 (NASHHasher(target_neighbors=10): the decoder also
reconstructs each training document's 10 nearest neighbours' words), NASH-DN+nbr100
(100 neighbours at weight 10) and NASH-N+nbr100 (the same on NASH-N, the estimator's
default noise), not paper rows and run only when named in ``--methods``.
All with their defaults (NASHHasher's include its LSA-smoothed reconstruction targets;
``--paper-targets`` trains the NASH rows with the paper's, ``lsa_components=0``, and the
CSV keeps each fit's ``lsa_components``); ``--epochs`` sets the neural ones' (and is then
printed), ``--compute-dtype bfloat16`` runs the neural ones' matrix products in bfloat16
(their ``compute_dtype`` parameter; printed, and kept in the CSV; ``auto``: bfloat16 only
where the device has it natively and, on a CPU, multiplies faster in it than in float32,
as measured at the start; else float32), and ``--device cuda`` trains
the neural ones on the GPU (their ``device`` parameter; printed and kept in the CSV; the
classical baselines and the evaluation stay on the CPU). ``--short-training`` trains the
NASH rows with ``batch_size=500, max_iter=30`` instead of their defaults (200, 50): the
whole run about twice as short, at a cost measured in the benchmarks README (printed,
and each fit's ``batch_size`` and ``max_iter`` kept in the CSV).

    python benchmarks/bench_reproduce.py --data ../shared/data/ng20 ../shared/data/reuters
    python benchmarks/bench_reproduce.py --quick      # 1 seed, 16/32/64 bits, 10 epochs
    python benchmarks/bench_reproduce.py --device cuda --compute-dtype bfloat16

Fits run in ``--jobs`` worker processes (default 2) with the cores shared out between
their torch thread pools. Each fit's row reaches the CSV as the fit ends, so a run that is
stopped keeps what it finished; ``--resume CSV`` takes the fits a saved CSV holds instead
of training them again (where its settings are this run's; a saved fit with other
settings stops the run with the difference named) and trains the rest:

    python benchmarks/bench_reproduce.py --resume benchmarks/results/reproduce-20261207-2150.csv
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    COMPUTE_DTYPES,
    MALLOC_ENV,
    append_row,
    compute_dtype_option,
    fresh_csv,
    load_corpus,
    matmul_gflops,
    matmul_size,
    prepare_parallel_run,
    torch_device,
)

import skhash  # noqa: E402
from skhash import NASHHasher, SupervisedNASHHasher  # noqa: E402
from skhash.baselines import ITQHasher, LSHHasher, SpectralHasher, VDSHHasher  # noqa: E402
from skhash.metrics import cosine_precision_at_k, precision_at_k  # noqa: E402
from skhash.nash._base import EMULATED_BFLOAT16_WARNING  # noqa: E402

BITS = (8, 16, 32, 64, 128)

#: name -> (factory(n_bits, seed, neural_params), neural?, supervised?)
METHODS = {
    "LSH": (lambda b, s, kw: LSHHasher(b, random_state=s), False, False),
    "SpH": (lambda b, s, kw: SpectralHasher(b, random_state=s), False, False),
    "ITQ": (lambda b, s, kw: ITQHasher(b, random_state=s), False, False),
    "VDSH": (lambda b, s, kw: VDSHHasher(b, random_state=s, **kw), True, False),
    "NASH": (lambda b, s, kw: NASHHasher(b, noise=None, random_state=s, **kw), True, False),
    "NASH-N": (lambda b, s, kw: NASHHasher(b, noise="fixed", random_state=s, **kw), True, False),
    "NASH-DN": (lambda b, s, kw: NASHHasher(b, noise="data", random_state=s, **kw), True, False),
    "NASH-DN-S": (lambda b, s, kw: SupervisedNASHHasher(b, random_state=s, **kw), True, True),
    # skhash's extension, not a row of the paper: NASH-DN that also reconstructs the words
    # of each training document's 10 nearest neighbours by TF-IDF cosine.
    "NASH-DN+nbr10": (lambda b, s, kw: NASHHasher(b, noise="data", target_neighbors=10,
                                                  random_state=s, **kw), True, False),
    # the same with a wide neighbourhood weighted heavily (100 neighbours, weight 10)
    "NASH-DN+nbr100": (lambda b, s, kw: NASHHasher(b, noise="data", target_neighbors=100,
                                                   neighbor_weight=10.0, random_state=s,
                                                   **kw), True, False),
    # and on NASH-N, NASHHasher's default noise
    "NASH-N+nbr100": (lambda b, s, kw: NASHHasher(b, noise="fixed", target_neighbors=100,
                                                  neighbor_weight=10.0, random_state=s,
                                                  **kw), True, False),
}
#: ``--short-training``: what the NASH rows (NASHHasher, SupervisedNASHHasher) train with
#: instead of their defaults (batches of 200 for 50 epochs). Fits about 2.0-2.3 times
#: shorter, 20 Newsgroups about 0.028 lower at 32 bits (validation queries, benchmarks
#: README, "The price of a 30-minute run"); VDSH keeps its defaults (10 epochs).
SHORT_TRAINING = {"batch_size": 500, "max_iter": 30}

BASELINES = ("LSH", "SpH", "ITQ", "VDSH")
UNSUPERVISED_NASH = ("NASH", "NASH-N", "NASH-DN")

#: Numbers reported in the literature (not measured here; the papers' data differ).
#: Reuters, 8-128 bits, as a third party reports the NASH paper's table (approximate).
PAPER = {
    "reuters": {
        "paper: STH (NASH paper)": (0.6616, 0.7351, 0.7554, 0.7350, 0.6986),
        "paper: VDSH (NASH paper)": (0.6859, 0.7165, 0.7753, 0.7456, 0.7318),
        "paper: NASH (NASH paper)": (0.7113, 0.7624, 0.7993, 0.7812, 0.7559),
        "paper: NASH-DN (NASH paper)": (0.7470, 0.8013, 0.8418, 0.8297, 0.7924),
        "paper: AMMI (Stratos & Wiseman 2020)": (None, 0.8173, 0.8446, 0.8506, 0.8602),
    },
    "ng20": {
        "paper: AMMI (Stratos & Wiseman 2020)": (None, 0.5518, 0.5956, 0.6398, 0.6618),
    },
}


#: The columns of a fit's row, in the order the CSV files keep them.
ROW_COLUMNS = ("dataset", "method", "bits", "seed", "precision_at_100", "fit_s", "epochs",
               "compute_dtype", "queries", "device", "lsa_components", "batch_size",
               "max_iter")

def configured_hasher(method, n_bits, seed, epochs=None, compute_dtype="float32",
                      device="cpu", paper_targets=False, short_training=False):
    """The unfitted estimator that :func:`run_one` trains for ``method`` (see there)."""
    factory, neural, _ = METHODS[method]
    params = {}
    if neural:
        params["compute_dtype"] = compute_dtype
        params["device"] = device
        if epochs:
            params["max_iter"] = epochs
    hasher = factory(n_bits, seed, params)
    if short_training and isinstance(hasher, (NASHHasher, SupervisedNASHHasher)):
        hasher.set_params(**SHORT_TRAINING)
        if epochs:
            hasher.set_params(max_iter=epochs)  # --epochs still sets the epochs
    if paper_targets and "lsa_components" in hasher.get_params():
        hasher.set_params(lsa_components=0)  # the paper's targets: no LSA smoothing
    return hasher


def fit_settings(method, hasher, queries):
    """The columns of a fit's row that record how ``hasher`` was configured for
    ``method`` (``--resume`` reuses a saved fit only where they equal this run's): empty
    (or NaN) where they do not apply, as the CSV files keep them."""
    neural = METHODS[method][1]
    params = hasher.get_params()
    return dict(queries=queries,
                compute_dtype=params["compute_dtype"] if neural else "",
                device=params["device"] if neural else "",
                lsa_components=params.get("lsa_components", np.nan),
                batch_size=params.get("batch_size", "") if neural else "",
                max_iter=params.get("max_iter", np.nan) if neural else np.nan)


def run_one(folder, method, n_bits, seed, epochs, threads, compute_dtype="float32",
            queries="test", torch_compile=False, device="cpu", paper_targets=False,
            short_training=False):
    """Fit one method once and measure its precision@100 (the ``queries`` split against
    the training set); runs in a worker process, with ``skhash.set_config(torch_compile=
    torch_compile)``; a neural method trains on ``device``, a NASH estimator with
    :data:`SHORT_TRAINING` where ``short_training`` (``epochs``, when given, still sets
    its epochs). Returns the fit's row (:data:`ROW_COLUMNS`)."""
    torch.set_num_threads(threads)
    skhash.set_config(torch_compile=torch_compile)
    warnings.filterwarnings("ignore", message=EMULATED_BFLOAT16_WARNING, category=UserWarning)
    X_train, y_train, X_test, y_test = load_corpus(str(folder), queries)
    supervised = METHODS[method][2]
    hasher = configured_hasher(method, n_bits, seed, epochs, compute_dtype, device,
                               paper_targets, short_training)
    start = time.perf_counter()
    if supervised:
        hasher.fit(X_train, y_train)
    else:
        hasher.fit(X_train)
    fit_s = time.perf_counter() - start
    precision = precision_at_k(
        hasher.transform(X_test), y_test, hasher.transform(X_train), y_train, k=100
    )
    row = dict(dataset=Path(folder).name, method=method, bits=n_bits, seed=seed,
               precision_at_100=precision, fit_s=fit_s,
               epochs=getattr(hasher, "n_iter_", np.nan), **fit_settings(method, hasher,
                                                                        queries))
    return {column: row[column] for column in ROW_COLUMNS}


def matmul_flops(X, n_bits, epochs, heads, hidden=(500, 500)):
    """Floating-point operations in the matrix products of one neural fit on CSR ``X``.

    A lower bound on the fit's work (softmax, Adam and data movement come on top): per
    document and epoch, forward plus backward cost three times the forward products of the
    dense layers (``2 * a * b`` each), the code heads (``2 * width * n_bits`` each) and the
    decoder (``2 * n_bits * n_features``), and twice those of the sparse first layer
    (``2 * nnz * hidden[0]``; no gradient flows to the input).
    """
    n_docs, n_features = X.shape
    dense = sum(2 * a * b for a, b in zip(hidden[:-1], hidden[1:]))
    per_doc = 3 * (dense + heads * 2 * hidden[-1] * n_bits + 2 * n_bits * n_features)
    first = 2 * 2 * X.nnz * hidden[0]
    return epochs * (n_docs * per_doc + first)


def n_heads(method):
    """Linear heads on a neural method's last encoder layer: code logits, plus a noise
    (NASH-DN) or log-variance (VDSH) head; read off the method's own estimator."""
    hasher = METHODS[method][0](8, 0, {})
    return 2 if isinstance(hasher, VDSHHasher) or getattr(hasher, "noise", None) == "data" else 1


def read_results(paths):
    """Saved per-fit CSVs as one frame; later files replace earlier rows of the same
    dataset, method, bits and seed."""
    results = pd.concat([pd.read_csv(f) for f in paths], ignore_index=True)
    if "queries" not in results:  # files written before --queries: test queries
        results["queries"] = "test"
    results["queries"] = results["queries"].fillna("test")
    return results.drop_duplicates(["dataset", "method", "bits", "seed", "queries"],
                                   keep="last")


def seed_stats(results, dataset):
    """Mean and standard deviation over seeds of one dataset's fits, by (method, bits)."""
    ours = results[results.dataset == dataset]
    return ours.groupby(["method", "bits"]).precision_at_100.agg(["mean", "std"])


def summary_table(results, dataset, cosine, bits, paper=True):
    """method x bits: 'mean +- std' of ours, then the paper's rows, then cosine.

    Returns the printable table and our means and standard deviations (method x bits).
    """
    stats = seed_stats(results, dataset)
    rows = {}
    for method in [m for m in METHODS if m in stats.index.get_level_values(0)]:
        rows[method] = {
            b: f"{stats.loc[(method, b), 'mean']:.4f} ± {np.nan_to_num(stats.loc[(method, b), 'std']):.4f}"
            for b in bits if (method, b) in stats.index
        }
    for name, values in (PAPER.get(dataset, {}) if paper else {}).items():
        rows[name] = {b: ("-" if v is None else f"{v:.4f}")
                      for b, v in zip(BITS, values) if b in bits}
    rows["TF-IDF cosine (full precision)"] = {b: f"{cosine:.4f}" for b in bits}
    table = pd.DataFrame(rows).T
    table.columns = [f"{b} bits" for b in table.columns]
    return table, stats["mean"].unstack("bits"), stats["std"].unstack("bits")


def findings(means, bits):
    """The paper's three findings, checked on our means: a list of printable lines."""
    lines = []
    middle = [b for b in bits if 16 <= b <= 64]
    nash = [m for m in UNSUPERVISED_NASH if m in means.index]
    base = [m for m in BASELINES if m in means.index]
    if nash and base and middle:
        fails = [(m, o, b) for m in nash for o in base for b in middle
                 if means.loc[m, b] <= means.loc[o, b]]
        lines.append("every NASH variant above every baseline at 16-64 bits: "
                     + ("holds" if not fails else "does NOT hold: " + ", ".join(
                         f"{m} <= {o} at {b}" for m, o, b in fails)))
    if {"NASH", "NASH-DN"} <= set(means.index):
        fails = [b for b in bits if means.loc["NASH-DN", b] < means.loc["NASH", b]]
        lines.append("NASH-DN >= NASH: " + ("holds at every bit length" if not fails else
                     "does NOT hold at " + ", ".join(f"{b} bits" for b in fails)))
    for extension in [m for m in means.index if "+nbr" in m]:
        base = extension.split("+")[0]  # the variant it extends
        for other in [m for m in (base, "ITQ") if m in means.index]:
            gaps = ", ".join(f"{means.loc[extension, b] - means.loc[other, b]:+.4f}"
                             for b in bits)
            lines.append(f"{extension} (extension) minus {other}, by bits: {gaps}")
    if "NASH-DN-S" in means.index:
        others = [m for m in means.index if m != "NASH-DN-S"]
        fails = [b for b in bits if any(means.loc[m, b] >= means.loc["NASH-DN-S", b]
                                         for m in others)]
        lines.append("supervised above all unsupervised: " + (
            "holds at every bit length" if not fails else
            "does NOT hold at " + ", ".join(f"{b} bits" for b in fails)))
    return lines


def compare(results, other, dataset, bits):
    """Per method in both: our mean minus the other run's, by bits, and both spreads.

    Returns printable lines, e.g. to weigh a setting (``--compute-dtype``) against a saved
    run of the defaults.
    """
    lines = []
    mine, others = seed_stats(results, dataset), seed_stats(other, dataset)
    common = mine.index.intersection(others.index)
    for method in [m for m in METHODS if m in common.get_level_values(0)]:
        cells = []
        for b in bits:
            if (method, b) not in common:
                continue
            ours, theirs = mine.loc[(method, b)], others.loc[(method, b)]
            spreads = "/".join(f"{np.nan_to_num(x['std']):.4f}" for x in (ours, theirs))
            cells.append(f"{b}: {ours['mean'] - theirs['mean']:+.4f} (std {spreads})")
        lines.append(f"{method}: " + ", ".join(cells))
    return lines


def plot(means, stds, dataset, bits, path, queries="test"):
    """precision@100 against bits per method, with the paper's rows dashed (test queries)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no plot; pip install -e .[benchmarks])")
        return None
    # tab10's ten colours (as before there were more methods), then tab20's light ones
    palette = [*plt.get_cmap("tab10").colors, *plt.get_cmap("tab20").colors[1::2]]
    colors = {m: palette[i % len(palette)] for i, m in enumerate(METHODS)}
    fig, ax = plt.subplots(figsize=(9, 4.8))
    for method in [m for m in METHODS if m in means.index]:
        ax.errorbar(bits, means.loc[method, bits], yerr=stds.loc[method, bits].fillna(0),
                    marker="o", capsize=3, color=colors[method], label=method)
    # a reported method we do not run (STH, AMMI) gets a grey of its own
    greys = iter(["black", "dimgray", "darkgray", "silver"] * 4)
    for name, values in (PAPER.get(dataset, {}) if queries == "test" else {}).items():
        pts = [(b, v) for b, v in zip(BITS, values) if v is not None and b in bits]
        method = name.split(": ")[1].split(" ")[0]
        if pts:
            ax.plot(*zip(*pts), linestyle="--", marker="x", alpha=0.7,
                    color=colors[method] if method in colors else next(greys), label=name)
    ax.set_xscale("log", base=2)
    ax.set_xticks(bits, [str(b) for b in bits])
    ax.set_xlabel("bits")
    ax.set_ylabel("precision@100")
    ax.set_title(f"{dataset}: precision@100 ({queries} vs train), mean ± std over seeds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _setting_value(value):
    """A setting as text, so that a value read back from a CSV file (where ints may come
    back as floats and empty cells as NaN) equals the value a run configures."""
    if value is None or pd.isna(value) or value == "":
        return ""
    try:
        return f"{float(value):g}"  # 500, 500.0 and "500" alike
    except ValueError:
        return str(value)


def saved_fits(previous, tasks, settings):
    """The rows of ``previous`` (saved results) that this run's ``tasks`` need not train
    again: those of the same dataset, method, bits and seed whose settings equal
    ``settings(task)``'s. Returns them as a list of rows and the tasks left to train; a
    saved fit of a task with other settings is a SystemExit naming the difference (a
    resumed run never mixes settings)."""
    by_key = {(r["dataset"], r["method"], int(r["bits"]), int(r["seed"]), r["queries"]): r
              for r in previous.to_dict("records")}
    kept, left = [], []
    for task in tasks:
        folder, method, n_bits, seed = task
        expected = settings(task)
        row = by_key.get((Path(folder).name, method, n_bits, seed, expected["queries"]))
        if row is None:
            left.append(task)
            continue
        for column, value in expected.items():
            saved = row.get(column, np.nan)
            if _setting_value(saved) != _setting_value(value):
                raise SystemExit(
                    f"--resume: the saved fit of {method} at {n_bits} bits, seed {seed} on "
                    f"{Path(folder).name} has {column}={_setting_value(saved)!r}, this run "
                    f"trains with {column}={_setting_value(value)!r}; resume with the options "
                    "of the saved run, or leave --resume out")
        kept.append({column: row.get(column, np.nan) for column in ROW_COLUMNS})
    return kept, left


def run_all(folders, methods, bits, seeds, epochs, jobs, threads, compute_dtype,
            queries="test", torch_compile=False, device="cpu", paper_targets=False,
            short_training=False, csv=None, previous=None):
    """Every (folder, method, bits, seed) fit, in ``jobs`` processes: a DataFrame of rows.

    With ``csv``, every fit's row is written to that file as the fit ends (the saved fits
    first), so an interrupted run keeps what it finished. With ``previous`` (saved
    results, as :func:`read_results` gives them), a fit found there with this run's
    settings is taken from it instead of trained (:func:`saved_fits`)."""
    # Neural and long fits first, so the workers finish together.
    tasks = [(f, m, b, s) for f in folders for m in methods for b in bits for s in seeds]
    tasks.sort(key=lambda t: (not METHODS[t[1]][1], -t[2]))
    rows = []
    if previous is not None:
        def settings(task):
            method, n_bits, seed = task[1:]
            hasher = configured_hasher(method, n_bits, seed, epochs, compute_dtype, device,
                                       paper_targets, short_training)
            return fit_settings(method, hasher, queries)

        rows, tasks = saved_fits(previous, tasks, settings)
        print(f"# resumed: {len(rows)} fits taken from the saved results, {len(tasks)} to "
              "train", flush=True)
    if csv is not None:
        pd.DataFrame(rows, columns=list(ROW_COLUMNS)).to_csv(csv, index=False)
    # Workers import this file as a module and find run_one there by name (a function
    # of __main__ would be pickled by value instead).
    import bench_reproduce

    finished = Parallel(n_jobs=jobs, verbose=0, return_as="generator_unordered")(
        delayed(bench_reproduce.run_one)(str(f), m, b, s, epochs, threads, compute_dtype,
                                         queries, torch_compile, device, paper_targets,
                                         short_training)
        for f, m, b, s in tasks
    )
    total = len(rows) + len(tasks)
    for row in finished:  # a line per fit as it ends: a long run shows its progress
        rows.append(row)
        if csv is not None:
            append_row(csv, row, ROW_COLUMNS)
        print(f"  [{len(rows)}/{total}] {row['dataset']} {row['method']} {row['bits']} bits "
              f"seed {row['seed']}: {row['precision_at_100']:.4f} ({row['fit_s']:.0f} s)",
              flush=True)
    order = ["dataset", "method", "bits", "seed"]
    return pd.DataFrame(rows, columns=list(ROW_COLUMNS)).sort_values(order, ignore_index=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["ng20", "reuters"],
                        help="data folders (or names under SKHASH_DATA)")
    parser.add_argument("--bits", nargs="+", type=int, default=list(BITS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", choices=list(METHODS),
                        default=[m for m in METHODS if "+nbr" not in m],
                        help="default: the paper's methods; add NASH-DN+nbr10, "
                             "NASH-DN+nbr100 or NASH-N+nbr100 for skhash's "
                             "neighbour-target extension")
    parser.add_argument("--epochs", type=int, default=None,
                        help="train every neural method for this many epochs (default: each "
                             "one's own max_iter, 50 for NASH, 10 for VDSH)")
    parser.add_argument("--compute-dtype", choices=COMPUTE_DTYPES, default="float32",
                        help="the neural methods' compute_dtype (default: float32, their "
                             "default); bfloat16 runs their matrix products in bfloat16; "
                             "auto: bfloat16 where the device has it natively and, on a "
                             "CPU, its bfloat16 products measure faster, else float32")
    parser.add_argument("--device", default="cpu", type=torch_device,
                        help="torch device of the neural fits (default cpu; e.g. cuda); "
                             "the classical baselines always run on the CPU")
    parser.add_argument("--torch-compile", action="store_true",
                        help="skhash.set_config(torch_compile=True) in the workers: the "
                             "neural fits' loss runs compiled where they train in bfloat16 "
                             "(faster; the same numbers to rounding, not bit for bit)")
    parser.add_argument("--queries", choices=["test", "val"], default="test",
                        help="the split that queries the training set (default test, the "
                             "paper's protocol; val to choose settings without the test "
                             "queries)")
    parser.add_argument("--paper-targets", action="store_true",
                        help="NASH rows with lsa_components=0: the paper's reconstruction "
                             "targets, without skhash's default LSA smoothing")
    parser.add_argument("--short-training", action="store_true",
                        help="the NASH rows train with "
                             + ", ".join(f"{k}={v}" for k, v in SHORT_TRAINING.items())
                             + " instead of their defaults (200, 50): fits about twice as "
                             "short (a whole run took 27 minutes on two AMD Zen 4 cores in "
                             "bfloat16, 33 on two Intel Xeon cores in float32), at a "
                             "measured cost (20 Newsgroups about 0.028 lower at 32 bits); "
                             "VDSH and the classical baselines unchanged")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--quick", action="store_true",
                        help="1 seed, 16/32/64 bits, 10 epochs: a smoke run of a few minutes")
    parser.add_argument("--out", default="benchmarks/results",
                        help="folder for the CSV and PNG files")
    parser.add_argument("--resume", nargs="+", default=None, metavar="CSV",
                        help="take the fits these saved results hold (for instance an "
                             "interrupted run's CSV, which gets each fit as it ends) "
                             "instead of training them again, where their settings are "
                             "this run's (a saved fit with other settings stops the run); "
                             "train the rest")
    parser.add_argument("--from-csv", nargs="+", default=None, metavar="CSV",
                        help="train nothing: report on saved results (later files replace "
                             "earlier rows of the same dataset, method, bits and seed)")
    parser.add_argument("--compare", nargs="+", default=None, metavar="CSV",
                        help="also print, per method, this run's mean minus that of saved "
                             "results (later files replace earlier rows, as --from-csv)")
    args = parser.parse_args(argv)
    if args.resume and args.from_csv:
        parser.error("--resume trains what the saved results lack; --from-csv trains "
                     "nothing: give one of them")
    if args.quick:
        args.seeds, args.bits, args.epochs = args.seeds[:1], [16, 32, 64], args.epochs or 10
    started = time.perf_counter()
    folders, out, threads = prepare_parallel_run(args.data, args.out, args.jobs)
    print("# worker processes: " + ", ".join(f"{k}={os.environ[k]}" for k in MALLOC_ENV))
    args.compute_dtype, note = compute_dtype_option(args.compute_dtype, args.device)
    if note:
        print(f"# {note}")
    default_epochs = (f"NASH {SHORT_TRAINING['max_iter']} (--short-training), VDSH 10"
                      if args.short_training
                      else "estimator defaults (max_iter=50, VDSH 10)")
    print(f"# bits {args.bits}, seeds {args.seeds}, epochs "
          f"{args.epochs or default_epochs}, neural compute_dtype "
          f"{args.compute_dtype} on {args.device}, {args.jobs} workers x {threads} torch "
          f"threads, torch_compile={args.torch_compile}, NASH targets: "
          + ("the paper's (lsa_components=0)" if args.paper_targets
             else "the estimators' defaults")
          + (", NASH training: " + ", ".join(f"{k}={v}" for k, v in SHORT_TRAINING.items())
             + " (--short-training; not the estimators' defaults)"
             if args.short_training else ""))
    stamp = time.strftime("%Y%m%d-%H%M")
    if args.from_csv:
        results = read_results(args.from_csv)
        names = {f.name for f in folders}
        results = results[results.dataset.isin(names) & results.bits.isin(args.bits)
                          & results.method.isin(args.methods)
                          & (results.queries == args.queries)]
        print(f"# from {', '.join(args.from_csv)}: {len(results)} fits")
        csv = fresh_csv(out, f"reproduce-merged-{stamp}")
    else:
        csv = fresh_csv(out, f"reproduce-{stamp}")
        print(f"# each fit's row goes to {csv} as it ends")
        results = run_all(folders, args.methods, args.bits, args.seeds, args.epochs,
                          args.jobs, threads, args.compute_dtype, args.queries,
                          args.torch_compile, args.device, args.paper_targets,
                          args.short_training, csv=csv,
                          previous=read_results(args.resume) if args.resume else None)
    results.to_csv(csv, index=False)
    seeds = sorted(results.seed.unique())
    other = read_results(args.compare) if args.compare else None
    if other is not None:
        other = other[other.queries == args.queries]

    for folder in folders:
        name = folder.name
        X_train, y_train, X_test, y_test = load_corpus(str(folder), args.queries)
        cosine = cosine_precision_at_k(X_test, y_test, X_train, y_train, k=100)
        table, means, stds = summary_table(results, name, cosine, args.bits,
                                           paper=args.queries == "test")
        print(f"\n## {name}: precision@100, {args.queries} queries vs train "
              f"({X_test.shape[0]} x {X_train.shape[0]} docs), mean ± std over "
              f"{len(seeds)} seed(s)" + ("; rows marked 'paper' are reported numbers, "
                                         "not measured here" if args.queries == "test" else ""))
        print(table.to_string())
        for line in findings(means, args.bits):
            print("  finding: " + line)
        if other is not None:
            print(f"  this run minus {', '.join(args.compare)} (mean over seeds; std of "
                  "each):")
            for line in compare(results, other, name, args.bits):
                print("    " + line)
        png = plot(means, stds, name, args.bits, out / f"reproduce-{name}-{stamp}.png",
                   args.queries)
        if png:
            print(f"  plot: {png}")
    per_method = results.groupby(["dataset", "method"]).fit_s.sum().unstack("dataset")
    print("\n## fit time per method, summed over bits and seeds (s)")
    print(per_method.round(1).to_string())
    by_name = {f.name: f for f in folders}
    flops = sum(
        matmul_flops(load_corpus(str(by_name[r.dataset]))[0], r.bits, r.epochs, n_heads(r.method))
        for r in results.itertuples() if METHODS[r.method][1]
    )
    where = "this machine's (all cores)" if args.device == "cpu" else f"{args.device}'s"
    print(f"matrix products of the neural fits: {flops / 1e12:.0f} TFLOP; at {where} "
          "matmul rates measured now they alone take:")
    for dtype in (torch.float32, torch.bfloat16):
        rate = matmul_gflops(dtype=dtype, device=args.device)
        print(f"  {str(dtype).split('.')[1]}: {rate:.1f} GFLOP/s "
              f"({matmul_size(dtype, args.device)}^3), {flops / rate / 1e9:.0f} s")
    print(f"\nCSV: {csv}")
    print(f"wall time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
