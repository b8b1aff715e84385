#!/usr/bin/python3
"""A Message-ID alone never makes two mails one. Through the real daemon:
  - a stranger sends a mail with the Message-ID a requester's client will use, before the
    requester does: the requester's mail is still imported as its own ticket and acknowledged,
    and the clash is recorded on it (messages.message_id_clash_of);
  - a reply that names only that clashing Message-ID does not thread into the stranger's ticket;
  - the same mail delivered twice by different routes (other Received, Delivered-To and
    Return-Path) is one message, with or without a Message-ID;
  - the same Message-ID, sender, date and body under a subject a list tagged is one message;
  - a different body under the same Message-ID, sender and date is another message."""

import email.utils

import spocdtest as st

MID = "<CAJ8x-predicted-1234@mail.example.com>"
DATE = "Mon, 07 Dec 2026 09:00:00 +0100"


def mail(sender, subject, body, *, mid=MID, extra=b"", in_reply_to=None):
    headers = (f"From: {sender}\r\nTo: help@desk.test\r\nSubject: {subject}\r\nDate: {DATE}\r\n"
               + (f"Message-ID: {mid}\r\n" if mid else "")
               + (f"In-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n" if in_reply_to else "")
               + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
    return extra + headers.encode() + body.encode()


def route(n):
    return (f"Return-Path: <bounce-{n}@example.com>\r\nDelivered-To: help+{n}@desk.test\r\n"
            f"Received: from mx{n}.example.com by mx.desk.test; {DATE}\r\n").encode()


def test(check):
    with st.Services(name="spocd-msgid-reuse") as s:
        s.conf = s.write_config()
        s.append(mail("Eve <eve@attacker.example>", "hola", "Primero.\r\n"))
        check.eq(s.run_spocd("--once")[0], 0, "the stranger's mail")
        s.append(mail("Marta <marta@example.com>", "La VPN no conecta", "No conecta desde las 8.\r\n"))
        check.eq(s.run_spocd("--once")[0], 0, "the requester's mail with the same Message-ID")
        rows = s.sql("SELECT m.id, t.requester, m.message_id_clash_of FROM messages m"
                     " JOIN tickets t ON t.id = m.ticket_id WHERE m.direction = 'in' ORDER BY m.id")
        check.eq([(r[1], r[2]) for r in rows],
                 [("eve@attacker.example", None), ("marta@example.com", rows[0][0] if rows else None)],
                 "both are tickets; the second records the clash with the first")
        acked = sorted(email.utils.parseaddr(str(m["To"]))[1] for m in s.captured())
        check.eq(acked, ["eve@attacker.example", "marta@example.com"], "the requester is acknowledged")
        check.eq(s.sql_value("SELECT count(*) FROM ingest_log WHERE outcome = 'duplicate'"), 0,
                 "nothing was taken for a duplicate")

        # A reply naming only the clashing Message-ID reaches neither ticket by it.
        s.append(mail("Eve <eve@attacker.example>", "Re: La VPN no conecta", "¿Y ahora?\r\n",
                      mid="<eve-2@attacker.example>", in_reply_to=MID))
        check.eq(s.run_spocd("--once")[0], 0, "a reply to the clashing Message-ID")
        check.eq(s.sql("SELECT t.requester FROM messages m JOIN tickets t ON t.id = m.ticket_id"
                       " WHERE m.message_id = 'eve-2@attacker.example'"),
                 [("eve@attacker.example",)], "it is not threaded into the requester's ticket")
        check.eq(s.sql_value("SELECT count(*) FROM messages m JOIN tickets t ON t.id = m.ticket_id"
                             " WHERE t.requester = 'marta@example.com' AND m.direction = 'in'"), 1,
                 "the requester's ticket holds only her mail")

        tickets = s.sql_value("SELECT count(*) FROM tickets")
        sent = len(s.captured())
        one = mail("Luis <luis@example.com>", "Impresora", "No imprime.\r\n", mid="<luis-1@example.com>")
        s.append(route(1) + one)
        s.append(route(2) + one)
        bare = mail("Alerta <monitor@example.com>", "Disco lleno", "El disco C: está lleno.\r\n", mid=None)
        s.append(route(1) + bare)
        s.append(route(2) + bare)
        tagged = mail("Luis <luis@example.com>", "[lista] Impresora", "No imprime.\r\n",
                      mid="<luis-1@example.com>")
        s.append(tagged)
        other = mail("Luis <luis@example.com>", "Impresora", "No imprime, ni en color.\r\n",
                     mid="<luis-1@example.com>")
        s.append(other)
        check.eq(s.run_spocd("--once")[0], 0, "copies by two routes, a list's copy, and a new body")
        log = [r[0] for r in s.sql("SELECT outcome FROM ingest_log ORDER BY id")][-6:]
        check.eq(log, ["ticket", "duplicate", "ticket", "duplicate", "duplicate", "ticket"],
                 "a copy by another route (with or without Message-ID) and a list's copy are "
                 "duplicates; a different body is a message of its own")
        check.eq(s.sql_value("SELECT count(*) FROM tickets") - tickets, 3, "three new tickets")
        check.eq(len(s.captured()) - sent, 3, "three acknowledgements, one each")
        check.eq(s.sql_value("SELECT count(*) FROM messages WHERE message_id = 'luis-1@example.com'"
                             " AND message_id_clash_of IS NOT NULL"), 1,
                 "the different body records its clash")


if __name__ == "__main__":
    st.main(test)
