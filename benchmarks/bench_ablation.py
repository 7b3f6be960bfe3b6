"""What NASHHasher's default choices are worth: the defaults beside variants.

For each data folder (the format of ``../shared/data/*``), fits ``NASHHasher()`` as shipped
(NASH-N since 2026-11-29, NASH-DN before; 500-500 encoder, 50 epochs of AdamW at 3e-3,
batches of 200, reconstruction targets = the TF-IDF row rescaled to sum to its number of
terms, plus as much again spread over the 256 strongest words of its rank-64 LSA
reconstruction) and a set of named variants, each changing one thing (the last four two),
at the same bits and seeds, and prints precision@100 (test queries against the training
set; ``--queries val`` for the validation split) as mean +- std over seeds, its difference
to the defaults of the same run, and the mean fit time. ITQ and TF-IDF cosine, measured in
the same run, are the reference lines.

The variants and what they change:

* reconstruction targets (what the decoder's softmax is asked to give high probability):
  ``targets/idf``: the TF-IDF weight divided by the corpus' own idf estimate
  ``log((1 + n) / (1 + df)) + 1`` (back to sublinear term frequencies); ``targets=sqrt``:
  square roots of the weights; ``targets=presence``: 1 per distinct term; ``targets*2``:
  twice the default (the KL term half as heavy; Adam is blind to the loss' overall scale);
  ``targets/2``: half the default (the KL term twice as heavy);
  ``targets=mean-length``: every document weighs the corpus' mean number of terms;
* the LSA-smoothed part of the targets: ``lsa=0``: off (the document's own words only,
  the defaults before 2026-11-29); ``lsa_components=32``, ``=128``; ``lsa_terms=128``,
  ``=512``; ``lsa_weight=0.5``, ``=2``;
* neighbours (skhash's opt-in extension, ``target_neighbors=100, neighbor_weight=10``):
  ``nbr100``: neighbours by TF-IDF cosine, as shipped; ``nbr100,weight=2.5``,
  ``nbr100,weight=5``: the same neighbours weighted less (for short codes);
  ``nbr100,terms=256``, ``nbr100,terms=512``: the neighbours' mean words cut to each
  document's 256 or 512 strongest (``neighbor_terms``); ``nbr100,sim=0.1``: 256 words,
  and only the neighbours above cosine 0.1, each at 10/100 (``neighbor_similarity``);
  ``nbr100-lsa64``: neighbours by cosine in a 64-dimensional TruncatedSVD projection of
  the L2-normalised rows;
* training: ``batch=500``; ``batch=500,lr*2``; ``epochs=30``; ``epochs=80``;
  ``batch=100,epochs=25``, ``batch=100,epochs=30``, ``batch=128,epochs=32`` (more,
  smaller steps in fewer epochs); ``lr*2``;
  ``lr/2``; ``lr-linear-decay``: the step size falls linearly from 3e-3 to 0 over the 50
  epochs; ``weight_decay=0.1`` (ten times AdamW's default decay); ``biases-undecayed``:
  AdamW's decay on the weight matrices only, not on the biases; ``dropout=0.1``,
  ``dropout=0.2``: dropout on the encoder's hidden units in training;
  ``word-dropout=0.1``, ``0.3``, ``0.5``: the encoder reads each training document with
  each term's input weight dropped with that probability (a denoising encoder);
  ``swa-last10``, ``swa-last25``: the final weights are the mean of the weights at the
  end of each of the last 10 or 25 epochs (stochastic weight averaging);
  ``weight_averaging=0``: the last step's weights, the default before 2026-11-29's
  session 17 (the default 0.2 averages the weights over the steps of the last 10 of 50
  epochs); ``weight_averaging=0.5``: over the last 25;
* the noise: ``noise=data`` (NASH-DN, the paper's variant and the default before
  2026-11-29); ``noise_std=0.25``, ``=1``, ``=2`` (the default's is 0.5);
* the encoder's size: ``hidden=500`` (one hidden layer), ``hidden=1000-1000`` (two layers
  twice as wide);
* the neighbour extension together with one change that helps Reuters alone:
  ``nbr100,dropout=0.2``, ``nbr100,weight_decay=0.1``, ``nbr100,epochs=30``,
  ``nbr100-lsa64,dropout=0.2``, ``nbr100,swa-last10``, ``nbr100-lsa64,swa-last10``,
  ``nbr100-lsa64,swa-last25``.

The variants that are not parameters of the estimator (targets, LSA neighbours, the step
size schedule, dropout, word dropout, weight averaging) are small subclasses here that
override the estimator's private hooks ``_reconstruction_targets``, ``_training_optimizer``,
``_build_network``, ``_train`` and ``_run_epoch``: they
measure, they are not features.

``--per-label`` also prints, per dataset, the precision@100 of the test queries that carry
each label (a query with several labels counts under each), for every variant, ITQ and
TF-IDF cosine: where a variant wins or loses, not only by how much.

    python benchmarks/bench_ablation.py                         # ng20 and reuters, 32 bits
    python benchmarks/bench_ablation.py --variants defaults targets/idf --seeds 0
    python benchmarks/bench_ablation.py --variants dropout=0.2 --per-label

Each fit's row (per-query precisions left out) reaches the run's CSV in ``--out`` as the
fit ends, so a stopped run keeps what it finished; the finished run rewrites the file
sorted.
"""

import argparse
import copy
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from joblib import Parallel, delayed
from sklearn.decomposition import TruncatedSVD
from sklearn.preprocessing import normalize

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    COMPUTE_DTYPES,
    append_row,
    compute_dtype_option,
    fresh_csv,
    load_corpus,
    prepare_parallel_run,
    torch_device,
)

import skhash  # noqa: E402
from skhash import NASHHasher  # noqa: E402
from skhash.baselines import ITQHasher  # noqa: E402
from skhash.metrics import cosine_precision_at_k, precision_at_k  # noqa: E402
from skhash.nash._base import EMULATED_BFLOAT16_WARNING  # noqa: E402
from skhash.nash._batches import target_matrix  # noqa: E402
from skhash.nash._neighbor_targets import neighbor_smoothed_targets  # noqa: E402
from skhash.nash._weight_averaging import WeightAverage  # noqa: E402


def _rescaled(X, values):
    """CSR like X holding ``values`` (positive) per stored entry, each row rescaled to sum
    to its number of stored entries: the default targets' rescaling, applied to them."""
    return target_matrix(sp.csr_matrix((values, X.indices, X.indptr), shape=X.shape))


def idf_divided_targets(X):
    df = np.bincount(X.indices, minlength=X.shape[1])
    idf = np.log((1.0 + X.shape[0]) / (1.0 + df)) + 1.0
    return _rescaled(X, X.data / idf[X.indices])


def sqrt_targets(X):
    return _rescaled(X, np.sqrt(X.data.astype(np.float64)))


def presence_targets(X):
    return _rescaled(X, np.ones(X.nnz))


def doubled_targets(X):
    return target_matrix(X) * 2.0


def halved_targets(X):
    return target_matrix(X) * 0.5


def mean_length_targets(X):
    T = target_matrix(X)
    row_len = np.diff(X.indptr)
    mean_len = row_len[row_len > 0].mean()
    scale = np.where(row_len > 0, mean_len / np.maximum(row_len, 1), 0.0)
    return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ T)


def lsa_neighbor_targets(X, n_components=64, n_neighbors=100, weight=10.0):
    # float64, as ITQHasher: float32 rounding varies with BLAS's thread count
    space = TruncatedSVD(n_components, random_state=0).fit_transform(
        normalize(X).astype(np.float64))
    return neighbor_smoothed_targets(X, n_neighbors, weight,
                                     space=sp.csr_matrix(space.astype(np.float32)))


def _with_targets(targets):
    """A NASHHasher whose decoder reconstructs ``targets(X)``."""

    class Hasher(NASHHasher):
        def _reconstruction_targets(self, X):
            return targets(X)

    return Hasher


class _LinearDecay:
    """Wraps an optimizer: after each step its step size is ``lr0 * (1 - steps / total)``."""

    def __init__(self, optimizer, total_steps):
        self.optimizer, self.total, self.done = optimizer, total_steps, 0
        self.initial = [group["lr"] for group in optimizer.param_groups]

    def zero_grad(self):
        self.optimizer.zero_grad()

    def make_current(self):
        self.optimizer.make_current()

    def self_averaged(self):
        return self.optimizer.self_averaged()

    def start_average(self):
        self.optimizer.start_average()

    def copy_average(self):
        self.optimizer.copy_average()

    def step(self):
        self.optimizer.step()
        self.done += 1
        left = max(0.0, 1.0 - self.done / self.total)
        for group, lr in zip(self.optimizer.param_groups, self.initial):
            group["lr"] = lr * left


class BiasesUndecayedNASH(NASHHasher):
    """NASHHasher whose AdamW leaves the biases (every 1-D parameter, the decoder's word
    bias among them) undecayed; the weight matrices decay as in the defaults."""

    def _make_optimizer(self, params):
        params = list(params)
        return super()._make_optimizer(
            [{"params": [p for p in params if p.ndim > 1]},
             {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0}])


class LinearDecayNASH(NASHHasher):
    """NASHHasher whose step size falls linearly to 0 over ``max_iter`` epochs."""

    def fit(self, X, y=None):
        self._n_train = X.shape[0]
        return super().fit(X, y)

    def _training_optimizer(self, network, device):
        # the whole training's optimizer, so that the schedule reaches the first layer's
        # row-sparse AdamW as well as torch's
        steps = self.max_iter * math.ceil(self._n_train / self._batch_size(self._n_train))
        return _LinearDecay(super()._training_optimizer(network, device), steps)


def _with_dropout(p, base=NASHHasher):
    """A ``base`` (NASHHasher) whose encoder drops each hidden unit with probability ``p``
    in training."""

    class Hasher(base):
        def _build_network(self, *args, **kwargs):
            network = super()._build_network(*args, **kwargs)
            network.encoder.dropout = p
            return network

    return Hasher


def _with_word_dropout(p, base=NASHHasher):
    """A ``base`` (NASHHasher) whose encoder, in training, reads each document with every
    term's input weight dropped with probability ``p`` (the rest scaled by ``1 / (1 - p)``);
    the decoder still reconstructs the whole document (a denoising encoder)."""

    class Hasher(base):
        def _build_network(self, *args, **kwargs):
            network = super()._build_network(*args, **kwargs)
            encoder = network.encoder
            forward = encoder.forward

            def forward_dropping_words(batch):
                if encoder.training:
                    batch = copy.copy(batch)
                    keep = torch.rand(batch.inputs.shape, device=batch.inputs.device) >= p
                    batch.inputs = batch.inputs * keep / (1.0 - p)
                return forward(batch)

            encoder.forward = forward_dropping_words
            return network

    return Hasher


def _with_weight_averaging(last, base=NASHHasher):
    """A ``base`` (NASHHasher) whose final weights are the mean of its weights at the end
    of each of its last ``last`` epochs (stochastic weight averaging, Izmailov et al.,
    UAI 2018, at AdamW's constant step size); the codes' thresholds are fitted on the
    averaged network. It replaces the estimator's own averaging over steps
    (``weight_averaging``), which it was measured against."""

    class Hasher(base):
        # it reads the weights after epochs of its own choosing: every row kept current
        _lazy_first_layer = False

        def _averaged_epochs(self):
            return 0

        def _train(self, network, *args, **kwargs):
            # the package's running mean, fed once an epoch instead of once a step
            self._averaged, self._epochs_run = WeightAverage(network), 0
            try:
                super()._train(network, *args, **kwargs)
                self._averaged.copy_to_module()
            finally:
                del self._averaged, self._epochs_run

        def _run_epoch(self, network, *args, **kwargs):
            total = super()._run_epoch(network, *args, **kwargs)
            self._epochs_run += 1
            if self._epochs_run > self.max_iter - last:
                self._averaged.update()
            return total

    return Hasher


#: name -> factory(n_bits, seed, params) of the hasher to fit
VARIANTS = {
    "defaults": lambda b, s, kw: NASHHasher(b, random_state=s, **kw),
    "targets/idf": lambda b, s, kw: _with_targets(idf_divided_targets)(b, random_state=s, **kw),
    "targets=sqrt": lambda b, s, kw: _with_targets(sqrt_targets)(b, random_state=s, **kw),
    "targets=presence": lambda b, s, kw: _with_targets(presence_targets)(b, random_state=s,
                                                                         **kw),
    "targets*2": lambda b, s, kw: _with_targets(doubled_targets)(b, random_state=s, **kw),
    "targets/2": lambda b, s, kw: _with_targets(halved_targets)(b, random_state=s, **kw),
    "targets=mean-length": lambda b, s, kw: _with_targets(mean_length_targets)(
        b, random_state=s, **kw),
    # the LSA-smoothed targets (on by default): off, and one setting changed at a time
    "lsa=0": lambda b, s, kw: NASHHasher(b, lsa_components=0, random_state=s, **kw),
    "lsa_components=32": lambda b, s, kw: NASHHasher(b, lsa_components=32, random_state=s,
                                                     **kw),
    "lsa_components=128": lambda b, s, kw: NASHHasher(b, lsa_components=128, random_state=s,
                                                      **kw),
    "lsa_terms=128": lambda b, s, kw: NASHHasher(b, lsa_terms=128, random_state=s, **kw),
    "lsa_terms=512": lambda b, s, kw: NASHHasher(b, lsa_terms=512, random_state=s, **kw),
    "lsa_weight=0.5": lambda b, s, kw: NASHHasher(b, lsa_weight=0.5, random_state=s, **kw),
    "lsa_weight=2": lambda b, s, kw: NASHHasher(b, lsa_weight=2.0, random_state=s, **kw),
    "nbr100": lambda b, s, kw: NASHHasher(b, target_neighbors=100, neighbor_weight=10.0,
                                          random_state=s, **kw),
    # the neighbourhood's size around 100 (the depth of precision@100), the same weight
    "nbr50": lambda b, s, kw: NASHHasher(b, target_neighbors=50, neighbor_weight=10.0,
                                         random_state=s, **kw),
    "nbr200": lambda b, s, kw: NASHHasher(b, target_neighbors=200, neighbor_weight=10.0,
                                          random_state=s, **kw),
    # lighter neighbour weights, for short codes (10 x 8/32 = 2.5 at 8 bits)
    "nbr100,weight=2.5": lambda b, s, kw: NASHHasher(b, target_neighbors=100,
                                                     neighbor_weight=2.5, random_state=s,
                                                     **kw),
    "nbr100,weight=5": lambda b, s, kw: NASHHasher(b, target_neighbors=100,
                                                   neighbor_weight=5.0, random_state=s, **kw),
    # only the neighbours above a cosine similarity, each at 10/100: a document's
    # neighbour weight follows how many of its hundred nearest are that similar
    "nbr100,sim=0.1": lambda b, s, kw: NASHHasher(b, target_neighbors=100,
                                                  neighbor_weight=10.0, neighbor_terms=256,
                                                  neighbor_similarity=0.1, random_state=s,
                                                  **kw),
    # the neighbours' words cut to each document's strongest (fewer stored targets)
    "nbr100,terms=256": lambda b, s, kw: NASHHasher(b, target_neighbors=100,
                                                    neighbor_weight=10.0, neighbor_terms=256,
                                                    random_state=s, **kw),
    "nbr100,terms=512": lambda b, s, kw: NASHHasher(b, target_neighbors=100,
                                                    neighbor_weight=10.0, neighbor_terms=512,
                                                    random_state=s, **kw),
    "nbr100-lsa64": lambda b, s, kw: _with_targets(lsa_neighbor_targets)(b, random_state=s,
                                                                         **kw),
    "batch=500": lambda b, s, kw: NASHHasher(b, batch_size=500, random_state=s, **kw),
    "batch=500,lr*2": lambda b, s, kw: NASHHasher(b, batch_size=500, learning_rate_init=6e-3,
                                                  random_state=s, **kw),
    "epochs=30": lambda b, s, kw: NASHHasher(b, max_iter=30, random_state=s, **kw),
    "batch=500,epochs=30": lambda b, s, kw: NASHHasher(b, batch_size=500, max_iter=30,
                                                       random_state=s, **kw),
    "batch=100,epochs=25": lambda b, s, kw: NASHHasher(b, batch_size=100, max_iter=25,
                                                       random_state=s, **kw),
    "batch=100,epochs=30": lambda b, s, kw: NASHHasher(b, batch_size=100, max_iter=30,
                                                       random_state=s, **kw),
    "batch=128,epochs=32": lambda b, s, kw: NASHHasher(b, batch_size=128, max_iter=32,
                                                       random_state=s, **kw),
    "epochs=80": lambda b, s, kw: NASHHasher(b, max_iter=80, random_state=s, **kw),
    "lr*2": lambda b, s, kw: NASHHasher(b, learning_rate_init=6e-3, random_state=s, **kw),
    "lr/2": lambda b, s, kw: NASHHasher(b, learning_rate_init=1.5e-3, random_state=s, **kw),
    "lr-linear-decay": lambda b, s, kw: LinearDecayNASH(b, random_state=s, **kw),
    "weight_decay=0.1": lambda b, s, kw: NASHHasher(b, weight_decay=0.1, random_state=s, **kw),
    "biases-undecayed": lambda b, s, kw: BiasesUndecayedNASH(b, random_state=s, **kw),
    "hidden=500": lambda b, s, kw: NASHHasher(b, random_state=s, **{
        **kw, "hidden_layer_sizes": (500,)}),
    "hidden=1000-1000": lambda b, s, kw: NASHHasher(b, random_state=s, **{
        **kw, "hidden_layer_sizes": (1000, 1000)}),
    # the paper's learned noise (NASH-DN), the default before 2026-11-29
    "noise=data": lambda b, s, kw: NASHHasher(b, noise="data", random_state=s, **kw),
    # the noise's standard deviation (NASH-N; under NASH-DN, where the encoder learns
    # it, its starting value)
    "noise_std=0.25": lambda b, s, kw: NASHHasher(b, noise_std=0.25, random_state=s, **kw),
    "noise_std=1": lambda b, s, kw: NASHHasher(b, noise_std=1.0, random_state=s, **kw),
    "noise_std=2": lambda b, s, kw: NASHHasher(b, noise_std=2.0, random_state=s, **kw),
    "word-dropout=0.1": lambda b, s, kw: _with_word_dropout(0.1)(b, random_state=s, **kw),
    "word-dropout=0.3": lambda b, s, kw: _with_word_dropout(0.3)(b, random_state=s, **kw),
    "word-dropout=0.5": lambda b, s, kw: _with_word_dropout(0.5)(b, random_state=s, **kw),
    "word-dropout=0.7": lambda b, s, kw: _with_word_dropout(0.7)(b, random_state=s, **kw),
    "swa-last10": lambda b, s, kw: _with_weight_averaging(10)(b, random_state=s, **kw),
    "swa-last25": lambda b, s, kw: _with_weight_averaging(25)(b, random_state=s, **kw),
    "weight_averaging=0": lambda b, s, kw: NASHHasher(b, weight_averaging=0.0, random_state=s,
                                                      **kw),
    "weight_averaging=0.5": lambda b, s, kw: NASHHasher(b, weight_averaging=0.5,
                                                        random_state=s, **kw),
    "dropout=0.1": lambda b, s, kw: _with_dropout(0.1)(b, random_state=s, **kw),
    "dropout=0.2": lambda b, s, kw: _with_dropout(0.2)(b, random_state=s, **kw),
    # the neighbour extension combined with what helps Reuters alone
    "nbr100,dropout=0.2": lambda b, s, kw: _with_dropout(0.2)(
        b, target_neighbors=100, neighbor_weight=10.0, random_state=s, **kw),
    "nbr100,weight_decay=0.1": lambda b, s, kw: NASHHasher(
        b, target_neighbors=100, neighbor_weight=10.0, weight_decay=0.1, random_state=s, **kw),
    "nbr100,epochs=30": lambda b, s, kw: NASHHasher(
        b, target_neighbors=100, neighbor_weight=10.0, max_iter=30, random_state=s, **kw),
    "nbr100-lsa64,dropout=0.2": lambda b, s, kw: _with_dropout(
        0.2, _with_targets(lsa_neighbor_targets))(b, random_state=s, **kw),
    "nbr100,swa-last10": lambda b, s, kw: _with_weight_averaging(10)(
        b, target_neighbors=100, neighbor_weight=10.0, random_state=s, **kw),
    "nbr100-lsa64,swa-last10": lambda b, s, kw: _with_weight_averaging(
        10, _with_targets(lsa_neighbor_targets))(b, random_state=s, **kw),
    "nbr100-lsa64,swa-last25": lambda b, s, kw: _with_weight_averaging(
        25, _with_targets(lsa_neighbor_targets))(b, random_state=s, **kw),
}


def run_one(folder, variant, n_bits, seed, threads, compute_dtype, hidden=None,
            torch_compile=False, device="cpu", queries="test"):
    """Fit one variant (or ITQ) once and measure its precision@100; runs in a worker,
    with ``skhash.set_config(torch_compile=torch_compile)``; a NASH variant trains on
    ``device``."""
    torch.set_num_threads(threads)
    skhash.set_config(torch_compile=torch_compile)
    warnings.filterwarnings("ignore", message=EMULATED_BFLOAT16_WARNING, category=UserWarning)
    X_train, y_train, X_test, y_test = load_corpus(str(folder), queries)
    if variant == "ITQ":
        hasher = ITQHasher(n_bits, random_state=seed)
    else:
        params = {"compute_dtype": compute_dtype, "device": device}
        if hidden:
            params["hidden_layer_sizes"] = tuple(hidden)
        hasher = VARIANTS[variant](n_bits, seed, params)
    start = time.perf_counter()
    hasher.fit(X_train)
    fit_s = time.perf_counter() - start
    per_query = precision_at_k(
        hasher.transform(X_test), y_test, hasher.transform(X_train), y_train, k=100,
        average=False,
    )
    return {"dataset": Path(folder).name, "variant": variant, "bits": n_bits, "seed": seed,
            "precision_at_100": float(per_query.mean()), "fit_s": fit_s,
            "epochs": getattr(hasher, "n_iter_", np.nan), "per_query": per_query}


def summary(results, dataset, bits):
    """variant x statistic for one dataset and bit length: a printable frame."""
    part = results[(results.dataset == dataset) & (results.bits == bits)]
    stats = part.groupby("variant", sort=False).agg(
        mean=("precision_at_100", "mean"), std=("precision_at_100", "std"),
        fit_s=("fit_s", "mean"))
    base = stats.loc["defaults", "mean"] if "defaults" in stats.index else np.nan
    return pd.DataFrame({
        "precision@100": [f"{m:.4f} ± {s:.4f}" if not np.isnan(s) else f"{m:.4f}"
                          for m, s in zip(stats["mean"], stats["std"])],
        "vs defaults": [f"{m - base:+.4f}" for m in stats["mean"]],
        "fit (s)": stats["fit_s"].round(1),
    }, index=stats.index)


def label_indicator(y, names=None):
    """(n_queries, n_labels) 0/1 matrix of the queries' labels, and the labels' names.

    ``y`` holds class indices (one label a query) or is already an indicator matrix;
    ``names`` (as in a data folder's labels.txt) names class index / column i."""
    y = np.asarray(y)
    if y.ndim == 2:
        columns = np.arange(y.shape[1])
        indicator = y != 0
    else:
        columns = np.unique(y)
        indicator = y[:, None] == columns[None, :]
    labels = [names[c] if names is not None and c < len(names) else str(c) for c in columns]
    return indicator, labels


def per_label(results, dataset, bits, y_test, names=None, cosine=None):
    """label x (queries, each variant, cosine): mean precision@100 of the test queries that
    carry the label, each fit's per-query values averaged over seeds first."""
    indicator, labels = label_indicator(y_test, names)
    part = results[(results.dataset == dataset) & (results.bits == bits)]
    columns = {"queries": indicator.sum(axis=0)}
    weights = indicator / np.maximum(indicator.sum(axis=0), 1)
    for variant, fits in part.groupby("variant", sort=False):
        columns[variant] = np.mean(np.stack(fits.per_query.to_list()), axis=0) @ weights
    if cosine is not None:
        columns["cosine"] = cosine @ weights
    table = pd.DataFrame(columns, index=pd.Index(labels, name="label"))
    return table.sort_values("queries", ascending=False, kind="stable")


def _label_names(folder):
    path = Path(folder) / "labels.txt"
    return path.read_text().splitlines() if path.is_file() else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["ng20", "reuters"],
                        help="data folders (or names under SKHASH_DATA)")
    parser.add_argument("--bits", nargs="+", type=int, default=[32])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--compute-dtype", choices=COMPUTE_DTYPES, default="float32",
                        help="every NASH fit's compute_dtype (default float32, the "
                             "estimator's; auto: bfloat16 where the device has it "
                             "natively and, on a CPU, its bfloat16 products measure "
                             "faster, else float32)")
    parser.add_argument("--hidden-layer-sizes", nargs="+", type=int, default=None,
                        help="every NASH fit's encoder widths (default: the estimator's, "
                             "500 500)")
    parser.add_argument("--device", default="cpu", type=torch_device,
                        help="torch device of every NASH fit (default cpu; e.g. cuda); ITQ "
                             "runs on the CPU")
    parser.add_argument("--torch-compile", action="store_true",
                        help="skhash.set_config(torch_compile=True) in the workers: the "
                             "loss of bfloat16 fits runs compiled (faster; the same numbers "
                             "to rounding, not bit for bit)")
    parser.add_argument("--per-label", action="store_true",
                        help="also print (and save) precision@100 per query label")
    parser.add_argument("--queries", choices=["test", "val"], default="test",
                        help="the split whose documents query the training set (val: for "
                             "choosing settings without looking at the test queries)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--out", default="benchmarks/results", help="folder for the CSV")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    folders, out, threads = prepare_parallel_run(args.data, args.out, args.jobs)
    args.compute_dtype, note = compute_dtype_option(args.compute_dtype, args.device)
    if note:
        print(f"# {note}")
    print(f"# bits {args.bits}, seeds {args.seeds}, compute_dtype {args.compute_dtype}, "
          f"encoder {args.hidden_layer_sizes or 'the default (500, 500)'}, "
          f"NASH fits on {args.device}, {args.jobs} workers x {threads} torch threads, "
          f"torch_compile={args.torch_compile}, {args.queries} queries")

    variants = list(dict.fromkeys(["defaults", *args.variants]))
    tasks = [(f, v, b, s) for f in folders for v in [*variants, "ITQ"] for b in args.bits
             for s in args.seeds]
    import bench_ablation  # workers resolve run_one through the module, not __main__

    stamp = time.strftime('%Y%m%d-%H%M')
    csv = fresh_csv(out, f"ablation-{stamp}")
    print(f"# each fit's row goes to {csv} as it ends")
    rows = []
    for row in Parallel(n_jobs=args.jobs, return_as="generator_unordered")(
            delayed(bench_ablation.run_one)(str(f), v, b, s, threads, args.compute_dtype,
                                           args.hidden_layer_sizes, args.torch_compile,
                                           args.device, args.queries)
            for f, v, b, s in tasks):
        rows.append(row)
        append_row(csv, row, [column for column in row if column != "per_query"])
        print(f"  [{len(rows)}/{len(tasks)}] {row['dataset']} {row['variant']} {row['bits']} "
              f"bits seed {row['seed']}: {row['precision_at_100']:.4f} ({row['fit_s']:.0f} s)",
              flush=True)
    results = pd.DataFrame(rows)
    order = {v: i for i, v in enumerate([*variants, "ITQ"])}
    results = results.sort_values(["dataset", "bits", "seed"], ignore_index=True)
    results = results.iloc[results.variant.map(order).argsort(kind="stable")]
    results.drop(columns="per_query").to_csv(csv, index=False)  # sorted, over the rows
    label_tables = []
    for folder in folders:
        X_train, y_train, X_test, y_test = load_corpus(str(folder), args.queries)
        cosine = cosine_precision_at_k(X_test, y_test, X_train, y_train, k=100,
                                       average=False)
        for bits in args.bits:
            print(f"\n## {folder.name}, {bits} bits: precision@100 over {len(args.seeds)} "
                  f"seed(s); TF-IDF cosine {cosine.mean():.4f}")
            print(summary(results, folder.name, bits).to_string())
            if args.per_label:
                table = per_label(results, folder.name, bits, y_test, _label_names(folder),
                                  cosine)
                print(f"\n## {folder.name}, {bits} bits: precision@100 of the test queries "
                      f"with each label")
                print(table.to_string(float_format="{:.4f}".format))
                label_tables.append(table.reset_index().melt(
                    id_vars=["label", "queries"], var_name="variant",
                    value_name="precision_at_100").assign(dataset=folder.name, bits=bits))
    print(f"\nCSV: {csv}")
    if label_tables:
        labels_csv = out / f"ablation-{stamp}-per-label.csv"
        pd.concat(label_tables, ignore_index=True)[
            ["dataset", "bits", "label", "queries", "variant", "precision_at_100"]
        ].to_csv(labels_csv, index=False)
        print(f"CSV: {labels_csv}")
    print(f"wall time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
