#!/usr/bin/python3
"""A message that kills spocd while it is being processed (a parser crash, simulated with
SPOCD_FAULT=crash-on-subject:...) must not keep the mailbox in a crash loop: after a crash the
messages of that batch are taken one at a time, the others become tickets as usual, and the one
that keeps killing spocd is quarantined unparsed, with its raw bytes and the reason, after three
tries. Nothing is lost and nothing is doubled."""

import spocdtest as st

POISON = "POISON-7f3a"


def test(check):
    with st.Services(name="spocd-poison") as s:
        good = [st.make_message(f"user{i}@example.com", f"No funciona la pantalla {i}",
                                f"La pantalla {i} parpadea.\r\n") for i in range(1, 5)]
        poison = st.make_message("eve@example.com", f"Impresora {POISON}", "Texto.\r\n")
        order = [good[0], good[1], poison, good[2], good[3]]
        uids = [s.append(m) for m in order]
        env = {"SPOCD_FAULT": f"crash-on-subject:{POISON}"}

        codes = []
        for _ in range(6):
            rc, out, err = s.run_spocd("--once", env=env)
            codes.append(rc)
            if rc == 0:
                break
        check.eq(codes, [-9, -9, -9, 0], "three runs die on the poison message, the fourth completes")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 4, "the four good messages are tickets")
        check.eq(sorted(r[0] for r in s.sql("SELECT requester FROM tickets")),
                 [f"user{i}@example.com" for i in range(1, 5)], "one ticket per good message")
        q = s.sql("SELECT uid, reason, raw FROM quarantine")
        check.eq(len(q), 1, "one message quarantined")
        check.eq(q[0][0], uids[2], "the poison message")
        check.ok("stopped 3 times" in q[0][1], "the reason says spocd stopped 3 times on it", q[0][1])
        check.eq(bytes(q[0][2]), poison, "its raw bytes are kept")
        check.eq(s.folder_count("spocd/failed"), 1, "it is in the failed folder")
        check.eq(s.folder_count("spocd/processed"), 4, "the good ones are in processed")
        check.eq(s.folder_count("INBOX"), 0, "INBOX is drained")
        check.eq(s.sql_value("SELECT count(*) FROM ingest_attempts"), 0, "no attempt left open")
        check.eq(len(s.captured()), 4, "four acknowledgements, none twice")

        # Another run changes nothing.
        rc, _, _ = s.run_spocd("--once", env=env)
        check.eq(rc, 0, "a later run exits 0")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 4, "still four tickets")


if __name__ == "__main__":
    st.main(test)
