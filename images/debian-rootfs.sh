# Sourced by the image build scripts: a Debian root filesystem made with debootstrap from the apt
# mirror this machine is configured with (never a hard-coded host), ready for `docker import`.

# The Debian mirror: KERNEL_IMAGE_MIRROR if set, else the machine's apt sources (deb822, then one-line).
debian_mirror() {
  local mirror=${KERNEL_IMAGE_MIRROR:-}
  if [ -z "$mirror" ]; then
    mirror=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1 | awk '{print $2}')
    [ -n "$mirror" ] || mirror=$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
                                 | grep -v security | grep -E '/debian/?( |$)' | head -n1 | awk '{print $2}')
  fi
  [ -n "$mirror" ] || { echo "no Debian mirror found in /etc/apt; set KERNEL_IMAGE_MIRROR" >&2; return 1; }
  echo "$mirror"
}

# debootstrap_rootfs DIR SUITE PACKAGES: a minbase Debian in DIR with PACKAGES (comma-separated),
# apt's caches emptied.
debootstrap_rootfs() {
  local dir=$1 suite=$2 packages=$3 mirror log
  command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; return 1; }
  mirror=$(debian_mirror) || return 1
  log=$(mktemp /tmp/debootstrap.XXXXXX.log)
  debootstrap --variant=minbase --include="$packages" "$suite" "$dir" "$mirror" >"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; rm -f "$log"; return 1; }
  rm -f "$log" "$dir"/var/cache/apt/archives/*.deb
  rm -rf "$dir"/var/lib/apt/lists/*
}

# reuse_or_prepare NAME SUITE PACKAGES, in a build script: sets recipe_hash (of the calling script,
# this file, the suite and packages) and tag (NAME:recipe_hash). When that image exists already, tags
# it NAME:latest and ends the script; else debootstraps a fresh root filesystem in $rootfs, removed
# when the script exits.
reuse_or_prepare() {
  local name=$1 suite=$2 packages=$3
  recipe_hash=$( (cat "$0" "${BASH_SOURCE[0]}"; echo "$suite $packages") | sha256sum | cut -c1-12)
  tag="$name:$recipe_hash"
  if docker image inspect "$tag" >/dev/null 2>&1; then
    docker tag "$tag" "$name:latest"
    echo "$tag (cached)"; exit 0
  fi
  rootfs=$(mktemp -d /tmp/debian-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap_rootfs "$rootfs" "$suite" "$packages"
}
