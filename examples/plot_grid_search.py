"""
Choosing n_bits with GridSearchCV
=================================

The hashers are ordinary scikit-learn estimators, so a ``Pipeline`` from raw text to codes
can be tuned with ``GridSearchCV``. The score is precision@100 within each validation fold
(:func:`skhash.metrics.precision_at_k_scorer`: every fold document queries the rest of the
fold), so no labels are used for training, only for scoring.
"""

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from skhash import NASHHasher
from skhash.datasets import load_example_corpus
from skhash.metrics import precision_at_k_scorer

data = load_example_corpus(n_train=1500, n_test=10)
print(data.source)
texts, labels = data.raw_train, data.y_train

pipe = Pipeline([
    ("tfidf", TfidfVectorizer(stop_words="english", max_features=5000, sublinear_tf=True)),
    ("hash", NASHHasher(max_iter=15, random_state=0)),
])
search = GridSearchCV(pipe, {"hash__n_bits": [8, 16, 32, 64]},
                      scoring=precision_at_k_scorer(100),
                      cv=StratifiedKFold(3, shuffle=True, random_state=0))
search.fit(texts, labels)
print("best:", search.best_params_, f"precision@100 {search.best_score_:.3f}")

# %%
# ``cv_results_`` as a table:
table = pd.DataFrame(search.cv_results_)[
    ["param_hash__n_bits", "mean_test_score", "std_test_score", "rank_test_score",
     "mean_fit_time"]
]
print(table.to_string(index=False))

fig, ax = plt.subplots(figsize=(6, 3.8))
ax.errorbar(table.param_hash__n_bits.astype(int), table.mean_test_score,
            yerr=table.std_test_score, marker="o", capsize=4)
ax.set_xscale("log", base=2)
ax.set_xticks([8, 16, 32, 64], ["8", "16", "32", "64"])
ax.set_xlabel("hash__n_bits")
ax.set_ylabel("precision@100 (3-fold CV)")
ax.set_title("GridSearchCV over the code length")
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()
