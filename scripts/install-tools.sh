#!/usr/bin/env bash
# Installs the pinned command-line tools the mesh needs, cached outside the checkout and
# linked into .tools/bin/. Safe to run again: a tool already in the cache is only linked.
set -euo pipefail

GRPCURL_VERSION=v1.9.3
BUF_VERSION=1.75.0
NATS_SERVER_VERSION=v2.12.2
JAEGER_MODULE_VERSION=v1.76.0 # Jaeger v2.13.0
GHZ_VERSION=v0.121.0
COMPOSE_VERSION=v5.6.0 # optional: validates compose.yaml, no engine needed

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${SIMPLEBANK_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simplebank-mesh/tools}
bin="$root/.tools/bin"
mkdir -p "$cache" "$bin"

say() { printf '[tools] %s\n' "$*"; }

# link NAME PATH: point .tools/bin/NAME at PATH in the cache.
link() { ln -sfn "$2" "$bin/$1"; }

# go_tool NAME VERSION PACKAGE: `go install PACKAGE@VERSION` into its own cache folder.
go_tool() {
  local name=$1 version=$2 package=$3 dir="$cache/$1-$2"
  if [ ! -x "$dir/bin/$name" ]; then
    say "building $name $version with go install (first time only)"
    GOBIN="$dir/bin" GOFLAGS=-mod=mod go install "$package@$version"
  fi
  link "$name" "$dir/bin/$name"
}

buf_tool() {
  local dir="$cache/buf-$BUF_VERSION"
  if [ ! -x "$dir/node_modules/.bin/buf" ]; then
    say "installing buf $BUF_VERSION from npm"
    npm install --silent --no-audit --no-fund --prefix "$dir" "@bufbuild/buf@$BUF_VERSION"
  fi
  link buf "$dir/node_modules/.bin/buf"
}

# Jaeger's go.mod carries a replace directive, which `go install module@version` refuses,
# so it is built inside a small wrapper module that requires it as a tool.
jaeger_tool() {
  local dir="$cache/jaeger-$JAEGER_MODULE_VERSION"
  if [ ! -x "$dir/bin/jaeger" ]; then
    say "building jaeger (module $JAEGER_MODULE_VERSION): this takes several minutes the first time"
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
# default set; `scripts/install-tools.sh docker-compose`.
compose_tool() {
  local dir="$cache/docker-compose-$COMPOSE_VERSION" src
  if [ ! -x "$dir/bin/docker-compose" ]; then
    say "building docker-compose $COMPOSE_VERSION: this takes a few minutes the first time"
    src=$(go mod download -json "github.com/docker/compose/v5@$COMPOSE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    (cd "$src" && go build -trimpath -o "$dir/bin/docker-compose" \
      -ldflags "-X github.com/docker/compose/v5/internal.Version=$COMPOSE_VERSION" ./cmd)
  fi
  link docker-compose "$dir/bin/docker-compose"
}

want=${*:-grpcurl buf nats-server jaeger ghz docker-compose}
for tool in $want; do
  case $tool in
    grpcurl) go_tool grpcurl "$GRPCURL_VERSION" github.com/fullstorydev/grpcurl/cmd/grpcurl ;;
    buf) buf_tool ;;
    nats-server) go_tool nats-server "$NATS_SERVER_VERSION" github.com/nats-io/nats-server/v2 ;;
    jaeger) jaeger_tool ;;
    ghz) go_tool ghz "$GHZ_VERSION" github.com/bojand/ghz/cmd/ghz ;;
    docker-compose) compose_tool ;;
    *) echo "unknown tool: $tool" >&2; exit 2 ;;
  esac
done
say "ready in .tools/bin: $want"
