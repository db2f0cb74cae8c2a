#!/usr/bin/env python3
"""An integrator reading the programme's events with nats-py.

Reads the stream ILEAPS_EVENTS (subjects ``ileaps.events.>``) with a durable
pull consumer, prints one line per event and acknowledges it::

    <ce-type> <ce-id> <subject>

Needs Python 3.9+ and nats-py (``python3 -m pip install nats-py``). Run it (see
docs/integrators.md)::

    NATS_URL=nats://127.0.0.1:4222 python3 docs/examples/integrator.py my-reader
    NATS_USER=integrator NATS_PASSWORD=... python3 docs/examples/integrator.py my-reader --max 10

- CONSUMER (or INTEGRATOR_CONSUMER): the durable consumer's name. The server
  remembers what it acknowledged, so a second run with the same name goes on
  where the first stopped; a new name reads from the start again.
- ``--max N``: stop after N events (default: run until interrupted).
- ``--from-seq N``: a new consumer starts at stream sequence N instead of the
  first event (an existing consumer keeps its position).
- NATS_URL (default nats://127.0.0.1:4222), NATS_USER and NATS_PASSWORD (the
  deployment's read-only user is ``integrator``).
"""

import argparse
import asyncio
import os
import sys

import nats
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

STREAM = "ILEAPS_EVENTS"
SUBJECTS = "ileaps.events.>"
# Events asked for in one pull request.
BATCH = 100


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Print and acknowledge ILEAPS_EVENTS.")
    parser.add_argument(
        "consumer",
        nargs="?",
        default=os.environ.get("INTEGRATOR_CONSUMER"),
        help="the durable consumer's name (or INTEGRATOR_CONSUMER)",
    )
    parser.add_argument("--max", type=int, help="stop after this many events")
    parser.add_argument(
        "--from-seq", type=int, help="a new consumer starts at this stream sequence"
    )
    args = parser.parse_args()
    if not args.consumer:
        parser.error("give the consumer's name (or set INTEGRATOR_CONSUMER)")
    return args


async def main() -> None:
    args = parse_args()
    url = os.environ.get("NATS_URL", "nats://127.0.0.1:4222")
    user = os.environ.get("NATS_USER")
    options = {}
    if user:
        # A restricted user may only receive on its own inbox prefix: the
        # replies to its JetStream requests and the events it pulls arrive there.
        options = {
            "user": user,
            "password": os.environ.get("NATS_PASSWORD", ""),
            "inbox_prefix": f"_INBOX.{user}",
        }
    nc = await nats.connect(url, **options)
    js = nc.jetstream()

    if args.from_seq is not None:
        deliver = {"deliver_policy": DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": args.from_seq}
    else:
        deliver = {"deliver_policy": DeliverPolicy.ALL}
    # Naming the stream spares a lookup by subject (which the read-only user
    # may not do). The consumer is created on the first run, found again on
    # the next ones.
    subscription = await js.pull_subscribe(
        SUBJECTS,
        durable=args.consumer,
        stream=STREAM,
        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=30, **deliver),
    )

    seen = 0
    try:
        while args.max is None or seen < args.max:
            # Never ask for more than is still wanted: an event pulled but not
            # acknowledged would wait ack_wait before the next run gets it.
            wanted = BATCH if args.max is None else min(args.max - seen, BATCH)
            try:
                messages = await subscription.fetch(wanted, timeout=5)
            except NatsTimeoutError:
                continue
            for message in messages:
                headers = message.headers or {}
                print(
                    headers.get("ce-type", "-"),
                    headers.get("ce-id", "-"),
                    message.subject,
                    flush=True,
                )
                # The body is the event itself, proto3 JSON: json.loads(message.data)
                # as your application needs. Then acknowledge, and wait until
                # the server has it.
                await message.ack_sync()
                seen += 1
    finally:
        await nc.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)
