#!/usr/bin/env bash
# A 3-member etcd cluster on loopback: the Raft-replicated store we are measured against
# (bench/compare.sh).
#
#   bench/peers/etcd-cluster.sh start [DIR]   prints the client endpoints, comma separated, once
#                                              every member answers a health check (a leader exists)
#   bench/peers/etcd-cluster.sh stop [DIR]    returns once every member is gone
#
#   member mI (I = 1..3): clients on 127.0.0.1:2379I, peers on 127.0.0.1:2380I,
#   data in DIR/mI, log in DIR/mI.log, pid in DIR/mI.pid
#
# Members keep etcd's defaults that matter for a fair comparison: fsync on every commit,
# 100 ms heartbeat, 1 s election timeout. DIR defaults to ${TMPDIR:-/tmp}/etcd-peer; `start`
# wipes the members' data (a new cluster every time) and refuses ports something answers on.
# etcd and etcdctl come from Debian's etcd-server and etcd-client packages (etcd 3.4 on
# Debian 12), installed with apt-get when missing (as root). Messages go to stderr: stdout is
# the endpoint list alone, for `eps=$(etcd-cluster.sh start …)`.
set -euo pipefail

cmd=${1:-}
dir=${2:-${TMPDIR:-/tmp}/etcd-peer}
members=(1 2 3)
client_url() { echo "http://127.0.0.1:2379$1"; }
peer_url() { echo "http://127.0.0.1:2380$1"; }

install_if_missing() {
  command -v etcd >/dev/null && command -v etcdctl >/dev/null && return
  echo "etcd-cluster.sh: installing etcd-server and etcd-client (apt-get)" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server etcd-client >&2
}

# Whether PID runs: a zombie (exited, not yet reaped by whoever adopted it) does not.
alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "${state#Z}" = "$state" ]
}

port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  install_if_missing
  local i endpoints=() initial=()
  for i in "${members[@]}"; do
    for port in "2379$i" "2380$i"; do
      if port_answers "$port"; then
        echo "etcd-cluster.sh: something already listens on 127.0.0.1:$port; run stop first" >&2
        exit 1
      fi
    done
    endpoints+=("127.0.0.1:2379$i")
    initial+=("m$i=$(peer_url "$i")")
  done
  mkdir -p "$dir"
  local cluster token
  cluster=$(IFS=,; echo "${initial[*]}")
  token="bench-$$-$(date +%s)"     # members of an earlier run never join this one
  for i in "${members[@]}"; do
    rm -rf "${dir:?}/m$i"
    etcd --name "m$i" --data-dir "$dir/m$i" \
      --listen-client-urls "$(client_url "$i")" --advertise-client-urls "$(client_url "$i")" \
      --listen-peer-urls "$(peer_url "$i")" --initial-advertise-peer-urls "$(peer_url "$i")" \
      --initial-cluster "$cluster" --initial-cluster-token "$token" \
      --initial-cluster-state new --logger zap --log-level warn \
      </dev/null >"$dir/m$i.log" 2>&1 &
    echo $! >"$dir/m$i.pid"
  done
  local eps
  eps=$(IFS=,; echo "${endpoints[*]}")
  for _ in $(seq 1 150); do        # up to 30 s: three processes, then an election
    if ETCDCTL_API=3 etcdctl --endpoints="$eps" --command-timeout=2s endpoint health \
        >/dev/null 2>&1; then
      echo "$eps"
      return
    fi
    sleep 0.2
  done
  echo "etcd-cluster.sh: the members never became healthy; logs: $dir/m*.log" >&2
  stop
  exit 1
}

stop() {
  local i pid pids=()
  for i in "${members[@]}"; do
    pid=$(cat "$dir/m$i.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && alive "$pid"; then
      kill -TERM "$pid"
      pids+=("$pid")
    fi
    rm -f "$dir/m$i.pid"
  done
  for pid in ${pids[@]+"${pids[@]}"}; do
    for _ in $(seq 1 100); do      # up to 10 s each for a clean shutdown, then SIGKILL
      alive "$pid" || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
  done
}

case "$cmd" in
  start | stop) "$cmd" ;;
  *) echo "usage: $0 start|stop [DIR]" >&2; exit 2 ;;
esac
