"""VDSHHasher: the Gaussian VAE of VDSH with median-thresholded latent means."""

import numpy as np
from sklearn.base import _fit_context

from ..nash._base import BaseDocumentVAE
from ..nash._gaussian import GaussianVAENetwork


class VDSHHasher(BaseDocumentVAE):
    """Variational deep semantic hashing (Chaidaroon & Fang, SIGIR 2017).

    A variational autoencoder with a continuous latent: the encoder (the same sparse MLP
    as :class:`~skhash.NASHHasher`'s) gives a diagonal Gaussian of ``n_bits`` dimensions,
    trained with the reparameterisation trick against an N(0, I) prior and NASH's
    softmax decoder. Binarisation is a separate step after training: bit ``j`` is 1 where
    the latent mean exceeds its median over the training documents. This two-stage
    recipe is what NASH replaced with end-to-end binary latents, which makes VDSH the
    natural baseline for it.

    It takes the same training parameters as :class:`~skhash.NASHHasher` (and the same
    input formulation: unit-norm encoder input, reconstruction of the row's weights
    rescaled to its number of distinct terms).

    Parameters
    ----------
    n_bits : int, default=32
        Latent dimensions, one bit each.
    hidden_layer_sizes : int or tuple of int, default=(500, 500)
        Widths of the encoder's ReLU layers.
    max_iter : int, default=10
        Maximum number of epochs. Fewer than NASH's 50: trained longer, VDSH's codes get
        worse. Precision@100 of the validation queries against the training set (seed
        0, 8 / 32 / 128 bits, bfloat16; ``benchmarks/bench_reproduce.py --methods VDSH
        --queries val --epochs E``) after 5, 10, 20 and 50 epochs, 20 Newsgroups:
        0.134/0.288/0.413, 0.203/0.310/0.421, 0.240/0.290/0.364, 0.252/0.268/0.287;
        Reuters: 0.614/0.752/0.806, 0.677/0.715/0.779, 0.676/0.676/0.748,
        0.662/0.636/0.693. 10 epochs has the best mean over those six; only 8-bit codes
        on 20 Newsgroups still gain from longer training.
    batch_size : int or "auto", default="auto"
        Documents per mini-batch; "auto" takes ``min(200, max(32, n_samples // 10))``.
    learning_rate_init : float, default=3e-3
        Adam's step size.
    shuffle : bool, default=True
        Shuffle the documents each epoch.
    tol : float, default=1e-4
        Relative improvement of the epoch loss below which an epoch counts as stale.
    n_iter_no_change : int, default=10
        Stale epochs after which training stops.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and sampling; the global generators are untouched.
    device : str, default="cpu"
        Torch device to train on; the fitted network is kept on the CPU.
    compute_dtype : {"float32", "bfloat16"}, default="float32"
        Precision of the matrix products in training, as in :class:`skhash.NASHHasher`
        (the latent means, log-variances and the loss stay float32).
    verbose : int, default=0
        If positive, print one line per epoch.
    warm_start : bool, default=False
        Continue training the fitted network on the next ``fit``; the medians are
        recomputed on that fit's documents.

    Attributes
    ----------
    network_ : torch.nn.Module
        The trained encoder-decoder, on the CPU.
    thresholds_ : ndarray of shape (n_bits,)
        Median latent mean of the training documents, per dimension.
    n_iter_ : int
        Epochs run.
    loss_curve_ : list of float
        Mean training loss (negative ELBO per document) after each epoch.
    best_loss_ : float
        Smallest value in ``loss_curve_``.
    n_features_in_ : int
        Vocabulary size seen in ``fit``.

    See Also
    --------
    skhash.NASHHasher : Binary latents trained end to end.

    References
    ----------
    S. Chaidaroon and Y. Fang. "Variational Deep Semantic Hashing for Text Documents".
    SIGIR 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.baselines import VDSHHasher
    >>> X = np.random.default_rng(0).poisson(0.5, size=(40, 30)).astype(float)
    >>> hasher = VDSHHasher(n_bits=8, hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    >>> codes = hasher.fit_transform(X)
    >>> codes.shape
    (40, 8)
    >>> bool(np.all(np.abs(codes.mean(axis=0) - 0.5) <= 0.05))  # median cuts: balanced bits
    True
    """

    def __init__(
        self,
        n_bits=32,
        *,
        hidden_layer_sizes=(500, 500),
        max_iter=10,
        batch_size="auto",
        learning_rate_init=3e-3,
        shuffle=True,
        tol=1e-4,
        n_iter_no_change=10,
        random_state=None,
        device="cpu",
        compute_dtype="float32",
        verbose=0,
        warm_start=False,
    ):
        self.n_bits = n_bits
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.shuffle = shuffle
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.device = device
        self.compute_dtype = compute_dtype
        self.verbose = verbose
        self.warm_start = warm_start

    def _build_network(self, n_features, hidden_layer_sizes, n_outputs):
        return GaussianVAENetwork(n_features, self.n_bits, hidden_layer_sizes)

    def _fit_thresholds(self, X):
        self.thresholds_ = np.median(self._code_scores(X).numpy(), axis=0).astype(np.float32)

    def _thresholds(self):
        return self.thresholds_

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the Gaussian VAE on documents X and take the medians of the latent means.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Non-negative term weights: TF-IDF or raw counts.
        y : None
            Ignored.

        Returns
        -------
        self : VDSHHasher
            The fitted hasher.
        """
        reset = not (self.warm_start and hasattr(self, "network_"))
        X = self._validate_X(X, reset=reset)
        return self._fit_network(X)

    def score(self, X, y=None):
        """Mean evidence lower bound per document at the latent means (higher is better).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Non-negative term weights.
        y : None
            Ignored.

        Returns
        -------
        score : float
            ``-(reconstruction NLL + KL)`` averaged over the documents.
        """
        return self._mean_elbo(X)
