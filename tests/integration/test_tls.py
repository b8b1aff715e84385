#!/usr/bin/python3
"""TLS certificates are verified before any credential leaves spocd (libetpan 1.9.4 verifies
nothing by itself, see shared/LIBRARY-DEFECTS.md):
  IMAP implicit TLS with the right certificate and ca_file: works;
  implicit TLS and STARTTLS with a certificate for another host, and with an expired one: spocd
  exits 75 saying why, makes no ticket, and Dovecot's log shows no login or authentication;
  SMTP implicit TLS with a wrong-host certificate: the acknowledgement is not sent (the outbox row
  stays pending, attempts 1, last_error naming the certificate), nothing is captured; with the
  right certificate it is then sent."""

import re

import spocdtest as st


def refused_run(check, s, label, config, why_pattern):
    tickets_before = s.sql_value("SELECT count(*) FROM tickets")
    inbox_before = s.folder_uids("INBOX")
    offset = s.dovecot_log_quiet()  # the harness's own session must not show up in what we inspect
    rc, out, err = s.run_spocd("--once", config=config)

    def disconnect_logged():
        text = s.dovecot_log_since(offset)
        return text if re.search(r"imap-login: .*(Disconnected|disconnected)", text) else None
    dlog = check.wait_for(disconnect_logged, 10, f"{label}: Dovecot logged the connection that never authenticated",
                          detail=lambda: s.dovecot_log_since(offset))
    print("    dovecot log during the run:\n" + "".join(f"    > {line}\n" for line in dlog.splitlines()))
    check.eq(rc, 75, f"{label}: spocd --once exits 75")
    check.ok(re.search(r"certif", err, re.I), f"{label}: stderr says the certificate was refused", err)
    check.ok(re.search(why_pattern, err, re.I), f"{label}: stderr says why (/{why_pattern}/)", err)
    check.ok("Login:" not in dlog and f"user=<{st.IMAP_USER}>" not in dlog and f"({st.IMAP_USER})" not in dlog,
             f"{label}: Dovecot's log shows no login or authentication of {st.IMAP_USER}", dlog)
    check.eq(s.sql_value("SELECT count(*) FROM tickets"), tickets_before, f"{label}: no new ticket")
    check.eq(s.folder_uids("INBOX"), inbox_before, f"{label}: INBOX untouched")


def test(check):
    first = st.make_message(
        "hugo.schmidt@example.com", "Outlook keeps asking for my password",
        "Hello,\r\n\r\nsince this morning Outlook asks for my password every few minutes, even though\r\n"
        "I type it correctly. Webmail works fine. Can you help?\r\n\r\nHugo\r\n",
        from_name="Hugo Schmidt", language="en-US")
    second = st.make_message(
        "carmen.ruiz@example.com", "No puedo acceder a la intranet",
        "Hola,\r\n\r\nal entrar en la intranet me sale un error 403 desde ayer por la tarde.\r\n"
        "Necesito consultar el calendario de turnos.\r\n\r\nUn saludo,\r\nCarmen Ruiz\r\n",
        from_name="Carmen Ruiz", language="es-ES")

    with st.Services(name="spocd-tls", imap_cert="good") as s:
        implicit = s.write_config("implicit.conf", imap__tls="implicit", imap__port=s.imaps_port)
        starttls = s.write_config("starttls.conf", imap__tls="starttls", imap__port=s.imap_port)

        # The right certificate: works.
        s.append(first)
        rc, out, err = s.run_spocd("--once", config=implicit)
        check.eq(rc, 0, "implicit TLS, right certificate: spocd --once exits 0")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 1, "implicit TLS, right certificate: ticket created")
        check.eq(s.folder_count("INBOX"), 0, "implicit TLS, right certificate: INBOX emptied")
        check.eq(len(s.captured()), 1, "acknowledgement sent")

        s.append(second)
        s.restart_dovecot("wrong")
        mismatch = r"match|host ?name|not trusted|wrong\.example|127\.0\.0\.1"
        refused_run(check, s, "implicit TLS, wrong-host certificate", implicit, mismatch)
        refused_run(check, s, "STARTTLS, wrong-host certificate", starttls, mismatch)

        s.restart_dovecot("expired")
        refused_run(check, s, "implicit TLS, expired certificate", implicit, r"expired")
        refused_run(check, s, "STARTTLS, expired certificate", starttls, r"expired")

        # SMTP over implicit TLS, certificate for the wrong host: the acknowledgement stays queued.
        s.restart_dovecot("good")
        s.start_smtp(tls="implicit", cert="wrong")
        both = s.write_config("smtp-tls.conf", imap__tls="implicit", imap__port=s.imaps_port,
                              smtp__tls="implicit")
        rc, out, err = s.run_spocd("--once", config=both)
        check.eq(rc, 75, "SMTP implicit TLS, wrong-host certificate: spocd --once exits 75")
        check.ok(re.search(r"certif", err, re.I), "SMTP: stderr says the certificate was refused", err)
        rows = s.sql("SELECT o.state, o.attempts, o.last_error FROM outbox o JOIN tickets t ON t.id = o.ticket_id "
                     "WHERE t.requester = 'carmen.ruiz@example.com'")
        check.eq(len(rows), 1, "SMTP: the ticket of the second message has its outbox row")
        print(f"    last_error: {rows[0][2]!r}")
        check.eq(rows[0][:2], ("pending", 1), "SMTP: the row stays pending after 1 attempt")
        check.ok(re.search(r"certif", rows[0][2], re.I), "SMTP: last_error mentions the certificate", rows[0][2])
        check.eq(len(s.captured()), 1, "SMTP: nothing new captured")

        # The right certificate: the retry goes out.
        s.start_smtp(tls="implicit", cert="good")
        s.sql("UPDATE outbox SET next_attempt_at = now() WHERE state = 'pending'")
        rc, out, err = s.run_spocd("--once", config=both)
        check.eq(rc, 0, "SMTP implicit TLS, right certificate: spocd --once exits 0")
        acks = s.captured()
        check.eq(len(acks), 2, "SMTP: the acknowledgement is captured")
        check.ok(acks[1].envelope["tls"], "SMTP: it came over TLS")
        check.eq(s.sql_value("SELECT state FROM outbox o JOIN tickets t ON t.id = o.ticket_id "
                             "WHERE t.requester = 'carmen.ruiz@example.com'"), "sent", "SMTP: the row is sent")


if __name__ == "__main__":
    st.main(test)
