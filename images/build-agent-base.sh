#!/usr/bin/env bash
# Build the base image of the compose cluster's images offline: debootstrap Debian with python3,
# python3-venv and redis-server from the apt mirror this machine is configured with, then
# `docker import` it. Cached by a hash of this recipe: a second run with the same recipe does nothing.
#   usage: images/build-agent-base.sh [IMAGE_NAME]      (default: kernel-agent-base)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=${1:-kernel-agent-base}
suite=bookworm
packages=python3,python3-venv,redis-server
. "$here/debian-rootfs.sh"
reuse_or_prepare "$name" "$suite" "$packages"
tar -C "$rootfs" -c . | docker import \
  --change 'CMD ["/bin/sh"]' \
  --change 'ENV LANG=C.UTF-8' \
  --change "LABEL agent.recipe-hash=$recipe_hash" \
  - "$tag" >/dev/null
docker tag "$tag" "$name:latest"
echo "$tag"
