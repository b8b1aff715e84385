#!/usr/bin/python3
"""An IMAP server that stops sending in the middle of the literal of a body FETCH and keeps the
connection open: imap.timeout fires, spocd drops the connection at once (no LOGOUT that would
wait one more timeout, or read the rest of the literal as its answer), says what happened, and
the next pass takes the mail, once."""

import spocdtest as st
from fake_imap import FakeImap

TIMEOUT = 3


def test(check):
    body = "La pantalla del portátil parpadea sin parar desde que lo conecté a la base.\r\n" * 200
    good = st.make_message("ines.roca@example.com", "La pantalla parpadea", body)
    with st.Services(name="spocd-fault-stall") as s:
        with FakeImap("stall-mid-literal", good, uidvalidity=7000) as fake:
            conf = s.write_config(name="stall.conf", imap__port=fake.port, imap__timeout=TIMEOUT)
            rc, out, err = s.run_spocd("--once", config=conf, timeout=60)
            check.eq(rc, 75, "stalled mid-literal: spocd --once exits 75 (try again later)")
            check.ok(fake.stalled_at is not None, "the server did stall in the literal (the set-up works)")
            check.wait_for(lambda: fake.stall_closed_at is not None, 5,
                           "spocd closed the stalled connection")
            waited = fake.stall_closed_at - fake.stalled_at
            print(f"    the connection was closed {waited:.2f}s after the server stalled")
            check.ok(TIMEOUT - 0.5 <= waited < 2 * TIMEOUT - 0.5,
                     f"closed when imap.timeout ({TIMEOUT} s) fired, not one timeout later ({waited:.2f}s)")
            check.eq(fake.stall_received, b"", "nothing more was sent on the stalled connection (no LOGOUT)")
            check.ok("UID FETCH (BODY.PEEK[])" in err and f"imap.timeout ({TIMEOUT} s)" in err
                     and "connection dropped" in err,
                     "the error names the FETCH, the timeout and the dropped connection", err)
            check.eq(s.sql_value("SELECT count(*) FROM ingest_log"), 0, "nothing recorded from half a message")
            check.ok(not any("MOVE" in c.upper() for c in fake.commands), "nothing moved")

            rc, out, err = s.run_spocd("--once", config=conf, timeout=60)
            check.eq(rc, 0, "the next pass exits 0")
            check.eq(fake.sessions, 2, "it came over a new connection")
            check.eq(s.sql_value("SELECT count(*) FROM tickets"), 1, "the next pass made the ticket")
            check.eq(s.sql_value("SELECT length(raw) FROM messages WHERE direction = 'in'"), len(good),
                     "from the whole message")
            check.ok(any('UID MOVE 1 "SPOCD/PROCESSED"' in c.upper() for c in fake.commands),
                     "and moved it to the processed folder", repr(fake.commands))
            check.eq(len(s.captured()), 1, "one acknowledgement")


if __name__ == "__main__":
    st.main(test)
