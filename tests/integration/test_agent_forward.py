#!/usr/bin/python3
"""A message an agent forwards in their reply (a vendor's answer, a colleague's thread) is someone
else's words: it is kept on the ticket, and reaches the requester only when the agent asks with
#forward (#reenviar). Through the real daemon, with a proven agent (token in To and the border's
pass):
  - a reply with the agent's own line and a Gmail-style forwarded block: the requester gets the
    agent's line and nothing of the forward; the agent is told the forward was withheld and how
    to send it; the whole mail is on the ticket;
  - a forward whose block holds command lines ("#status closed") changes nothing: commands are
    read from the agent's own text only;
  - the same reply with #forward at the top: the requester gets both, and the agent's
    confirmation says done."""

import email.utils

import spocdtest as st

PASS = b"Authentication-Results: mx.desk.test; dkim=pass header.d=desk.test; dmarc=pass header.from=desk.test"
USER = b"Authentication-Results: mx.desk.test; dkim=pass header.d=example.com; dmarc=pass header.from=example.com"

FORWARD = ("---------- Forwarded message ---------\r\n"
           "From: Soporte Proveedor <soporte@vendor.example>\r\n"
           "Date: Mon, 7 Dec 2026 at 09:12\r\n"
           "Subject: Caso 4471\r\n"
           "To: <ana@desk.test>\r\n\r\n"
           "#status closed\r\n"
           "Internal pricing for your account: 1.200 EUR/month. Do not share.\r\n")


def body(msg):
    return msg.get_body(preferencelist=("plain",)).get_content()


def sent_to(s, addr):
    return [m for m in s.captured() if email.utils.parseaddr(str(m["To"]))[1] == addr]


def test(check):
    with st.Services(name="spocd-agent-forward") as s:
        s.conf = s.write_config(agents={"trusted_authserv_id": "mx.desk.test"})
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
        check.eq(s.run_spocctl("agent", "add", "ana@desk.test", "--name", "Ana")[0], 0, "agent added")
        s.append(USER + b"\r\n" + st.make_message("marta@example.com", "La impresora no imprime",
                                                   "No imprime nada.\r\n"))
        check.eq(s.run_spocd("--once")[0], 0, "the user writes")
        ack = sent_to(s, "marta@example.com")[0]
        s.sql("UPDATE tickets SET assignee_id = (SELECT id FROM agents WHERE address = 'ana@desk.test')")
        s.append(USER + b"\r\n" + st.make_message("marta@example.com", str(ack["Subject"]),
                                                   "¿Alguna novedad?\r\n", in_reply_to=ack["Message-ID"]))
        check.eq(s.run_spocd("--once")[0], 0, "the user asks; the assignee hears of it")
        notice = sent_to(s, "ana@desk.test")[-1]
        token_addr = email.utils.parseaddr(str(notice["Reply-To"]))[1]
        subject = "Re: " + str(notice["Subject"])

        def agent_reply(text, mid):
            raw = st.make_message("ana@desk.test", subject, text, to=token_addr, message_id=mid,
                                  in_reply_to=notice["Message-ID"])
            s.append(PASS + b"\r\n" + raw)
            check.eq(s.run_spocd("--once")[0], 0, f"{mid}: spocd runs")

        to_user = len(sent_to(s, "marta@example.com"))
        told = len(sent_to(s, "ana@desk.test"))
        status = s.sql_value("SELECT status FROM tickets WHERE id = 1")
        check.ok(status != "closed", "the ticket is open", status)
        agent_reply("El proveedor ya tiene el caso, le aviso en cuanto responda.\r\n\r\n" + FORWARD,
                    "<fwd-1@desk.test>")
        relays = sent_to(s, "marta@example.com")[to_user:]
        check.eq(len(relays), 1, "without #forward: the requester gets one reply")
        text = body(relays[0]) if relays else ""
        check.ok("El proveedor ya tiene el caso" in text, "with the agent's own words", text)
        check.ok("pricing" not in text and "vendor.example" not in text and "Forwarded" not in text,
                 "and nothing of the forwarded message", text)
        check.eq(s.sql_value("SELECT status FROM tickets WHERE id = 1"), "in-progress",
                 "a command line inside the forward changes nothing (the agent's first public answer"
                 " takes the ticket to in-progress, not to closed)")
        check.eq(s.sql_value("SELECT count(*) FROM messages WHERE ticket_id = 1 AND message_id = 'fwd-1@desk.test'"
                             " AND body_text LIKE '%%pricing%%'"), 1, "the whole mail is kept on the ticket")
        notes = [body(m) for m in sent_to(s, "ana@desk.test")[told:]]
        check.ok(len(notes) == 1 and "no se ha enviado al solicitante" in notes[0]
                 and "---------- Forwarded message ---------" in notes[0] and "#reenviar" in notes[0],
                 "the agent is told the forward was withheld, and how to send it", notes)

        to_user = len(sent_to(s, "marta@example.com"))
        told = len(sent_to(s, "ana@desk.test"))
        agent_reply("#reenviar\r\n\r\nLe paso la respuesta del proveedor.\r\n\r\n" + FORWARD, "<fwd-2@desk.test>")
        relays = sent_to(s, "marta@example.com")[to_user:]
        text = body(relays[0]) if relays else ""
        check.ok(len(relays) == 1 and "Le paso la respuesta del proveedor" in text
                 and "Caso 4471" in text and "#reenviar" not in text,
                 "with #reenviar the requester gets the agent's words and the forwarded message", text)
        notes = [body(m) for m in sent_to(s, "ana@desk.test")[told:]]
        check.ok(len(notes) == 1 and "#reenviar: hecho" in notes[0] and "no se ha enviado" not in notes[0],
                 "the agent's confirmation says done", notes)


if __name__ == "__main__":
    st.main(test)
