"""The losses of Gatys, Ecker and Bethge, one small module per idea.

Notation (per layer l): F is the layer's activation reshaped to N x M (N feature maps,
M = height * width positions), G = F F^T its Gram matrix.

- Content:  E_l = 1/M * sum (F_out - F_content)^2.  The paper uses 1/2 instead of 1/M; like
  the 2022 reference we divide by M, which keeps the term comparable across image sizes.
- Style:    E_l = 1/(4 M^2) * sum (G_out - G_style)^2.  The paper's 1/(4 N^2 M^2) loses its
  N^2, as in the 2022 reference; a layer's weight can bring it back (weight / N^2).
- Totals:   L_content = sum_l w_l E_l over content layers, L_style likewise over style layers.
- TV:       L_tv = w * sqrt(sum over pixels of |grad I|^2), forward differences.
- L = L_style + L_content + L_tv.

Pixel scale: L_tv sees the optimised image in 0-255 RGB. The feature terms see activations
of the network fed through its weights' preprocessing: for the oxford weights that is
Caffe's 0-255 BGR, mean-subtracted (activations in the hundreds); for torchvision weights
ImageNet mean/std (activations roughly 50 times smaller, so the same loss weights give a
different balance: presets are tuned for the oxford weights).
"""

from __future__ import annotations

import torch
from torch import nn

from nst_engine.features import FeatureExtractor


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """G = F F^T for activations of shape (1, N, H, W); returns N x N."""
    _, channels, height, width = features.shape
    flat = features.reshape(channels, height * width)
    return flat @ flat.T


class ContentLoss(nn.Module):
    """w * 1/M * sum (F - F_content)^2 for one layer."""

    def __init__(self, target: torch.Tensor, weight: float) -> None:
        super().__init__()
        self.register_buffer("target", target.detach())
        self.weight = weight

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        positions = features.shape[-2] * features.shape[-1]
        return self.weight * (features - self.target).pow(2).sum() / positions


class StyleLoss(nn.Module):
    """w * 1/(4 M^2) * sum (G - G_style)^2 for one layer."""

    def __init__(self, style_features: torch.Tensor, weight: float) -> None:
        super().__init__()
        style_positions = style_features.shape[-2] * style_features.shape[-1]
        # The style image is resized on its own, so its M can differ from the output's.
        # G grows with M; we keep the style Gram per position and scale it to the output's M
        # in forward. With equal sizes this is exactly the formula above (the paper assumes
        # equal sizes and says nothing about this case).
        self.register_buffer(
            "target_per_position", gram_matrix(style_features.detach()) / style_positions
        )
        self.weight = weight

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        positions = features.shape[-2] * features.shape[-1]
        difference = gram_matrix(features) - self.target_per_position * positions
        return self.weight * difference.pow(2).sum() / (4 * positions**2)


class TotalVariationLoss(nn.Module):
    """w * sqrt(sum over pixels of (I[x+1, y] - I[x, y])^2 + (I[x, y+1] - I[x, y])^2)."""

    # Keeps the gradient of sqrt finite on a perfectly flat image (where the sum is 0).
    EPSILON = 1e-12

    def __init__(self, weight: float) -> None:
        super().__init__()
        self.weight = weight

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        across = image[..., :-1, 1:] - image[..., :-1, :-1]
        down = image[..., 1:, :-1] - image[..., :-1, :-1]
        return self.weight * torch.sqrt((across.pow(2) + down.pow(2)).sum() + self.EPSILON)


class Network:
    """The feature extractor as the losses call it: in bf16 or in float32.

    Under bf16 the network runs in autocast and its features come back as float32, so Gram
    matrices and losses are computed in float32. Targets go through the same path as the
    image being optimised: its optimum stays reachable exactly.
    """

    def __init__(self, extractor: FeatureExtractor, bf16: bool = False) -> None:
        self.extractor = extractor
        self.bf16 = bf16

    def __call__(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """The activations of an image in 0-255 RGB."""
        scaled = image / 255
        if not self.bf16:
            return self.extractor(scaled)
        # No weight cache: a cache filled during a CUDA graph capture would not be replayed.
        with torch.autocast(image.device.type, dtype=torch.bfloat16, cache_enabled=False):
            features = self.extractor(scaled)
        return {name: value.float() for name, value in features.items()}


class StyleTransferLoss(nn.Module):
    """All terms for an image in 0-255 RGB; returns the parts and their sum, on the device."""

    def __init__(
        self,
        network: Network,
        content_losses: dict[str, ContentLoss],
        style_losses: dict[str, StyleLoss],
        tv_weight: float,
    ) -> None:
        super().__init__()
        self.network = network
        self.content_losses = nn.ModuleDict(content_losses)
        self.style_losses = nn.ModuleDict(style_losses)
        self.total_variation = TotalVariationLoss(tv_weight)

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.network(image)
        zero = image.new_zeros(())
        content = sum((loss(features[name]) for name, loss in self.content_losses.items()), zero)
        style = sum((loss(features[name]) for name, loss in self.style_losses.items()), zero)
        tv = self.total_variation(image) if self.total_variation.weight > 0 else zero
        return {"content": content, "style": style, "tv": tv, "total": content + style + tv}


def build_loss(
    network: Network | FeatureExtractor,
    content_image: torch.Tensor,
    style_image: torch.Tensor,
    content_layers: tuple[tuple[str, float], ...],
    style_layers: tuple[tuple[str, float], ...],
    tv_weight: float,
) -> StyleTransferLoss:
    """The loss with its targets computed once from the content and style images (0-255 RGB)."""
    if isinstance(network, FeatureExtractor):
        network = Network(network)
    with torch.no_grad():
        content_features = network(content_image)
        style_features = network(style_image)
    content_losses = {
        name: ContentLoss(content_features[name], weight) for name, weight in content_layers
    }
    style_losses = {name: StyleLoss(style_features[name], weight) for name, weight in style_layers}
    return StyleTransferLoss(network, content_losses, style_losses, tv_weight)
