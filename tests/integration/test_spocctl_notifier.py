#!/usr/bin/python3
"""spocctl kb add|list|remove|suggest and spocctl outbox list|show|retry against the real
database, Dovecot and SMTP listener.

Knowledge base: articles in Spanish and English round-trip (title, body from a file or standard
input, URL, language), bad input is refused with exit 2 naming the argument before anything is
written, unknown IDs exit 1. Suggestions, as an acknowledgement would make them: a Spanish ticket
gets the matching Spanish article first (before an English one that matches better), then the
requester's own resolved ticket, never another requester's; unrelated articles are not suggested;
--limit is respected; a ticket with no searchable word and text with quotes and backslashes
suggest without error.

Outbox: rows sent, failed (550), pending (451) and held (set by SQL) are listed newest first,
filtered by --state and limited by --limit, as a table and as JSON; show gives everything and
--raw the exact bytes the SMTP server received; retry makes a failed row pending with attempts 0
and the next spocd --once sends it; retry of a sent row and of an unknown one exits 1."""

import json
import os

import spocdtest as st


NEW_ANA = "La impresora HP LaserJet de la oficina no imprime"


def ticket_of(s, subject):
    rows = s.sql("SELECT display FROM tickets WHERE subject = %s", (subject,))
    assert len(rows) == 1, f"expected one ticket {subject!r}, got {rows}"
    return rows[0][0]


def suggest(s, ticket, *args):
    rc, out, err = s.run_spocctl("--json", "kb", "suggest", ticket, *args)
    assert rc == 0, f"kb suggest {ticket} exited {rc}: {err}"
    return [(x["kind"], x["ticket"] if x["kind"] == "ticket" else x["title"]) for x in json.loads(out)]


def outbox_row(s, subject):
    rows = s.sql("SELECT o.id, o.state FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
                 " WHERE t.subject = %s AND o.kind = 'ack'", (subject,))
    assert len(rows) == 1, f"expected one acknowledgement of {subject!r}, got {rows}"
    return rows[0]


def kb_tests(check, s):
    rc, out, err = s.run_spocctl("kb", "list")
    check.ok(rc == 0 and b"No articles yet" in out, "an empty knowledge base says so", out.decode())

    body_path = os.path.join(s.dir, "impresora.txt")
    with open(body_path, "w", encoding="utf-8") as f:
        f.write("Si la impresora no imprime, compruebe que tiene papel y tóner, apáguela y vuelva a "
                "encenderla, y revise la cola de impresión en su ordenador.\n")
    rc, out, err = s.run_spocctl("kb", "add", "--title", "Problemas de impresión", "--language", "es",
                                 "--url", "https://kb.desk.test/es/impresora", "--body-file", body_path)
    check.ok(rc == 0 and b"added" in out, "kb add with the body from a file", out.decode())
    rc, out, err = s.run_spocctl("--json", "kb", "add", "--title", "Printer does not print", "--language",
                                 "en", "--url", "https://kb.desk.test/en/printer", "--body-file", "-",
                                 stdin="If the printer does not print, check the paper tray and the toner, "
                                       "switch the printer off and on again.\n".encode())
    check.eq(rc, 0, "kb add with the body from standard input")
    printer_en = json.loads(out)["id"]
    check.ok(isinstance(printer_en, int) and printer_en > 0, "--json gives the new article's id", out.decode())
    rc, out, err = s.run_spocctl("kb", "add", "--title", "Cambiar la contraseña del correo", "--language", "es",
                                 "--body-file", "-",
                                 stdin="Entre en el portal del empleado, elija Seguridad y escriba la nueva "
                                       "contraseña dos veces.\n".encode())
    check.eq(rc, 0, "kb add without a URL")
    rc, out, err = s.run_spocctl("kb", "add", "--title", "HP LaserJet paper jam", "--language", "en",
                                 "--url", "https://kb.desk.test/en/laserjet", "--body-file", "-",
                                 stdin=b"HP LaserJet HP LaserJet: open the HP LaserJet rear door and pull the "
                                       b"jammed sheet out of the HP LaserJet slowly.\n")
    check.eq(rc, 0, "kb add of an English article sharing brand names with the Spanish ticket")
    rc, out, err = s.run_spocctl("kb", "add", "--title", "Request a new laptop", "--language", "en")
    check.eq(rc, 0, "kb add with a title only")
    check.eq(s.sql("SELECT title, language, url, body <> '' FROM kb_articles ORDER BY id"),
             [("Problemas de impresión", "es", "https://kb.desk.test/es/impresora", True),
              ("Printer does not print", "en", "https://kb.desk.test/en/printer", True),
              ("Cambiar la contraseña del correo", "es", "", True),
              ("HP LaserJet paper jam", "en", "https://kb.desk.test/en/laserjet", True),
              ("Request a new laptop", "en", "", False)],
             "the articles are stored as given")
    check.ok("compruebe que tiene papel y tóner" in s.sql_value("SELECT body FROM kb_articles WHERE language = 'es'"
                                                                " ORDER BY id LIMIT 1"),
             "the body from the file is stored whole, UTF-8 intact")

    rc, out, err = s.run_spocctl("kb", "list")
    check.ok(rc == 0 and "Cambiar la contraseña del correo".encode() in out
             and b"https://kb.desk.test/en/printer" in out, "kb list shows titles and URLs", out.decode())
    rc, out, err = s.run_spocctl("kb", "list", "--json")
    listed = json.loads(out)
    check.eq([(a["title"], a["language"]) for a in listed][:2],
             [("Problemas de impresión", "es"), ("Printer does not print", "en")], "kb list --json, by id")
    check.ok(all(a["created_at"].endswith("Z") for a in listed), "created_at in UTC")

    # Bad input: exit 2 naming what is wrong, nothing written.
    rc, out, err = s.run_spocctl("kb", "add", "--title", "Imprimante", "--language", "fr")
    check.ok(rc == 2 and "--language" in err and '"fr"' in err, "a bad language exits 2 naming it", err)
    rc, out, err = s.run_spocctl("kb", "add", "--language", "es")
    check.ok(rc == 2 and "--title" in err, "a missing title exits 2 naming it", err)
    rc, out, err = s.run_spocctl("kb", "add", "--title", "  ", "--language", "es")
    check.ok(rc == 2 and "--title" in err, "a blank title exits 2", err)
    rc, out, err = s.run_spocctl("kb", "add", "--title", "Wiki", "--language", "en", "--url", "javascript:alert(1)")
    check.ok(rc == 2 and "--url" in err and "javascript:alert(1)" in err, "a URL that is not http(s) exits 2", err)
    rc, out, err = s.run_spocctl("kb", "add", "--title", "Binary", "--language", "en", "--body-file", "-",
                                 stdin=b"caf\xe9 latin-1\n")
    check.ok(rc == 2 and "UTF-8" in err, "a body that is not UTF-8 exits 2", err)
    rc, out, err = s.run_spocctl("kb", "add", "--title", "Missing", "--language", "en", "--body-file",
                                 os.path.join(s.dir, "no-such-file.txt"))
    check.ok(rc == 1 and "no-such-file.txt" in err, "a body file that cannot be read exits 1 naming it", err)
    rc, out, err = s.run_spocctl("kb", "add", "--title")
    check.ok(rc == 2 and "--title" in err, "an option without its value exits 2", err)
    check.eq(s.sql_value("SELECT count(*) FROM kb_articles"), 5, "refused articles were not written")

    rc, out, err = s.run_spocctl("kb", "remove", "999999")
    check.ok(rc == 1 and "999999" in err, "removing an unknown article exits 1", err)
    check.eq(s.run_spocctl("kb", "remove", "abc")[0], 2, "a bad article ID exits 2")
    check.eq(s.run_spocctl("kb", "remove")[0], 2, "a missing article ID exits 2")
    check.eq(s.run_spocctl("kb", "frobnicate")[0], 2, "an unknown kb command exits 2")
    laptop = s.sql_value("SELECT id FROM kb_articles WHERE title = 'Request a new laptop'")
    rc, out, err = s.run_spocctl("kb", "remove", str(laptop))
    check.ok(rc == 0 and b"removed" in out, "kb remove", out.decode())
    check.eq(s.sql_value("SELECT count(*) FROM kb_articles WHERE id = %s", (laptop,)), 0, "the article is gone")
    check.eq(s.run_spocctl("kb", "remove", str(laptop))[0], 1, "removing it again exits 1")
    rc, out, err = s.run_spocctl("kb", "add", "--title", "Request a new laptop", "--language", "en",
                                 "--body-file", "-", stdin=b"Fill in the hardware form on the intranet; "
                                                           b"your manager approves it.\n")
    check.eq(rc, 0, "the unrelated English article again, with a body")


def suggest_tests(check, s):
    # Ana's earlier ticket, resolved; Bob's, about the same printer, resolved too; then Ana's new one.
    old_ana = "Impresora atascada en la segunda planta"
    bob = "La impresora de contabilidad no imprime"
    new_ana = NEW_ANA
    english = "The printer in room 4 does not print"
    quoted = "Can't open O'Brien's share"
    empty = ""
    s.append(st.make_message("ana@customer.test", old_ana,
                             "Hola,\r\n\r\nla impresora de la segunda planta se atasca con cada hoja y no imprime.\r\n"
                             "\r\nGracias, Ana\r\n", from_name="Ana Pérez", language="es-ES"))
    s.append(st.make_message("bob@other.test", bob,
                             "Hola,\r\n\r\nla impresora de contabilidad no imprime desde ayer, sin tóner.\r\n"
                             "\r\nBob\r\n", language="es-ES"))
    s.append(st.make_message("Ana@Customer.test", new_ana,
                             "Hola,\r\n\r\nla impresora HP LaserJet de la oficina no imprime nada desde esta "
                             "mañana.\r\n¿Pueden revisarla?\r\n\r\nGracias, Ana\r\n", from_name="Ana Pérez",
                             language="es-ES"))
    s.append(st.make_message("carol@customer.test", english,
                             "Hello,\r\n\r\nthe printer in room 4 does not print anything since this morning.\r\n"
                             "\r\nThanks, Carol\r\n", language="en-GB"))
    s.append(st.make_message("dave@customer.test", quoted,
                             "Hello,\r\n\r\nthe path \\\\fileserver\\print's\\queue 'does not' open: "
                             "O'Brien's \"share\" \\ says 'denied'.\r\n", language="en-GB"))
    s.append(st.make_message("erin@customer.test", empty, "", language="en-GB"))
    rc, out, err = s.run_spocd("--once")
    check.eq(rc, 0, "spocd --once made the tickets")
    check.eq(s.sql_value("SELECT count(*) FROM tickets"), 6, "six tickets")
    t_old_ana, t_bob, t_new_ana = ticket_of(s, old_ana), ticket_of(s, bob), ticket_of(s, new_ana)
    t_english, t_quoted, t_empty = ticket_of(s, english), ticket_of(s, quoted), ticket_of(s, empty)
    check.eq(s.sql("SELECT language FROM tickets WHERE display IN (%s, %s) ORDER BY id", (t_old_ana, t_new_ana)),
             [("es",), ("es",)], "Ana's tickets are Spanish")
    check.eq(s.sql_value("SELECT language FROM tickets WHERE display = %s", (t_english,)), "en",
             "Carol's ticket is English")

    # The English article shares more with the ticket's words than the Spanish one: only the
    # ticket's language can put the Spanish one first.
    ranks = dict(s.sql(
        "SELECT a.title, ts_rank(a.search, (SELECT string_agg(quote_literal(l), ' | ')::tsquery"
        "  FROM unnest(tsvector_to_array(to_tsvector(CASE a.language WHEN 'es' THEN 'spanish'"
        "   ELSE 'english' END::regconfig, t.subject || ' ' || m.body_new))) l))"
        " FROM kb_articles a, tickets t JOIN messages m ON m.ticket_id = t.id AND m.direction = 'in'"
        " WHERE t.display = %s", (t_new_ana,)))
    check.ok(ranks["HP LaserJet paper jam"] > ranks["Problemas de impresión"] > 0,
             "the English article ranks above the Spanish one", ranks)
    # Before anything is resolved: articles only.
    check.eq(suggest(s, t_new_ana, "--limit", "10"),
             [("article", "Problemas de impresión"), ("article", "HP LaserJet paper jam")],
             "a Spanish ticket: the Spanish article first, then the English one that shares words")
    s.sql("UPDATE tickets SET status = 'resolved' WHERE display IN (%s, %s)", (t_old_ana, t_bob))
    got = suggest(s, t_new_ana, "--limit", "10")
    check.eq(got, [("article", "Problemas de impresión"), ("article", "HP LaserJet paper jam"),
                   ("ticket", t_old_ana)],
             "then the requester's own resolved ticket")
    check.ok(("ticket", t_bob) not in got, "another requester's resolved ticket is never suggested", got)
    check.ok(all(t != "Cambiar la contraseña del correo" and t != "Request a new laptop" for _, t in got),
             "unrelated articles are not suggested", got)
    check.eq(suggest(s, t_new_ana, "--limit", "1"), [("article", "Problemas de impresión")], "--limit 1")
    check.eq(suggest(s, t_new_ana, "--limit", "2"),
             [("article", "Problemas de impresión"), ("article", "HP LaserJet paper jam")], "--limit 2")
    check.eq(len(suggest(s, t_new_ana)), 3, "without --limit, kb.suggestions (3)")
    # Bob's own view: his resolved ticket is his, Ana's is not.
    s.sql("UPDATE tickets SET status = 'in-progress' WHERE display = %s", (t_bob,))
    got = suggest(s, t_bob, "--limit", "10")
    check.ok(("ticket", t_old_ana) not in got and got[:1] == [("article", "Problemas de impresión")],
             "Bob gets the Spanish article and not Ana's ticket", got)
    check.eq(suggest(s, t_english, "--limit", "10")[:1], [("article", "Printer does not print")],
             "an English ticket gets the English article first")
    check.ok(("article", "Request a new laptop") not in suggest(s, t_english, "--limit", "10"),
             "the unrelated English article is not suggested to it")

    rc, out, err = s.run_spocctl("kb", "suggest", t_new_ana.lower())
    check.ok(rc == 0 and "Problemas de impresión <https://kb.desk.test/es/impresora>".encode() in out
             and t_old_ana.encode() in out, "the human list, ticket named in lower case", out.decode())
    number = str(int(t_new_ana.split("-")[1]))
    check.eq(suggest(s, number, "--limit", "1"), [("article", "Problemas de impresión")],
             "the ticket named by its bare number")
    check.eq(s.run_spocctl("kb", "suggest", t_quoted, "--limit", "10")[0], 0,
             "quotes and backslashes in the ticket text do not break the query")
    rc, out, err = s.run_spocctl("kb", "suggest", t_empty)
    check.ok(rc == 0 and b"Nothing to suggest" in out, "a ticket with no searchable word suggests nothing",
             out.decode() + err)
    rc, out, err = s.run_spocctl("kb", "suggest", "INC-999999")
    check.ok(rc == 1 and "INC-999999" in err, "an unknown ticket exits 1 naming it", err)
    rc, out, err = s.run_spocctl("kb", "suggest", "PRJ-12")
    check.ok(rc == 2 and "PRJ-12" in err, "something that is not a ticket exits 2 naming it", err)
    rc, out, err = s.run_spocctl("kb", "suggest", t_new_ana, "--limit", "0")
    check.ok(rc == 2 and "--limit" in err, "--limit 0 exits 2", err)
    nokb = s.write_config("nokb.conf")
    with open(nokb, "a", encoding="utf-8") as f:
        f.write("kb:\n{\n  suggestions = 0;\n};\n")
    rc, out, err = s.run_spocctl("kb", "suggest", t_new_ana, config=nokb)
    check.ok(rc == 0 and b"suggest nothing" in out, "kb.suggestions = 0: acknowledgements suggest nothing",
             out.decode() + err)
    rc, out, err = s.run_spocctl("--json", "kb", "suggest", t_new_ana, config=nokb)
    check.eq((rc, json.loads(out)), (0, []), "kb.suggestions = 0 as JSON")
    # The status notices the UPDATEs queued are not this test's business.
    s.sql("DELETE FROM outbox WHERE kind <> 'ack'")


def outbox_tests(check, s):
    # Sent: the acknowledgements of the tickets above. Failed: a 550. Pending: a 451. Held: by SQL.
    for n, (who, mode) in enumerate((("fail@customer.test", "rcpt550"), ("later@customer.test", "rcpt451"),
                                     ("held@customer.test", "rcpt451"))):
        s.smtp_mode(mode)
        s.append(st.make_message(who, f"Monitor roto {n}", f"Hola,\r\n\r\nel monitor {n} no enciende.\r\n",
                                 language="es-ES"))
        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 0, f"spocd --once with the SMTP server answering {mode}")
    s.smtp_mode("accept")
    sent_id, state = outbox_row(s, NEW_ANA)
    check.eq(state, "sent", "Ana's acknowledgement was sent")
    failed_id, state = outbox_row(s, "Monitor roto 0")
    check.eq(state, "failed", "the 550 failed the row")
    pending_id, state = outbox_row(s, "Monitor roto 1")
    check.eq(state, "pending", "the 451 left the row pending")
    held_id, _ = outbox_row(s, "Monitor roto 2")
    s.sql("UPDATE outbox SET state = 'held', last_error = 'over the rate limit (test)',"
          " next_attempt_at = now() + interval '1 hour' WHERE id = %s", (held_id,))
    total = s.sql_value("SELECT count(*) FROM outbox")

    rc, out, err = s.run_spocctl("outbox", "list")
    lines = out.decode().splitlines()
    check.ok(rc == 0 and lines[0].split()[:4] == ["ID", "STATE", "KIND", "TICKET"], "outbox list: a table",
             out.decode())
    check.eq([int(l.split()[0]) for l in lines[1:]][:3], [held_id, pending_id, failed_id], "newest first")
    check.eq(len(lines) - 1, total, "every row is listed")
    check.ok("550" in next(l for l in lines if l.startswith(f"{failed_id} ")), "a failed row shows its error")

    rc, out, err = s.run_spocctl("--json", "outbox", "list")
    rows = json.loads(out)
    check.eq(len(rows), total, "outbox list --json: every row")
    by_id = {r["id"]: r for r in rows}
    check.eq((by_id[failed_id]["state"], by_id[failed_id]["kind"], by_id[failed_id]["recipient"]),
             ("failed", "ack", "fail@customer.test"), "--json: state, kind, recipient")
    check.ok("550" in by_id[failed_id]["last_error"] and by_id[failed_id]["attempts"] == 1,
             "--json: last error and attempts", by_id[failed_id])
    check.eq(by_id[sent_id]["ticket"], s.sql_value("SELECT t.display FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
                                                   " WHERE o.id = %s", (sent_id,)), "--json: the ticket")
    for state in ("sent", "failed", "pending", "held"):
        rc, out, err = s.run_spocctl("outbox", "list", "--state", state, "--json")
        want = s.sql("SELECT id FROM outbox WHERE state = %s ORDER BY created_at DESC, id DESC", (state,))
        check.eq([r["id"] for r in json.loads(out)], [w[0] for w in want], f"--state {state}")
    check.ok(len(want) >= 1, "the held state has a row")
    rc, out, err = s.run_spocctl("outbox", "list", "--limit", "2", "--json")
    check.eq([r["id"] for r in json.loads(out)], [held_id, pending_id], "--limit 2: the two newest")
    rc, out, err = s.run_spocctl("outbox", "list", "--state", "bounced")
    check.ok(rc == 2 and "--state" in err and "bounced" in err, "a bad state exits 2 naming it", err)
    rc, out, err = s.run_spocctl("outbox", "list", "--limit", "zero")
    check.ok(rc == 2 and "--limit" in err and "zero" in err, "a bad limit exits 2 naming it", err)

    # show
    rc, out, err = s.run_spocctl("outbox", "show", str(failed_id))
    text = out.decode()
    check.ok(rc == 0 and "failed" in text and "fail@customer.test" in text and "550" in text
             and "outbox retry" in text, "outbox show of a failed row", text)
    rc, out, err = s.run_spocctl("--json", "outbox", "show", str(sent_id))
    shown = json.loads(out)
    mid = s.sql_value("SELECT message_id FROM outbox WHERE id = %s", (sent_id,))
    check.eq((shown["state"], shown["message_id"], shown["detail"]), ("sent", mid, {}),
             "outbox show --json: state, Message-ID, detail")
    check.ok(shown["sent_at"] is not None and shown["sent_bytes"] > 0, "--json: when and how much was sent", shown)
    rc, out, err = s.run_spocctl("outbox", "show", str(sent_id), "--raw")
    captured = [m for m in s.captured() if st.norm_id(m["Message-ID"]) == st.norm_id(mid)]
    check.eq(len(captured), 1, "the SMTP server received Ana's acknowledgement once")
    check.ok(rc == 0 and out == captured[0].raw, "outbox show --raw: exactly the bytes the server received",
             f"{len(out)} bytes vs {len(captured[0].raw)}")
    rc, out, err = s.run_spocctl("outbox", "show", str(failed_id), "--raw")
    check.ok(rc == 1 and "nothing was sent" in err, "--raw of a row never sent exits 1", err)
    check.eq(s.run_spocctl("outbox", "show", "999999")[0], 1, "show of an unknown row exits 1")
    check.eq(s.run_spocctl("outbox", "show", "abc")[0], 2, "show of a bad ID exits 2")

    # retry
    before = len(s.captured())
    rc, out, err = s.run_spocctl("outbox", "retry", str(failed_id))
    check.ok(rc == 0 and b"pending" in out, "outbox retry of the failed row", out.decode())
    state, attempts, due, retried, last_error = s.sql(
        "SELECT state, attempts, next_attempt_at <= now(), retried_at IS NOT NULL, last_error"
        " FROM outbox WHERE id = %s", (failed_id,))[0]
    check.eq((state, attempts, due, retried), ("pending", 0, True, True),
             "pending, attempts 0, due now, retried_at set")
    check.ok(last_error.startswith("before the retry: ") and "550" in last_error,
             "the old error is kept, marked as old", last_error)
    check.eq(s.run_spocctl("--json", "outbox", "retry", str(pending_id))[0], 0, "retry of a pending row")
    check.eq(s.sql_value("SELECT next_attempt_at <= now() FROM outbox WHERE id = %s", (pending_id,)), True,
             "the pending row is due now instead of later")
    rc, out, err = s.run_spocd("--once")
    check.eq(rc, 0, "spocd --once after the retries")
    check.eq(s.sql("SELECT state, attempts, last_error FROM outbox WHERE id = %s", (failed_id,)),
             [("sent", 1, "")], "the retried row was sent on the first attempt")
    check.eq(s.sql_value("SELECT state FROM outbox WHERE id = %s", (pending_id,)), "sent", "so was the pending one")
    check.eq(s.sql_value("SELECT state FROM outbox WHERE id = %s", (held_id,)), "held", "the held row stays held")
    new = s.captured()[before:]
    check.eq(sorted(m.envelope["rcpt_tos"][0] for m in new), ["fail@customer.test", "later@customer.test"],
             "the SMTP server received the two retried acknowledgements, nothing else")

    rc, out, err = s.run_spocctl("outbox", "retry", str(sent_id))
    check.ok(rc == 1 and "already sent" in err, "retry of a sent row exits 1", err)
    check.eq(s.sql_value("SELECT state FROM outbox WHERE id = %s", (sent_id,)), "sent", "and leaves it sent")
    rc, out, err = s.run_spocctl("outbox", "retry", "999999")
    check.ok(rc == 1 and "999999" in err, "retry of an unknown row exits 1", err)
    check.eq(s.run_spocctl("outbox", "retry")[0], 2, "retry without an ID exits 2")
    check.eq(s.run_spocctl("outbox", "resend", "1")[0], 2, "an unknown outbox command exits 2")
    rc, out, err = s.run_spocctl("outbox", "retry", str(held_id))
    check.eq(rc, 0, "a held row can be pushed by an operator")
    rc, out, err = s.run_spocd("--once")
    check.eq(s.sql_value("SELECT state FROM outbox WHERE id = %s", (held_id,)), "sent", "and is then sent")


def test(check):
    with st.Services(name="spocd-spocctl-notifier") as s:
        rc, out, err = s.run_spocd("--migrate")
        check.eq(rc, 0, "spocd --migrate")
        kb_tests(check, s)
        suggest_tests(check, s)
        outbox_tests(check, s)
        rc, out, err = s.run_spocctl("outbox", "list", config=os.path.join(s.dir, "nothing.conf"))
        check.eq(rc, 1, "a configuration that cannot be read exits 1")
        s.write_config("down.conf", database__conninfo=f"host={s.pg_sock} port=1 dbname=spocd user=postgres")
        rc, out, err = s.run_spocctl("kb", "list", config=os.path.join(s.dir, "down.conf"))
        check.eq(rc, 75, "a database that cannot be reached exits 75")


if __name__ == "__main__":
    st.main(test)
