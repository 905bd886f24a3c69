#!/bin/sh
# OpenBLAS for the PyTorch peer of `npm run bench -- --peer`, WITHOUT installing anything:
# Debian's python3-torch multiplies matrices through libblas.so.3, which is the reference BLAS
# (package libblas3) unless an optimised one is installed. This fetches Debian's
# libopenblas0-pthread with apt (or takes it from apt's cache) and unpacks it into
# .scratch/openblas; bench/peer.ts then puts its libblas.so.3 first on the peer's LD_LIBRARY_PATH.
set -eu
cd "$(dirname "$0")/.."
dest=.scratch/openblas
mkdir -p "$dest"
deb=$(ls /var/cache/apt/archives/libopenblas0-pthread_*.deb 2>/dev/null | head -n 1 || true)
if [ -z "$deb" ]; then
  (cd "$dest" && apt-get download libopenblas0-pthread)
  deb=$(ls "$dest"/libopenblas0-pthread_*.deb | head -n 1)
fi
dpkg -x "$deb" "$dest"
lib="$dest/usr/lib/x86_64-linux-gnu/openblas-pthread"
test -e "$lib/libblas.so.3"
echo "$lib"
