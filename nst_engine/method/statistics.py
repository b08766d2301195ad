"""Style statistics: what of a layer's activations the style loss matches.

Notation (per layer): F is the activation reshaped to N x M (N feature maps, M positions).
Every statistic here is per position, so style images of any size compare with any output:

- Gram:  G = F F^T / M, the maps' second moments.
- W2:    the mean mu = F 1 / M and covariance S = G - mu mu^T of the activations taken as a
  Gaussian; the loss is the squared 2-Wasserstein distance between two such Gaussians,
      |mu - mu_s|^2 + tr(S) + tr(S_s) - 2 tr((S_s^1/2 S S_s^1/2)^1/2),
  the statistic crowsonkb's style-transfer-pytorch moved to: it matches the mean that Gram
  mixes into the second moments, and its square root keeps strong and weak maps in balance.

Several style images blend as the union of their activations, each image's first brought to
one size (`blended_moments`): the per-position Gram and mean of that union, weighted by the
blend, and the W2 target's covariance follows from those two.

Scales (`normalized` or raw): raw Gram is the 2022 formula, 1/(4 M^2) sum (F F^T - G_s M)^2
= 1/4 sum (G - G_s)^2; normalised, each layer's term is divided by the size of its target
(sum G_s^2 for Gram, tr(G_s) = |mu_s|^2 + tr(S_s) for W2), so it is about 1 for an image
unlike the style and 0 at a match, whatever the weights' activation scale.
"""

from __future__ import annotations

import torch
from torch import nn

from nst_engine.method.regions import guided_mean_and_covariance, guided_moments
from nst_engine.optimise.precision import float32_matmuls

# Eigenvalues below this share of the target's mean eigenvalue count as 0 (their square
# root's gradient would otherwise be unbounded).
EIGENVALUE_FLOOR = 1e-8


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """G = F F^T for activations of shape (1, N, H, W); returns N x N (not per position)."""
    _, channels, height, width = features.shape
    flat = features.reshape(channels, height * width)
    return flat @ flat.T


def moments(
    features: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The per-position mean (N) and Gram matrix (N x N) of activations (1, N, H, W); with a
    `mask` (at H x W), the guided ones (nst_engine/method/regions.py)."""
    if mask is not None:
        return guided_moments(features, mask)
    positions = features.shape[-2] * features.shape[-1]
    flat = features.reshape(features.shape[1], positions)
    return flat.mean(dim=1), gram_matrix(features) / positions


def blended_moments(
    each: list[tuple[torch.Tensor, torch.Tensor]], blend: tuple[float, ...]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean and Gram of several style images' activations taken together, by blend.

    Each image's activations are first divided by their root mean square r_i = sqrt(tr G_i / N)
    and the pool multiplied by the blend's, r = sum_i w_i r_i:
        mu = r sum_i w_i mu_i / r_i,   G = r^2 sum_i w_i G_i / r_i^2.
    Pooled as they came, the image with the larger activations took the target, and the loss
    with it: Starry Night's are 1.2-1.6 times The Great Wave's at every style layer, and an
    even blend of the two landed near Starry Night (issue 18). One image is its own target.
    """
    if len(each) == 1:
        return each[0]
    sizes = [(gram.trace() / gram.shape[0]).sqrt().clamp_min(1e-30) for _, gram in each]
    size = sum(share * own for share, own in zip(blend, sizes, strict=True))
    mean = size * sum(
        share * m / own for share, (m, _), own in zip(blend, each, sizes, strict=True)
    )
    gram = size**2 * sum(
        share * g / own**2 for share, (_, g), own in zip(blend, each, sizes, strict=True)
    )
    return mean, gram


class StyleLoss(nn.Module):
    """Gram: w * 1/(4 M^2) * sum (G - G_style)^2, or normalised (see the module's notes).

    Built from one style image's activations, or from blended moments (`from_moments`).
    With a `mask` (1 x 1 x H x W at the layer's size, 0..1) the output's statistics are the
    guided ones under it and the term is multiplied by the mask's coverage
    (nst_engine/method/regions.py); without one, the plain statistics of the whole image.
    """

    def __init__(
        self,
        style_features: torch.Tensor | None,
        weight: float,
        normalized: bool = False,
        mask: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.weight = weight
        self.normalized = normalized
        self.register_buffer("mask", None if mask is None else mask.detach())
        self.register_buffer("coverage", None if mask is None else mask.detach().mean())
        if style_features is not None:
            self._set_target(*moments(style_features.detach()))

    @classmethod
    def from_moments(
        cls,
        mean: torch.Tensor,
        gram: torch.Tensor,
        weight: float,
        normalized: bool,
        mask: torch.Tensor | None = None,
    ) -> StyleLoss:
        loss = cls(None, weight, normalized, mask)
        loss._set_target(mean.detach(), gram.detach())
        return loss

    def _covered(self, term: torch.Tensor) -> torch.Tensor:
        """The term as the loss counts it: times the mask's coverage, if there is a mask."""
        return term if self.coverage is None else term * self.coverage

    def _set_target(self, mean: torch.Tensor, gram: torch.Tensor) -> None:
        self.register_buffer("target_per_position", gram)
        scale = 1 / gram.pow(2).sum().clamp_min(1e-30) if self.normalized else torch.tensor(0.25)
        self.register_buffer("scale", scale.to(gram.device))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if self.mask is None:
            positions = features.shape[-2] * features.shape[-1]
            gram = gram_matrix(features) / positions
        else:
            _, gram = guided_moments(features, self.mask)
        difference = gram - self.target_per_position
        return self._covered(self.weight * self.scale * difference.pow(2).sum())


def _square_root(matrix: torch.Tensor, floor: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp_min(floor).sqrt()) @ vectors.T


# Newton-Schulz steps for tr(A^1/2): matrix products only, so no host sync (a CUDA graph
# can hold it). Each step takes an eigenvalue lambda of A / |A|_F about 2.25 times closer
# to 1 until it converges; those that have not (below about 2.25^-steps of the largest)
# count less than their square roots, which the floor of the eigenvalue route drops anyway.
NEWTON_SCHULZ_STEPS = 20


def trace_of_square_root_eigvalsh(matrix: torch.Tensor, floor: torch.Tensor) -> torch.Tensor:
    """tr(A^1/2) of a symmetric PSD matrix from its eigenvalues, in float64 (a host sync)."""
    # In float64: the distance is a difference of traces of similar size, which float32
    # eigenvalues leave about 1e-3 off (the matrix is at most 512 x 512).
    eigenvalues = torch.linalg.eigvalsh(matrix.double())
    return eigenvalues.clamp_min(floor).sqrt().sum().to(matrix.dtype)


def trace_of_square_root_newton_schulz(
    matrix: torch.Tensor, steps: int | None = None
) -> torch.Tensor:
    """tr(A^1/2) of a symmetric PSD matrix by coupled Newton-Schulz steps, in its own type.

    Y_0 = A / |A|_F, Z_0 = I; T = (3 I - Z Y) / 2, Y <- Y T, Z <- T Z; Y tends to
    (A / |A|_F)^1/2 and Z to its inverse (Higham, Functions of Matrices, 6.3). The matrix
    products run at full float32 precision (not TF32) wherever the caller allows TF32.
    """
    steps = NEWTON_SCHULZ_STEPS if steps is None else steps
    size = matrix.shape[0]
    norm = torch.linalg.matrix_norm(matrix).clamp_min(1e-30)
    eye = torch.eye(size, dtype=matrix.dtype, device=matrix.device)
    with float32_matmuls(matrix.device, tf32=False):
        y, z = matrix / norm, eye
        for _ in range(steps):
            t = 1.5 * eye - 0.5 * (z @ y)
            y, z = y @ t, t @ z
    return y.diagonal().sum() * norm.sqrt()


class WassersteinStyleLoss(StyleLoss):
    """w * W2^2 between the activations' Gaussian and the style's (see the module's notes).

    `square_root`: how tr((S_s^1/2 S S_s^1/2)^1/2) is found: "eigvalsh" (float64 eigenvalues:
    exact, but a host sync), "newton-schulz" (float32 products only, within about 1e-3 of it,
    benchmarks/w2_square_root.py), or "auto": Newton-Schulz on CUDA, where a run's iteration
    is captured in a CUDA graph, eigenvalues elsewhere.
    """

    square_root = "auto"

    def _newton_schulz(self, device: torch.device) -> bool:
        if self.square_root == "auto":
            return device.type == "cuda"
        return self.square_root == "newton-schulz"

    def _set_target(self, mean: torch.Tensor, gram: torch.Tensor) -> None:
        covariance = gram - torch.outer(mean, mean)
        channels = covariance.shape[0]
        floor = EIGENVALUE_FLOOR * covariance.trace().clamp_min(1e-30) / channels
        self.register_buffer("mean", mean)
        self.register_buffer("covariance_trace", covariance.trace())
        self.register_buffer("root", _square_root(covariance, floor))
        # The product S_s^1/2 S S_s^1/2 is of the covariances' size squared.
        self.register_buffer("floor", floor * covariance.trace().clamp_min(1e-30) / channels)
        # tr(G_s) = |mu_s|^2 + tr(S_s): the distance from an all-zero image.
        scale = 1 / gram.trace().clamp_min(1e-30) if self.normalized else torch.tensor(1.0)
        self.register_buffer("scale", scale.to(gram.device))

    def _mean_and_covariance(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.mask is not None:
            return guided_mean_and_covariance(features, self.mask)
        positions = features.shape[-2] * features.shape[-1]
        flat = features.reshape(features.shape[1], positions)
        mean = flat.mean(dim=1)
        centred = flat - mean[:, None]
        return mean, centred @ centred.T / positions

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        mean, covariance = self._mean_and_covariance(features)
        product = self.root @ covariance @ self.root
        product = (product + product.T) / 2  # symmetric to rounding: eigvalsh reads one half
        if self._newton_schulz(product.device):
            cross = trace_of_square_root_newton_schulz(product)
        else:
            cross = trace_of_square_root_eigvalsh(product, self.floor)
        distance = (
            (mean - self.mean).pow(2).sum() + covariance.trace() + self.covariance_trace - 2 * cross
        )
        return self._covered(self.weight * self.scale * distance)


STYLE_LOSS_CLASSES: dict[str, type[StyleLoss]] = {
    "gram": StyleLoss,
    "w2": WassersteinStyleLoss,
}
