#!/usr/bin/python3
"""A requester's thank-you once the work is done, through Dovecot, PostgreSQL and the SMTP listener,
in Spanish and in English. A ticket resolved by its agent (by email) or by SQL gets "¡Muchas
gracias! 👍" (under the quoted history and a signature) within the reopen window: the ticket stays
resolved with its resolved_at, nothing is sent to the agent nor anyone, and the message is on the
ticket as a note, shown as one by spocctl ticket show. A stranger's thank-you naming the ticket
never lands on it. "Gracias, pero sigue sin funcionar" reopens it and the assignee hears of it.
Once closed, "Thanks, that fixed it!" opens no follow-up ticket and is acknowledged to nobody,
while "Thanks, but it broke again this morning" opens a follow-up linked to it, acknowledged."""

import email.utils
import json

import spocdtest as st

AUTH_OK = ("Authentication-Results", "mx.desk.test; dkim=pass header.d=desk.test; spf=pass")

# What each requester writes, in their language.
TEXTS = {
    "es": {
        "problem": "Hola, la impresora de la planta 2 no imprime desde esta mañana.\r\n",
        "thanks": "¡Muchas gracias! 👍\r\n\r\n-- \r\nMarta Ruiz\r\nContabilidad\r\n",
        "still": "Gracias, pero sigue sin funcionar.\r\n",
        "thanks_closed": "¡Gracias, eso lo ha arreglado!\r\n\r\nUn saludo,\r\nMarta\r\n",
        "again": "Gracias, pero esta mañana ha vuelto a fallar.\r\n",
    },
    "en": {
        "problem": "Hi, the printer on floor 3 is not printing since this morning.\r\n",
        "thanks": "Thanks a lot! 👍\r\n\r\n-- \r\nJohn Smith\r\nFinance\r\n",
        "still": "Thanks, but it's still not printing.\r\n",
        "thanks_closed": "Thanks, that fixed it!\r\n\r\nBest regards,\r\nJohn\r\n",
        "again": "Thanks, but it broke again this morning.\r\n",
    },
}


def addr_of(msg):
    return email.utils.parseaddr(str(msg["To"]))[1]


def quoted(text, who):
    """A reply's quoted history, as a mail client writes it under the new text."""
    lines = "".join(f"> {line}\r\n" for line in text.replace("\r\n", "\n").splitlines())
    return f"\r\nEl lun, 3 mar 2025 a las 10:12, {who} escribió:\r\n{lines}"


def state(s, tid):
    """What must not move when a thank-you arrives: the ticket's status and dates, how many
    tickets, outbox rows and status events there are."""
    return {
        "ticket": s.sql("SELECT status, resolved_at, closed_at FROM tickets WHERE id = %s", (tid,))[0],
        "tickets": s.sql_value("SELECT count(*) FROM tickets"),
        "outbox": s.sql_value("SELECT count(*) FROM outbox"),
        "events": s.sql_value("SELECT count(*) FROM ticket_events WHERE ticket_id = %s AND field = 'status'",
                              (tid,)),
    }


def send(check, s, raw, what):
    s.append(raw)
    check.eq(s.run_spocd("--once")[0], 0, what)


def expect_note(check, s, lang, tid, before, sent_before, text, detail):
    """The last mail was kept on ticket tid as a note and changed nothing else."""
    check.eq(state(s, tid), before, f"{lang}: the ticket's status, resolved_at and closed_at, the tickets,"
             " the outbox and the status history did not move")
    check.eq(len(s.captured()), sent_before, f"{lang}: nothing was sent to the agent or anyone")
    row = s.sql("SELECT m.ticket_id, m.note_why, m.internal, l.outcome, l.detail FROM messages m"
                " JOIN ingest_log l ON l.message_row = m.id WHERE m.direction = 'in'"
                " ORDER BY m.id DESC LIMIT 1")[0]
    check.eq((row[0], row[2], row[3]), (tid, False, "reply"), f"{lang}: the message is on the ticket")
    check.ok(row[1] is not None and row[1].startswith("only thanks or acknowledgement: ")
             and text in row[1], f"{lang}: as a note saying what matched", row[1])
    check.ok(row[4].startswith(detail), f"{lang}: the log says it was only thanks", row[4])


def conversation(check, s, lang, requester, name):
    t = TEXTS[lang]
    language = "es-ES" if lang == "es" else "en-GB"

    def mail(body, reply_to, subject=None):
        return st.make_message(requester, subject or "Re: " + str(reply_to["Subject"]), body, from_name=name,
                               in_reply_to=reply_to["Message-ID"], references=[reply_to["Message-ID"]],
                               language=language)

    first = st.make_message(requester, "Impresora" if lang == "es" else "Printer", t["problem"],
                            from_name=name, language=language)
    send(check, s, first, f"{lang}: the requester writes")
    tid, display = s.sql("SELECT id, display FROM tickets WHERE requester = %s", (requester,))[0]
    ack = [m for m in s.captured() if addr_of(m) == requester][-1]

    if lang == "es":
        # resolved by the agent, by email, who takes the ticket on the way
        send(check, s, st.make_message("ana@desk.test", f"Re: [{display}] Impresora",
                                       "#asignar ana\r\n#estado resuelto\r\n\r\nHe cambiado el tóner; ya debería"
                                       " imprimir.\r\n", from_name="Ana Pérez",
                                       in_reply_to=st.parse(first)["Message-ID"], extra_headers=[AUTH_OK]),
             f"{lang}: the agent resolves it")
    else:
        # resolved by SQL: the status trigger tells the requester
        s.sql("UPDATE tickets SET assignee_id = (SELECT id FROM agents WHERE address = 'ana@desk.test'),"
              " status = 'resolved' WHERE id = %s", (tid,))
        check.eq(s.run_spocd("--once")[0], 0, f"{lang}: the status update goes out")
    check.eq(s.sql_value("SELECT status FROM tickets WHERE id = %s", (tid,)), "resolved", f"{lang}: resolved")
    told = [m for m in s.captured() if addr_of(m) == requester][-1]
    check.ok(told["Message-ID"] != ack["Message-ID"], f"{lang}: the requester was told it is resolved")

    # within the reopen window, only thanks, under the quoted history and a signature
    before, sent_before = state(s, tid), len(s.captured())
    send(check, s, mail(t["thanks"] + quoted(st.body_text(told), "Service Desk"), told),
         f"{lang}: the requester says thanks")
    expect_note(check, s, lang, tid, before, sent_before, "👍", "only thanks for a resolved ticket")
    rc, out, err = s.run_spocctl("ticket", "show", display)
    text = out.decode()
    check.ok(rc == 0 and "[thanks, kept as a note]" in text and "Note:" in text and "👍" in text,
             f"{lang}: spocctl ticket show marks it as a note, with why", text)
    rc, out, err = s.run_spocctl("ticket", "show", display, "--json")
    notes = [m["note"] for m in json.loads(out)["messages"] if m["note"] is not None] if rc == 0 else []
    check.ok(len(notes) == 1 and "👍" in notes[0], f"{lang}: --json: the note, on that message only", notes)

    if lang == "es":
        # a stranger's thank-you naming the ticket gets onto it by no means
        count = s.sql_value("SELECT count(*) FROM messages WHERE ticket_id = %s", (tid,))
        send(check, s, st.make_message("eve@attacker.example", "Re: " + str(told["Subject"]), "¡Gracias!\r\n",
                                       in_reply_to=told["Message-ID"]), f"{lang}: a stranger says thanks")
        check.eq(s.sql_value("SELECT count(*) FROM messages WHERE ticket_id = %s", (tid,)), count,
                 f"{lang}: nothing of the stranger's is on the ticket")
        check.eq(s.sql_value("SELECT note_why FROM messages WHERE from_addr = 'eve@attacker.example'"), None,
                 f"{lang}: nor is it anyone's note")
        check.eq(s.sql_value("SELECT status FROM tickets WHERE id = %s", (tid,)), "resolved",
                 f"{lang}: the ticket stays resolved")

    # more than thanks: it reopens, and the assignee hears of it
    to_ana = len([m for m in s.captured() if addr_of(m) == "ana@desk.test"])
    send(check, s, mail(t["still"], told), f"{lang}: the requester says it still fails")
    check.eq(s.sql("SELECT status, resolved_at FROM tickets WHERE id = %s", (tid,))[0], ("in-progress", None),
             f"{lang}: the ticket is reopened")
    news = [m for m in s.captured() if addr_of(m) == "ana@desk.test"][to_ana:]
    check.ok(len(news) == 1 and t["still"].strip() in st.body_text(news[0]), f"{lang}: the assignee was told",
             [st.body_text(m) for m in news])
    check.eq(s.sql_value("SELECT note_why FROM messages WHERE direction = 'in' ORDER BY id DESC LIMIT 1"), None,
             f"{lang}: it is no note")

    # closed: a thank-you stays on it, a new problem is a follow-up
    s.sql("UPDATE tickets SET status = 'closed' WHERE id = %s", (tid,))
    check.eq(s.run_spocd("--once")[0], 0, f"{lang}: the closing goes out")
    before, sent_before = state(s, tid), len(s.captured())
    send(check, s, mail(t["thanks_closed"], told), f"{lang}: the requester says thanks after the closing")
    expect_note(check, s, lang, tid, before, sent_before, "Gracias" if lang == "es" else "Thanks",
                "only thanks for a closed ticket")
    check.eq(s.sql_value("SELECT count(*) FROM ticket_links WHERE linked_ticket_id = %s AND kind = 'follow-up'",
                         (tid,)), 0, f"{lang}: no follow-up ticket")

    sent_before = len(s.captured())
    send(check, s, mail(t["again"], told), f"{lang}: the requester says it broke again")
    follow = s.sql("SELECT t.id, t.requester, l.kind FROM tickets t JOIN ticket_links l ON l.ticket_id = t.id"
                   " WHERE l.linked_ticket_id = %s AND t.requester = %s", (tid, requester))
    check.eq([(f[1], f[2]) for f in follow], [(requester, "follow-up")],
             f"{lang}: a follow-up ticket linked to the closed one")
    check.eq(s.sql_value("SELECT status FROM tickets WHERE id = %s", (tid,)), "closed",
             f"{lang}: the closed ticket stays closed")
    acks = [m for m in s.captured()[sent_before:] if addr_of(m) == requester]
    check.eq(len(acks), 1, f"{lang}: the follow-up is acknowledged")


def test(check):
    with st.Services(name="spocd-thanks") as s:
        s.conf = s.write_config(agents={"trusted_authserv_id": "mx.desk.test", "proof": "token-or-domain"},
                                trust={"unverified": "accept"})
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
        check.eq(s.run_spocctl("agent", "add", "ana@desk.test", "--name", "Ana Pérez")[0], 0, "agent added")
        conversation(check, s, "es", "marta.ruiz@example.com", "Marta Ruiz")
        conversation(check, s, "en", "john.smith@example.com", "John Smith")


if __name__ == "__main__":
    st.main(test)
