#!/usr/bin/python3
"""The notifier works in batches (notify.batch_size):

- 100 queued acknowledgements go out over one SMTP connection, and the statements the notifier
  sends to PostgreSQL (pg_stat_statements) grow with the batches, not with the rows;
- smtp.connections = 3 sends a batch over three connections at once, each mail once; with no
  listener each connection tries once and the run ends, nothing sent or lost;
- a recipient the server refuses in the middle of a batch is retried alone: the others of the
  batch are sent and recorded, none twice;
- the rate limits count the batch's own mail: two acknowledgements to one address in one batch
  with rate_limits.per_recipient_hour = 1 send one and hold the other;
- the acknowledgements of one batch each get their own knowledge-base suggestions, in their own
  language, and the requester's own resolved tickets, from the tickets' stored search vectors
  (kept by the write of a ticket's first mail, a new subject, a mail made internal);
- the files the notices of one batch carry are listed in one query, each notice with its own;
- a notifier killed in the middle of a batch loses nothing and sends no row more than twice,
  the second time with the same Message-ID."""

import signal

import spocdtest as st


def ids(msgs):
    return [m["Message-ID"].strip("<>") for m in msgs]


def queue_acks(s, n, tag, lang="es"):
    for i in range(n):
        if lang == "es":
            s.append(st.make_message(f"user{tag}{i}@example.com", f"Problema {tag} número {i}",
                                     f"El equipo {i} no arranca.\r\n", language="es-ES"))
        else:
            s.append(st.make_message(f"user{tag}{i}@example.com", f"Problem {tag} number {i}",
                                     f"Computer {i} does not boot.\r\n", language="en-GB"))
    rc, out, err = s.run_spocd("--role", "ingest", "--once", quiet=True)
    assert rc == 0, err


def notifier_statements(s):
    """Top-level statements run in the spocd database since the last reset."""
    return s.sql_value("SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s"
                       " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'spocd' AND s.toplevel")


def hundred_over_one_connection(check, s):
    queue_acks(s, 100, "h")
    check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE state = 'pending'"), 100, "100 acknowledgements queued")
    conf = s.write_config(name="batch20.conf", notify__batch_size=20)
    s.sql("SELECT pg_stat_statements_reset()")
    rc, out, err = s.run_spocd("--role", "notify", "--once", config=conf)
    statements = notifier_statements(s)
    for calls, query in s.sql("SELECT s.calls, left(s.query, 70) FROM pg_stat_statements s JOIN pg_database d"
                              " ON d.oid = s.dbid WHERE d.datname = 'spocd' AND s.toplevel ORDER BY 1 DESC"):
        print(f"    {calls:5} {query}")
    check.eq(rc, 0, "the notifier exits 0")
    got = s.captured()
    check.eq(len(got), 100, "100 acknowledgements captured")
    check.eq(len(set(ids(got))), 100, "each once")
    peers = {tuple(m.envelope["peer"]) for m in got}
    check.eq(len(peers), 1, f"all over one SMTP connection {peers}")
    check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE state = 'sent'"), 100, "all recorded sent")
    check.eq(s.sql_value("SELECT count(*) FROM messages WHERE direction = 'out'"), 100,
             "each kept on its ticket")
    # 5 batches of 20 and the empty claim that ends the run, at most 10 statements each (claim,
    # locks, counts, suggestions under a savepoint, marks, BEGIN, COMMIT), and what a notifier
    # runs once when it starts (migrations, keys, Message-IDs, SLA policy: about 20). One
    # statement per row would be 100 at least; this change found 9 per row.
    check.ok(statements <= 10 * 6 + 25, f"statements grow with batches, not rows ({statements} for 100 rows)")


def refused_in_the_middle(check, s):
    base = len(s.captured())
    queue_acks(s, 10, "r", lang="en")
    s.smtp_mode("rcpt451 userr5@example.com")
    rc, out, err = s.run_spocd("--role", "notify", "--once")
    check.eq(rc, 0, "refusal: the notifier exits 0")
    got = s.captured()[base:]
    check.eq(sorted(m.envelope["rcpt_tos"][0] for m in got),
             sorted(f"userr{i}@example.com" for i in range(10) if i != 5),
             "refusal: the nine others were sent")
    rows = dict(s.sql("SELECT recipient, state FROM outbox WHERE recipient LIKE 'userr%%'"))
    check.eq(rows.pop("userr5@example.com"), "pending", "refusal: the refused one waits for a retry")
    check.eq(set(rows.values()), {"sent"}, "refusal: the others are recorded sent")
    attempts, last_error = s.sql("SELECT attempts, last_error FROM outbox WHERE recipient = 'userr5@example.com'")[0]
    check.eq(attempts, 1, "refusal: one attempt counted")
    check.ok("451" in last_error, "refusal: with the server's reply", last_error)
    check.ok(any(r["address"] == "userr5@example.com" for r in s.smtp_refused()),
             "refusal: the server saw and refused that recipient")
    s.smtp_mode("accept")
    s.sql("UPDATE outbox SET next_attempt_at = now() WHERE recipient = 'userr5@example.com'")
    rc, out, err = s.run_spocd("--role", "notify", "--once")
    got = s.captured()[base:]
    check.eq(len(got), 10, "refusal: ten deliveries in all")
    check.eq(len(set(ids(got))), 10, "refusal: none twice")
    check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE recipient LIKE 'userr%%' AND state = 'sent'"), 10,
             "refusal: all ten recorded sent")


def limit_within_a_batch(check, s):
    base = len(s.captured())
    for i in range(2):
        s.append(st.make_message("twice@example.com", f"Second problem {i}", f"Problem {i}.\r\n",
                                 language="en-GB"))
    rc, out, err = s.run_spocd("--role", "ingest", "--once", quiet=True)
    conf = s.write_config(name="cap1.conf", rate_limits={"per_recipient_hour": 1})
    rc, out, err = s.run_spocd("--role", "notify", "--once", config=conf)
    check.eq(rc, 0, "limit: the notifier exits 0")
    states = sorted(r[0] for r in s.sql("SELECT state FROM outbox WHERE recipient = 'twice@example.com'"))
    check.eq(states, ["held", "sent"], "limit: one of the batch sent, the other held")
    reason = s.sql_value("SELECT last_error FROM outbox WHERE recipient = 'twice@example.com' AND state = 'held'")
    check.ok("per_recipient_hour = 1" in reason, "limit: held by the per-recipient limit", reason)
    check.eq(len(s.captured()) - base, 1, "limit: one mail to that address")


def suggestions_per_row(check, s):
    for args in (("--title", "La impresora no imprime: qué comprobar", "--language", "es",
                  "--url", "https://kb.desk.test/impresora"),
                 ("--title", "Printer does not print: what to check", "--language", "en",
                  "--url", "https://kb.desk.test/printer")):
        rc, out, err = s.run_spocctl("kb", "add", *args, "--body-file", "-",
                                     stdin=b"impresora printer toner papel paper atasco jam\n")
        check.eq(rc, 0, "kb add")
    # bob's earlier ticket, done with: suggested to him (and only him) from its stored vector
    s.append(st.make_message("bob@example.com", "Toner empty on the floor 3 printer",
                             "The printer on floor 3 is out of toner.\r\n", language="en-GB"))
    rc, out, err = s.run_spocd("--once", quiet=True)
    old = s.sql_value("SELECT display FROM tickets WHERE requester = 'bob@example.com'")
    s.sql("UPDATE tickets SET status = 'in-progress' WHERE display = %s", (old,))
    s.sql("UPDATE tickets SET status = 'resolved' WHERE display = %s", (old,))
    rc, out, err = s.run_spocd("--role", "notify", "--once", quiet=True)
    base = len(s.captured())
    s.append(st.make_message("ana@example.com", "La impresora no imprime",
                             "La impresora de la planta 2 no imprime, dice atasco de papel.\r\n",
                             language="es-ES"))
    s.append(st.make_message("bob@example.com", "Printer does not print",
                             "The printer on floor 3 does not print, it says paper jam.\r\n",
                             language="en-GB"))
    s.append(st.make_message("carl@example.com", "Password expired",
                             "My password expired this morning.\r\n", language="en-GB"))
    rc, out, err = s.run_spocd("--role", "ingest", "--once", quiet=True)
    vectors = s.sql("SELECT requester, kb_en IS NOT NULL, kb_es IS NOT NULL, kb_en @@ 'impresora | printer'::tsquery"
                    " FROM tickets WHERE requester IN ('ana@example.com', 'bob@example.com')"
                    " AND display <> %s ORDER BY requester", (old,))
    check.eq(vectors, [("ana@example.com", True, True, True), ("bob@example.com", True, True, True)],
             "suggestions: each ticket's search vectors are stored with the text of its first mail")
    rc, out, err = s.run_spocd("--role", "notify", "--once")
    got = {m.envelope["rcpt_tos"][0]: m.get_content().replace("\r\n", "\n") for m in s.captured()[base:]
           if m["Auto-Submitted"] == "auto-replied"}
    check.ok("https://kb.desk.test/impresora" in got["ana@example.com"]
             and "https://kb.desk.test/printer" in got["ana@example.com"]
             and got["ana@example.com"].index("impresora>") < got["ana@example.com"].index("printer>"),
             "suggestions: the Spanish ticket gets both, its language's first", got["ana@example.com"])
    check.ok(got["bob@example.com"].index("printer>") < got["bob@example.com"].index("impresora>"),
             "suggestions: the English ticket gets its language's first", got["bob@example.com"])
    check.ok(f"- [{old}] Toner empty on the floor 3 printer" in got["bob@example.com"],
             "suggestions: and the requester's own resolved ticket", got["bob@example.com"])
    check.ok(old not in got["ana@example.com"] and old not in got["carl@example.com"],
             "suggestions: never another requester's ticket")
    check.ok("kb.desk.test" not in got["carl@example.com"],
             "suggestions: an unrelated ticket of the same batch gets none", got["carl@example.com"])

    # The vectors follow the text: a new subject, the first mail made internal.
    s.sql("UPDATE tickets SET subject = 'Scanner jammed' WHERE requester = 'carl@example.com'")
    check.eq(s.sql_value("SELECT kb_en @@ 'scanner'::tsquery AND kb_en @@ 'password'::tsquery"
                         " FROM tickets WHERE requester = 'carl@example.com'"), True,
             "suggestions: a new subject is searched beside the first mail's words")
    s.sql("UPDATE messages SET internal = true WHERE direction = 'in' AND from_addr = 'carl@example.com'")
    check.eq(s.sql_value("SELECT kb_en @@ 'password'::tsquery FROM tickets WHERE requester = 'carl@example.com'"),
             False, "suggestions: an internal mail's words are no longer searched")


def attachments_per_batch(check, s):
    """The notices of one batch that carry a mail's files have them listed in one query, and each
    carries its own mail's files, not another's of the batch."""
    conf = s.write_config(name="team.conf", notify__new_ticket="equipo@desk.test", notify__batch_size=20)
    base = len(s.captured())
    sent = {}
    for i in range(6):
        sent[i] = f"informe {i}: la impresora {i} falla\n".encode() * (20 + i)
        s.append(st.make_message(f"usera{i}@example.com", f"Fichero {i}", f"Adjunto el fichero {i}.\r\n",
                                 language="es-ES",
                                 attachments=[(f"informe{i}.txt", "text/plain", sent[i])]))
    rc, out, err = s.run_spocd("--role", "ingest", "--once", config=conf, quiet=True)
    check.eq(rc, 0, "attachments: the six mails are taken")
    s.sql("SELECT pg_stat_statements_reset()")
    rc, out, err = s.run_spocd("--role", "notify", "--once", config=conf, quiet=True)
    check.eq(rc, 0, "attachments: the notifier exits 0")
    listed = s.sql_value("SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s JOIN pg_database d"
                         " ON d.oid = s.dbid WHERE d.datname = 'spocd'"
                         " AND s.query LIKE '%%JOIN attachments a ON a.message_row = o.in_reply_to_message%%'")
    check.eq(listed, 1, "attachments: the six notices' files are listed in one query for the batch")
    notes = [m for m in s.captured()[base:] if "equipo@desk.test" in str(m["To"])]
    check.eq(len(notes), 6, "attachments: six new-ticket notices to the team")
    for i in range(6):
        mine = [m for m in notes if f"Adjunto el fichero {i}." in m.get_body(preferencelist=("plain",)).get_content()]
        got = [(p.get_filename(), p.get_payload(decode=True)) for m in mine for p in m.walk()
               if not p.is_multipart() and p.get_filename() is not None]
        check.eq(got, [(f"informe{i}.txt", sent[i])], f"attachments: the notice of mail {i} carries its file alone")


def several_connections(check, s):
    base = len(s.captured())
    queue_acks(s, 12, "m")
    conf = s.write_config(name="three.conf", smtp__connections=3)
    s.smtp_mode("slow")
    rc, out, err = s.run_spocd("--role", "notify", "--once", config=conf)
    s.smtp_mode("accept")
    check.eq(rc, 0, "connections: the notifier exits 0")
    got = s.captured()[base:]
    check.eq(len(got), 12, "connections: twelve delivered")
    check.eq(len(set(ids(got))), 12, "connections: each once")
    peers = {tuple(m.envelope["peer"]) for m in got}
    check.eq(len(peers), 3, f"connections: over smtp.connections = 3 connections {peers}")
    check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE recipient LIKE 'userm%%' AND state = 'sent'"), 12,
             "connections: all recorded sent")

    # No listener: each connection fails once, the run ends, nothing is lost or sent.
    port = s.smtp_port
    s.stop_smtp()
    queue_acks(s, 9, "n")
    rc, out, err = s.run_spocd("--role", "notify", "--once", config=conf)
    check.eq(rc, 75, "connections, no listener: exits 75 (SMTP server unreachable)")
    rows = s.sql("SELECT state, attempts, last_error FROM outbox WHERE recipient LIKE 'usern%%'")
    check.eq({r[0] for r in rows}, {"pending"}, "connections, no listener: every row still pending")
    tried = [r for r in rows if r[1] == 1]
    check.ok(1 <= len(tried) <= 3, f"connections, no listener: at most one attempt per connection ({len(tried)})")
    check.ok(all(f"127.0.0.1:{port}" in r[2] for r in tried), "connections, no listener: the error names the server",
             tried)
    check.eq(sum(r[1] for r in rows), len(tried), "connections, no listener: the others untouched")
    s.start_smtp(mode="accept")
    s.sql("UPDATE outbox SET next_attempt_at = now() WHERE recipient LIKE 'usern%%'")
    base = len(s.captured())
    rc, out, err = s.run_spocd("--role", "notify", "--once", config=conf)
    check.eq(len(set(ids(s.captured()[base:]))), 9, "connections: all nine sent once the listener is back")


def killed_mid_batch(check, s):
    base = len(s.captured())
    queue_acks(s, 12, "k")
    s.smtp_mode("slow")
    p = s.start_spocd("--role", "notify", "--once", name="killed")
    check.wait_for(lambda: len(s.captured()) >= base + 4, 30, "kill: some are sent", step=0.02)
    p.stop(signal.SIGKILL)
    first = ids(s.captured()[base:])
    check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE recipient LIKE 'userk%%' AND state = 'sent'"), 0,
             "kill: the batch was not recorded")
    s.smtp_mode("accept")
    rc, out, err = s.run_spocd("--role", "notify", "--once")
    check.eq(rc, 0, "kill: a new notifier finishes the batch")
    seen = ids(s.captured()[base:])
    check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE recipient LIKE 'userk%%' AND state = 'sent'"), 12,
             "kill: all twelve are sent in the end: nothing lost")
    check.eq(len(set(seen)), 12, "kill: twelve different messages arrived")
    check.ok(all(seen.count(m) <= 2 for m in seen), "kill: none more than twice")
    check.ok(all(seen.count(m) == 2 for m in first), "kill: what arrived before the kill came again, "
             "with the same Message-ID")


def test(check):
    with st.Services(name="spocd-notifier-batch",
                     pg_settings={"shared_preload_libraries": "pg_stat_statements",
                                  "pg_stat_statements.track": "all"}) as s:
        s.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        hundred_over_one_connection(check, s)
        refused_in_the_middle(check, s)
        limit_within_a_batch(check, s)
        suggestions_per_row(check, s)
        attachments_per_batch(check, s)
        several_connections(check, s)
        killed_mid_batch(check, s)


if __name__ == "__main__":
    st.main(test)
