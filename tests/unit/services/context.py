"""What a unit test passes as the grpc.aio.ServicerContext of a servicer that never reads it."""

from __future__ import annotations

from typing import Any, cast

import grpc

# None, typed as a context: a servicer that touched it would fail the test with an AttributeError.
UNREAD_CONTEXT = cast("grpc.aio.ServicerContext[Any, Any]", None)
