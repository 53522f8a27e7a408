#!/usr/bin/env bash
# Installs the pinned command-line tools the mesh needs, cached outside the checkout and
# linked into .tools/bin/. Safe to run again: a tool already in the cache is only linked.
#
#   install-tools.sh [--group run|test|k8s|all]... [TOOL...]     (no argument: all)
#
# Tools come in groups by use: `run` is what `make run` needs; `test` adds what the tests need;
# `k8s` is the Kubernetes check's control plane. One line per tool says how long it took. A tool
# that cannot be installed here (not root, no apt) is named with how to get it: for the run
# group that is a warning (make run starts without that part), for the others an error.
set -euo pipefail

GRPCURL_VERSION=v1.9.3
BUF_VERSION=1.75.0
NATS_SERVER_VERSION=v2.12.2
JAEGER_MODULE_VERSION=v1.76.0 # Jaeger v2.13.0
GHZ_VERSION=v0.121.0
COMPOSE_VERSION=v5.6.0 # optional: validates compose.yaml, no engine needed
# Alertmanager from its Go module, because Debian's package has no web UI. v0.31.1 is the newest
# whose module carries the built UI: from v0.32 the UI is built by npm at release time and the
# module lacks it, so `go install` fails ("pattern app/dist: no matching files found").
ALERTMANAGER_VERSION=v0.31.1
# A real Kubernetes control plane for `make k8s-check`: kube-apiserver, kube-controller-manager,
# kube-scheduler and kubectl from k8s.io/kubernetes, etcd at the version that release pins, and
# kwok (fake nodes and pods against the real API server). For the real node (`make k8s-up`,
# tooling/sh/k8s-node/): the kubelet and kube-proxy from the same release, CoreDNS, kube-router
# (only its NetworkPolicy firewall), and Debian's containerd, runc, CNI plugins, iptables, ipset.
KUBERNETES_VERSION=v1.36.3
KWOK_VERSION=v0.8.0
# v1.15.0 wants client-go v0.37 and go 1.26.0; v1.14.7 builds with plain `go install`.
COREDNS_VERSION=v1.14.7
# Firewall only (NetworkPolicy). Reported security flaws in this line: acceptable for a cluster
# inside its own network namespace with no route out, not for anything else.
KUBE_ROUTER_VERSION=v2.1.0
K8S_NODE_PACKAGES="containerd runc containernetworking-plugins iptables ipset"
ACTIONLINT_VERSION=v1.7.12 # lints .github/workflows in `make lint`
# Prometheus (with promtool) and the blackbox exporter come from Debian 12's packages:
# prometheus 2.42, prometheus-blackbox-exporter 0.23.
DEBIAN_PACKAGES="prometheus prometheus-blackbox-exporter"

root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${SIMPLEBANK_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simplebank-mesh/tools}
bin="$root/.tools/bin"
mkdir -p "$cache" "$bin"

say() { printf '[tools] %s\n' "$*"; }

# progress TEXT: a line for the terminal while a tool installs (its chatter goes to a log).
progress() { printf '[tools] %s\n' "$*" >&3; }

# unavailable WHY: this tool cannot be installed here, and how to get it (see the loop below).
unavailable() { printf '%s' "$*" >"$cache/.unavailable"; }

# link NAME PATH: point .tools/bin/NAME at PATH in the cache.
link() { ln -sfn "$2" "$bin/$1"; }

# go_tool NAME VERSION PACKAGE [GO-INSTALL-FLAGS...]: `go install PACKAGE@VERSION` into its own
# cache folder.
go_tool() {
  local name=$1 version=$2 package=$3 dir="$cache/$1-$2" started=$SECONDS
  if [ ! -x "$dir/bin/$name" ]; then
    progress "building $name $version with go install (first time only)"
    GOBIN="$dir/bin" GOFLAGS=-mod=mod go install "${@:4}" "$package@$version"
  fi
  link "$name" "$dir/bin/$name"
}

buf_tool() {
  local dir="$cache/buf-$BUF_VERSION"
  if [ ! -x "$dir/node_modules/.bin/buf" ]; then
    progress "installing buf $BUF_VERSION from npm"
    npm install --silent --no-audit --no-fund --prefix "$dir" "@bufbuild/buf@$BUF_VERSION"
  fi
  link buf "$dir/node_modules/.bin/buf"
}

# Jaeger's go.mod carries a replace directive, which `go install module@version` refuses,
# so it is built inside a small wrapper module that requires it as a tool.
jaeger_tool() {
  local dir="$cache/jaeger-$JAEGER_MODULE_VERSION"
  if [ ! -x "$dir/bin/jaeger" ]; then
    progress "building jaeger (module $JAEGER_MODULE_VERSION): this takes several minutes the first time"
    mkdir -p "$dir/wrapper"
    (
      cd "$dir/wrapper"
      [ -f go.mod ] || go mod init simplebank.local/jaeger-wrapper >/dev/null 2>&1
      go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_MODULE_VERSION"
      go build -o "$dir/bin/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger
    )
  fi
  link jaeger "$dir/bin/jaeger"
}

# Compose's go.mod carries exclude directives, which `go install module@version` refuses, so it
# is built inside its own downloaded module, with that module's go.sum. Optional: not in the
# default set; `tooling/sh/install-tools.sh docker-compose`.
compose_tool() {
  local dir="$cache/docker-compose-$COMPOSE_VERSION" src
  if [ ! -x "$dir/bin/docker-compose" ]; then
    progress "building docker-compose $COMPOSE_VERSION: this takes a few minutes the first time"
    src=$(go mod download -json "github.com/docker/compose/v5@$COMPOSE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    (cd "$src" && go build -trimpath -o "$dir/bin/docker-compose" \
      -ldflags "-X github.com/docker/compose/v5/internal.Version=$COMPOSE_VERSION" ./cmd)
  fi
  link docker-compose "$dir/bin/docker-compose"
}

# The Debian packages install system-wide, so they are linked from /usr/bin, not the cache.
debian_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# without_daemons COMMAND...: run an apt-get install with a policy-rc.d that forbids starting
# services (the packages would otherwise start Prometheus and the exporter on all interfaces),
# restoring whatever policy-rc.d was there before.
without_daemons() {
  local policy=/usr/sbin/policy-rc.d saved="" rc=0
  if [ -e "$policy" ]; then saved=$(mktemp) && cp -p "$policy" "$saved"; fi
  printf '#!/bin/sh\n# written by simplebank-mesh tooling/sh/install-tools.sh: start no daemon\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  "$@" || rc=$?
  if [ -n "$saved" ]; then mv "$saved" "$policy"; else rm -f "$policy"; fi
  return "$rc"
}

# Never run the packaged daemons: the mesh starts its own on loopback with its own config.
# Without a running systemd, `systemctl disable` still edits the boot links (and the SysV ones).
disable_packaged_daemons() {
  local unit now=()
  [ -d /run/systemd/system ] && now=(--now)
  for unit in prometheus prometheus-blackbox-exporter; do
    if command -v systemctl >/dev/null; then
      systemctl disable "${now[@]}" --quiet "$unit" >/dev/null 2>&1 || say "warning: could not disable $unit"
    else
      update-rc.d "$unit" disable >/dev/null 2>&1 || say "warning: could not disable /etc/init.d/$unit"
    fi
  done
}

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

# debian_packages WHY-ELSE PACKAGE...: install the missing ones without starting any daemon;
# without root or apt, says what to run (and WHY-ELSE: what to do elsewhere) and returns 10.
debian_packages() {
  local elsewhere=$1 missing=() package
  shift
  for package in "$@"; do debian_installed "$package" || missing+=("$package"); done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
      unavailable "as root on Debian 12 run 'apt-get install --no-install-recommends $*' ($elsewhere), then 'make tools' again"
      return 10
    fi
    progress "installing Debian packages ${missing[*]} (daemons not started)"
    # A fresh machine has no package lists; stale ones can point at files the mirror dropped.
    apt-cache show "${missing[@]}" >/dev/null 2>&1 || apt-get update -q >/dev/null
    if ! without_daemons apt_install "${missing[@]}"; then
      say "retrying after apt-get update"
      apt-get update -q >/dev/null
      without_daemons apt_install "${missing[@]}"
    fi
  fi
}

prometheus_tools() {
  local missing=() package
  for package in $DEBIAN_PACKAGES; do debian_installed "$package" || missing+=("$package"); done
  # shellcheck disable=SC2086
  debian_packages "elsewhere put prometheus >= 2.42, promtool and blackbox_exporter >= 0.23 in $bin" $DEBIAN_PACKAGES
  [ ${#missing[@]} = 0 ] || disable_packaged_daemons
  link prometheus /usr/bin/prometheus
  link promtool /usr/bin/promtool
  link blackbox_exporter /usr/bin/prometheus-blackbox-exporter
}

# Alertmanager and amtool (which checks its config in `make lint`), stamped with their version.
alertmanager_tool() {
  local name common=github.com/prometheus/common/version
  for name in alertmanager amtool; do
    go_tool "$name" "$ALERTMANAGER_VERSION" "github.com/prometheus/alertmanager/cmd/$name" -trimpath \
      -ldflags "-X $common.Version=${ALERTMANAGER_VERSION#v} -X $common.Revision=$ALERTMANAGER_VERSION"
  done
}

# k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/client-go, ...) at v0.0.0
# with replace directives into its own tree, which `go install` refuses. A wrapper module
# replaces each with its published version (v0.<minor>.<patch>), the list read from the
# release's own go.mod, and builds the binaries with Kubernetes' version stamped in. etcd's
# module has replace directives too, so it is built in the same wrapper, at the version the
# Kubernetes release requires.
kubernetes_tools() {
  local version=$KUBERNETES_VERSION dir="$cache/kubernetes-$KUBERNETES_VERSION" started=$SECONDS
  local commands="kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy"
  local names="$commands etcd" name missing=""
  for name in $names; do [ -x "$dir/bin/$name" ] || missing=yes; done
  if [ -n "$missing" ]; then
    progress "building Kubernetes $version and etcd: several minutes the first time"
    mkdir -p "$dir/wrapper"
    (
      cd "$dir/wrapper"
      local gomod module etcd minor ldflags
      [ -f go.mod ] || go mod init simplebank.local/kubernetes-wrapper >/dev/null 2>&1
      gomod=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
      for module in $(awk '/^require/,/^\)/' "$gomod" | awk '$2 == "v0.0.0" {print $1}'); do
        go mod edit -replace="$module=$module@v0.${version#v1.}"
      done
      etcd=$(awk '$1 == "go.etcd.io/etcd/server/v3" {print $2}' "$gomod")
      go get "k8s.io/kubernetes@$version"
      for name in $commands; do
        go get -tool "k8s.io/kubernetes/cmd/$name@$version"
      done
      go get -tool "go.etcd.io/etcd/server/v3@$etcd"
      minor=${version#v1.} minor=${minor%%.*}
      ldflags="-X k8s.io/component-base/version.gitVersion=$version"
      ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
      # Only what is missing: a cache from before the kubelet was added keeps its binaries.
      for name in $commands; do
        [ -x "$dir/bin/$name" ] ||
          go build -trimpath -ldflags "$ldflags" -o "$dir/bin/$name" "k8s.io/kubernetes/cmd/$name"
      done
      [ -x "$dir/bin/etcd" ] || go build -trimpath -o "$dir/bin/etcd" go.etcd.io/etcd/server/v3
    )
  fi
  for name in $names; do link "$name" "$dir/bin/$name"; done
  for name in kwok kwokctl; do go_tool "$name" "$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/$name" -trimpath; done
}

# The real node's add-ons, each built in a module of its own (`go install`): in one wrapper
# module MVS would lift kube-router's client-go to CoreDNS's. Static, for FROM-scratch images.
k8s_node_tools() {
  CGO_ENABLED=0 go_tool coredns "$COREDNS_VERSION" github.com/coredns/coredns -trimpath
  CGO_ENABLED=0 go_tool kube-router "$KUBE_ROUTER_VERSION" \
    github.com/cloudnativelabs/kube-router/v2/cmd/kube-router -trimpath
  # The pod sandbox's pause process (tooling/k8s_node/pause), static, rebuilt when it changes.
  local pause="$cache/k8s-pause/bin/k8s-pause" source="$root/tooling/k8s_node/pause"
  if [ ! -x "$pause" ] || [ "$source/main.go" -nt "$pause" ]; then
    (cd "$source" && CGO_ENABLED=0 go build -trimpath -o "$pause" .)
  fi
  link k8s-pause "$pause"
  # shellcheck disable=SC2086
  debian_packages "elsewhere use a real cluster: kind, minikube" $K8S_NODE_PACKAGES
  # The system's own (make puts .tools/bin first on PATH: never link a link to itself).
  for name in containerd ctr runc; do
    link "$name" "$(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin command -v "$name")"
  done
}


# VictoriaLogs, the log store `make run` ships service logs to; its Go module carries its web UI.
VICTORIALOGS_VERSION=v1.52.2
victorialogs_tool() {
  go_tool victoria-logs "$VICTORIALOGS_VERSION" github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs
}

# The Jaeger UI: the jaeger-ui build that Jaeger module v1.76.0 embeds at release (no package
# registry ships it). From the archive JAEGER_UI_ARCHIVE names when it is set (a .tar.gz in the
# official release asset's layout: packages/jaeger-ui/build/...), before any download and
# whatever an earlier download left; otherwise from the official release download. Optional:
# where neither is had, one line says so and Jaeger serves its placeholder page (make trace works).
JAEGER_UI_VERSION=v1.76.0
JAEGER_UI_URL=https://github.com/jaegertracing/jaeger-ui/releases/download/$JAEGER_UI_VERSION/assets.tar.gz

# jaeger_ui_unpack ARCHIVE DIR: the build inside ARCHIVE into DIR, whole or not at all.
jaeger_ui_unpack() {
  # grep reads the whole listing: with -q it stops early, and pipefail counts tar's SIGPIPE.
  tar -tzf "$1" 2>/dev/null | grep 'build/index.html$' >/dev/null || return 1
  rm -rf "$2.tmp" && mkdir -p "$2.tmp" &&
    tar -xzf "$1" -C "$2.tmp" --strip-components=3 --no-same-owner &&
    [ -f "$2.tmp/index.html" ] && rm -rf "$2" && mv "$2.tmp" "$2"
}

jaeger_ui_assets() {
  local dir="$cache/jaeger-ui-$JAEGER_UI_VERSION" archive="${JAEGER_UI_ARCHIVE:-}" sum
  local refused="$cache/jaeger-ui-$JAEGER_UI_VERSION.refused" source="$cache/jaeger-ui-$JAEGER_UI_VERSION.source"
  if [ -n "$archive" ]; then
    [ -f "$archive" ] || { say "JAEGER_UI_ARCHIVE=$archive: no such file" >&2; exit 1; }
    sum=$(sha256sum "$archive" | cut -d' ' -f1)
    if [ ! -f "$dir/index.html" ] || [ "$(cat "$source" 2>/dev/null)" != "archive $sum" ]; then
      jaeger_ui_unpack "$archive" "$dir" ||
        { say "JAEGER_UI_ARCHIVE=$archive: not a jaeger-ui assets archive (no packages/jaeger-ui/build/index.html)" >&2; exit 1; }
      echo "archive $sum" >"$source"
      rm -f "$refused"
    fi
  elif [ ! -f "$dir/index.html" ] && [ -n "$(find "$refused" -mmin -1440 2>/dev/null)" ]; then
    unavailable "its download was refused within the last day (rm $refused to retry, or set JAEGER_UI_ARCHIVE to an assets.tar.gz); Jaeger serves its placeholder page, use make trace"
  elif [ ! -f "$dir/index.html" ]; then
    archive=$(mktemp)
    # The release publishes no checksum file; the archive is unpacked into a fresh folder only
    # if it is a complete gzip tarball with an index.html inside.
    if curl --fail --silent --show-error --location --max-time 20 -o "$archive" "$JAEGER_UI_URL" 2>"$archive.err" &&
      jaeger_ui_unpack "$archive" "$dir"; then
      echo "download" >"$source"
    else
      touch "$refused"
      unavailable "not downloadable ($(head -c 160 "$archive.err" | tr '\n' ' ')); set JAEGER_UI_ARCHIVE to an assets.tar.gz; Jaeger serves its placeholder page, use make trace"
    fi
    rm -f "$archive" "$archive.err"
  fi
  if [ -f "$dir/index.html" ]; then ln -sfn "$dir" "$root/.tools/jaeger-ui"; else rm -f "$root/.tools/jaeger-ui"; fi
  [ -f "$dir/index.html" ] || return 10
}

# Headless Chromium for the browser tests, from Debian's `chromium` package (system-wide, so it
# is linked from /usr/bin). Without root or apt it says what to install and carries on: only
# the browser tests need it, and they fail saying so.
chromium_tool() {
  local started=$SECONDS
  if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
      unavailable "as root on Debian 12 run 'apt-get install --no-install-recommends chromium' (or put a chromium in $bin); the browser tests need it"
      return 10
    fi
    progress "installing Debian package chromium"
    apt-cache show chromium >/dev/null 2>&1 || apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null; }
  fi
  link chromium "$(command -v chromium)"
}

# The groups, by use. `test` holds everything the tests start, so it includes `run`.
GROUP_RUN="nats-server jaeger jaeger-ui grpcurl victoria-logs prometheus alertmanager"
GROUP_TEST="$GROUP_RUN buf ghz docker-compose chromium actionlint"
GROUP_K8S="kubernetes k8s-node"

want="" strict=0
while [ $# -gt 0 ]; do
  case $1 in
    --group)
      case ${2:-} in
        run) want="$want $GROUP_RUN" ;;
        test) want="$want $GROUP_TEST"; strict=1 ;;
        k8s) want="$want $GROUP_K8S"; strict=1 ;;
        all) want="$want $GROUP_TEST $GROUP_K8S"; strict=1 ;;
        *) echo "usage: $0 [--group run|test|k8s|all]... [TOOL...]" >&2; exit 2 ;;
      esac
      shift 2 ;;
    *) want="$want $1"; strict=1; shift ;;
  esac
done
[ -n "$want" ] || { want="$GROUP_TEST $GROUP_K8S"; strict=1; }
# Each tool once, in the order first named.
want=$(printf '%s\n' $want | awk '!seen[$0]++' | tr '\n' ' ')

install_one() {
  case $1 in
    grpcurl) go_tool grpcurl "$GRPCURL_VERSION" github.com/fullstorydev/grpcurl/cmd/grpcurl ;;
    buf) buf_tool ;;
    nats-server) go_tool nats-server "$NATS_SERVER_VERSION" github.com/nats-io/nats-server/v2 ;;
    jaeger) jaeger_tool ;;
    ghz) go_tool ghz "$GHZ_VERSION" github.com/bojand/ghz/cmd/ghz ;;
    docker-compose) compose_tool ;;
    prometheus) prometheus_tools ;; # also promtool and blackbox_exporter
    alertmanager) alertmanager_tool ;; # also amtool
    victoria-logs) victorialogs_tool ;;
    jaeger-ui) jaeger_ui_assets ;;
    chromium) chromium_tool ;;
    kubernetes) kubernetes_tools ;; # the control plane, kubelet, kube-proxy, kubectl, etcd, kwok
    k8s-node) k8s_node_tools ;; # CoreDNS, kube-router; containerd, runc, CNI plugins (Debian)
    actionlint) go_tool actionlint "$ACTIONLINT_VERSION" github.com/rhysd/actionlint/cmd/actionlint ;;
    *) echo "unknown tool: $1" >&2; exit 2 ;;
  esac
}

missing=() failed=0
for tool in $want; do
  started=$SECONDS code=0 log="$cache/$tool.install.log"
  rm -f "$cache/.unavailable"
  # In a process of its own, so that `set -e` holds inside it (a function called with `||`
  # would run on past a failed build), its build chatter kept in a log shown on failure.
  (install_one "$tool") 3>&1 >"$log" 2>&1 &
  wait $! || code=$?
  if [ "$code" = 0 ]; then
    say "$(printf '%-15s ready (%d s)' "$tool" $((SECONDS - started)))"
  elif [ "$code" = 10 ]; then
    missing+=("$tool")
    why=$(cat "$cache/.unavailable" 2>/dev/null)
    # For make run alone a missing part is left out (the launcher says so again); the tests
    # need every tool, except the Jaeger UI, whose browser test fails saying why.
    if [ "$strict" = 0 ] || [ "$tool" = jaeger-ui ]; then
      say "$(printf '%-15s missing, make run starts without it: %s' "$tool" "$why")"
    else
      say "$(printf '%-15s MISSING: %s' "$tool" "$why")" >&2
      failed=1
    fi
  else
    say "$(printf '%-15s FAILED after %d s; the end of %s:' "$tool" $((SECONDS - started)) "$log")" >&2
    tail -n 25 "$log" >&2
    exit "$code"
  fi
done
[ "$failed" = 0 ] || exit 1
say "ready in .tools/bin: ${want% }${missing[*]:+ (missing: ${missing[*]})}"
