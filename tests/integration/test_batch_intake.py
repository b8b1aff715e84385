#!/usr/bin/python3
"""A batch is fetched and parsed before its transaction opens, claimed in one statement and
written without a subtransaction per message; a message that breaks a rule of the schema sends
its batch through the per-message path, never more than 64 savepoints in one transaction.

- 200 mails with imap.batch_size = 200 become exactly 200 tickets; pg_stat_statements shows
  one claim of all 200 UIDs and not one SAVEPOINT;
- 100 mails, one in the middle breaking a CHECK constraint the test adds to messages: 97
  tickets, 2 replies threaded onto originals of the same batch (one in the same chunk of the
  per-message path, one in the next), 1 quarantined with the constraint's name; every
  transaction of the database log holds at most 64 savepoints;
- the per-window bookkeeping is set-based: the 200 outcomes are written to ingest_log by one
  UPDATE (and the senders' reachability by one statement), each new ticket with its requester
  and its message row (and its acknowledgement) is one statement, the sender's agent row is read
  with the duplicate check, and the whole run costs fewer than STATEMENTS_PER_MAIL statements per
  mail (one per mail for each of those was more);
- in the poisoned batch every UID's ingest_log row has its own outcome, message row and ticket,
  written by one UPDATE per transaction of the per-message path;
- a window holding a person's mail and, after it, a verified bounce of that address leaves the
  address bouncing; the bounce first and then the person's mail leaves it reachable (the
  window's reachability statement goes before any bounce of the window is recorded);
- a stranger's one mail sent three times into one window: one ticket, two duplicates written
  in the same transaction, one acknowledgement;
- the window's duplicate checks (and senders' agents) are one statement read before its first
  mail is recorded; a copy of a mail of the same window (the same bytes, the same content
  redelivered, the same Message-ID, sender, date and body under a list's subject tag) asks again
  and is a duplicate, a mail that shares only a sender does not ask again; a stranger's
  Message-ID made of array-literal syntax goes through that statement as the text it is;
- a server that is slow to answer the body FETCH: no session of the database is idle in a
  transaction meanwhile (pg_stat_activity sampled during the delay)."""

import collections
import os
import re
import threading
import time

import spocdtest as st
from fake_imap import FakeImap

POISON = "SCHEMA-POISON-4c1d"

# top-level statements per new ticket over a whole --once run of 200 mails (ingest and sending):
# an ingest_log and an address_status update per mail put it above 7.5; the ticket, its requester
# and its message row written apart put it above 5.5; the sender's agent row read apart, above 4;
# the duplicate check asked per mail rather than once for the window, above 3.2; the
# acknowledgement queued apart from its ticket, above 2.3
STATEMENTS_PER_MAIL = 2

WINDOW_FACTS = "query ILIKE 'SELECT f.n, d.id, d.ticket_id%%'"
MAIL_FACTS = "query ILIKE 'SELECT d.id, d.ticket_id, d.display, a.agent_id%%'"


def mail(i, tag, **kw):
    return st.make_message(f"user{i:03d}@example.com", f"{tag} {i:03d}: el monitor no enciende",
                           f"El monitor del puesto {i} no enciende.\r\n", **kw)


def stats(s, where):
    return s.sql("SELECT coalesce(sum(calls), 0), coalesce(sum(rows), 0) FROM pg_stat_statements"
                 f" WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
                 f" AND {where}")[0]


def savepoints_per_transaction(text):
    """The most savepoints any one transaction of the log held, and how many transactions had
    any: statements are followed per backend, BEGIN to COMMIT or ROLLBACK."""
    open_tx, most, with_any = {}, 0, 0
    for pid, stmt in re.findall(r"\[(\d+)\] LOG:  (?:statement|execute [^:]*): (.*)", text):
        stmt = stmt.strip().upper()
        if stmt == "BEGIN":
            open_tx[pid] = 0
        elif stmt.startswith("SAVEPOINT") and pid in open_tx:
            open_tx[pid] += 1
        elif stmt in ("COMMIT", "ROLLBACK") and pid in open_tx:
            n = open_tx.pop(pid)
            most = max(most, n)
            with_any += n > 0
    return most, with_any


def whole_batch(check, s):
    # no knowledge-base suggestions: the notifier's savepoints would count with the ingest's
    conf = s.write_config(name="batch200.conf", imap__batch_size=200, kb={"suggestions": 0})
    uids = [s.append(mail(i, "Lote")) for i in range(200)]
    s.sql("SELECT pg_stat_statements_reset()")
    rc = s.run_spocd("--once", config=conf)[0]
    check.eq(rc, 0, "spocd --once over 200 mails")
    check.eq(s.sql_value("SELECT count(*) FROM tickets WHERE subject LIKE 'Lote %%'"), 200,
             "exactly 200 tickets")
    check.eq(s.sql_value("SELECT count(*) FROM ingest_log WHERE outcome = 'ticket' AND uid = ANY(%s)",
                         (uids,)), 200, "200 ingest_log rows, each a ticket")
    check.eq(stats(s, "query ILIKE 'SAVEPOINT%%'"), (0, 0), "not one SAVEPOINT for the batch")
    calls, rows = stats(s, "query ILIKE 'INSERT INTO ingest_log%%'")
    check.eq((calls, rows), (1, 200), "the 200 UIDs are claimed in one statement")
    check.eq(stats(s, "query ILIKE 'UPDATE ingest_log%%'"), (1, 200),
             "the 200 outcomes are written by one UPDATE for the window")
    check.eq(stats(s, "query ILIKE '%%UPDATE address_status SET bouncing%%'")[0], 1,
             "the senders are marked reachable by one statement for the window")
    check.eq(stats(s, "query ILIKE 'WITH t AS (INSERT INTO tickets%%'")[0], 200,
             "each new ticket, its requester and its message row are one statement")
    check.eq(stats(s, "toplevel AND (query ILIKE 'INSERT INTO tickets%%' OR query ILIKE"
                      " 'INSERT INTO participants%%' OR query ILIKE"
                      " 'INSERT INTO messages (ticket_id, direction, message_id,%%')")[0], 0,
             "no ticket, participant or incoming message row written by a statement of its own")
    check.eq(stats(s, "toplevel AND query ILIKE 'SELECT id%%FROM agents WHERE address = lower%%'")[0],
             0, "the sender's agent row is read with the duplicate check, not by a statement of its own")
    check.eq(stats(s, WINDOW_FACTS), (1, 200), "the 200 duplicate checks are one statement for the window")
    check.eq(stats(s, MAIL_FACTS)[0], 0, "and no mail asks again")
    check.eq(stats(s, "query ILIKE 'WITH gone AS (DELETE FROM outbox%%'")[0], 0,
             "no acknowledgement queued by a statement of its own")
    check.eq(s.sql_value("SELECT count(*) FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
                         " WHERE o.kind = 'ack' AND t.subject LIKE 'Lote %%'"
                         " AND o.message_id LIKE 'spocd.' || t.id || '.%%'"), 200,
             "each ticket's acknowledgement is queued with it, under a Message-ID minted for it")
    by_id = [r[0] for r in s.sql("SELECT subject FROM tickets WHERE subject LIKE 'Lote %%' ORDER BY id")]
    check.eq(by_id, sorted(by_id), "the ids reserved for the window keep its order")
    total = stats(s, "toplevel AND query NOT ILIKE '%%pg_stat_statements%%'")[0]
    check.ok(total / 200 < STATEMENTS_PER_MAIL,
             f"{total / 200:.2f} statements per mail (below {STATEMENTS_PER_MAIL})")
    check.eq(s.folder_count("INBOX"), 0, "INBOX drained")
    check.eq(s.sql_value("SELECT count(*) FROM ingest_attempts"), 0, "no attempt left open")


def poison_batch(check, s):
    conf = s.write_config(name="batch100.conf", imap__batch_size=100, kb={"suggestions": 0})
    s.sql(f"ALTER TABLE messages ADD CONSTRAINT test_no_poison CHECK (subject NOT LIKE '%%{POISON}%%')")
    pg_log = os.path.join(s.dir, "pg", "postgres.log")
    s.sql("ALTER DATABASE spocd SET log_statement = 'all'")
    start = os.path.getsize(pg_log)
    processed = s.folder_count("spocd/processed")
    s.sql("SELECT pg_stat_statements_reset()")
    msgs, uids = {}, {}
    for i in range(100):
        if i == 50:
            raw = st.make_message("eve@example.com", f"Impresora {POISON}", "Texto.\r\n")
        elif i in (30, 80):
            # the requester of an earlier mail of this batch answers it
            first = 5 if i == 30 else 20
            mid = f"<veneno-{first:03d}@example.com>"
            raw = st.make_message(f"user{first:03d}@example.com",
                                  f"Re: Veneno {first:03d}: el monitor no enciende",
                                  "Sigue sin encender.\r\n", message_id=f"<veneno-{i:03d}@example.com>",
                                  in_reply_to=mid, references=[mid])
        else:
            raw = mail(i, "Veneno", message_id=f"<veneno-{i:03d}@example.com>")
        msgs[i] = raw
        uids[i] = s.append(raw)
    rc = s.run_spocd("--once", config=conf)[0]
    s.sql("ALTER DATABASE spocd RESET log_statement")
    with open(pg_log, "rb") as f:
        f.seek(start)
        text = f.read().decode("utf-8", "replace")
    check.eq(rc, 0, "spocd --once over 100 mails with one poison")
    check.eq(s.sql_value("SELECT count(*) FROM tickets WHERE subject LIKE 'Veneno %%'"), 97, "97 tickets")
    for reply, first in ((30, 5), (80, 20)):
        got = s.sql("SELECT t.subject, l.outcome FROM messages m JOIN tickets t ON t.id = m.ticket_id"
                    " JOIN ingest_log l ON l.message_row = m.id WHERE m.message_id = %s",
                    (f"veneno-{reply:03d}@example.com",))
        check.eq(got, [(f"Veneno {first:03d}: el monitor no enciende", "reply")],
                 f"mail {reply} threads onto mail {first} of the same batch")
    q = s.sql("SELECT raw, reason, category FROM quarantine")
    check.eq(len(q), 1, "one message quarantined")
    check.eq(bytes(q[0][0]), msgs[50], "the poison one, its raw bytes kept")
    check.ok("test_no_poison" in q[0][1], "its reason names the rule it broke", q[0][1])
    check.eq(s.sql_value("SELECT outcome FROM ingest_log WHERE message_row IS NULL AND detail LIKE %s",
                         ("%test_no_poison%",)), "quarantined", "its ingest_log row says quarantined")
    check.eq(s.folder_count("spocd/failed"), 1, "it is in the failed folder")
    check.eq(s.folder_count("spocd/processed") - processed, 99, "the 99 others in processed")
    check.eq(s.folder_count("INBOX"), 0, "INBOX drained")
    check.eq(s.sql_value("SELECT count(*) FROM ingest_attempts"), 0, "no attempt left open")
    outcomes_per_uid(check, s, uids)
    check.eq(stats(s, "query ILIKE 'UPDATE ingest_log%%'")[0], 2,
             "one ingest_log UPDATE per transaction of the per-message path (64 + 36 mails)")
    most, with_any = savepoints_per_transaction(text)
    check.ok(0 < most <= 64, f"at most 64 savepoints in one transaction (the most: {most})", text[-3000:])
    check.ok(with_any >= 2, f"the per-message path spans transactions ({with_any} with savepoints)")


def outcomes_per_uid(check, s, uids):
    """Each UID of the poisoned batch: its outcome, and the message row and ticket it became."""
    rows = {uid: (outcome, mid, tk == mtk and tk is not None, detail)
            for uid, outcome, mid, tk, mtk, detail in s.sql(
                "SELECT l.uid, l.outcome, m.message_id, l.ticket_id, m.ticket_id, l.detail"
                " FROM ingest_log l LEFT JOIN messages m ON m.id = l.message_row"
                " WHERE l.uid = ANY(%s)", (list(uids.values()),))}
    want, got = {}, {}
    for i, uid in uids.items():
        row = rows.get(uid)
        if i == 50:
            want[i] = ("quarantined", None, False, True)
            got[i] = row and (row[0], row[1], row[2], "test_no_poison" in row[3])
        else:
            want[i] = ("reply" if i in (30, 80) else "ticket", f"veneno-{i:03d}@example.com", True)
            got[i] = row and row[:3]
    check.eq(got, want, "every UID's ingest_log row: its outcome, its message and its ticket")


def dsn(to, rcpt, n):
    return (f"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
            f"To: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            f"Message-ID: <dsn-{n}@mx.example.com>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
            f"--B\r\nContent-Type: text/plain\r\n\r\nUndeliverable.\r\n"
            f"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n"
            f"Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            f"Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: User unknown\r\n--B--\r\n").encode()


def bounce_order(check, s):
    conf = s.write_config(name="bounce.conf", imap__batch_size=50, kb={"suggestions": 0})
    people = ("rosa@example.com", "pablo@example.com")
    for who in people:
        s.append(st.make_message(who, f"Consulta de {who}", "Una pregunta.\r\n"))
    check.eq(s.run_spocd("--once", config=conf)[0], 0, "two tickets, two acknowledgements sent")
    acks = {who: [m for m in s.captured() if str(m["To"]).endswith(who)] for who in people}
    check.ok(all(len(a) == 1 for a in acks.values()), "one acknowledgement each", acks)
    if not all(len(a) == 1 for a in acks.values()):
        return
    verp = {who: acks[who][0].envelope["mail_from"] for who in people}
    # one window: rosa writes, then her acknowledgement bounces; pablo's bounces, then he writes
    s.append(st.make_message("rosa@example.com", "Otra consulta de rosa", "Otra pregunta.\r\n"))
    s.append(dsn(verp["rosa@example.com"], "rosa@example.com", "rosa"))
    s.append(dsn(verp["pablo@example.com"], "pablo@example.com", "pablo"))
    s.append(st.make_message("pablo@example.com", "Otra consulta de pablo", "Otra pregunta.\r\n"))
    s.sql("SELECT pg_stat_statements_reset()")
    check.eq(s.run_spocd("--once", config=conf)[0], 0, "the window of four")
    check.eq(stats(s, "query ILIKE 'INSERT INTO ingest_log%%'")[0], 1, "the four were one window")
    check.eq(s.sql("SELECT address, bouncing FROM address_status ORDER BY address"),
             [("pablo@example.com", False), ("rosa@example.com", True)],
             "the bounce after rosa's mail marks her; pablo's mail after his bounce clears him")


def slow_fetch(check, s):
    good = st.make_message("lenta@example.com", "Servidor lento: no hay red",
                           "Sin red en la planta 2.\r\n")
    probe = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
             " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%%'")
    # the probe sees a session that waits inside a transaction
    other = st.psycopg2.connect(s.conninfo)
    with other.cursor() as cur:
        cur.execute("SELECT 1")
        check.eq(s.sql_value(probe), 1, "the probe sees a session idle in a transaction")
    other.close()
    before = s.sql_value("SELECT count(*) FROM tickets")
    with FakeImap("slow", good, uidvalidity=5151, fetch_delay=3) as fake:
        conf = s.write_config(name="slow.conf", imap__port=fake.port)
        result = {}
        t = threading.Thread(target=lambda: result.update(rc=s.run_spocd("--once", config=conf)[0]))
        t.start()
        samples = []
        deadline = time.monotonic() + 60
        while t.is_alive() and time.monotonic() < deadline:
            if fake.fetching:
                samples.append(s.sql_value(probe))
            time.sleep(0.1)
        t.join()
    check.eq(result.get("rc"), 0, "spocd --once against the slow server")
    check.ok(len(samples) >= 10, f"sampled during the FETCH ({len(samples)} samples)")
    check.eq(collections.Counter(samples).get(0, 0), len(samples),
             f"no transaction open while the body FETCH is answered (samples: {dict(collections.Counter(samples))})")
    check.eq(s.sql_value("SELECT count(*) FROM tickets") - before, 1, "the message became a ticket")


def same_mail_thrice(check, s):
    """A stranger's one mail sent three times lands in one window: the first is the ticket, the
    other two are duplicates of it written in the same transaction, and one acknowledgement."""
    conf = s.write_config(name="thrice.conf", imap__batch_size=50, kb={"suggestions": 0})
    raw = st.make_message("eco@example.net", "Tres veces lo mismo", "Una y otra vez.\r\n")
    tickets0, acks0 = s.sql_value("SELECT count(*) FROM tickets"), len(s.captured())
    uids = [s.append(raw) for _ in range(3)]
    s.sql("SELECT pg_stat_statements_reset()")
    check.eq(s.run_spocd("--once", config=conf)[0], 0, "the three copies taken")
    check.eq(stats(s, "query ILIKE 'INSERT INTO ingest_log%%'")[0], 1, "the three were one window")
    check.eq(s.sql("SELECT outcome FROM ingest_log WHERE uid = ANY(%s) ORDER BY uid", (uids,)),
             [("ticket",), ("duplicate",), ("duplicate",)], "one ticket, then two duplicates")
    check.eq(s.sql_value("SELECT count(*) FROM tickets") - tickets0, 1, "one ticket")
    check.eq(len(s.captured()) - acks0, 1, "one acknowledgement")
    check.eq(s.folder_uids("INBOX"), [], "all three moved out of INBOX")


def copies_in_one_window(check, s):
    """The window's duplicate checks are read before its first mail is recorded, so a copy of a
    mail of the same window is found by asking again: the same bytes, the same mail redelivered
    with another trace header (same content), the same mail as a list sends it (same Message-ID,
    sender, date and body, a tag in the subject). A mail that only shares a sender asks nothing
    again."""
    conf = s.write_config(name="copies.conf", imap__batch_size=50, kb={"suggestions": 0})
    raw = st.make_message("copias@example.net", "Copias del mismo correo", "Lo mismo otra vez.\r\n",
                          date="Tue, 01 Dec 2026 10:00:00 +0100")
    redelivered = b"Received: from relay2.example.net by mx.desk.test; Tue, 1 Dec 2026 10:00:05 +0100\r\n" + raw
    listed = raw.replace(b"Subject: Copias del mismo correo", b"Subject: [lista] Copias del mismo correo", 1)
    other = st.make_message("copias@example.net", "Otro asunto", "Otra cosa distinta.\r\n")
    tickets0 = s.sql_value("SELECT count(*) FROM tickets")
    uids = [s.append(m) for m in (raw, redelivered, listed, other, raw)]
    s.sql("SELECT pg_stat_statements_reset()")
    check.eq(s.run_spocd("--once", config=conf)[0], 0, "the five mails taken")
    check.eq(stats(s, "query ILIKE 'INSERT INTO ingest_log%%'")[0], 1, "the five were one window")
    check.eq(s.sql("SELECT outcome FROM ingest_log WHERE uid = ANY(%s) ORDER BY uid", (uids,)),
             [("ticket",), ("duplicate",), ("duplicate",), ("ticket",), ("duplicate",)],
             "the copies are duplicates of the first, the other mail a ticket of its own")
    check.eq(s.sql_value("SELECT count(*) FROM tickets") - tickets0, 2, "two tickets")
    check.eq(stats(s, WINDOW_FACTS), (1, 5), "the window's duplicate checks are one statement")
    check.eq(stats(s, MAIL_FACTS)[0], 3, "the three copies ask again; the other mail does not")


def hostile_keys(check, s):
    """A stranger's Message-ID made of what an array literal means (quotes, backslashes, braces,
    commas, the word NULL) goes through the window's one statement as the text the parser read:
    the mail is a ticket, and the same mail as a list sends it later, matched by that Message-ID,
    sender, date and body, is its duplicate (an unquoted NULL element would match nothing)."""
    conf = s.write_config(name="hostile.conf", imap__batch_size=50, kb={"suggestions": 0})
    mid = '<NULL","},{\\x\\"NULL@evil.example>'
    raw = st.make_message("extrano@evil.example", "Claves hostiles", "Nada que ver aqui.\r\n",
                          message_id=mid, date="Tue, 01 Dec 2026 11:00:00 +0100")
    listed = raw.replace(b"Subject: Claves hostiles", b"Subject: [lista] Claves hostiles", 1)
    u1 = s.append(raw)
    check.eq(s.run_spocd("--once", config=conf)[0], 0, "the hostile Message-ID's mail taken")
    stored = s.sql_value("SELECT m.message_id FROM messages m JOIN ingest_log l ON l.message_row = m.id"
                         " WHERE l.uid = %s", (u1,))
    # GMime keeps the msg-id up to the first character msg-id syntax does not allow: the word
    # NULL, which an unquoted array element would turn into SQL NULL
    check.eq(stored, "NULL", "its Message-ID is read as the parser reads it: NULL, as a word")
    u2 = s.append(listed)
    s.sql("SELECT pg_stat_statements_reset()")
    check.eq(s.run_spocd("--once", config=conf)[0], 0, "the list's copy taken")
    check.eq(s.sql("SELECT uid, outcome FROM ingest_log WHERE uid = ANY(%s) ORDER BY uid", ([u1, u2],)),
             [(u1, "ticket"), (u2, "duplicate")], "the list's copy is found by that Message-ID: a duplicate")
    check.eq(stats(s, MAIL_FACTS)[0], 0, "found by the window's statement, not by asking again")


def test(check):
    with st.Services(name="spocd-batch", pg_settings={"shared_preload_libraries": "pg_stat_statements",
                                                      "pg_stat_statements.track": "all"}) as s:
        check.eq(s.run_spocd("--once")[0], 0, "first run creates the schema")
        s.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        whole_batch(check, s)
        poison_batch(check, s)
        bounce_order(check, s)
        same_mail_thrice(check, s)
        copies_in_one_window(check, s)
        hostile_keys(check, s)
        slow_fetch(check, s)


if __name__ == "__main__":
    st.main(test)
