"""The benchmark scripts run end to end on a small generated data folder; their helpers."""

import argparse
import gzip
import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.feature_extraction.text import TfidfVectorizer

from skhash.datasets import make_topic_corpus
from skhash.nash._batches import BatchPlan

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def data_folder(tmp_path):
    """A folder in the shared corpora's format: X_{split}.npz TF-IDF, y_{split}.npy."""
    texts, y = make_topic_corpus(300, n_topics=4, random_state=0)
    vectorizer = TfidfVectorizer().fit(texts[:200])
    folder = tmp_path / "topics"
    folder.mkdir()
    for split, rows in (("train", slice(0, 200)), ("test", slice(200, 260)),
                        ("val", slice(260, 300))):
        sp.save_npz(folder / f"X_{split}.npz", vectorizer.transform(texts[rows]).astype(np.float32))
        np.save(folder / f"y_{split}.npy", np.asarray(y[rows]))
    return folder


def _benchmark(name):
    """A script of benchmarks/ imported as a module (as its worker processes import it)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCHMARKS))


def _bench_reproduce():
    return _benchmark("bench_reproduce")


def _stopped_run(monkeypatch, module, n, argv, task, fit="run_one"):
    """Run ``module.main(argv)`` with its fits (calls of ``module.<fit>``) stopped by hand
    (KeyboardInterrupt) as the ``n``-th begins; returns ``task(args)`` of each fit begun,
    in order, and the run's one CSV file (``--out``, or the one CSV in that folder)."""
    run = getattr(module, fit)
    begun = []

    def stopping(*args, **kwargs):
        begun.append(task(args))
        if len(begun) == n:
            raise KeyboardInterrupt
        return run(*args, **kwargs)

    monkeypatch.setattr(module, fit, stopping)
    with pytest.raises(KeyboardInterrupt):
        module.main(argv)
    out = Path(argv[argv.index("--out") + 1])
    if out.suffix == ".csv":
        return begun, out
    (csv,) = out.glob("*.csv")
    return begun, csv


def _bench_reproduce_main(monkeypatch):
    """bench_reproduce, for a test that runs its main: the worker environment that main
    sets (MALLOC_ENV) is restored after the test."""
    module = _bench_reproduce()
    for name in module.MALLOC_ENV:
        monkeypatch.delenv(name, raising=False)
    return module


def test_compare_gives_mean_differences_and_both_spreads():
    def frame(rows):
        return pd.DataFrame(rows, columns=["dataset", "method", "bits", "seed",
                                           "precision_at_100"])

    ours = frame([("d", "NASH", 8, 0, 0.50), ("d", "NASH", 8, 1, 0.52),
                  ("d", "ITQ", 8, 0, 0.40), ("e", "NASH", 8, 0, 0.10)])
    other = frame([("d", "NASH", 8, 0, 0.45), ("d", "NASH", 8, 1, 0.47),
                   ("d", "LSH", 8, 0, 0.20)])
    lines = _bench_reproduce().compare(ours, other, "d", [8, 16])
    assert lines == ["NASH: 8: +0.0500 (std 0.0141/0.0141)"]


def test_bench_reproduce_runs_and_records_the_compute_dtype(data_folder, tmp_path, capsys,
                                                           monkeypatch):
    bench_reproduce = _bench_reproduce_main(monkeypatch)
    out = tmp_path / "out"
    bench_reproduce.main(["--data", str(data_folder), "--methods", "ITQ", "NASH-DN", "NASH-DN-S",
                          "--bits", "8", "16", "--seeds", "0", "--epochs", "2", "--jobs", "1",
                          "--compute-dtype", "bfloat16", "--out", str(out)])
    printed = capsys.readouterr().out
    assert "neural compute_dtype bfloat16" in printed
    assert "## topics: precision@100" in printed
    assert "  [6/6] topics " in printed  # one progress line per fit
    assert f"MALLOC_MMAP_THRESHOLD_={64 << 20}" in printed
    (csv,) = out.glob("reproduce-*.csv")
    results = pd.read_csv(csv, keep_default_na=False)
    assert len(results) == 3 * 2
    assert set(results.method) == {"ITQ", "NASH-DN", "NASH-DN-S"}
    neural = results.method != "ITQ"
    assert (results.compute_dtype[neural] == "bfloat16").all()
    assert (results.compute_dtype[~neural] == "").all()
    assert (results.device[neural] == "cpu").all() and (results.device[~neural] == "").all()
    assert "neural compute_dtype bfloat16 on cpu" in printed
    assert (pd.to_numeric(results.epochs[neural]) == 2).all()
    assert results.precision_at_100.between(0, 1).all()


def test_validation_queries_replace_the_test_queries(data_folder, tmp_path, capsys,
                                                    monkeypatch):
    bench_reproduce = _bench_reproduce_main(monkeypatch)
    out = tmp_path / "out"
    args = ["--data", str(data_folder), "--methods", "ITQ", "LSH", "--bits", "8",
            "--seeds", "0", "1", "--jobs", "1", "--out", str(out)]
    bench_reproduce.main([*args, "--queries", "val"])
    printed = capsys.readouterr().out
    assert "## topics: precision@100, val queries vs train (40 x 200 docs)" in printed
    assert "paper" not in printed.split("## topics")[1]
    (csv,) = out.glob("reproduce-*.csv")
    results = pd.read_csv(csv)
    assert (results.queries == "val").all() and len(results) == 4
    # the values are those of the validation split
    load = _benchmark("_common").load_corpus
    X_train, y_train, X_val, y_val = load(str(data_folder), "val")
    from skhash.baselines import ITQHasher
    from skhash.metrics import precision_at_k

    itq = ITQHasher(8, random_state=0).fit(X_train)
    expected = precision_at_k(itq.transform(X_val), y_val, itq.transform(X_train), y_train)
    got = results[(results.method == "ITQ") & (results.seed == 0)].precision_at_100.item()
    assert got == pytest.approx(expected)
    # saved results keep their split apart; files from before --queries hold test queries
    results.drop(columns="queries").assign(method="LSH", precision_at_100=0.5).to_csv(
        tmp_path / "old.csv", index=False)
    merged = bench_reproduce.read_results([csv, tmp_path / "old.csv"])
    assert (merged.queries == "val").sum() == 4  # not replaced by the old file's rows
    old = merged[merged.queries == "test"]
    assert sorted(old.seed) == [0, 1] and (old.precision_at_100 == 0.5).all()
    (data_folder / "X_val.npz").unlink()
    with pytest.raises(SystemExit, match="no X_val.npz there"):
        load(str(data_folder) + "/", "val")


def test_each_fit_reaches_the_csv_as_it_ends(data_folder, tmp_path, monkeypatch):
    bench_reproduce = _bench_reproduce_main(monkeypatch)
    begun, csv = _stopped_run(
        monkeypatch, bench_reproduce, 3,
        ["--data", str(data_folder), "--methods", "ITQ", "LSH", "--bits", "8", "--seeds", "0",
         "1", "--jobs", "1", "--out", str(tmp_path / "out")], lambda args: args[1:4])
    saved = pd.read_csv(csv)
    assert list(saved.columns) == list(bench_reproduce.ROW_COLUMNS)
    assert [tuple(r) for r in saved[["method", "bits", "seed"]].itertuples(index=False)] \
        == begun[:2]
    assert saved.precision_at_100.between(0, 1).all()


def test_resume_trains_only_what_the_saved_results_lack(data_folder, tmp_path, monkeypatch,
                                                        capsys):
    bench_reproduce = _bench_reproduce_main(monkeypatch)
    args = ["--data", str(data_folder), "--methods", "ITQ", "NASH", "--bits", "8",
            "--seeds", "0", "1", "--epochs", "1", "--jobs", "1"]
    bench_reproduce.main([*args, "--out", str(tmp_path / "first")])
    (first,) = (tmp_path / "first").glob("reproduce-*.csv")
    whole = pd.read_csv(first)
    # what the run had written had it stopped before its last fit
    partial = first
    whole[~((whole.method == "NASH") & (whole.seed == 1))].to_csv(partial, index=False)
    run = bench_reproduce.run_one
    trained = []

    def spy(*a, **kw):
        trained.append(a[1:4])
        return run(*a, **kw)

    monkeypatch.setattr(bench_reproduce, "run_one", spy)
    capsys.readouterr()
    saved_text = partial.read_text()
    # into the same folder, within the minute whose name the saved file has (most likely)
    bench_reproduce.main([*args, "--out", str(tmp_path / "first"), "--resume", str(partial)])
    assert trained == [("NASH", 8, 1)]
    assert "# resumed: 3 fits taken from the saved results, 1 to train" in capsys.readouterr().out
    assert partial.read_text() == saved_text  # the saved results are left as they were
    (second,) = set((tmp_path / "first").glob("reproduce-*.csv")) - {first}
    again = pd.read_csv(second)
    key = ["method", "bits", "seed"]
    pd.testing.assert_frame_equal(again.drop(columns="fit_s"), whole.drop(columns="fit_s"))
    # the kept fits are the saved ones, not new fits that came out the same
    kept = again.merge(pd.read_csv(partial), on=key, suffixes=("", "_saved"))
    assert len(kept) == 3 and (kept.fit_s == kept.fit_s_saved).all()


def test_resume_refuses_a_saved_fit_with_other_settings(data_folder, tmp_path, monkeypatch):
    bench_reproduce = _bench_reproduce_main(monkeypatch)
    saved = tmp_path / "saved.csv"
    row = dict(dataset=data_folder.name, method="NASH-DN", bits=8, seed=0,
               precision_at_100=0.5, fit_s=1.0, epochs=2, compute_dtype="bfloat16",
               queries="test", device="cpu", lsa_components=64, batch_size="auto",
               max_iter=2)
    pd.DataFrame([row]).to_csv(saved, index=False)
    args = ["--data", str(data_folder), "--methods", "NASH-DN", "--bits", "8", "--seeds", "0",
            "--jobs", "1", "--out", str(tmp_path / "out"), "--resume", str(saved)]
    with pytest.raises(SystemExit, match="has compute_dtype='bfloat16', this run trains with "
                                         "compute_dtype='float32'"):
        bench_reproduce.main([*args, "--epochs", "2"])
    with pytest.raises(SystemExit, match="has max_iter='2', this run trains with "
                                         "max_iter='3'"):
        bench_reproduce.main([*args, "--epochs", "3", "--compute-dtype", "bfloat16"])
    run = bench_reproduce.run_one
    monkeypatch.setattr(bench_reproduce, "run_one", lambda *a, **kw: pytest.fail("trained"))
    bench_reproduce.main([*args, "--epochs", "2", "--compute-dtype", "bfloat16"])  # all saved
    monkeypatch.setattr(bench_reproduce, "run_one", run)
    with pytest.raises(SystemExit):  # argparse's error: the two options exclude each other
        bench_reproduce.main([*args, "--from-csv", str(saved)])


def test_reports_from_saved_results_never_overwrite_each_other(data_folder, tmp_path,
                                                               monkeypatch):
    bench_reproduce = _bench_reproduce_main(monkeypatch)
    out = tmp_path / "out"
    args = ["--data", str(data_folder), "--methods", "ITQ", "LSH", "--bits", "8", "--seeds",
            "0", "--jobs", "1", "--out", str(out)]
    bench_reproduce.main(args)
    (trained,) = out.glob("reproduce-*.csv")
    bench_reproduce.main([*args, "--from-csv", str(trained)])
    (merged,) = out.glob("reproduce-merged-*.csv")
    first = merged.read_text()
    bench_reproduce.main([*args, "--from-csv", str(merged)])
    (second,) = set(out.glob("reproduce-merged-*.csv")) - {merged}  # beside the first
    assert merged.read_text() == first
    assert pd.read_csv(second).equals(pd.read_csv(trained))


def test_bench_reproduce_names_an_unavailable_device(data_folder, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit):
        _bench_reproduce().main(["--data", str(data_folder), "--device", "cuda"])
    assert "cuda" in capsys.readouterr().err


def test_device_reaches_the_neural_fits_only(data_folder, monkeypatch):
    bench_reproduce = _bench_reproduce()
    seen = {}
    for name in ("NASH-DN", "ITQ"):
        factory, neural, supervised = bench_reproduce.METHODS[name]

        def spy(b, s, kw, factory=factory, name=name):
            hasher = factory(b, s, kw)
            seen[name] = hasher.get_params().get("device")
            return hasher

        monkeypatch.setitem(bench_reproduce.METHODS, name, (spy, neural, supervised))
    # "cpu:0" is a device string other than the default that runs here
    row = bench_reproduce.run_one(str(data_folder), "NASH-DN", 8, 0, 1, 1, device="cpu:0")
    assert seen["NASH-DN"] == "cpu:0" and row["device"] == "cpu:0"
    row = bench_reproduce.run_one(str(data_folder), "ITQ", 8, 0, 1, 1, device="cpu:0")
    assert seen["ITQ"] is None and row["device"] == ""


def test_paper_targets_turn_the_smoothing_off_in_every_nash_row_only(data_folder):
    bench_reproduce = _bench_reproduce()
    run = bench_reproduce.run_one
    assert run(str(data_folder), "NASH-DN", 8, 0, 1, 1)["lsa_components"] == 64
    for method in ("NASH", "NASH-N", "NASH-DN", "NASH-DN-S", "NASH-DN+nbr10", "NASH-N+nbr100"):
        row = run(str(data_folder), method, 8, 0, 1, 1, paper_targets=True)
        assert row["lsa_components"] == 0, method
    for method in ("ITQ", "VDSH"):  # no such parameter: untouched, NaN in the CSV
        row = run(str(data_folder), method, 8, 0, 1, 1, paper_targets=True)
        assert np.isnan(row["lsa_components"]), method


def test_epochs_sets_every_neural_methods_epochs(data_folder):
    bench_reproduce = _bench_reproduce()
    # without --epochs each method trains its own default: VDSH 10 (NASH 50)
    assert bench_reproduce.run_one(str(data_folder), "VDSH", 8, 0, None, 1)["epochs"] == 10
    nash = bench_reproduce.run_one(str(data_folder), "NASH", 8, 0, 12, 1)
    vdsh = bench_reproduce.run_one(str(data_folder), "VDSH", 8, 0, 12, 1)
    assert (nash["epochs"], vdsh["epochs"]) == (12, 12)


def test_short_training_sets_the_nash_rows_batches_and_epochs_only(data_folder):
    bench_reproduce = _bench_reproduce()
    run = bench_reproduce.run_one
    assert bench_reproduce.SHORT_TRAINING == {"batch_size": 500, "max_iter": 30}
    default = run(str(data_folder), "NASH", 8, 0, 2, 1)
    assert (default["batch_size"], default["max_iter"]) == ("auto", 2)
    for method in ("NASH", "NASH-N", "NASH-DN", "NASH-DN-S", "NASH-N+nbr100"):
        row = run(str(data_folder), method, 8, 0, None, 1, short_training=True)
        # (tol may stop a fit on this small corpus before its 30 epochs)
        assert (row["batch_size"], row["max_iter"]) == (500, 30), method
        assert 2 < row["epochs"] <= 30, method
    # --epochs still sets the epochs; the batches stay short training's
    row = run(str(data_folder), "NASH", 8, 0, 3, 1, short_training=True)
    assert (row["batch_size"], row["max_iter"], row["epochs"]) == (500, 3, 3)
    vdsh = run(str(data_folder), "VDSH", 8, 0, None, 1, short_training=True)
    assert (vdsh["batch_size"], vdsh["max_iter"], vdsh["epochs"]) == ("auto", 10, 10)
    itq = run(str(data_folder), "ITQ", 8, 0, None, 1, short_training=True)
    assert itq["batch_size"] == "" and np.isnan(itq["max_iter"])


def test_torch_compile_option_compiles_the_workers_loss(data_folder, monkeypatch):
    from skhash import _config
    from skhash.nash import _network

    monkeypatch.setattr(_config, "_settings", {})  # the worker's setting stays in this test
    calls = []
    original = _network.MultinomialNLL.forward

    def spy(ctx, *args):
        out = original(ctx, *args)
        calls.append(ctx.fused)
        return out

    monkeypatch.setattr(_network.MultinomialNLL, "forward", staticmethod(spy))
    # the compiled loss is that of bfloat16 training (float32's decoder is one node,
    # AffineSoftmaxNLL, faster than the compiled one)
    row = _bench_reproduce().run_one(str(data_folder), "NASH", 8, 0, 2, 1,
                                     compute_dtype="bfloat16", torch_compile=True)
    assert 0.0 <= row["precision_at_100"] <= 1.0 and row["epochs"] == 2
    assert calls and all(calls)
    calls.clear()
    _bench_ablation().run_one(str(data_folder), "defaults", 8, 0, 1, "bfloat16")
    assert calls and not any(calls)  # the default: uncompiled


def _bench_ablation():
    return _benchmark("bench_ablation")


def test_ablation_targets_keep_each_documents_weight(data_folder):
    from skhash.nash._batches import target_matrix

    ablation = _bench_ablation()
    X = sp.load_npz(data_folder / "X_train.npz").tolil()
    X[3] = 0  # an empty document keeps no target
    X = X.tocsr()
    X.eliminate_zeros()
    n_terms = np.diff(X.indptr)
    for targets in (ablation.idf_divided_targets, ablation.sqrt_targets,
                    ablation.presence_targets):
        T = targets(X)
        assert T.shape == X.shape and T.nnz == X.nnz
        np.testing.assert_allclose(np.asarray(T.sum(axis=1)).ravel(), n_terms, rtol=1e-5)
    np.testing.assert_array_equal(ablation.presence_targets(X).data, 1.0)
    default = target_matrix(X)
    np.testing.assert_allclose(ablation.doubled_targets(X).toarray(), 2 * default.toarray())
    np.testing.assert_allclose(ablation.halved_targets(X).toarray(), 0.5 * default.toarray())
    mean_len = n_terms[n_terms > 0].mean()
    sums = np.asarray(ablation.mean_length_targets(X).sum(axis=1)).ravel()
    np.testing.assert_allclose(sums[n_terms > 0], mean_len, rtol=1e-5)
    assert sums[3] == 0
    # idf divided out: within a row, a word's target is proportional to tfidf / idf
    df = np.bincount(X.indices, minlength=X.shape[1])
    idf = np.log((1 + X.shape[0]) / (1 + df)) + 1
    row = ablation.idf_divided_targets(X)[0]
    ratio = row.data / (X[0].data / idf[X[0].indices])
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-5)


def test_per_label_averages_seeds_then_the_queries_of_each_label():
    ablation = _bench_ablation()
    fits = pd.DataFrame({
        "dataset": "d", "bits": 8, "variant": ["a", "a", "b"], "seed": [0, 1, 0],
        "per_query": [np.array([1.0, 0.0, 0.5]), np.array([0.0, 0.0, 0.5]),
                      np.array([0.2, 0.4, 0.6])]})
    # multi-label: query 0 has labels x and y, query 1 has y, query 2 has z
    y = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]])
    table = ablation.per_label(fits, "d", 8, y, ["x", "y", "z"], cosine=np.ones(3))
    assert table.index.tolist() == ["y", "x", "z"]  # most queries first
    assert table.queries.tolist() == [2, 1, 1]
    # a: per-query means over seeds 0.5, 0.0, 0.5
    np.testing.assert_allclose(table["a"], [0.25, 0.5, 0.5])
    np.testing.assert_allclose(table["b"], [0.3, 0.2, 0.6])
    np.testing.assert_allclose(table["cosine"], [1.0, 1.0, 1.0])
    # single-label classes, unnamed: named by their value
    table = ablation.per_label(fits, "d", 8, np.array([7, 3, 7]))
    assert table.index.tolist() == ["7", "3"]
    np.testing.assert_allclose(table["b"], [0.4, 0.4])


def test_dropout_variant_sets_the_encoders_dropout():
    ablation = _bench_ablation()
    hasher = ablation.VARIANTS["dropout=0.2"](4, 0, {"hidden_layer_sizes": (8,)})
    network = hasher._build_network(30, (8,), 0)
    assert network.encoder.dropout == 0.2
    assert ablation.VARIANTS["defaults"](4, 0, {})._build_network(30, (8,), 0).encoder.dropout == 0


def test_word_dropout_variant_drops_encoder_inputs_only_in_training():
    ablation = _bench_ablation()
    network = ablation.VARIANTS["word-dropout=0.5"](4, 0, {})._build_network(20, (8,), 0)
    batch = next(BatchPlan(sp.csr_matrix(np.ones((50, 20), dtype=np.float32))).batches(50))
    seen = []
    network.encoder.embed.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(kwargs["per_sample_weights"].clone()),
        with_kwargs=True)
    torch.manual_seed(0)
    network.train()
    network.encoder(batch)
    network.eval()
    network.encoder(batch)
    dropped, kept = seen
    # inference reads every term as the batch has it; training drops about half of them
    # and doubles the rest, and leaves the batch itself untouched
    assert torch.equal(kept, batch.inputs)
    gone = dropped == 0
    assert 0.4 < gone.float().mean() < 0.6
    assert torch.equal(dropped[~gone], 2 * batch.inputs[~gone])
    assert (batch.inputs > 0).all()


def test_weight_averaging_variant_ends_at_the_mean_of_the_last_epochs():
    ablation = _bench_ablation()
    snapshots = []

    class Recording(ablation._with_weight_averaging(2)):
        def _run_epoch(self, network, *args, **kwargs):
            total = super()._run_epoch(network, *args, **kwargs)
            snapshots.append([p.detach().clone() for p in network.parameters()])
            return total

    X = sp.random(60, 30, density=0.2, random_state=0, format="csr", dtype=np.float32)
    hasher = Recording(4, random_state=0, max_iter=4, hidden_layer_sizes=(8,)).fit(X)
    assert len(snapshots) == 4
    final = list(hasher.network_.parameters())
    for param, third, fourth in zip(final, snapshots[2], snapshots[3]):
        torch.testing.assert_close(param.detach(), (third + fourth) / 2)
    # the last epoch's weights differ from their mean with the one before
    assert not torch.equal(final[0].detach(), snapshots[3][0])
    assert not hasattr(hasher, "_averaged")


def test_parameter_variants_change_one_setting_each():
    ablation = _bench_ablation()
    run = {"compute_dtype": "bfloat16", "hidden_layer_sizes": (8,)}
    expected = {
        "lr/2": {"learning_rate_init": 1.5e-3},
        "weight_decay=0.1": {"weight_decay": 0.1},
        "hidden=500": {"hidden_layer_sizes": (500,)},
        "hidden=1000-1000": {"hidden_layer_sizes": (1000, 1000)},
        "noise_std=0.25": {"noise_std": 0.25},
        "noise_std=1": {"noise_std": 1.0},
        "noise_std=2": {"noise_std": 2.0},
        "batch=100,epochs=25": {"batch_size": 100, "max_iter": 25},
        "batch=100,epochs=30": {"batch_size": 100, "max_iter": 30},
        "batch=128,epochs=32": {"batch_size": 128, "max_iter": 32},
        "batch=500,epochs=30": {"batch_size": 500, "max_iter": 30},
        "nbr50": {"target_neighbors": 50, "neighbor_weight": 10.0},
        "nbr200": {"target_neighbors": 200, "neighbor_weight": 10.0},
        "nbr100,weight=2.5": {"target_neighbors": 100, "neighbor_weight": 2.5},
        "nbr100,weight=5": {"target_neighbors": 100, "neighbor_weight": 5.0},
        "nbr100,terms=256": {"target_neighbors": 100, "neighbor_weight": 10.0,
                             "neighbor_terms": 256},
        "nbr100,terms=512": {"target_neighbors": 100, "neighbor_weight": 10.0,
                             "neighbor_terms": 512},
        "weight_averaging=0": {"weight_averaging": 0.0},
        "weight_averaging=0.5": {"weight_averaging": 0.5},
    }
    base = ablation.VARIANTS["defaults"](4, 0, run).get_params()
    for name, changed in expected.items():
        params = ablation.VARIANTS[name](4, 0, run).get_params()
        assert {k: v for k, v in params.items() if base[k] != v} == changed, name


def test_combined_variants_add_the_neighbours_to_one_change(data_folder):
    ablation = _bench_ablation()
    run = {"compute_dtype": "bfloat16", "hidden_layer_sizes": (8,)}
    base = ablation.VARIANTS["defaults"](4, 0, run).get_params()
    nbr = {"target_neighbors": 100, "neighbor_weight": 10.0}
    expected = {
        "nbr100,weight_decay=0.1": {**nbr, "weight_decay": 0.1},
        "nbr100,epochs=30": {**nbr, "max_iter": 30},
        "nbr100,dropout=0.2": nbr,
        "nbr100-lsa64,dropout=0.2": {},  # its neighbours come from its target hook
        "nbr100,swa-last10": nbr,
        "nbr100-lsa64,swa-last10": {},
        "nbr100-lsa64,swa-last25": {},
    }
    for name, changed in expected.items():
        hasher = ablation.VARIANTS[name](4, 0, run)
        params = hasher.get_params()
        assert {k: v for k, v in params.items() if base[k] != v} == changed, name
        dropout = hasher._build_network(30, (8,), 0).encoder.dropout
        assert dropout == (0.2 if "dropout" in name else 0.0), name
        averaged = type(hasher)._run_epoch is not ablation.NASHHasher._run_epoch
        assert averaged == ("swa" in name), name
    # the LSA variants' targets are the neighbour-smoothed ones, more than the words' own
    X = _benchmark("_common").load_corpus(str(data_folder))[0]
    for name in ("nbr100-lsa64,dropout=0.2", "nbr100-lsa64,swa-last25"):
        targets = ablation.VARIANTS[name](4, 0, run)._reconstruction_targets(X)
        assert targets.shape == X.shape and targets.nnz > X.nnz


def test_biases_undecayed_variant_decays_only_the_weight_matrices():
    ablation = _bench_ablation()
    hasher = ablation.VARIANTS["biases-undecayed"](4, 0, {"hidden_layer_sizes": (8,)})
    network = hasher._build_network(30, (8,), 0)
    optimizer = hasher._training_optimizer(network, torch.device("cpu"))
    network.encoder.capture = None
    decay = {id(p): g["weight_decay"] for g in optimizer.param_groups for p in g["params"]}
    assert set(decay) == {id(p) for p in network.parameters()}
    for name, p in network.named_parameters():
        assert decay[id(p)] == (0.01 if p.ndim > 1 else 0.0), name
    assert decay[id(network.decoder.word_bias)] == 0.0


def test_linear_decay_steps_the_rate_down_to_zero():
    ablation = _bench_ablation()
    weight = torch.nn.Parameter(torch.ones(3))
    schedule = ablation._LinearDecay(torch.optim.SGD([weight], lr=0.4), total_steps=4)
    seen = []
    for _ in range(5):
        schedule.zero_grad()
        weight.sum().backward()
        schedule.step()
        seen.append(schedule.optimizer.param_groups[0]["lr"])
    np.testing.assert_allclose(seen, [0.3, 0.2, 0.1, 0.0, 0.0], atol=1e-12)
    # SGD took steps of 0.4, 0.3, 0.2, 0.1 and then none
    np.testing.assert_allclose(weight.detach().numpy(), np.zeros(3), atol=1e-6)


def test_linear_decay_variant_schedules_the_first_layer_too():
    # on the CPU the first layer has its own optimizer (RowSparseAdamW): the schedule
    # must reach it as well as torch's
    ablation = _bench_ablation()
    X = sp.random(40, 30, density=0.2, format="csr", random_state=0, dtype=np.float64)
    hasher = ablation.VARIANTS["lr-linear-decay"](4, 0, {"hidden_layer_sizes": (8,),
                                                         "max_iter": 2, "batch_size": 20})
    hasher._n_train = X.shape[0]
    network = hasher._build_network(30, (8,), 0)
    optimizer = hasher._training_optimizer(network, torch.device("cpu"))
    groups = optimizer.optimizer.param_groups
    assert len(groups) == 2 and groups[1]["params"] == [network.encoder.embed.weight]
    batch = next(BatchPlan(sp.csr_matrix(X, dtype=np.float32)).batches(20))
    for _ in range(2):
        optimizer.zero_grad()
        nll, kl, _, _ = network(batch)
        (nll + kl).mean().backward()
        optimizer.step()
    # 4 steps in all (2 epochs x 2 batches): after 2 the rate is half the initial one
    assert [g["lr"] for g in groups] == pytest.approx([1.5e-3, 1.5e-3])
    network.encoder.capture = None


def test_bench_ablation_passes_the_device_to_the_nash_fits(data_folder, monkeypatch,
                                                           capsys):
    ablation = _bench_ablation()
    seen = []
    factory = ablation.VARIANTS["word-dropout=0.1"]

    def spy(b, s, kw):
        hasher = factory(b, s, kw)
        seen.append(hasher.device)
        return hasher

    monkeypatch.setitem(ablation.VARIANTS, "word-dropout=0.1", spy)
    row = ablation.run_one(str(data_folder), "word-dropout=0.1", 8, 0, 1, "float32",
                           hidden=[8], device="cpu:0")
    assert seen == ["cpu:0"] and 0 <= row["precision_at_100"] <= 1
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit):
        ablation.main(["--data", str(data_folder), "--device", "cuda"])
    assert "CUDA is not available" in capsys.readouterr().err


def test_bench_ablation_runs_variants_beside_the_defaults(data_folder, tmp_path, capsys,
                                                          monkeypatch):
    ablation = _bench_ablation()
    for name in _benchmark("_common").MALLOC_ENV:  # main sets them; restored after the test
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "out"
    (data_folder / "labels.txt").write_text("sport\npolitics\nscience\nfood\n")
    ablation.main(["--data", str(data_folder), "--variants", "targets=presence",
                   "lr-linear-decay", "dropout=0.2", "--bits", "8", "--seeds", "0", "1",
                   "--jobs", "1", "--hidden-layer-sizes", "32", "--per-label",
                   "--out", str(out)])
    printed = capsys.readouterr().out
    assert "encoder [32]" in printed
    assert "## topics, 8 bits: precision@100 over 2 seed(s)" in printed
    assert "## topics, 8 bits: precision@100 of the test queries with each label" in printed
    assert "  [10/10] topics " in printed
    (csv,) = out.glob("ablation-*[0-9].csv")
    results = pd.read_csv(csv)
    assert list(dict.fromkeys(results.variant)) == [
        "defaults", "targets=presence", "lr-linear-decay", "dropout=0.2", "ITQ"]
    assert len(results) == 10
    (labels_csv,) = out.glob("ablation-*-per-label.csv")
    by_label = pd.read_csv(labels_csv)
    y_test = np.load(data_folder / "y_test.npy")
    assert set(by_label.label) == {"sport", "politics", "science", "food"}
    assert set(by_label.variant) == {"defaults", "targets=presence", "lr-linear-decay",
                                     "dropout=0.2", "ITQ", "cosine"}
    queries = by_label.drop_duplicates("label").set_index("label").queries
    assert queries.to_dict() == {name: int((y_test == i).sum()) for i, name in
                                 enumerate(["sport", "politics", "science", "food"])}
    # the label means, weighted by their queries, give back each variant's mean
    for variant, mean in results.groupby("variant").precision_at_100.mean().items():
        part = by_label[by_label.variant == variant]
        assert (part.precision_at_100 * part.queries).sum() / part.queries.sum() == \
            pytest.approx(mean)
    assert results.precision_at_100.between(0, 1).all()
    assert results.epochs[results.variant != "ITQ"].between(1, 50).all()
    table = ablation.summary(results, "topics", 8)
    assert table.loc["defaults", "vs defaults"] == "+0.0000"
    mean = results[results.variant == "ITQ"].precision_at_100.mean()
    base = results[results.variant == "defaults"].precision_at_100.mean()
    assert table.loc["ITQ", "vs defaults"] == f"{mean - base:+.4f}"


def test_a_stopped_ablation_keeps_its_finished_fits(data_folder, tmp_path, monkeypatch):
    ablation = _bench_ablation()
    for name in _benchmark("_common").MALLOC_ENV:  # main sets them; restored after the test
        monkeypatch.delenv(name, raising=False)
    begun, csv = _stopped_run(
        monkeypatch, ablation, 2,
        ["--data", str(data_folder), "--variants", "targets=presence", "--bits", "8",
         "--seeds", "0", "--jobs", "1", "--hidden-layer-sizes", "32", "--out",
         str(tmp_path / "out")], lambda args: args[1])
    saved = pd.read_csv(csv)
    assert saved.variant.tolist() == begun[:1] == ["defaults"]
    assert "per_query" not in saved and saved.precision_at_100.between(0, 1).all()


def test_fresh_csv_never_names_a_taken_file_and_rows_append(tmp_path):
    common = _benchmark("_common")
    first = common.fresh_csv(tmp_path, "run-20261207-2150")
    assert first == tmp_path / "run-20261207-2150.csv"
    common.append_row(first, {"b": 2, "a": 1, "c": 9}, ["a", "b"])
    common.append_row(first, {"a": 3, "b": 4}, ["a", "b"])
    assert first.read_text().splitlines() == ["a,b", "1,2", "3,4"]
    assert common.fresh_csv(tmp_path, "run-20261207-2150").name == "run-20261207-2150-2.csv"
    (tmp_path / "run-20261207-2150-2.csv").touch()
    assert common.fresh_csv(tmp_path, "run-20261207-2150").name == "run-20261207-2150-3.csv"


def test_bench_nash_prints_speed_and_quality_beside_the_baselines(data_folder, capsys):
    bench_nash = _benchmark("bench_nash")
    bench_nash.main(["--data", str(data_folder), "--bits", "8", "--device", "cpu"])
    out = capsys.readouterr().out
    assert "trained on cpu" in out
    assert "cpu fp32 matmul (torch, 2048^3)" in out and "s/epoch" in out
    assert "docs/s" in out
    (line,) = [ln for ln in out.splitlines() if "a whole fit at the defaults" in ln]
    seconds, epochs, per_epoch = (float(w) for w in line.replace(":", " ").split()
                                  if w.replace(".", "").isdigit())
    assert 1 <= epochs <= 50 and epochs == int(epochs)  # max_iter=50; tol may stop earlier
    assert seconds > 0 and per_epoch == pytest.approx(seconds / epochs, abs=2e-3)
    (line,) = [ln for ln in out.splitlines() if ln.strip().startswith("topics   8 bits")]
    nash, itq = (float(line.split(name)[1].split()[0]) for name in ("NASH", "ITQ"))
    # four topics of about equal size: a random code would retrieve about 0.25
    assert nash > 0.3 and itq > 0.3


def test_bench_nash_times_the_compiled_loss_on_request(data_folder, capsys, monkeypatch):
    from skhash import _config

    monkeypatch.setattr(_config, "_settings", {})
    bench_nash = _benchmark("bench_nash")
    from skhash.nash import _base

    for module in (bench_nash, _benchmark("_common"), _base):
        monkeypatch.setattr(module, "native_bfloat16", lambda device: True)
    # the rates' size is the script's; timed small here, where bfloat16 may be emulated
    rate = bench_nash.matmul_gflops
    monkeypatch.setattr(bench_nash, "matmul_gflops",
                        lambda n=2048, **kw: rate(min(n, 128), repeats=1, **kw))
    bench_nash.main(["--data", str(data_folder), "--speed-only", "--torch-compile"])
    out = capsys.readouterr().out
    assert "bf16 matmul (torch, 2048^3)" in out
    (line,) = [ln for ln in out.splitlines() if "torch_compile=True" in ln]
    # two per-epoch figures; on the test's tiny corpus they are differences of fits that
    # take milliseconds, and under load one came out negative, so only their form is
    # checked here (the benchmark's figures are for real corpora)
    times = [float(w) for w in line.replace(",", " ").split() if w.lstrip("-")[:1].isdigit()]
    assert len(times) == 2 and np.isfinite(times).all()
    assert _config.get_config()["torch_compile"] is False  # the timing's context ended


def test_bench_nash_does_not_time_emulated_bfloat16_fits(data_folder, capsys, monkeypatch):
    bench_nash = _benchmark("bench_nash")
    for module in (bench_nash, _benchmark("_common")):
        monkeypatch.setattr(module, "native_bfloat16", lambda device: False)
    timed = []
    original = bench_nash.seconds_per_epoch

    def spy(X, n_bits, seed, **params):
        timed.append(params.get("compute_dtype", "float32"))
        return original(X, n_bits, seed, **params)

    monkeypatch.setattr(bench_nash, "seconds_per_epoch", spy)
    bench_nash.main(["--data", str(data_folder), "--speed-only", "--torch-compile"])
    out = capsys.readouterr().out
    assert timed == ["float32", "float32"]  # uncompiled and compiled, no bfloat16
    assert "bf16 matmul (torch, 512^3)" in out and "emulated" in out
    assert "compute_dtype='bfloat16': not timed (emulated on this CPU" in out
    (line,) = [ln for ln in out.splitlines() if "torch_compile=True" in ln]
    assert "bfloat16" not in line


@pytest.mark.parametrize(("value", "native", "chosen", "note"), [
    ("auto", True, "bfloat16", "--compute-dtype auto: bfloat16 (cpu has native bfloat16; "
                               "products measured at 400 GFLOP/s in bfloat16, 180 in float32)"),
    ("auto", False, "float32", "--compute-dtype auto: float32 (cpu lacks native bfloat16)"),
    ("auto", None, "float32", "--compute-dtype auto: float32 (cpu may lack native bfloat16)"),
    ("bfloat16", False, "bfloat16", "warning: cpu lacks native bfloat16, so torch emulates"),
    ("bfloat16", True, "bfloat16", ""),
    ("float32", False, "float32", ""),
])
def test_compute_dtype_option_resolves_auto_and_notes_emulation(monkeypatch, value, native,
                                                                 chosen, note):
    common = _benchmark("_common")
    monkeypatch.setattr(common, "native_bfloat16", lambda device: native)
    measured = []

    def rates(dtype):
        measured.append(dtype)
        return {torch.float32: 180.0, torch.bfloat16: 400.0}[dtype]

    monkeypatch.setattr(common, "matmul_gflops", lambda dtype, device: rates(dtype))
    got, printed = common.compute_dtype_option(value, "cpu")
    assert got == chosen
    assert printed.startswith(note) if note else printed == ""
    # the products are timed only where auto has a native bfloat16 to weigh
    assert measured == ([torch.float32, torch.bfloat16] if value == "auto" and native else [])


def test_compute_dtype_auto_keeps_float32_where_native_bfloat16_measures_slower(monkeypatch):
    # an Intel Xeon with AVX-512 BF16 and no AMX, 2026-12-07: 201 against 354 GFLOP/s
    common = _benchmark("_common")
    monkeypatch.setattr(common, "native_bfloat16", lambda device: True)
    got, printed = common.compute_dtype_option(
        "auto", "cpu", rates=lambda dtype: 354.0 if dtype == torch.float32 else 201.0)
    assert got == "float32"
    assert printed == ("--compute-dtype auto: float32 (cpu has native bfloat16; products "
                       "measured at 201 GFLOP/s in bfloat16, 354 in float32)")


def test_compute_dtype_auto_takes_bfloat16_on_a_cuda_device_without_timing(monkeypatch):
    common = _benchmark("_common")
    monkeypatch.setattr(common, "native_bfloat16", lambda device: True)

    def untimed(dtype):
        raise AssertionError("a CUDA device's bfloat16 is not timed")

    got, printed = common.compute_dtype_option("auto", "cuda", rates=untimed)
    assert (got, printed) == ("bfloat16", "--compute-dtype auto: bfloat16 (cuda has native "
                                          "bfloat16)")


def test_bench_reproduce_prints_what_auto_chose(data_folder, tmp_path, capsys, monkeypatch):
    bench_reproduce = _bench_reproduce_main(monkeypatch)
    monkeypatch.setattr(_benchmark("_common"), "native_bfloat16", lambda device: False)
    out = tmp_path / "out"
    bench_reproduce.main(["--data", str(data_folder), "--methods", "NASH", "--bits", "8",
                          "--seeds", "0", "--epochs", "1", "--jobs", "1",
                          "--compute-dtype", "auto", "--out", str(out)])
    printed = capsys.readouterr().out
    assert "# --compute-dtype auto: float32 (cpu lacks native bfloat16)" in printed
    assert "neural compute_dtype float32 on cpu" in printed
    (csv,) = out.glob("reproduce-*.csv")
    assert (pd.read_csv(csv).compute_dtype == "float32").all()


def test_bench_nash_names_an_unavailable_device(data_folder, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit):
        _benchmark("bench_nash").main(["--data", str(data_folder), "--device", "cuda"])
    assert "device='cuda'" in capsys.readouterr().err


def test_findings_compare_each_extension_with_the_variant_it_extends_and_itq():
    bench_reproduce = _bench_reproduce()
    means = pd.DataFrame({16: [0.40, 0.45, 0.30, 0.44], 32: [0.42, 0.50, 0.33, 0.41]},
                         index=["NASH-N", "NASH-N+nbr100", "ITQ", "NASH-DN+nbr10"])
    lines = bench_reproduce.findings(means, [16, 32])
    assert "NASH-N+nbr100 (extension) minus NASH-N, by bits: +0.0500, +0.0800" in lines
    assert "NASH-N+nbr100 (extension) minus ITQ, by bits: +0.1500, +0.1700" in lines
    # NASH-DN is not in this run: its extension is compared with ITQ only
    assert [line for line in lines if line.startswith("NASH-DN+nbr10")] == [
        "NASH-DN+nbr10 (extension) minus ITQ, by bits: +0.1400, +0.0800"]


def test_plot_draws_every_method(tmp_path):
    pytest.importorskip("matplotlib")
    bench_reproduce = _bench_reproduce()
    methods = list(bench_reproduce.METHODS)  # more than tab10's ten colours
    bits = [16, 32]
    means = pd.DataFrame({b: np.linspace(0.2, 0.6, len(methods)) for b in bits}, index=methods)
    stds = means * 0.0
    path = bench_reproduce.plot(means, stds, "reuters", bits, tmp_path / "p.png")
    assert path is not None and path.is_file() and path.stat().st_size > 0


def _bench_vocabulary():
    return _benchmark("bench_vocabulary")


def test_bench_vocabulary_strips_headers_only_from_posts():
    strip = _bench_vocabulary().strip_headers
    assert strip("From: a@b.c\nSubject: hi\n\nThe body.\n\nMore.") == "The body.\n\nMore."
    assert strip("COCOA REVIEW\nShowers: continued.\n\nMore.") == (
        "COCOA REVIEW\nShowers: continued.\n\nMore.")


def test_bench_vocabulary_fits_each_vocabulary_and_seed(data_folder, tmp_path, capsys):
    texts, y = make_topic_corpus(160, n_topics=4, random_state=1)
    with gzip.open(data_folder / "raw.jsonl.gz", "wt", encoding="utf-8") as fh:
        for i, (text, label) in enumerate(zip(texts, y)):
            split = "train" if i < 120 else "test"
            fh.write(json.dumps({"id": i, "text": f"From: x\nNewsgroups: {label}\n\n{text}",
                                 "labels": [str(label)], "split": split}) + "\n")
    out = tmp_path / "vocab.csv"
    results = _bench_vocabulary().main([
        "--data", str(data_folder), "--vocabularies", "all", "min_df5", "--seeds", "0", "1",
        "--bits", "8", "--max-iter", "2", "--decoded", "all", "20", "--out", str(out)])
    printed = capsys.readouterr().out
    assert list(results["vocabulary"]) == ["all"] * 4 + ["min_df5"] * 4
    assert results["n_decoded"].iloc[2] == 20
    assert results["n_decoded"].iloc[0] == results["n_features"].iloc[0]
    assert (results["epochs"] == 2).all()
    full = TfidfVectorizer().fit([t for t in texts[:120]])
    # the headers are gone: the vocabulary is the bodies' alone
    assert results["n_features"].iloc[0] == len(full.vocabulary_)
    assert results["n_features"].iloc[4] < results["n_features"].iloc[0]
    for column in ("nash", "itq", "cosine"):
        assert results[column].between(0, 1).all()
    # the cosine reference depends on the vectors only, not on the seed
    assert results["cosine"].iloc[0] == results["cosine"].iloc[1]
    lines = [line for line in printed.splitlines() if line.startswith("topics ")]
    assert len(lines) == 4 and lines[0].split()[1] == "all" and lines[1].split()[3] == "20"
    assert pd.read_csv(out).shape == (8, results.shape[1])


def test_bench_vocabulary_refuses_a_bad_decoded_count():
    with pytest.raises(SystemExit):
        _bench_vocabulary().main(["--decoded", "0"])


def _bench_corpus_shape():
    return _benchmark("bench_corpus_shape")


def test_bench_corpus_shape_titles_are_subjects_or_first_lines():
    title_of = _bench_corpus_shape().title_of
    assert title_of("From: a@b.c\nSubject: Re: RE:  Disk drives \nLines: 3\n\nBody.") == (
        "Disk drives")
    # a Subject line in the body is not the post's title; a post without one has none
    assert title_of("From: a@b.c\nLines: 3\n\nSubject: in the body") == ""
    assert title_of("COCOA REVIEW\nShowers: continued.\n\nMore.") == "COCOA REVIEW"
    assert title_of("one line") == "one line"


def test_bench_corpus_shape_subsets_are_fixed_and_checked():
    module = _bench_corpus_shape()
    first = module.training_subset(50, 10)
    assert first.tolist() == sorted(set(first.tolist())) and len(first) == 10
    assert first.tolist() == module.training_subset(50, 10).tolist()
    assert module.training_subset(5, "all").tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(SystemExit, match="only 50 documents"):
        module.training_subset(50, 51)
    with pytest.raises(SystemExit):
        module.main(["--sizes", "1"])


def test_bench_corpus_shape_fits_each_setting_and_seed(data_folder, tmp_path, capsys):
    texts, y = make_topic_corpus(160, n_topics=4, random_state=1)
    with gzip.open(data_folder / "raw.jsonl.gz", "wt", encoding="utf-8") as fh:
        for i, (text, label) in enumerate(zip(texts, y)):
            split = "train" if i < 120 else "test"
            title = " ".join(text.split()[:4])
            fh.write(json.dumps({"id": i, "text": f"From: x\nSubject: Re: {title}\n\n{text}",
                                 "labels": [str(label)], "split": split}) + "\n")
    out = tmp_path / "shape.csv"
    results = _bench_corpus_shape().main([
        "--data", str(data_folder), "--sizes", "60", "all", "--samples", "50", "--seeds",
        "0", "1", "--bits", "8", "--max-iter", "2", "--out", str(out)])
    printed = capsys.readouterr().out
    assert list(results["setting"]) == (["docs=60"] * 2 + ["docs=all"] * 2 + ["sample=50"] * 2
                                        + ["titles"] * 2)
    assert list(results["n_train"]) == [60, 60, 200, 200, 200, 200, 120, 120]
    assert list(results["n_fit"]) == [60, 60, 200, 200, 50, 50, 120, 120]
    # fitted on a sample, the hashers still encode (and search) every training document:
    # the cosine reference is the whole training set's
    assert results["cosine"].iloc[4] == results["cosine"].iloc[2]
    assert (results["epochs"] == 2).all()
    # the titles' vocabulary is the training subjects' words, "Re:" dropped
    titles = [" ".join(t.split()[:4]) for t in texts[:120]]
    n_words = len(TfidfVectorizer().fit(titles).vocabulary_)
    assert results["nnz_per_doc"].iloc[6] <= 4 and n_words > 4
    for column in ("nash", "itq", "cosine"):
        assert results[column].between(0, 1).all()
    assert results["cosine"].iloc[0] == results["cosine"].iloc[1]
    lines = [line for line in printed.splitlines() if line.startswith("topics ")]
    assert [line.split()[1] for line in lines] == ["docs=60", "docs=all", "sample=50",
                                                   "titles"]
    assert pd.read_csv(out).shape == (8, results.shape[1])


def test_bench_corpus_shape_writes_each_fit_as_it_ends(data_folder, tmp_path, monkeypatch):
    module = _bench_corpus_shape()
    out = tmp_path / "shape.csv"
    out.write_text("an,older,run\n1,2,3\n")  # replaced, not appended to
    begun, csv = _stopped_run(
        monkeypatch, module, 3,
        ["--data", str(data_folder), "--sizes", "60", "all", "--no-titles", "--seeds", "0",
         "1", "--bits", "8", "--max-iter", "2", "--out", str(out)],
        lambda args: (args[0].shape[0], args[4]), fit="nash_and_itq")
    assert begun == [(60, 0), (60, 1), (200, 0)]
    saved = pd.read_csv(csv)
    assert saved.setting.tolist() == ["docs=60", "docs=60"] and saved.seed.tolist() == [0, 1]
    assert "an" not in saved.columns and saved.nash.between(0, 1).all()


def test_bench_vocabulary_writes_each_fit_as_it_ends(data_folder, tmp_path, monkeypatch):
    texts, y = make_topic_corpus(80, n_topics=4, random_state=1)
    with gzip.open(data_folder / "raw.jsonl.gz", "wt", encoding="utf-8") as fh:
        for i, (text, label) in enumerate(zip(texts, y)):
            fh.write(json.dumps({"id": i, "text": text, "labels": [str(label)],
                                 "split": "train" if i < 60 else "test"}) + "\n")
    module = _bench_vocabulary()
    begun, csv = _stopped_run(
        monkeypatch, module, 2,
        ["--data", str(data_folder), "--vocabularies", "all", "min_df5", "--seeds", "0",
         "--bits", "8", "--max-iter", "2", "--out", str(tmp_path / "vocab.csv")],
        lambda args: args[4], fit="nash_and_itq")
    saved = pd.read_csv(csv)
    assert begun == [0, 0] and saved.vocabulary.tolist() == ["all"]
    assert saved.n_features.iloc[0] > 0 and saved.itq.between(0, 1).all()


def test_fit_options_set_hasher_parameters():
    common = _benchmark("_common")
    parser = argparse.ArgumentParser()
    common.add_fit_options(parser)
    args = parser.parse_args(["--params", "target_neighbors=100", "neighbor_terms=None",
                              "noise=data", "lsa_weight=2.5", "--max-iter", "7"])
    assert common.fit_params(args) == {"target_neighbors": 100, "neighbor_terms": None,
                                       "noise": "data", "lsa_weight": 2.5, "max_iter": 7}
    assert common.fit_params(parser.parse_args([])) == {}
    with pytest.raises(SystemExit):
        parser.parse_args(["--params", "target_neighbors"])


def test_bench_corpus_shape_passes_params_to_the_hasher(data_folder, monkeypatch):
    module = _bench_corpus_shape()
    seen = []
    real = module.nash_and_itq

    def recording(*args, **params):
        seen.append(params)
        return real(*args, **params)

    monkeypatch.setattr(module, "nash_and_itq", recording)
    results = module.main(["--data", str(data_folder), "--sizes", "all", "--no-titles",
                           "--seeds", "0", "--bits", "8", "--max-iter", "2", "--params",
                           "target_neighbors=5", "neighbor_weight=2.0"])
    assert seen == [{"target_neighbors": 5, "neighbor_weight": 2.0, "max_iter": 2}]
    assert list(results["epochs"]) == [2]


def test_bench_corpus_shape_fits_the_raw_counts(data_folder):
    from sklearn.feature_extraction.text import CountVectorizer

    texts, y = make_topic_corpus(300, n_topics=4, random_state=0)
    counts = CountVectorizer().fit(texts[:200])
    for split, rows in (("train", slice(0, 200)), ("test", slice(200, 260))):
        sp.save_npz(data_folder / f"X_{split}_counts.npz",
                    counts.transform(texts[rows]).astype(np.float32))
    results = _bench_corpus_shape().main([
        "--data", str(data_folder), "--sizes", "--counts", "--no-titles", "--seeds", "0",
        "--bits", "8", "--max-iter", "2"])
    assert list(results["setting"]) == ["counts"]
    assert results["n_train"].iloc[0] == 200 and results["epochs"].iloc[0] == 2
    # the reference was computed on the counts files, not on the TF-IDF ones
    from skhash.metrics import cosine_precision_at_k

    X, X_test = (sp.load_npz(data_folder / f"X_{s}_counts.npz") for s in ("train", "test"))
    y_train, y_test = (np.load(data_folder / f"y_{s}.npy") for s in ("train", "test"))
    assert results["cosine"].iloc[0] == cosine_precision_at_k(X_test, y_test, X, y_train, k=100)
    assert results["nnz_per_doc"].iloc[0] == X.nnz / 200
    for column in ("nash", "itq", "cosine"):
        assert results[column].between(0, 1).all()
