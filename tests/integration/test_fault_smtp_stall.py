#!/usr/bin/python3
"""The SMTP server takes the message data and then says nothing, with the connection open (a
relay that hangs mid-response). smtp.timeout fires: the notifier gives the connection up, says
which server and that it timed out, and keeps the outbox row pending for a later retry; the retry
sends it once, with the same Message-ID (the only copy that can be doubled is the one the stalled
server may still deliver, and it carries that same Message-ID). A server that never sends its
greeting is given up when the same timeout fires, and the row waits for its retry."""

import socket
import threading
import time

import spocdtest as st

TIMEOUT = 3


def test(check):
    raw = st.make_message("nuria.vidal@example.com", "No me llegan los correos externos",
                          "Desde esta mañana no recibo correos de fuera de la empresa.\r\n")
    with st.Services(name="spocd-fault-smtpstall") as s:
        conf = s.write_config(name="stall.conf", smtp__timeout=TIMEOUT)
        s.smtp_mode("stall")
        s.append(raw)
        t0 = time.monotonic()
        rc, out, err = s.run_spocd("--once", config=conf, timeout=120)
        elapsed = time.monotonic() - t0
        print(f"    the pass took {elapsed:.2f}s with smtp.timeout = {TIMEOUT} s")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 1, "the ticket was made")
        check.eq(s.folder_count("INBOX"), 0, "and the mail moved")
        stalls = [r for r in s.smtp_refused() if r["reply"] == "(stalled)"]
        check.eq(len(stalls), 1, "the server stalled after the message data, once")
        closed = check.wait_for(lambda: [r for r in s.smtp_refused() if r["reply"].startswith("(closed")], 5,
                                "spocd closed the stalled connection")
        waited = closed[0]["monotonic"] - stalls[0]["monotonic"]
        print(f"    the connection was closed {waited:.2f}s after the server stalled")
        check.ok(TIMEOUT - 0.5 <= waited < 2 * TIMEOUT,
                 f"closed when smtp.timeout ({TIMEOUT} s) fired ({waited:.2f}s)")
        rows = s.sql("SELECT state, attempts, last_error, next_attempt_at > now(), message_id FROM outbox")
        check.eq(len(rows), 1, "one outbox row")
        state, attempts, last_error, future, mid = rows[0]
        print(f"    last_error: {last_error!r}")
        check.eq((state, attempts), ("pending", 1), "the row stays pending after 1 attempt")
        check.ok(future, "its retry is scheduled later")
        check.ok(f"127.0.0.1:{s.smtp_port}" in last_error and "tim" in last_error.lower(),
                 "last_error names the server and the timeout", last_error)
        check.ok(f"127.0.0.1:{s.smtp_port}" in err and "tim" in err.lower(),
                 "the log says which server timed out", err)
        check.eq(len(s.captured()), 0, "nothing accepted")

        # A run before the retry is due sends nothing.
        s.smtp_mode("accept")
        rc, out, err = s.run_spocd("--once", config=conf)
        check.eq(len(s.captured()), 0, "no retry before next_attempt_at")

        s.sql("UPDATE outbox SET next_attempt_at = now() WHERE state = 'pending'")
        rc, out, err = s.run_spocd("--once", config=conf)
        check.eq(rc, 0, "the retry's pass exits 0")
        check.eq(s.sql("SELECT state, attempts FROM outbox"), [("sent", 2)], "the row is sent on attempt 2")
        acks = s.captured()
        check.eq(len(acks), 1, "one acknowledgement captured")
        check.eq(st.norm_id(acks[0]["Message-ID"]), st.norm_id(mid), "with the row's Message-ID")
        rc, out, err = s.run_spocd("--once", config=conf)
        check.eq(len(s.captured()), 1, "and never again")

        # A server that accepts the connection and never sends its greeting.
        silent = SilentServer()
        try:
            s.append(st.make_message("oriol.camps@example.com", "Teclado sin respuesta",
                                     "El teclado inalámbrico no responde.\r\n"))
            quiet_conf = s.write_config(name="silent.conf", smtp__timeout=TIMEOUT, smtp__port=silent.port)
            t0 = time.monotonic()
            rc, out, err = s.run_spocd("--once", config=quiet_conf, timeout=120)
            elapsed = time.monotonic() - t0
            check.ok(silent.accepted, "spocd connected to the silent server")
            waited = silent.closed_at - silent.accepted[0] if silent.closed_at else None
            print(f"    silent greeting: closed after {waited}s, the pass took {elapsed:.2f}s")
            check.ok(waited is not None and TIMEOUT - 0.5 <= waited < 2 * TIMEOUT,
                     f"it gave the connection up when smtp.timeout ({TIMEOUT} s) fired")
            check.eq(rc, 75, "the pass exits 75 (the SMTP server could not be used)")
            row = s.sql("SELECT o.state, o.attempts, o.last_error FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
                        " WHERE t.requester = 'oriol.camps@example.com'")
            check.eq([r[:2] for r in row], [("pending", 1)], "its acknowledgement stays pending")
            check.ok(f"127.0.0.1:{silent.port}" in row[0][2] and "no greeting" in row[0][2]
                     and f"smtp.timeout, {TIMEOUT} s" in row[0][2],
                     "last_error names the server, the missing greeting and the timeout", row[0][2])
        finally:
            silent.close()


class SilentServer:
    """Accepts TCP connections on a free port and says nothing; records when the first was
    accepted and when its client closed it."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        self.closed_at = None
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        self.accepted.append(time.monotonic())
        with conn:
            try:
                while conn.recv(4096):
                    pass
            except OSError:
                pass
        self.closed_at = time.monotonic()

    def close(self):
        self.sock.close()


if __name__ == "__main__":
    st.main(test)
