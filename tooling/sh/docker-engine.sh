#!/usr/bin/env bash
# A Docker engine for `make up` and the compose test: reuses one that answers, or starts one.
#
#   eval "$(tooling/sh/docker-engine.sh start)"   # prints `export DOCKER_HOST=unix://...`
#   eval "$(tooling/sh/docker-engine.sh env)"     # the engine that answers, if any; starts none
#   tooling/sh/docker-engine.sh stop              # stops the engine this script started, if any
#   tooling/sh/docker-engine.sh status
#
# An engine that already answers (DOCKER_HOST, or /var/run/docker.sock: a user's Docker) is
# used as it is and never stopped. Otherwise, on Debian, the script installs `docker.io` (the
# release's own engine) and starts `dockerd` in the background with a data root in the cache and
# its socket, pid file and exec root in /run/simplebank-docker; it listens on that socket only
# (no TCP), and ports published without an address go to 127.0.0.1. Messages go to stderr;
# stdout carries only export lines (SIMPLEBANK_DOCKER_STARTED=1 too when this call started the
# engine, so a caller stops only what it started). Safe to run again.
set -euo pipefail

state=${SIMPLEBANK_DOCKER_STATE:-${XDG_CACHE_HOME:-$HOME/.cache}/simplebank-mesh/docker}
run=${SIMPLEBANK_DOCKER_RUN:-/run/simplebank-docker}
socket="$run/docker.sock"
pidfile="$run/dockerd.pid"
log="$state/dockerd.log"
ours="unix://$socket"
system="unix:///var/run/docker.sock"
start_timeout=60
stop_timeout=30

say() { printf '[docker] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# answers HOST: the engine at HOST replies to the API.
answers() { timeout 10 docker --host "$1" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# our_pid: the pid of the dockerd this script started, if it still runs.
our_pid() {
  local pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] && echo "$pid"
}

install_engine() {
  [ "$(id -u)" = 0 ] || die "no Docker engine answers and dockerd is not installed; installing it needs root (apt-get install docker.io iptables), or start your own Docker and set DOCKER_HOST"
  command -v apt-get >/dev/null || die "no Docker engine answers, and this is not a Debian machine: start Docker and set DOCKER_HOST"
  say "installing docker.io and iptables with apt-get (first time only)"
  local added_policy=""
  # Keep the packages' scripts from starting a system daemon (listening as the system's Docker).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    added_policy=yes
  fi
  local status=0
  mkdir -p "$state"
  {
    apt-cache show docker.io >/dev/null 2>&1 || apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io iptables
  } >"$state/apt.log" 2>&1 || status=$?
  [ -z "$added_policy" ] || rm -f /usr/sbin/policy-rc.d
  [ "$status" = 0 ] || die "apt-get install docker.io iptables failed (exit $status): see $state/apt.log"
  # Nor start the system's Docker at boot: this script starts the engine when it is wanted.
  # Without a running systemd, `systemctl disable` still edits the boot links.
  if command -v systemctl >/dev/null; then
    systemctl disable --quiet docker.service docker.socket containerd.service >/dev/null 2>&1 ||
      say "warning: could not disable the docker and containerd units"
  fi
}

start() {
  if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != "$ours" ]; then
    answers "$DOCKER_HOST" || die "DOCKER_HOST=$DOCKER_HOST does not answer; unset it to use or start another engine"
    say "using the running engine at $DOCKER_HOST"
    echo "export DOCKER_HOST=$DOCKER_HOST"
    return
  fi
  if [ -S /var/run/docker.sock ] && answers "$system"; then
    say "using the running engine at $system"
    echo "export DOCKER_HOST=$system"
    return
  fi
  local pid
  if pid=$(our_pid) && answers "$ours"; then
    say "engine already running (pid $pid, $socket)"
    echo "export DOCKER_HOST=$ours"
    return
  fi
  command -v dockerd >/dev/null || install_engine
  command -v docker >/dev/null || die "dockerd is installed but no docker client is on PATH"
  [ "$(id -u)" = 0 ] || die "dockerd needs root here; start your own Docker and set DOCKER_HOST"
  mkdir -p "$state/data" "$run/exec"
  rm -f "$socket" "$pidfile"
  say "starting dockerd (data in $state/data, log $log)"
  setsid dockerd --data-root "$state/data" --exec-root "$run/exec" --pidfile "$pidfile" \
    --host "$ours" --ip 127.0.0.1 </dev/null >>"$log" 2>&1 &
  local started=$!
  local waited=0
  until answers "$ours"; do
    if ! kill -0 "$started" 2>/dev/null; then
      die "dockerd exited at start; last lines of $log: $(tail -n 5 "$log" | tr '\n' ' ')"
    fi
    if [ "$waited" -ge "$start_timeout" ]; then
      die "dockerd does not answer on $socket after ${start_timeout}s; see $log"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  say "engine ready: $(docker --host "$ours" version --format 'Docker {{.Server.Version}}, API {{.Server.APIVersion}}') (pid $started)"
  echo "export DOCKER_HOST=$ours"
  echo "export SIMPLEBANK_DOCKER_STARTED=1" # so the caller knows the engine is its to stop
}

stop() {
  local pid
  if ! pid=$(our_pid); then
    say "no engine of ours is running (an engine this script did not start is never stopped)"
    rm -f "$pidfile"
    return
  fi
  say "stopping dockerd (pid $pid); its containers stop with it"
  kill -TERM "$pid"
  local waited=0
  while [ -e "/proc/$pid" ]; do
    [ "$waited" -lt "$stop_timeout" ] || die "dockerd (pid $pid) still runs ${stop_timeout}s after SIGTERM; see $log"
    sleep 1
    waited=$((waited + 1))
  done
  say "dockerd stopped"
}

env() {
  if [ -n "${DOCKER_HOST:-}" ] && answers "$DOCKER_HOST"; then
    echo "export DOCKER_HOST=$DOCKER_HOST"
  elif answers "$ours"; then
    echo "export DOCKER_HOST=$ours"
  elif [ -S /var/run/docker.sock ] && answers "$system"; then
    echo "export DOCKER_HOST=$system"
  else
    die "no Docker engine answers (\`make up\` starts one)"
  fi
}

status() {
  local pid
  if pid=$(our_pid) && answers "$ours"; then
    say "running (pid $pid): export DOCKER_HOST=$ours"
  elif [ -S /var/run/docker.sock ] && answers "$system"; then
    say "not started by this script; the engine at $system answers"
  else
    say "no engine answers"
    return 1
  fi
}

case ${1:-start} in
  start) start ;;
  stop) stop ;;
  env) env ;;
  status) status ;;
  *) die "usage: $0 [start|env|stop|status]" ;;
esac
