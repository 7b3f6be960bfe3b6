"""A Gaussian-latent document VAE (VDSH, Chaidaroon & Fang, SIGIR 2017) in plain torch.

It shares NASH's sparse encoder and softmax decoder (:mod:`skhash.nash._network`); only
the latent layer differs: a diagonal Gaussian with a closed-form KL to N(0, I), sampled
with the reparameterisation trick. Binary codes come afterwards, by thresholding the
latent means (the estimator's business).
"""

import torch
from torch import nn

from ._network import DocumentEncoder, SoftmaxDecoder


class GaussianVAENetwork(nn.Module):
    """Encoder-decoder with a Gaussian latent of ``n_latent`` dimensions.

    Parameters
    ----------
    n_features : int
        Vocabulary size.
    n_latent : int
        Latent dimensions (one per code bit).
    hidden_layer_sizes : tuple of int
        Widths of the encoder's ReLU layers (at least one).
    """

    def __init__(self, n_features, n_latent, hidden_layer_sizes):
        super().__init__()
        self.n_bits = n_latent
        self.encoder = DocumentEncoder(n_features, hidden_layer_sizes)
        self.mean = nn.Linear(self.encoder.n_outputs, n_latent)
        self.log_var = nn.Linear(self.encoder.n_outputs, n_latent)
        self.decoder = SoftmaxDecoder(n_latent, n_features)

    def codes(self, batch):
        """The latent means, which the estimator cuts at their training medians."""
        return self.mean(self.encoder(batch))

    def forward(self, batch, generator=None, sample=True):
        """Per-document reconstruction NLL, KL to N(0, I), latent means, no label logits.

        With ``sample=False`` the decoder gets the mean itself.
        """
        h = self.encoder(batch)
        mean = self.mean(h).float()
        log_var = self.log_var(h).float().clamp(-10.0, 10.0)
        if sample:
            eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
            z = mean + torch.exp(0.5 * log_var) * eps
        else:
            z = mean
        nll = self.decoder(z, batch)
        kl = 0.5 * (mean.square() + log_var.exp() - 1.0 - log_var).sum(dim=1)
        return nll, kl, mean, None
