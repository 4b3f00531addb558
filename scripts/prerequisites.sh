# Sourced by scripts/run-agent and scripts/test: what a Debian host needs before the agent runs.
# Each step is idempotent and quick when there is nothing to do.

# Debian packages the agent and its tests use (redis-tools comes with redis-server; e2fsprogs and
# mount make and loop-mount `hostfile` scratches).
AGENT_APT_PACKAGES=(redis-server debootstrap docker-registry apache2-utils e2fsprogs mount)
# What the tests add: the compose tool (the cluster test), a browser and its driver (Flower's pages),
# systemd-analyze (the unit file), redis-sentinel (the failover test starts three sentinels of its
# own; the package is not the agent's, and installing it starts a sentinel service on hosts with systemd).
AGENT_TEST_APT_PACKAGES=(docker-compose chromium chromium-driver systemd redis-sentinel)
AGENT_PYTHON=${AGENT_PYTHON:-python3}

die() { echo "error: $*" >&2; exit 1; }

missing_apt_packages() {
  local pkgs=("$@") p
  "$AGENT_PYTHON" -c 'import ensurepip, venv' 2>/dev/null || pkgs+=(python3-venv)
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

# Install the Debian packages that are missing (as root), or print the command and fail.
#   ensure_apt_packages [MORE_PACKAGES...]      (AGENT_APT_PACKAGES and these)
ensure_apt_packages() {
  local missing
  mapfile -t missing < <(missing_apt_packages "${AGENT_APT_PACKAGES[@]}" "$@")
  [ "${#missing[@]}" -eq 0 ] && return 0
  local cmd="apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    die "missing Debian packages: ${missing[*]}; run as root: apt-get update && $cmd"
  fi
  echo "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $cmd -qq >/dev/null
}

# Docker Engine must answer (it is never installed here: it is the host's own).
require_docker() {
  command -v docker >/dev/null || die "docker is not installed: the agent needs Docker Engine on this host"
  docker info >/dev/null 2>&1 || die "Docker Engine does not answer (docker info failed): is dockerd running and may $(id -un) use it?"
}

require_redis_server() {
  command -v redis-server >/dev/null || die "redis-server is not installed: apt-get install redis-server"
  command -v redis-sentinel >/dev/null || die "redis-sentinel is not installed: apt-get install redis-sentinel"
}

# .venv with the project installed editable; reinstalled only when pyproject.toml or Python changed.
ensure_venv() {
  local stamp=.venv/.installed want
  want="$(sha256sum pyproject.toml | cut -c1-16) $("$AGENT_PYTHON" -c 'import sys; print(sys.version.split()[0])')"
  if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  "$AGENT_PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$AGENT_PYTHON is older than 3.11; set AGENT_PYTHON to a Python 3.11+"
  [ -x .venv/bin/python ] || "$AGENT_PYTHON" -m venv .venv
  echo "installing the project into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test,bench]'
  echo "$want" >"$stamp"
}

# The Python kernel image (cached by its recipe hash; the first build takes about a minute).
ensure_kernel_image() {
  echo "kernel image: $(images/build-python-kernel.sh)"
}
