#!/usr/bin/env bash
# Generates Python messages, gRPC stubs and their typed .pyi stubs from protos/ into a folder.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/generated}
venv="$root/.venv/bin"
cd "$root"
rm -rf "$out/simplebank"
mkdir -p "$out"
mapfile -t protos < <(find protos -name '*.proto' | sort)
"$venv/python" -m grpc_tools.protoc -I protos \
  --python_out="$out" --grpc_python_out="$out" \
  --plugin=protoc-gen-mypy="$venv/protoc-gen-mypy" --mypy_out=quiet:"$out" \
  --plugin=protoc-gen-mypy_grpc="$venv/protoc-gen-mypy_grpc" --mypy_grpc_out=quiet:"$out" \
  "${protos[@]}"
# The same contracts with their comments, for server reflection: `grpcurl describe` shows them.
"$venv/python" -m grpc_tools.protoc -I protos --include_imports --include_source_info \
  --descriptor_set_out="$out/simplebank/descriptors.binpb" "${protos[@]}"
# Contracts without a service (events, money) get no gRPC module.
for proto in "${protos[@]}"; do
  if ! grep -q '^service ' "$proto"; then
    rm -f "$out/${proto#protos/}" "$out/$(dirname "${proto#protos/}")/$(basename "$proto" .proto)_pb2_grpc.py"{,i}
  fi
done
