# syntax=docker/dockerfile:1
# One image for every role: `npm start` (all), `npm run start:bot`, `npm run start:worker`.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; tsx runs the TypeScript sources directly.
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=3000
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY jobs ./jobs
RUN mkdir -p /app/.data && chown -R node:node /app/.data
USER node
# 3000: Slack's public port (/slack/events, /healthz). 3001: the internal API (verify,
# /readyz, /metrics), bound to API_HOST: loopback unless the deployment sets it (compose does).
EXPOSE 3000 3001
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Exec form with node directly so SIGTERM reaches the process (graceful shutdown).
ENTRYPOINT ["node", "--import", "tsx"]
CMD ["src/main/all.ts"]
