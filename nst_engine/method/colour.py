"""Colour control: keep the content photo's colours while taking the style's strokes.

Two ways, after Gatys, Bethge, Hertzmann and Shechtman, "Preserving Color in Neural Artistic
Style Transfer" (2016):

- `luminance`: the run sees only brightness. Content and style become grey (their luma Y,
  in all three channels), the style's Y matched to the content's mean and spread; what is
  saved and previewed is the result's Y with the content's own chroma (Cb, Cr) put back.
- `histogram`: before the run, the style image's colours are moved onto the content's
  distribution (same mean and covariance of RGB), so the style brings strokes, not hues.

Colour space: full-range YCbCr of JPEG (ITU-R BT.601 luma), on tensors 1x3xHxW in 0-255.
"""

from __future__ import annotations

import torch

# Rows: Y, Cb, Cr from R, G, B (Cb and Cr centred on 0 here; JPEG adds 128).
RGB_TO_YCBCR = (
    (0.299, 0.587, 0.114),
    (-0.168736, -0.331264, 0.5),
    (0.5, -0.418688, -0.081312),
)
# Keeps a flat image's spread from dividing by zero.
EPSILON = 1e-5


def _matrix(image: torch.Tensor) -> torch.Tensor:
    return torch.tensor(RGB_TO_YCBCR, dtype=image.dtype, device=image.device)


def rgb_to_ycbcr(image: torch.Tensor) -> torch.Tensor:
    """1x3xHxW RGB to Y, Cb, Cr (Y in 0-255, Cb and Cr centred on 0)."""
    return torch.einsum("ij,bjhw->bihw", _matrix(image), image)


def ycbcr_to_rgb(image: torch.Tensor) -> torch.Tensor:
    """The inverse of rgb_to_ycbcr."""
    inverse = torch.linalg.inv(_matrix(image).double()).to(image.dtype)
    return torch.einsum("ij,bjhw->bihw", inverse, image)


def luma(image: torch.Tensor) -> torch.Tensor:
    """The image's Y in all three channels (a grey picture of the same brightness)."""
    y = rgb_to_ycbcr(image)[:, :1]
    return y.expand(-1, 3, -1, -1).contiguous()


def matched_luma(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The style's grey picture with its brightness's mean and spread set to the content's."""
    style_y, content_y = luma(style), luma(content)
    scale = content_y.std() / (style_y.std() + EPSILON)
    return ((style_y - style_y.mean()) * scale + content_y.mean()).clamp(0, 255)


def with_chroma(image: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """`image`'s brightness with `content`'s colour (both the same size), clipped to 0-255."""
    y = rgb_to_ycbcr(image)[:, :1]
    chroma = rgb_to_ycbcr(content)[:, 1:]
    return ycbcr_to_rgb(torch.cat((y, chroma), dim=1)).clamp(0, 255)


def _mean_and_covariance(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    pixels = image.reshape(3, -1).double()
    mean = pixels.mean(dim=1, keepdim=True)
    centred = pixels - mean
    covariance = centred @ centred.T / pixels.shape[1]
    return mean, covariance + EPSILON * torch.eye(3, dtype=pixels.dtype, device=pixels.device)


def _symmetric_power(matrix: torch.Tensor, power: float) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(matrix)
    return vectors @ torch.diag(values.clamp_min(EPSILON) ** power) @ vectors.T


def match_histogram(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The style image with its RGB mean and covariance moved to the content's.

    x' = C_c^(1/2) C_s^(-1/2) (x - mu_s) + mu_c, the symmetric square roots (the "image
    analogies" variant of Gatys et al. 2016); clipped to 0-255, which can leave the match
    a little short for extreme colours.
    """
    style_mean, style_covariance = _mean_and_covariance(style)
    content_mean, content_covariance = _mean_and_covariance(content)
    transform = _symmetric_power(content_covariance, 0.5) @ _symmetric_power(style_covariance, -0.5)
    pixels = style.reshape(3, -1).double()
    moved = transform @ (pixels - style_mean) + content_mean
    return moved.reshape(style.shape).to(style.dtype).clamp(0, 255)


class ColourMode:
    """How one run treats colour: what the network sees and what people see."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def content(self, content: torch.Tensor) -> torch.Tensor:
        """The content image as the network sees it."""
        return luma(content) if self.mode == "luminance" else content

    def style(self, style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        """A style image as the network sees it, given the (original) content image."""
        if self.mode == "luminance":
            return matched_luma(style, content)
        if self.mode == "histogram":
            return match_histogram(style, content)
        return style

    def start(self, image: torch.Tensor) -> torch.Tensor:
        """A starting image as the optimisation sees it."""
        return luma(image) if self.mode == "luminance" else image

    def present(self, image: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        """What is saved and previewed of the optimised image."""
        return with_chroma(image, content) if self.mode == "luminance" else image
