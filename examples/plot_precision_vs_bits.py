"""
Precision@100 against code length: NASH and the baselines
==========================================================

How many bits does a document need? Train NASH and three classical hashers at 8 to 64
bits, and measure precision@100 of test documents querying the training set (a retrieved
document counts if it shares the query's label). Full-precision TF-IDF cosine, which
stores 10,000 floats a document instead of a few bytes, is the reference line.
"""

import matplotlib.pyplot as plt

from skhash import NASHHasher
from skhash.baselines import ITQHasher, LSHHasher, SpectralHasher
from skhash.datasets import load_example_corpus
from skhash.metrics import cosine_precision_at_k, precision_at_k

data = load_example_corpus(n_train=3000, n_test=500)
print(data.source)

bits = [8, 16, 32, 64]
hashers = {
    "NASH": lambda b: NASHHasher(b, max_iter=30, random_state=0),
    "ITQ": lambda b: ITQHasher(b, random_state=0),
    "spectral hashing": lambda b: SpectralHasher(b, random_state=0),
    "LSH": lambda b: LSHHasher(b, random_state=0),
}
scores = {name: [] for name in hashers}
for name, make in hashers.items():
    for b in bits:
        hasher = make(b).fit(data.X_train)
        scores[name].append(precision_at_k(hasher.transform(data.X_test), data.y_test,
                                           hasher.transform(data.X_train), data.y_train,
                                           k=100))
    print(f"{name:>17}: " + "  ".join(f"{b} bits {p:.3f}" for b, p in zip(bits, scores[name])))

# %%
# TF-IDF cosine at full precision, ranked exactly, for reference.
cosine = cosine_precision_at_k(data.X_test, data.y_test, data.X_train, data.y_train, k=100)
print(f"TF-IDF cosine: {cosine:.3f}")

fig, ax = plt.subplots(figsize=(6.5, 4))
for name, values in scores.items():
    ax.plot(bits, values, marker="o", label=name)
ax.axhline(cosine, color="black", linestyle="--", label="TF-IDF cosine (floats)")
ax.set_xscale("log", base=2)
ax.set_xticks(bits, [str(b) for b in bits])
ax.set_xlabel("bits per document")
ax.set_ylabel("precision@100")
ax.set_title("Retrieval quality against code length")
ax.legend()
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()
