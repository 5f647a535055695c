# One image for the simulation's shards and its coordinator (docs/SIMULATION.md, "Beyond one machine").
# Node >= 22.18 runs the TypeScript sources directly (type stripping): there is no build step.
FROM node:22-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production

# dependencies first, so a source change does not reinstall them
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY configs ./configs
COPY simulations ./simulations

# A shard reads CITYCODE_SIM_COORDINATOR, CITYCODE_SIM_SHARD (or JOB_COMPLETION_INDEX) and
# CITYCODE_SIM_HOST; its nodes listen on ephemeral TCP ports of CITYCODE_SIM_HOST. The coordinator
# (the same image with `citycode sim run ... --external-shards`) listens on 7070 for the shards.
EXPOSE 7070
USER node
ENTRYPOINT ["node", "--expose-gc", "src/interfaces/simulator/shard-main.ts"]
