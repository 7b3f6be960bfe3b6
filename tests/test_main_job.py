"""``python -m skhash``: the main job runs end to end on a corpus folder."""

import numpy as np

from skhash._main_job import main, snippet
from skhash.datasets import build_hashing_corpus, make_topic_corpus

from .test_datasets import write_folder


def test_main_job_on_a_corpus_folder(tmp_path, capsys):
    texts, y = make_topic_corpus(400, n_topics=4, topic_share=0.3, random_state=0)
    names = np.array(["ant", "bee", "cat", "dog"])[y]
    data = build_hashing_corpus(texts[:300], names[:300], texts[300:], names[300:],
                                max_features=400)
    write_folder(tmp_path / "corpus", data, {"train": texts[:300], "test": texts[300:]})
    out = main(["--data", str(tmp_path / "corpus"), "--bits", "16", "--epochs", "20",
                "--queries", "2", "--neighbors", "3"])
    printed = capsys.readouterr().out
    assert "300 training documents" in printed and "precision@100" in printed
    nash, lsh, cosine = out["precision"].values()
    assert 0.0 <= lsh <= 1.0 and 0.0 <= cosine <= 1.0
    assert nash > 0.5  # 4 topics: chance is about 0.25
    assert out["neighbors"].shape == (2, 3) and np.all(np.diff(out["distances"], axis=1) >= 0)
    # each neighbour line shows its label and the start of its text
    j = out["neighbors"][0, 0]
    assert f"[{names[:300][data.kept_train][j]}] {texts[data.kept_train[j]][:20]}" in printed


def test_snippet_drops_mail_headers_quotes_and_attributions():
    post = ("From: a@b.c\nSubject: Re: hashing\nLines: 3\n\nIn article <x> a@b.c writes:\n"
            "> quoted text\nThe   actual\nbody.\n")
    assert snippet(post) == "Re: hashing The actual body."
    assert snippet("plain text, no headers") == "plain text, no headers"
    assert snippet("") == "(empty)"
    assert snippet("word " * 100, width=30).endswith(" ...")


def test_main_job_without_raw_texts_shows_document_numbers(tmp_path, capsys):
    texts, y = make_topic_corpus(200, n_topics=3, topic_share=0.3, random_state=1)
    data = build_hashing_corpus(texts[:150], y[:150], texts[150:], y[150:], max_features=300)
    write_folder(tmp_path / "corpus", data, {"train": texts[:150], "test": texts[150:]})
    (tmp_path / "corpus" / "raw.jsonl.gz").unlink()
    out = main(["--data", str(tmp_path / "corpus"), "--bits", "8", "--epochs", "2",
                "--queries", "1", "--neighbors", "2"])
    printed = capsys.readouterr().out
    assert f"QUERY [{data.target_names[data.y_test[out['queries'][0]]]}] test document" in printed
    assert "training document" in printed
