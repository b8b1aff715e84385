#!/usr/bin/python3
"""Leases on singleton work (sql/026_leases.sql) with two spocd daemons on one mailbox and one
database, ingest.lease_seconds = 2:
- only the lease holder works the mailbox: the lease row names it, the other says that another
  spocd holds the lease and takes nothing;
- the holder (as if on another host) killed with SIGKILL: the other takes the lease over
  (fencing + 1) once it expired, within lease_seconds and a poll, and takes the mail that came
  meanwhile; every mail is one ticket;
- a clean stop gives the lease up (its expiry is now);
- a holder killed and started again on the same host takes its mailbox back at once: the lease
  names the host's boot and PID namespace, where its predecessor's PID no longer exists;
- fencing: a holder stopped (SIGSTOP) inside a batch's transaction, its lease taken over by
  another instance, then continued (SIGCONT), has its COMMIT refused and says so, naming both
  fencing numbers; the new holder (which waited for the stopped one's claims of those UIDs to be
  decided) writes that batch, and every mail is exactly one ticket, one message row, one
  ingest_log row and one copy in the processed folder;
- the SLA watch runs on the holder of the "sla-watch" lease only: with sla_notices locked, one
  daemon waits to record the warning and the other leaves the watch to it; once unlocked, each
  warning is recorded and queued once."""

import os
import re
import signal
import time

import psycopg2

import spocdtest as st

LEASE = 2
POLL = 2


def holder_of(d, check):
    """The holder name a daemon logged at its start."""
    check.wait_for(lambda: re.search(r"lease holder (\S+) \(", d.text()), 20,
                   f"{d.name} names its lease holder", detail=d.tail)
    return re.search(r"lease holder (\S+) \(", d.text()).group(1)


def lease(s, name="mailbox:INBOX"):
    """(holder, fencing, expired) of a lease row, or None (also before the schema is there)."""
    try:
        rows = s.sql("SELECT holder, fencing, expires_at <= now() FROM leases WHERE name = %s",
                     (name,))
    except psycopg2.errors.UndefinedTable:
        return None
    return rows[0] if rows else None


def tickets_logged(d):
    """UIDs a daemon logged as new tickets."""
    return re.findall(r"mailbox INBOX uid (\d+) <[^>]*>: ticket ", d.text())


def append(s, first, n):
    for i in range(first, first + n):
        s.append(st.make_message(f"user{i:03d}@example.com", f"Lease test {i:03d}",
                                 f"El puesto {i} no arranca.\r\n"))


def exactly_once(s, check, n):
    check.eq(s.sql_value("SELECT count(*) FROM tickets"), n, f"{n} tickets")
    check.eq(s.sql_value("SELECT count(DISTINCT subject) FROM tickets"), n, "one per mail")
    check.eq(s.sql_value("SELECT count(*) FROM messages WHERE direction = 'in'"), n,
             f"{n} incoming message rows")
    check.eq(s.sql_value("SELECT count(*) FROM ingest_log"), n, f"{n} ingest_log rows")
    check.eq(s.folder_count("INBOX"), 0, "INBOX is drained")
    check.eq(s.folder_count("spocd/processed"), n, f"{n} messages in spocd/processed, none twice")


def one_worker_then_takeover(s, check, conf):
    a = s.start_spocd(config=conf, name="a")
    ha = holder_of(a, check)
    check.wait_for(lambda: (lease(s) or (None,))[0] == ha, 20, "a holds the mailbox's lease",
                   detail=a.tail)
    b = s.start_spocd(config=conf, name="b")
    hb = holder_of(b, check)
    check.ok(ha != hb, "two holder names", (ha, hb))
    check.wait_for(lambda: f"another spocd holds its lease (holder {ha}, fencing 1)" in b.text(),
                   20, "b says that a holds the lease", detail=b.tail)
    append(s, 0, 5)
    check.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets") == 5, 30,
                   "the five mails become tickets", detail=a.tail)
    time.sleep(LEASE + POLL)  # b looks at the lease and the mailbox meanwhile
    check.eq(len(tickets_logged(a)), 5, "a made the five tickets")
    check.eq(tickets_logged(b), [], "b made none")
    check.eq(lease(s)[:2], (ha, 1), "the lease still names a, fencing 1")
    check.ok("lease taken" not in b.text(), "b never took the lease", b.tail())

    # a holder on another host: b cannot see that it died, and waits for the expiry
    a.send_signal(signal.SIGSTOP)
    s.sql("UPDATE leases SET node = 'another host' WHERE holder = %s", (ha,))
    expiry = s.sql_value("SELECT expires_at FROM leases WHERE name = 'mailbox:INBOX'")
    a.stop(signal.SIGKILL)
    killed = time.monotonic()
    append(s, 5, 3)
    check.wait_for(lambda: (lease(s) or (None,))[0] == hb, LEASE + POLL + 2,
                   "b takes the lease over within lease_seconds and a poll", detail=b.tail)
    took = time.monotonic() - killed
    st.log(f"b took the lease {took:.2f}s after a was killed")
    check.eq(lease(s)[1], 2, "its fencing number is 2")
    check.ok(s.sql_value("SELECT taken_at FROM leases WHERE name = 'mailbox:INBOX'") >= expiry,
             "not before a's lease expired")
    check.ok(f"mailbox INBOX: lease taken (holder {hb}, fencing 2)" in b.text(),
             "b says it took the lease", b.tail())
    check.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets") == 8, 30,
                   "b takes the mail that came after a died", detail=b.tail)
    check.eq(len(tickets_logged(b)), 3, "b made those three tickets")
    check.wait_for(lambda: s.folder_count("INBOX") == 0, 20, "and moved them")
    check.eq(b.stop(), 0, "b stops cleanly")
    check.eq(lease(s), (hb, 2, True), "a clean stop gives the lease up (expired, same holder)")
    exactly_once(s, check, 8)


def restart_after_crash(s, check, conf_long):
    """A holder killed and started again on the same host takes its mailbox back at once, long
    before the lease would expire: its predecessor's PID is gone from this host."""
    g = s.start_spocd(config=conf_long, name="g")
    hg = holder_of(g, check)
    check.wait_for(lambda: (lease(s) or (None,))[0] == hg, 20, "g holds the lease", detail=g.tail)
    fenc_g = lease(s)[1]
    g.stop(signal.SIGKILL)
    killed = time.monotonic()
    append(s, 8, 1)
    h = s.start_spocd(config=conf_long, name="h")
    hh = holder_of(h, check)
    check.wait_for(lambda: (lease(s) or (None,))[0] == hh, 5, "h takes the lease at once",
                   detail=h.tail)
    took = time.monotonic() - killed
    st.log(f"h took the lease {took:.2f}s after g was killed (lease_seconds 10)")
    check.ok(took < 10, "before g's lease expired", f"{took:.2f}s")
    check.ok(f"mailbox INBOX: lease taken over (holder {hh}, fencing {fenc_g + 1}) from {hg} "
             f"(fencing {fenc_g}), which no longer runs on this host" in h.text(),
             "h says whose lease it took over and why", h.tail())
    check.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets") == 9, 20,
                   "and takes the new mail", detail=h.tail)
    check.wait_for(lambda: s.folder_count("INBOX") == 0, 20, "and moves it")
    check.eq(h.stop(), 0, "h stops cleanly")
    exactly_once(s, check, 9)


def idle_in_claim(s):
    """Backends (not ours) idle inside a transaction whose last statement claimed UIDs or read
    what the database knows of the mails just claimed (the window's duplicate checks)."""
    return s.sql_value("SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                       " AND state = 'idle in transaction' AND (query LIKE '%%ingest_log%%'"
                       " OR query LIKE 'SELECT f.n, d.id, d.ticket_id%%')")


def fencing(s, check, conf, conf_long):
    append(s, 9, 3)
    # each message takes a second to write, inside the batch's transaction
    c = s.start_spocd(config=conf, name="c", env={"SPOCD_FAULT": "slow-message:1000"})
    hc = holder_of(c, check)
    check.wait_for(lambda: idle_in_claim(s) == 1, 30, "c claimed its batch and writes it",
                   detail=c.tail)
    c.send_signal(signal.SIGSTOP)
    try:
        fenc_c = lease(s)[1]
        check.eq(lease(s)[0], hc, "c holds the lease")
        # d's own lease is longer: it waits for c's claims to be decided without lapsing
        d = s.start_spocd(config=conf_long, name="d")
        hd = holder_of(d, check)
        check.wait_for(lambda: (lease(s) or (None,))[0] == hd, LEASE + POLL + 5,
                       "d takes the lease over from the stopped c", detail=d.tail)
        fenc_d = lease(s)[1]
        check.eq(fenc_d, fenc_c + 1, "with the next fencing number")
        # d now waits for c's claims to be decided
        time.sleep(1)
    finally:
        c.send_signal(signal.SIGCONT)
    refusal = (f"mailbox INBOX: another spocd took it over (lease now: holder {hd}, fencing "
               f"{fenc_d}; ours was {fenc_c}): its batch of 3 message(s) (uid 10..12) is rolled "
               "back, nothing moved")
    check.wait_for(lambda: refusal in c.text(), 30, "c's COMMIT is refused, and it says so",
                   detail=c.tail)
    check.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets") == 12, 30,
                   "d writes the batch c could not", detail=d.tail)
    check.eq(sorted(tickets_logged(d)), ["10", "11", "12"], "d made those three tickets")
    time.sleep(LEASE + POLL)  # c looks again and leaves it to d
    check.eq(lease(s)[:2], (hd, fenc_d), "the lease stays d's")
    check.ok("lease taken" not in c.text().split(refusal)[1], "c did not take it back")
    check.eq(c.stop(), 0, "c stops cleanly")
    check.eq(d.stop(), 0, "d stops cleanly")
    exactly_once(s, check, 12)
    check.eq(s.sql_value("SELECT count(*) FROM ingest_attempts"), 0,
             "no attempt left counted against the mail")


def sla_watch(s, check):
    conf = s.write_config(name="sla.conf", ingest__lease_seconds=30)
    check.eq(s.run_spocctl("agent", "add", "alice@desk.test", "--name", "Alice")[0], 0, "an agent")
    tid = s.sql_value("SELECT min(id) FROM tickets")
    # 90% of both targets gone: a warning each
    s.sql("UPDATE tickets SET created_at = now() - interval '9 hours',"
          " first_response_due = now() + interval '1 hour',"
          " resolution_due = now() + interval '1 hour' WHERE id = %s", (tid,))
    s.sql("UPDATE tickets SET first_response_due = now() + interval '30 days',"
          " resolution_due = now() + interval '30 days' WHERE id <> %s", (tid,))
    lock = psycopg2.connect(s.conninfo)
    try:
        with lock.cursor() as cur:
            cur.execute("LOCK TABLE sla_notices IN EXCLUSIVE MODE")
        e = s.start_spocd(config=conf, name="e")
        f = s.start_spocd(config=conf, name="f")
        names = {holder_of(e, check): e, holder_of(f, check): f}

        def settled():
            return (s.sql_value("SELECT count(*) FROM pg_locks WHERE NOT granted"
                                " AND relation = 'sla_notices'::regclass") == 1
                    and any("sla watch: left to the lease holder" in x.text() for x in (e, f)))
        check.wait_for(settled, 30, "one daemon waits to record the warning, the other left the "
                       "watch to it")
        time.sleep(2)
        check.eq(s.sql_value("SELECT count(*) FROM pg_locks WHERE NOT granted"
                             " AND relation = 'sla_notices'::regclass"), 1,
                 "still one daemon alone runs the SLA watch")
        holder, fencing_n, _ = lease(s, "sla-watch")
        check.ok(holder in names, "the sla-watch lease names one of them", holder)
        other = f if names[holder] is e else e
        check.ok(f"sla watch: left to the lease holder {holder} (fencing {fencing_n})"
                 in other.text(), "the other says who has the watch", other.tail())
    finally:
        lock.rollback()
        lock.close()
    check.wait_for(lambda: s.sql_value("SELECT count(*) FROM sla_notices") == 2, 30,
                   "the holder records both warnings")
    check.wait_for(lambda: s.sql_value("SELECT count(*) FROM outbox WHERE kind = 'sla-warning'")
                   == 2, 30, "and queues each once")
    check.eq(s.sql_value("SELECT count(*) FROM sla_notices WHERE ticket_id = %s AND level ="
                         " 'warning'", (tid,)), 2, "one warning per target")
    check.eq(names[holder].stop(), 0, "the holder stops cleanly")
    check.eq(other.stop(), 0, "the other stops cleanly")


def test(check):
    with st.Services(name="spocd-lease") as s:
        conf = s.write_config(name="lease.conf", imap__poll_interval=POLL, imap__batch_size=10,
                              ingest__lease_seconds=LEASE)
        one_worker_then_takeover(s, check, conf)
        conf_long = s.write_config(name="lease-long.conf", imap__poll_interval=POLL,
                                   imap__batch_size=10, ingest__lease_seconds=10)
        restart_after_crash(s, check, conf_long)
        fencing(s, check, conf, conf_long)
        sla_watch(s, check)


if __name__ == "__main__":
    st.main(test)
