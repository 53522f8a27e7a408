"""Server reflection that serves the contracts with their comments, so grpcurl shows the docs."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, duration_pb2
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer
from grpc_reflection.v1alpha._base import _not_found_error

DESCRIPTORS = "descriptors.binpb"
# Served beside any service: grpcurl needs them to print a failed call's details.
INFRASTRUCTURE = tuple(
    module.DESCRIPTOR.name
    for module in (any_pb2, duration_pb2, error_details_pb2, health_pb2, reflection_pb2)
)


@cache
def contract_files() -> dict[str, descriptor_pb2.FileDescriptorProto]:
    """Every file of the contracts by name, as `make protos` wrote them: comments included.

    Generated _pb2 modules carry descriptors without source comments, so reflection built on
    them alone would give grpcurl nothing to show for `describe`.
    """
    contracts = descriptor_pb2.FileDescriptorSet.FromString(
        files("simplebank").joinpath(DESCRIPTORS).read_bytes()
    )
    found = {file.name: file for file in contracts.file}
    # Infrastructure served as well: the health and reflection services, and the google.rpc
    # error details, so grpcurl can print the BadRequest and ErrorInfo of a failed call.
    for module in (any_pb2, duration_pb2, error_details_pb2, health_pb2, reflection_pb2):
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        found.setdefault(proto.name, proto)
    return found


@cache
def _pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    for proto in contract_files().values():  # dependencies come first in a descriptor set
        pool.Add(proto)
    return pool


class DocumentedReflectionServicer(ReflectionServicer):  # type: ignore[misc]
    """Answers file requests with the documented descriptors, and understands method names
    (`grpcurl describe pkg.Service.Method`) by looking up the service that holds them."""

    def __init__(self, service_names: list[str]) -> None:
        super().__init__(service_names, pool=_pool())
        # Only the files of the services served here, their dependencies and the
        # infrastructure's: the gateway's public port shows the public contract, never the
        # internal services' contracts that share the pool.
        served = [_pool().FindServiceByName(name).file.name for name in service_names]
        self._served_files = frozenset(
            name for file in [*served, *INFRASTRUCTURE] for name in _with_dependencies(file)
        )

    def _response(self, file_name: str, request: Any) -> Any:
        if file_name not in self._served_files:
            return _not_found_error(request)
        names = _with_dependencies(file_name)
        protos = contract_files()
        return reflection_pb2.ServerReflectionResponse(
            file_descriptor_response=reflection_pb2.FileDescriptorResponse(
                file_descriptor_proto=[protos[n].SerializeToString() for n in names]
            ),
            original_request=request,
        )

    def _file_by_filename(self, request: Any, filename: str) -> Any:
        if filename not in contract_files():
            return _not_found_error(request)
        return self._response(filename, request)

    def _file_containing_symbol(self, request: Any, fully_qualified_name: str) -> Any:
        for name in (fully_qualified_name, fully_qualified_name.rpartition(".")[0]):
            try:
                file = self._pool.FindFileContainingSymbol(name)
            except KeyError:
                continue
            return self._response(file.name, request)
        return _not_found_error(request)


def _with_dependencies(file_name: str) -> list[str]:
    """The file and every file it imports, directly or not."""
    protos = contract_files()
    names: list[str] = []
    pending = [file_name]
    while pending:
        name = pending.pop()
        if name not in names:
            names.append(name)
            pending.extend(protos[name].dependency)
    return names


def enable(service_names: list[str], server: Any) -> None:
    """Serve reflection for the given full service names (and itself)."""
    servicer = DocumentedReflectionServicer([*service_names, reflection.SERVICE_NAME])
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
