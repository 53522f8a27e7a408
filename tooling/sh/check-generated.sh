#!/usr/bin/env bash
# Fails when generated/ differs from what protos/ generates now: run `make protos` and commit.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
"$root/tooling/sh/generate-protos.sh" "$fresh"
if ! diff -r --exclude=__pycache__ "$fresh/simplebank" "$root/generated/simplebank" >/dev/null; then
  echo "generated/ is stale: run 'make protos' and commit the result." >&2
  diff -r --exclude=__pycache__ -q "$fresh/simplebank" "$root/generated/simplebank" >&2 || true
  exit 1
fi
echo "generated/ is up to date with protos/"
