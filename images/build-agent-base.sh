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
recipe_hash=$( (cat "$0" "$here/debian-rootfs.sh"; echo "$suite $packages") | sha256sum | cut -c1-12)
tag="$name:$recipe_hash"

if docker image inspect "$tag" >/dev/null 2>&1; then
  docker tag "$tag" "$name:latest"
  echo "$tag (cached)"; exit 0
fi

rootfs=$(mktemp -d /tmp/agent-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
debootstrap_rootfs "$rootfs" "$suite" "$packages"
tar -C "$rootfs" -c . | docker import \
  --change 'CMD ["/bin/sh"]' \
  --change 'ENV LANG=C.UTF-8' \
  --change "LABEL agent.recipe-hash=$recipe_hash" \
  - "$tag" >/dev/null
docker tag "$tag" "$name:latest"
echo "$tag"
