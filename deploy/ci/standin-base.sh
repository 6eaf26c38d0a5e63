#!/usr/bin/env bash
# Local stand-ins for the official python:X.Y-slim base images, tagged with their names, so the
# Dockerfile builds unchanged on CI machines that reach Debian's mirror and PyPI but no container
# registry. The official image is Debian bookworm slim with CPython built into /usr/local; so is
# the stand-in, with a CPython the machine already has (pyenv's) copied in.
#
#   standin-base.sh rootfs WORKDIR             bookworm minbase + the libraries CPython links to,
#                                              as the directory WORKDIR/rootfs (once, ~1 min)
#   standin-base.sh python WORKDIR PREFIX TAG  WORKDIR/rootfs + the CPython installed under
#                                              PREFIX, imported into podman as TAG (~10 s)
#
# The TLS-terminating proxy's CA (the host's /usr/local/share/ca-certificates) is trusted inside
# and PIP_CERT points pip at the system bundle: test plumbing only, the Dockerfile knows nothing
# of it.
set -euo pipefail

cmd=$1 work=$2

rootfs() {
  local libs=ca-certificates,netbase,tzdata,libssl3,libffi8,libsqlite3-0,zlib1g,libbz2-1.0
  libs+=,liblzma5,libreadline8,libncursesw6,libuuid1,libgdbm6,libexpat1
  mmdebstrap --quiet --variant=minbase --format=directory --include="$libs" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='cp /usr/local/share/ca-certificates/*.crt "$1/usr/local/share/ca-certificates/" 2>/dev/null || true' \
    --customize-hook='chroot "$1" update-ca-certificates >/dev/null 2>&1' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*' \
    bookworm "$work/rootfs"
}

python() {
  local prefix=$1 tag=$2 dir version
  dir=$(mktemp -d "$work/standin.XXXXXX")
  cp -a "$work/rootfs/." "$dir/"
  # What the slim image also leaves out: the test suite, the static library, IDLE and Tk; and
  # site-packages, where pip and the host's own additions live (venv brings its own pip).
  tar -C "$prefix" -cf - \
    --exclude='lib/python3.*/test' --exclude='lib/python3.*/site-packages/*' \
    --exclude='lib/python3.*/config-*' --exclude='lib/python3.*/idlelib' \
    --exclude='lib/python3.*/tkinter' --exclude='lib/python3.*/turtledemo' \
    --exclude='lib/libpython*.a' --exclude='__pycache__' \
    bin lib include | tar -C "$dir/usr/local" -xf -
  ldconfig -r "$dir"
  version=$(find "$dir/usr/local/bin" -maxdepth 1 -regex '.*/python3\.[0-9]+' -printf '%f\n' | head -1)
  ln -sf "$version" "$dir/usr/local/bin/python3"
  ln -sf "$version" "$dir/usr/local/bin/python"
  tar -C "$dir" -cf - . | podman import --quiet \
    --change 'CMD ["python3"]' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV LANG=C.UTF-8' \
    - "$tag" >/dev/null
  rm -rf "$dir"
}

case $cmd in
  rootfs) rootfs ;;
  python) python "$3" "$4" ;;
  *) echo "usage: $0 rootfs WORKDIR | python WORKDIR PREFIX TAG" >&2; exit 2 ;;
esac
