# One image for every role: ROLE=api | worker | all (the default).
FROM node:20-bookworm-slim

# ffmpeg packages and remuxes; nginx with its RTMP and stream modules is the
# RTMP (and, with a certificate, RTMPS) server the service runs itself.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg redis-server nginx libnginx-mod-rtmp libnginx-mod-stream \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
# npm ci installs exactly the lockfile (it lists every platform's optional packages).
RUN npm ci --omit=dev --no-audit --no-fund

# Only what runs: the host's node_modules, data and fixtures stay out.
COPY tsconfig.json ./
COPY src ./src
COPY workers ./workers
COPY scripts ./scripts

# DATA_DIR holds the embedded Redis (when REDIS_URL is unset), keys and VOD files.
RUN mkdir -p /data && chown node:node /data
ENV ROLE=all NODE_ENV=production DATA_DIR=/data
VOLUME ["/data"]
USER node
# HTTP (API, playback, HLS push), RTMP, RTMPS, SRT.
EXPOSE 8080 1935 1936 8890/udp

# tsx as a loader keeps the service as PID 1's only process, so `docker stop`
# (SIGTERM) reaches it directly.
CMD ["node", "--import", "tsx", "src/main.ts"]
