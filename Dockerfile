# syntax=docker/dockerfile:1
# Rampart's image: a build stage (npm ci, which builds the web UI and the embeddings table,
# then the production dependencies, trimmed) and a runtime stage with only what runs: the
# pinned Node 24 binary, glibc and libstdc++, production node_modules and the app.
# No shell, no package manager and no compilers in the runtime stage.
#
# Base images are arguments. The defaults are public images (pin them by digest, see
# README "Deploy"); `npm run image` builds both from Debian packages instead
# (scripts/image.ts) and passes them here.
#   BUILD_BASE:   Debian bookworm with node and npm on PATH (npm runs the install).
#   RUNTIME_BASE: glibc, libgcc and libstdc++ and nothing else (distroless "cc").
ARG BUILD_BASE=docker.io/library/node:24-bookworm-slim
ARG RUNTIME_BASE=gcr.io/distroless/cc-debian12:nonroot

FROM ${BUILD_BASE} AS build
# strip (binutils): the Node binary ships with debug info (127 MB; 107 MB stripped).
RUN command -v strip >/dev/null || (apt-get update && apt-get install -y --no-install-recommends binutils && rm -rf /var/lib/apt/lists/*)
WORKDIR /app
COPY . .
# npm ci runs the install scripts (the `node` package fetches the pinned Node 24 binary)
# and the project's `prepare` (the web UI into web/dist, the embeddings table into generated/).
# Behind a TLS-inspecting proxy, the proxy's CA comes in as a build secret (never a layer):
# `npm run image` passes NODE_EXTRA_CA_CERTS's file; without one the file is empty.
RUN --mount=type=secret,id=extra-ca-certs,target=/run/secrets/extra-ca-certs \
    if [ -s /run/secrets/extra-ca-certs ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/extra-ca-certs; fi \
 && npm ci --no-audit --no-fund
# Either may be absent on a branch without that step; the runtime stage copies both.
RUN mkdir -p web/dist generated \
 && mkdir -p /out/bin /out/data \
 && strip --strip-all -o /out/bin/node node_modules/node/bin/node \
 && /out/bin/node --version \
 && npm prune --omit=dev --no-audit --no-fund \
 && /out/bin/node scripts/image-prune.ts .

FROM ${RUNTIME_BASE}
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="rampart" \
      org.opencontainers.image.description="Rampart: accounts, documents, knowledge base, polls and monitoring behind one API" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="UNLICENSED"
COPY --from=build /out/bin/node /usr/local/bin/node
WORKDIR /app
# Owned by root and read-only to the service: the process cannot change its own code.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/src ./src
COPY --from=build /app/migrations ./migrations
COPY --from=build /app/web/dist ./web/dist
COPY --from=build /app/generated ./generated
# The one writable place besides /tmp; mount a volume here (an empty named volume takes this owner).
COPY --from=build --chown=10001:10001 /out/data /data
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data \
    WORKER_HEALTH_PORT=3200
USER 10001:10001
EXPOSE 3000 3100 3200
# Probes /health/live of whichever role runs (serve, render, worker) on its own port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/node", "/app/bin/rampart.js", "health"]
ENTRYPOINT ["/usr/local/bin/node", "/app/bin/rampart.js"]
CMD ["serve"]
