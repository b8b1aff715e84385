#!/usr/bin/python3
"""PostgreSQL goes away under the daemon, and PostgreSQL that cannot take writes:
  - stopped the way `pg_ctl stop -m immediate` does (SIGQUIT, crash recovery at the next start)
    while mail is flowing, then started again: spocd keeps running, says the database failed,
    and by itself, within one back-off step after the server accepts connections again (5 s
    here: poll_interval 5 caps it), takes every mail; each is exactly one ticket, none
    quarantined, each requester acknowledged (twice at most, then with one Message-ID: a send
    whose `sent` mark the stop cut off is repeated);
  - a hot standby (pg_basebackup -R, read-only, in recovery): spocd treats it as temporary
    (exit 75, nothing quarantined, the mail left in INBOX); a daemon pointed at it keeps
    retrying and takes the mail by itself once the standby is promoted (pg_ctl promote)."""

import threading
import time

import psycopg2

import spocdtest as st

MAILS = 12
BOUND = 15  # seconds from "accepting connections" to every mail taken (back-off 5 s, a pass, IMAP)


def flowing(s, n, gap):
    """Appends n mails, one every gap seconds, in a thread; returns (thread, raws)."""
    raws = [st.make_message(f"flujo{i}@example.com", f"Incidencia en el puesto {i}",
                            f"El puesto {i} no tiene red desde esta mañana.\r\n") for i in range(n)]

    def run():
        c = s.imap()
        for raw in raws:
            c.append("INBOX", None, None, raw)
            time.sleep(gap)
        c.logout()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, raws


def stopped_while_flowing(check, s):
    check.eq(s.run_spocd("--migrate")[0], 0, "schema in place")
    conf = s.write_config(name="daemon.conf", imap__idle=False, imap__batch_size=3)
    d = s.start_spocd(config=conf)
    t, raws = flowing(s, MAILS, 0.4)
    check.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets") >= 2, 30,
                   "mail is flowing: the first tickets are made", detail=d.tail)
    before = len(d.text())
    s.stop_postgres("immediate")
    stopped = time.monotonic()
    check.wait_for(lambda: "database" in d.text()[before:], 30, "the daemon said the database failed",
                   detail=d.tail)
    t.join()
    time.sleep(2)  # a few of its retries fail while the server is down
    check.ok(d.poll() is None, "the daemon keeps running while the database is down")
    s.restart_postgres()
    up = time.monotonic()
    print(f"    postgres was down {up - stopped:.1f}s")
    check.wait_for(lambda: s.sql_value("SELECT count(*) FROM ingest_log") == MAILS, BOUND,
                   f"every mail taken within {BOUND}s of the database accepting connections again",
                   detail=d.tail)
    print(f"    all taken {time.monotonic() - up:.1f}s after postgres was up again")
    check.wait_for(lambda: s.folder_count("INBOX") == 0, 15, "INBOX emptied", detail=d.tail)
    check.wait_for(lambda: {m.envelope["rcpt_tos"][0] for m in s.captured()}
                   == {f"flujo{i}@example.com" for i in range(MAILS)}, 30,
                   "every requester acknowledged", detail=d.tail)
    check.ok(d.poll() is None, "the daemon ran throughout")
    check.eq(d.stop(), 0, "and stops cleanly")

    check.eq(s.sql_value("SELECT count(*) FROM tickets"), MAILS, f"{MAILS} tickets")
    check.eq(s.sql_value("SELECT count(DISTINCT requester) FROM tickets"), MAILS, "one per mail")
    check.eq(sorted(r[0] for r in s.sql("SELECT raw FROM messages WHERE direction = 'in'")), sorted(raws),
             "each mail's bytes once")
    check.eq(s.sql_value("SELECT count(*) FROM quarantine"), 0, "nothing quarantined")
    check.eq(s.folder_count("spocd/processed"), MAILS, "every mail in the processed folder")
    by_rcpt = {}
    for m in s.captured():
        by_rcpt.setdefault(m.envelope["rcpt_tos"][0], set()).add(st.norm_id(m["Message-ID"]))
    counts = {r: sum(1 for m in s.captured() if m.envelope["rcpt_tos"][0] == r) for r in by_rcpt}
    check.ok(all(c <= 2 for c in counts.values()) and all(len(ids) == 1 for ids in by_rcpt.values()),
             "an acknowledgement is sent at most once more, with the same Message-ID", repr(counts))
    print(f"    acknowledgements sent twice: {sum(1 for c in counts.values() if c == 2)}")


def standby(check, s):
    data, port, conninfo = s.make_standby()
    raw = st.make_message("pol.riera@example.com", "Sin impresora", "No aparece la impresora.\r\n")
    uid = s.append(raw)
    conf = s.write_config(name="standby.conf", database__conninfo=conninfo, imap__idle=False)
    rc, out, err = s.run_spocd("--once", config=conf)
    check.eq(rc, 75, "against a hot standby: spocd --once exits 75 (try again later)")
    check.ok("read-only" in err or "recovery" in err, "the log says the server is read-only or in recovery", err)
    check.eq(s.folder_uids("INBOX"), [uid], "the mail stays in INBOX")
    check.eq(s.folder_count("spocd/failed"), 0, "nothing moved to the failed folder")

    d = s.start_spocd(config=conf)
    check.wait_for(lambda: d.text().count("mailbox INBOX:") >= 2, 30,
                   "the daemon retries against the standby", detail=d.tail)
    check.ok(d.poll() is None, "and keeps running")
    s.pg_ctl("promote", "-w", data=data)
    promoted = time.monotonic()
    sb = psycopg2.connect(conninfo)
    sb.autocommit = True

    def tickets():
        with sb.cursor() as cur:
            cur.execute("SELECT count(*) FROM tickets WHERE requester = 'pol.riera@example.com'")
            return cur.fetchone()[0]
    check.wait_for(lambda: tickets() == 1, BOUND, f"promoted: the daemon took the mail within {BOUND}s",
                   detail=d.tail)
    print(f"    taken {time.monotonic() - promoted:.1f}s after the promotion")
    with sb.cursor() as cur:
        cur.execute("SELECT count(*) FROM quarantine")
        check.eq(cur.fetchone()[0], 0, "nothing quarantined on the promoted server")
    sb.close()
    check.wait_for(lambda: s.folder_count("INBOX") == 0, 15, "INBOX emptied", detail=d.tail)
    check.eq(d.stop(), 0, "the daemon stops cleanly")


def test(check):
    with st.Services(name="spocd-fault-pgdown") as s:
        stopped_while_flowing(check, s)
        standby(check, s)


if __name__ == "__main__":
    st.main(test)
