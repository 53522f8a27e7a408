#!/usr/bin/env bash
# The images the local overlay names, in the node's containerd (namespace k8s.io) under those
# very names: no registry is reachable from the node (nor Docker Hub from this machine).
#
#   tooling/k8s_node/images.sh        (up.sh runs it once containerd answers)
#
# The pause image and CoreDNS are written from their static binaries (image.py). The project
# image and the stand-ins of the upstream images (NATS, Jaeger, Prometheus, Alertmanager, the
# blackbox exporter) come from the Docker engine and builds of tooling/sh/docker-images.sh
# (started if none answers, and stopped again if this script started it), `docker save`d into
# `ctr images import`, then tagged with the upstream names the manifests use. An image already
# imported from the same engine image is not imported again.
set -euo pipefail
. "$(dirname "$0")/common.sh"

images="$state/images"
mkdir -p "$images"

# import_tar TAR: into the node's containerd.
import_tar() { ctr_k8s images import --no-unpack=false "$1" >/dev/null; }

# from_binary NAME:TAG BINARY: a one-binary image, made and imported when the binary changes.
from_binary() {
  local tag=$1 binary stamp sum
  binary=$(readlink -f "$bin/$2") || die "no $2 in $bin: run make tools-k8s"
  stamp="$images/$(echo "$tag" | tr '/:' '__').id"
  sum=$(sha256sum "$binary" | cut -c1-16)
  [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ] && ctr_k8s images check "name==docker.io/$tag" | grep -q . && return
  "$root/.venv/bin/python" -m tooling.k8s_node.image "$images/image.tar" "$tag" "[\"/$2\"]" "$binary=/$2"
  import_tar "$images/image.tar" && rm -f "$images/image.tar"
  echo "$sum" >"$stamp"
  say "imported $tag"
}

# The upstream repositories the manifests name, and the variable docker-images.sh prints for
# each one's stand-in (the project image is its own).
declare -A STANDIN=(
  [nats]=NATS_IMAGE [jaegertracing/jaeger]=JAEGER_IMAGE [prom/prometheus]=PROMETHEUS_IMAGE
  [prom/alertmanager]=ALERTMANAGER_IMAGE [prom/blackbox-exporter]=BLACKBOX_IMAGE
)
SERVICE_IMAGE=simplebank-mesh:local

# full NAME: the name containerd stores an image reference under.
full() { case $1 in */*/*) echo "$1" ;; */*) echo "docker.io/$1" ;; *) echo "docker.io/library/$1" ;; esac; }

from_engine() {
  local wanted started="" name source id stamp
  cd "$root"
  wanted=$("$bin/kubectl" kustomize deploy/k8s/overlays/local | sed -n 's/^ *image: *//p' | sort -u)
  eval "$(tooling/sh/docker-engine.sh start)"
  [ "${SIMPLEBANK_DOCKER_STARTED:-}" = 1 ] && started=yes
  eval "$(SIMPLEBANK_IMAGES=local tooling/sh/docker-images.sh)"
  for name in $wanted; do
    if [ "$name" = "$SERVICE_IMAGE" ]; then
      source=$SERVICE_IMAGE
    else
      local variable=${STANDIN[${name%:*}]:-}
      [ -n "$variable" ] || die "no stand-in for image $name: add it to STANDIN in $0"
      source=${!variable}
      # docker-images.sh names each stand-in it made; an empty name is one it could not make.
      [ -n "$source" ] || die "no stand-in image for $name: docker-images.sh could not make it (above)"
    fi
    id=$(docker image inspect --format '{{.Id}}' "$source")
    stamp="$images/$(echo "$name" | tr '/:' '__').id"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$id" ] || ! ctr_k8s images check "name==$(full "$name")" | grep -q .; then
      docker save "$source" | ctr_k8s images import - >/dev/null
      [ "$source" = "$name" ] || ctr_k8s images tag --force "$(full "$source")" "$(full "$name")" >/dev/null
      echo "$id" >"$stamp"
      say "imported $name (from $source)"
    fi
  done
  [ -z "$started" ] || tooling/sh/docker-engine.sh stop
}

from_binary local/pause:3.10 k8s-pause
from_binary local/coredns:node coredns
from_engine
