#!/usr/bin/python3
"""spocd as a daemon: it keeps polling, turns a message that arrives while it runs into a ticket
and an acknowledgement, and on SIGTERM stops promptly with exit status 0."""

import os
import signal
import subprocess
import time

import spocdtest as st


def wait_for(pred, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return False


def test(check):
    with st.Services(name="spocd-daemon") as s:
        conf = s.write_config(name="daemon.conf", imap__poll_interval=1)
        log = open(os.path.join(s.dir, "daemon.stderr"), "wb")
        p = subprocess.Popen([st.spocd_bin(), "-c", conf], stdin=subprocess.DEVNULL,
                             stdout=log, stderr=log)
        try:
            time.sleep(1.5)
            check.eq(p.poll(), None, "the daemon is running")
            raw = st.make_message("luis.gomez@example.com", "El correo no funciona",
                                  "Desde esta mañana no puedo enviar correos.\r\n")
            s.append(raw)
            check.ok(wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets") == 1, 20),
                     "a message appended while it runs becomes a ticket")
            check.ok(wait_for(lambda: len(s.captured()) == 1, 20),
                     "and its acknowledgement is sent")
            check.ok(wait_for(lambda: s.folder_count("INBOX") == 0, 10), "INBOX is drained")

            # The IMAP server restarts under it: the kept connection is dead, the next poll
            # connects again and the next message is taken without an error.
            s.restart_dovecot("good")
            s.append(st.make_message("marta.vidal@example.com", "Solicito acceso a la VPN",
                                     "Necesito acceso a la VPN para teletrabajar.\r\n"))
            check.ok(wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets") == 2, 30),
                     "after the IMAP server restarted, the next message becomes a ticket")
            check.ok(wait_for(lambda: len(s.captured()) == 2, 20), "and is acknowledged")
            t0 = time.monotonic()
            p.send_signal(signal.SIGTERM)
            rc = p.wait(timeout=30)
            took = time.monotonic() - t0
            check.eq(rc, 0, "SIGTERM: exit status 0")
            check.ok(took < 10, f"SIGTERM: stopped in {took:.1f}s")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            log.close()
        with open(os.path.join(s.dir, "daemon.stderr"), encoding="utf-8", errors="replace") as f:
            text = f.read()
        print(text)
        check.ok("stopping on request" in text, "it says why it stopped")
        check.ok("connecting again" in text, "it noticed the dropped connection and reconnected")
        check.ok(not any(line.startswith("<3>") for line in text.splitlines()),
                 "no error logged for a connection the server dropped")
        check.eq(len(s.captured()), 2, "exactly two acknowledgements in all")


if __name__ == "__main__":
    st.main(test)
