#!/usr/bin/python3
"""A server certificate signed by the trusted CA, for the right host and in date, whose
extendedKeyUsage is clientAuth only: it is not a server's certificate, and spocd refuses it
before any credential leaves (IMAP over implicit TLS and STARTTLS, SMTP over implicit TLS): the
error names the mailbox (or the SMTP host) and says the certificate does not fit its purpose;
nothing is taken, nothing sent. With the right certificate the same configuration works."""

import re

import spocdtest as st

PURPOSE = r"purpose"


def test(check):
    raw = st.make_message("pau.ferrer@example.com", "La impresora no imprime en color",
                          "La impresora de la tercera planta solo imprime en blanco y negro.\r\n")
    with st.Services(name="spocd-fault-eku", imap_cert="clientonly") as s:
        uid = s.append(raw)
        implicit = s.write_config("implicit.conf", imap__tls="implicit", imap__port=s.imaps_port)
        starttls = s.write_config("starttls.conf", imap__tls="starttls", imap__port=s.imap_port)
        for label, conf in (("implicit TLS", implicit), ("STARTTLS", starttls)):
            offset = s.dovecot_log_quiet()
            rc, out, err = s.run_spocd("--once", config=conf)
            check.eq(rc, 75, f"IMAP {label}, clientAuth-only certificate: spocd --once exits 75")
            check.ok(re.search(r"mailbox INBOX: .*certificate of 127\.0\.0\.1 not trusted: .*" + PURPOSE, err),
                     f"IMAP {label}: the error names the mailbox, the host and the purpose", err)
            check.wait_for(lambda: re.search(r"imap-login: .*[Dd]isconnected", s.dovecot_log_since(offset)),
                           10, f"IMAP {label}: Dovecot logged the connection's end")
            dlog = s.dovecot_log_since(offset)
            check.ok("Login:" not in dlog and f"user=<{st.IMAP_USER}>" not in dlog,
                     f"IMAP {label}: no login reached Dovecot", dlog)
            check.eq(s.sql_value("SELECT count(*) FROM tickets"), 0, f"IMAP {label}: no ticket")
            check.eq(s.folder_uids("INBOX"), [uid], f"IMAP {label}: INBOX untouched")

        # The right certificate for IMAP, the clientAuth-only one for SMTP.
        s.restart_dovecot("good")
        s.start_smtp(tls="implicit", cert="clientonly")
        both = s.write_config("smtp-tls.conf", imap__tls="implicit", imap__port=s.imaps_port,
                              smtp__tls="implicit")
        rc, out, err = s.run_spocd("--once", config=both)
        check.eq(rc, 75, "SMTP implicit TLS, clientAuth-only certificate: spocd --once exits 75")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 1, "IMAP with the right certificate: the ticket")
        rows = s.sql("SELECT state, attempts, last_error FROM outbox")
        check.eq([r[:2] for r in rows], [("pending", 1)], "SMTP: the acknowledgement stays pending after 1 attempt")
        check.ok(re.search(r"certificate of 127\.0\.0\.1 not trusted: .*" + PURPOSE, rows[0][2]),
                 "SMTP: last_error names the host and the purpose", rows[0][2])
        check.ok(re.search(r"smtp|127\.0\.0\.1:" + str(s.smtp_port), err, re.I) and re.search(PURPOSE, err),
                 "SMTP: the log says which server and why", err)
        check.eq(len(s.captured()), 0, "SMTP: nothing sent")

        s.start_smtp(tls="implicit", cert="good")
        s.sql("UPDATE outbox SET next_attempt_at = now() WHERE state = 'pending'")
        rc, out, err = s.run_spocd("--once", config=both)
        check.eq(rc, 0, "SMTP with the right certificate: exits 0")
        check.eq(len(s.captured()), 1, "the acknowledgement is sent, once")


if __name__ == "__main__":
    st.main(test)
