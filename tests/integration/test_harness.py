#!/usr/bin/python3
"""Self-check of the integration harness, without spocd: the three services start on free
loopback ports, IMAP works in plain text and over TLS verified against the test CA (and the wrong
and expired certificates are refused by Python's own verifier), the SMTP capture listener writes
what it accepts and refuses in each mode (and when, by the wall clock and CLOCK_MONOTONIC), SQL
works, and nothing is left running afterwards; a cluster started with extra settings has them
(pg_stat_statements preloaded, commit timestamps tracked), and one started without has none."""

import os
import re
import smtplib
import socket
import ssl
import subprocess
import time

import spocdtest as st


def pids_of(pattern):
    r = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return [int(x) for x in r.stdout.split()]


def test(check):
    with st.Services(name="spocd-harness") as s:
        started = {name: p.pid for name, p in s.procs.items()}
        check.eq(sorted(started), ["dovecot", "postgres", "smtp"], "services started")

        # SQL over the Unix socket.
        check.eq(s.sql_value("SELECT current_database()"), "spocd", "database spocd exists")
        check.ok(s.sql_value("SHOW fsync") == "off", "fsync is off")
        check.eq(s.sql_value("SHOW shared_preload_libraries"), "", "no preloaded library unless asked")

        # IMAP: APPEND over TLS with the test CA, then read it back over plain text.
        raw = st.make_message("ana.garcia@example.com", "Prueba de arnés: configuración",
                              "Hola,\r\nesto es una prueba con acentos: áéíóú ñ.\r\n", from_name="Ana García")
        c = s.imap(tls=True)
        typ, data = c.append("INBOX", None, None, raw)
        check.eq(typ, "OK", "APPEND over imaps verified against ca.pem")
        c.logout()
        uids = s.folder_uids("INBOX")
        check.eq(len(uids), 1, "INBOX holds the message")
        check.eq(s.fetch_raw("INBOX", uids[0]), raw, "fetched bytes equal the appended bytes")
        uid2 = s.append(raw)
        check.eq(s.folder_uids("INBOX"), [uids[0], uid2], "append() returns the new UID")
        check.eq(s.folder_uids("spocd/processed"), [], "a missing folder has no UIDs")
        c = s.imap()
        check.eq(c.create("spocd/processed")[0], "OK", "CREATE spocd/processed ('/' separator)")
        typ, data = c.list('""', "spocd*")
        check.ok(any(b'"/"' in line for line in data), "hierarchy separator is /", data)
        c.select("INBOX")
        check.eq(c.uid("COPY", str(uid2), "spocd/processed")[0], "OK", "UID COPY into spocd/processed")
        c.logout()
        check.eq(s.folder_count("spocd/processed"), 1, "folder_count(spocd/processed)")
        check.ok(os.path.isdir(s.maildir_new("INBOX")), "INBOX maildir new/ at " + s.maildir_new("INBOX"))

        # STARTTLS on the plain port.
        c = st.imaplib.IMAP4("127.0.0.1", s.imap_port)
        c.starttls(ssl_context=ssl.create_default_context(cafile=s.certs["ca"][0]))
        c.login(st.IMAP_USER, st.IMAP_PASSWORD)
        c.logout()
        check.ok(True, "STARTTLS with the good certificate verifies")

        # The wrong-host and expired certificates are refused by a verifying client.
        for cert, why in (("wrong", "match"), ("expired", "expired")):
            s.restart_dovecot(cert)
            before = s.dovecot_log_size()
            ctx = ssl.create_default_context(cafile=s.certs["ca"][0])
            try:
                with socket.create_connection(("127.0.0.1", s.imaps_port)) as sock:
                    ctx.wrap_socket(sock, server_hostname="127.0.0.1")
                refused = ""
            except ssl.SSLCertVerificationError as e:
                refused = str(e)
            check.ok(why in refused, f"{cert} certificate refused by Python ({why})", refused)

            def disconnect_logged():
                text = s.dovecot_log_since(before)
                return text if re.search(r"imap-login: .*(Disconnected|disconnected)", text) else None
            dlog = st.wait_for(disconnect_logged, 10, f"{cert}: Dovecot logs the refused connection",
                               detail=lambda: s.dovecot_log_since(before))
            check.ok("Login:" not in dlog, "no login in Dovecot's log after it", dlog)
        s.restart_dovecot("good")
        check.eq(s.folder_count("INBOX"), 2, "mail survives a Dovecot restart")

        # SMTP capture: accept, then each refusal mode.
        before_send = time.monotonic()
        with smtplib.SMTP("127.0.0.1", s.smtp_port, timeout=10) as smtp:
            smtp.ehlo("harness.test")
            refused = smtp.sendmail("help@desk.test", ["ana.garcia@example.com"], raw)
            after_data = time.monotonic()
        check.eq(refused, {}, "smtplib sendmail accepted")
        got = s.captured()
        arrived = got[0].envelope.get("monotonic")
        check.ok(arrived is not None and before_send <= arrived <= after_data,
                 "the capture records when DATA was in by CLOCK_MONOTONIC, between the client's "
                 "connect and the reply", f"{before_send} <= {arrived} <= {after_data}")
        check.eq(len(got), 1, "one captured message")
        check.eq(got[0].raw, raw, "captured bytes equal what was sent")
        check.eq(got[0]["Subject"], "Prueba de arnés: configuración", "captured Subject decodes")
        check.eq(got[0].envelope["rcpt_tos"], ["ana.garcia@example.com"], "envelope recipient")
        for mode, code in (("rcpt451", 451), ("rcpt550", 550), ("data451", 451), ("data550", 550)):
            s.smtp_mode(mode)
            try:
                with smtplib.SMTP("127.0.0.1", s.smtp_port, timeout=10) as smtp:
                    smtp.sendmail("help@desk.test", ["x@example.com"], raw)
                got_code = 250
            except smtplib.SMTPRecipientsRefused as e:
                got_code = list(e.recipients.values())[0][0]
            except smtplib.SMTPDataError as e:
                got_code = e.smtp_code
            check.eq(got_code, code, f"mode {mode} answers {code}")
        s.smtp_mode("drop")
        try:
            with smtplib.SMTP("127.0.0.1", s.smtp_port, timeout=10) as smtp:
                smtp.sendmail("help@desk.test", ["x@example.com"], raw)
            dropped = False
        except smtplib.SMTPServerDisconnected:
            dropped = True
        check.ok(dropped, "mode drop closes the connection after DATA")
        check.eq(len(s.captured()), 1, "nothing captured from refused attempts")
        check.eq(len(s.smtp_refused()), 5, "refused attempts recorded")

        # Implicit TLS SMTP.
        s.start_smtp(tls="implicit", cert="good", mode="accept")
        ctx = ssl.create_default_context(cafile=s.certs["ca"][0])
        with smtplib.SMTP_SSL("127.0.0.1", s.smtp_port, context=ctx, timeout=10) as smtp:
            smtp.sendmail("help@desk.test", ["ana.garcia@example.com"], raw)
        check.eq(len(s.captured()), 2, "implicit-TLS SMTP verified against ca.pem and captured")
        check.ok(s.captured()[1].envelope["tls"], "capture records TLS")

        # The config spocd will read.
        text = open(s.conf).read()
        check.ok(f"port = {s.imap_port};" in text and 'ca_file = "ca.pem";' in text, "spocd.conf written")
        check.eq(st.conf_line(s.conf, "imap.port"), text.splitlines().index(f"  port = {s.imap_port};") + 1,
                 "conf_line finds imap.port")
        tmpdir = s.dir
        started = {name: p.pid for name, p in s.procs.items()}

    for name, pid in started.items():
        check.ok(not os.path.exists(f"/proc/{pid}"), f"{name} pid {pid} is gone")
    check.eq(pids_of(tmpdir), [], f"no process mentions {tmpdir}")
    check.ok(not os.path.exists(tmpdir) or os.environ.get("SPOC_KEEP") == "1", "directory removed")

    # Extra postgresql.conf settings, as the benchmarks ask for them: statement statistics from
    # Debian's own pg_stat_statements and the commit time of every transaction.
    with st.Services(name="spocd-harness-pg", smtp=False,
                     pg_settings={"shared_preload_libraries": "pg_stat_statements",
                                  "track_commit_timestamp": "on"}) as s:
        check.eq(s.sql_value("SHOW shared_preload_libraries"), "pg_stat_statements",
                 "pg_settings preloads pg_stat_statements")
        s.sql("CREATE EXTENSION pg_stat_statements")
        s.sql("SELECT pg_stat_statements_reset()")
        s.sql("CREATE TABLE harness_probe (n integer)")
        for n in range(3):
            s.sql("INSERT INTO harness_probe VALUES (%s)", (n,))
        calls = s.sql_value("SELECT sum(calls) FROM pg_stat_statements "
                            "WHERE query LIKE 'INSERT INTO harness_probe%%'")
        check.eq(calls, 3, "pg_stat_statements counts the three INSERTs as one statement")
        wall_before = s.sql_value("SELECT clock_timestamp()")
        s.sql("INSERT INTO harness_probe VALUES (42)")
        committed = s.sql_value("SELECT pg_xact_commit_timestamp(xmin) FROM harness_probe WHERE n = 42")
        check.ok(committed is not None and committed >= wall_before,
                 "track_commit_timestamp gives the commit time of a row's transaction",
                 f"{committed} >= {wall_before}")


if __name__ == "__main__":
    st.main(test)
