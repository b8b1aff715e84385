#!/usr/bin/python3
"""PostgreSQL fails over to its standby in the middle of a batch, and nothing is lost or doubled.

The cluster is a primary with a streaming standby made by `pg_basebackup -R`, in synchronous
replication (synchronous_standby_names): a COMMIT the primary acknowledged is on the standby too.
spocd's conninfo names both, with target_session_attrs=read-write, so libpq connects to whichever
takes writes. While mail streams in, the primary is stopped with `-m immediate` (SIGQUIT) while
spocd is inside an ingest transaction; the primary stays down for a while (spocd keeps failing, and
its back-off grows), then the standby is promoted.

Checked:
- spocd reaches the promoted standby by itself within database.reconnect seconds of the
  promotion, although it had been failing for longer than that (a plain back-off would be at 20 or
  40 s by then);
- every mail is exactly one ticket, and INBOX is empty at the end: the batch whose COMMIT never
  came is taken again, a batch committed just before the stop is not taken twice (its claim and
  its SHA-256 are on the standby);
- every requester got an acknowledgement; one may have got it twice, and then with the same
  Message-ID: a batch of acknowledgements accepted by SMTP whose "sent" mark had not committed
  when the primary stopped is sent again. Nothing else is sent twice."""

import signal
import threading
import time

import spocdtest as st

MAILS = 120
RATE = 20          # mails appended per second
RECONNECT = 2      # database.reconnect
DOWN = 25          # seconds between the primary's stop and the promotion


def mail(i):
    return st.make_message(f"user{i}@example.com", f"failover {i}: la VPN no conecta",
                           f"Hola,\r\n\r\nla VPN {i} no conecta desde esta mañana.\r\n\r\nGracias\r\n",
                           message_id=f"<failover-{i}@example.com>")


def in_transaction(s):
    return s.sql_value("SELECT count(*) FROM pg_stat_activity WHERE datname = 'spocd' "
                       "AND state LIKE 'idle in transaction%%' "
                       "AND pid <> pg_backend_pid()") > 0


def test(check):
    with st.Services(name="spocd-failover") as s:
        check.eq(s.run_spocd("--migrate")[0], 0, "schema in place on the primary")
        data, port, standby_conninfo = s.make_standby("standby1")
        st.wait_for(lambda: s.sql_value("SELECT count(*) FROM pg_stat_replication WHERE "
                                        "application_name = 'standby1' AND state = 'streaming'")
                    == 1, 30, "the standby streams from the primary")
        s.sql("ALTER SYSTEM SET synchronous_standby_names = 'standby1'")
        s.sql("SELECT pg_reload_conf()")
        st.wait_for(lambda: s.sql_value("SELECT sync_state FROM pg_stat_replication") == "sync",
                    20, "the standby is synchronous")

        conninfo = (f"host=127.0.0.1,127.0.0.1 port={s.pg_port},{port} dbname=spocd "
                    "user=postgres target_session_attrs=read-write connect_timeout=3")
        conf = s.write_config(name="failover.conf", database__conninfo=conninfo,
                              database__reconnect=RECONNECT, imap__poll_interval=120,
                              imap__batch_size=20)
        # each message takes 40 ms to write, so that a batch's transaction is open long enough
        # to stop the primary inside it
        d = s.start_spocd(config=conf, name="failover",
                          env={"SPOCD_FAULT": "slow-message:40"})
        appended = []

        def producer():
            for i in range(MAILS):
                s.append(mail(i))
                appended.append(i)
                time.sleep(1 / RATE)

        t = threading.Thread(target=producer)
        try:
            t.start()
            st.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets") >= 20, 60,
                        "the daemon takes the first mails on the primary", step=0.05)
            st.wait_for(lambda: in_transaction(s), 30,
                        "spocd is inside an ingest transaction", step=0.005)
            s.stop_postgres("immediate")
            stopped = time.monotonic()
            st.log(f"primary stopped (-m immediate) with {len(appended)} mails appended")
            time.sleep(DOWN)
            check.ok(d.poll() is None, "spocd keeps running while no database takes writes")
            log_mark = len(d.text())
            s.pg_ctl("promote", "-w", data=data)
            promoted = time.monotonic()
            st.log(f"standby promoted {promoted - stopped:.1f}s after the stop")
            s.conninfo = standby_conninfo
            before = s.sql_value("SELECT count(*) FROM messages")
            st.wait_for(lambda: s.sql_value("SELECT count(*) FROM messages") > before
                        or "working again" in d.text()[log_mark:],
                        30, "spocd works on the promoted standby")
            took = time.monotonic() - promoted
            print(f"  spocd was back {took:.2f}s after the promotion "
                  f"(database.reconnect = {RECONNECT})", flush=True)
            # within database.reconnect of the promotion, plus what one pass and the connection
            # take on a loaded machine
            check.ok(took <= RECONNECT + 3, f"spocd reconnected within database.reconnect "
                     f"({took:.2f}s after the promotion)")
            t.join()
            check.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets") >= MAILS, 90,
                           "every mail becomes a ticket on the new primary")
            check.wait_for(lambda: s.folder_uids("INBOX") == [], 30, "INBOX is empty at the end")
            check.eq(s.sql_value("SELECT count(*) FROM tickets"), MAILS, "no ticket twice")
            check.eq(s.sql_value("SELECT count(*) FROM messages WHERE direction = 'in'"), MAILS,
                     "one message row per mail")
            check.eq(s.sql("SELECT message_id FROM messages WHERE direction = 'in' "
                           "GROUP BY message_id HAVING count(*) > 1"), [],
                     "no Message-ID stored twice")
            check.eq(len(s.folder_uids("spocd/processed")), MAILS,
                     "every mail moved to the processed folder once")

            check.wait_for(lambda: len(s.copies_by_recipient()[0]) == MAILS, 60,
                           "every requester gets an acknowledgement")
            per, ids = s.copies_by_recipient()
            twice = [r for r, n in per.items() if n > 1]
            check.eq([r for r, n in per.items() if n > 2], [], "nobody gets three")
            check.eq([r for r in twice if len(ids[r]) != 1], [],
                     "a repeated acknowledgement has the same Message-ID")
            check.ok(len(twice) <= 64, f"repeats at most one notifier batch ({len(twice)})")
            print(f"  {len(twice)} acknowledgement(s) sent twice across the failover", flush=True)
        finally:
            t.join()
            d.stop()
            s._stop_proc("standby1", sig=signal.SIGQUIT)  # immediate: the test is over


if __name__ == "__main__":
    st.main(test)
