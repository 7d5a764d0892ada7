#!/usr/bin/env bash
# redis-benchmark's whole default suite against our leader, a follower, and redis-server in
# memory mode and with `appendfsync always`, in one run: one table of requests per second.
#
#   bench/redis-benchmark-suite.sh [-n REQUESTS] [-c CLIENTS] [--timeout SECONDS] [--out DIR]
#
# Installs (apt-get, only what is missing): redis-server and redis-tools (redis-benchmark).
# Builds our release binary (cargo build --release -p distributed) and starts, on free loopback
# ports: a 3-node `distributed cluster up` in a temp dir, redis-server with no persistence
# ("memory") and redis-server with an append-only file fsynced on every write ("always", the
# closest single-node match to our "acknowledged means fsynced on a majority").
#
# Runs `redis-benchmark -q -n 20000 -c 20 -t TEST` once per test of the default suite (the
# order redis-benchmark uses: PING_INLINE … MSET), each test against the four targets in turn so
# a noisy moment on this shared machine does not fall on one target only. One invocation per test
# and target, under a timeout, because a target that answers an error (a command we do not
# implement yet) ends redis-benchmark or could leave it waiting: that cell reads
# "error: <the server's message>" and the script goes on. LRANGE_* first runs redis-benchmark's
# own "LPUSH (needed to benchmark LRANGE)" step, so it fails where LPUSH does.
#
# Prints one markdown table: requests per second per test per target, and the ratios
# ours (leader) / redis memory, ours (leader) / redis always, ours (follower) / redis always.
# Time: about 80 s today (ours answers an error from LPUSH on at once), a few minutes once every
# test works (20,000 requests × 19 tests × 4 targets, plus the release build when it is stale).
# --timeout bounds each invocation (default 120 s).
# Figures swing ±15% from run to run on 2 shared cores: compare within one run. Without -r every
# request of a test uses the same key and member, so after the first one SADD, ZADD, SPOP and
# ZPOPMIN change nothing, and redis "always" has nothing to fsync for them (it runs at memory speed).
# Everything this script starts is stopped on exit.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
requests=20000; clients=20; invocation_timeout_s=120; out=""
while [ $# -gt 0 ]; do
  case "$1" in
    -n) requests=${2:?-n needs a count}; shift ;;
    -c) clients=${2:?-c needs a count}; shift ;;
    --timeout) invocation_timeout_s=${2:?}; shift
      [[ "$invocation_timeout_s" =~ ^[1-9][0-9]*$ ]] || { echo "--timeout takes whole seconds" >&2; exit 2; } ;;
    --out) out=${2:?--out needs a directory}; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown flag $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$requests" =~ ^[1-9][0-9]*$ && "$clients" =~ ^[1-9][0-9]*$ ]] || {
  echo "-n and -c take positive whole numbers" >&2; exit 2; }

BIN="$repo/target/release/distributed"
# shellcheck source=bench/redis-lib.sh
source "$repo/bench/redis-lib.sh"
need_apt redis-server redis-server redis-benchmark redis-tools redis-cli redis-tools

echo "building release…" >&2
(cd "$repo" && cargo build --release -p distributed --quiet)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/redis-benchmark-suite.XXXXXX")
[ -n "$out" ] || out="$tmp/results"
mkdir -p "$out"
cleanup() { set +e; stop_started; rm -rf "$tmp/ours" "$tmp/redis-memory" "$tmp/redis-always"
  [ "$out" = "$tmp/results" ] || rm -rf "$tmp"; }
trap cleanup EXIT

start_ours "$tmp/ours" "$(free_base_port)"
memory_port=$(free_base_port); start_redis "$tmp/redis-memory" "$memory_port" memory
always_port=$(free_base_port); start_redis "$tmp/redis-always" "$always_port" always
targets=(leader follower memory always)
declare -A port=([leader]=$OURS_LEADER_PORT [follower]=$OURS_FOLLOWER_PORT
  [memory]=$memory_port [always]=$always_port)
echo "ours leader :$OURS_LEADER_PORT follower :$OURS_FOLLOWER_PORT; redis memory :$memory_port always :$always_port" >&2

# The default suite, as `-t` names, in redis-benchmark's order.
tests=(ping_inline ping_mbulk set get incr lpush rpush lpop rpop sadd hset spop zadd zpopmin
  lrange_100 lrange_300 lrange_500 lrange_600 mset)

# One invocation: prints requests per second, or "error: …".
bench_one() {  # TEST PORT LOG
  local rc=0 line want
  timeout -k 5 "$invocation_timeout_s" redis-benchmark -h 127.0.0.1 -p "$2" -q -n "$requests" \
    -c "$clients" -t "$1" >"$3" 2>&1 </dev/null || rc=$?
  # The result line starts with the test's upper-case name (LRANGE_100 (first 100 …): …).
  want=$(echo "$1" | tr '[:lower:]' '[:upper:]')
  line=$(tr '\r' '\n' <"$3" | grep -aE "^$want( \([^)]*\))?: [0-9.]+ requests per second" | tail -1 || true)
  if [ -n "$line" ] && [ "$rc" = 0 ]; then
    echo "$line" | sed -E 's/^[^:]*: ([0-9.]+) requests per second.*/\1/'
  elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "error: no result within ${invocation_timeout_s} s"
  else
    line=$(tr '\r' '\n' <"$3" | grep -a 'Error from server\|Error:\|error' | head -1 || true)
    line=${line#Error from server: }
    line=${line%%, with args beginning with*}
    echo "error: ${line:-exit $rc, no result line}"
  fi
}

results="$out/results.tsv"
: >"$results"
for t in "${tests[@]}"; do
  row=$t
  for target in "${targets[@]}"; do
    row="$row	$(bench_one "$t" "${port[$target]}" "$out/$t.$target.log")"
  done
  echo "$row" >>"$results"
  echo "  $row" >&2
done

awk -F'\t' -v n="$requests" -v c="$clients" '
function num(v) { return v ~ /^[0-9.]+$/ }
function cell(v) { return num(v) ? sprintf("%d", v + 0.5) : v }
function ratio(a, b) { return (num(a) && num(b) && b > 0) ? sprintf("%.2f", a / b) : "-" }
BEGIN {
  printf "redis-benchmark -q -n %s -c %s -t TEST, one invocation per test and target; requests per second.\n\n", n, c
  print "| test | ours leader | ours follower | redis memory | redis always | leader/memory | leader/always | follower/always |"
  print "|---|---|---|---|---|---|---|---|"
}
{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", toupper($1), cell($2), cell($3), cell($4), cell($5),
    ratio($2, $4), ratio($2, $5), ratio($3, $5) }' "$results" | tee "$out/table.md"
echo "logs in $out" >&2
