#!/usr/bin/python3
"""A delivery report changes an outbox row or an address's status only when it came back to the
VERP address the notifier minted for that row (its HMAC verifies), and then only for that row's
own recipient. Anyone can write a report, so:
  - a forged report to the desk's plain address, naming another requester as failed, quoting the
    acknowledgement's Message-ID and carrying the ticket's tag, marks nothing bouncing, bounces
    no row, is kept on no ticket, and says why on its message row;
  - the same report to a VERP address whose token was altered changes nothing either;
  - a report to a requester's own genuine VERP address (which they can read in the Return-Path
    of what we sent them) that lists someone else as failed marks only that requester;
  - a delay report to a genuine VERP address counts the delay but bounces nothing;
and nothing is ever sent because of any of them."""

import email.utils

import spocdtest as st


def report(to, failed, quoted_id, tag, mid, action="failed", status="5.1.1"):
    return (f"From: Mail Delivery System <MAILER-DAEMON@mx.attacker.example>\r\n"
            f"To: {to}\r\n"
            f"Subject: Undelivered Mail Returned to Sender {tag}\r\n"
            f"Date: {email.utils.formatdate()}\r\n"
            f"Message-ID: <{mid}@mx.attacker.example>\r\n"
            f"MIME-Version: 1.0\r\n"
            f"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
            f"--B\r\nContent-Type: text/plain\r\n\r\n"
            f"Your message could not be delivered.\r\n"
            f"<{failed}>: host mx.example.com said: 550 {status} User unknown\r\n"
            f"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
            f"Reporting-MTA: dns; mx.attacker.example\r\n\r\n"
            f"Final-Recipient: rfc822; {failed}\r\nAction: {action}\r\nStatus: {status}\r\n"
            f"Diagnostic-Code: smtp; 550 {status} <{failed}>: User unknown\r\n"
            f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"From: Test Service Desk <help@desk.test>\r\nTo: {failed}\r\n"
            f"Subject: {tag} whatever\r\nMessage-ID: {quoted_id}\r\n"
            f"--B--\r\n").encode()


def altered(verp):
    local, domain = verp.split("@")
    last = "a" if local[-1] != "a" else "b"
    return f"{local[:-1]}{last}@{domain}"


def test(check):
    with st.Services(name="spocd-forged-bounce") as s:
        s.conf = s.write_config()
        s.append(st.make_message("marta@example.com", "La impresora no imprime",
                                 "No imprime nada desde esta mañana.\r\n"))
        s.append(st.make_message("eve@attacker.example", "Pregunta",
                                 "¿Cuál es el horario del servicio?\r\n"))
        check.eq(s.run_spocd("--once")[0], 0, "two tickets and their acknowledgements")
        acks = {email.utils.parseaddr(str(m["To"]))[1]: m for m in s.captured()}
        check.eq(sorted(acks), ["eve@attacker.example", "marta@example.com"], "both acknowledged")
        marta_ack, eve_ack = acks["marta@example.com"], acks["eve@attacker.example"]
        tag = "[" + s.sql_value("SELECT display FROM tickets WHERE requester = 'marta@example.com'") + "]"
        marta_row = s.sql_value("SELECT id FROM outbox WHERE recipient = 'marta@example.com'")
        sent = len(s.captured())

        def nothing_changed(mid, what):
            check.eq(s.sql("SELECT count(*) FROM outbox WHERE bounced_at IS NOT NULL"), [(0,)],
                     f"{what}: no outbox row is marked bounced")
            check.eq(s.sql("SELECT address FROM address_status"), [],
                     f"{what}: no address is marked")
            row = s.sql("SELECT ticket_id, automatic FROM messages WHERE message_id = %s",
                        (f"{mid}@mx.attacker.example",))
            check.eq([r[0] for r in row], [None], f"{what}: recorded on no ticket")
            check.ok(row and "nothing changed" in row[0][1],
                     f"{what}: its message row says why it changed nothing", row)
            check.eq(s.sql_value("SELECT status FROM tickets WHERE requester = 'marta@example.com'"),
                     "new", f"{what}: the named ticket is unchanged")

        s.append(report("help@desk.test", "marta@example.com", marta_ack["Message-ID"], tag, "forged-1"))
        check.eq(s.run_spocd("--once")[0], 0, "a forged report to the desk's address")
        nothing_changed("forged-1", "a report to the plain address")

        s.append(report(altered(marta_ack.envelope["mail_from"]), "marta@example.com",
                        marta_ack["Message-ID"], tag, "forged-2"))
        check.eq(s.run_spocd("--once")[0], 0, "a report to an altered VERP address")
        nothing_changed("forged-2", "a report to an altered VERP address")

        # Eve reads her own acknowledgement's Return-Path and writes a report to it naming Marta.
        s.append(report(eve_ack.envelope["mail_from"], "marta@example.com",
                        marta_ack["Message-ID"], tag, "own-verp"))
        check.eq(s.run_spocd("--once")[0], 0, "a report to the sender's own VERP address")
        check.eq(s.sql("SELECT address, bouncing FROM address_status"),
                 [("eve@attacker.example", True)],
                 "only the row's own recipient is marked, never the address the report names")
        check.eq(s.sql("SELECT recipient FROM outbox WHERE bounced_at IS NOT NULL"),
                 [("eve@attacker.example",)], "only the row the VERP address names is bounced")
        check.eq(s.sql("SELECT t.requester FROM messages m JOIN tickets t ON t.id = m.ticket_id"
                       " WHERE m.message_id = 'own-verp@mx.attacker.example'"),
                 [("eve@attacker.example",)], "kept on the ticket of the row it names")

        # A genuine delay of Marta's acknowledgement: counted, nothing bounced.
        s.append(report(marta_ack.envelope["mail_from"], "marta@example.com",
                        marta_ack["Message-ID"], tag, "delay", action="delayed", status="4.4.1"))
        check.eq(s.run_spocd("--once")[0], 0, "a delay report to a genuine VERP address")
        check.eq(s.sql("SELECT bouncing, bounces FROM address_status WHERE address = 'marta@example.com'"),
                 [(False, 1)], "a delay is counted and does not mark the address as bouncing")
        check.eq(s.sql_value("SELECT bounced_at IS NULL FROM outbox WHERE id = %s", (marta_row,)), True,
                 "a delay does not bounce the row")

        check.eq(len(s.captured()), sent, "nothing is sent because of any report")


if __name__ == "__main__":
    st.main(test)
