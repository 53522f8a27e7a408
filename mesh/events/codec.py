"""A service's plain event dataclasses to and from the protobuf events of the contract.

Fields are matched by name, and a dataclass may declare only some of its message's fields (a
tolerant reader: fields added to the contract change nothing for it). Timestamps become aware
datetimes and Money its minor units, the two shapes the domains use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from functools import cache
from types import ModuleType
from typing import Any, TypeVar, cast

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message

from mesh.convert import from_timestamp, money, timestamp
from mesh.events.bus import subject_for

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
    """Translates one service's events: plain dataclasses inside, protobuf on the wire.

    Each dataclass stands for the message of the same name in the contract's module. What a
    service may publish and what it consumes are listed apart, so its edge says both.
    """

    def __init__(
        self,
        contract: ModuleType,
        *,
        publishes: Iterable[type[Any]] = (),
        consumes: Iterable[type[Any]] = (),
    ) -> None:
        self._publishes = {e: self._message_of(contract, e) for e in publishes}
        self._consumes = {e: self._message_of(contract, e) for e in consumes}

    @property
    def publishes(self) -> tuple[str, ...]:
        """The names of the events this service publishes."""
        return tuple(e.__name__ for e in self._publishes)

    @property
    def consumes(self) -> tuple[str, ...]:
        return tuple(e.__name__ for e in self._consumes)

    @staticmethod
    def _message_of(contract: ModuleType, event_type: type[Any]) -> type[Message]:
        message_type = getattr(contract, event_type.__name__, None)
        if message_type is None:
            raise TypeError(f"{contract.__name__} has no event {event_type.__name__}")
        _check(event_type, message_type.DESCRIPTOR)
        return cast(type[Message], message_type)

    def subject(self, event_type: type[Any]) -> str:
        """The subject a consumed event arrives on."""
        return subject_for(self._consumed(event_type).DESCRIPTOR.name)

    def _consumed(self, event_type: type[Any]) -> type[Message]:
        try:
            return self._consumes[event_type]
        except KeyError:
            raise TypeError(f"this service does not consume {event_type.__name__}") from None

    def encode(self, event: object) -> tuple[str, bytes]:
        """The subject and the serialized protobuf of a plain event this service publishes."""
        try:
            message = self._publishes[type(event)]()
        except KeyError:
            raise TypeError(f"this service does not publish {type(event).__name__}") from None
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
        message_type = self._consumed(event_type)
        try:
            message = message_type.FromString(payload)
        except DecodeError as error:
            raise UnreadableEvent(f"payload is not a {message_type.DESCRIPTOR.name}") from error
        fields = _readers(cast(Any, event_type), message_type.DESCRIPTOR)
        return event_type(**{name: read(getattr(message, name)) for name, read in fields})
