"""Regions: a style's statistics matched only where its mask is (issue 22.1).

Gatys, Ecker, Hertzmann, Shechtman and Bethge, "Controlling Perceptual Factors in Neural
Style Transfer" (2017), guided Gram matrices. A mask m is a greyscale image at the content's
size with values in 0..1 (white: this style, black: none, grey: part); at each layer it is
resized to the layer's feature size (`mask_at`) and taken as a weight per position p:

    area = sum_p m_p,  mu = sum_p m_p f_p / area,  G = sum_p m_p f_p f_p^T / area,
    S = sum_p m_p (f_p - mu)(f_p - mu)^T / area,

the per-position mean, Gram and covariance of the activations under the mask (the paper's
F * m with F's Gram divided by the area, for a black-and-white mask; with the weight m rather
than m^2 a uniform grey gives the plain statistics, so grey blends two styles). An all-white
mask gives the plain statistics of nst_engine/method/statistics.py.

Each style's loss term is then multiplied by its mask's coverage (the mean of m): the content
loss counts over the whole picture, so a region a quarter of it gets a quarter of the style
term and keeps the balance of content and style a full run has. Where no mask covers the
picture nothing pulls toward a style: content loss and TV alone act there.

No import of statistics.py (it imports this module for the guided forms).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Below this area a mask counts as empty (its statistics are then 0, and so is its term).
EMPTY_AREA = 1e-12


def mask_at(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """A mask (1 x 1 x H x W, values 0..1) at `size` (height, width): averaged over each new
    position's area when smaller, bilinear when larger, so its values stay in 0..1."""
    if tuple(mask.shape[-2:]) == tuple(size):
        return mask
    if size[0] <= mask.shape[-2] and size[1] <= mask.shape[-1]:
        resized = F.interpolate(mask, size=size, mode="area")
    else:
        resized = F.interpolate(mask, size=size, mode="bilinear", align_corners=False)
    return resized.clamp(0.0, 1.0)


def _weights(features: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The activations as N x M and the mask as M weights (at the activations' size)."""
    channels, positions = features.shape[1], features.shape[-2] * features.shape[-1]
    return features.reshape(channels, positions), mask.reshape(positions)


def guided_moments(features: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean (N) and Gram (N x N) of activations (1, N, H, W) weighted by `mask` (at H x W)
    and divided by its area; an all-white mask gives exactly F F^T / M (the plain Gram)."""
    flat, weights = _weights(features, mask)
    area = weights.sum().clamp_min(EMPTY_AREA)
    weighted = flat * weights
    return weighted.sum(dim=1) / area, weighted @ flat.T / area


def guided_mean_and_covariance(
    features: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean (N) and covariance (N x N) of activations (1, N, H, W) weighted by `mask`."""
    flat, weights = _weights(features, mask)
    area = weights.sum().clamp_min(EMPTY_AREA)
    mean = (flat * weights).sum(dim=1) / area
    centred = flat - mean[:, None]
    return mean, (centred * weights) @ centred.T / area


class StyleLossSum(nn.Module):
    """Several styles' losses at one layer, each under its own mask: the sum of their terms."""

    def __init__(self, losses: list[nn.Module]) -> None:
        super().__init__()
        self.losses = nn.ModuleList(losses)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return sum((loss(features) for loss in self.losses), features.new_zeros(()))


def masked_style_losses(
    loss_class,
    each: list[dict[str, tuple[torch.Tensor, torch.Tensor]]],
    masks: list[torch.Tensor],
    layer_sizes: dict[str, tuple[int, int]],
    layer_weights: dict[str, float],
    blend: tuple[float, ...],
    normalized: bool,
) -> dict[str, StyleLossSum]:
    """Per layer, one loss per style image toward its own (unblended) moments, matched under
    its mask at the layer's size. `each[i][layer]`: style image i's mean and Gram; `blend`
    (shares summing to 1) scales style i's term by blend_i * count: 1 for equal shares."""
    count = len(each)
    if len(masks) != count:
        raise ValueError(f"{len(masks)} masks for {count} style images")
    return {
        name: StyleLossSum(
            [
                loss_class.from_moments(
                    *moments[name],
                    weight * share * count,
                    normalized,
                    mask=mask_at(mask, layer_sizes[name]),
                )
                for moments, mask, share in zip(each, masks, blend, strict=True)
            ]
        )
        for name, weight in layer_weights.items()
    }
