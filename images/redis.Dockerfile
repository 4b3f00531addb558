# The compose cluster's Redis: Debian's redis-server. The password comes from REDISCLI_AUTH (which
# redis-cli reads too) through a config file, so it never shows in the process list.
#   BASE: as in images/agent.Dockerfile (a public Debian-like base gets redis-server installed here).
ARG BASE=kernel-agent-base:latest
FROM ${BASE}
RUN command -v redis-server >/dev/null \
 || (apt-get update \
     && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
     && rm -rf /var/lib/apt/lists/*)
RUN mkdir -p /data && chown redis:redis /data
USER redis
WORKDIR /data
EXPOSE 6379
# Append-only file in /data (a volume), never evict (evicting kombu's binding keys breaks routing).
CMD ["sh", "-c", "umask 077 && printf 'requirepass \"%s\"\\n' \"${REDISCLI_AUTH:?set REDISCLI_AUTH}\" >/tmp/redis.conf && exec redis-server /tmp/redis.conf --dir /data --appendonly yes --maxmemory-policy noeviction --protected-mode no"]
