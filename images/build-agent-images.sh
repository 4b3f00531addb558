#!/usr/bin/env bash
# Build the compose cluster's images offline: kernel-agent (the agent and Flower) and
# kernel-agent-redis, FROM the Debian base of images/build-agent-base.sh (or AGENT_BASE_IMAGE),
# with the project and its Python dependencies from a wheelhouse built here on the host with .venv's
# pip (build/wheels), so `docker build` runs with no network at all.
# Cached by a hash of the recipe (Dockerfiles, base image, pyproject.toml, the project's sources);
# the dependencies' wheels and their image layer are reused while pyproject.toml and the base stay.
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

pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
# The project's own wheel (setuptools' build/lib goes first: it would carry deleted modules along).
rm -rf build/wheels/project build/lib build/bdist.*
"${pip[@]}" wheel --no-deps -w build/wheels/project . >&2

# Its dependencies, as wheels for the base image's Python and libc (remade when pyproject.toml or
# the base changed).
deps_hash=$( (cat "$0" pyproject.toml; echo "$base_id") | sha256sum | cut -c1-12)
if [ "$(cat build/wheels/deps.hash 2>/dev/null)" != "$deps_hash" ]; then
  rm -rf build/wheels/deps build/wheels/deps.hash
  read -r pyver abi glibc < <(docker run --rm --network none "$base" python3 -c \
    'import platform, sys; print(platform.python_version(), "cp%d%d" % sys.version_info[:2], platform.libc_ver()[1])') \
    || { echo "$base has no python3: a base image needs Python 3.11" >&2; exit 1; }
  target=(--only-binary=:all: --python-version "$pyver" --implementation cp --abi "$abi" --abi abi3 --abi none)
  for minor in $(seq 5 "${glibc#2.}"); do  # pip expands none of the manylinux_2_N platform tags itself
    target+=(--platform "manylinux_2_${minor}_$(uname -m)")
  done
  "${pip[@]}" download -d build/wheels/deps "${target[@]}" build/wheels/project/kernel_agent-*.whl >&2
  rm -f build/wheels/deps/kernel_agent-*.whl
  # pip evaluates some environment markers for the host's Python even so (an older 3.11 patch
  # release needs async-timeout for redis): the base image's own pip says what is still missing.
  for _ in 1 2 3 4 5; do
    missing=$(docker run --rm --network none -v "$PWD/build/wheels:/wheels:ro" "$base" sh -c \
      'python3 -m venv /tmp/v && /tmp/v/bin/pip install -q --dry-run --no-index --find-links /wheels/deps \
         /wheels/project/kernel_agent-*.whl 2>&1 || true' \
      | sed -n 's/.*No matching distribution found for \([^;]*\).*/\1/p')
    [ -n "$missing" ] || break
    "${pip[@]}" download -d build/wheels/deps "${target[@]}" "$missing" >&2
  done
  [ -z "$missing" ] || { echo "the wheelhouse lacks $missing for $base" >&2; exit 1; }
  echo "$deps_hash" >build/wheels/deps.hash
fi

# --network none where the base is the offline one (a public base may need apt inside the build).
network=(--network none)
[ -z "${AGENT_BASE_IMAGE:-}" ] || network=()
for image in "$agent:agent" "$redis:redis"; do
  docker build -q "${network[@]}" --build-arg BASE="$base" --label agent.recipe-hash="$recipe_hash" \
    -f "images/${image##*:}.Dockerfile" -t "${image%:*}" . >/dev/null 2> >(grep -v -i -e deprecated -e buildx -e '^ *$' >&2)
done
docker tag "$agent" kernel-agent:latest
docker tag "$redis" kernel-agent-redis:latest
echo "$agent $redis"
