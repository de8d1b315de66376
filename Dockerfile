# syntax=docker/dockerfile:1
# One image for every role: dist/src/main/all.js (default), bot.js or worker.js.

# Compiles with every dependency: `npm ci` runs `prepare` (`npm run build`), which type-checks
# src/ and jobs/ and writes dist/; a type error fails the image build.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# mongodb-memory-server (a dev dependency) would download MongoDB at install; not needed here.
ENV MONGOMS_DISABLE_POSTINSTALL=1
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY jobs ./jobs
RUN npm ci --no-audit --no-fund

# Production dependencies only: no TypeScript, tsx, esbuild, vitest or mongodb-memory-server.
# --ignore-scripts: `prepare` (the build) ran in the stage above.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=3000
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN mkdir -p /app/.data && chown -R node:node /app/.data
USER node
# 3000: Slack's public port (/slack/events, /healthz). 3001: the internal API (verify,
# /readyz, /metrics), bound to API_HOST: loopback unless the deployment sets it (compose does).
EXPOSE 3000 3001
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Exec form with node directly so SIGTERM reaches the process (graceful shutdown).
ENTRYPOINT ["node"]
CMD ["dist/src/main/all.js"]
