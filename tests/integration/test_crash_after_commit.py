#!/usr/bin/python3
"""A crash between the database COMMIT and the IMAP move (SPOCD_FAULT=crash-after-commit makes
spocd SIGKILL itself there) loses nothing and duplicates nothing: the message stays in INBOX,
committed once; the next normal run recognises it by (mailbox, UIDVALIDITY, UID), does not make a
second ticket, sends exactly one acknowledgement and empties INBOX."""

import signal

import spocdtest as st


def test(check):
    raw = st.make_message(
        "l.moreau@example.com", "VPN disconnects every 10 minutes",
        "Hi,\r\n\r\nsince yesterday the VPN client drops the connection roughly every ten minutes\r\n"
        "and I have to log in again. I am working from home this week. Could you have a look?\r\n\r\n"
        "Thanks,\r\nLaurent Moreau\r\n", from_name="Laurent Moreau", language="en-GB")
    with st.Services(name="spocd-crash") as s:
        uid = s.append(raw)
        rc, out, err = s.run_spocd("--once", env={"SPOCD_FAULT": "crash-after-commit"})
        check.eq(rc, -signal.SIGKILL, "the faulted run dies by SIGKILL")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 1, "the ticket was committed")
        check.eq(s.sql("SELECT raw FROM messages WHERE direction = 'in'"), [(raw,)], "the message was committed")
        check.eq(s.sql("SELECT uid, outcome FROM ingest_log"), [(uid, "ticket")], "ingest_log has the UID")
        check.eq(s.folder_uids("INBOX"), [uid], "the message is still in INBOX")
        check.eq(s.folder_count("spocd/processed"), 0, "nothing was moved")
        check.eq(len(s.captured()), 0, "no acknowledgement was sent before the crash")

        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 0, "the next normal run exits 0")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 1, "still exactly one ticket")
        check.eq(s.sql_value("SELECT count(*) FROM messages WHERE direction = 'in'"), 1, "still one 'in' message")
        check.eq(s.sql_value("SELECT count(*) FROM ingest_log"), 1, "still one ingest_log row")
        check.eq(len(s.captured()), 1, "exactly one acknowledgement captured")
        check.eq(s.sql("SELECT state FROM outbox"), [("sent",)], "one outbox row, sent")
        check.eq(s.folder_count("INBOX"), 0, "INBOX is empty")
        check.eq(s.folder_count("spocd/processed"), 1, "the message is in spocd/processed")

        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 0, "a third run exits 0")
        check.eq(len(s.captured()), 1, "and sends nothing more")


if __name__ == "__main__":
    st.main(test)
