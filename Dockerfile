# node-rdkafka builds its bundled librdkafka from source: the build stage needs a toolchain.
FROM node:20-bookworm AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends build-essential python3 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# The slim image has no OpenSSL: node-rdkafka's librdkafka links libssl.so.3 and libcrypto.so.3
# (libssl3) and libz.so.1 (zlib1g); ca-certificates lets it verify brokers over TLS.
# test/unit/project/docker-image.test.ts checks this list against what `ldd` finds.
RUN apt-get update && apt-get install -y --no-install-recommends libssl3 zlib1g ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production QUIKCHAT_STACK=off
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/schemas ./schemas
COPY --from=build /app/bin ./bin
# The operators' console serves its page script and stylesheet as they are (see src/console/assets).
COPY --from=build /app/src/console/assets ./src/console/assets
COPY package.json ./
EXPOSE 4000 50054
USER node
CMD ["node", "bin/quikchat.cjs", "start"]
