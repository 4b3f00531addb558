# The agent's image, also Flower's: the project and its dependencies installed from the wheelhouse
# that images/build-agent-images.sh builds on the host (build/wheels), so the build needs no network.
#   BASE: the offline Debian base of images/build-agent-base.sh, or, where images can be pulled, an
#   image with Python 3.11 (python:3.11-slim-bookworm, ...).
ARG BASE=kernel-agent-base:latest
FROM ${BASE}
# The dependencies first, in a layer of their own: reused while they do not change.
COPY build/wheels/deps /tmp/deps
RUN python3 -m venv /opt/kernel-agent \
 && /opt/kernel-agent/bin/pip install --no-index --no-cache-dir --disable-pip-version-check /tmp/deps/*.whl \
 && rm -rf /tmp/deps
COPY build/wheels/project /tmp/project
RUN /opt/kernel-agent/bin/pip install --no-index --no-deps --no-cache-dir --disable-pip-version-check \
      /tmp/project/*.whl \
 && rm -rf /tmp/project
ENV PATH=/opt/kernel-agent/bin:$PATH LANG=C.UTF-8 PYTHONUNBUFFERED=1
WORKDIR /opt/kernel-agent
CMD ["agent-worker"]
