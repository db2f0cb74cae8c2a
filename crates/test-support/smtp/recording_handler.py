"""The handler of the tests' SMTP server (test_support::smtp).

Run as `python3 recording_handler.py serve <folder> <port>`: an aiosmtpd
server on 127.0.0.1:<port>, where port 0 lets the kernel pick a free one.
Once it listens, the port it got is written to `<folder>/port`. Binding here
and reporting the port, rather than being told a port found free earlier,
means no other process can take the port in between (when one did, a test's
client could reach that other server instead and see no SMTP at all).

Every accepted message is stored in <folder> as two files with the same
name (the time it arrived in nanoseconds and a sequence number, so names sort
in arrival order, across restarts too): `<name>.eml`, the raw bytes received
after DATA, and `<name>.json`, the envelope, the client's address:port (one
per connection) and the message as Python's email package reads it (headers with RFC 2047 words decoded, text and HTML
bodies with their transfer encoding and charset undone, line ends as
"\\n"). The JSON file is written last and renamed into place, so a reader
that sees it sees a complete message.

Test policy, by the local part of each RCPT TO address:
  refuse...  -> 550 (a permanent refusal)
  later...   -> 451 (try again later)
  slow...    -> accepted, but stored and answered only SLOW_REPLY_SECONDS
                after the message came (a sender's timeout fires first)
  otherwise  -> accepted

Run as a plain script, `python3 recording_handler.py parse < message.eml`
prints the same JSON for a message read from standard input (envelope left
empty), so tests can read .eml files with the same parser.
"""

import asyncio
import email
import email.policy
import itertools
import json
import os
import sys
import time

SLOW_REPLY_SECONDS = 5


def parse_message(raw):
    """The parts of a message that tests look at, decoded."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return {
        "headers": [[name, str(value)] for name, value in message.items()],
        "content_type": message.get_content_type(),
        "text": body_of(message, "plain"),
        "html": body_of(message, "html"),
    }


def body_of(message, subtype):
    """The decoded body of that subtype, line ends as "\\n" (on the wire
    they are CRLF), so tests can compare it with the text they sent."""
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return None
    return part.get_content().replace("\r\n", "\n")


def local_part_of(address):
    return address.split("@", 1)[0].lower()


def is_slow(address):
    return local_part_of(address).startswith("slow")


def write_atomically(path, data):
    temporary = path + ".tmp"
    with open(temporary, "wb") as file:
        file.write(data)
    os.replace(temporary, path)


class Recorder:
    """Stores accepted messages; refuses some recipients on purpose."""

    def __init__(self, folder):
        self.folder = folder
        self.sequence = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local_part = local_part_of(address)
        if local_part.startswith("refuse"):
            return "550 5.1.1 Mailbox refused by the test server's policy"
        if local_part.startswith("later"):
            return "451 4.3.0 Try again later (the test server's policy)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if any(is_slow(address) for address in envelope.rcpt_tos):
            await asyncio.sleep(SLOW_REPLY_SECONDS)
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        name = "%020d-%06d" % (time.time_ns(), next(self.sequence))
        record = parse_message(raw)
        record["mail_from"] = envelope.mail_from
        record["rcpt_to"] = list(envelope.rcpt_tos)
        record["peer"] = "%s:%s" % tuple(session.peer[:2])
        write_atomically(os.path.join(self.folder, name + ".eml"), raw)
        write_atomically(
            os.path.join(self.folder, name + ".json"),
            json.dumps(record).encode("utf-8"),
        )
        return "250 Message accepted"


def serve(folder, port):
    """Serves SMTP with a Recorder until killed; see the module docs."""
    from aiosmtpd.smtp import SMTP

    handler = Recorder(folder)

    async def run():
        loop = asyncio.get_running_loop()
        # An explicit host name: the default asks the resolver for this
        # machine's FQDN, which can stall where DNS is slow or absent.
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="ileaps-test-smtp"),
            host="127.0.0.1",
            port=port,
        )
        bound = server.sockets[0].getsockname()[1]
        write_atomically(os.path.join(folder, "port"), str(bound).encode("ascii"))
        print("listening on 127.0.0.1:%d" % bound, flush=True)
        await server.serve_forever()

    asyncio.run(run())


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
        sys.exit(0)
    if sys.argv[1:] != ["parse"]:
        sys.exit(
            "usage: recording_handler.py serve <folder> <port>\n"
            "       recording_handler.py parse < message.eml"
        )
    record = parse_message(sys.stdin.buffer.read())
    record["mail_from"] = None
    record["rcpt_to"] = []
    record["peer"] = None
    json.dump(record, sys.stdout)
