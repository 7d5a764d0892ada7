#!/usr/bin/env bash
# Measure `distributed` against etcd and redis-server in one run, on this machine, with one
# load generator (`distributed bench`) and the same workloads, and print one markdown table.
#
#   bench/compare.sh [--quick] [--out DIR]
#
#   build release (--features etcd) ──► start: our 3-node cluster   (RESP 127.0.0.1:16379-16381)
#                                              etcd 3.4, 3 members   (127.0.0.1:23791-23793)
#                                              redis-server memory   (127.0.0.1:16390)
#                                              redis-server durable  (127.0.0.1:16391, appendfsync always)
#   for each system: preload the key space, then
#     writes    durable writes: 8-byte keys, 256-byte values (etcd's published benchmark shape)
#     lin-reads linearizable reads of preloaded keys (ours: ReadIndex; etcd: default Range)
#     ser-reads serializable reads (etcd's serializable Range; ours over READONLY connections,
#               served from a node's local state; redis-server refuses READONLY: "n/a")
#     mix       50% linearizable reads, 50% durable writes
#     each at 1 client and at 256 clients (etcd: 256 clients over 32 gRPC connections, as
#     etcd's own benchmark shares connections; RESP: one connection per client)
#   then redis-benchmark -n 100000 -c 50 against ours (leader) and redis-server (memory):
#   -t set once each, then -t get three times, alternating; the GET medians are compared.
#
# Every process this script starts is stopped on exit (trap), whatever happens.
# Fairness: the leader of ours and of etcd is put first in its endpoint list, so the 1-client
# runs talk to the leader on both sides (followers forward on both, at a hop's cost).
#
# Env: QUICK=1 (same as --quick: 1 s per run, small key space, -n 10000 for redis-benchmark),
#      DURATION, WARMUP, KEYS override the run length, warm-up and key space;
#      PEERS_DIR: where etcd-cluster.sh and redis.sh live (default: bench/peers, beside this
#      script: each installs its peer from Debian's packages if missing).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
quick=${QUICK:-0}
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --out) out=${2:?--out needs a directory}; shift ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "unknown flag $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$quick" = 1 ]; then
  duration=${DURATION:-1s}; warmup=${WARMUP:-200ms}; keys=${KEYS:-1000}; rb_n=10000
else
  duration=${DURATION:-10s}; warmup=${WARMUP:-2s}; keys=${KEYS:-10000}; rb_n=100000
fi
peers_dir=${PEERS_DIR:-$repo/bench/peers}
for script in etcd-cluster.sh redis.sh; do
  [ -f "$peers_dir/$script" ] || { echo "cannot find $script in $peers_dir (PEERS_DIR)" >&2; exit 2; }
done

need_apt() {  # install Debian packages whose command is missing
  local missing=()
  while [ $# -gt 0 ]; do command -v "$1" >/dev/null || missing+=("$2"); shift 2; done
  [ ${#missing[@]} -eq 0 ] && return
  echo "installing ${missing[*]}" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null
}
need_apt protoc protobuf-compiler jq jq etcd etcd-server etcdctl etcd-client \
  redis-server redis-server redis-benchmark redis-tools

echo "building release with the etcd backend…" >&2
(cd "$repo" && cargo build --release -p distributed --features etcd --quiet)
bin="$repo/target/release/distributed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/compare.XXXXXX")
[ -n "$out" ] || out="$tmp/results"
mkdir -p "$out"
cluster_pid=""
cleanup() {
  set +e
  if [ -n "$cluster_pid" ]; then
    kill -INT "$cluster_pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$cluster_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$cluster_pid" 2>/dev/null
  fi
  bash "$peers_dir/etcd-cluster.sh" stop "$tmp/etcd" >/dev/null 2>&1
  bash "$peers_dir/redis.sh" stop 16390 "$tmp/redis-mem" >/dev/null 2>&1
  bash "$peers_dir/redis.sh" stop 16391 "$tmp/redis-dur" >/dev/null 2>&1
  rm -rf "$tmp/ours" "$tmp/etcd" "$tmp/redis-mem" "$tmp/redis-dur"
  [ "$out" = "$tmp/results" ] || rm -rf "$tmp"  # the temp dir goes unless the results live in it
}
trap cleanup EXIT

# --- start everything ------------------------------------------------------------------------
"$bin" cluster up --nodes 3 --data-dir "$tmp/ours" --base-port 16379 >"$out/cluster.log" 2>&1 &
cluster_pid=$!
for port in 16379 16380 16381; do   # every node acknowledges a write: a leader exists
  for i in $(seq 1 150); do
    "$bin" kv --addr "127.0.0.1:$port" set ready 1 >/dev/null 2>&1 && break
    [ "$i" = 150 ] && { echo "our node on $port never answered; see $out/cluster.log" >&2; exit 1; }
    sleep 0.1
  done
done
leader=$("$bin" kv --addr 127.0.0.1:16379 info | tr -d '\r' | sed -n 's/^leader:n\{0,1\}\([0-9]*\)$/\1/p')
ours=""
for i in 1 2 3; do
  ep="127.0.0.1:$((16378 + i))"
  if [ "$i" = "$leader" ]; then ours="$ep${ours:+,$ours}"; else ours="${ours:+$ours,}$ep"; fi
done
etcd_eps=$(bash "$peers_dir/etcd-cluster.sh" start "$tmp/etcd")
etcd_leader=$(ETCDCTL_API=3 etcdctl --endpoints="$etcd_eps" endpoint status -w json |
  jq -r '.[] | select(.Status.header.member_id == .Status.leader) | .Endpoint')
etcd="$etcd_leader"
for ep in ${etcd_eps//,/ }; do [ "$ep" = "$etcd_leader" ] || etcd="$etcd,$ep"; done
redis_mem=$(bash "$peers_dir/redis.sh" start memory 16390 "$tmp/redis-mem")
redis_dur=$(bash "$peers_dir/redis.sh" start durable 16391 "$tmp/redis-dur")
echo "ours resp://$ours (leader first)  etcd etcd://$etcd  redis memory $redis_mem durable $redis_dur" >&2

# --- the runs --------------------------------------------------------------------------------
systems=(ours etcd redis-mem redis-dur)
declare -A target=([ours]="resp://$ours" [etcd]="etcd://$etcd"
  [redis-mem]="resp://$redis_mem" [redis-dur]="resp://$redis_dur")
# workload name → bench flags
declare -A workload=([writes]="--read-ratio 0" [lin-reads]="--read-ratio 1"
  [ser-reads]="--read-ratio 1 --consistency serializable" [mix]="--read-ratio 0.5")
workloads=(writes lin-reads ser-reads mix)
results="$out/results.tsv"
: >"$results"

bench() {  # system workload clients
  local sys=$1 wl=$2 clients=$3 conns=$3 json="$out/$1-$2-$3.json"
  [ "$sys" = etcd ] && [ "$clients" -gt 32 ] && conns=32
  rm -f "$json"
  # shellcheck disable=SC2086 # the workload's flags are words
  if "$bin" bench --target "${target[$sys]}" --clients "$clients" --conns "$conns" \
      --duration "$duration" --warmup "$warmup" --keys "$keys" --key-size 8 --val-size 256 \
      ${workload[$wl]} --json "$json" >"$out/$1-$2-$3.txt" 2>&1; then :; else
    if grep -q "not supported" "$out/$1-$2-$3.txt"; then
      printf '%s\t%s\t%s\tn/a\tn/a\tn/a\tn/a\n' "$sys" "$wl" "$clients" >>"$results"; return
    fi
    [ -f "$json" ] || { echo "bench $sys $wl $clients failed:" >&2; cat "$out/$1-$2-$3.txt" >&2; exit 1; }
  fi
  jq -r --arg s "$sys" --arg w "$wl" --arg c "$clients" \
    '[$s, $w, $c, (.throughput_rps|floor), (.latency_us.p50/1000), (.latency_us.p99/1000), .errors] | @tsv' \
    "$json" >>"$results"
  echo "  $sys $wl c=$clients: $(sed -n 2p "$out/$1-$2-$3.txt")" >&2
}

for sys in "${systems[@]}"; do
  echo "$sys: preloading $keys keys" >&2
  "$bin" bench --target "${target[$sys]}" --clients 64 --conns "$([ "$sys" = etcd ] && echo 16 || echo 64)" \
    --keys "$keys" --preload --total 1 >/dev/null
  for wl in "${workloads[@]}"; do
    for clients in 1 256; do bench "$sys" "$wl" "$clients"; done
  done
done

rb() {  # redis-benchmark -t TEST against host:port → requests per second
  redis-benchmark -h "${1%:*}" -p "${1#*:}" -t "$2" -n "$rb_n" -c 50 -q 2>/dev/null |
    tr '\r' '\n' | grep -E "^${2^^}: [0-9.]+ requests per second" |
    sed 's/^[A-Z]*: \([0-9.]*\) requests per second.*/\1/' | tail -1
}
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
# SET once per system (it also stores the key GET reads), then GET in rounds that alternate
# between the systems: one GET run lasts ~1 s and swings ±15% with scheduling on a small
# machine, so each side's median of three interleaved runs is compared, and all runs are shown.
rb_set_ours=$(rb "${ours%%,*}" set)
rb_set_redis=$(rb "$redis_mem" set)
rb_get_ours=(); rb_get_redis=()
for _ in 1 2 3; do
  rb_get_ours+=("$(rb "${ours%%,*}" get)")
  rb_get_redis+=("$(rb "$redis_mem" get)")
done
rb_ours="SET: $rb_set_ours GET: $(median3 "${rb_get_ours[@]}") (runs ${rb_get_ours[*]})"
rb_redis="SET: $rb_set_redis GET: $(median3 "${rb_get_redis[@]}") (runs ${rb_get_redis[*]})"
rb_ratio=$(awk -v a="$(median3 "${rb_get_ours[@]}")" -v b="$(median3 "${rb_get_redis[@]}")" \
  'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
printf 'redis-benchmark\t%s\t%s\t%s\n' "$rb_ours" "$rb_redis" "$rb_ratio" >"$out/redis-benchmark.tsv"

# --- the table -------------------------------------------------------------------------------
awk -F'\t' -v dur="$duration" -v keys="$keys" -v rbo="$rb_ours" -v rbr="$rb_redis" -v rbn="$rb_n" -v rbq="$rb_ratio" '
function cell(s, w, c,   k) { k = s SUBSEP w SUBSEP c
  if (!(k in rps)) return "-"
  if (rps[k] == "n/a") return "n/a"
  return sprintf("%d/s %.2f/%.2f ms%s", rps[k], p50[k], p99[k], err[k] > 0 ? " (" err[k] " err)" : "") }
function ratio(a, b, w, c,   ka, kb) { ka = a SUBSEP w SUBSEP c; kb = b SUBSEP w SUBSEP c
  if (rps[ka] == "n/a" || rps[kb] == "n/a" || rps[kb] + 0 == 0 || !(ka in rps) || !(kb in rps)) return "n/a"
  return sprintf("%.2f", rps[ka] / rps[kb]) }
{ k = $1 SUBSEP $2 SUBSEP $3; rps[k] = $4; p50[k] = $5; p99[k] = $6; err[k] = $7
  wc = $2 "\t" $3; if (!(wc in seen)) { seen[wc] = 1; order[n++] = wc } }
END {
  printf "Runs of %s, %s keys of 8 B, values 256 B; cells: throughput, p50/p99 latency.\n\n", dur, keys
  print "| workload | clients | ours | etcd | redis (memory) | redis (durable) | ours/etcd | ours/redis-durable | ours/redis-memory |"
  print "|---|---|---|---|---|---|---|---|---|"
  for (i = 0; i < n; i++) { split(order[i], a, "\t"); w = a[1]; c = a[2]
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", w, c, cell("ours", w, c), cell("etcd", w, c),
      cell("redis-mem", w, c), cell("redis-dur", w, c), ratio("ours", "etcd", w, c),
      ratio("ours", "redis-dur", w, c), ratio("ours", "redis-mem", w, c) }
  printf "\nredis-benchmark -n %s -c 50 (GET: median of 3 interleaved runs): ours (leader) %s req/s; redis-server memory %s req/s; GET ours/redis-memory %s\n", rbn, rbo, rbr, rbq
}' "$results" | tee "$out/table.md"
echo "raw results in $out" >&2
