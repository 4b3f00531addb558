#!/usr/bin/env bash
# Build the Python kernel image offline: debootstrap Debian (with python3) from the apt mirror this
# machine is configured with, then `docker import` it with labels that describe the runtime.
# The image is cached by a hash of this recipe: a second run with the same recipe does nothing.
#   usage: images/build-python-kernel.sh [IMAGE_NAME]      (default: kernel-python)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=${1:-kernel-python}
suite=${KERNEL_IMAGE_SUITE:-bookworm}
packages=${KERNEL_IMAGE_PACKAGES:-python3,procps}
. "$here/debian-rootfs.sh"
reuse_or_prepare "$name" "$suite" "$packages"
# A home for the kernel user; the agent mounts /home/work and /home/config over it.
mkdir -p "$rootfs/home/work" "$rootfs/home/config" "$rootfs/opt/kernel"
chmod 1777 "$rootfs/home/work"
pyver=$(chroot "$rootfs" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')

tar -C "$rootfs" -c . | docker import \
  --change 'CMD ["/bin/sh"]' \
  --change 'WORKDIR /home/work' \
  --change 'ENV LANG=C.UTF-8' \
  --change "LABEL ai.backend.kernelspec=1" \
  --change "LABEL ai.backend.runtime-type=python" \
  --change "LABEL ai.backend.runtime-path=/usr/bin/python3" \
  --change "LABEL ai.backend.base-distro=debian-$suite" \
  --change "LABEL ai.backend.features=\"uid-match query batch\"" \
  --change "LABEL ai.backend.service-ports=http-server:http:8080" \
  --change "LABEL agent.python-version=$pyver" \
  --change "LABEL agent.recipe-hash=$recipe_hash" \
  - "$tag" >/dev/null
docker tag "$tag" "$name:latest"
echo "$tag"
