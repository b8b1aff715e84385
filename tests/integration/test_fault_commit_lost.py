#!/usr/bin/python3
"""The database connection is lost during the COMMIT of an ingest transaction (pg_proxy.py
between spocd and PostgreSQL), both ways it can go:
  - before the COMMIT reached the server: nothing was committed; the pass exits 75 saying so, the
    mail stays in INBOX, and the next pass takes it;
  - after the server committed, before its answer reached spocd: spocd cannot know it was
    committed; the mail stays in INBOX, and the next pass recognises it by its claim (mailbox,
    UIDVALIDITY, UID and the SHA-256 of its bytes in ingest_log) and only moves it.
Each mail is one ticket with one acknowledgement. Then the daemon: the same loss under it, it
reconnects by itself and takes the mail without a restart."""

import spocdtest as st
from pg_proxy import PgProxy


def one_case(check, s, mode, n, committed):
    raw = st.make_message(f"user{n}@example.com", f"El portátil {n} no arranca",
                          f"El portátil {n} se queda en la pantalla negra al encenderlo.\r\n")
    uid = s.append(raw)
    with PgProxy(s.pg_port, mode) as proxy:
        conf = s.write_config(name=f"{mode}.conf", database__conninfo=proxy.conninfo)
        rc, out, err = s.run_spocd("--once", config=conf)
        check.ok(proxy.fired is not None, f"{mode}: the proxy dropped the connection at the COMMIT")
        check.eq(rc, 75, f"{mode}: the pass exits 75 (try again later)")
        check.ok("mailbox INBOX: database: COMMIT:" in err, f"{mode}: the log says the COMMIT failed", err)
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), n - 1 + committed,
                 f"{mode}: the ticket is {'committed' if committed else 'not committed'}")
        check.eq(s.folder_uids("INBOX"), [uid], f"{mode}: the mail is still in INBOX")

        rc, out, err = s.run_spocd("--once", config=conf)
        check.eq(rc, 0, f"{mode}: the next pass exits 0")
        check.ok(proxy.connections >= 2, f"{mode}: over a new database connection")
    check.eq(s.sql_value("SELECT count(*) FROM tickets WHERE requester = %s", (f"user{n}@example.com",)), 1,
             f"{mode}: one ticket")
    check.eq(s.sql("SELECT raw FROM messages WHERE direction = 'in' AND ticket_id ="
                   " (SELECT id FROM tickets WHERE requester = %s)", (f"user{n}@example.com",)), [(raw,)],
             f"{mode}: one message with its bytes")
    check.eq(s.sql("SELECT outcome, raw_sha256 FROM ingest_log WHERE uid = %s", (uid,)),
             [("ticket", st.sha256_hex(raw))], f"{mode}: one claim, with the message's SHA-256")
    check.eq(s.sql_value("SELECT count(*) FROM quarantine"), 0, f"{mode}: nothing quarantined")
    check.eq(s.folder_count("INBOX"), 0, f"{mode}: INBOX is empty")
    acks = [m for m in s.captured() if m.envelope["rcpt_tos"] == [f"user{n}@example.com"]]
    check.eq(len(acks), 1, f"{mode}: one acknowledgement")


def test(check):
    with st.Services(name="spocd-fault-commit") as s:
        one_case(check, s, "drop-before-commit", 1, committed=0)
        one_case(check, s, "drop-after-commit", 2, committed=1)
        check.eq(s.folder_count("spocd/processed"), 2, "both mails processed once")

        raw = st.make_message("marta.sole@example.com", "Sin acceso a la VPN",
                              "No puedo conectarme a la VPN desde casa.\r\n")
        with PgProxy(s.pg_port, "drop-after-commit") as proxy:
            conf = s.write_config(name="daemon.conf", database__conninfo=proxy.conninfo, imap__idle=False)
            d = s.start_spocd(config=conf)
            check.wait_for(lambda: "spocd" in d.text() and s.sql_value("SELECT count(*) FROM mailbox_health") > 0,
                           30, "the daemon made its first pass", detail=d.tail)
            s.append(raw)
            check.wait_for(lambda: proxy.fired, 30, "the daemon's COMMIT was lost", detail=d.tail)
            check.wait_for(lambda: s.folder_count("INBOX") == 0, 30,
                           "the daemon reconnected by itself and moved the mail", detail=d.tail)
            check.ok("database: COMMIT:" in d.text(), "it logged the lost COMMIT", d.tail())
            check.ok(d.poll() is None, "and kept running")
            check.eq(d.stop(), 0, "the daemon stops cleanly")
        check.eq(s.sql_value("SELECT count(*) FROM tickets WHERE requester = 'marta.sole@example.com'"), 1,
                 "daemon: one ticket")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 3, "three tickets in all")
        check.eq(len(s.captured()), 3, "three acknowledgements in all")


if __name__ == "__main__":
    st.main(test)
