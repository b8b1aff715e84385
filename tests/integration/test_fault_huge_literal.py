#!/usr/bin/python3
"""An IMAP server that announces a 4 GB literal in its answer to the body FETCH (a broken or
hostile server; libetpan 1.9.4 has no cap of its own) and then streams filler as fast as it can:
spocd stops reading at once, drops the connection, says why (the announced size, the limit, the
uid), keeps its peak RSS near that of an ordinary pass (nothing sized from the announcement, not
even max_message_bytes of filler) and leaves the message on the server, unrecorded."""

import spocdtest as st
from fake_imap import FakeImap

HUGE = 4000000000
LIMIT = 26214400  # the default max_message_bytes: a bound that filler could fill


def test(check):
    good = st.make_message("nuria.pons@example.com", "No arranca el programa de nóminas",
                           "Al abrir el programa de nóminas sale un error de licencia.\r\n")
    with st.Services(name="spocd-fault-literal") as s:
        with FakeImap("plain", good, uidvalidity=6000) as fake:
            conf = s.write_config(name="plain.conf", imap__port=fake.port,
                                  imap__max_message_bytes=LIMIT)
            rc, out, err = s.run_spocd("--once", config=conf, timeout=60)
            check.eq(rc, 0, "an ordinary pass against the fake server exits 0 (the set-up works)")
            baseline_kib = s.last_peak_rss_kib
        print(f"    peak RSS of an ordinary pass: {baseline_kib} KiB")

        with FakeImap("huge-literal", good, uidvalidity=6001, huge_literal=HUGE) as fake:
            conf = s.write_config(name="huge.conf", imap__port=fake.port, imap__timeout=20,
                                  imap__max_message_bytes=LIMIT)
            tickets = s.sql_value("SELECT count(*) FROM tickets")
            rc, out, err = s.run_spocd("--once", config=conf, timeout=60)
            sent = fake.literal_bytes_sent
            peak_kib = s.last_peak_rss_kib
            elapsed = s.last_elapsed
        print(f"    huge literal: {sent} bytes of filler went out, peak RSS {peak_kib} KiB, {elapsed:.1f}s")
        check.eq(rc, 75, "4 GB literal: spocd --once exits 75 (try again later)")
        check.ok(f"literal of {HUGE} bytes" in err and f"max_message_bytes ({LIMIT})" in err,
                 "the error gives the announced size and the limit", err)
        check.ok("uid 1" in err and "connection dropped" in err and "left on the server" in err,
                 "the error names the uid and says the connection was dropped, the message left", err)
        check.ok(sent < 32 * 1024 * 1024,
                 f"spocd stopped reading at once: {sent} bytes of filler went out (< 32 MiB)")
        check.ok(elapsed < 15, f"it did not wait for the 20 s timeout ({elapsed:.1f}s)")
        check.ok(peak_kib < baseline_kib + 12 * 1024,
                 f"peak RSS {peak_kib} KiB stays within 12 MiB of an ordinary pass ({baseline_kib} KiB)")
        check.ok(not any("MOVE" in c.upper() or "STORE" in c.upper() for c in fake.commands),
                 "the message is left in place: no MOVE, no STORE", repr(fake.commands))
        check.eq(s.sql_value("SELECT count(*) FROM ingest_log WHERE uidvalidity = 6001"), 0,
                 "nothing recorded in ingest_log")
        check.eq(s.sql_value("SELECT count(*) FROM quarantine WHERE uidvalidity = 6001"), 0,
                 "nothing quarantined")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), tickets, "no ticket")


if __name__ == "__main__":
    st.main(test)
