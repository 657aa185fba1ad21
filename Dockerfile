# The worker and the web server, for docker-compose.yml. Both run from one image built from the workspace.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY contract/package.json contract/
COPY worker/package.json worker/
COPY web/package.json web/
RUN npm ci --no-audit --no-fund
COPY contract contract
COPY worker worker
COPY web web
COPY samples samples
RUN npx tsc -b && npm run build -w web && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app /app
USER node
