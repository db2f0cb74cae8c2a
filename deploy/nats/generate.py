#!/usr/bin/env python3
"""Writes the NATS authorization of ileaps (accounts, users, permissions).

    deploy/nats/generate.py            write auth.conf (and the Kubernetes copy)
    deploy/nats/generate.py --check    fail if they differ from what would be written
    deploy/nats/generate.py --dev-passwords
                                       write passwords.conf: bcrypt hashes of the
                                       development passwords compose.yaml uses
                                       (needs `pip install bcrypt`)

One user per city of deploy/seed/cities.yaml (or the files given with
--cities), the integrator, one user per service, the operator, and a system
user. Who may do what follows CONTRACT.md, "Who may do what"; the comments in
the generated file say why each permission is there.

Passwords are not in auth.conf: each user's password is the variable
PASS_<USER> (upper case, '-' as '_'), defined in passwords.conf, which
auth.conf includes. passwords.conf in this folder holds bcrypt hashes of
development passwords for compose; production mounts its own from a secret.
Only the standard library is needed, except for --dev-passwords.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUTPUTS = [HERE / "auth.conf", ROOT / "deploy/k8s/base/nats/auth.conf"]
PASSWORDS = HERE / "passwords.conf"
DEFAULT_CITIES = [ROOT / "deploy/seed/cities.yaml"]

ACCOUNT = "ILEAPS"
STREAMS = ["ILEAPS_INBOUND", "ILEAPS_EVENTS", "ILEAPS_INTERNAL", "ILEAPS_OUTBOUND", "ILEAPS_DLQ"]

# What each service consumes (stream -> the subjects it handles, which its
# `dlq.replay` command may publish again), and what it emits.
SERVICES = {
    "intake": {
        "consumes": {
            "ILEAPS_INBOUND": ["ileaps.inbound.>"],
            # consumer intake-progress: workshop and assignment events only
            "ILEAPS_EVENTS": ["ileaps.events.workshop.>", "ileaps.events.assignment.>"],
        },
        "emits": ["ileaps.events.enquiry.>", "ileaps.internal.enquiry.>"],
        # micro service `enquiry-status`, answering every city's queries
        "serves": ["ileaps.query.*.enquiry"],
    },
    "scheduling": {
        "consumes": {
            "ILEAPS_EVENTS": ["ileaps.events.enquiry.>", "ileaps.events.assignment.>"],
            # consumer scheduling-roster: assignment's roster and live holds,
            # which carry no personal data
            "ILEAPS_INTERNAL": ["ileaps.internal.roster.>"],
        },
        # The internal stream also carries contacts (personal data), which
        # scheduling must never read: its one consumer there is pinned, by
        # name and filter, to the roster's subjects (as a city's to its feed).
        "pinned": {"ILEAPS_INTERNAL": ("scheduling-roster", "ileaps.internal.roster.>")},
        "emits": ["ileaps.events.workshop.>"],
        "serves": [],
    },
    "assignment": {
        "consumes": {"ILEAPS_EVENTS": ["ileaps.events.workshop.>"]},
        "emits": [
            "ileaps.events.assignment.>",
            "ileaps.internal.expert.>",
            "ileaps.internal.roster.>",
        ],
        "serves": [],
    },
    "notifications": {
        "consumes": {
            "ILEAPS_EVENTS": [
                "ileaps.events.enquiry.>",
                "ileaps.events.workshop.>",
                "ileaps.events.assignment.>",
            ],
            "ILEAPS_INTERNAL": ["ileaps.internal.>"],
        },
        "emits": ["ileaps.outbound.>", "ileaps.events.notification.>"],
        "serves": [],
    },
}

# The services' durable consumers on ILEAPS_EVENTS. Integrators may create
# consumers of their own on that stream, but never pull from, acknowledge
# for, replace or delete these (that would take work from a service). The
# security test checks this list against the names in the services' code.
SERVICE_EVENT_CONSUMERS = ["intake-progress", "scheduling", "assignment", "notifications"]

CITY_CODE = re.compile(r"^[a-z0-9-]{2,32}$")


def variable(user: str) -> str:
    return "PASS_" + user.upper().replace("-", "_")


def city_user(code: str) -> str:
    return f"city-{code}"


def city_consumer(code: str) -> str:
    """The one durable consumer a city reads its feed with."""
    return f"city-{code}"


def inbox(user: str) -> str:
    """The inbox prefix a city's or integrator's client must use
    (async-nats `custom_inbox_prefix`, nats.py `inbox_prefix`, Go
    `nats.CustomInboxPrefix`): replies and pulled messages go there, and
    nobody else outside the services and operators may listen there."""
    return f"_INBOX.{user}"


def read_cities(files: list[Path]) -> list[str]:
    codes: list[str] = []
    for file in files:
        for line in file.read_text(encoding="utf-8").splitlines():
            found = re.match(r"^\s*-\s*code:\s*([^\s#]+)\s*(#.*)?$", line)
            if not found:
                continue
            code = found.group(1).strip("'\"")
            if not CITY_CODE.match(code):
                sys.exit(f"{file}: {code!r} is not a city code (2-32 of a-z, 0-9, '-')")
            if code not in codes:
                codes.append(code)
    if not codes:
        sys.exit(f"no cities found in {', '.join(map(str, files))}")
    return codes


def quoted(items: list[str], indent: str) -> str:
    return "[\n" + "".join(f'{indent}  "{item}"\n' for item in items) + f"{indent}]"


def user_block(user: str, comment: str, publish: list[str] | None = None,
               publish_deny: list[str] | None = None, subscribe: list[str] | None = None,
               responses: bool = False) -> str:
    ind = "      "
    lines = [f"{ind}# {line}".rstrip() for line in comment.strip().splitlines()]
    lines.append(f"{ind}{{")
    lines.append(f"{ind}  user: {user}")
    lines.append(f"{ind}  password: ${variable(user)}")
    if publish is not None or subscribe is not None:
        lines.append(f"{ind}  permissions: {{")
        if publish is not None:
            lines.append(f"{ind}    publish: {{")
            lines.append(f"{ind}      allow: {quoted(publish, ind + '      ')}")
            if publish_deny:
                lines.append(f"{ind}      deny: {quoted(publish_deny, ind + '      ')}")
            lines.append(f"{ind}    }}")
        if subscribe is not None:
            lines.append(f"{ind}    subscribe: {{")
            lines.append(f"{ind}      allow: {quoted(subscribe, ind + '      ')}")
            lines.append(f"{ind}    }}")
        if responses:
            lines.append(f"{ind}    # one reply to each request it receives (queries, admin")
            lines.append(f"{ind}    # commands, $SRV discovery), whatever the reply subject")
            lines.append(f"{ind}    allow_responses: true")
        lines.append(f"{ind}  }}")
    lines.append(f"{ind}}}")
    return "\n".join(lines)


def city(code: str) -> str:
    user = city_user(code)
    consumer = city_consumer(code)
    return user_block(
        user,
        f"""
City {code}: sends enquiries and queries under its own code only, and reads
its own feed with its durable pull consumer {consumer} on ILEAPS_OUTBOUND,
whose filter the create subject pins to ileaps.outbound.{code}.>. Its client
uses the inbox prefix {inbox(user)}.
""",
        publish=[
            f"ileaps.inbound.{code}.>",
            f"ileaps.query.{code}.>",
            f"$JS.API.CONSUMER.CREATE.ILEAPS_OUTBOUND.{consumer}.ileaps.outbound.{code}.>",
            f"$JS.API.CONSUMER.INFO.ILEAPS_OUTBOUND.{consumer}",
            f"$JS.API.CONSUMER.MSG.NEXT.ILEAPS_OUTBOUND.{consumer}",
            f"$JS.API.CONSUMER.DELETE.ILEAPS_OUTBOUND.{consumer}",
            f"$JS.ACK.ILEAPS_OUTBOUND.{consumer}.>",
        ],
        subscribe=[f"{inbox(user)}.>"],
    )


def integrator() -> str:
    events = "ILEAPS_EVENTS"
    deny: list[str] = []
    for name in SERVICE_EVENT_CONSUMERS:
        deny += [
            f"$JS.API.CONSUMER.CREATE.{events}.{name}",
            f"$JS.API.CONSUMER.CREATE.{events}.{name}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{events}.{name}",
            f"$JS.API.CONSUMER.MSG.NEXT.{events}.{name}",
            f"$JS.API.CONSUMER.DELETE.{events}.{name}",
            f"$JS.ACK.{events}.{name}.>",
        ]
    return user_block(
        "integrator",
        f"""
Integrator: reads (and replays) the programme's public events and nothing
else. It publishes no message of its own: only JetStream API requests on
{events}, with consumers of its own (not the services'), and the acks and
flow-control replies of those consumers. Inbox prefix {inbox('integrator')}.
""",
        publish=[
            "$JS.API.INFO",
            f"$JS.API.STREAM.INFO.{events}",
            f"$JS.API.STREAM.MSG.GET.{events}",
            f"$JS.API.DIRECT.GET.{events}",
            f"$JS.API.DIRECT.GET.{events}.>",
            f"$JS.API.CONSUMER.CREATE.{events}",
            f"$JS.API.CONSUMER.CREATE.{events}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{events}.*",
            f"$JS.API.CONSUMER.INFO.{events}.*",
            f"$JS.API.CONSUMER.NAMES.{events}",
            f"$JS.API.CONSUMER.LIST.{events}",
            f"$JS.API.CONSUMER.MSG.NEXT.{events}.*",
            f"$JS.API.CONSUMER.DELETE.{events}.*",
            f"$JS.ACK.{events}.>",
            f"$JS.FC.{events}.>",
        ],
        publish_deny=deny,
        subscribe=[f"{inbox('integrator')}.>"],
    )


def service(name: str, spec: dict) -> str:
    consumed = dict(spec["consumes"])
    consumed.setdefault("ILEAPS_DLQ", [])  # dlq.list and dlq.replay read it
    publish = list(spec["emits"]) + [f"ileaps.dlq.{name}"]
    for subjects in spec["consumes"].values():
        publish += [s for s in subjects if s not in publish]
    publish.append("$JS.API.INFO")
    for stream in STREAMS:  # every service provisions all five streams
        publish += [
            f"$JS.API.STREAM.INFO.{stream}",
            f"$JS.API.STREAM.CREATE.{stream}",
            f"$JS.API.STREAM.UPDATE.{stream}",
        ]
    pinned = spec.get("pinned", {})
    for stream, (consumer, filter_subject) in pinned.items():
        publish += [
            f"$JS.API.CONSUMER.CREATE.{stream}.{consumer}.{filter_subject}",
            f"$JS.API.CONSUMER.INFO.{stream}.{consumer}",
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}",
            f"$JS.ACK.{stream}.{consumer}.>",
        ]
    for stream in (s for s in consumed if s not in pinned):
        publish += [
            f"$JS.API.CONSUMER.CREATE.{stream}",
            f"$JS.API.CONSUMER.CREATE.{stream}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.*",
            f"$JS.API.CONSUMER.INFO.{stream}.*",
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.*",
            f"$JS.API.CONSUMER.DELETE.{stream}.*",
            f"$JS.ACK.{stream}.>",
        ]
    publish += ["$JS.API.STREAM.MSG.GET.ILEAPS_DLQ", "$JS.API.STREAM.MSG.DELETE.ILEAPS_DLQ"]
    streams = ", ".join(sorted(consumed))
    only = "".join(
        f"\nOn {stream} only with its consumer {consumer} filtered to {filter_subject}."
        for stream, (consumer, filter_subject) in pinned.items()
    )
    return user_block(
        name,
        f"""
Service {name}: emits {', '.join(spec['emits'])} (through its outbox) and
dead letters on ileaps.dlq.{name}; may publish again what it consumes (its
`dlq.replay` command); provisions the five streams; consumes from {streams};
serves its operator commands on ileaps.admin.{name}.> (a NATS micro service).{only}
""",
        publish=publish,
        subscribe=["_INBOX.>", f"ileaps.admin.{name}.>", "$SRV.>"] + spec["serves"],
        responses=True,
    )


def render(codes: list[str]) -> str:
    blocks = [city(code) for code in codes]
    blocks.append(integrator())
    blocks += [service(name, spec) for name, spec in SERVICES.items()]
    blocks.append(user_block(
        "operator",
        """
Operator (the `ileaps` CLI, `nats` CLI): everything in the account: admin
commands (ileaps.admin.>), streams, consumers, dead letters, replays.
""",
    ))
    users = ",\n".join(blocks)
    cities = ", ".join(codes)
    return f"""# GENERATED by deploy/nats/generate.py from deploy/seed/cities.yaml: do not edit.
# Regenerate after adding a city or changing a permission:
#     python3 deploy/nats/generate.py
#
# Who may do what (CONTRACT.md): cities, the integrator, each service, the
# operator. Everything lives in one account, {ACCOUNT}, with per-user
# permissions: the streams, their consumers and the services' request/reply
# all stay in one subject space, so JetStream needs no cross-account exports
# and imports, and every rule below is one subject pattern a test can try.
# (Separate accounts would isolate inboxes by construction but need an export
# per stream API call, consumer and ack subject, per city.)
#
# Passwords: user <u> has the password variable PASS_<U> ('-' as '_'),
# defined in passwords.conf beside this file (bcrypt hashes). Cities:
# {cities}.

include ./passwords.conf

accounts {{
  {ACCOUNT} {{
    jetstream: enabled
    users: [
{users}
    ]
  }}
  # The system account: server monitoring (`nats server report ...`).
  SYS {{
    users: [
      {{ user: sys, password: $PASS_SYS }}
    ]
  }}
}}
system_account: SYS
"""


def dev_passwords(codes: list[str]) -> str:
    import bcrypt  # only for this command

    users = [city_user(c) for c in codes] + ["integrator", *SERVICES, "operator", "sys"]
    lines = [
        "# DEVELOPMENT ONLY: bcrypt hashes of the well-known passwords in",
        "# deploy/compose.yaml (user <u> has password '<u>-dev-password').",
        "# Written by `deploy/nats/generate.py --dev-passwords`. Production mounts",
        "# its own passwords.conf from a secret (see docs/operations.md).",
        "",
    ]
    for user in users:
        secret = f"{user}-dev-password".encode()
        # $2a$: the prefix every nats-server version recognises.
        hashed = bcrypt.hashpw(secret, bcrypt.gensalt(rounds=10, prefix=b"2a")).decode()
        lines.append(f'{variable(user)}: "{hashed}"')
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the files are stale")
    parser.add_argument("--dev-passwords", action="store_true", help="write passwords.conf")
    parser.add_argument("--cities", type=Path, nargs="+", default=DEFAULT_CITIES)
    args = parser.parse_args()

    codes = read_cities(args.cities)
    if args.dev_passwords:
        PASSWORDS.write_text(dev_passwords(codes), encoding="utf-8")
        print(f"wrote {PASSWORDS.relative_to(ROOT)}")
        return

    text = render(codes)
    stale = []
    for path in OUTPUTS:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        sys.exit(f"stale: {', '.join(stale)}; run python3 deploy/nats/generate.py")


if __name__ == "__main__":
    main()
