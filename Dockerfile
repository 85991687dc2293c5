# Stagedoor on a Node LTS image with Debian's FFmpeg.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No dependency has install scripts; the package's own `prepare` (a build) waits for the sources below.
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY public ./public
COPY config ./config
RUN mkdir -p /app/media /app/state && chown -R node:node /app/media /app/state
USER node
EXPOSE 1935 1936 8080 8081
VOLUME ["/app/media", "/app/state"]
# Ready = listening, media directory writable, keys loaded (the admin port's /readyz, on loopback).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8081/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# tini reaps FFmpeg children and forwards SIGTERM so shutdown is graceful.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/main.js"]
CMD ["--config", "/app/config/docker.json"]
