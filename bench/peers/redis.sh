#!/usr/bin/env bash
# One redis-server on loopback: the reference our RESP front end is measured against
# (bench/compare.sh, bench/get-vs-redis.sh).
#
#   bench/peers/redis.sh start memory|durable [PORT] [DIR]   prints 127.0.0.1:PORT once it answers PING
#   bench/peers/redis.sh stop [PORT] [DIR]                   returns once the process is gone
#
#   memory   nothing persisted (no RDB, no AOF): what serving RESP costs with no disk behind it
#   durable  append-only file fsynced before every reply (appendfsync always): acknowledged
#            means on disk, the nearest single-process match to our nodes' promise
#
# PORT defaults to 6390 (6379 is cluster up's), DIR to ${TMPDIR:-/tmp}/redis-peer-PORT; DIR
# holds the server's files, its log (redis.log) and its pid (redis.pid, read by
# get-vs-redis.sh). `start` wipes DIR and refuses a PORT that something already answers on.
# redis-server, redis-cli and redis-benchmark come from Debian's redis-server and redis-tools
# packages, installed with apt-get when missing (as root). Messages go to stderr: stdout is the
# address alone, for `addr=$(redis.sh start …)`.
set -euo pipefail

usage() { echo "usage: $0 start memory|durable [PORT] [DIR] | stop [PORT] [DIR]" >&2; exit 2; }
cmd=${1:-}
case "$cmd" in
  start) mode=${2:-}; [ $# -ge 2 ] || usage; shift 2 ;;
  stop) shift ;;
  *) usage ;;
esac
port=${1:-6390}
dir=${2:-${TMPDIR:-/tmp}/redis-peer-$port}
if ! [[ "$port" =~ ^[0-9]{1,5}$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
  echo "redis.sh: port $port is not a TCP port" >&2
  exit 2
fi

install_if_missing() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null &&
    command -v redis-benchmark >/dev/null && return
  echo "redis.sh: installing redis-server and redis-tools (apt-get)" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >&2
}

# Whether PID runs: a zombie (exited, not yet reaped by whoever adopted it) does not.
alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "${state#Z}" = "$state" ]
}

answers() { [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; }

start() {
  case "$mode" in
    memory) persistence=(--save "" --appendonly no) ;;
    durable) persistence=(--save "" --appendonly yes --appendfsync always) ;;
    *) echo "redis.sh: mode must be memory or durable, not '$mode'" >&2; exit 2 ;;
  esac
  install_if_missing
  if answers; then
    echo "redis.sh: something already answers on 127.0.0.1:$port; stop it or pick another port" >&2
    exit 1
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" "${persistence[@]}" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
    </dev/null >"$dir/start.log" 2>&1   # what it says before its own log is open
  for _ in $(seq 1 100); do        # up to 10 s
    if answers; then echo "127.0.0.1:$port"; return; fi
    sleep 0.1
  done
  echo "redis.sh: redis-server on $port never answered PING; its logs: $dir/start.log, $dir/redis.log" >&2
  exit 1
}

stop() {
  local pid
  pid=$(cat "$dir/redis.pid" 2>/dev/null || true)
  if [ -z "$pid" ] || ! alive "$pid"; then
    echo "redis.sh: no redis-server of ours runs from $dir" >&2
    rm -f "$dir/redis.pid"
    return
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 100); do        # up to 10 s for a clean shutdown, then SIGKILL
    alive "$pid" || { rm -f "$dir/redis.pid"; return; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
  rm -f "$dir/redis.pid"
}

"$cmd"
