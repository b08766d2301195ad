"""Numbers for a style transfer result: how much of the content it keeps, how close to the style.

    from quality import measure
    scores = measure(output, content, style)   # PIL images; a Quality of five numbers

Content fidelity (higher is closer to the photo, 1 at most):
- `ssim`: SSIM (Wang et al. 2004) of the luminance of output and content.
- `edges`: the correlation of their Sobel edge strengths.

Style match (lower is closer to the painting, 0 at least):
- `swd_full`, `swd_half`: the sliced Wasserstein distance between the 7x7 RGB patches of
  output and style, at the output's size and at half of it (strokes twice as large).
- `colour`: the chi-square distance between their 3D colour histograms.

A result's own edge (`border_contrast`, not part of `measure`): how much each border row and
column varies from pixel to pixel against the interior, and how far the corners stand out
from their neighbours (1 is like the interior; a dotted edge or a lone bright corner is 2+).

The content is compared at the output's size; the style at the output's longest side (as a
run sees it when style_size and style_scale are not set). Everything is deterministic: the
patch subsets and projections come from a fixed seed. numpy, torch and Pillow only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

# SSIM's constants for 8-bit images: C1 = (K1 L)^2, C2 = (K2 L)^2 with L = 255.
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_C1 = (0.01 * 255) ** 2
SSIM_C2 = (0.03 * 255) ** 2

PATCH_SIZE = 7
PROJECTIONS = 128
MAX_PATCHES = 8192  # patches drawn from each image (all of them if it has fewer)
HISTOGRAM_BINS = 8  # per channel: 8^3 = 512 colour cells of 32 levels each


@dataclass(frozen=True)
class Quality:
    ssim: float
    edges: float
    swd_full: float
    swd_half: float
    colour: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def to_array(image: Image.Image | np.ndarray) -> np.ndarray:
    """An RGB image as an H x W x 3 float64 array in 0-255."""
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    array = np.asarray(image, dtype=np.float64)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 RGB image, got shape {array.shape}")
    return array


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Y of ITU-R BT.601: Y = 0.299 R + 0.587 G + 0.114 B (H x W, same range as the input)."""
    return rgb @ np.array([0.299, 0.587, 0.114])


def _plane(array: np.ndarray) -> torch.Tensor:
    """H x W to a 1 x 1 x H x W float64 tensor, for convolutions."""
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float64))[None, None]


def _gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> torch.Tensor:
    offsets = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    line = torch.exp(-(offsets**2) / (2 * sigma**2))
    line /= line.sum()
    return (line[:, None] * line[None, :])[None, None]


def ssim(first: np.ndarray, second: np.ndarray) -> float:
    """Mean SSIM of two same-size grey images in 0-255 (Wang, Bovik, Sheikh, Simoncelli 2004).

    SSIM(x, y) = (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 +
    sigma_y^2 + C2)), the local means, variances and covariance weighted by an 11 x 11
    Gaussian window (sigma 1.5), C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2; averaged over the
    positions where the window lies wholly inside the image (no padding). 1 for equal images.
    """
    if first.shape != second.shape:
        raise ValueError(f"SSIM needs two images of one size, got {first.shape} and {second.shape}")
    if min(first.shape) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of {SSIM_WINDOW} x {SSIM_WINDOW} pixels at least")
    window = _gaussian_window()
    x, y = _plane(first), _plane(second)

    def mean(plane: torch.Tensor) -> torch.Tensor:
        return F.conv2d(plane, window)

    mu_x, mu_y = mean(x), mean(y)
    var_x = mean(x * x) - mu_x**2
    var_y = mean(y * y) - mu_y**2
    covariance = mean(x * y) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + SSIM_C1) * (2 * covariance + SSIM_C2)
    denominator = (mu_x**2 + mu_y**2 + SSIM_C1) * (var_x + var_y + SSIM_C2)
    return float((numerator / denominator).mean())


def sobel_magnitude(grey: np.ndarray) -> np.ndarray:
    """|grad I| = sqrt(Gx^2 + Gy^2) with the 3 x 3 Sobel kernels, inside the border (H-2 x W-2)."""
    horizontal = torch.tensor([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=torch.float64)
    kernels = torch.stack([horizontal, horizontal.T])[:, None]
    gradients = F.conv2d(_plane(grey), kernels)[0]
    return gradients.pow(2).sum(0).sqrt().numpy()


def edge_correlation(first: np.ndarray, second: np.ndarray) -> float:
    """Pearson correlation of the Sobel edge strengths of two same-size grey images.

    r = sum((a - mean a)(b - mean b)) / sqrt(sum (a - mean a)^2 * sum (b - mean b)^2), with a
    and b the `sobel_magnitude` maps: 1 when the edges are where the content's are, in the
    same proportions; near 0 when the output's edges are unrelated to the content's. (An
    image without edges correlates with nothing: 0, or 1 with an equally flat one.)
    """
    if first.shape != second.shape:
        raise ValueError(f"edges need two images of one size, got {first.shape} and {second.shape}")
    a = sobel_magnitude(first).ravel()
    b = sobel_magnitude(second).ravel()
    a, b = a - a.mean(), b - b.mean()
    norms = np.sqrt((a * a).sum() * (b * b).sum())
    if norms == 0:
        return 1.0 if not a.any() and not b.any() else 0.0
    return float((a * b).sum() / norms)


def patches(rgb: np.ndarray, size: int = PATCH_SIZE) -> torch.Tensor:
    """Every size x size RGB patch of an image (stride 1), as rows of 3 * size^2 values in 0-1."""
    image = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)) / 255.0)[None]
    return F.unfold(image, size)[0].T


def half_size(rgb: np.ndarray) -> np.ndarray:
    """The image at half its size, each pixel the mean of a 2 x 2 block (odd edges dropped)."""
    image = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]
    return F.avg_pool2d(image, 2)[0].numpy().transpose(1, 2, 0)


def sliced_wasserstein(
    first: torch.Tensor, second: torch.Tensor, projections: int = PROJECTIONS, seed: int = 0
) -> float:
    """Sliced Wasserstein-1 distance between two sets of points of one dimension D.

    SW1(P, Q) = (1/K) sum_k W1(<P, theta_k>, <Q, theta_k>), with K directions theta_k drawn
    uniformly on the unit sphere (normalised Gaussian vectors, from `seed`). For two sets of n
    points each, the 1D distance is exact: W1 = (1/n) sum_i |p_(i) - q_(i)|, with the
    projections sorted. The larger set is subsampled (from `seed`) to the smaller's size.
    In the units of the points (here pixel values in 0-1); 0 for equal sets.
    """
    if first.shape[1] != second.shape[1]:
        raise ValueError(f"points of {first.shape[1]} and {second.shape[1]} dimensions")
    generator = torch.Generator().manual_seed(seed)
    count = min(len(first), len(second))
    first, second = _subset(first, count, generator), _subset(second, count, generator)
    directions = torch.randn(first.shape[1], projections, generator=generator, dtype=first.dtype)
    directions /= directions.norm(dim=0, keepdim=True)
    projected_first = (first @ directions).sort(dim=0).values
    projected_second = (second @ directions).sort(dim=0).values
    return float((projected_first - projected_second).abs().mean())


def _subset(points: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    if len(points) == count:
        return points
    chosen = torch.randperm(len(points), generator=generator)[:count]
    return points[chosen]


def patch_distance(output: np.ndarray, style: np.ndarray, seed: int = 0) -> float:
    """`sliced_wasserstein` between the 7 x 7 RGB patches of two images (any sizes).

    At most MAX_PATCHES patches of each, drawn at random (from `seed`), the same number from
    both; 128 projections. The patches keep their colours (no normalisation), so the
    distance sees palette as well as texture. NaN if an image is smaller than a patch.
    """
    generator = torch.Generator().manual_seed(seed)
    sets = []
    for image in (output, style):
        if min(image.shape[:2]) < PATCH_SIZE:
            return float("nan")
        sets.append(patches(image))
    count = min(MAX_PATCHES, *(len(points) for points in sets))
    sets = [_subset(points, count, generator) for points in sets]
    return sliced_wasserstein(sets[0], sets[1], PROJECTIONS, seed)


def colour_histogram(rgb: np.ndarray, bins: int = HISTOGRAM_BINS) -> np.ndarray:
    """The image's 3D RGB histogram: bins^3 cells of (256 / bins) levels a side, summing to 1."""
    levels = np.clip(np.round(rgb), 0, 255).astype(np.int64) * bins // 256
    cells = (levels[..., 0] * bins + levels[..., 1]) * bins + levels[..., 2]
    counts = np.bincount(cells.ravel(), minlength=bins**3).astype(np.float64)
    return counts / counts.sum()


def colour_distance(first: np.ndarray, second: np.ndarray) -> float:
    """Chi-square distance between two images' 3D colour histograms (any sizes), in 0-1.

    chi2(p, q) = 1/2 sum_i (p_i - q_i)^2 / (p_i + q_i) over the cells where p_i + q_i > 0,
    with p and q the `colour_histogram`s (8 x 8 x 8 cells): 0 for the same colours in the
    same proportions, 1 for images that share no cell.
    """
    p, q = colour_histogram(first), colour_histogram(second)
    total = p + q
    used = total > 0
    return float(0.5 * ((p[used] - q[used]) ** 2 / total[used]).sum())


@dataclass(frozen=True)
class BorderContrast:
    """Each border line's variation, and the corners', over the interior's (1: alike).

    top, bottom: the mean |difference| between horizontally adjacent pixels along that row,
    over the same mean for the rows inside the border; left, right: likewise for columns
    (vertically adjacent pixels). corner: the largest, over the four corners, of |corner -
    the mean of its three neighbours| (mean over R, G, B), over the interior's mean
    difference between adjacent pixels.
    """

    top: float
    bottom: float
    left: float
    right: float
    corner: float

    def worst_line(self) -> float:
        return max(self.top, self.bottom, self.left, self.right)


def border_contrast(image: Image.Image | np.ndarray) -> BorderContrast:
    """How much the image's border rows, columns and corners stand out (see BorderContrast)."""
    rgb = to_array(image)
    height, width = rgb.shape[:2]
    if min(height, width) < 4:
        raise ValueError(f"border contrast needs 4 x 4 pixels at least, got {width} x {height}")
    along_rows = np.abs(np.diff(rgb, axis=1)).mean(axis=(1, 2))  # one figure per row
    along_columns = np.abs(np.diff(rgb, axis=0)).mean(axis=(0, 2))  # one per column
    inside_rows, inside_columns = along_rows[1:-1].mean(), along_columns[1:-1].mean()
    inside = (inside_rows + inside_columns) / 2

    def corner(row: int, column: int, step_down: int, step_across: int) -> float:
        neighbours = (
            rgb[row + step_down, column]
            + rgb[row, column + step_across]
            + rgb[row + step_down, column + step_across]
        ) / 3
        return float(np.abs(rgb[row, column] - neighbours).mean())

    corners = (
        corner(0, 0, 1, 1),
        corner(0, width - 1, 1, -1),
        corner(height - 1, 0, -1, 1),
        corner(height - 1, width - 1, -1, -1),
    )
    return BorderContrast(
        top=float(along_rows[0] / inside_rows),
        bottom=float(along_rows[-1] / inside_rows),
        left=float(along_columns[0] / inside_columns),
        right=float(along_columns[-1] / inside_columns),
        corner=float(max(corners) / inside),
    )


def frame_change(frames: list[np.ndarray], shift: int) -> np.ndarray:
    """Per pixel, the mean absolute change (0-255, over the channels and the steps) from frame
    to frame of a sequence whose content moves `shift` px right a frame, once that motion is
    undone. Its mean is a sequence's temporal error (flicker): 0 for a perfectly steady one."""
    steps = [
        np.abs(
            np.asarray(after, np.float32)[:, :-shift] - np.asarray(before, np.float32)[:, shift:]
        )
        for before, after in zip(frames[:-1], frames[1:], strict=True)
    ]
    return np.mean(steps, axis=(0, 3))


def temporal_error(frames: list[np.ndarray], shift: int) -> float:
    """The mean change from frame to frame once the known motion is undone (frame_change)."""
    return float(frame_change(frames, shift).mean())


def measure(
    output: Image.Image | np.ndarray,
    content: Image.Image,
    style: Image.Image,
    seed: int = 0,
) -> Quality:
    """All five numbers for one result, the content at the output's size (Lanczos), the
    style at the output's longest side (aspect kept)."""
    result = to_array(output)
    height, width = result.shape[:2]
    content = content.convert("RGB")
    if content.size != (width, height):
        content = content.resize((width, height), Image.Resampling.LANCZOS)
    style = style.convert("RGB")
    scale = max(width, height) / max(style.size)
    style_size = (max(1, round(style.width * scale)), max(1, round(style.height * scale)))
    if style.size != style_size:
        style = style.resize(style_size, Image.Resampling.LANCZOS)
    photo, painting = to_array(content), to_array(style)
    return Quality(
        ssim=ssim(luminance(result), luminance(photo)),
        edges=edge_correlation(luminance(result), luminance(photo)),
        swd_full=patch_distance(result, painting, seed),
        swd_half=patch_distance(half_size(result), half_size(painting), seed),
        colour=colour_distance(result, painting),
    )
