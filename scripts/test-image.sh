#!/usr/bin/env bash
# Runs the image as the Kubernetes Job of `iocptls k8s-job` would, with podman on one network:
# an `iocptls serve` container as the target, and N shard containers with the very arguments the
# Job gives its pods (read out of the manifest k8s-job prints), JOB_COMPLETION_INDEX and NODE_NAME
# set, pod 0 reachable by the Job's DNS name (<job>-0.<job>, a network alias). Checks:
#   1. every shard exits 0, they start within 100 ms of each other, and shard 0's log holds the
#      merged result, whose handshakes (warmup + window + drain) equal serve's own count exactly;
#   2. a shard that never comes: the others fail at --rendezvous-timeout, naming it;
#   3. a shard killed mid-run (SIGKILL): shard 0 exits 1, naming it.
# Prints one line per check and a summary; exits 1 when a check fails, 2 when podman cannot run.
#
#   bash scripts/build-image.sh && bash scripts/test-image.sh
#   IMAGE=localhost/iocptls:0.1.0 N=4 bash scripts/test-image.sh
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
version=$(node -p "require('$root/package.json').version")
IMAGE=${IMAGE:-localhost/iocptls:$version}
N=${N:-3}
tag=iocptls-t$$
net=$tag-net
job=bench
say() { echo "test-image: $*"; }
failed=0
check() { # check NAME CONDITION-EXIT-CODE DETAIL
  if [ "$2" = 0 ]; then say "PASS $1: $3"; else say "FAIL $1: $3"; failed=1; fi
}

command -v podman >/dev/null || { say "podman is missing (Debian: apt-get install podman)"; exit 2; }
podman image exists "$IMAGE" || { say "no image $IMAGE: build it with scripts/build-image.sh"; exit 2; }

# What podman needs on this host: limits no higher than ours (its defaults are higher than a
# container host may grant), and runc where the cgroups are v1/hybrid (crun refuses those).
run_opts=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096)
if [ "$(podman info --format '{{.Host.CgroupsVersion}}' 2>/dev/null)" = v1 ] && command -v runc >/dev/null; then
  run_opts+=(--runtime runc)
fi
podman run --rm "${run_opts[@]}" "$IMAGE" --version >/dev/null 2>&1 || { say "podman cannot run a container here: $(podman run --rm "${run_opts[@]}" "$IMAGE" --version 2>&1 | tail -1)"; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/iocptls-image-test-XXXXXX")
cleanup() {
  podman rm -f -t 0 $(podman ps -a --filter "label=iocptls-test=$tag" -q) >/dev/null 2>&1
  podman network rm -f "$net" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
podman network create "$net" >/dev/null
run() { podman run "${run_opts[@]}" --label "iocptls-test=$tag" --network "$net" "$@"; }
iocptls_here() { node "$root/bin/run.js" "$@"; }

# The pods' arguments, as the manifest gives them (js-yaml reads it back), for a bench and a timeout.
pod_args() { # pod_args RENDEZVOUS_TIMEOUT BENCH...
  local timeout=$1
  shift
  iocptls_here k8s-job --parallelism "$N" --name "$job" --image "$IMAGE" --rendezvous-timeout "$timeout" -- "$@" 2>/dev/null |
    node -e "const y=require('$root/node_modules/js-yaml');let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const j=y.loadAll(s).find(d=>d.kind==='Job');for(const a of j.spec.template.spec.containers[0].args)console.log(a)})"
}

# One pod: named and aliased as the Job's pod <job>-<i> is in the cluster's DNS (<job>-<i>.<job>).
start_pod() { # start_pod INDEX ARGS...
  local i=$1
  shift
  run -d --name "$tag-$job-$i" --hostname "$job-$i" --network-alias "$job-$i.$job" \
    -e JOB_COMPLETION_INDEX="$i" -e NODE_NAME="node-$i" "$IMAGE" "$@" >/dev/null
}
wait_exit() { podman wait "$1" 2>/dev/null | tail -1; }
remove_pods() { podman rm --ignore -f -t 0 $(for ((i = 0; i < N; i++)); do echo "$tag-$job-$i"; done) >/dev/null 2>&1; }
logs() { podman logs "$1" 2>&1; }

# The target: iocptls serve, listening on the network (in its own container, as a cluster service would).
run -d --name "$tag-server" --network-alias server "$IMAGE" serve --host 0.0.0.0 --port 4433 -w 1 --json >/dev/null
for _ in $(seq 100); do podman logs "$tag-server" 2>&1 | grep -q 'listening on' && break; sleep 0.2; done

# --- 1. N shards, together -----------------------------------------------------------------------
mapfile -t args < <(pod_args 120 bench server:4433 -c $((2 * N)) -w 1 -d 3 --warmup 1)
say "pods run: iocptls ${args[*]}"
t0=$(date +%s.%N)
for ((i = N - 1; i >= 0; i--)); do start_pod "$i" "${args[@]}"; done
codes=()
for ((i = 0; i < N; i++)); do codes+=("$(wait_exit "$tag-$job-$i")"); done
t1=$(date +%s.%N)
podman stop -t 10 "$tag-server" >/dev/null
podman logs "$tag-server" > "$work/serve.json" 2> "$work/serve.err"
logs "$tag-$job-0" > "$work/pod0.log"
iocptls_here report - --json < "$work/pod0.log" > "$work/merged.json" 2> "$work/report.err"
zero=0
for c in "${codes[@]}"; do [ "$c" = 0 ] || zero=1; done
check "exit codes" $zero "shards exited ${codes[*]} ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f s", b - a }') from the first container to the last exit)"
summary=$(node -e "
const m = require('$work/merged.json'), s = require('$work/serve.json');
const rows = m.shards || [];
const act = rows.map((r) => r.startAt.actualMs);
const skew = Math.max(...act) - Math.min(...act);
const ours = m.warmup.totals.handshakes + m.totals.handshakes + m.afterWindow.handshakes;
console.log([rows.length, skew.toFixed(2), ours, s.totals.handshakes, rows.map((r) => r.node).join(','), m.merged.of, rows.map((r) => r.startAt.lateMs.toFixed(1)).join(',')].join(' '));
" 2>&1) || summary="error $summary"
read -r shards skew ours server nodes of late <<< "$summary"
check "merged result" $([ "$shards" = "$N" ] && [ "$of" = "$N" ]; echo $?) "shard 0's log holds the merged document of $shards of $of shards (nodes $nodes)"
check "start skew" $(awk -v s="$skew" 'BEGIN { exit !(s <= 100) }'; echo $?) "shards started ${skew} ms apart (each ${late} ms after the announced instant)"
check "merged count" $([ "$ours" = "$server" ]; echo $?) "merged handshakes (warmup + window + drain) $ours, serve counted $server"
remove_pods

# --- 2. a shard that never comes ----------------------------------------------------------------
run -d --name "$tag-server2" --network-alias server2 "$IMAGE" serve --host 0.0.0.0 --port 4433 -w 1 >/dev/null
mapfile -t args < <(pod_args 8 bench server2:4433 -c $((2 * N)) -w 1 -d 2 --warmup 0)
t0=$(date +%s.%N)
for ((i = 0; i < N - 1; i++)); do start_pod "$i" "${args[@]}"; done
ok=0
for ((i = 0; i < N - 1; i++)); do
  c=$(wait_exit "$tag-$job-$i")
  logs "$tag-$job-$i" > "$work/missing$i.log"
  [ "$c" = 1 ] && grep -q "shard $((N - 1)) of $N did not join within 8 s" "$work/missing$i.log" || ok=1
done
t1=$(date +%s.%N)
line=$(grep -h "^iocptls: .*did not join" "$work/missing0.log" | head -1)
check "missing shard" $ok "every waiting shard exited 1 after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f s", b - a }'): ${line#iocptls: }"
remove_pods

# --- 3. a shard killed mid-run ------------------------------------------------------------------
mapfile -t args < <(pod_args 120 bench server2:4433 -c $((2 * N)) -w 1 -d 6 --warmup 0)
for ((i = N - 1; i >= 0; i--)); do start_pod "$i" "${args[@]}"; done
for _ in $(seq 300); do logs "$tag-$job-0" | grep -q 'shards ready' && break; sleep 0.2; done
sleep 2
podman kill -s KILL "$tag-$job-$((N - 1))" >/dev/null
c0=$(wait_exit "$tag-$job-0")
logs "$tag-$job-0" > "$work/killed0.log"
line=$(grep -h "shard $((N - 1))/$N disconnected mid-run" "$work/killed0.log" | head -1)
check "killed shard" $([ "$c0" = 1 ] && [ -n "$line" ]; echo $?) "shard 0 exited $c0: ${line#iocptls: }"

size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
say "image $IMAGE: $(awk -v b="$size" 'BEGIN { printf "%.1f MB", b / 1e6 }'); $N shards; start skew ${skew} ms; merged $ours handshakes, server $server"
[ "$failed" = 0 ] && say "all checks passed" || say "some checks FAILED (logs: podman logs of $tag-*, kept in $work until exit)"
exit $failed
