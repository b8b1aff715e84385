#!/usr/bin/python3
"""spocctl ticket list|show|set, stats and health against the real database, Dovecot and SMTP
listener.

Tickets come from real mail (spocd --once): three requesters, one mail with a PDF attached, a
requester's reply with quoted history, and an agent's #internal note sent through the Reply-To of
the follow-up spocd forwarded to them.

ticket list: newest first as a table and as JSON, filtered by --status (and "open"), --mine /
--assignee (address, name or local part), --requester (any case) and --limit; bad filters exit 2,
an unknown agent exits 1.
ticket show: fields, participants, a link, the audit trail and the conversation in order: the new
text of the reply without its quoted history, the internal note marked, the attachment by name and
size; the same as JSON; an unknown ticket exits 1, something that is not a ticket exits 2.
ticket set: assignee (by name, the team follows; "none" unassigns), priority (P1 / 1), kind (the
number becomes REQ-) and status, each audited with actor spocctl:<user> via spocctl; setting what
already is changes nothing and exits 0; a status change queues exactly one update to the requester
in the same transaction and spocd --role notify --once sends it; a move the status model refuses
(closed -> in-progress) exits 1 with the reason and changes nothing; unknown ticket exits 1; bad
field or value exits 2 naming it.
stats: the counts match what was made (statuses, open by kind and priority, created, mail read by
outcome, outbox by state, SLA breaches, mean first response).
health: OK after a real pass (the daemon writes mailbox_health); FAIL for a mailbox read too long
ago, for a configured mailbox never read, for a notification due for over the threshold, for an
SLA breach whose notice was not sent (OK again once spocctl sla check and the notifier sent it);
75 when the database cannot be reached."""

import email.utils
import json
import os
import pwd

import spocdtest as st

ACTOR = "spocctl:" + pwd.getpwuid(os.geteuid()).pw_name
PDF = b"%PDF-1.4\n% informe de la impresora\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"

ANA_SUBJECT = "La impresora de la planta 2 no imprime"
BOB_SUBJECT = "Monitor roto en recepción"
CAROL_SUBJECT = "No puedo entrar en el portal"


def ctl_json(s, *args, config=None):
    rc, out, err = s.run_spocctl("--json", *args, config=config)
    assert rc == 0, f"spocctl {' '.join(args)} exited {rc}: {err}"
    return json.loads(out)


def display_of(s, subject):
    return s.sql_value("SELECT display FROM tickets WHERE subject = %s", (subject,))


def events(s, display, field):
    return s.sql("SELECT e.actor, e.via, e.old_value, e.new_value FROM ticket_events e"
                 " JOIN tickets t ON t.id = e.ticket_id WHERE t.display = %s AND e.field = %s"
                 " ORDER BY e.id", (display, field))


def make_tickets(check, s):
    check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
    for addr, name, team in (("luis@desk.test", "Luis Gómez", "Redes"), ("marta@desk.test", "Marta", "Sistemas")):
        check.eq(s.run_spocctl("agent", "add", addr, "--name", name, "--team", team)[0], 0, f"agent {addr}")
    s.append(st.make_message("ana@customer.test", ANA_SUBJECT,
                             "Hola,\r\n\r\nla impresora de la planta 2 no imprime desde ayer. Adjunto el "
                             "informe.\r\n\r\nGracias, Ana\r\n", from_name="Ana Pérez", language="es-ES",
                             attachments=[("informe.pdf", "application/pdf", PDF)]))
    s.append(st.make_message("bob@other.test", BOB_SUBJECT,
                             "Hola,\r\n\r\nel monitor de recepción no enciende.\r\n", language="es-ES"))
    s.append(st.make_message("carol@customer.test", CAROL_SUBJECT,
                             "Hola,\r\n\r\nel portal del empleado me dice que mi contraseña caducó.\r\n",
                             language="es-ES"))
    check.eq(s.run_spocd("--once")[0], 0, "spocd --once makes the tickets")
    check.eq(s.sql_value("SELECT count(*) FROM tickets"), 3, "three tickets")
    check.eq(len(s.captured()), 3, "three acknowledgements sent")


def list_tests(check, s, ana, bob, carol):
    rc, out, err = s.run_spocctl("ticket", "list")
    lines = out.decode().splitlines()
    check.ok(rc == 0 and lines[0].split()[:4] == ["TICKET", "STATUS", "PRI", "ASSIGNEE"], "ticket list: a table",
             out.decode())
    check.eq([l.split()[0] for l in lines[1:]], [carol, bob, ana], "newest first")
    check.ok(ANA_SUBJECT in out.decode() and "ana@customer.test" in out.decode(), "subject and requester shown")

    rows = ctl_json(s, "ticket", "list")
    check.eq([r["ticket"] for r in rows], [carol, bob, ana], "ticket list --json, newest first")
    want = s.sql("SELECT display, status, priority, kind, requester, subject,"
                 " to_char(first_response_due AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                 " FROM tickets ORDER BY id DESC")
    check.eq([(r["ticket"], r["status"], r["priority"], r["kind"], r["requester"], r["subject"],
               r["first_response_due"]) for r in rows], [tuple(w) for w in want],
             "--json: status, priority, kind, requester, subject and due time as stored")
    check.ok(all(r["assignee"] is None for r in rows), "nobody assigned yet", rows)
    check.ok(all(r["first_response_breached"] is False and r["resolution_breached"] is False for r in rows),
             "no SLA breached yet", rows)

    check.eq([r["ticket"] for r in ctl_json(s, "ticket", "list", "--requester", "ANA@Customer.TEST")], [ana],
             "--requester, any case")
    check.eq([r["ticket"] for r in ctl_json(s, "ticket", "list", "--limit", "2")], [carol, bob], "--limit 2")
    check.eq(len(ctl_json(s, "ticket", "list", "--status", "new")), 3, "--status new")
    check.eq(ctl_json(s, "ticket", "list", "--status", "resolved"), [], "--status resolved: none")
    rc, out, err = s.run_spocctl("ticket", "list", "--status", "resolved")
    check.ok(rc == 0 and b"No tickets." in out, "an empty list says so", out.decode())
    rc, out, err = s.run_spocctl("ticket", "list", "--status", "done")
    check.ok(rc == 2 and "--status" in err and '"done"' in err, "a bad --status exits 2 naming it", err)
    rc, out, err = s.run_spocctl("ticket", "list", "--limit", "0")
    check.ok(rc == 2 and "--limit" in err, "a bad --limit exits 2", err)
    rc, out, err = s.run_spocctl("ticket", "list", "--mine", "nadie")
    check.ok(rc == 1 and "nadie" in err, "--mine of an unknown agent exits 1 naming it", err)
    check.eq(s.run_spocctl("ticket", "list", "--mine", "luis", "--assignee", "marta")[0], 2,
             "--mine and --assignee together exit 2")
    check.eq(s.run_spocctl("ticket", "frob")[0], 2, "an unknown ticket command exits 2")


def set_tests(check, s, ana, bob, carol):
    # assignee, by name: the team comes with the agent
    rc, out, err = s.run_spocctl("ticket", "set", ana, "assignee", "Luis Gómez")
    check.ok(rc == 0 and f"{ana}: assignee (nobody) -> luis@desk.test" in out.decode(), "set assignee by name",
             out.decode() + err)
    check.eq(s.sql("SELECT a.address, t.team FROM tickets t JOIN agents a ON a.id = t.assignee_id"
                   " WHERE t.display = %s", (ana,)), [("luis@desk.test", "Redes")], "assigned, team Redes")
    check.eq(events(s, ana, "assignee"), [(ACTOR, "spocctl", None, "luis@desk.test")],
             f"audited as {ACTOR} via spocctl")
    rc, out, err = s.run_spocctl("ticket", "set", ana.lower(), "assignee", "luis")
    check.ok(rc == 0 and b"already" in out and b"nothing changed" in out,
             "the same agent again (local part, ticket in lower case): nothing changed", out.decode())
    check.eq(len(events(s, ana, "assignee")), 1, "and nothing audited")
    check.eq([r["ticket"] for r in ctl_json(s, "ticket", "list", "--mine", "luis")], [ana], "--mine luis")
    check.eq([r["ticket"] for r in ctl_json(s, "ticket", "list", "--assignee", "LUIS@desk.test")], [ana],
             "--assignee by address")
    check.eq(ctl_json(s, "ticket", "list", "--mine", "marta"), [], "--mine marta: none")
    rc, out, err = s.run_spocctl("ticket", "set", bob, "assignee", "marta")
    check.eq(rc, 0, "bob's ticket to Marta")
    rc, out, err = s.run_spocctl("ticket", "set", bob, "assignee", "none")
    check.ok(rc == 0 and b"-> (nobody)" in out, "assignee none unassigns", out.decode())
    check.eq(s.sql_value("SELECT assignee_id FROM tickets WHERE display = %s", (bob,)), None, "nobody assigned")
    check.eq(s.sql_value("SELECT team FROM tickets WHERE display = %s", (bob,)), "Sistemas",
             "the team stays when unassigned")
    rc, out, err = s.run_spocctl("ticket", "set", bob, "assignee", "nadie@desk.test")
    check.ok(rc == 1 and "nadie@desk.test" in err, "an unknown agent exits 1 naming it", err)

    # priority
    old = s.sql_value("SELECT priority FROM tickets WHERE display = %s", (ana,))
    new = 1 if old != 1 else 2
    rc, out, err = s.run_spocctl("--json", "ticket", "set", ana, "priority", f"p{new}")
    check.eq(json.loads(out), {"ticket": ana, "field": "priority", "old": f"P{old}", "new": f"P{new}",
                               "changed": True, "notices": 0}, "set priority (p1 as P1), --json")
    check.eq(s.sql_value("SELECT priority FROM tickets WHERE display = %s", (ana,)), new, "stored")
    check.eq(events(s, ana, "priority"), [(ACTOR, "spocctl", f"P{old}", f"P{new}")], "priority audited")
    rc, out, err = s.run_spocctl("--json", "ticket", "set", ana, "priority", str(new))
    check.eq(json.loads(out)["changed"], False, "the same priority as a bare number: unchanged")

    # kind: the number's prefix follows it
    kind = s.sql_value("SELECT kind FROM tickets WHERE display = %s", (carol,))
    other = "request" if kind == "incident" else "incident"
    rc, out, err = s.run_spocctl("ticket", "set", carol, "kind", other)
    renamed = s.sql_value("SELECT display FROM tickets WHERE subject = %s", (CAROL_SUBJECT,))
    check.ok(rc == 0 and renamed != carol and renamed[4:] == carol[4:] and f"now {renamed}" in out.decode(),
             "set kind: the ticket's number changes prefix, and spocctl says so", out.decode())
    check.eq(events(s, renamed, "kind"), [(ACTOR, "spocctl", kind, other)], "kind audited")
    check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE kind = 'status'"), 0,
             "assignee, priority and kind changes queue no status update")

    # bad input: exit 2 naming it, before anything is read
    for args, name in ((("status", "open"), '"open"'), (("priority", "P9"), '"P9"'), (("kind", "problem"), '"problem"'),
                       (("colour", "red"), '"colour"')):
        rc, out, err = s.run_spocctl("ticket", "set", ana, *args)
        check.ok(rc == 2 and name in err, f"ticket set {' '.join(args)} exits 2 naming it", err)
    check.eq(s.run_spocctl("ticket", "set", ana, "status")[0], 2, "a missing value exits 2")
    rc, out, err = s.run_spocctl("ticket", "set", "INC-999999", "status", "resolved")
    check.ok(rc == 1 and "INC-999999" in err, "an unknown ticket exits 1 naming it", err)
    return renamed


def status_tests(check, s, ana, carol):
    # the assignment notices of the earlier steps go first: what follows counts from here
    check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "the notifier sends what is queued")
    before = len(s.captured())
    rc, out, err = s.run_spocctl("ticket", "set", ana, "status", "in-progress")
    check.ok(rc == 0 and f"{ana}: status new -> in-progress; 1 status update queued" in out.decode(),
             "set status: done, one update queued", out.decode() + err)
    rows = s.sql("SELECT o.recipient, o.state, o.detail->>'from', o.detail->>'to', o.detail->>'actor',"
                 " o.detail->>'via' FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
                 " WHERE t.display = %s AND o.kind = 'status'", (ana,))
    check.eq(rows, [("ana@customer.test", "pending", "new", "in-progress", ACTOR, "spocctl")],
             "one status row for the requester, queued with the change, naming the operator")
    check.eq(events(s, ana, "status"), [(ACTOR, "spocctl", "new", "in-progress")], "status audited")
    rc, out, err = s.run_spocctl("ticket", "set", ana, "status", "in-progress")
    check.ok(rc == 0 and b"already in-progress" in out, "the same status: nothing changed", out.decode())
    check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE kind = 'status'"), 1, "and nothing more queued")

    rc, out, err = s.run_spocd("--role", "notify", "--once")
    check.eq(rc, 0, "spocd --role notify --once")
    new = s.captured()[before:]
    check.eq([m.envelope["rcpt_tos"] for m in new], [["ana@customer.test"]], "the notifier sent the update once")
    check.eq(s.sql_value("SELECT state FROM outbox WHERE kind = 'status'"), "sent", "the row is sent")
    if new:
        text = new[0].get_content()
        check.ok(ana in text and ana in str(new[0]["Subject"]) and "Test Service Desk" in text,
                 "the update names the ticket, and the desk as who changed it", text)

    # closed is final: the status model refuses, nothing changes
    check.eq(s.run_spocctl("ticket", "set", carol, "status", "closed")[0], 0, "close carol's ticket")
    queued = s.sql_value("SELECT count(*) FROM outbox WHERE kind = 'status'")
    check.eq(queued, 2, "closing queued carol's update")
    rc, out, err = s.run_spocctl("ticket", "set", carol, "status", "in-progress")
    check.ok(rc == 1 and "refused" in err and "cannot go from closed to in-progress" in err,
             "closed -> in-progress exits 1 with the status model's reason", err)
    check.eq(s.sql_value("SELECT status FROM tickets WHERE display = %s", (carol,)), "closed", "still closed")
    check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE kind = 'status'"), queued, "nothing queued")
    check.eq([e[3] for e in events(s, carol, "status")], ["closed"], "only the close is audited")
    check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "the notifier sends carol's update")


def conversation(check, s, ana):
    ack = next(m for m in s.captured() if m.envelope["rcpt_tos"] == ["ana@customer.test"]
               and ana in str(m["Subject"]))
    before = len(s.captured())
    s.append(st.make_message("ana@customer.test", "Re: " + str(ack["Subject"]),
                             "Sigue sin imprimir; he probado a reiniciarla.\r\n\r\n"
                             "On Mon, 13 May 2024 at 10:00, Test Service Desk <help@desk.test> wrote:\r\n"
                             "> Hemos recibido su mensaje y lo atenderemos pronto.\r\n"
                             "> Un cordial saludo\r\n", from_name="Ana Pérez", in_reply_to=ack["Message-ID"],
                             references=[ack["Message-ID"]], language="es-ES"))
    check.eq(s.run_spocd("--once")[0], 0, "ana's reply")
    fwd = [m for m in s.captured()[before:] if m.envelope["rcpt_tos"] == ["luis@desk.test"]]
    check.eq(len(fwd), 1, "the reply is forwarded to the assignee")
    if not fwd:
        return
    token = email.utils.parseaddr(fwd[0]["Reply-To"])[1]
    s.append(st.make_message("luis@desk.test", "Re: " + str(fwd[0]["Subject"]),
                             "#internal\r\n\r\nRevisado el switch de la planta 2: el puerto 14 está caído.\r\n",
                             from_name="Luis Gómez", to=token, in_reply_to=fwd[0]["Message-ID"],
                             references=[fwd[0]["Message-ID"]]))
    check.eq(s.run_spocd("--once")[0], 0, "luis's internal note")
    check.eq(s.sql("SELECT internal FROM messages WHERE from_addr = 'luis@desk.test'"), [(True,)],
             "stored as an internal note")


def show_tests(check, s, ana, carol):
    s.sql("INSERT INTO ticket_links (ticket_id, linked_ticket_id, kind)"
          " SELECT c.id, a.id, 'possibly-related' FROM tickets c, tickets a"
          " WHERE c.display = %s AND a.display = %s", (carol, ana))
    rc, out, err = s.run_spocctl("ticket", "show", ana)
    text = out.decode()
    check.eq(rc, 0, "ticket show")
    for what, piece in (("the subject", ANA_SUBJECT), ("the requester", "Ana Pérez <ana@customer.test>"),
                        ("the assignee", "Luis Gómez <luis@desk.test>"), ("the team", "Redes"),
                        ("the participants", "requester ana@customer.test"),
                        ("the link", f"possibly-related <- {carol}"),
                        ("the audit trail", "status new -> in-progress"),
                        ("who changed it", f"by {ACTOR} via spocctl"),
                        ("the attachment", f"informe.pdf ({len(PDF)} bytes, application/pdf)"),
                        ("the reply's new text", "| Sigue sin imprimir; he probado a reiniciarla."),
                        ("that history was left out", "(quoted history left out)"),
                        ("the internal note, marked", "[internal note]"),
                        ("the note's text", "el puerto 14 está caído"),
                        # why, in the words of the mail, not a rule's label
                        ("what decided the kind", 'kind:            incident by "no imprime" in the subject'),
                        ("what set the priority",
                         "impact 2, urgency 2; impact: medium (default); urgency: medium (default)")):
        check.ok(piece in text, f"ticket show: {what}", text)
    check.ok("Hemos recibido su mensaje y lo atenderemos" not in text, "the quoted history is not shown", text)
    check.ok(text.index("la impresora de la planta 2 no imprime desde ayer") < text.index("Sigue sin imprimir")
             < text.index("el puerto 14"), "the conversation in order")

    d = ctl_json(s, "ticket", "show", ana)
    check.eq((d["ticket"], d["status"], d["assignee"], d["team"], d["requester_name"], d["language"]),
             (ana, "in-progress", "luis@desk.test", "Redes", "Ana Pérez", "es"), "show --json: the fields")
    check.eq([(p["address"], p["role"]) for p in d["participants"]], [("ana@customer.test", "requester")],
             "--json: participants")
    check.eq([(l["kind"], l["direction"], l["ticket"]) for l in d["links"]], [("possibly-related", "from", carol)],
             "--json: links")
    check.eq([(e["field"], e["actor"], e["via"]) for e in d["events"] if e["field"] != "created"],
             [("assignee", ACTOR, "spocctl"), ("priority", ACTOR, "spocctl"), ("status", ACTOR, "spocctl")],
             "--json: the audit trail")
    msgs = d["messages"]
    want = s.sql("SELECT id, direction, internal FROM messages WHERE ticket_id = (SELECT id FROM tickets"
                 " WHERE display = %s) ORDER BY id", (ana,))
    check.eq([(m["id"], m["direction"], m["internal"]) for m in msgs], [tuple(w) for w in want],
             "--json: every message in order, in and out, internal marked")
    check.eq(msgs[0]["attachments"], [{"name": "informe.pdf", "content_type": "application/pdf",
                                       "size": len(PDF), "disposition": "attachment"}],
             "--json: the attachment by name and size")
    reply = next(m for m in msgs if m["direction"] == "in" and "Sigue" in m["text"])
    check.ok(reply["quoted_left_out"] and "Hemos recibido" not in reply["text"], "--json: the new text only", reply)
    check.eq(sum(m["internal"] for m in msgs), 1, "--json: one internal note")

    rc, out, err = s.run_spocctl("ticket", "show", carol)
    check.ok(rc == 0 and f"possibly-related -> {ana}" in out.decode() and "closed" in out.decode(),
             "the other side of the link, and a closed ticket", out.decode())
    number = str(int(ana.split("-")[1]))
    check.eq(ctl_json(s, "ticket", "show", number)["ticket"], ana, "show by the bare number")
    rc, out, err = s.run_spocctl("ticket", "show", "INC-999999")
    check.ok(rc == 1 and "INC-999999" in err, "show of an unknown ticket exits 1", err)
    rc, out, err = s.run_spocctl("ticket", "show", "PRJ-1")
    check.ok(rc == 2 and "PRJ-1" in err, "show of something that is not a ticket exits 2", err)


def stats_tests(check, s, ana, bob, carol):
    # first responses 30 and 90 minutes after creation; bob's resolution target long past
    s.sql("UPDATE tickets SET created_at = now() - interval '2 hours',"
          " first_response_at = now() - interval '90 minutes' WHERE display = %s", (ana,))
    s.sql("UPDATE tickets SET created_at = now() - interval '3 hours',"
          " first_response_at = now() - interval '90 minutes', resolution_due = now() - interval '1 hour'"
          " WHERE display = %s", (bob,))
    d = ctl_json(s, "stats")
    t = d["tickets"]
    check.eq(t["by_status"], {"new": 1, "in-progress": 1, "pending": 0, "resolved": 0, "closed": 1},
             "stats: tickets by status")
    open_want = {"incident": {f"P{p}": 0 for p in range(1, 6)}, "request": {f"P{p}": 0 for p in range(1, 6)}}
    for kind, prio in s.sql("SELECT kind, priority FROM tickets WHERE status <> 'closed'"):
        open_want[kind][f"P{prio}"] += 1
    check.eq(t["open"], open_want, "stats: open tickets by kind and priority")
    check.eq(sum(sum(v.values()) for v in t["open"].values()), 2, "two open tickets")
    check.eq(t["created_7d"], 3, "stats: created in 7 days")
    check.eq(t["created_today"], s.sql_value("SELECT count(*) FROM tickets WHERE created_at >= date_trunc('day', now())"),
             "stats: created today")
    check.eq(d["ingested_24h"], {"ticket": 3, "reply": 2, "duplicate": 0, "automatic": 0, "quarantined": 0},
             "stats: mail read in 24 h by outcome")
    states = dict(s.sql("SELECT state, count(*) FROM outbox GROUP BY state"))
    check.eq(d["outbox"], {"pending": states.get("pending", 0), "sent": states.get("sent", 0),
                           "failed": states.get("failed", 0), "held": states.get("held", 0), "due": 0},
             "stats: outbox by state")
    check.eq(d["sent_24h"], states.get("sent", 0), "stats: sent in 24 h")
    check.ok(d["sent_24h"] >= 6, "the acknowledgements, two updates and the follow-up were sent", d)
    check.eq(d["quarantine_waiting"], 0, "stats: nothing quarantined")
    check.eq(d["sla_breached"], {"first-response": 0, "resolution": 1}, "stats: bob's resolution is breached")
    check.eq(d["first_response_30d"], {"count": 2, "mean_seconds": 3600}, "stats: mean first response 1 h")
    rc, out, err = s.run_spocctl("stats")
    text = out.decode()
    check.ok(rc == 0 and "in-progress 1" in text and "1 h 00 min" in text and "resolution 1" in text,
             "stats as text", text)


def health(s, *args, config=None):
    rc, out, err = s.run_spocctl("health", *args, config=config)
    return rc, out.decode(), err


def health_tests(check, s, bob):
    # a long poll interval: the checks below are not racing the 15 s window of the default one
    slow = s.write_config("slow.conf", imap__poll_interval=600)
    check.eq(s.run_spocctl("sla", "check")[0], 0, "the breach on bob's ticket is noticed")
    check.eq(s.run_spocd("--once")[0], 0, "a pass: mail read, breach notice sent")
    check.eq(s.sql_value("SELECT count(*) FROM mailbox_health WHERE mailbox = 'INBOX' AND last_ok_at > now()"
                         " - interval '1 minute'"), 1, "the daemon recorded the successful pass of INBOX")
    rc, out, err = health(s)
    check.ok(rc == 0 and "OK   mailbox INBOX: read successfully" in out and "OK   outbox" in out
             and "OK   sla" in out and "FAIL" not in out, "health right after a pass: OK", out)
    check.ok("15 min (the minimum" in out, "the outbox threshold: 15 min, and why", out)
    d = json.loads(health(s, "--json")[1])
    check.eq((d["healthy"], [(c["check"], c["name"], c["ok"]) for c in d["checks"]]),
             (True, [("mailbox", "INBOX", True), ("outbox", None, True), ("sla", None, True),
                     ("trust", None, True)]), "health --json")
    check.ok("OK   trust: no agents.trusted_authserv_id: no sender can be verified" in out,
             "health says what a desk without an authenticating border gives up", out)
    rc, out, err = health(s, config=slow)
    check.ok(rc == 0 and "30 min (3 x the largest poll interval, 600 s)" in out,
             "3 x a poll interval longer than 5 min is the threshold", out)

    s.sql("UPDATE mailbox_health SET last_ok_at = now() - interval '1 hour',"
          " last_error = 'imap: cannot connect', last_error_at = now()")
    rc, out, err = health(s, config=slow)
    check.ok(rc == 1 and "FAIL mailbox INBOX" in out and "more than 30 min" in out and "cannot connect" in out,
             "a mailbox last read 1 h ago (window 30 min) fails, with its last error", out)
    check.eq(s.run_spocd("--once")[0], 0, "another pass")
    check.eq(health(s, config=slow)[0], 0, "healthy again after a successful pass")

    other = s.write_config("other.conf", imap__name="Archivo", imap__poll_interval=600)
    rc, out, err = health(s, config=other)
    check.ok(rc == 1 and "FAIL mailbox Archivo: never read" in out, "a configured mailbox never read fails", out)

    rc, out, err = s.run_spocctl("ticket", "set", bob, "status", "pending")
    check.eq(rc, 0, "bob's ticket pending: an update is queued")
    row = s.sql_value("SELECT id FROM outbox WHERE kind = 'status' AND state = 'pending'")
    s.sql("UPDATE outbox SET next_attempt_at = now() - interval '1 hour' WHERE id = %s", (row,))
    rc, out, err = health(s, config=slow)
    check.ok(rc == 1 and "FAIL outbox: 1 notification due for longer than 30 min" in out and f"outbox show {row}" in out,
             "a notification due for 1 h: the outbox is stuck", out)
    check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "the notifier sends it")
    check.eq(health(s, config=slow)[0], 0, "healthy once it is sent")

    # in progress again: a pending ticket's clock is stopped (test_sla_clocks)
    s.sql("UPDATE tickets SET status = 'in-progress', first_response_at = NULL,"
          " first_response_due = now() - interval '5 minutes' WHERE display = %s", (bob,))
    check.eq(health(s, config=slow)[0], 0, "a breach 5 minutes old is not yet unhandled")
    s.sql("UPDATE tickets SET first_response_due = now() - interval '1 hour' WHERE display = %s", (bob,))
    rc, out, err = health(s, config=slow)
    check.ok(rc == 1 and "FAIL sla: 1 SLA breach older than 15 min" in out and f"{bob} first-response" in out,
             "a breach 1 h old without its notice fails, naming the ticket", out)
    check.eq(s.run_spocctl("sla", "check")[0], 0, "spocctl sla check queues the notice")
    check.eq(health(s, config=slow)[0], 1, "queued is not enough: it must be sent")
    check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "the notifier sends it")
    rc, out, err = health(s, config=slow)
    check.ok(rc == 0 and "OK   sla" in out, "healthy once the breach notice went out", out)

    down = s.write_config("down.conf", database__conninfo=f"host={s.pg_sock} port=1 dbname=spocd user=postgres")
    rc, out, err = health(s, config=down)
    check.ok(rc == 75 and "FAIL database" in out, "database unreachable: exit 75", out + err)
    rc, out, err = health(s, "--json", config=down)
    check.eq((rc, json.loads(out)["healthy"]), (75, False), "and as JSON")
    check.eq(s.run_spocctl("stats", config=down)[0], 75, "stats: 75 too")


def help_tests(check, s):
    for cmd in ("ticket", "stats", "health", "outbox", "sla"):
        rc, out, err = s.run_spocctl(cmd, "--help", config=False)
        check.ok(rc == 0 and f"  {cmd} " in out.decode() and b"Exit status" in out, f"spocctl {cmd} --help", out.decode())
    rc, out, err = s.run_spocctl("frobnicate", config=False)
    check.ok(rc == 2 and all(c in err for c in ("ticket", "quarantine", "agent", "outbox", "kb", "sla", "stats",
                                                  "health", "inspect")),
             "an unknown command lists every command", err)


def test(check):
    with st.Services(name="spocd-spocctl-tickets") as s:
        help_tests(check, s)
        make_tickets(check, s)
        ana, bob, carol = (display_of(s, x) for x in (ANA_SUBJECT, BOB_SUBJECT, CAROL_SUBJECT))
        list_tests(check, s, ana, bob, carol)
        carol = set_tests(check, s, ana, bob, carol)
        status_tests(check, s, ana, carol)
        conversation(check, s, ana)
        show_tests(check, s, ana, carol)
        stats_tests(check, s, ana, bob, carol)
        health_tests(check, s, bob)


if __name__ == "__main__":
    st.main(test)
