#!/usr/bin/python3
"""Two spocd processes working the same mailbox at the same time (an operator's cron job next to
the service, or two hosts) still make exactly one ticket and one acknowledgement per message:
the mailbox's lease (sql/026_leases.sql) lets one read it at a time, the UNIQUE (mailbox,
UIDVALIDITY, UID) key of ingest_log and the outbox's FOR UPDATE SKIP LOCKED decide who takes
what. Each --once gives the lease up as it exits."""

import re

import spocdtest as st


def test(check):
    n = 40
    with st.Services(name="spocd-concurrent") as s:
        conf = s.write_config(name="small-batches.conf", imap__batch_size=5)
        subjects = []
        for i in range(n):
            subject = f"No funciona el puesto {i:03d}"
            subjects.append(subject)
            s.append(st.make_message(f"user{i:03d}@example.com", subject,
                                     f"El equipo {i} no arranca.\r\n"))
        procs = [s.start_spocd("--once", config=conf, name=f"once-{i}") for i in range(2)]
        for d in procs:
            check.eq(d.wait(timeout=300), 0, "each concurrent spocd --once exits 0")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), n, f"{n} tickets")
        check.eq(s.sql_value("SELECT count(DISTINCT subject) FROM tickets"), n, "one per message")
        check.eq(s.sql_value("SELECT count(*) FROM messages WHERE direction = 'in'"), n,
                 f"{n} incoming message rows")
        check.eq(s.sql_value("SELECT count(*) FROM ingest_log"), n, f"{n} ingest_log rows")
        check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE state = 'sent'"), n,
                 f"{n} acknowledgements sent")
        got = sorted(m["Subject"] for m in s.captured())
        check.eq(len(got), n, f"{n} acknowledgements captured")
        check.eq(len(set(got)), n, "no acknowledgement twice")
        check.eq(s.folder_count("INBOX"), 0, "INBOX is drained")
        check.eq(s.folder_count("spocd/processed"), n, f"{n} messages in spocd/processed")
        holders = [re.search(r"lease holder (\S+) \(", d.text()).group(1) for d in procs]
        took = [h for h, d in zip(holders, procs) if "mailbox INBOX: lease taken" in d.text()]
        waited = [d.name for d in procs if "another spocd holds its lease" in d.text()]
        check.ok(took, "one of them took the mailbox's lease", holders)
        check.ok(len(took) == 2 or len(waited) == 1,
                 "the other waited for it, or took it once the first gave it up", (took, waited))
        check.eq(s.sql("SELECT holder = ANY(%s), expires_at <= now() FROM leases"
                       " WHERE name = 'mailbox:INBOX'", (holders,)), [(True, True)],
                 "the lease names one of them and was given up at exit")


if __name__ == "__main__":
    st.main(test)
