"""The losses of Gatys, Ecker and Bethge, one small module per idea.

Notation (per layer l): F is the layer's activation reshaped to N x M (N feature maps,
M = height * width positions); style statistics are in nst_engine/method/statistics.py.

Two scales (the `loss_scale` setting):

- `raw`, the 2022 reference's formulas exactly:
  - Content: E_l = 1/M * sum (F_out - F_content)^2 (the paper has 1/2; 1/M keeps the term
    comparable across image sizes).
  - Style (Gram): E_l = 1/(4 M^2) * sum (G_out - G_style)^2 with G = F F^T (the paper's
    1/(4 N^2 M^2) loses its N^2, as in the 2022 reference).
  - TV: w * sqrt(sum over pixels of |grad I|^2), forward differences (every pair of
    adjacent pixels, the last row and column included), in 0-255.
  - L = sum_l w_l E_l (content) + style_weight * sum_l w_l E_l (style) + TV.
  The terms are raw sums: activations in the hundreds make style terms up to 1e16, so
  layer weights are tiny and only fit the weights and sizes they were tuned at.
- `normalized`, nst-tui's own: each term is divided by a magnitude of its own target, so it
  is about 1 for an image unlike the target and 0 at a match:
  - Content: mean (F_out - F_content)^2 / mean F_content^2.
  - Style: see nst_engine/method/statistics.py (divided by the target statistic's size).
  - TV: mean |grad I|^2 / mean |grad C|^2, C the content image: 1 is as rough as the photo.
  - Each group's layer weights are shares (divided by their sum), so
    L = content + style_weight * style + tv_weight * TV, and `style_weight` is the ratio.
  Scaling a network's activations by any factor leaves every term as it was, and the terms
  are means, so a preset gives the same balance with any weights and at any size.

Pixel scale: the TV term sees the optimised image in 0-255 RGB; the feature terms see
activations of the network fed through its weights' preprocessing (nst_engine/method/weights.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nst_engine.method.features import FeatureExtractor
from nst_engine.method.regions import masked_style_losses
from nst_engine.method.statistics import (  # noqa: F401 (gram_matrix re-exported)
    STYLE_LOSS_CLASSES,
    StyleLoss,
    blended_moments,
    gram_matrix,
    moments,
)


class ContentLoss(nn.Module):
    """w * 1/M * sum (F - F_content)^2 for one layer; normalised: w * relative squared error."""

    def __init__(self, target: torch.Tensor, weight: float, normalized: bool = False) -> None:
        super().__init__()
        target = target.detach()
        self.register_buffer("target", target)
        self.weight = weight
        # raw: sum / M = mean * N; normalised: mean / mean(target^2).
        scale = 1 / target.pow(2).mean().clamp_min(1e-30) if normalized else target.shape[1]
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.weight * self.scale * (features - self.target).pow(2).mean()


def squared_gradients(image: torch.Tensor) -> torch.Tensor:
    """(I[x+1, y] - I[x, y])^2 + (I[x, y+1] - I[x, y])^2 at every pixel, a difference past
    the last row or column counting as 0 (the edge continued, as replicate padding does).

    Every pair of adjacent pixels is in it once. The 2022 formula's usual code took the
    differences over the (H-1) x (W-1) overlap only: the last column's down and the last
    row's across differences were left out, nothing smoothed them, and results had a dotted
    last column and a lone bright bottom-right pixel (issue 18).
    """
    across = F.pad(image[..., :, 1:] - image[..., :, :-1], (0, 1))
    down = F.pad(image[..., 1:, :] - image[..., :-1, :], (0, 0, 0, 1))
    return across.pow(2) + down.pow(2)


class TotalVariationLoss(nn.Module):
    """raw: w * sqrt(sum of squared_gradients); normalised: w * their mean over the content's.

    `content`: the content image, whose own roughness is the normalised term's unit (a
    flat content image counts as one grey level of roughness per pixel).
    """

    # Keeps the gradient of sqrt finite on a perfectly flat image (where the sum is 0).
    EPSILON = 1e-12

    def __init__(self, weight: float, content: torch.Tensor | None = None) -> None:
        super().__init__()
        self.weight = weight
        self.normalized = content is not None
        if content is not None:
            roughness = squared_gradients(content.detach()).mean().clamp_min(1.0)
            self.register_buffer("scale", 1 / roughness)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        gradients = squared_gradients(image)
        if self.normalized:
            return self.weight * self.scale * gradients.mean()
        return self.weight * torch.sqrt(gradients.sum() + self.EPSILON)


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
        style_losses: dict[str, nn.Module],  # a StyleLoss, or one per masked style image
        total_variation: TotalVariationLoss | float,
    ) -> None:
        super().__init__()
        self.network = network
        self.content_losses = nn.ModuleDict(content_losses)
        self.style_losses = nn.ModuleDict(style_losses)
        if not isinstance(total_variation, TotalVariationLoss):
            total_variation = TotalVariationLoss(total_variation)
        self.total_variation = total_variation

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
    style_image: torch.Tensor | list[torch.Tensor],
    content_layers: tuple[tuple[str, float], ...],
    style_layers: tuple[tuple[str, float], ...],
    tv_weight: float,
    *,
    blend: tuple[float, ...] | None = None,
    style_weight: float = 1.0,
    normalized: bool = False,
    statistic: str = "gram",
    masks: list[torch.Tensor] | None = None,
) -> StyleTransferLoss:
    """The loss with its targets computed once from the content and style images (0-255 RGB).

    `style_image`: one image or several, blended by `blend` (shares summing to 1; equal when
    None). Normalised, each group's layer weights are divided by their sum. `masks`: one per
    style image (1 x 1 x H x W at the content's size, 0..1): each style is then matched only
    under its own mask, not blended (nst_engine/method/regions.py).
    """
    if isinstance(network, FeatureExtractor):
        network = Network(network)
    styles = style_image if isinstance(style_image, list) else [style_image]
    blend = blend or tuple(1 / len(styles) for _ in styles)
    # Normalised, each list's weights are shares; the style list is then scaled as a whole.
    content_scale = 1 / sum(w for _, w in content_layers) if normalized else 1.0
    style_scale = style_weight / (sum(w for _, w in style_layers) if normalized else 1.0)
    with torch.no_grad():
        content_features = network(content_image)
        each = [network(style) for style in styles]
        each_moments = [
            {name: moments(features[name]) for name, _ in style_layers} for features in each
        ]
        # Where each layer's mask is resized to: the output's features, as the content's.
        layer_sizes = {name: tuple(content_features[name].shape[-2:]) for name, _ in style_layers}
    del each
    content_losses = {
        name: ContentLoss(content_features[name], weight * content_scale, normalized)
        for name, weight in content_layers
    }
    loss_class = STYLE_LOSS_CLASSES[statistic]
    layer_weights = {name: weight * style_scale for name, weight in style_layers}
    if masks:
        style_losses = masked_style_losses(
            loss_class, each_moments, masks, layer_sizes, layer_weights, blend, normalized
        )
    else:
        style_losses = {
            name: loss_class.from_moments(
                *blended_moments([own[name] for own in each_moments], blend), weight, normalized
            )
            for name, weight in layer_weights.items()
        }
    total_variation = TotalVariationLoss(tv_weight, content_image if normalized else None)
    return StyleTransferLoss(network, content_losses, style_losses, total_variation)


def loss_for(
    config,
    network: Network,
    content: torch.Tensor,
    styles: list[torch.Tensor],
    masks: list[torch.Tensor] | None = None,
) -> StyleTransferLoss:
    """The loss a run with `config` (a RunConfig) optimises, for these images (and the style
    masks at the content's size, where the run has them)."""
    return build_loss(
        network,
        content,
        styles,
        config.active_content_layers,
        config.active_style_layers,
        config.look.tv_weight,
        blend=config.blend if len(styles) > 1 else None,
        style_weight=config.look.style_weight,
        normalized=config.look.loss_scale == "normalized",
        statistic=config.look.style_loss,
        masks=masks,
    )
