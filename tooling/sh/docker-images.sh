#!/usr/bin/env bash
# The images compose.yaml runs: the service image, built once, and where no registry serves
# images, local stand-ins for the upstream ones.
#
#   eval "$(tooling/sh/docker-images.sh)"   # prints `export NAME=image` lines for compose.yaml
#
# SIMPLEBANK_IMAGES=upstream: the service image is built on the Dockerfile's default base
# (python:3.11-slim) and compose pulls nats and jaegertracing/jaeger, as for any Docker user.
# SIMPLEBANK_IMAGES=local: nothing is pulled. The base image is made from this machine's Debian
# packages with mmdebstrap (trusting its extra CA certificates, for pip inside the build), and
# each upstream image has a stand-in: FROM scratch, the binary `make tools` built, the libraries
# it links, and busybox for the health checks. Default: local with the engine that
# tooling/sh/docker-engine.sh started (a machine without Docker, nor Docker Hub), else upstream.
#
# Every image is kept in the engine, labelled with a hash of its inputs, and made again only
# when they change. Messages go to stderr; stdout carries only the export lines.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bin="$root/.tools/bin"
our_engine="unix:///run/simplebank-docker/docker.sock"
mode=${SIMPLEBANK_IMAGES:-$([ "${DOCKER_HOST:-}" = "$our_engine" ] && echo local || echo upstream)}

SERVICE_IMAGE=simplebank-mesh:local # compose.yaml's `image:` of the five services
BASE_IMAGE=local/debian-python:bookworm
BASE_PACKAGES=python3,python3-venv,python-is-python3,ca-certificates
# Stand-ins: the variable compose.yaml reads for the image, and the binary (in .tools/bin, or a
# path) that becomes its entry point. Add a line for each upstream image compose.yaml gains.
STANDINS=(
  "NATS_IMAGE nats-server"
  "JAEGER_IMAGE jaeger"
  "PROMETHEUS_IMAGE prometheus"
  "ALERTMANAGER_IMAGE alertmanager"
  "BLACKBOX_IMAGE blackbox_exporter"
)

say() { printf '[images] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# label IMAGE: the inputs hash an image was made from, or nothing if there is no such image.
label() { docker image inspect --format '{{index .Config.Labels "simplebank.inputs"}}' "$1" 2>/dev/null || true; }

# apt_install PACKAGE...: install what is missing, quietly, without starting any daemon.
apt_install() {
  [ "$(id -u)" = 0 ] || die "needs $* (apt-get install $*): run as root or install them"
  say "installing $* with apt-get (first time only)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; } ||
    die "apt-get install $* failed"
}

# build TAG ARG...: `docker build --tag TAG ARG...`, its output shown only if it fails.
build() {
  local tag=$1 output
  shift
  output=$(docker build --tag "$tag" "$@" 2>&1) || die "docker build of $tag failed: $(tail -n 20 <<<"$output")"
}

# seconds_since START: whole seconds elapsed since START (from `date +%s`).
seconds_since() { echo $(($(date +%s) - $1)); }

base_image() {
  local sources="" extra_certs=(/usr/local/share/ca-certificates/*.crt) inputs
  [ -f /etc/apt/sources.list.d/debian.sources ] && sources=/etc/apt/sources.list.d/debian.sources
  [ -e "${extra_certs[0]}" ] || extra_certs=()
  inputs=$( { echo "$BASE_PACKAGES"; cat ${sources:+"$sources"} "${extra_certs[@]}"; } | sha256sum | cut -c1-16)
  if [ "$(label "$BASE_IMAGE")" = "$inputs" ]; then
    say "$BASE_IMAGE is up to date"
    return
  fi
  command -v mmdebstrap >/dev/null || apt_install mmdebstrap
  say "making $BASE_IMAGE from Debian packages with mmdebstrap (about a minute)"
  local start
  start=$(date +%s)
  # The machine's extra CA certificates are trusted inside the image: downloads in a build (pip)
  # may go through a proxy that presents them.
  mmdebstrap --quiet --variant=minbase --include="$BASE_PACKAGES" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='cp /usr/local/share/ca-certificates/*.crt "$1/usr/local/share/ca-certificates/" 2>/dev/null || true' \
    --customize-hook='chroot "$1" update-ca-certificates >/dev/null' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    bookworm - ${sources:+"$sources"} </dev/null |
    docker import --change 'CMD ["python3"]' --change "LABEL simplebank.inputs=$inputs" - "$BASE_IMAGE" >/dev/null
  say "$BASE_IMAGE made in $(seconds_since "$start") s"
}

service_image() {
  local start args=()
  [ "$mode" = upstream ] || args=(--build-arg "PYTHON_IMAGE=$BASE_IMAGE")
  say "building $SERVICE_IMAGE (once for the five services; unchanged layers come from the cache)"
  start=$(date +%s)
  build "$SERVICE_IMAGE" "${args[@]}" "$root"
  say "$SERVICE_IMAGE ready in $(seconds_since "$start") s"
}

# standin BINARY: prints the tag of a stand-in image that runs BINARY as its entry point, as
# user nobody, with /data (for a volume) and /tmp writable, `wget` and `sh` from busybox.
standin() {
  local binary=$1 name path tag context lib inputs
  name=$(basename "$binary")
  path=$(readlink -f "$( [ -e "$binary" ] && echo "$binary" || echo "$bin/$binary")") ||
    die "no $binary: run \`make tools\`"
  [ -x "$path" ] || die "no $binary at $path: run \`make tools\`"
  command -v busybox >/dev/null && ! ldd "$(command -v busybox)" >/dev/null 2>&1 || apt_install busybox-static
  tag="local/$name:stand-in"
  # The libraries a dynamically linked binary loads (a Go binary built with cgo: glibc).
  local libs=()
  while read -r lib; do libs+=("$lib"); done < <(ldd "$path" 2>/dev/null | grep -o '/[^ ]*' || true)
  inputs=$(cat "$path" "$(command -v busybox)" "${libs[@]}" | sha256sum | cut -c1-16)
  if [ "$(label "$tag")" = "$inputs" ]; then
    say "$tag is up to date"
    echo "$tag"
    return
  fi
  say "making $tag from $path"
  context=$(mktemp -d)
  mkdir -p "$context/root/usr/local/bin" "$context/root/bin" "$context/root/etc" \
    "$context/root/tmp" "$context/data"
  cp "$path" "$context/root/usr/local/bin/$name"
  cp "$(command -v busybox)" "$context/root/bin/busybox"
  ln -s busybox "$context/root/bin/sh"
  ln -s busybox "$context/root/bin/wget"
  for lib in "${libs[@]}"; do
    mkdir -p "$context/root$(dirname "$lib")"
    cp -L "$lib" "$context/root$lib"
  done
  printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$context/root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$context/root/etc/group"
  printf 'hosts: files dns\n' >"$context/root/etc/nsswitch.conf"
  chmod 1777 "$context/root/tmp"
  cat >"$context/Dockerfile" <<EOF
FROM scratch
COPY root/ /
COPY --chown=65534:65534 data/ /data/
LABEL simplebank.inputs=$inputs
USER 65534:65534
ENTRYPOINT ["/usr/local/bin/$name"]
EOF
  build "$tag" "$context"
  rm -rf "$context"
  echo "$tag"
}

case $mode in
  upstream)
    service_image
    ;;
  local)
    base_image
    service_image
    echo "export PYTHON_IMAGE=$BASE_IMAGE"
    for entry in "${STANDINS[@]}"; do
      read -r variable binary <<<"$entry"
      echo "export $variable=$(standin "$binary")"
    done
    ;;
  *) die "SIMPLEBANK_IMAGES must be local or upstream, not $mode" ;;
esac
