# The Python kernel image, for hosts that can pull base images from a registry.
# (Offline hosts use images/build-python-kernel.sh, which builds the same thing from Debian packages.)
#   docker build -f images/python-kernel.Dockerfile -t kernel-python:latest images/
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 procps \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /home/work /home/config /opt/kernel \
 && chmod 1777 /home/work
ENV LANG=C.UTF-8
WORKDIR /home/work
# What the agent reads from an image (images/README.md): the runtime, its features, its services.
LABEL ai.backend.kernelspec="1" \
      ai.backend.runtime-type="python" \
      ai.backend.runtime-path="/usr/bin/python3" \
      ai.backend.base-distro="debian-bookworm" \
      ai.backend.features="uid-match query batch" \
      ai.backend.service-ports="http-server:http:8080"
CMD ["/bin/sh"]
