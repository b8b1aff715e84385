#!/usr/bin/python3
"""Mail that arrives while a pass is running is taken at once, not at the next poll.

Dovecot announces a new message (EXISTS) in the responses to whatever command is running when it
arrives: during a pass that is a FETCH or a MOVE. When the pass ends and spocd goes back to IDLE,
the server has nothing new to say, so without a fresh look those mails would wait for the poll
interval (ten minutes here). The test appends mails while a long pass is under way, from a second
connection, and requires every one to become a ticket within seconds."""

import time

import spocdtest as st

EARLY = 120
LATE = 6


def mail(i, tag):
    return st.make_message(f"user{i}@example.com", f"{tag} {i}: no arranca el portátil",
                           f"Hola,\r\n\r\nel portátil {i} no arranca desde esta mañana.\r\n\r\nGracias\r\n")


def test(check):
    with st.Services(name="spocd-idle-wakeup") as s:
        check.eq(s.run_spocd("--once")[0], 0, "first run on an empty mailbox")
        for i in range(EARLY):
            s.append(mail(i, "early"))
        conf = s.write_config(name="idle.conf", imap__poll_interval=600, imap__batch_size=10)
        d = s.start_spocd(config=conf, name="idle")
        try:
            # the pass has begun: the first batch is committed and the rest are still in INBOX
            st.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets") >= 1, 30,
                        "the daemon's first pass commits its first batch", step=0.02)
            for i in range(LATE):
                s.append(mail(i, "late"))
            during = s.sql_value("SELECT count(*) FROM tickets")
            check.ok(during < EARLY, f"the late mails went in while the pass was running "
                     f"({during} of {EARLY} early mails were tickets then)")
            start = time.monotonic()
            check.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets WHERE subject LIKE 'late %%'")
                           == LATE, 30, "every mail appended during the pass becomes a ticket "
                           "without waiting for the 600 s poll")
            took = time.monotonic() - start
            check.eq(s.sql_value("SELECT count(*) FROM tickets"), EARLY + LATE,
                     "every mail is one ticket")
            # the move follows the COMMIT that made the last tickets
            check.wait_for(lambda: s.folder_uids("INBOX") == [], 10, "INBOX is empty afterwards")
            print(f"  late mails were tickets {took:.2f}s after they were appended", flush=True)
        finally:
            d.stop()


if __name__ == "__main__":
    st.main(test)
