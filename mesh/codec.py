"""A service's plain event dataclasses to and from the protobuf events of the contract.

Fields are matched by name, so a consumer's dataclass may declare only the fields it reads (a
tolerant reader: new fields in the contract change nothing for it). Timestamps become aware
datetimes and Money its minor units, the two shapes the domains use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, TypeVar, cast

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message

from mesh.convert import from_timestamp, money, timestamp
from mesh.jetstream import subject_for

E = TypeVar("E")

_TIMESTAMP = "google.protobuf.Timestamp"
_MONEY = "simplebank.money.v1.Money"


class UnreadableEvent(ValueError):
    """A message whose payload is not the event its subject says."""


def _check(event_type: type[Any], descriptor: Any) -> None:
    """Every dataclass field must name a field of the message with a shape it can hold."""
    for field in dataclasses.fields(event_type):
        proto = descriptor.fields_by_name.get(field.name)
        if proto is None:
            raise TypeError(f"{event_type.__name__}.{field.name} is not in {descriptor.full_name}")
        if proto.message_type is not None and proto.message_type.full_name not in (
            _TIMESTAMP,
            _MONEY,
        ):
            raise TypeError(f"{descriptor.full_name}.{field.name} has no plain translation")


def _to_plain(proto: FieldDescriptor) -> Callable[[Any], Any]:
    if proto.message_type is None:
        return lambda value: value
    if proto.message_type.full_name == _TIMESTAMP:
        return from_timestamp
    return lambda value: value.minor_units


@cache
def _readers(event_type: Any, descriptor: Any) -> tuple[tuple[str, Any], ...]:
    return tuple(
        (field.name, _to_plain(descriptor.fields_by_name[field.name]))
        for field in dataclasses.fields(event_type)
    )


class EventCodec:
    """Translates one service's events: plain dataclasses inside, protobuf on the wire."""

    def __init__(self, messages: Mapping[type[Any], type[Message]]) -> None:
        for event_type, message_type in messages.items():
            _check(event_type, message_type.DESCRIPTOR)
        self._messages = dict(messages)

    def message_type(self, event_type: type[Any]) -> type[Message]:
        try:
            return self._messages[event_type]
        except KeyError:
            raise TypeError(f"{event_type.__name__} is not one of this service's events") from None

    def subject(self, event_type: type[Any]) -> str:
        return subject_for(self.message_type(event_type).DESCRIPTOR.name)

    def encode(self, event: object) -> tuple[str, bytes]:
        """The subject and the serialized protobuf of a plain event."""
        message = self.message_type(type(event))()
        for field in dataclasses.fields(event):  # type: ignore[arg-type]
            value = getattr(event, field.name)
            shape = message.DESCRIPTOR.fields_by_name[field.name].message_type
            if shape is None:
                setattr(message, field.name, value)
            elif shape.full_name == _TIMESTAMP:
                getattr(message, field.name).CopyFrom(timestamp(value))
            else:
                getattr(message, field.name).CopyFrom(money(value))
        return subject_for(message.DESCRIPTOR.name), message.SerializeToString()

    def decode(self, event_type: type[E], payload: bytes) -> E:
        """The plain event in a payload; UnreadableEvent if it is not that event."""
        message_type = self.message_type(event_type)
        try:
            message = message_type.FromString(payload)
        except DecodeError as error:
            raise UnreadableEvent(f"payload is not a {message_type.DESCRIPTOR.name}") from error
        fields = _readers(cast(Any, event_type), message_type.DESCRIPTOR)
        return event_type(**{name: read(getattr(message, name)) for name, read in fields})
