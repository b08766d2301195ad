"""The VGG19 layer-name table: names as in the paper, indices into torchvision's `vgg19().features`.

VGG19 has five blocks of 3x3 convolutions (2, 2, 4, 4 and 4 of them), each convolution
followed by a ReLU, each block closed by a 2x2 pooling layer. `conv3_2` is the second
convolution of the third block, `relu3_2` its rectified output, `pool3` the pooling that
ends the block.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from nst_engine.errors import ConfigError
from nst_engine.settings.values import parse_float

CONVS_PER_BLOCK = (2, 2, 4, 4, 4)
CHANNELS_PER_BLOCK = (64, 128, 256, 512, 512)


@dataclass(frozen=True)
class Layer:
    name: str
    index: int  # position in torchvision's vgg19().features
    kind: str  # "conv", "relu" or "pool"
    block: int  # 1..5
    channels: int  # feature maps it produces
    pools_before: int  # poolings applied to the input by the time this layer's output exists

    @property
    def minimum_side(self) -> int:
        """Smallest input side for which this layer's output is at least one pixel."""
        return 2**self.pools_before


def _build_table() -> dict[str, Layer]:
    table: dict[str, Layer] = {}
    index = 0
    for block, (convs, channels) in enumerate(
        zip(CONVS_PER_BLOCK, CHANNELS_PER_BLOCK, strict=True), start=1
    ):
        for conv in range(1, convs + 1):
            for kind in ("conv", "relu"):
                name = f"{kind}{block}_{conv}"
                table[name] = Layer(name, index, kind, block, channels, block - 1)
                index += 1
        table[f"pool{block}"] = Layer(f"pool{block}", index, "pool", block, channels, block)
        index += 1
    return table


LAYERS: dict[str, Layer] = _build_table()
LAYER_NAMES: tuple[str, ...] = tuple(LAYERS)
CONV_LAYERS: tuple[Layer, ...] = tuple(layer for layer in LAYERS.values() if layer.kind == "conv")


def get_layer(name: str) -> Layer:
    """The layer called `name`, or a ConfigError that suggests the nearest real name."""
    try:
        return LAYERS[name]
    except KeyError:
        close = difflib.get_close_matches(name, LAYER_NAMES, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ConfigError(
            f"unknown VGG19 layer '{name}'{hint} (`nst-tui layers` lists them)"
        ) from None


def deepest(names: list[str] | tuple[str, ...]) -> Layer:
    """The requested layer that sits furthest into the network."""
    return max((get_layer(name) for name in names), key=lambda layer: layer.index)


# --- layer weights: (layer, weight) pairs in network order ---

LayerWeights = tuple[tuple[str, float], ...]


def normalise_layer_weights(name: str, pairs: Any) -> LayerWeights:
    """Layer-weight pairs checked and sorted in network order (from a dict or pairs)."""
    items = list(pairs.items()) if isinstance(pairs, dict) else list(pairs)
    seen: dict[str, float] = {}
    for layer, weight in items:
        layer = get_layer(str(layer).strip()).name
        if layer in seen:
            raise ConfigError(f"{name}: layer {layer} is given twice")
        seen[layer] = parse_layer_weight(name, layer, weight)
    return tuple(sorted(seen.items(), key=lambda pair: LAYERS[pair[0]].index))


def parse_layer_weight(name: str, layer: str, weight: object) -> float:
    """One layer's weight in the list called `name` (a number, at least 0)."""
    return parse_float(f"weight of {name} {layer}", weight, 0.0)


def check_some_layer(setting: str, pairs: LayerWeights) -> None:
    """Refuse `content_layers` or `style_layers` in which no layer has a weight above 0."""
    if not any(weight > 0 for _, weight in pairs):
        raise ConfigError(
            f"choose at least one {setting.partition('_')[0]} layer with a weight above 0",
            setting=setting,
        )


def parse_layer_weights(name: str, text: str) -> LayerWeights:
    """`'conv4_2=10,conv5_2'` to pairs; a layer without `=weight` gets weight 1."""
    pairs = []
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        layer, _, weight = part.partition("=")
        pairs.append((layer.strip(), weight.strip() if weight.strip() else 1.0))
    if not pairs:
        raise ConfigError(f"{name}: no layers given (expected e.g. conv4_2=1)")
    return normalise_layer_weights(name, pairs)


def format_layer_weights(pairs: LayerWeights) -> str:
    return ",".join(f"{layer}={weight:g}" for layer, weight in pairs)
