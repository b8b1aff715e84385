#!/usr/bin/python3
"""Requesters help themselves by mail, through Dovecot, PostgreSQL and the SMTP listener, on a
desk whose border authenticates mail (agents.trusted_authserv_id):
  - a verified requester's "#mis tickets" alone opens no ticket and is answered by one mail, in
    her language, listing her open tickets (number, subject, status, next due time), not the one
    that is closed and not another person's; "#my tickets" likewise in English;
  - her "#cerrar" on her ticket closes it: audited under her address with the mail that says why,
    confirmed to her in Spanish, the assignee told, no ticket opened; an agent's command beside it
    is not applied and she is told so;
  - a verified stranger's "#close" on her ticket changes nothing, opens nothing, and the answer
    to him says nothing of her ticket;
  - the same commands with a forged From (no border pass, a dmarc=fail, another server's
    Authentication-Results) run nothing, list nothing, send nothing and open no ticket;
  - an auto-reply carrying "#my tickets" is never answered;
  - a watcher's "#cerrar" on the ticket they watch changes nothing; and spocctl inspect calls a
    mail of commands alone a command."""

import email.utils
import json
import os
import re

import spocdtest as st

MARTA = "marta@example.com"
PABLO = "pablo@example.net"
ES_DAY = r"(lunes|martes|miércoles|jueves|viernes|sábado|domingo) \d{1,2} \w{3} \d{4}, \d{2}:\d{2}"
EN_DAY = r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} \w{3} \d{4}, \d{2}:\d{2}"


def passed(domain):
    return ("Authentication-Results",
            f"mx.desk.test; dkim=pass header.d={domain}; dmarc=pass header.from={domain}")


def body(msg):
    return msg.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def to(m):
    return email.utils.parseaddr(str(m["To"]))[1]


def test(check):
    with st.Services(name="spocd-requester-commands") as s:
        s.conf = s.write_config(agents={"trusted_authserv_id": "mx.desk.test"},
                                desk={**s.config_tree()["desk"], "cc_watchers": True,
                                      "watcher_domains": ["example.com"]})
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
        check.eq(s.run_spocctl("agent", "add", "ana@desk.test", "--name", "Ana")[0], 0, "agent added")

        def run(what):
            check.eq(s.run_spocd("--once")[0], 0, what)

        def new_mail(what):
            """The mails sent since the last call, as (recipient, kind of outbox row, message)."""
            before = new_mail.seen
            got = s.captured()
            new_mail.seen = len(got)
            kinds = dict(s.sql("SELECT message_id, kind FROM outbox WHERE state = 'sent'"))
            return [(to(m), kinds.get(email.utils.parseaddr(str(m["Message-ID"]))[1]), m)
                    for m in got[before:]]
        new_mail.seen = 0

        def tickets():
            return s.sql_value("SELECT count(*) FROM tickets")

        # her tickets: two open, one closed; and someone else's
        for who, subject, text in ((MARTA, "La VPN no conecta", "Desde esta mañana la VPN no conecta.\r\n"),
                                   (MARTA, "Alta de usuario para Luis", "Necesitamos dar de alta a Luis.\r\n"),
                                   (MARTA, "Pantalla parpadea", "La pantalla parpadea.\r\n"),
                                   (PABLO, "Printer jammed on floor 2", "The printer is jammed again.\r\n")):
            cc = [("Cc", "Jefe <boss@example.com>")] if subject.startswith("Alta") else []
            s.append(st.make_message(who, subject, text, language="es" if who == MARTA else "en",
                                     extra_headers=[passed(who.split("@")[1])] + cc))
        run("four tickets are opened")
        ids = dict(s.sql("SELECT subject, display FROM tickets"))
        vpn, alta, pantalla, printer = (ids["La VPN no conecta"], ids["Alta de usuario para Luis"],
                                        ids["Pantalla parpadea"], ids["Printer jammed on floor 2"])
        s.sql("UPDATE tickets SET status = 'closed' WHERE display = %s", (pantalla,))
        s.sql("UPDATE tickets SET assignee_id = (SELECT id FROM agents WHERE address = 'ana@desk.test'),"
              " status = 'in-progress' WHERE display = %s", (vpn,))
        run("acknowledgements and notices go out")
        new_mail("setup")
        count = tickets()

        # -- her list, in Spanish ----------------------------------------------------------------
        s.append(st.make_message(MARTA, "Mis tickets", "#mis tickets\r\n\r\nGracias,\r\nMarta\r\n",
                                 message_id="<asks-list@example.com>", extra_headers=[passed("example.com")]))
        run("she asks for her tickets")
        check.eq(tickets(), count, "a mail that is only #mis tickets opens no ticket")
        check.eq(s.sql("SELECT outcome, ticket_id FROM ingest_log ORDER BY id DESC LIMIT 1"), [("command", None)],
                 "it is logged as a command, on no ticket")
        check.eq(s.sql_value("SELECT count(*) FROM messages WHERE direction = 'in' AND ticket_id IS NULL"
                             " AND body_text LIKE '#mis tickets%%'"), 1, "and kept, on no ticket")
        # the words of a mail of commands alone say its language: "#mis tickets" is Spanish
        sent = new_mail("list")
        check.eq([(r, k) for r, k, _ in sent], [(MARTA, "my-tickets")], "one mail answers it, to her")
        text = body(sent[0][2]) if sent else ""
        check.ok(f"[{vpn}] La VPN no conecta" in text and f"[{alta}] Alta de usuario para Luis" in text,
                 "both open tickets are listed, number and subject", text)
        check.ok(pantalla not in text and "Pantalla" not in text, "not the closed one", text)
        check.ok(printer not in text and "Printer" not in text, "not another person's", text)
        check.ok("Estos son sus tickets abiertos" in text and "en curso" in text and "nueva" in text,
                 "in Spanish (her words'), with each status", text)
        check.ok(re.search(r"\[" + alta + r"\] Alta de usuario para Luis\n  nueva\n"
                           r"  primera respuesta prevista: " + ES_DAY + " [A-Z]{3,5}\n", text) is not None,
                 "a new ticket's next due time is its first response, in the desk's zone", text)
        check.ok(not re.search(r"\[[A-Z]{3}-\d{6}\]", str(sent[0][2]["Subject"])) if sent else False,
                 "its subject names no ticket", sent[0][2]["Subject"] if sent else None)
        check.eq(str(sent[0][2]["Auto-Submitted"]) if sent else None, "auto-generated", "it is automatic mail")
        check.eq((str(sent[0][2]["In-Reply-To"]), str(sent[0][2]["References"])) if sent else None,
                 ("<asks-list@example.com>", "<asks-list@example.com>"),
                 "it answers the mail that asked (her mail client threads it), and nothing else")

        rc, out, err = s.run_spocctl("--json", "outbox", "list")
        rows = json.loads(out or b"null") if rc == 0 else None
        check.ok(rows is not None and any(r.get("kind") == "my-tickets" and r.get("recipient") == MARTA
                                          for r in rows), "spocctl outbox list shows the list, on no ticket", rows)
        # spocctl inspect says so too, without a database
        path = os.path.join(s.dir, "mis-tickets.eml")
        with open(path, "wb") as f:
            f.write(st.make_message(MARTA, "Mis tickets", "#mis tickets\r\n"))
        rc, out, err = s.run_spocctl("inspect", path)
        check.eq((rc, json.loads(out or b"null")["outcome"] if rc == 0 else err), (0, "command"),
                 "spocctl inspect: a command, no ticket")

        # -- his list, in English, within a reply: only his own ---------------------------------
        s.append(st.make_message(PABLO, f"Re: [{printer}] Printer jammed on floor 2", "#my tickets\r\n",
                                 extra_headers=[passed("example.net")]))
        run("he asks for his tickets in a reply")
        sent = new_mail("his list")
        check.eq([(r, k) for r, k, _ in sent], [(PABLO, "my-tickets")], "one list, to him, nobody else told")
        text = body(sent[0][2]) if sent else ""
        check.ok(f"[{printer}] Printer jammed on floor 2" in text and "These are your open tickets" in text
                 and re.search(r"first answer due " + EN_DAY, text) is not None, "his ticket, in English", text)
        check.ok(vpn not in text and alta not in text, "none of hers", text)
        check.eq(tickets(), count, "no ticket opened")

        # -- forged: nothing run, nothing listed, nothing sent, nothing opened -------------------
        forgeries = (("no border pass", []),
                     ("dmarc=fail", [("Authentication-Results",
                                      "mx.desk.test; dmarc=fail (p=none) header.from=example.com")]),
                     ("another server's pass", [("Authentication-Results",
                                                 "mx.evil.test; dkim=pass header.d=example.com;"
                                                 " dmarc=pass header.from=example.com")]))
        for label, headers in forgeries:
            s.append(st.make_message(MARTA, "Mis tickets", "#mis tickets\r\n", language="es",
                                     extra_headers=headers))
            s.append(st.make_message(MARTA, f"Re: [{alta}] Alta de usuario para Luis", "#cerrar\r\n",
                                     language="es", extra_headers=headers))
            run(f"forged, {label}")
            check.eq(new_mail(label), [], f"{label}: nothing is sent, no list to anyone")
            check.eq(s.sql_value("SELECT status FROM tickets WHERE display = %s", (alta,)), "new",
                     f"{label}: her ticket is not closed")
            check.eq(tickets(), count, f"{label}: no ticket opened")
        check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE kind IN ('my-tickets', 'requester-result')"
                             " AND lower(recipient) = %s", (MARTA,)), 1,
                 "nothing was even queued for the forgeries")

        # -- an auto-reply is never answered -----------------------------------------------------
        s.append(st.make_message(MARTA, "Fuera de la oficina", "#mis tickets\r\n", language="es",
                                 extra_headers=[passed("example.com"), ("Auto-Submitted", "auto-replied")]))
        run("an auto-reply carrying #mis tickets")
        check.eq(new_mail("auto-reply"), [], "no answer to automatic mail")

        # -- a stranger, verified, on her ticket: refused, nothing of hers in the answer ----------
        s.append(st.make_message(PABLO, f"Re: [{alta}] Alta de usuario para Luis", "#close\r\n",
                                 extra_headers=[passed("example.net")]))
        run("a verified stranger closes her ticket")
        check.eq(s.sql_value("SELECT status FROM tickets WHERE display = %s", (alta,)), "new", "not closed")
        check.eq(tickets(), count, "no ticket opened for him either")
        check.eq(s.sql_value("SELECT count(*) FROM messages WHERE direction = 'in' AND from_addr = %s"
                             " AND ticket_id = (SELECT id FROM tickets WHERE display = %s)", (PABLO, alta)), 0,
                 "his mail is not on her ticket")
        sent = new_mail("stranger")
        check.eq([(r, k) for r, k, _ in sent], [(PABLO, "requester-result")], "he is answered, only he")
        text = body(sent[0][2]) if sent else ""
        check.ok("#close: not applied: this mail reached no ticket of which you are the requester" in text,
                 "told plainly it was not applied", text)
        check.ok("Alta de usuario" not in text and "Luis" not in text and "example.com" not in text,
                 "nothing of her ticket in the body", text)
        check.eq(s.sql_value("SELECT ticket_id FROM outbox WHERE kind = 'requester-result'"
                             " ORDER BY id DESC LIMIT 1"), None, "the answer belongs to no ticket")

        # -- a watcher of her ticket, verified: the mail is on the ticket, the close is not his ----
        check.eq(s.sql_value("SELECT role FROM participants WHERE address = 'boss@example.com'"), "watcher",
                 "her boss watches her ticket")
        s.append(st.make_message("boss@example.com", f"Re: [{alta}] Alta de usuario para Luis", "#cerrar\r\n",
                                 language="es", extra_headers=[passed("example.com")]))
        run("a watcher closes her ticket")
        check.eq(s.sql_value("SELECT status FROM tickets WHERE display = %s", (alta,)), "new",
                 "only the requester closes a ticket")
        check.eq(s.sql_value("SELECT count(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id"
                             " WHERE t.display = %s AND e.field = 'status'", (alta,)), 0, "no status event")
        sent = new_mail("watcher")
        mine = [m for r, k, m in sent if r == "boss@example.com" and k == "requester-result"]
        check.ok(len(mine) == 1 and "#cerrar: no aplicada: este correo no llegó a ningún ticket del que usted"
                 in body(mine[0]), "he is told it was not applied", [body(m) for m in mine])

        # -- she closes her own: audited as hers, confirmed in Spanish, the assignee told --------
        s.append(st.make_message(MARTA, f"Re: [{vpn}] La VPN no conecta",
                                 "#cerrar ya funciona, era el certificado\r\n\r\nMarta\r\n", language="es",
                                 extra_headers=[passed("example.com")]))
        run("she closes her ticket")
        check.eq(s.sql_value("SELECT status FROM tickets WHERE display = %s", (vpn,)), "closed", "closed")
        check.eq(tickets(), count, "no ticket opened")
        event = s.sql("SELECT e.actor, e.via, e.old_value, m.body_text FROM ticket_events e"
                      " JOIN messages m ON m.id = e.message_row JOIN tickets t ON t.id = e.ticket_id"
                      " WHERE t.display = %s AND e.field = 'status' AND e.new_value = 'closed'", (vpn,))
        check.eq([r[:3] for r in event], [(MARTA, "email", "in-progress")], "audited under her address, by email")
        check.ok(event and "ya funciona, era el certificado" in event[0][3], "the mail with her reason is kept with it",
                 event)
        sent = new_mail("close")
        kinds = sorted((r, k) for r, k, _ in sent)
        check.eq(kinds, [("ana@desk.test", "follow-up"), (MARTA, "requester-result")],
                 "she is confirmed, the assignee told; no status notice to her")
        mine = [m for r, k, m in sent if r == MARTA]
        text = body(mine[0]) if mine else ""
        check.ok(f"Sus órdenes sobre {vpn} (La VPN no conecta):" in text
                 and "#cerrar ya funciona, era el certificado: hecho" in text, "confirmed in Spanish", text)
        ana = [m for r, k, m in sent if r == "ana@desk.test"]
        check.ok(ana and "#cerrar ya funciona" in body(ana[0]), "the assignee reads what she wrote",
                 [body(m) for m in ana])

        # -- an agent's command beside hers is not applied --------------------------------------
        s.append(st.make_message(MARTA, f"Re: [{alta}] Alta de usuario para Luis", "#prioridad 1\r\n#cerrar\r\n",
                                 language="es", extra_headers=[passed("example.com")]))
        run("she closes another, with an agent's command")
        check.eq(s.sql("SELECT status, priority FROM tickets WHERE display = %s", (alta,)), [("closed", 3)],
                 "closed, the priority untouched")
        sent = new_mail("agents only")
        mine = [m for r, k, m in sent if r == MARTA and k == "requester-result"]
        text = body(mine[0]) if mine else ""
        check.ok("#prioridad 1: no aplicada: solo los agentes del servicio pueden dar esta orden\n#cerrar: hecho"
                 in text, "told the agent's command was not applied", text)

        # -- nothing left open -------------------------------------------------------------------
        s.append(st.make_message(MARTA, "Mis tickets", "#mis tickets\r\n", language="es",
                                 extra_headers=[passed("example.com")]))
        run("she asks again")
        sent = new_mail("empty list")
        check.eq([(r, k) for r, k, _ in sent], [(MARTA, "my-tickets")], "answered")
        text = body(sent[0][2]) if sent else ""
        check.ok("No tiene ningún ticket abierto" in text and not re.search(r"\[[A-Z]{3}-\d{6}\]", text),
                 "says she has none", text)
        check.eq(tickets(), count, "still no ticket opened by any command")


if __name__ == "__main__":
    st.main(test)
