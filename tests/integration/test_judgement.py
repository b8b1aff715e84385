#!/usr/bin/python3
"""Threading and bounces through Dovecot, PostgreSQL and the SMTP listener:
- the acknowledgement's Message-ID carries spocd's HMAC tag, and the requester's reply to it
  lands on the ticket;
- a stranger who harvested that Message-ID (or knows the number) gets a ticket of their own,
  linked "possibly-related", and is never added to the first one;
- a requester's reply to a resolved ticket within threading.reopen_window reopens it; after the
  ticket is closed, the next mail opens a follow-up ticket linked to it;
- an out-of-office reply to a resolved ticket is recorded on it and does not reopen it;
- a delivery status notification returned to an acknowledgement's VERP address is tied back to
  that outbox row and ticket, marks the address as bouncing, and creates no ticket and no
  acknowledgement (test_forged_bounce: what a report without that address changes: nothing)."""

import email.utils
import re

import spocdtest as st


def dsn(ack_id, rcpt, to):
    return (f"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
            f"To: {to}\r\n"
            f"Subject: Undelivered Mail Returned to Sender\r\n"
            f"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
            f"Message-ID: <dsn-1@mx.example.com>\r\n"
            f"MIME-Version: 1.0\r\n"
            f"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
            f"--B\r\nContent-Type: text/plain\r\n\r\n"
            f"I'm sorry to have to inform you that your message could not be delivered.\r\n"
            f"<{rcpt}>: host mx.example.com said: 550 5.1.1 User unknown\r\n"
            f"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
            f"Reporting-MTA: dns; mx.example.com\r\n\r\n"
            f"Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            f"Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: User unknown\r\n"
            f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"From: Test Service Desk <help@desk.test>\r\nTo: {rcpt}\r\n"
            f"Subject: [INC-000001] whatever\r\nMessage-ID: {ack_id}\r\n"
            f"--B--\r\n").encode()


def test(check):
    with st.Services(name="spocd-judgement") as s:
        s.conf = s.write_config(threading={"reopen_window": 3600})
        first = st.make_message("marta.ruiz@example.com", "No funciona la VPN",
                                "Hola, la VPN no conecta desde esta mañana.\r\n")
        s.append(first)
        check.eq(s.run_spocd("--once")[0], 0, "first run")
        ack = s.captured()[0]
        ack_id = ack["Message-ID"]
        check.ok(re.fullmatch(r"<spocd\.1\.[a-z2-7]{12}\.[a-z2-7]{17}@[^>]+>", ack_id) is not None,
                 "the acknowledgement's Message-ID carries the HMAC tag", ack_id)
        display = s.sql_value("SELECT display FROM tickets")

        reply = st.make_message("marta.ruiz@example.com", "Re: " + ack["Subject"],
                                "Sigue sin funcionar.\r\n", in_reply_to=ack_id, references=[ack_id])
        stranger = st.make_message("eve@attacker.example", "Re: " + ack["Subject"],
                                   "Please send me the configuration.\r\n", in_reply_to=ack_id,
                                   references=[ack_id])
        s.append(reply)
        s.append(stranger)
        check.eq(s.run_spocd("--once")[0], 0, "second run")
        check.eq(s.sql("SELECT from_addr FROM messages WHERE ticket_id = 1 AND direction = 'in' ORDER BY id"),
                 [("marta.ruiz@example.com",), ("marta.ruiz@example.com",)],
                 "the requester's reply joined the ticket, the stranger's did not")
        other = s.sql("SELECT t.id, l.linked_ticket_id, l.kind FROM tickets t"
                      " JOIN ticket_links l ON l.ticket_id = t.id WHERE t.requester = 'eve@attacker.example'")
        check.eq([(o[1], o[2]) for o in other], [(1, "possibly-related")],
                 "the stranger got a ticket of their own, linked possibly-related")
        check.eq(s.sql_value("SELECT count(*) FROM participants WHERE address = 'eve@attacker.example' AND ticket_id = 1"),
                 0, "the stranger is no participant of the first ticket")
        to_eve = [m for m in s.captured() if "eve@attacker.example" in str(m["To"])]
        check.ok(len(to_eve) == 1 and display not in str(to_eve[0]["Subject"]) and
                 display not in to_eve[0].get_body().get_content(),
                 "the stranger's acknowledgement names their own ticket only")

        # resolved: a reply within the window reopens; an out-of-office does not
        s.sql("UPDATE tickets SET status = 'resolved' WHERE id = 1")
        ooo = st.make_message("marta.ruiz@example.com", "Respuesta automática: " + ack["Subject"],
                              "Estoy fuera de la oficina hasta el lunes.\r\n", in_reply_to=ack_id,
                              extra_headers=[("Auto-Submitted", "auto-replied")])
        s.append(ooo)
        s.run_spocd("--once")
        check.eq(s.sql_value("SELECT status FROM tickets WHERE id = 1"), "resolved",
                 "an out-of-office reply does not reopen the ticket")
        check.eq(s.sql_value("SELECT count(*) FROM messages WHERE ticket_id = 1 AND automatic IS NOT NULL"), 1,
                 "but is recorded on it")
        again = st.make_message("marta.ruiz@example.com", "Re: " + ack["Subject"],
                                "Ha vuelto a fallar esta tarde.\r\n", in_reply_to=ack_id)
        s.append(again)
        s.run_spocd("--once")
        check.eq(s.sql_value("SELECT status FROM tickets WHERE id = 1"), "in-progress",
                 "a reply within the reopen window reopens it")
        check.ok(s.sql("SELECT 1 FROM ticket_events WHERE ticket_id = 1 AND field = 'status'"
                       " AND new_value = 'in-progress' AND actor = 'marta.ruiz@example.com' AND via = 'email'"),
                 "the reopening is audited as the requester's, by email")
        check.eq(s.sql("SELECT actor, via, old_value, new_value FROM ticket_events WHERE ticket_id = 1"
                       " AND field = 'reopened'"),
                 [("marta.ruiz@example.com", "email", "resolved", "in-progress")],
                 "and as a reopen, with who reopened it")
        check.eq(s.sql("SELECT outcome FROM ingest_log ORDER BY id DESC LIMIT 1"), [("reopened",)],
                 "the ingest log says it reopened the ticket")

        # closed: a follow-up ticket (a bare thank-you would only be a note: test_thanks.py)
        s.sql("UPDATE tickets SET status = 'closed' WHERE id = 1")
        later = st.make_message("marta.ruiz@example.com", "Re: " + ack["Subject"],
                                "La impresora vuelve a fallar desde esta mañana.\r\n", in_reply_to=ack_id)
        s.append(later)
        s.run_spocd("--once")
        follow = s.sql("SELECT t.requester, l.kind FROM tickets t JOIN ticket_links l ON l.ticket_id = t.id"
                       " WHERE l.linked_ticket_id = 1 AND l.kind = 'follow-up'")
        check.eq(follow, [("marta.ruiz@example.com", "follow-up")],
                 "a mail on a closed ticket opens a follow-up ticket linked to it")
        check.eq(s.sql_value("SELECT status FROM tickets WHERE id = 1"), "closed", "the closed ticket stays closed")

        # a bounce of the acknowledgement
        tickets_before = s.sql_value("SELECT count(*) FROM tickets")
        sent_before = len(s.captured())
        # returned to the acknowledgement's VERP envelope sender, as an MTA does
        s.append(dsn(ack_id, "marta.ruiz@example.com", ack.envelope["mail_from"]))
        check.eq(s.run_spocd("--once")[0], 0, "bounce run")
        row = s.sql("SELECT bounced_at IS NOT NULL, bounce_reason FROM outbox WHERE message_id = %s",
                    (ack_id.strip("<>"),))
        check.ok(row and row[0][0] and "5.1.1" in row[0][1], "the acknowledgement's outbox row is marked bounced", row)
        check.eq(s.sql("SELECT bouncing, bounces FROM address_status WHERE address = 'marta.ruiz@example.com'"),
                 [(True, 1)], "the address is marked as bouncing")
        check.eq(s.sql("SELECT ticket_id, automatic IS NOT NULL FROM messages WHERE message_id = 'dsn-1@mx.example.com'"),
                 [(1, True)], "the bounce is recorded on the ticket, as automatic")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), tickets_before, "no ticket for the bounce")
        check.eq(len(s.captured()), sent_before, "and nothing sent because of it")


if __name__ == "__main__":
    st.main(test)
