#!/usr/bin/env bash
# Build a local stand-in for an official python:X.Y-slim base image and tag it with that name, so
# the Dockerfile builds unchanged on CI machines that reach Debian's mirror and PyPI but no
# container registry.
#
#   standin-base.sh WORKDIR debian TAG           Debian bookworm's own python3 (3.11)
#   standin-base.sh WORKDIR prefix TAG PREFIX    a CPython installed under PREFIX (e.g. a pyenv
#                                                3.12), copied to /usr/local as the official
#                                                image has it, with the shared libraries it needs
#
# Both are bookworm minbase without docs or locales. The TLS-terminating proxy's CA (the host's
# /usr/local/share/ca-certificates) is trusted inside, and PIP_CERT points pip at the system
# bundle: test plumbing only, the Dockerfile itself knows nothing of it.
set -euo pipefail

work=$1 kind=$2 tag=$3 prefix=${4:-}
tar="$work/base-$kind.tar"

libs=ca-certificates,netbase,tzdata,libssl3,libffi8,libsqlite3-0,zlib1g,libbz2-1.0,liblzma5
libs+=,libreadline8,libncursesw6,libuuid1,libgdbm6,libexpat1
case $kind in
  debian) include="$libs,python3,python3-venv,python3-pip" ;;
  prefix) include=$libs ;;
  *) echo "unknown kind $kind" >&2; exit 2 ;;
esac

hooks=(
  --customize-hook='cp /usr/local/share/ca-certificates/*.crt "$1/usr/local/share/ca-certificates/" 2>/dev/null || true'
  --customize-hook='chroot "$1" update-ca-certificates >/dev/null'
  --customize-hook='rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED'
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*'
)
if [[ $kind == debian ]]; then
  hooks+=(--customize-hook='ln -sf /usr/bin/python3 "$1/usr/local/bin/python"; ln -sf /usr/bin/pip3 "$1/usr/local/bin/pip"')
else
  # The official image's layout: the interpreter in /usr/local, libpython found via ldconfig.
  # The test suite and site-packages (pip's and the host's own additions) are left behind.
  hooks+=(
    --customize-hook="tar -C '$prefix' --exclude='./lib/python3.*/test' --exclude='./lib/python3.*/site-packages/*' --exclude='__pycache__' -cf - bin lib include | tar -C \"\$1/usr/local\" -xf -"
    --customize-hook='chroot "$1" ldconfig'
    --customize-hook='v=$(ls "$1"/usr/local/bin/ | grep -E "^python3\.[0-9]+$" | head -1); ln -sf "$v" "$1/usr/local/bin/python3"; ln -sf "$v" "$1/usr/local/bin/python"'
  )
fi

mmdebstrap --quiet --variant=minbase --include="$include" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  "${hooks[@]}" bookworm "$tar"

podman import --quiet \
  --change 'CMD ["python3"]' \
  --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
  --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
  --change 'ENV LANG=C.UTF-8' \
  "$tar" "$tag" >/dev/null
rm -f "$tar"
