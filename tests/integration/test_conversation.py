#!/usr/bin/python3
"""A whole conversation by email through Dovecot, PostgreSQL and the SMTP listener: the user
writes and is acknowledged (and, while nobody has the ticket, the ticket's team hears of the
user's next mail); the agent (proven by the border MTA's Authentication-Results) replies
with "#status pending" and "#assign ana": the commands apply, are audited as hers and confirmed
to her, and her text, without the commands, reaches the user; the user answers and the ticket
moves back to in-progress while the answer is forwarded to the assignee; the agent answers that
notice (its signed Reply-To proves her, no header needed) with "#estado resuelto"; an impostor
using the agent's From (with Authentication-Results from a foreign authserv-id) runs nothing,
reaches nobody but is kept on the ticket, and the agent is told; after the reopen window the user's
"gracias" opens a new ticket linked to the resolved one. Then, on a desk that speaks Spanish and on
one that speaks English, the confirmation of every outcome of a command reads as it should: done,
an unknown value and a missing one with how to write them, a command replaced by a later one, an
#assign naming nobody and a refused status move, both with nothing on the ticket changed."""

import email.utils

import spocdtest as st

AUTH_OK = ("Authentication-Results", "mx.desk.test; dkim=pass header.d=desk.test; spf=pass")


def body(msg):
    return msg.get_body(preferencelist=("plain",)).get_content()


def sent_to(s, addr, kind_words=None):
    return [m for m in s.captured() if email.utils.parseaddr(str(m["To"]))[1] == addr]


# What the agent writes, in the desk's language, and the confirmation's lines for each mail.
CONFIRMATIONS = {
    "es": [
        ("#prioridad alta\r\n#tipo\r\n#estado pendiente\r\n#estado resuelto\r\n#prioridad 2\r\n",
         ["#prioridad alta: prioridad desconocida (use P1, P2, P3, P4 o P5)",
          "#tipo: falta el valor (use incidente o solicitud)",
          "#estado pendiente: ignorada, la reemplaza un #estado posterior",
          "#estado resuelto: hecho",
          "#prioridad 2: hecho"]),
        ("#prioridad 1\r\n#estado nuevo\r\n",
         ['#estado nuevo: el ticket no puede pasar de "resuelta" a "nueva"', "No se ha cambiado nada del ticket."]),
        ("#asignar nadie\r\n",
         ['#asignar nadie: no hay ningún agente activo "nadie"', "No se ha cambiado nada del ticket."]),
    ],
    "en": [
        ("#priority high\r\n#kind\r\n#status pending\r\n#status resolved\r\n#priority 2\r\n",
         ["#priority high: unknown priority (use P1, P2, P3, P4 or P5)",
          "#kind: missing value (use incident or request)",
          "#status pending: ignored, a later #status replaces it",
          "#status resolved: done",
          "#priority 2: done"]),
        ("#priority 1\r\n#status new\r\n",
         ['#status new: the ticket cannot go from "resolved" to "new"', "Nothing on the ticket was changed."]),
        ("#assign nobody\r\n",
         ['#assign nobody: no active agent "nobody"', "Nothing on the ticket was changed."]),
    ],
}


def confirmations(check, s, lang, conf):
    """An agent's three mails on a new ticket of a desk speaking lang: the first applies two
    commands beside three lines it cannot apply; the second is refused by the database (a resolved
    ticket cannot go back to new), the third names no agent: neither changes anything."""
    requester = f"pablo.{lang}@example.com"
    user = st.make_message(requester, f"Pantalla ({lang})", "La pantalla parpadea.\r\n")
    s.append(user)
    check.eq(s.run_spocd("--once", config=conf)[0], 0, f"{lang}: a user writes")
    tid, display = s.sql("SELECT id, display FROM tickets WHERE requester = %s", (requester,))[0]
    user_id = st.parse(user)["Message-ID"]
    (first, done), (refused, refused_lines), (nobody, nobody_lines) = CONFIRMATIONS[lang]

    def send(commands, what):
        before = len(s.captured())
        s.append(st.make_message("ana@desk.test", f"Re: [{display}] Pantalla", commands, from_name="Ana Pérez",
                                 in_reply_to=user_id, extra_headers=[AUTH_OK]))
        check.eq(s.run_spocd("--once", config=conf)[0], 0, f"{lang}: the agent writes {what}")
        got = [body(m) for m in s.captured()[before:] if email.utils.parseaddr(str(m["To"]))[1] == "ana@desk.test"]
        check.ok(len(got) == 1, f"{lang}: one confirmation of {what}", got)
        return got[0].replace("\r\n", "\n") if got else ""

    text = send(first, "commands, some of them wrong")
    check.ok("\n".join(done) in text, f"{lang}: each line says what became of it, in order", text)
    check.ok(("No se ha cambiado" if lang == "es" else "Nothing on the ticket") not in text,
             f"{lang}: and the ticket did change", text)
    check.eq(s.sql("SELECT status, priority, kind FROM tickets WHERE id = %s", (tid,)),
             [("resolved", 2, "incident")], f"{lang}: the valid commands applied, the others not")

    text = send(refused, "a status move the database refuses")
    # the status model's refusal, worded by the template in the desk's language
    said = f"{refused_lines[0]}\n{refused_lines[1]}\n"
    check.ok(said in text, f"{lang}: the refusal in the desk's words, then that nothing changed", text)
    check.ok("cannot go from" not in text or lang == "en", f"{lang}: no English from the database", text)
    check.ok(": hecho" not in text and ": done" not in text, f"{lang}: the undone priority is not said done", text)
    check.eq(s.sql("SELECT status, priority FROM tickets WHERE id = %s", (tid,)), [("resolved", 2)],
             f"{lang}: nothing changed, the priority before the refusal included")

    text = send(nobody, "an #assign naming nobody")
    check.ok("\n".join(nobody_lines) in text, f"{lang}: no such agent, and nothing changed", text)
    check.eq(s.sql_value("SELECT assignee_id FROM tickets WHERE id = %s", (tid,)), None, f"{lang}: still unassigned")
    check.eq(s.sql_value("SELECT body FROM outbox WHERE kind = 'command-result' AND ticket_id = %s"
                         " ORDER BY id DESC LIMIT 1", (tid,)),
             "no-agent\tassign\t#" + nobody.split("#", 1)[1].strip() + "\t" + nobody.split()[-1] + "\nrolled-back\n",
             f"{lang}: the outbox row keeps the record in codes, no sentence")


def test(check):
    with st.Services(name="spocd-conversation") as s:
        # either proof suffices here (the token alone on the notice she answers, the border's
        # pass alone on her first reply); the default, both at once, is test_agent_proof's
        # the requester's mails carry no border header here: the desk accepts unverified
        # senders (test_participants covers the default of a desk with a border)
        s.conf = s.write_config(agents={"trusted_authserv_id": "mx.desk.test", "proof": "token-or-domain"},
                                trust={"unverified": "accept"},
                                threading={"reopen_window": 2})
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
        rc, out, err = s.run_spocctl("agent", "add", "ana@desk.test", "--name", "Ana Pérez",
                                     "--team", "sistemas")
        check.eq(rc, 0, "agent added")

        user = st.make_message("marta.ruiz@example.com", "La VPN no conecta",
                               "Hola, desde esta mañana la VPN no conecta.\r\n")
        s.append(user)
        check.eq(s.run_spocd("--once")[0], 0, "user writes")
        ack = sent_to(s, "marta.ruiz@example.com")[0]
        display = s.sql_value("SELECT display FROM tickets WHERE id = 1")
        user_id = email.utils.parseaddr(st.parse(user)["Message-ID"])[1]

        # nobody has it yet: the ticket's team hears about the user's next mail
        check.eq(s.run_spocctl("agent", "add", "luis@desk.test", "--name", "Luis", "--team", "redes")[0], 0,
                 "a second agent, in team redes")
        s.sql("UPDATE tickets SET team = 'redes' WHERE id = 1")
        more = st.make_message("marta.ruiz@example.com", str(ack["Subject"]), "Además tampoco va el correo web.\r\n",
                               in_reply_to=ack["Message-ID"])
        s.append(more)
        check.eq(s.run_spocd("--once")[0], 0, "user adds something")
        team = sent_to(s, "luis@desk.test")
        check.ok(len(team) == 1 and "correo web" in body(team[0]), "the unassigned ticket's team was told",
                 [body(m) for m in team])
        check.eq(sent_to(s, "ana@desk.test"), [], "an agent of another team was not")

        agent = st.make_message("ana@desk.test", f"Re: [{display}] La VPN no conecta",
                                "#status pending\r\n#assign ana\r\n\r\n"
                                "Hola Marta, ¿puedes reiniciar el router y decirme si cambia algo?\r\n",
                                from_name="Ana Pérez", in_reply_to=f"<{user_id}>",
                                extra_headers=[AUTH_OK])
        s.append(agent)
        check.eq(s.run_spocd("--once")[0], 0, "agent replies")
        check.eq(s.sql("SELECT t.status, a.address FROM tickets t JOIN agents a ON a.id = t.assignee_id WHERE t.id = 1"),
                 [("pending", "ana@desk.test")], "#status pending and #assign ana applied")
        check.eq(s.sql("SELECT field, new_value, actor, via FROM ticket_events WHERE ticket_id = 1"
                       " AND field IN ('status', 'assignee') ORDER BY id"),
                 [("status", "pending", "ana@desk.test", "email"), ("assignee", "ana@desk.test", "ana@desk.test", "email")],
                 "audited as the agent's, by email")
        check.eq(s.sql_value("SELECT team FROM tickets WHERE id = 1"), "sistemas",
                 "the ticket went to the assignee's team")
        relay = sent_to(s, "marta.ruiz@example.com")
        check.eq(len(relay), 2, "the user got the agent's reply")
        check.ok("reiniciar el router" in body(relay[1]) and "#status" not in body(relay[1]),
                 "the relay carries the agent's text without the commands", body(relay[1]))
        check.ok(display in str(relay[1]["Subject"]), "with the ticket in the subject", str(relay[1]["Subject"]))
        check.ok("Estado de su ticket: a la espera de su respuesta" in body(relay[1]),
                 "and the new status, in the user's language", body(relay[1]))
        check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE kind = 'status' AND ticket_id = 1"), 0,
                 "no separate status update: the reply carries it")
        confirm = sent_to(s, "ana@desk.test")
        check.ok(len(confirm) == 1 and "#status pending: hecho" in body(confirm[0]),
                 "the agent got the confirmation, in the desk's language", [body(m) for m in confirm])
        check.ok(s.sql_value("SELECT first_response_at IS NOT NULL FROM tickets WHERE id = 1"),
                 "the first response time is recorded")

        answer = st.make_message("marta.ruiz@example.com", "Re: " + str(relay[1]["Subject"]),
                                 "Ya lo he reiniciado y sigue igual.\r\n",
                                 in_reply_to=relay[1]["Message-ID"], references=[relay[1]["Message-ID"]])
        s.append(answer)
        check.eq(s.run_spocd("--once")[0], 0, "user answers")
        check.eq(s.sql_value("SELECT status FROM tickets WHERE id = 1"), "in-progress",
                 "the user's answer takes the ticket out of pending")
        check.eq(len(sent_to(s, "luis@desk.test")), 1, "once assigned, only the assignee hears")
        notices = sent_to(s, "ana@desk.test")
        check.ok(len(notices) == 2 and "sigue igual" in body(notices[1]), "the answer was forwarded to the assignee",
                 [body(m) for m in notices])
        reply_to = email.utils.parseaddr(str(notices[1]["Reply-To"]))[1]
        check.ok(reply_to.startswith("help+") and reply_to.endswith("@desk.test"),
                 "the notice's Reply-To is a signed desk address", reply_to)

        resolve = st.make_message("ana@desk.test", "Re: " + str(notices[1]["Subject"]),
                                  "#estado resuelto\r\n\r\nHe cambiado tu perfil de VPN; ya debería funcionar.\r\n",
                                  to=reply_to, in_reply_to=notices[1]["Message-ID"])
        s.append(resolve)
        check.eq(s.run_spocd("--once")[0], 0, "agent resolves through the signed address")
        check.eq(s.sql_value("SELECT status FROM tickets WHERE id = 1"), "resolved",
                 "#estado resuelto applied without any Authentication-Results")
        told_user = body(sent_to(s, "marta.ruiz@example.com")[-1])
        check.ok("perfil de VPN" in told_user and "Estado de su ticket: resuelta" in told_user
                 and "lo reabriremos" in told_user, "and the user was told, with how to reopen it", told_user)

        forged = st.make_message("ana@desk.test", f"Re: [{display}] La VPN no conecta",
                                 "#status closed\r\n#priority P1\r\n\r\nCerrado.\r\n",
                                 in_reply_to=f"<{user_id}>",
                                 extra_headers=[("Authentication-Results", "evil.example; dkim=pass header.d=desk.test")])
        s.append(forged)
        to_user_before = len(sent_to(s, "marta.ruiz@example.com"))
        check.eq(s.run_spocd("--once")[0], 0, "an impostor writes as the agent")
        impostor_ticket = s.sql_value("SELECT ticket_id FROM messages WHERE body_text LIKE '%%Cerrado.%%'")
        check.ok(impostor_ticket not in (None, 1), "the unproven mail is not filed on the ticket it names",
                 impostor_ticket)
        check.eq(s.sql("SELECT linked_ticket_id, kind FROM ticket_links WHERE ticket_id = %s", (impostor_ticket,)),
                 [(1, "possibly-related")], "but on a new ticket linked to it")
        check.eq(len(sent_to(s, "marta.ruiz@example.com")), to_user_before, "and never reaches the user")
        check.eq(s.sql("SELECT status, priority FROM tickets WHERE id = 1")[0][0], "resolved",
                 "the impostor's commands did not run")
        told = [body(m) for m in sent_to(s, "ana@desk.test") if "could not be proven" in body(m)
                or "no se ha podido comprobar" in body(m).lower()]
        check.ok(len(told) == 1, "the agent was told why nothing ran", [body(m) for m in sent_to(s, "ana@desk.test")])

        # one clock for the daemon and the database: wait until the window is over as the daemon
        # counts it, from resolved_at in whole seconds (store_thread.c rounds it to the nearest)
        st.wait_for(lambda: s.sql_value("SELECT extract(epoch FROM now()) > extract(epoch FROM resolved_at)::bigint + 2"
                                        " FROM tickets WHERE id = 1"), 10, "the end of the 2 s reopen window",
                    step=0.1)
        thanks = st.make_message("marta.ruiz@example.com", "Re: " + str(relay[1]["Subject"]), "¡Gracias!\r\n",
                                 in_reply_to=relay[1]["Message-ID"])
        s.append(thanks)
        tickets_before = s.sql_value("SELECT count(*) FROM tickets")
        check.eq(s.run_spocd("--once")[0], 0, "the user says thanks after the window")
        check.eq(s.sql_value("SELECT status FROM tickets WHERE id = 1"), "resolved", "the ticket stays resolved")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), tickets_before, "a bare thank-you opens no follow-up")
        check.ok(s.sql_value("SELECT note_why IS NOT NULL FROM messages WHERE body_new = '¡Gracias!'"
                             " AND ticket_id = 1"), "it is kept on the resolved ticket as a note")
        later = st.make_message("marta.ruiz@example.com", "Re: " + str(relay[1]["Subject"]),
                                "Ha vuelto a pasar: la VPN no conecta desde esta mañana.\r\n",
                                in_reply_to=relay[1]["Message-ID"])
        s.append(later)
        check.eq(s.run_spocd("--once")[0], 0, "the user writes again after the window")
        check.eq(s.sql_value("SELECT status FROM tickets WHERE id = 1"), "resolved", "the ticket stays resolved")
        check.eq(s.sql("SELECT l.kind FROM ticket_links l JOIN tickets t ON t.id = l.ticket_id"
                       " WHERE l.linked_ticket_id = 1 AND t.requester = 'marta.ruiz@example.com'"),
                 [("follow-up",)], "a new ticket linked to the resolved one as a follow-up")

        confirmations(check, s, "es", s.conf)
        confirmations(check, s, "en", s.write_config(name="en.conf", agents={"trusted_authserv_id": "mx.desk.test", "proof": "token-or-domain"},
                                                     trust={"unverified": "accept"},
                                                     threading={"reopen_window": 2}, desk__default_language="en"))


if __name__ == "__main__":
    st.main(test)
