#!/usr/bin/python3
"""bench/chaos's invariant checker finds what it is there to find. After one real pass (a request
and an auto-reply, the acknowledgement delivered once) it reports every invariant held; then each
breach is made in turn, and the report must name it (and exit 1): a mail in two message rows; a
mail appended and found nowhere; a second delivery of the acknowledgement with no fault between
(and none reported when a SIGKILL of spocd came right after the first); an acknowledgement row
for the auto-reply; one mail recorded as making two tickets; a daemon dead by a signal nobody
sent."""

import contextlib
import io
import json
import os
import shutil
import sys

import spocdtest as st

sys.path.insert(0, os.path.join(st.SOURCE_DIR, "bench"))
import chaos_check  # noqa: E402
from test_chaos import load_chaos  # noqa: E402


class Chaos:
    def __init__(self):
        self.events, self.exits, self.skipped, self.daemons, self.started = [], [], {}, [None], 1


class Producer:
    def __init__(self, sent):
        self.sent, self.append_errors = sent, 0


def report(s, producer, chaos, capture):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = chaos_check.Report(s, producer, chaos, capture, ("spocd-kill", "postgres", "wal-full")).print(
            1.0, 0.0, "test")
    text = out.getvalue()
    print(text, flush=True)
    return rc, text


def test(check):
    bench = load_chaos()
    request = st.make_message("marta@example.com", "La impresora no imprime", "No imprime nada.\r\n",
                              message_id="<req.1@example.com>")
    auto = st.make_message("luis@example.com", "Out of office", "Estoy fuera hasta el lunes.\r\n",
                           message_id="<auto.1@example.com>", extra_headers=[("Auto-Submitted", "auto-replied")])
    with st.Services(name="spocd-chaos-checker") as s:
        s.append(request)
        s.append(auto)
        check.eq(s.run_spocd("--once")[0], 0, "one pass: a ticket and an automatic mail")
        sent = [{"kind": "new", "mid": "<req.1@example.com>", "sha": st.sha256_hex(request),
                 "from": "marta@example.com", "t": 0},
                {"kind": "auto", "mid": "<auto.1@example.com>", "sha": st.sha256_hex(auto),
                 "from": "luis@example.com", "t": 0}]
        producer, chaos = Producer(sent), Chaos()
        capture = bench.Capture(s.smtp_dir)
        check.eq(len(capture.scan()), 1, "the acknowledgement was delivered once")

        rc, text = report(s, producer, chaos, capture)
        check.eq(rc, 0, "a healthy run: every invariant held")
        check.ok("RESULT ok" in text and "INVARIANT BROKEN" not in text, "and the report says so", text)

        def breach(what, label):
            rc, text = report(s, producer, chaos, capture)
            check.eq(rc, 1, f"{what}: the checker exits 1")
            check.ok(f"INVARIANT BROKEN   {label}" in text, f"{what}: reported as '{label}'", text)

        # A copy of the delivered acknowledgement, taken 5 s later with no fault between.
        first = os.path.join(s.smtp_dir, "1")
        shutil.copy(first + ".eml", os.path.join(s.smtp_dir, "2.eml"))
        with open(first + ".json") as f:
            env = json.load(f)
        t1 = env["monotonic"]
        env["monotonic"] = t1 + 5
        with open(os.path.join(s.smtp_dir, "2.json"), "w") as f:
            json.dump(env, f)
        breach("a second delivery with no fault", "outbox rows sent more than once without a fault to explain it")
        chaos.events.append({"kind": "spocd-kill", "start": t1 + 1, "end": t1 + 2, "detail": "spocd-0-1"})
        rc, text = report(s, producer, chaos, capture)
        check.eq(rc, 0, "the same copy after a SIGKILL right after the first delivery is explained")
        check.ok("explained by: spocd-kill 1" in text, "and counted as explained by the kill", text)

        ack_row = s.sql_value("SELECT id FROM messages WHERE message_id = 'auto.1@example.com'")
        s.sql("INSERT INTO outbox (kind, ticket_id, in_reply_to_message, recipient, language, message_id) "
              "SELECT 'ack', id, %s, 'luis@example.com', 'es', '<chaos-test@desk.test>' FROM tickets", (ack_row,))
        breach("an acknowledgement row for the auto-reply", "automatic mail acknowledged or answered to its sender")
        s.sql("DELETE FROM outbox WHERE message_id = '<chaos-test@desk.test>'")

        s.sql("INSERT INTO ingest_log (mailbox, uidvalidity, uid, raw_sha256, outcome, ticket_id) "
              "SELECT 'INBOX', uidvalidity, 999, raw_sha256, 'ticket', "
              "(SELECT max(id) FROM tickets) FROM ingest_log WHERE outcome = 'ticket'")
        s.sql("INSERT INTO tickets (kind, subject, requester) VALUES ('incident', 'copy', 'marta@example.com')")
        s.sql("UPDATE ingest_log SET ticket_id = (SELECT max(id) FROM tickets) WHERE uid = 999")
        breach("one mail recorded as two tickets", "one mail, several tickets (ingest_log)")

        s.sql("INSERT INTO messages (ticket_id, direction, message_id, raw, raw_sha256) "
              "SELECT ticket_id, direction, message_id, raw, raw_sha256 FROM messages "
              "WHERE message_id = 'req.1@example.com'")
        breach("a mail in two message rows", "appended mails in more than one message row")

        producer.sent.append({"kind": "new", "mid": "<lost@example.com>", "sha": "0" * 64,
                              "from": "x@example.com", "t": 0})
        breach("a mail found nowhere", "appended mails neither in a message row, nor in INBOX, nor quarantined")

        chaos.exits.append(("spocd-0-2", -11, "Segmentation fault"))
        breach("a daemon dead by SIGSEGV", "spocd daemons that died by a signal nobody sent")


if __name__ == "__main__":
    st.main(test)
