"""The NASH network in plain torch: encoder, Bernoulli code layer, decoder, loss.

Nothing here imports scikit-learn: the estimators in ``_base.py`` validate input,
seed, and orchestrate; this module only knows tensors.

The first encoder layer is an :class:`torch.nn.EmbeddingBag` over the vocabulary, so a
mini-batch of sparse documents costs ``nnz * hidden`` instead of ``batch * vocab * hidden``.
On CUDA its gradient is autograd's dense one, and torch's fused AdamW updates it. On the
CPU the training loop gives the encoder a ``capture`` (:class:`CapturedBag`): the layer's
backward pass then hands over only its output's gradient, and
:class:`~skhash.nash._row_sparse_adamw.RowSparseAdamW` forms the rows it needs inside its
update, so the dense 10,000 x 500 gradient is never zero-filled, written or read. What
was measured before that, on 20 Newsgroups: torch's SparseAdam spent 43% of an epoch
coalescing sparse gradients; a gradient buffer kept across steps, written only in the
rows a mini-batch touches, was no faster than autograd's fresh one; lazy AdamW (only the
touched rows updated) was slower and changes what untouched rows do (RowSparseAdamW's
lazy mode catches them up exactly instead, and pays on large vocabularies only).

The decoder's training step makes mini-batch x vocabulary matrices: the product, its
softmax and the gradient. On the CPU without autocast the product and the loss are one
autograd node (:class:`AffineSoftmaxNLL`), which saves passes over them; under autocast
(bfloat16) and on CUDA they are two (:func:`product_into`, :class:`MultinomialNLL`),
whose loss can run compiled. Allocated afresh each step, matrices of more than 32 MB (glibc's
largest dynamic mmap threshold; 200 documents x 40,000 words) are mapped from the kernel
and returned to it every time, and smaller ones are often trimmed from the heap, so each
step pays their page faults again. In training the decoder therefore writes them into
the buffers of a :class:`DecoderWorkspace`, kept from step to step.
"""

import math
import warnings

import torch
from torch import nn
from torch.nn import functional as F

from .._config import get_config

LOG2 = math.log(2.0)


class SparseBatch:
    """A mini-batch of CSR rows as flat torch tensors.

    ``indices``/``offsets`` follow :class:`torch.nn.EmbeddingBag`, ``inputs`` are the
    encoder's weights for each non-zero and ``rows`` the batch row of each non-zero. The
    reconstruction targets have their own sparsity pattern (``target_indices``,
    ``targets``, ``target_rows``): the document's own terms, or more where neighbours'
    words are reconstructed too.
    """

    __slots__ = (
        "indices",
        "inputs",
        "n_rows",
        "offsets",
        "rows",
        "target_indices",
        "target_rows",
        "targets",
    )

    def __init__(self, indices, offsets, inputs, rows, target_indices, targets, target_rows,
                 n_rows):
        self.indices = indices
        self.offsets = offsets
        self.inputs = inputs
        self.rows = rows
        self.target_indices = target_indices
        self.targets = targets
        self.target_rows = target_rows
        self.n_rows = n_rows

    def to(self, device):
        if device.type == "cpu":
            return self
        tensors = (self.indices, self.offsets, self.inputs, self.rows, self.target_indices,
                   self.targets, self.target_rows)
        return SparseBatch(*(t.to(device) for t in tensors), self.n_rows)


def bernoulli_kl(probs, eps=1e-7):
    """KL(Bernoulli(probs) || Bernoulli(1/2)), summed over bits, one value per row."""
    p = probs.clamp(eps, 1.0 - eps)
    return (p * torch.log(p) + (1.0 - p) * torch.log1p(-p) + LOG2).sum(dim=1)


def straight_through_bernoulli(probs, generator=None):
    """Sample 0/1 bits with P(1) = probs; the gradient passes straight through to probs."""
    u = torch.rand(probs.shape, generator=generator, device=probs.device, dtype=probs.dtype)
    hard = (u < probs).to(probs.dtype)
    return probs + (hard - probs).detach()


class DocumentEncoder(nn.Module):
    """MLP over a sparse bag of words: the hidden features every model here starts from.

    Parameters
    ----------
    n_features : int
        Vocabulary size.
    hidden_layer_sizes : tuple of int
        Widths of the ReLU layers (at least one); the first is an EmbeddingBag.
    dropout : float, default=0.0
        Probability of zeroing each hidden unit after its ReLU, in training mode only
        (inverted dropout). The estimators train with 0; ``benchmarks/bench_ablation.py``
        measures what dropout does.
    """

    #: Set by the training loop on the CPU (a BagGradient of _row_sparse_adamw): the first
    #: layer then leaves its weight's gradient to RowSparseAdamW. A class attribute, so
    #: that encoders pickled before it existed still load and encode.
    capture = None

    def __init__(self, n_features, hidden_layer_sizes, dropout=0.0):
        super().__init__()
        widths = list(hidden_layer_sizes)
        self.n_outputs = widths[-1]
        self.dropout = dropout
        self.embed = nn.EmbeddingBag(n_features, widths[0], mode="sum", sparse=False)
        bound = 1.0 / math.sqrt(n_features)
        nn.init.uniform_(self.embed.weight, -bound, bound)
        self.embed_bias = nn.Parameter(torch.zeros(widths[0]))
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, batch):
        """Hidden features of a :class:`SparseBatch`, shape (n_rows, widths[-1])."""
        if self.capture is not None and torch.is_grad_enabled():
            h = CapturedBag.apply(self.embed.weight, batch.indices, batch.offsets,
                                  batch.inputs, batch.rows, self.capture)
        else:
            h = self.embed(batch.indices, batch.offsets, per_sample_weights=batch.inputs)
        h = F.relu(h + self.embed_bias)
        for layer in self.hidden:
            h = F.relu(layer(self._drop(h)))
        return self._drop(h)

    def _drop(self, h):
        return F.dropout(h, self.dropout, self.training) if self.dropout else h


class CapturedBag(torch.autograd.Function):
    """A sum-mode embedding bag whose backward pass hands its output's gradient over.

    The forward pass stores the batch (term ``indices``, the batch ``rows`` of the
    non-zeros and their ``inputs``) in ``capture``; instead of the weight's dense
    gradient, the backward pass stores the gradient of the output (n_rows, width) in
    ``capture.grad_out`` and returns none for the weight, whose ``.grad`` stays empty: the
    optimizer forms the rows it needs from them
    (:class:`~skhash.nash._row_sparse_adamw.RowSparseAdamW`).
    """

    @staticmethod
    def forward(ctx, weight, indices, offsets, inputs, rows, capture):
        if capture.before_forward is not None:
            capture.before_forward(indices)  # rows the optimizer left behind catch up
        capture.indices, capture.rows, capture.inputs = indices, rows, inputs
        ctx.capture = capture
        return F.embedding_bag(indices, weight, offsets, mode="sum",
                               per_sample_weights=inputs)

    @staticmethod
    def backward(ctx, grad_out):
        ctx.capture.grad_out = grad_out
        return None, None, None, None, None, None


class SoftmaxDecoder(nn.Module):
    """The generative side: a softmax over the vocabulary from ``z E + b``.

    Parameters
    ----------
    n_latent : int
        Dimension of the code fed to the decoder.
    n_features : int
        Vocabulary size.
    """

    #: A :class:`DecoderWorkspace` while training (set by the training loop), else None.
    #: With one, each forward pass must be followed by exactly one backward pass before
    #: the next forward pass: the buffers are reused and the backward pass writes the
    #: gradient over the saved softmax.
    workspace = None

    def __init__(self, n_latent, n_features):
        super().__init__()
        self.word_embedding = nn.Parameter(torch.empty(n_latent, n_features))
        nn.init.normal_(self.word_embedding, std=1.0 / math.sqrt(n_latent))
        self.word_bias = nn.Parameter(torch.zeros(n_features))

    def forward(self, z, batch):
        """-sum_w t_w log softmax(z E + b)_w per document, t the batch's target weights."""
        workspace = self.workspace
        # one node on the CPU without autocast; CUDA keeps the two nodes measured there
        if z.device.type == "cpu" and not torch.is_autocast_enabled("cpu"):
            return AffineSoftmaxNLL.apply(
                z, self.word_embedding, self.word_bias, batch.target_rows,
                batch.target_indices, batch.targets, workspace,
            )
        # Under autocast the logits stay in the product's dtype (bfloat16): the loss reads
        # them in float32 inside its kernels, and hands the product a gradient of its dtype.
        if workspace is None:
            logits = torch.addmm(self.word_bias, z, self.word_embedding)
        else:
            logits = product_into(workspace, self.word_bias, z, self.word_embedding)
        return MultinomialNLL.apply(
            logits, batch.target_rows, batch.target_indices, batch.targets, workspace
        )


class AffineSoftmaxNLL(torch.autograd.Function):
    """The decoder's loss from the code, ``totals * logsumexp(z E + b) - sum_w t_w (z E +
    b)_w`` per row, as one autograd node (the decoder on the CPU without autocast).

    Inputs: the decoder's input ``z`` (n_rows, n_bits), its weight ``E`` (n_bits,
    n_features) and bias ``b``, the sparse targets as parallel arrays (row, column,
    weight), and a :class:`DecoderWorkspace` or None. The product and the loss as two
    nodes (:class:`_ProductInto`, then :class:`MultinomialNLL`, still used under
    autocast) made passes over the mini-batch x vocabulary matrices that one node can
    leave out:

    - the bias enters the product as one more row of ``E`` against a column of ones in
      ``z`` (``addmm`` first copies the bias into every row of its output);
    - the log-sum-exp of a row is ``logit - log(softmax)`` at one column, the word of
      largest bias (the most frequent one), rather than the difference of two row maxima;
      a row where that word's probability is below 1e-30, too small to trust its
      logarithm, takes an exact log-sum-exp instead;
    - the backward pass's product of ``[z, 1]`` with the logits' gradient gives the
      bias's gradient beside ``E``'s, without a pass of column sums.

    On 200 documents of 20 Newsgroups (10,000 words, 32 bits, one thread, float32) a
    forward and backward pass of the decoder took 6.7-6.9 ms against 9.1-9.4 ms as two
    nodes (10.8 ms with their loss compiled). With a workspace (training), the buffers
    are reused and the backward pass writes the gradient over the saved softmax, so each
    forward pass must be followed by one backward pass; without one (scoring, gradient
    checks) nothing is overwritten.
    """

    @staticmethod
    def forward(ctx, z, weight, bias, rows, columns, weights, workspace=None):
        n_rows, n_bits = z.shape
        n_features = weight.shape[1]

        def buffer(name, shape):
            if workspace is None:
                return torch.empty(shape, dtype=z.dtype, device=z.device)
            return workspace.take(name, shape, z.dtype, z.device)

        augmented_weight = buffer("weight_and_bias", (n_bits + 1, n_features))
        augmented_weight[:n_bits].copy_(weight)
        augmented_weight[n_bits].copy_(bias)
        augmented_z = buffer("code_and_one", (n_rows, n_bits + 1))
        augmented_z[:, :n_bits].copy_(z)
        augmented_z[:, n_bits].fill_(1.0)
        logits = torch.mm(augmented_z, augmented_weight, out=buffer("logits", (n_rows,
                                                                              n_features)))
        probs = buffer("probs", logits.shape)
        torch.ops.aten._softmax.out(logits, 1, False, out=probs)
        flat = rows * n_features + columns
        picked = logits.reshape(-1).index_select(0, flat)
        totals, weighted = target_row_sums(logits, rows, flat, weights, picked,
                                           dense=logits.is_cuda)
        anchor = torch.arange(n_rows, device=z.device) * n_features + torch.argmax(bias)
        at_anchor = probs.reshape(-1).index_select(0, anchor)
        lse = logits.reshape(-1).index_select(0, anchor) - at_anchor.log()
        small = at_anchor < 1e-30
        if bool(small.any()):
            lse[small] = torch.logsumexp(logits[small], dim=1)
        ctx.in_place = workspace is not None
        ctx.save_for_backward(augmented_z, weight, probs, totals, flat, rows, weights)
        return totals * lse - weighted

    @staticmethod
    def backward(ctx, grad_out):
        augmented_z, weight, probs, totals, flat, rows, weights = ctx.saved_tensors
        grad = logits_gradient(probs, grad_out, totals, flat, rows, weights, ctx.in_place)
        n_bits = weight.shape[0]
        grad_z = grad @ weight.t() if ctx.needs_input_grad[0] else None
        both = augmented_z.t() @ grad  # E's gradient, then b's as the last row
        return grad_z, both[:n_bits], both[n_bits], None, None, None, None


class DecoderWorkspace:
    """Buffers for the decoder's mini-batch x vocabulary matrices, reused across steps.

    :meth:`take` hands out a view of a named flat buffer, grown when a larger matrix is
    asked for (a mini-batch's product, softmax and gradient; the last, smaller batch of an
    epoch takes a prefix). A view stays valid until the same name is taken again.

    Examples
    --------
    >>> import torch
    >>> from skhash.nash._network import DecoderWorkspace
    >>> ws = DecoderWorkspace()
    >>> a = ws.take("probs", (4, 10), torch.float32, torch.device("cpu"))
    >>> b = ws.take("probs", (3, 10), torch.float32, torch.device("cpu"))
    >>> a.data_ptr() == b.data_ptr(), tuple(b.shape)
    (True, (3, 10))
    """

    def __init__(self):
        self._buffers = {}

    def take(self, name, shape, dtype, device):
        """An uninitialised ``shape`` view of buffer ``name``."""
        n = math.prod(shape)
        buf = self._buffers.get(name)
        if buf is None or buf.numel() < n or buf.dtype != dtype or buf.device != device:
            buf = self._buffers[name] = torch.empty(n, dtype=dtype, device=device)
        return buf[:n].view(shape)


def product_into(workspace, bias, z, weight):
    """``bias + z @ weight`` written into ``workspace``'s "logits" buffer, with autograd.

    Under :class:`torch.autocast` the operands are cast to its dtype first, as autocast
    casts ``addmm``'s (the casts are autograd's, so the float32 weights get float32
    gradients).
    """
    device = z.device.type
    if torch.is_autocast_enabled(device):
        dtype = torch.get_autocast_dtype(device)
        bias, z, weight = bias.to(dtype), z.to(dtype), weight.to(dtype)
    with torch.autocast(device, enabled=False):
        return _ProductInto.apply(bias, z, weight, workspace)


class _ProductInto(torch.autograd.Function):
    """``addmm(bias, z, weight)`` into a workspace buffer; the usual three gradients."""

    @staticmethod
    def forward(ctx, bias, z, weight, workspace):
        out = workspace.take("logits", (z.shape[0], weight.shape[1]), z.dtype, z.device)
        torch.addmm(bias, z, weight, out=out)
        ctx.save_for_backward(z, weight)
        return out

    @staticmethod
    def backward(ctx, grad):
        z, weight = ctx.saved_tensors
        grad_bias = grad.sum(dim=0) if ctx.needs_input_grad[0] else None
        grad_z = grad @ weight.t() if ctx.needs_input_grad[1] else None
        grad_weight = z.t() @ grad if ctx.needs_input_grad[2] else None
        return grad_bias, grad_z, grad_weight, None


def _loss_dtype(dtype):
    """float32, or the logits' dtype where it is wider (float64 in gradient checks)."""
    return torch.promote_types(dtype, torch.float32)


def softmax_parts(logits):
    """Per row: ``exp(logits - max)`` in float32 (at least), the row's max and the sum.

    One pass of exponentials serves both the forward pass (the log-sum-exp is ``max +
    log(sum)``) and the backward pass (the softmax is ``exp / sum``). Compiled, the cast,
    max, exponential and sum are one loop per row; run eagerly they are five passes, slower
    than :func:`torch.softmax`, which the uncompiled loss uses instead.
    """
    x = logits.to(_loss_dtype(logits.dtype))
    peak = x.amax(dim=1, keepdim=True)
    e = torch.exp(x - peak)
    return e, peak.squeeze(1), e.sum(dim=1)


def scale_rows(e, scale, dtype):
    """``e * scale[:, None]`` cast to ``dtype``: the dense part of the logits' gradient."""
    return (e * scale.unsqueeze(1)).to(dtype)


class CompiledOnCPU:
    """A tensor function compiled with :func:`torch.compile` for CPU tensors, used where
    ``skhash.get_config()["torch_compile"]`` is set (see :meth:`active`).

    If compiling fails (no C++ compiler, say), the call runs the function eagerly, with a
    warning, and :meth:`active` is False from then on.
    """

    def __init__(self, fn):
        self.fn = fn
        self.compiled = None
        self.proven = False
        self.failed = False

    def active(self, tensor):
        """Whether the compiled function is to be used for ``tensor``."""
        return (not self.failed and tensor.device.type == "cpu"
                and get_config()["torch_compile"])

    def __call__(self, *args):
        if self.failed:
            return self.fn(*args)
        if self.compiled is None:
            self.compiled = torch.compile(self.fn, dynamic=True)
        if self.proven:
            return self.compiled(*args)
        try:
            out = self.compiled(*args)
        except Exception as exc:  # compiler missing or failing: keep training, eagerly
            self.failed = True
            warnings.warn(
                f"torch.compile failed for {self.fn.__name__} ({type(exc).__name__}: "
                f"{exc}); running the loss uncompiled (the same values to rounding, "
                "slower).",
                RuntimeWarning,
                stacklevel=2,
            )
            return self.fn(*args)
        self.proven = True
        return out


_softmax_parts = CompiledOnCPU(softmax_parts)
_scale_rows = CompiledOnCPU(scale_rows)


class MultinomialNLL(torch.autograd.Function):
    """``totals * logsumexp(logits) - sum_w t_w logits_w`` per row, in one softmax pass.

    The decoder's loss under autocast (bfloat16) and on CUDA, after the product; on the
    CPU without autocast :class:`AffineSoftmaxNLL` takes the product and the loss
    together.

    Inputs: ``logits`` of shape (n_rows, n_features), in the decoder product's dtype, and
    the sparse targets as parallel arrays (row, column, weight). The loss is float32
    (float64 for float64 logits); the gradient with respect to the logits,
    ``g * (totals * softmax - t)``, is formed in float32 and returned in the logits'
    dtype. The forward pass keeps the softmax, so the backward pass needs no second
    exponential and no dense copy of the targets beyond the one it returns.

    Uncompiled, the softmax is :func:`torch.softmax` of the float32 logits and the
    log-sum-exp is read off each row's largest probability. Against autograd through
    ``logsumexp`` and a gather, on 20 Newsgroups at 32 bits (median epoch of 8, two runs
    each): 1.35-1.37 -> 1.03-1.14 s on one thread, 0.79-0.97 -> 0.70-0.77 s on two. With
    ``skhash.set_config(torch_compile=True)`` on the CPU, :func:`softmax_parts` and
    :func:`scale_rows` run compiled instead: they read bfloat16 logits directly and fuse
    the passes around the exponential (a decoder forward and backward pass on 200 ng20
    documents, one thread: 4.9-5.0 -> 4.0-4.3 ms in bfloat16).
    """

    @staticmethod
    def forward(ctx, logits, rows, columns, weights, workspace=None):
        ctx.logits_dtype = logits.dtype
        ctx.fused = _softmax_parts.active(logits)
        ctx.workspace = workspace
        n_features = logits.shape[1]
        flat = rows * n_features + columns
        loss_dtype = _loss_dtype(logits.dtype)
        # index_select/index_copy_ rather than [flat]: the same elements, about three
        # times faster on the CPU for the ~60,000 targets of a batch with smoothed targets
        picked = logits.reshape(-1).index_select(0, flat).to(loss_dtype)
        if ctx.fused:
            probs, peak, sums = _softmax_parts(logits)  # probs: not yet divided by sums
            lse = peak + sums.log()
        else:
            # One fused softmax kernel (about 2.6x faster on one core than max, subtract,
            # exp, sum, divide as separate passes). The log-sum-exp comes out of it: at a
            # row's largest logit the softmax is exp(0) / sum, so lse = peak - log(max p).
            if workspace is None:
                logits = logits.to(loss_dtype)
                probs = torch.softmax(logits, dim=1)
            else:
                if logits.dtype != loss_dtype:
                    logits = workspace.take("logits_wide", logits.shape, loss_dtype,
                                            logits.device).copy_(logits)
                probs = workspace.take("probs", logits.shape, loss_dtype, logits.device)
                torch.ops.aten._softmax.out(logits, 1, False, out=probs)
            lse = logits.amax(dim=1) - probs.amax(dim=1).log()
            sums = None  # already divided
        totals, weighted = target_row_sums(logits, rows, flat, weights, picked,
                                           dense=logits.is_cuda)
        ctx.save_for_backward(probs, sums, totals, flat, rows, weights)
        return totals * lse - weighted

    @staticmethod
    def backward(ctx, grad_out):
        probs, sums, totals, flat, rows, weights = ctx.saved_tensors
        if not ctx.fused:
            workspace = ctx.workspace
            grad = logits_gradient(probs, grad_out, totals, flat, rows, weights,
                                   in_place=workspace is not None)
            if workspace is None or grad.dtype == ctx.logits_dtype:
                return grad.to(ctx.logits_dtype), None, None, None, None
            narrow = workspace.take("grad", grad.shape, ctx.logits_dtype, grad.device)
            return narrow.copy_(grad), None, None, None, None
        scale = grad_out * totals / sums
        grad = _scale_rows(probs, scale, ctx.logits_dtype)
        # the targets' positions get their whole gradient, rounded once like the rest
        at_targets = (probs.reshape(-1).index_select(0, flat) * scale.index_select(0, rows)
                      - grad_out.index_select(0, rows) * weights)
        grad.reshape(-1).index_copy_(0, flat, at_targets.to(grad.dtype))
        return grad, None, None, None, None


def logits_gradient(probs, grad_out, totals, flat, rows, weights, in_place):
    """The gradient of the loss with respect to the logits, ``g * (totals * softmax - t)``
    per row, from the (normalised) softmax ``probs`` and the sparse targets (``flat``
    positions, their ``rows`` and ``weights``). ``in_place`` writes it over ``probs``
    (training, where the one backward pass is the last to read the softmax)."""
    scale = (grad_out * totals).unsqueeze(1)
    grad = probs.mul_(scale) if in_place else probs * scale
    # each position of ``flat`` occurs once: one add per element, in any order
    grad.reshape(-1).index_add_(0, flat, -grad_out.index_select(0, rows) * weights)
    return grad


def target_row_sums(logits, rows, flat, weights, picked, dense=False):
    """Per row: the sum of the target weights, and of weight times picked logit.

    ``dense=False`` adds each target into its row with ``index_add_``, which on the CPU
    runs in a fixed order. On CUDA it adds with atomics in no fixed order, and two fits
    with the same seed drifted apart (an H200, 2026-11-28: loss curves differed from the
    7th epoch); ``dense=True``, used there, spreads the batch's targets over a matrix
    shaped like ``logits`` (each (row, column) pair at most once, so no two writes meet) and
    takes ordinary row sums, which are deterministic. The sums have ``picked``'s dtype
    (the loss's, where the logits are bfloat16).
    """
    if not dense:
        totals = torch.zeros(logits.shape[0], dtype=picked.dtype, device=logits.device)
        totals.index_add_(0, rows, weights)
        weighted = torch.zeros_like(totals).index_add_(0, rows, picked * weights)
        return totals, weighted
    targets = torch.zeros_like(logits, dtype=picked.dtype)
    targets.view(-1)[flat] = weights
    return targets.sum(dim=1), (targets * logits).sum(dim=1)


class NASHNetwork(nn.Module):
    """Encoder-decoder of NASH (Shen et al., ACL 2018) for sparse bag-of-words input.

    Parameters
    ----------
    n_features : int
        Vocabulary size.
    n_bits : int
        Number of Bernoulli code bits.
    hidden_layer_sizes : tuple of int
        Widths of the encoder's ReLU layers (at least one).
    noise : {"none", "fixed", "data"}
        What is added to the sampled code before decoding: nothing (NASH), Gaussian noise
        of standard deviation ``noise_std`` (NASH-N), or Gaussian noise whose standard
        deviation the encoder predicts per document and bit (NASH-DN).
    noise_std : float
        Standard deviation of the fixed noise, and the initial one of the learned noise.
    n_outputs : int, default=0
        If positive, a linear classifier on the code is added (the supervised model).
    n_decoded : int, optional
        Size of the decoder's vocabulary, where it reconstructs fewer words than the
        encoder reads (default: ``n_features``).
    """

    def __init__(self, n_features, n_bits, hidden_layer_sizes, noise, noise_std, n_outputs=0,
                 n_decoded=None):
        super().__init__()
        self.n_bits = n_bits
        self.noise = noise
        self.noise_std = noise_std
        self.encoder = DocumentEncoder(n_features, hidden_layer_sizes)
        width = self.encoder.n_outputs
        self.code_logits = nn.Linear(width, n_bits)
        if noise == "data":
            self.noise_head = nn.Linear(width, n_bits)
            # Start the learned standard deviation at noise_std (softplus^-1).
            nn.init.zeros_(self.noise_head.weight)
            nn.init.constant_(self.noise_head.bias, math.log(math.expm1(noise_std)))
        self.decoder = SoftmaxDecoder(n_bits, n_features if n_decoded is None else n_decoded)
        self.classifier = nn.Linear(n_bits, n_outputs) if n_outputs else None

    def encode(self, batch):
        """Hidden features and code probabilities of a batch, shape (n_rows, n_bits)."""
        h = self.encoder(batch)
        return h, torch.sigmoid(self.code_logits(h).float())

    def codes(self, batch):
        """The deterministic code's per-bit score: the probability, compared with 0.5."""
        return self.encode(batch)[1]

    def decoder_input(self, h, z, generator=None):
        """The code as the decoder sees it in training, and the noise channel's rate.

        Returns ``z`` plus the variant's Gaussian noise, and per document the nats that
        the noisy channel carries, ``sum_j 0.5 * log(1 + 0.25 / std_j**2)`` (the capacity
        of a Gaussian channel for a 0/1 signal of variance 1/4), charged only where the
        encoder chooses the noise ("data"): otherwise the reconstruction alone would
        drive the learned noise to zero.
        """
        zero = torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
        if self.noise == "none":
            return z, zero
        eps = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
        if self.noise == "fixed":
            return z + self.noise_std * eps, zero
        std = F.softplus(self.noise_head(h).float()) + 1e-4
        rate = 0.5 * torch.log1p(0.25 / std.square()).sum(dim=1)
        return z + std * eps, rate

    def forward(self, batch, generator=None, sample=True):
        """Per-document reconstruction NLL, KL, codes' probabilities and label logits.

        With ``sample=False`` the code is the deterministic one (probability > 0.5) and no
        noise is added: this is the plug-in objective used for scoring.
        """
        h, probs = self.encode(batch)
        if sample:
            z = straight_through_bernoulli(probs, generator)
            z_dec, rate = self.decoder_input(h, z, generator)
        else:
            z = z_dec = (probs > 0.5).to(probs.dtype)
            rate = 0.0
        nll = self.decoder(z_dec, batch)
        kl = bernoulli_kl(probs) + rate
        label_logits = None if self.classifier is None else self.classifier(z).float()
        return nll, kl, probs, label_logits
