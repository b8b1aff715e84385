#!/usr/bin/python3
"""spocd as a daemon: it keeps polling, turns a message that arrives while it runs into a ticket
and an acknowledgement, and on SIGTERM stops promptly with exit status 0."""

import time

import spocdtest as st


def test(check):
    with st.Services(name="spocd-daemon") as s:
        conf = s.write_config(name="daemon.conf", imap__poll_interval=1)
        d = s.start_spocd(config=conf, name="daemon")
        check.wait_for(lambda: " ready: " in d.text(), 20, "the daemon says it is ready", detail=d.tail)
        check.eq(d.poll(), None, "the daemon is running")
        raw = st.make_message("luis.gomez@example.com", "El correo no funciona",
                              "Desde esta mañana no puedo enviar correos.\r\n")
        s.append(raw)
        check.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets") == 1, 20,
                       "a message appended while it runs becomes a ticket")
        check.wait_for(lambda: len(s.captured()) == 1, 20, "and its acknowledgement is sent")
        check.wait_for(lambda: s.folder_count("INBOX") == 0, 10, "INBOX is drained")

        # The IMAP server restarts under it: the kept connection is dead, the next poll
        # connects again and the next message is taken without an error.
        s.restart_dovecot("good")
        s.append(st.make_message("marta.vidal@example.com", "Solicito acceso a la VPN",
                                 "Necesito acceso a la VPN para teletrabajar.\r\n"))
        check.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets") == 2, 30,
                       "after the IMAP server restarted, the next message becomes a ticket", detail=d.tail)
        check.wait_for(lambda: len(s.captured()) == 2, 20, "and is acknowledged")
        t0 = time.monotonic()
        rc = d.stop()
        took = time.monotonic() - t0
        check.eq(rc, 0, "SIGTERM: exit status 0")
        check.ok(took < 10, f"SIGTERM: stopped in {took:.1f}s")
        text = d.text()
        check.ok("stopping on request" in text, "it says why it stopped")
        check.ok("connecting again" in text, "it noticed the dropped connection and reconnected")
        check.ok(not any(line.startswith("<3>") for line in text.splitlines()),
                 "no error logged for a connection the server dropped")
        check.eq(len(s.captured()), 2, "exactly two acknowledgements in all")


if __name__ == "__main__":
    st.main(test)
