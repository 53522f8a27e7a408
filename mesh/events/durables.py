"""Each service's durable JetStream consumer: one, named after the service, over the subjects of
every event the service reacts to (mesh/topology.py), made by the provisioner.

One durable per service, not one per (service, event): each durable is a Raft group on a NATS
cluster, with its heartbeats and its own pull loop in the service (docs/performance.md measures
the difference). A durable over several subjects has `filter_subjects`, and NATS can check a
consumer's filter against the create request's subject only when there is one filter
(nats-server issue 6180): a service allowed to create its own would be allowed to create it over
every subject, and read every service's events. So the provisioner, an identity of its own
(`python -m mesh.events.provision`, run by `make run`, compose and a Kubernetes Job), creates the
stream and the durables, and a service may only read its own durable and ack what it read.

Upgrading from one durable per event (`<service>-<Event>`, the mesh before this layout): the
service's new durable starts at the lowest ack floor of its old ones, then the old ones are
deleted. A message between that floor and an old durable's own floor is delivered again, and
the inbox recognises it as applied: its key stays `<service>-<Event>` (mesh.events.consumer).
Run again, the provisioner finds the durable made and deletes whatever old one is left.
"""

from __future__ import annotations

import logging

from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from mesh.events.bus import STREAM, subject_for
from mesh.topology import SERVICES, ServiceInfo

log = logging.getLogger(__name__)

ACK_WAIT_SECONDS = 5.0  # how long JetStream waits for an ack before delivering again


def durable_name(service: str) -> str:
    """The service's one durable consumer: named after the service."""
    return service


def inbox_key(service: str, event: str) -> str:
    """processed_events.consumer for an event the service applied: `<service>-<Event>`, the
    name of the durable each event had before, so a row written under either layout counts."""
    return f"{service}-{event}"


def former_durables(service: ServiceInfo) -> list[str]:
    """The durables of the layout before: one per event, named like the inbox key."""
    return [inbox_key(service.name, event) for event in service.consumes]


def durable_config(
    service: ServiceInfo, ack_wait: float, start_sequence: int = 0
) -> api.ConsumerConfig:
    """Pull, explicit acks, over the service's event subjects; from the stream's first message,
    or from `start_sequence` when it takes over from former durables."""
    name = durable_name(service.name)
    start = (
        {"deliver_policy": api.DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": start_sequence}
        if start_sequence > 0
        else {"deliver_policy": api.DeliverPolicy.ALL}
    )
    return api.ConsumerConfig(
        name=name,
        durable_name=name,
        ack_policy=api.AckPolicy.EXPLICIT,
        ack_wait=ack_wait,
        filter_subjects=[subject_for(event) for event in service.consumes],
        **start,
    )


async def _info(js: JetStreamContext, name: str) -> api.ConsumerInfo | None:
    try:
        info: api.ConsumerInfo = await js.consumer_info(STREAM, name)
    except NotFoundError:
        return None
    return info


def acked_up_to(info: api.ConsumerInfo, last_sequence: int) -> int:
    """The stream sequence up to which the durable has had every message of its subjects acked:
    its ack floor, or, with nothing waiting to be delivered or acked, `last_sequence` (the
    stream's last message before its state was read). The server's ack floor alone can be 0
    for a durable that has had nothing to deliver since it started."""
    if not info.num_pending and not info.num_ack_pending:
        return last_sequence
    return info.ack_floor.stream_seq if info.ack_floor else 0


async def provision_durable(js: JetStreamContext, service: ServiceInfo, ack_wait: float) -> str:
    """Make the service's durable (or bring its subjects and ack wait up to date), then delete
    its former durables; says what it did."""
    name = durable_name(service.name)
    last = int((await js.stream_info(STREAM)).state.last_seq or 0)  # read before the durables
    former = {n: i for n in former_durables(service) if (i := await _info(js, n)) is not None}
    current = await _info(js, name)
    if current is None:
        # Each former durable has applied everything of its subject up to its floor; from the
        # lowest floor on, what was applied already is a duplicate the inbox drops.
        floors = [acked_up_to(info, last) for info in former.values()]
        start = min(floors) + 1 if floors else 0
        await js.add_consumer(STREAM, durable_config(service, ack_wait, start))
        done = f"created {name}" + (f" from stream sequence {start}" if start else "")
    else:
        assert current.config is not None
        # A durable's start cannot change; its subjects and ack wait can.
        wanted = durable_config(service, ack_wait).evolve(
            deliver_policy=current.config.deliver_policy,
            opt_start_seq=current.config.opt_start_seq,
        )
        if (current.config.filter_subjects, current.config.ack_wait) != (
            wanted.filter_subjects,
            wanted.ack_wait,
        ):
            await js.add_consumer(STREAM, wanted)
            done = f"updated {name}"
        else:
            done = f"found {name}"
    for old in former:
        await js.delete_consumer(STREAM, old)
    if former:
        done += f", deleted {', '.join(sorted(former))}"
    log.info("durable consumer provisioned", extra={"durable": name, "done": done})
    return done


async def provision(js: JetStreamContext, ack_wait: float = ACK_WAIT_SECONDS) -> list[str]:
    """Every consuming service's durable, in the stream that must exist already."""
    return [await provision_durable(js, s, ack_wait) for s in SERVICES if s.consumes]
