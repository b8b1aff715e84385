#!/usr/bin/python3
"""spocd against an IMAP server that misbehaves in the ways Debian's libetpan 1.9.4 handles badly
(../shared/LIBRARY-DEFECTS.md), each a regression test for spocd's workaround:
  - the server hangs up in the middle of a literal: libetpan would spin at 100% CPU forever;
    spocd must give up with an error and exit 75 well within its timeout;
  - a PREAUTH greeting on a connection that still has to be upgraded with STARTTLS, and a server
    without STARTTLS: refused, never LOGIN in clear;
  - plain-text bytes after the STARTTLS OK (CVE-2020-15953, a response injection): refused before
    anything else is sent, while the same server without the injection gets the LOGIN;
  - a literal far larger than the announced RFC822.SIZE: spocd keeps at most max_message_bytes
    of it and quarantines the message as over the limit instead of holding it all."""

import time

import spocdtest as st
from fake_imap import FakeImap


def run_against(s, fake, check, **overrides):
    conf = s.write_config(name="fake.conf", imap__port=fake.port, **overrides)
    t0 = time.monotonic()
    rc, out, err = s.run_spocd("--once", config=conf, timeout=60)
    return rc, err, time.monotonic() - t0


def test(check):
    good = st.make_message("ana@example.com", "No funciona la VPN", "No puedo conectar.\r\n")
    with st.Services(name="spocd-fakeimap") as s:
        with FakeImap("eof-mid-literal", good * 200) as fake:
            rc, err, secs = run_against(s, fake, check, imap__timeout=10)
            check.eq(rc, 75, "hang-up mid-literal: spocd --once exits 75")
            check.ok(secs < 30, f"hang-up mid-literal: it gave up in {secs:.1f}s, not spinning")
            check.ok("UID FETCH" in err, "the error names the FETCH that failed", err)
            check.eq(s.sql_value("SELECT count(*) FROM ingest_log"), 0,
                     "nothing recorded from a half-received message")
            check.ok(not any("MOVE" in c for c in fake.commands), "nothing moved")

        with FakeImap("preauth") as fake:
            rc, err, _ = run_against(s, fake, check, imap__tls="starttls")
            check.eq(rc, 75, "PREAUTH before STARTTLS: exit 75")
            check.ok("PREAUTH" in err, "the error says PREAUTH was refused", err)
            check.ok(not any("LOGIN" in c.upper() for c in fake.commands), "no LOGIN sent",
                     repr(fake.commands))

        with FakeImap("no-starttls") as fake:
            rc, err, _ = run_against(s, fake, check, imap__tls="starttls")
            check.eq(rc, 75, "no STARTTLS offered with tls = starttls: exit 75")
            check.ok("STARTTLS" in err, "the error says STARTTLS is missing", err)
            check.ok(not any("LOGIN" in c.upper() for c in fake.commands),
                     "no LOGIN sent in clear", repr(fake.commands))

        tls = {"imap__tls": "starttls", "imap__ca_file": s.certs["ca"][0]}
        with FakeImap("starttls", cert=s.certs["good"]) as fake:
            rc, err, _ = run_against(s, fake, check, **tls)
            check.ok(getattr(fake, "tls_up", False), "STARTTLS upgraded the connection")
            check.ok(any("LOGIN" in c.upper() for c in fake.commands),
                     "without an injection, LOGIN follows STARTTLS (the test set-up works)",
                     repr(fake.commands))
        with FakeImap("starttls-inject", cert=s.certs["good"]) as fake:
            rc, err, _ = run_against(s, fake, check, **tls)
            check.eq(rc, 75, "bytes injected after the STARTTLS reply: exit 75")
            # Debian's libetpan 1.9.4 already fails STARTTLS on such bytes (its error 39);
            # spocd's own check of the read buffer stands behind it for a libetpan that
            # does not.
            check.ok("STARTTLS" in err, "the error names STARTTLS", err)
            check.ok(not any(c.upper().split(" ")[1:2] in (["LOGIN"], ["AUTHENTICATE"], ["CAPABILITY"])
                             for c in fake.commands[fake.commands.index(next(
                                 c for c in fake.commands if "STARTTLS" in c.upper())) + 1:]),
                     "nothing sent after STARTTLS", repr(fake.commands))

        big = good + b"X" * 200000 + b"\r\n"
        with FakeImap("oversized-literal", good, announced_size=len(good), literal=big) as fake:
            rc, err, _ = run_against(s, fake, check, imap__max_message_bytes=4096)
            check.eq(rc, 0, "literal larger than announced: the cycle completes")
            rows = s.sql("SELECT reason, length(raw) FROM quarantine WHERE mailbox = 'INBOX' "
                         "AND uidvalidity = 4242 AND uid = 1")
            check.eq(len(rows), 1, "the message is quarantined")
            check.ok("max_message_bytes" in rows[0][0], "the reason names max_message_bytes",
                     rows[0][0])
            check.eq(rows[0][1], 4096, "only max_message_bytes of it were kept")
            check.ok(any(" UID MOVE 1 " in c.upper() and "FAILED" in c.upper()
                         for c in fake.commands), "moved to the failed folder",
                     repr(fake.commands))
            check.eq(s.sql_value("SELECT count(*) FROM tickets"), 0, "no ticket from it")

        # A server without MOVE: COPY, then \Deleted, then UID EXPUNGE of exactly that UID.
        with FakeImap("no-move", good, uidvalidity=777) as fake:
            rc, err, _ = run_against(s, fake, check)
            check.eq(rc, 0, "server without MOVE: the cycle completes")
            check.eq(s.sql_value("SELECT count(*) FROM tickets"), 1, "the message became a ticket")
            cmds = [c.split(" ", 1)[1].upper() for c in fake.commands if " " in c]
            check.ok(not any(c.startswith("UID MOVE") for c in cmds), "no UID MOVE sent", repr(cmds))
            tail = [c for c in cmds if c.startswith(("UID COPY", "UID STORE", "UID EXPUNGE"))]
            check.eq(tail, ['UID COPY 1 "SPOCD/PROCESSED"', "UID STORE 1 +FLAGS.SILENT (\\DELETED)",
                            "UID EXPUNGE 1"],
                     "UID COPY, +FLAGS (\\Deleted) and UID EXPUNGE of that UID only")

        # The server renumbers the mailbox (new UIDVALIDITY): the message it already gave is
        # recognised by its SHA-256 and only moved; no second ticket, no second acknowledgement.
        renumbered = st.make_message("rosa.vega@example.com", "No funciona el teléfono",
                                     "El teléfono fijo no da tono.\r\n")
        with FakeImap("renumber", renumbered, uidvalidity=1000) as fake:
            rc, err, _ = run_against(s, fake, check)
            check.eq(rc, 0, "UIDVALIDITY 1000: the cycle completes")
        tickets = s.sql_value("SELECT count(*) FROM tickets")
        acks = s.sql_value("SELECT count(*) FROM outbox")
        with FakeImap("renumber", renumbered, uidvalidity=2000) as fake:
            rc, err, _ = run_against(s, fake, check)
            check.eq(rc, 0, "UIDVALIDITY 2000: the cycle completes")
            check.ok("UIDVALIDITY changed" in err, "the change is logged", err)
            check.eq(s.sql_value("SELECT count(*) FROM tickets"), tickets, "no second ticket")
            check.eq(s.sql_value("SELECT count(*) FROM outbox"), acks, "no second acknowledgement")
            check.eq(s.sql("SELECT outcome FROM ingest_log WHERE uidvalidity = 2000"), [("duplicate",)],
                     "recorded as a duplicate under the new UIDVALIDITY")
            check.ok(any(" UID MOVE 1 " in c.upper() and "PROCESSED" in c.upper() for c in fake.commands),
                     "and moved to the processed folder", repr(fake.commands))

        # A server whose hierarchy delimiter is "." (Dovecot's default Maildir++ layout): the
        # configured "spocd/processed" becomes "spocd.processed", created when missing.
        with FakeImap("delimiter", good, uidvalidity=3000, delimiter=".") as fake:
            rc, err, _ = run_against(s, fake, check)
            check.eq(rc, 0, "server with '.' delimiter: the cycle completes")
            cmds = [c.split(" ", 1)[1].upper() for c in fake.commands if " " in c]
            check.ok('CREATE "SPOCD.PROCESSED"' in cmds and 'CREATE "SPOCD.FAILED"' in cmds,
                     "both folders created in the server's hierarchy", repr(cmds))
            check.ok('UID MOVE 1 "SPOCD.PROCESSED"' in cmds, "the message moved to spocd.processed",
                     repr(cmds))


if __name__ == "__main__":
    st.main(test)
