# Stock Bazaar: one image for the catalog, the order replicas and the front end.
#
#   docker build -t stock-bazaar:latest .
#   docker run stock-bazaar:latest catalog|order|frontend
#
# compose.yaml and deploy/k8s run the whole bazaar from it (README: "Deploying on several machines").

# ---- build: compile sqlite3 and the apps, then drop the dev dependencies ----
FROM node:20-bookworm-slim AS build
# sqlite3 is compiled from source (.prebuild-installrc), with node-gyp: python3, make and g++.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# node-gyp takes Node's headers from the image instead of downloading them.
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json .prebuild-installrc ./
# Install scripts off: the root postinstall (`npm run build`) would run before the sources are
# here. The one install script the apps need, sqlite3's native build, runs in `npm rebuild`,
# which reads .prebuild-installrc and compiles it; the last line proves the module loads.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild sqlite3 \
 && node -e "new (require('sqlite3').Database)(':memory:').close()"
COPY nest-cli.json tsconfig.json ./
COPY apps ./apps
COPY libs ./libs
# prune keeps the compiled sqlite3 module; --ignore-scripts so postinstall does not build again
# without the dev dependencies.
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: production dependencies, the built apps, a non-root user ----
FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY deploy/docker ./deploy/docker
# A new named volume takes the owner of the image's /data: the node user may write it.
RUN mkdir /data && chown node:node /data
ENV HOST=0.0.0.0 \
    DATA_DIR=/data \
    LOG_FORMAT=json
VOLUME /data
USER node
# catalog, order replicas 1-3 (their default ports), front end
EXPOSE 10001 20001 20002 20003 30001
# order: /ping (ready once recovered); catalog: /health; frontend: /health (deploy/docker/healthcheck.js)
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "/app/deploy/docker/healthcheck.js"]
# node becomes PID 1 (the script execs it), so SIGTERM reaches the app's graceful shutdown.
ENTRYPOINT ["/bin/sh", "/app/deploy/docker/entrypoint.sh"]
