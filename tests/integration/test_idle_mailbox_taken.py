#!/usr/bin/python3
"""A daemon whose pass finds another spocd working the mailbox keeps running and takes the mail
later. Such a pass selects nothing; going into IDLE on that session made libetpan write through
the selection it assumes (mailimap_idle on an unselected session: SIGSEGV), so the second of two
instances on one mailbox died whenever it looked while the first was busy: when one starts while
another is in a pass (a restart after a crash, a second host). Here a `spocd --once` holds the
mailbox through a slow pass (SPOCD_FAULT=slow-message) while the daemon starts; the daemon must
live through its first look, wait for its next poll, and then take a mail appended afterwards."""

import time

import spocdtest as st

SLOW = 5


def mail(i):
    return st.make_message(f"user{i}@example.com", f"El puesto {i} no tiene red",
                           f"Hola,\r\n\r\nel puesto {i} no tiene red desde esta mañana.\r\n\r\nGracias\r\n")


def test(check):
    with st.Services(name="spocd-idle-taken") as s:
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
        for i in range(SLOW):
            s.append(mail(i))
        slow = s.start_spocd("--once", name="slow-once", env={"SPOCD_FAULT": "slow-message:1500"})
        st.wait_for(lambda: s.sql_value("SELECT count(*) FROM ingest_attempts") > 0, 30,
                    "the slow --once is in its pass", detail=slow.tail)
        conf = s.write_config(name="daemon.conf", imap__poll_interval=2)
        d = s.start_spocd(config=conf, name="daemon")
        # "ready" follows the first pass (and the IDLE after it); whichever lock or lease keeps
        # one spocd per mailbox, the --once still in its pass then means the mailbox was taken
        check.wait_for(lambda: " ready: " in d.text() or d.poll() is not None,
                       30, "the daemon made its first pass (or died)", detail=d.tail)
        check.ok(slow.poll() is None, "the slow --once was still in its pass then: the mailbox was taken",
                 slow.tail())
        check.eq(slow.wait(timeout=60), 0, "the slow --once finishes its pass")
        time.sleep(1)  # a dead daemon would have died right after that first pass
        check.ok(d.poll() is None, "the daemon is still running after a pass that selected nothing",
                 d.tail())
        check.ok("AddressSanitizer" not in d.text(), "and reported no memory error", d.tail())
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), SLOW, f"the --once made {SLOW} tickets")
        s.append(mail(99))
        check.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets WHERE requester = 'user99@example.com'")
                       == 1, 30, "the daemon takes a mail appended afterwards", detail=d.tail)
        check.ok(d.poll() is None, "the daemon is still running", d.tail())
        check.eq(d.stop(), 0, "the daemon stops cleanly on SIGTERM")


if __name__ == "__main__":
    st.main(test)
