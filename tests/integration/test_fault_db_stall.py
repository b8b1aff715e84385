#!/usr/bin/python3
"""PostgreSQL stops answering in the middle of an ingest transaction (pg_proxy.py holds every byte
from the statement that writes ingest_log on, and keeps the connections open): spocd does not hang.
database.timeout fires, spocd shuts the connection, says which statement got no answer within
which setting, and the next pass (over a new connection) takes the mail, once. The server side,
closed in turn, rolls back: nothing half-written. The daemon does the same by itself, three
times on the same mail, and does not count the stalls it handled as crashes on that mail."""

import spocdtest as st
from pg_proxy import PgProxy

TIMEOUT = 3


def test(check):
    raw = st.make_message("joan.puig@example.com", "El proyector no detecta el portátil",
                          "El proyector de la sala 2 no detecta mi portátil por HDMI.\r\n")
    with st.Services(name="spocd-fault-dbstall") as s:
        uid = s.append(raw)
        with PgProxy(s.pg_port, "stall") as proxy:
            conf = s.write_config(name="stall.conf", database__conninfo=proxy.conninfo,
                                  database__timeout=TIMEOUT)
            rc, out, err = s.run_spocd("--once", config=conf, timeout=90)
            check.ok(proxy.fired is not None, "the proxy stalled the ingest statement")
            check.eq(rc, 75, "the pass exits 75 (try again later)")
            check.ok(proxy.client_closed is not None, "spocd closed the stalled connection")
            waited = proxy.client_closed - proxy.fired
            print(f"    the connection was closed {waited:.2f}s after the stall")
            check.ok(TIMEOUT - 0.5 <= waited < 2 * TIMEOUT,
                     f"when database.timeout ({TIMEOUT} s) fired ({waited:.2f}s)")
            check.ok(f"mailbox INBOX: database: ingest_log: no answer within database.timeout ({TIMEOUT} s)"
                     in err, "the log names the mailbox, the statement and the setting", err)
            check.wait_for(lambda: s.sql_value("SELECT count(*) FROM pg_stat_activity"
                                               " WHERE datname = 'spocd' AND state LIKE 'idle in%'") == 0,
                           10, "the stalled transaction ended on the server")
            check.eq(s.sql_value("SELECT count(*) FROM tickets"), 0, "nothing half-written")
            check.eq(s.folder_uids("INBOX"), [uid], "the mail is still in INBOX")

            rc, out, err = s.run_spocd("--once", config=conf)
            check.eq(rc, 0, "the next pass exits 0")
            check.eq(s.sql_value("SELECT count(*) FROM tickets"), 1, "one ticket")
            check.eq(s.folder_count("INBOX"), 0, "INBOX is empty")
            check.eq(len(s.captured()), 1, "one acknowledgement")

        # The daemon, stalled three times on its next mail, recovers each time without a
        # restart; the stalls it handled are not taken for crashes (three would quarantine the
        # mail as a poison message).
        second = st.make_message("anna.font@example.com", "No puedo imprimir en A3",
                                 "La impresora no me deja elegir el tamaño A3.\r\n")
        with PgProxy(s.pg_port, "stall", times=3) as proxy:
            conf = s.write_config(name="daemon.conf", database__conninfo=proxy.conninfo,
                                  database__timeout=TIMEOUT, imap__idle=False)
            d = s.start_spocd(config=conf)
            s.append(second)
            check.wait_for(lambda: proxy.fired, 30, "the daemon's ingest statement stalled", detail=d.tail)
            check.wait_for(lambda: s.sql_value("SELECT count(*) FROM ingest_log") == 2, 90,
                           "the daemon gave the connection up and took the mail by itself", detail=d.tail)
            check.eq(proxy.faults, 3, "after three stalls")
            check.eq(s.sql_value("SELECT count(*) FROM tickets"), 2, "the mail is a ticket")
            check.eq(s.sql_value("SELECT count(*) FROM quarantine"), 0, "not quarantined as a poison message")
            check.ok("no answer within database.timeout" in d.text(), "it logged the timeout", d.tail())
            check.wait_for(lambda: len(s.captured()) == 2, 30, "and sent its acknowledgement", detail=d.tail)
            check.eq(d.stop(), 0, "the daemon stops cleanly")
        check.eq(s.folder_count("INBOX"), 0, "INBOX is empty")
        check.eq(len(s.captured()), 2, "two acknowledgements in all")


if __name__ == "__main__":
    st.main(test)
