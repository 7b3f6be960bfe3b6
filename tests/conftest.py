import gzip
import json
import os
from pathlib import Path

import numpy as np
import pytest


def data_home():
    """``SKHASH_DATA`` if set, else the shared corpora beside the checkout."""
    env = os.environ.get("SKHASH_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data():
    path = data_home()
    if not (path / "ng20").is_dir():
        pytest.skip(f"shared corpora not found at {path} (set SKHASH_DATA)")
    return path


@pytest.fixture(scope="session")
def ng20_raw_sample(shared_data):
    """300 raw 20 Newsgroups posts from 3 groups, with their group names."""
    wanted = {"comp.graphics", "rec.sport.hockey", "sci.space"}
    texts, labels = [], []
    with gzip.open(shared_data / "ng20" / "raw.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            if doc["split"] == "train" and doc["labels"][0] in wanted:
                texts.append(doc["text"])
                labels.append(doc["labels"][0])
    rng = np.random.default_rng(0)
    keep = np.sort(rng.choice(len(texts), size=300, replace=False))
    return [texts[i] for i in keep], np.array(labels)[keep]
