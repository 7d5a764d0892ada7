# shellcheck shell=bash disable=SC2034 # OURS_* are read by the scripts that source this file
# Shared by bench/redis-suite.sh and bench/redis-benchmark-suite.sh (sourced, not run): Debian
# packages on demand, free loopback ports, our 3-node cluster and redis-server, each stopped by
# `stop_started` (call it from the script's EXIT trap).
#
#   need_apt CMD PKG [CMD PKG …]    apt-get install the packages whose command is missing
#   free_base_port                  a port P with P..P+2, P+1000.., P+2000.. all unused
#   start_ours DIR BASE [FLAGS…]    `distributed cluster up` in the background; waits until
#                                   every node acknowledges a write; sets OURS_LEADER_PORT and
#                                   OURS_FOLLOWER_PORT
#   stop_ours                       SIGINT the cluster (it stops its nodes), SIGKILL if stuck
#   start_redis DIR PORT memory|always   redis-server on loopback, no RDB; AOF fsync always
#   stop_redis DIR
#
# Every wait is a bounded number of tries. Needs $BIN (our release binary).

OURS_PID=""
STARTED_REDIS_DIRS=()

need_apt() {
  local missing=()
  while [ $# -gt 0 ]; do command -v "$1" >/dev/null || missing+=("$2"); shift 2; done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing ${missing[*]} (apt-get)" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_base_port() {
  local base p ok
  for _ in $(seq 1 50); do
    base=$((20000 + RANDOM % 9000))
    ok=1
    for p in $base $((base + 1)) $((base + 2)) $((base + 1000)) $((base + 1001)) $((base + 1002)) \
      $((base + 2000)) $((base + 2001)) $((base + 2002)); do
      port_in_use "$p" && { ok=0; break; }
    done
    [ "$ok" = 1 ] && { echo "$base"; return 0; }
  done
  echo "no free port range found in 50 tries" >&2
  return 1
}

# The leader's id as `distributed kv info` reports it (`leader:nK`), or nothing.
ours_leader_id() {
  "$BIN" kv --addr "127.0.0.1:$1" info 2>/dev/null | tr -d '\r' | sed -n 's/^leader:n\{0,1\}\([0-9][0-9]*\)$/\1/p'
}

start_ours() {
  local dir=$1 base=$2 port i leader=""
  shift 2
  mkdir -p "$dir"
  "$BIN" cluster up --nodes 3 --data-dir "$dir" --base-port "$base" "$@" >"$dir/cluster.log" 2>&1 &
  OURS_PID=$!
  for port in $base $((base + 1)) $((base + 2)); do   # every node acknowledges a write
    for i in $(seq 1 150); do
      "$BIN" kv --addr "127.0.0.1:$port" set redis-lib:ready 1 >/dev/null 2>&1 && break
      [ "$i" = 150 ] && { echo "our node on $port never answered; see $dir/cluster.log" >&2; return 1; }
      sleep 0.1
    done
  done
  for _ in $(seq 1 100); do
    leader=$(ours_leader_id "$base")
    [ -n "$leader" ] && break
    sleep 0.1
  done
  [ -n "$leader" ] || { echo "no leader on $base; see $dir/cluster.log" >&2; return 1; }
  OURS_LEADER_PORT=$((base + leader - 1))
  OURS_FOLLOWER_PORT=$((base + leader % 3))   # the next node round the ring
}

stop_ours() {
  local pid=${OURS_PID:-}
  [ -n "$pid" ] || return 0
  kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  OURS_PID=""
}

start_redis() {
  local dir=$1 port=$2 mode=$3 persist
  case "$mode" in
    memory) persist=(--save "" --appendonly no) ;;
    always) persist=(--save "" --appendonly yes --appendfsync always) ;;
    *) echo "start_redis: mode must be memory or always, not $mode" >&2; return 2 ;;
  esac
  rm -rf "$dir"; mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" "${persist[@]}"
  STARTED_REDIS_DIRS+=("$dir")
  for _ in $(seq 1 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "redis-server on $port did not start; log in $dir/redis.log" >&2
  return 1
}

stop_redis() {
  local dir=$1 pid
  [ -f "$dir/redis.pid" ] || return 0
  pid=$(cat "$dir/redis.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/redis.pid"
}

stop_started() {
  local d
  stop_ours
  for d in "${STARTED_REDIS_DIRS[@]}"; do stop_redis "$d"; done
}
