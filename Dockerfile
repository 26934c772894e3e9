# Hookline: build TypeScript once, run the compiled JavaScript on a slim Node 24 LTS image.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# SQL migrations of the PostgreSQL history, applied at start (and by `npm run migrate`).
COPY migrations ./migrations
USER node
EXPOSE 3000
# ROLE (all | api | worker) picks what the process runs; SIGTERM drains gracefully.
# The flags of `npm start` (none); main.js restarts itself in place with --max-semi-space-size=8
# unless tracing is on or MAX_SEMI_SPACE_MB says otherwise (docs/operations.md, "Node.js flags").
CMD ["node", "dist/src/main.js"]
