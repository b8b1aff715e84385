#!/usr/bin/python3
"""What the outbox does with each SMTP outcome: a 451 keeps the row pending for a later retry
(attempts 1, last_error with the reply, next_attempt_at in the future) and the retry is sent exactly
once; a 550 fails the row for good with the reply; no listener at all keeps the row pending with an
error naming host:port. Tickets are made and mail is moved whatever SMTP does."""


import spocdtest as st


def message(n, lang="en"):
    if lang == "es":
        return st.make_message(f"usuario{n}@example.com", f"Teclado roto en el puesto {n}",
                               f"Hola,\r\n\r\nel teclado del puesto {n} tiene varias teclas que no responden.\r\n"
                               "¿Podéis cambiarlo?\r\n\r\nGracias\r\n", language="es-ES")
    return st.make_message(f"user{n}@example.com", f"Monitor flickering at desk {n}",
                           f"Hi,\r\n\r\nthe second monitor at desk {n} keeps flickering and goes black.\r\n"
                           "Could someone swap it?\r\n\r\nThanks\r\n", language="en-GB")


def outbox_of(s, requester):
    rows = s.sql("SELECT o.state, o.attempts, o.last_error, o.next_attempt_at > now(), o.id "
                 "FROM outbox o JOIN tickets t ON t.id = o.ticket_id WHERE t.requester = %s", (requester,))
    assert len(rows) == 1, f"expected one outbox row for {requester}, got {rows}"
    print(f"    outbox for {requester}: state={rows[0][0]} attempts={rows[0][1]} "
          f"last_error={rows[0][2]!r} next_attempt_in_future={rows[0][3]}")
    return rows[0]


def test(check):
    with st.Services(name="spocd-smtpfail") as s:
        # 451 to RCPT: temporary.
        s.smtp_mode("rcpt451")
        s.append(message(1))
        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 0, "451: spocd --once exits 0 (the cycle completed)")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 1, "451: the ticket exists")
        check.eq(s.folder_count("INBOX"), 0, "451: the message was moved")
        state, attempts, last_error, future, _ = outbox_of(s, "user1@example.com")
        check.eq((state, attempts), ("pending", 1), "451: row pending after 1 attempt")
        check.ok("451" in last_error, "451: last_error has the 451 reply", last_error)
        check.ok(future, "451: next_attempt_at is in the future")
        check.eq(len(s.captured()), 0, "451: nothing captured")
        check.ok(len(s.smtp_refused()) >= 1, "451: the listener saw the attempt")

        rc, out, err = s.run_spocd("--once")
        check.eq(outbox_of(s, "user1@example.com")[1], 1, "451: a run before next_attempt_at does not retry")

        s.smtp_mode("accept")
        s.sql("UPDATE outbox SET next_attempt_at = now()")
        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 0, "retry: spocd --once exits 0")
        state, attempts, last_error, future, _ = outbox_of(s, "user1@example.com")
        check.eq(state, "sent", "retry: row sent")
        check.eq(len(s.captured()), 1, "retry: sent once")
        rc, out, err = s.run_spocd("--once")
        check.eq(len(s.captured()), 1, "retry: still sent once after another run")

        # 550 to RCPT: permanent.
        s.smtp_mode("rcpt550")
        s.append(message(2, "es"))
        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 0, "550: spocd --once exits 0")
        state, attempts, last_error, future, _ = outbox_of(s, "usuario2@example.com")
        check.eq(state, "failed", "550: row failed")
        check.ok("550" in last_error, "550: last_error has the 550 reply", last_error)
        s.smtp_mode("accept")
        s.sql("UPDATE outbox SET next_attempt_at = now()")
        rc, out, err = s.run_spocd("--once")
        check.eq(outbox_of(s, "usuario2@example.com")[:2], ("failed", attempts), "550: a failed row is never retried")
        check.eq(len(s.captured()), 1, "550: nothing captured")

        # The server hangs up after the message data, before any reply: temporary, retried
        # with the same Message-ID.
        s.smtp_mode("drop")
        s.append(message(4))
        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 0, "drop after DATA: spocd --once exits 0")
        state, attempts, last_error, future, _ = outbox_of(s, "user4@example.com")
        check.eq((state, attempts), ("pending", 1), "drop after DATA: row pending after 1 attempt")
        check.ok(future, "drop after DATA: next_attempt_at is in the future")
        mid = s.sql_value("SELECT message_id FROM outbox WHERE recipient = 'user4@example.com'")
        s.smtp_mode("accept")
        s.sql("UPDATE outbox SET next_attempt_at = now() WHERE state = 'pending'")
        rc, out, err = s.run_spocd("--once")
        check.eq(outbox_of(s, "user4@example.com")[0], "sent", "drop after DATA: sent on the retry")
        again = [m for m in s.captured() if m.envelope["rcpt_tos"] == ["user4@example.com"]]
        check.eq(len(again), 1, "drop after DATA: one copy captured")
        check.eq(st.norm_id(again[0]["Message-ID"]), st.norm_id(mid),
                 "drop after DATA: the retry carries the row's Message-ID")

        # No listener at all.
        port = s.smtp_port
        s.stop_smtp()
        s.append(message(3))
        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 75, "no listener: spocd --once exits 75 (SMTP server unreachable)")
        check.ok(f"127.0.0.1:{port}" in err, f"no listener: stderr names 127.0.0.1:{port}", err)
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 4, "no listener: the ticket exists")
        check.eq(s.folder_count("INBOX"), 0, "no listener: the message was moved")
        state, attempts, last_error, future, _ = outbox_of(s, "user3@example.com")
        check.eq((state, attempts), ("pending", 1), "no listener: row pending after 1 attempt")
        check.ok(f"127.0.0.1:{port}" in last_error, f"no listener: last_error names 127.0.0.1:{port}", last_error)
        check.ok(future, "no listener: next_attempt_at is in the future")

        # The listener is back: the pending row goes out.
        s.start_smtp(mode="accept")
        s.sql("UPDATE outbox SET next_attempt_at = now() WHERE state = 'pending'")
        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 0, "listener back: spocd --once exits 0")
        check.eq(outbox_of(s, "user3@example.com")[0], "sent", "listener back: row sent")
        check.eq(len(s.captured()), 3, "listener back: 3 acknowledgements captured in all")
        check.eq(sorted(a.envelope["rcpt_tos"][0] for a in s.captured()),
                 ["user1@example.com", "user3@example.com", "user4@example.com"],
                 "acknowledged: user1, user3 and user4, never usuario2")


if __name__ == "__main__":
    st.main(test)
