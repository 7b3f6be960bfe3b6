"""
Training curves of the three NASH variants
==========================================

``NASHHasher`` records the mean training loss (the negative evidence lower bound per
document) after each epoch in ``loss_curve_``. This example trains plain NASH (no noise),
NASH-N (fixed Gaussian noise before the decoder) and NASH-DN (noise whose scale the encoder
chooses, charged its channel capacity) and plots their curves, with the precision@100 each
reaches.
"""

import matplotlib.pyplot as plt

from skhash import NASHHasher
from skhash.datasets import load_example_corpus
from skhash.metrics import precision_at_k

data = load_example_corpus(n_train=3000, n_test=500)
print(data.source)

fig, ax = plt.subplots(figsize=(6.5, 4))
for label, noise in [("NASH", None), ("NASH-N", "fixed"), ("NASH-DN", "data")]:
    hasher = NASHHasher(32, noise=noise, max_iter=40, random_state=0).fit(data.X_train)
    p100 = precision_at_k(hasher.transform(data.X_test), data.y_test,
                          hasher.transform(data.X_train), data.y_train, k=100)
    print(f"{label:>8}: {hasher.n_iter_} epochs, final loss {hasher.loss_curve_[-1]:.2f}, "
          f"precision@100 {p100:.3f}")
    ax.plot(range(1, hasher.n_iter_ + 1), hasher.loss_curve_,
            label=f"{label} (P@100 {p100:.3f})")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss (negative ELBO per document)")
ax.set_title("NASH variants, 32 bits")
ax.legend()
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()
