"""
Nearest neighbours of a document, as text
=========================================

Numbers say the codes work; reading the neighbours shows what they capture. Train NASH,
index the training documents' 32-bit codes with :class:`skhash.HammingNeighbors`, and print
the nearest training documents of a test document with their Hamming distances. The plot
shows, for all test queries, how often the k-th neighbour shares the query's label.
"""

import textwrap

import matplotlib.pyplot as plt
import numpy as np

from skhash import HammingNeighbors, NASHHasher
from skhash.datasets import load_example_corpus

data = load_example_corpus(n_train=3000, n_test=500)
print(data.source)

hasher = NASHHasher(32, max_iter=30, random_state=0).fit(data.X_train)
index = HammingNeighbors(n_neighbors=20).fit(hasher.transform(data.X_train))
dist, ind = index.kneighbors(hasher.transform(data.X_test))


def show(text, width=80):
    """One line of a post: mail headers, quoted lines and "... writes:" lines dropped."""
    body = text.partition("\n\n")[2] or text
    kept = [line for line in body.splitlines()
            if not line.lstrip().startswith((">", "|"))
            and not line.rstrip().endswith(("writes:", "wrote:"))]
    return textwrap.shorten(" ".join(" ".join(kept).split()), width=width, placeholder=" ...")


names = data.target_names
query = 0
print(f"QUERY [{names[data.y_test[query]]}] {show(data.raw_test[query])}\n")
for d, j in zip(dist[query, :5], ind[query, :5]):
    print(f"  distance {d:>2} [{names[data.y_train[j]]}] {show(data.raw_train[j], 70)}")

# %%
# Over all queries: the share of k-th neighbours with the query's label.
same = data.y_train[ind] == data.y_test[:, None]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.bar(np.arange(1, 21), same.mean(axis=0))
ax.axhline(np.mean(data.y_train[:, None] == data.y_test[None, :]), color="black",
           linestyle="--", label="chance")
ax.set_xlabel("neighbour rank k")
ax.set_ylabel("share with the query's label")
ax.set_title("How relevant is the k-th nearest code?")
ax.legend()
fig.tight_layout()
plt.show()
