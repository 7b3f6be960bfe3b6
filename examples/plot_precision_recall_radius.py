"""
Precision and recall over the Hamming radius
============================================

Hash lookup returns every database code within Hamming radius ``r`` of the query. A
small radius returns few, mostly relevant documents; a large one returns many. This
example traces that trade-off for 32-bit NASH and LSH codes with
:func:`skhash.metrics.hamming_precision_recall`, and checks the lookup against
:class:`skhash.HammingNeighbors`' radius search.
"""

import matplotlib.pyplot as plt
import numpy as np

from skhash import HammingNeighbors, NASHHasher
from skhash.baselines import LSHHasher
from skhash.datasets import load_example_corpus
from skhash.metrics import hamming_precision_recall

data = load_example_corpus(n_train=3000, n_test=500)
print(data.source)

curves = {}
for name, hasher in [("NASH", NASHHasher(32, max_iter=30, random_state=0)),
                     ("LSH", LSHHasher(32, random_state=0))]:
    hasher.fit(data.X_train)
    db, queries = hasher.transform(data.X_train), hasher.transform(data.X_test)
    curves[name] = hamming_precision_recall(queries, data.y_test, db, data.y_train)
    if name == "NASH":
        nash_db, nash_queries = db, queries

print(curves["NASH"].head(6).to_string(index=False))

# %%
# The curve's ``mean_retrieved`` is what a radius search returns on average:
index = HammingNeighbors(radius=2).fit(nash_db)
found = index.radius_neighbors(nash_queries, return_distance=False)
print("mean retrieved within radius 2:", np.mean([len(f) for f in found]),
      "| from the curve:", curves["NASH"].mean_retrieved[2])

fig, ax = plt.subplots(figsize=(6, 4.5))
for name, curve in curves.items():
    ax.plot(curve.recall, curve.precision, marker=".", label=name)
    for r in (0, 2, 4, 8):
        ax.annotate(f"r={r}", (curve.recall[r], curve.precision[r]), fontsize=7,
                    textcoords="offset points", xytext=(4, 4))
ax.set_xlabel("recall")
ax.set_ylabel("precision")
ax.set_title("Hash lookup within radius r, 32-bit codes")
ax.legend()
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()
