#!/usr/bin/env bash
# Build the compose cluster's images offline: kernel-agent (the agent and Flower) and
# kernel-agent-redis, FROM the Debian base of images/build-agent-base.sh (or AGENT_BASE_IMAGE),
# with the project and its Python dependencies from a wheelhouse built here on the host
# (build/wheels, with .venv's pip), so `docker build` runs with no network at all.
# Cached by a hash of the recipe: Dockerfiles, base image, pyproject.toml and the project's sources.
#   usage: images/build-agent-images.sh        (prints the two image tags)
set -euo pipefail
cd "$(dirname "$0")/.."
base=${AGENT_BASE_IMAGE:-kernel-agent-base:latest}
[ -n "${AGENT_BASE_IMAGE:-}" ] || images/build-agent-base.sh >/dev/null
base_id=$(docker image inspect -f '{{.Id}}' "$base")
mapfile -t sources < <(find contract worker tasks agent_client runner -name '*.py' | LC_ALL=C sort)
recipe_hash=$( (cat "$0" images/agent.Dockerfile images/redis.Dockerfile pyproject.toml celeryconfig.py "${sources[@]}"
                echo "$base_id") | sha256sum | cut -c1-12)
agent=kernel-agent:$recipe_hash
redis=kernel-agent-redis:$recipe_hash

if docker image inspect "$agent" "$redis" >/dev/null 2>&1; then
  docker tag "$agent" kernel-agent:latest
  docker tag "$redis" kernel-agent-redis:latest
  echo "$agent $redis (cached)"; exit 0
fi

# The wheelhouse: the project's own wheel (setuptools' build/lib goes first: it would carry modules
# deleted since into the wheel), then its dependencies as wheels for the base image's Python and libc.
rm -rf build/wheels build/lib build/bdist.*
pip=(.venv/bin/python -m pip)
"${pip[@]}" wheel -q --disable-pip-version-check --no-deps -w build/wheels . >&2
read -r pyver abi glibc < <(docker run --rm --network none "$base" python3 -c \
  'import platform, sys; print(platform.python_version(), "cp%d%d" % sys.version_info[:2], platform.libc_ver()[1])') \
  || { echo "$base has no python3: a base image needs Python 3.11" >&2; exit 1; }
target=(--only-binary=:all: --python-version "$pyver" --implementation cp --abi "$abi" --abi abi3 --abi none)
for minor in $(seq 5 "${glibc#2.}"); do  # pip expands none of the manylinux_2_N platform tags itself
  target+=(--platform "manylinux_2_${minor}_$(uname -m)")
done
"${pip[@]}" download -q --disable-pip-version-check -d build/wheels "${target[@]}" build/wheels/kernel_agent-*.whl >&2
# pip evaluates some environment markers for the host's Python even so (an older 3.11 patch release
# needs async-timeout for redis): the base image's own pip says what is still missing.
for _ in 1 2 3 4 5; do
  missing=$(docker run --rm --network none -v "$PWD/build/wheels:/wheels:ro" "$base" sh -c \
    'python3 -m venv /tmp/v && /tmp/v/bin/pip install -q --dry-run --no-index --find-links /wheels kernel-agent 2>&1 || true' \
    | sed -n 's/.*No matching distribution found for \([^;]*\).*/\1/p')
  [ -n "$missing" ] || break
  "${pip[@]}" download -q --disable-pip-version-check -d build/wheels "${target[@]}" "$missing" >&2
done
[ -z "$missing" ] || { echo "the wheelhouse lacks $missing for $base" >&2; exit 1; }
docker build -q --network none --build-arg BASE="$base" --label agent.recipe-hash="$recipe_hash" \
  -f images/agent.Dockerfile -t "$agent" . >/dev/null
docker build -q --network none --build-arg BASE="$base" --label agent.recipe-hash="$recipe_hash" \
  -f images/redis.Dockerfile -t "$redis" . >/dev/null
docker tag "$agent" kernel-agent:latest
docker tag "$redis" kernel-agent-redis:latest
echo "$agent $redis"
