"""Control characters refused in every request, before any handler sees them.

No string a client sends may hold a control character (U+0000-U+001F, U+007F): none has a
meaning in an id, a symbol or a token, and some break what the string reaches (PostgreSQL
refuses a NUL in text with an error whose text must not reach the client; a newline forges a
log line). Checked on every unary request of every service, public and internal, so one rule
covers every field that ever reaches a database: INVALID_ARGUMENT with a BadRequest field
violation naming each field (a dotted path for a nested one).
"""

from __future__ import annotations

import re
from typing import Any

from google.protobuf.message import Message

from mesh.errors.kinds import FieldViolation, InvalidArgument
from mesh.errors.refusals import abort_with
from mesh.interceptor import Behavior, UnaryServerInterceptor

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
DESCRIPTION = "must not contain control characters (U+0000-U+001F, U+007F)"


def control_character_violations(message: Message, prefix: str = "") -> list[FieldViolation]:
    """A violation for every string field (nested and repeated ones too) holding one."""
    found: list[FieldViolation] = []
    for field, value in message.ListFields():
        name = f"{prefix}{field.name}"
        repeated = field.is_repeated
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            items = [(f"{name}[{key!r}]", v) for key, v in value.items()]
            if CONTROL_CHARACTERS.search("".join(str(k) for k in value)):
                found.append(FieldViolation(name, DESCRIPTION))
        elif repeated:
            items = [(f"{name}[{i}]", v) for i, v in enumerate(value)]
        else:
            items = [(name, value)]
        for path, item in items:
            if isinstance(item, str) and CONTROL_CHARACTERS.search(item):
                found.append(FieldViolation(path, DESCRIPTION))
            elif isinstance(item, Message):
                found.extend(control_character_violations(item, f"{path}."))
    return found


def check_strings(message: Message) -> None:
    violations = control_character_violations(message)
    if violations:
        raise InvalidArgument(violations)


class ControlCharacterInterceptor(UnaryServerInterceptor):
    """Refuses a request with a control character in any string field, before its handler."""

    async def around(self, behavior: Behavior, request: Any, context: Any, method: str) -> Any:
        if isinstance(request, Message):
            violations = control_character_violations(request)
            if violations:
                await abort_with(context, InvalidArgument(violations))
        return await behavior(request, context)
