#!/usr/bin/env bash
# RESP GET and SET through redis-benchmark: our 3-node cluster (ReadIndex reads, then lease
# reads) against redis-server (memory mode), in one run, with each server's CPU per request.
#
#   bench/get-vs-redis.sh [--bin PATH] [-n REQUESTS] [--rounds N]
#
#   start: ours read-index (RESP 127.0.0.1:27379-27381), ours lease (37379-37381),
#          redis-server memory (127.0.0.1:26390)
#   per round, in turn: redis-benchmark -t get -n N -c 50 -q against each leader and redis,
#   then -t set once per system; CPU per request = the server processes' utime+stime
#   (/proc/PID/stat) over the run, divided by N, so the followers' share shows too.
#
# Every process this script starts is stopped on exit (trap). Interleaving the systems round by
# round keeps a noisy machine (other builds) from favouring one of them; compare within a round.
# Env: PEERS_DIR: where redis.sh lives (default: bench/peers, beside this script).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin="$repo/target/release/distributed"; n=200000; rounds=3
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=${2:?}; shift ;;
    -n) n=${2:?}; shift ;;
    --rounds) rounds=${2:?}; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown flag $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
peers_dir=${PEERS_DIR:-$repo/bench/peers}
[ -f "$peers_dir/redis.sh" ] || { echo "cannot find redis.sh in $peers_dir (PEERS_DIR)" >&2; exit 2; }
[ -x "$bin" ] || { echo "no binary at $bin: cargo build --release -p distributed" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/get-vs-redis.XXXXXX")
pids=()
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  bash "$peers_dir/redis.sh" stop 26390 "$tmp/redis" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

# Start a cluster in this shell (so the trap knows its pid).
start() {
  local base=$1 reads=$2
  "$bin" cluster up --nodes 3 --data-dir "$tmp/$reads" --base-port "$base" --reads "$reads" \
    >"$tmp/$reads.log" 2>&1 &
  pids+=($!)
}
# Wait for the cluster on BASE to elect; print "LEADER_PORT PID PID PID" (the leader's first).
leader_of() {
  local base=$1 reads=$2 leader="" port
  for _ in $(seq 1 100); do
    leader=$("$bin" kv --addr "127.0.0.1:$base" info 2>/dev/null | sed -n 's/^leader:n\([0-9]*\)\r\{0,1\}$/\1/p' | tr -d '\r')
    [ -n "$leader" ] && break
    sleep 0.1
  done
  [ -n "$leader" ] || { echo "no leader on $base; log in $tmp/$reads.log" >&2; exit 1; }
  port=$((base + leader - 1))
  local lead others=()
  for i in 1 2 3; do
    local p
    p=$(pgrep -f -- "--listen 127.0.0.1:$((base + i - 1)) " | head -1)
    if [ "$i" = "$leader" ]; then lead=$p; else others+=("$p"); fi
  done
  echo "$port $lead ${others[*]}"
}
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# run NAME TEST PORT PIDS…: one redis-benchmark run, then its CPU per request per process.
run() {
  local name=$1 t=$2 port=$3; shift 3
  local before=() p i=0 line
  for p in "$@"; do before+=("$(cpu "$p")"); done
  line=$(redis-benchmark -p "$port" -t "$t" -n "$n" -c 50 -q | tr '\r' '\n' | grep -a ': ' | tail -1)
  local shares=()
  for p in "$@"; do
    shares+=("$(awk -v a="$(cpu "$p")" -v b="${before[$i]}" -v n="$n" -v hz="$(getconf CLK_TCK)" \
      'BEGIN { printf "%.1f", (a - b) * 1e6 / hz / n }')")
    i=$((i + 1))
  done
  printf '%-22s %-60s cpu us/req: %s\n' "$name" "$line" "${shares[*]}"
}

start 27379 read-index
start 37379 lease
read -r ri_port ri_pids <<<"$(leader_of 27379 read-index)"
read -r le_port le_pids <<<"$(leader_of 37379 lease)"
[ -n "$ri_port" ] && [ -n "$le_port" ] || exit 1 # leader_of said why
bash "$peers_dir/redis.sh" start memory 26390 "$tmp/redis" >/dev/null
redis_pid=$(cat "$tmp/redis/redis.pid")
echo "ours read-index leader :$ri_port, lease leader :$le_port, redis :26390; -n $n -c 50"
echo "cpu us/req: leader first, then the followers"
for r in $(seq 1 "$rounds"); do
  echo "-- round $r"
  # shellcheck disable=SC2086
  run "ours read-index" get "$ri_port" $ri_pids
  run "redis-server memory" get 26390 "$redis_pid"
  # shellcheck disable=SC2086
  run "ours lease" get "$le_port" $le_pids
done
echo "-- writes"
# shellcheck disable=SC2086
run "ours" set "$ri_port" $ri_pids
run "redis-server memory" set 26390 "$redis_pid"
