# The agent's image, also Flower's: the project and its dependencies installed from the wheelhouse
# that images/build-agent-images.sh builds on the host (build/wheels), so the build needs no network.
#   BASE: the offline Debian base of images/build-agent-base.sh, or, where images can be pulled,
#   any Debian-like image with Python 3.11 (e.g. debian:bookworm-slim: python3-venv is installed then).
ARG BASE=kernel-agent-base:latest
FROM ${BASE}
RUN python3 -c 'import ensurepip, venv' 2>/dev/null \
 || (apt-get update \
     && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \
     && rm -rf /var/lib/apt/lists/*)
COPY build/wheels /tmp/wheels
RUN python3 -m venv /opt/kernel-agent \
 && /opt/kernel-agent/bin/pip install --no-index --find-links /tmp/wheels --no-cache-dir kernel-agent \
 && rm -rf /tmp/wheels
ENV PATH=/opt/kernel-agent/bin:$PATH LANG=C.UTF-8 PYTHONUNBUFFERED=1
WORKDIR /opt/kernel-agent
CMD ["agent-worker"]
