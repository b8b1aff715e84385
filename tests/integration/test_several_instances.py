#!/usr/bin/python3
"""Three spocd instances share six mailboxes and one outbox, while instances die and come back.

a and b run everything (--role all), c only reads mail (--role ingest); all three have the same
six mailboxes. Mail streams into the six folders. Meanwhile the instance holding the most
mailboxes is killed (SIGKILL) and started again, and another is stopped cleanly (SIGTERM).

Checked:
- every mail is exactly one ticket and one message row, and each folder's mail went to that
  mailbox's processed folder once;
- a mailbox is read by one instance at a time: no mail is logged as taken by two instances
  (the killed one aside: it logs a mail before its batch commits), and every lease ends held
  by a live instance or released;
- the killed and the stopped instances' mailboxes were taken over by the others (their mail
  after the kill is logged by another instance), the mailboxes' fencing numbers grew;
- the two notifiers share the outbox: every requester got an acknowledgement, and one sent
  twice (a notifier killed between the SMTP server's acceptance and its "sent" mark) keeps its
  Message-ID."""

import re
import signal
import threading
import time
from collections import Counter

import spocdtest as st

BOXES = 6
MAILS = 180
RATE = 15  # mails appended per second, round robin over the folders


def folder(i):
    return "INBOX" if i == 0 else f"Desk{i + 1}"


def mail(n):
    return st.make_message(f"user{n}@example.com", f"several {n}: no puedo entrar en la intranet",
                           f"Hola,\r\n\r\nno puedo entrar en la intranet ({n}).\r\n\r\nGracias\r\n",
                           message_id=f"<several-{n}@example.com>")


def taken(d):
    """(mailbox, Message-ID) of every mail this instance logged as taken."""
    return re.findall(r"mailbox (mb\d) uid \d+ (<several-\d+@example\.com>): (?:ticket|reply)",
                      d.text())


def holders(s):
    return {name: (holder, fencing) for name, holder, fencing in
            s.sql("SELECT name, holder, fencing FROM leases WHERE name LIKE 'mailbox:%%' "
                  "AND expires_at > now()")}


def test(check):
    with st.Services(name="spocd-several") as s:
        for i in range(1, BOXES):
            s._client().create(folder(i))
        conf = s.write_mailboxes_config(
            boxes=[{"name": f"mb{i + 1}", "mailbox": folder(i), "poll_interval": 1,
                    "batch_size": 10, "processed_folder": f"spocd/processed{i + 1}",
                    "failed_folder": f"spocd/failed{i + 1}"} for i in range(BOXES)],
            name="several.conf", ingest__lease_seconds=3)
        check.eq(s.run_spocd("--migrate", config=conf)[0], 0, "schema in place")
        env = {"SPOCD_FAULT": "slow-message:20"}  # batches long enough to be cut by a kill
        daemons = {"a": s.start_spocd(config=conf, name="a", env=env),
                   "b": s.start_spocd(config=conf, name="b", env=env),
                   "c": s.start_spocd("--role", "ingest", config=conf, name="c", env=env)}
        gone = []  # the instances stopped or killed, with what they had logged

        def producer():
            for n in range(MAILS):
                s.append(mail(n), mailbox=folder(n % BOXES))
                time.sleep(1 / RATE)

        t = threading.Thread(target=producer)
        t.start()
        try:
            st.wait_for(lambda: len(holders(s)) == BOXES, 30, "every mailbox has a worker")
            time.sleep(3)
            # the one holding the most mailboxes dies
            pids = {d.p.pid: k for k, d in daemons.items()}
            count = Counter(pids.get(int(h.split(":")[1])) for h, _ in holders(s).values())
            victim = count.most_common(1)[0][0]
            held = sorted(n for n, (h, _) in holders(s).items() if int(h.split(":")[1]) ==
                          daemons[victim].p.pid)
            fencing_before = {n: f for n, (_, f) in holders(s).items()}
            st.log(f"killing {victim}, holding {held}")
            killed_at = len(s.sql("SELECT 1 FROM ingest_log"))
            daemons[victim].p.send_signal(signal.SIGKILL)
            daemons[victim].p.wait()
            gone.append(daemons.pop(victim))
            check.wait_for(lambda: all(n in holders(s) and int(holders(s)[n][0].split(":")[1])
                                       in {d.p.pid for d in daemons.values()} for n in held),
                           15, f"the others take over {victim}'s mailboxes")
            check.ok(all(holders(s)[n][1] > fencing_before[n] for n in held),
                     "each mailbox taken over has a higher fencing number")
            time.sleep(2)
            daemons[victim + "2"] = s.start_spocd(config=conf, name=victim + "2", env=env)
            time.sleep(2)
            # another stops cleanly: its mailboxes are released, not left to expire
            other = next(k for k in daemons if k != victim + "2")
            st.log(f"stopping {other}")
            daemons[other].stop()
            gone.append(daemons.pop(other))
            t.join()
            check.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets") >= MAILS, 90,
                           "every mail becomes a ticket")
            check.wait_for(lambda: all(s.folder_count(folder(i)) == 0 for i in range(BOXES)), 30,
                           "every folder is emptied")
            check.eq(s.sql_value("SELECT count(*) FROM tickets"), MAILS, "no ticket twice")
            check.eq(s.sql_value("SELECT count(*) FROM messages WHERE direction = 'in'"), MAILS,
                     "one message row per mail")
            check.eq([s.folder_count(f"spocd/processed{i + 1}") for i in range(BOXES)],
                     [MAILS // BOXES] * BOXES, "each mail in its own mailbox's processed folder once")

            # what an instance logs as taken is committed unless it was killed in that batch
            logged = Counter(mid for d in list(daemons.values()) + gone[1:] for _, mid in taken(d))
            check.eq([m for m, n in logged.items() if n > 1], [],
                     "no mail taken by two of the instances that were not killed")
            killed_took = {mid for _, mid in taken(gone[0])}
            check.eq(len(set(logged) | killed_took), MAILS, "every mail logged as taken")
            after_kill = {mb for d in daemons.values() for mb, _ in taken(d)}
            check.ok(set(f"mb{n.split(':mb')[1]}" for n in held) <= after_kill,
                     f"the killed instance's mailboxes {held} were worked by the others")
            check.ok(killed_at < MAILS, f"the kill came while mail was flowing ({killed_at} taken)")
            live = {d.p.pid for d in daemons.values()}
            stale = [n for n, (h, _) in holders(s).items() if int(h.split(":")[1]) not in live]
            check.eq(stale, [], "every live lease is held by a running instance")

            check.wait_for(lambda: len(s.copies_by_recipient()[0]) == MAILS, 60,
                           "every requester gets an acknowledgement")
            per, ids = s.copies_by_recipient()
            check.eq([r for r, n in per.items() if n > 2], [], "nobody gets three")
            check.eq([r for r in per if len(ids[r]) != 1], [],
                     "a repeated acknowledgement keeps its Message-ID")
            print(f"  {sum(1 for n in per.values() if n > 1)} acknowledgement(s) sent twice",
                  flush=True)
        finally:
            t.join()
            for d in daemons.values():
                d.stop()


if __name__ == "__main__":
    st.main(test)
