#!/usr/bin/python3
"""Bounces acted on. Through the real daemon, a requester whose address bounces for good:
  - the desk is told once (the assignee gets an 'unreachable' notice with the bounce's reason),
    a second bounce tells nobody again;
  - automatic mail to the address is held with the reason (bounce.suppress_days), not sent;
  - spocctl ticket show says the requester is unreachable; spocctl address list shows the
    address and what is held for it;
  - a later mail from the address clears the mark and releases what was held;
  - spocctl address clear does the same by hand, and refuses an address that is not marked."""

import email.utils
import json

import spocdtest as st


def dsn(to, rcpt, n):
    return (f"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
            f"To: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            f"Date: {email.utils.formatdate()}\r\nMessage-ID: <dsn-{n}@mx.example.com>\r\n"
            f"MIME-Version: 1.0\r\n"
            f"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
            f"--B\r\nContent-Type: text/plain\r\n\r\nUndeliverable.\r\n"
            f"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n"
            f"Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            f"Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: User unknown\r\n--B--\r\n").encode()


def to(s, addr):
    return [m for m in s.captured() if email.utils.parseaddr(str(m["To"]))[1] == addr]


def test(check):
    with st.Services(name="spocd-unreachable") as s:
        s.conf = s.write_config()
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
        check.eq(s.run_spocctl("agent", "add", "ana@desk.test", "--name", "Ana")[0], 0, "agent added")
        s.append(st.make_message("marta@example.com", "La VPN no conecta", "No conecta.\r\n"))
        check.eq(s.run_spocd("--once")[0], 0, "a ticket")
        ack = to(s, "marta@example.com")[0]
        s.sql("UPDATE tickets SET assignee_id = (SELECT id FROM agents WHERE address = 'ana@desk.test')")
        check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "the assignment is told")
        told = len(to(s, "ana@desk.test"))

        s.append(dsn(ack.envelope["mail_from"], "marta@example.com", 1))
        check.eq(s.run_spocd("--once")[0], 0, "the acknowledgement bounces")
        notes = to(s, "ana@desk.test")[told:]
        check.ok(len(notes) == 1 and "marta@example.com" in notes[0].get_body(("plain",)).get_content()
                 and "5.1.1" in notes[0].get_body(("plain",)).get_content(),
                 "the assignee is told once, with the address and the reason",
                 [n.get_body(("plain",)).get_content() for n in notes])

        s.sql("UPDATE tickets SET status = 'pending' WHERE id = 1")
        sent_marta = len(to(s, "marta@example.com"))
        check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "a status change is queued for her")
        check.eq(len(to(s, "marta@example.com")), sent_marta, "nothing is sent to the address that bounced")
        held = s.sql("SELECT state, last_error FROM outbox WHERE kind = 'status' AND recipient = 'marta@example.com'")
        check.ok(held and held[0][0] == "held" and "bounce.suppress_days = 7" in held[0][1]
                 and "5.1.1" in held[0][1], "it is held with the reason", held)

        # a second bounce of the same address tells nobody again
        first_status = s.sql_value("SELECT id FROM outbox WHERE kind = 'ack'")
        s.append(dsn(ack.envelope["mail_from"], "marta@example.com", 2))
        check.eq(s.run_spocd("--once")[0], 0, "a second bounce")
        check.eq(len(to(s, "ana@desk.test")) - told, 1, "the desk was told once only")
        check.ok(first_status, "the acknowledgement's row exists")

        rc, out, err = s.run_spocctl("ticket", "show", "INC-000001")
        check.ok(rc == 0 and b"UNREACHABLE" in out and b"5.1.1" in out, "ticket show says she is unreachable", out)
        rc, out, err = s.run_spocctl("--json", "address", "list")
        rows = json.loads(out) if rc == 0 else []
        check.eq([(r["address"], r["bouncing"], r["held"]) for r in rows], [("marta@example.com", True, 1)],
                 "address list: the address, and one notification held for it")
        check.eq(s.run_spocctl("address", "clear", "nobody@example.com")[0], 1,
                 "address clear of an address that is not marked exits 1")

        # she writes again: reachable, and what was held goes
        s.append(st.make_message("marta@example.com", "Re: " + str(ack["Subject"]), "Ya tengo buzón nuevo.\r\n",
                                 in_reply_to=ack["Message-ID"]))
        check.eq(s.run_spocd("--once")[0], 0, "she writes again")
        check.eq(s.sql_value("SELECT bouncing FROM address_status WHERE address = 'marta@example.com'"), False,
                 "a mail from the address clears the mark")
        check.ok(len(to(s, "marta@example.com")) > sent_marta, "and the held notice is sent")

        # by hand
        s.sql("UPDATE address_status SET bouncing = true")
        rc, out, err = s.run_spocctl("address", "clear", "Marta@Example.com")
        check.ok(rc == 0 and b"reachable again" in out, "address clear by hand", out)
        check.eq(s.sql_value("SELECT bouncing FROM address_status WHERE address = 'marta@example.com'"), False,
                 "cleared")


if __name__ == "__main__":
    st.main(test)
