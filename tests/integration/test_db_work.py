#!/usr/bin/python3
"""What PostgreSQL does for each ingested mail (sql/028_less_per_mail.sql and the store's plans):

- plans made while the tables were small are made again as they grow: with 600 new mails in one
  run, the duplicate check of the last batches (one statement for each batch's mails) reads the
  indexes of messages, not the whole table (the plans spocd's session ran, from auto_explain);
- replies thread through the index of Message-IDs, even before messages has statistics;
- a ticket opened by mail is written once: its knowledge-base vectors come with its INSERT, no
  UPDATE follows, and they are the ones the database computes from the ticket's text;
- the suggestions of the acknowledgements read a requester's tickets through an index on the requester,
  and no index over the vectors is kept (none was used);
- the messages_kb trigger still writes the vectors of a ticket that does not carry them, or
  carries others, or carries no digest of their text (a ticket and its first mail written by
  plain SQL), and leaves a ticket that carries the right ones with their digest alone; vectors
  changed under their digest clear it (sql/030_kb_digest.sql);
- outbox_recipient_key(), now PL/pgSQL without a query, gives what the SQL function of
  015_caps.sql gave for every address, hostile ones included."""

import base64
import os
import re

import spocdtest as st

MAILS = 600

DUP_CHECK = "Query Text: SELECT f.n, d.id, d.ticket_id, d.display, a.agent_id"
BATCH = 50
THREADING = "Query Text: SELECT x.ticket_id FROM unnest("
REPLIES = 60


def plans(s, text):
    """The plans auto_explain logged for statements starting with text, in the order run."""
    with open(os.path.join(s.dir, "pg", "postgres.log"), errors="replace") as f:
        entries = re.split(r"\n(?=\S)", f.read())
    return [e for e in entries if text in e]


def intake(check, s):
    for i in range(MAILS):
        s.append(st.make_message(f"user{i % 12}@example.com", f"Printer {i} jams",
                                 f"The printer in room {i} jams on every page.\r\n", language="en-GB"))
    conf = s.write_config(name="batch50.conf", imap__batch_size=BATCH)
    rc, out, err = s.run_spocd("--role", "ingest", "--once", config=conf, quiet=True)
    check.ok(rc == 0, f"the intake run exits 0 (exit {rc})", err[-2000:])
    check.eq(s.sql_value("SELECT count(*) FROM tickets"), MAILS, f"{MAILS} tickets")

    found = plans(s, DUP_CHECK)
    check.eq(len(found), MAILS // BATCH, f"one duplicate check per batch of {BATCH} mails, each plan logged")
    first, last = found[:1], found[-4:]
    print("first duplicate check:\n" + "".join(first)[:2500])
    print("last duplicate check:\n" + "".join(last[-1:])[:2500])
    check.ok(last and all("Seq Scan on messages" not in p for p in last),
             "the duplicate checks of the last 4 batches do not read messages whole", "".join(last[-1:]))
    check.ok(last and all("Index Scan" in p for p in last),
             "they read its indexes", "".join(last[-1:]))

    # No UPDATE of tickets in the whole run: each ticket was written once.
    check.eq(s.sql_value("SELECT n_tup_upd + n_tup_hot_upd FROM pg_stat_user_tables"
                         " WHERE relname = 'tickets'"), 0, "no ticket was updated after its INSERT")
    check.eq(s.sql_value("SELECT count(*) FROM tickets WHERE kb_en IS NULL OR kb_es IS NULL"), 0,
             "every ticket carries both vectors")
    check.eq(s.sql_value("SELECT count(*) FROM tickets"
                         " WHERE kb_en IS DISTINCT FROM to_tsvector('english', spocd_ticket_kb_text(id, subject))"
                         " OR kb_es IS DISTINCT FROM to_tsvector('spanish', spocd_ticket_kb_text(id, subject))"),
             0, "and they are the ones the database computes from the ticket's text")
    check.eq(s.sql_value("SELECT count(*) FROM tickets"
                         " WHERE kb_digest IS DISTINCT FROM md5(spocd_ticket_kb_text(id, subject))::uuid"),
             0, "each carries the digest of that text, so its first mail's trigger analysed nothing again")
    check.eq(s.sql_value("SELECT kb_en @@ 'printer & jam & room'::tsquery FROM tickets"
                         " WHERE subject = 'Printer 7 jams'"), True,
             "the subject's and the mail's words are searched")


def threading_plan(check, s):
    """Replies to the intake's tickets, before any ANALYZE of messages: each threading lookup reads
    the index of Message-IDs for the IDs the reply names, not every message."""
    firsts = s.sql("SELECT t.id, m.message_id, t.requester FROM tickets t"
                   " JOIN messages m ON m.ticket_id = t.id ORDER BY t.id LIMIT %s", (REPLIES,))
    for tid, mid, who in firsts:
        s.append(st.make_message(who, "Re: still jammed", "It jams again.\r\n",
                                 in_reply_to=f"<{mid}>", references=[f"<{mid}>"], language="en-GB"))
    rc, out, err = s.run_spocd("--role", "ingest", "--once", quiet=True)
    check.ok(rc == 0, f"the replies' run exits 0 (exit {rc})", err[-2000:])
    check.eq(s.sql_value("SELECT count(*) FROM tickets"), MAILS, "the replies open no ticket")
    check.eq(s.sql_value("SELECT count(*) FROM (SELECT ticket_id FROM messages WHERE direction = 'in'"
                         " GROUP BY ticket_id HAVING count(*) = 2) x"), REPLIES,
             f"each of the {REPLIES} replies lands on the ticket it answers")
    found = plans(s, THREADING)
    check.eq(len(found), REPLIES, "one threading lookup per reply, each plan logged")
    print("last threading lookup:\n" + "".join(found[-1:])[:3000])
    check.ok(found and all("Seq Scan on messages" not in p and "Index" in p for p in found),
             "no lookup reads messages whole: each reads its index", "".join(found[-1:]))


def suggestions_plan(check, s):
    """The acknowledgements' suggestions read each requester's tickets done with through an
    index on the requester; the GIN index over the vectors, which no query used, is gone."""
    s.sql("UPDATE tickets SET status = 'resolved' WHERE id % 2 = 0")
    rc, out, err = s.run_spocd("--role", "notify", "--once", quiet=True)
    check.ok(rc == 0, f"the notifier exits 0 (exit {rc})", err[-2000:])
    found = plans(s, "Query Text: SELECT b.n, s.title, s.url, s.display FROM unnest(")
    print("last suggestions plan:\n" + "".join(found[-1:])[:6000])
    check.ok(found and re.search(r"Index (Only )?Scan (on|using) tickets_requester", found[-1])
             and "Seq Scan on tickets" not in found[-1] and "tickets_kb" not in found[-1],
             "the suggestions read the requester's tickets through an index on the requester "
             "(tickets_requester or, for the solved ones, tickets_requester_done)", "".join(found[-1:]))
    check.eq(s.sql_value("SELECT count(*) FROM pg_indexes WHERE tablename = 'tickets'"
                         " AND indexdef LIKE '%kb_e%'"), 0, "no index over the vectors is kept up to date")


def trigger_still_writes(check, s):
    def ticket(who, vectors, digest="NULL"):
        return s.sql_value(
            "INSERT INTO tickets (kind, subject, requester, language, priority, kb_en, kb_es, kb_digest)"
            f" VALUES ('incident', 'Scanner broken', %s, 'en', 3, {vectors}, {digest}) RETURNING id", (who,))

    def first_mail(tid, who):
        s.sql("INSERT INTO messages (ticket_id, direction, message_id, from_addr, subject, body_text,"
              " body_new, raw, raw_sha256) VALUES (%s, 'in', %s, %s, 'Scanner broken',"
              " 'The scanner shows error 42.', 'The scanner shows error 42.', '\\x00'::bytea, md5(%s))",
              (tid, f"<{who}>", who, who))

    text = "'Scanner broken' || E'\\n' || 'The scanner shows error 42.'"
    right = f"to_tsvector('english', {text}), to_tsvector('spanish', {text})"
    # The digest (sql/030_kb_digest.sql) is what tells the trigger which text the vectors are of:
    # right vectors without it are analysed again, as another client's would be.
    cases = {"none": ticket("none@example.com", "NULL, NULL"),
             "wrong": ticket("wrong@example.com", "to_tsvector('english', 'printer'), NULL"),
             "undigested": ticket("undigested@example.com", right),
             "stale": ticket("stale@example.com", right, f"md5({text})::uuid"),
             "renamed": ticket("renamed@example.com", right, f"md5({text})::uuid"),
             "right": ticket("right@example.com", right, f"md5({text})::uuid")}
    # Another client changes the vectors and leaves the digest: it no longer names their text.
    s.sql("UPDATE tickets SET kb_en = to_tsvector('english', 'printer') WHERE id = %s", (cases["stale"],))
    check.eq(s.sql_value("SELECT kb_digest FROM tickets WHERE id = %s", (cases["stale"],)), None,
             "sql: vectors changed under their digest clear it")
    # A new subject: its trigger writes the vectors and the digest of the new text together.
    s.sql("UPDATE tickets SET subject = 'Scanner smoking' WHERE id = %s", (cases["renamed"],))
    check.eq(s.sql_value("SELECT kb_digest = md5(spocd_ticket_kb_text(id, subject))::uuid"
                         " AND kb_en = to_tsvector('english', spocd_ticket_kb_text(id, subject))"
                         " AND kb_en @@ to_tsquery('english', 'smoking') FROM tickets WHERE id = %s", (cases["renamed"],)), True,
             "sql: a new subject writes the vectors and the digest of the new text")
    before = {k: s.sql_value("SELECT xmin::text FROM tickets WHERE id = %s", (tid,)) for k, tid in cases.items()}
    for k, tid in cases.items():
        first_mail(tid, f"{k}@example.com")
    for k, tid in cases.items():
        check.eq(s.sql_value("SELECT kb_en = to_tsvector('english', spocd_ticket_kb_text(id, subject))"
                             " AND kb_es = to_tsvector('spanish', spocd_ticket_kb_text(id, subject))"
                             " AND kb_en @@ 'scanner & error'::tsquery FROM tickets WHERE id = %s", (tid,)),
                 True, f"sql, {k} vectors: after its first mail the ticket carries the right ones")
        check.eq(s.sql_value("SELECT kb_digest = md5(spocd_ticket_kb_text(id, subject))::uuid FROM tickets"
                             " WHERE id = %s", (tid,)), True, f"sql, {k} vectors: and the digest of their text")
        after = s.sql_value("SELECT xmin::text FROM tickets WHERE id = %s", (tid,))
        check.eq(after == before[k], k == "right",
                 f"sql, {k} vectors: the ticket is {'left alone' if k == 'right' else 'updated'}")


ADDRESSES = ["Victim@Example.COM", "victim+1@example.com", "+tag@example.com", "a+b+c@example.com",
             "v.i.c.t.i.m@gmail.com", "Victim@GoogleMail.com", "v.i+x@googlemail.com", "no-at-sign",
             "@example.com", "a@", "a@b@c.example", "x+@example.com", "", "ÁLVARO@EXAMPLE.COM",
             "quoted\"+x\"@example.com", "a@gmail.com.evil.example", "a.b@GMAIL.COM", "A.B+C@GoogleMail.Com",
             "+@gmail.com", "a@googlemail.com@x.example", ".a.@gmail.com", "@", "@@", "a+@gmail.com",
             "x@GOOGLEMAIL.COM", "x@googlemail.co", "ǅ@Ǆ.example", "a\x01b@example.com", " a@example.com "]


def recipient_key_unchanged(check, s):
    with open(os.path.join(st.SOURCE_DIR, "sql", "015_caps.sql")) as f:
        sql = f.read()
    old = re.search(r"CREATE FUNCTION outbox_recipient_key\(addr text\).*?\$\$;", sql, re.S).group(0)
    s.sql(old.replace("CREATE FUNCTION outbox_recipient_key", "CREATE FUNCTION old_recipient_key"))
    check.eq(s.sql_value("SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
                         " WHERE p.proname = 'outbox_recipient_key'"), "plpgsql", "the key is PL/pgSQL")
    differ = s.sql("SELECT a, outbox_recipient_key(a), old_recipient_key(a) FROM unnest(%s::text[]) a"
                   " WHERE outbox_recipient_key(a) IS DISTINCT FROM old_recipient_key(a)", (ADDRESSES,))
    check.eq(differ, [], "outbox_recipient_key() gives what 015_caps.sql's gave")
    check.eq(s.sql_value("SELECT outbox_recipient_key(NULL)"), None, "NULL stays NULL (STRICT)")
    check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE recipient_key IS DISTINCT FROM"
                         " old_recipient_key(recipient)"), 0, "every queued row's stored key agrees")
    s.sql("DROP FUNCTION old_recipient_key(text)")


def hostile_text(check, s):
    """A stranger's new ticket whose subject and body are made to break the vectors written in its
    INSERT: a 4,000-character word (over PostgreSQL's 2,047 for a lexeme), 300 KB of text, tsquery
    operators and control characters. The ticket is made, nothing quarantined, and its vectors are
    the ones the database computes from the first 10,000 characters."""
    body = ("x" * 4000 + " & | ! <-> :* \x01\x7f ") + ("impresora atascada " * 16000)
    s.append(st.make_message("stranger@example.net", "'&|!():* " + "y" * 3000, body + "\r\n"))
    rc, out, err = s.run_spocd("--role", "ingest", "--once", quiet=True)
    check.ok(rc == 0, f"the hostile mail's run exits 0 (exit {rc})", err[-2000:])
    check.eq(s.sql_value("SELECT count(*) FROM quarantine"), 0, "nothing quarantined")
    check.eq(s.sql_value("SELECT count(*) FROM tickets WHERE requester = 'stranger@example.net'"
                         " AND kb_en = to_tsvector('english', spocd_ticket_kb_text(id, subject))"
                         " AND kb_es = to_tsvector('spanish', spocd_ticket_kb_text(id, subject))"),
             1, "its ticket carries the vectors of its text's first 10,000 characters")
    # The ticket, its requester and its message row are one statement with parameters counted
    # after the ticket's: a display name (RFC 2047 encoded, since it is not ASCII) that names
    # another address and carries placeholders and SQL lands as text in all three, and the
    # address it names becomes nobody's.
    name = "Jefa <boss@desk.test> $1 $17 '); DROP TABLE tickets; -- \u00e9"
    word = base64.b64encode(name.encode()).decode()
    raw = st.make_message("eve@example.net", "Necesito acceso", "Hola\r\n")
    s.append(raw.replace(b"From: eve@example.net",
                         f"From: =?utf-8?b?{word}?= <eve@example.net>".encode(), 1))
    rc, out, err = s.run_spocd("--role", "ingest", "--once", quiet=True)
    check.ok(rc == 0, f"the forged name's run exits 0 (exit {rc})", err[-2000:])
    check.eq(s.sql("SELECT t.requester, t.requester_name, p.address, p.name, m.from_name"
                   " FROM tickets t JOIN participants p ON p.ticket_id = t.id AND p.role = 'requester'"
                   " JOIN messages m ON m.ticket_id = t.id AND m.direction = 'in'"
                   " WHERE t.requester = 'eve@example.net'"),
             [("eve@example.net", name, "eve@example.net", name, name)],
             "the name is the same text in the ticket, its requester row and its message row")
    check.eq(s.sql_value("SELECT count(*) FROM participants WHERE address = 'boss@desk.test'"), 0,
             "the address inside the name is no participant")


def test(check):
    with st.Services(name="spocd-db-work",
                     pg_settings={"session_preload_libraries": "auto_explain",
                                  "auto_explain.log_min_duration": "0"}) as s:
        intake(check, s)
        threading_plan(check, s)
        suggestions_plan(check, s)
        trigger_still_writes(check, s)
        recipient_key_unchanged(check, s)
        hostile_text(check, s)


if __name__ == "__main__":
    st.main(test)
