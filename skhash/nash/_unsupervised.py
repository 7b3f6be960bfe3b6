"""NASHHasher: unsupervised NASH, NASH-N and NASH-DN."""

from sklearn.base import _fit_context

from ._base import BaseNASH


class NASHHasher(BaseNASH):
    """Learn short binary codes for documents with NASH (Shen et al., ACL 2018).

    A variational autoencoder whose latent variables are ``n_bits`` Bernoulli bits. The
    encoder, an MLP over the document's term weights, gives each bit's probability; during
    training the bits are sampled and the gradient passes straight through the sampling;
    the decoder, a softmax over the vocabulary from ``z E + b``, reconstructs the
    document's words; the KL divergence to a Bernoulli(1/2) prior is exact. Similar
    documents get codes a few bits apart, so neighbours are found by Hamming distance
    (see :class:`skhash.HammingNeighbors`).

    Input is what :class:`~sklearn.feature_extraction.text.TfidfVectorizer` or
    :class:`~sklearn.feature_extraction.text.CountVectorizer` produce. The encoder sees
    each row scaled to unit L2 norm; the decoder reconstructs the row's weights rescaled
    to sum to its number of distinct terms, so a document weighs as much as its length
    whether it came as counts or as L2-normalised TF-IDF (used as they are, TF-IDF rows
    sum to about the square root of that, the KL term dominates and the codes carry
    little). By default it also reconstructs as much weight again spread over the
    ``lsa_terms`` words that the document's rank-``lsa_components`` LSA reconstruction
    (a truncated SVD of the training rows) weighs most: words the document did not use
    but its topic does. This smoothing is skhash's, not the paper's (``lsa_components=0``
    turns it off); at 32 bits it raised precision@100 by 0.026 on 20 Newsgroups and
    0.028 on Reuters (validation queries, seeds 0-2) for about 10-20% more fit time: see
    the user guide.

    Parameters
    ----------
    n_bits : int, default=32
        Code length.
    hidden_layer_sizes : int or tuple of int, default=(500, 500)
        Widths of the encoder's ReLU layers.
    noise : {"fixed", "data"} or None, default="fixed"
        Noise added to the sampled code before decoding during training: ``"fixed"``
        (NASH-N) uses ``noise_std`` throughout; ``"data"`` (NASH-DN, the paper's best
        variant) learns a per-document, per-bit standard deviation, started at
        ``noise_std``; None is plain NASH. Inference never adds noise. With the smoothed
        targets (``lsa_components > 0``) NASH-N gave the higher precision@100 on both
        corpora measured at 16-128 bits (validation queries, seeds 0-2: by 0.002-0.027
        on 20 Newsgroups and 0.010-0.040 on Reuters; at 8 bits -0.012 and +0.004), hence
        the default since 2026-11-29; see the user guide.
    noise_std : float, default=0.5
        Standard deviation of the fixed noise, and the starting one of the learned noise.
    target_neighbors : int, default=0
        If positive, the decoder reconstructs, besides each training document's own
        words, ``neighbor_weight`` times the mean of the words of its
        ``target_neighbors`` nearest training documents by cosine similarity of X (those
        with a positive similarity), after Chaidaroon, Ebesu & Fang (SIGIR 2018). Codes
        of documents that share neighbours are pulled together: see the user guide for
        measured gains. 0 is the paper's NASH. The exact neighbour search costs
        ``O(n_samples**2)`` sparse dot products at ``fit``, on as many threads as
        :func:`torch.get_num_threads` gives (the result does not depend on them);
        ``transform`` is unchanged.
    neighbor_weight : float, default=1.0
        Weight of the neighbours' mean words against the document's own (used only
        when ``target_neighbors > 0``).
    neighbor_terms : int or None, default=None
        Words kept per document from its neighbours' mean words, the largest, scaled to
        the whole mean's weight (used only when ``target_neighbors > 0``). None keeps
        the union of the neighbours' words: at 100 neighbours 2,164 stored targets a
        document on 20 Newsgroups (smoothed words included), against 401 at 256 and 278
        without neighbours. With ``target_neighbors=100, neighbor_weight=10`` at 32 bits
        (seeds 0-2), 256 gave precision@100 0.5024 on 20 Newsgroups and 0.8610 on
        Reuters against 0.5204 and 0.8614 for the union and the defaults' 0.4860 and
        0.8439, in fits within 15% of the defaults' time where the union's took 1.3-1.4
        times as long (``benchmarks/README.rst``).
    neighbor_similarity : float in [0, 1) or None, default=None
        If set (with ``target_neighbors > 0``), only the neighbours whose cosine
        similarity to the document exceeds it count, each weighing ``neighbor_weight /
        target_neighbors``: a document's neighbour weight grows with how many of its
        ``target_neighbors`` nearest are that similar, so the neighbourhood adapts to the
        corpus (dense topics give many neighbours, a small or diffuse corpus few). None
        takes every neighbour with a positive similarity, their mean at
        ``neighbor_weight``. With ``target_neighbors=100, neighbor_weight=10,
        neighbor_terms=256, neighbor_similarity=0.1`` at 32 bits (seeds 0-2, test
        queries) precision@100 was 0.5126 on 20 Newsgroups and 0.8561 on Reuters against
        the defaults' 0.4859 and 0.8431, and on 2,500 20 Newsgroups posts 0.3681 against
        0.3532 (seed 0), where a hundred neighbours at their mean lost (0.3135;
        ``benchmarks/README.rst``); at 8 bits 20 Newsgroups lost 0.019 with it.
    lsa_components : int, default=64
        Rank of the LSA reconstruction that smooths the reconstruction targets: each
        training row (L2-normalised) is projected onto the training set's
        ``lsa_components`` leading right singular vectors and back, in float64. 0 turns
        the smoothing off (the paper's targets). Capped at ``min(n_samples,
        n_features) - 1``.
    lsa_terms : int, default=256
        Words kept per document from its reconstruction, its largest positive entries.
        The targets then hold up to ``lsa_terms`` more values a row than X.
    lsa_weight : float, default=1.0
        Total weight of a document's smoothed words against its own words' (0 turns the
        smoothing off). The smoothing is computed from X alone, the same for every
        ``random_state``; ``transform`` and ``score`` are unchanged by it.
    max_iter : int, default=50
        Maximum number of epochs.
    batch_size : int or "auto", default="auto"
        Documents per mini-batch; "auto" takes ``min(200, max(32, n_samples // 10))``,
        so small corpora still get about ten optimizer steps an epoch.
    learning_rate_init : float, default=3e-3
        The optimizer's (AdamW's) step size.
    weight_decay : float, default=0.01
        Decoupled weight decay of the AdamW optimizer (Loshchilov & Hutter, ICLR 2019),
        torch's default value: each step shrinks every weight by ``learning_rate_init *
        weight_decay`` of itself. Measured at 32 bits over seeds 0/1/2, it raised
        precision@100 on 20 Newsgroups by 0.004-0.010 (unsupervised) and 0.001-0.004
        (supervised) and left Reuters within 0.005 either way. 0 gives plain Adam's updates.
    weight_averaging : float in [0, 1], default=0.2
        Fraction of the ``max_iter`` epochs, the last ones (``round(weight_averaging *
        max_iter)`` of them: 10 of 50), over whose optimizer steps the weights are
        averaged; the fitted network holds that mean (Polyak-Ruppert averaging, as in
        stochastic weight averaging). Late in training at a constant step size the
        validation precision@100 moved by about 0.004 from one epoch to the next; the
        mean of the last steps is the better-placed network. Measured at 32 bits, seeds
        0/1/2, against 0: on 20 Newsgroups +0.005 (validation and test queries, every
        seed higher), on Reuters +0.004 on the validation queries and -0.001 on the test
        queries (within the seeds' spread), at no measurable cost in fit time. 0 keeps
        the last step's weights. A fit stopped early (``tol``) before the averaged epochs
        keeps its last weights; ``loss_curve_`` is the trained, not the averaged,
        network's.
    max_decoded_features : int or None, default=20000
        The decoder reconstructs at most this many words: those in the most training
        documents (ties: the lower column), the words ``TfidfVectorizer(max_features=...)``
        would keep. The encoder still reads every column of X, so a document's rarer
        words still shape its code. The decoder's softmax over its vocabulary is most of
        a training step's work, and grows with its size: on raw 20 Newsgroups posts
        vectorized with ``TfidfVectorizer(min_df=2)`` (53,678 words) a default fit
        took about 120 s at this cap, over 200 s with every word decoded and 77 s with
        10,000, for precision@100 0.5595, 0.5590 and 0.5449 (seeds 0-2; the user guide
        has the measurements, Reuters' too). At or above the vocabulary's size (the
        shared corpora's 10,000 words, any ``max_features <= 20000``) every word is
        decoded, as with None (the paper's model).
    shuffle : bool, default=True
        Shuffle the documents each epoch.
    tol : float, default=1e-4
        Training stops when the epoch loss has not fallen by ``tol`` times its best value
        for ``n_iter_no_change`` consecutive epochs.
    n_iter_no_change : int, default=10
        See ``tol``.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and the sampling of bits and noise. Torch's and
        NumPy's global generators are left as they were. A seed gives the same codes on
        the same machine with the same number of torch threads (the BLAS may round a
        product differently on another: see the user guide).
    device : str, default="cpu"
        Torch device to train on (``"cpu"``, ``"cuda"``, ``"cuda:1"``...). The fitted
        network is kept on the CPU, where ``transform`` runs, so a model trained on a GPU
        pickles and loads anywhere.
    compute_dtype : {"float32", "bfloat16"}, default="float32"
        Precision of the matrix products in training. "bfloat16" runs them through
        :class:`torch.autocast` in bfloat16, while the weights, the optimizer state, the
        softmax's log-sum-exp, the code probabilities and the loss stay float32, and
        ``transform`` always computes in float32. On a CPU with native bfloat16 (this
        project's AVX-512 AMD EPYC: about 830 against 190 GFLOP/s for 2048 x 2048
        products) an epoch over 20 Newsgroups at 32 bits took 0.59 instead of 0.71 s on
        two threads and 0.92 instead of 1.41 s on one. Where the CPU lacks it (no AVX-512
        BF16 or AMX-BF16) torch emulates it: an epoch took 6.98 instead of 1.19 s on an
        AVX2-only EPYC, and ``fit`` warns (``UserWarning``). Native is not always faster:
        on an Intel Xeon with AVX-512 BF16 but no AMX an epoch took 0.675 against 0.560
        s in float32 (two threads). Precision@100 moved by -0.0040 to +0.0057 against
        float32 (means over 3 seeds, 30 comparisons), within seed-to-seed spread: see the
        benchmarks README.
    verbose : int, default=0
        If positive, print one line per epoch: epoch, loss, seconds.
    warm_start : bool, default=False
        Continue training the fitted network on the next ``fit`` (with a fresh optimizer
        state) instead of starting afresh; the decoder keeps its words
        (``decoded_features_``).

    Attributes
    ----------
    network_ : torch.nn.Module
        The trained encoder-decoder, on the CPU.
    decoded_features_ : ndarray of shape (n_decoded,) or None
        The columns of X the decoder reconstructs, ascending (``max_decoded_features``);
        None where it reconstructs every column.
    n_iter_ : int
        Epochs run (in total, across warm starts).
    loss_curve_ : list of float
        Mean training loss (negative ELBO per document) after each epoch; its
        reconstruction term includes the smoothed words (``lsa_weight > 0``) and the
        neighbours' words (``target_neighbors > 0``).
    best_loss_ : float
        Smallest value in ``loss_curve_``.
    n_features_in_ : int
        Vocabulary size seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of X, where X was a DataFrame with string column names.

    See Also
    --------
    SupervisedNASHHasher : The same model with a label loss on the codes.
    HammingNeighbors : Exact Hamming-distance search over the codes.

    Notes
    -----
    A document with no non-zero term gets the code the encoder gives an all-zero input:
    the same for every empty document, and deterministic. A training matrix whose every
    row is empty has nothing to learn from: ``fit`` raises a ``ValueError`` saying so.

    References
    ----------
    D. Shen, Q. Su, P. Chapfuwa, W. Wang, G. Wang, L. Carin and R. Henao. "NASH: Toward
    End-to-End Neural Architecture for Generative Semantic Hashing". ACL 2018.

    Examples
    --------
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhash import NASHHasher
    >>> docs = ["the cat sat on the mat", "a cat on a mat", "stocks fell in early trade",
    ...         "shares and stocks rose", "the dog sat on the cat"]
    >>> pipe = make_pipeline(TfidfVectorizer(),
    ...                      NASHHasher(n_bits=8, hidden_layer_sizes=(32,), max_iter=20,
    ...                                 random_state=0))
    >>> codes = pipe.fit_transform(docs)
    >>> codes.shape, codes.dtype
    ((5, 8), dtype('uint8'))
    >>> pipe.predict(docs).shape
    (5,)
    """

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the hasher on documents X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Non-negative term weights: TF-IDF or raw counts. CSR, CSC, COO or dense.
        y : None
            Ignored.

        Returns
        -------
        self : NASHHasher
            The fitted hasher.
        """
        reset = not (self.warm_start and hasattr(self, "network_"))
        X = self._validate_X(X, reset=reset)
        return self._fit_network(X)

    def predict(self, X):
        """Each document's hash address: its code read as one integer.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Non-negative term weights.

        Returns
        -------
        addresses : ndarray of shape (n_samples,)
            The first bit is the most significant. ``uint64`` for ``n_bits <= 64``;
            above 64 bits an ``object`` array of exact Python ints.
        """
        return self.hash_addresses(X)

    def score(self, X, y=None):
        """Mean evidence lower bound per document (higher is better).

        The ELBO is evaluated at the deterministic codes, without noise, so the score
        is reproducible and does not depend on the other rows. Its reconstruction term
        covers the decoded words (``decoded_features_``).

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
