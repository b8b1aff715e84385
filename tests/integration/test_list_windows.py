#!/usr/bin/python3
"""What spocd holds for a pass does not grow with the mailbox: it lists UIDs, asks the database
about them and moves them one window of consecutive UIDs at a time, never the whole mailbox at
once. The window is 2,000 UIDs rounded down to a whole number of imap.batch_size (at least one
batch); the environment variable SPOCD_LIST_WINDOW, meant for tests only, makes it small here so
that 50 messages span many windows.

Checked against a real Dovecot whose rawlog records every command spocd sends:
  - 50 messages around two gaps wider than a window (the first UIDs of the folder and 600 UIDs
    in the middle expunged) and a window's worth of messages flagged \\Deleted, each message a
    reply to the one before: all taken, in UID order across the windows' seams, one ticket;
  - no command names more UIDs than a window holds (no "UID SEARCH UNDELETED" of the whole
    folder, no "*"), and the wide gap is jumped, not walked a window at a time;
  - without the variable, the window is 1,400 UIDs at imap.batch_size 700 (two batches);
  - a message that kills spocd in a later window is still taken alone after its crashes and
    quarantined after three, the messages around it taken once (the crash counts are read per
    window)."""

import re

import spocdtest as st

WINDOW = 7
GAP = 600
POISON = "POISON-window-3c1e"
# A command's UID or sequence set: numbers, ranges and commas.
SET = re.compile(r"^[0-9*][0-9:,*]*$")


def set_size(text):
    """How many numbers a set names; None when it is open-ended ("*")."""
    if "*" in text:
        return None
    n = 0
    for part in text.split(","):
        lo, _, hi = part.partition(":")
        n += abs(int(hi or lo) - int(lo)) + 1
    return n


def command_sets(line):
    """(command, [sets]) of one libetpan command line: the sets a UID command names (the UID
    SEARCH key's UID set or a bare sequence set, the set of UID FETCH/MOVE/COPY/STORE/EXPUNGE)."""
    words = line.split()[1:]
    if len(words) < 2 or words[0].upper() != "UID":
        return (" ".join(words[:1]).upper(), [])
    cmd = words[1].upper()
    if cmd == "SEARCH":
        sets = []
        for i, w in enumerate(words[2:], start=2):
            w = w.strip("()")
            if SET.match(w):
                sets.append(w)
        return ("UID SEARCH", sets)
    return (f"UID {cmd}", [words[2]] if len(words) > 2 else [])


def filler(s, n):
    return [s.append(st.make_message("filler@example.com", f"filler {i}", "x\r\n")) for i in range(n)]


def drop(s, uids, expunge=True):
    c = s._client()
    c.select("INBOX")
    c.uid("STORE", f"{uids[0]}:{uids[-1]}", "+FLAGS", "(\\Deleted)")
    if expunge:
        c.expunge()
    c.unselect()  # CLOSE would expunge what is only to be flagged


def windows_in_order(check):
    with st.Services(name="spocd-windows", imap_rawlog=True) as s:
        s.conf = s.write_config(imap__batch_size=3)
        mails, ids = [], []
        for i in range(50):
            mid = f"<window.{i}@example.com>"
            prev = ids[-1] if ids else None
            subject = "La VPN se corta cada diez minutos"
            mails.append(st.make_message(
                "marta.vidal@example.com", f"Re: {subject}" if prev else subject,
                f"Mensaje {i}: la VPN se ha vuelto a cortar a las 9:{i:02d}; sigo sin poder "
                f"trabajar desde casa.\r\n\r\nMarta\r\n",
                from_name="Marta Vidal", message_id=mid, in_reply_to=prev,
                references=[prev] if prev else None))
            ids.append(mid)
        drop(s, filler(s, 10))                       # the folder's first UIDs are long gone
        first = [s.append(m) for m in mails[:25]]
        drop(s, filler(s, GAP))                      # a gap of many windows
        deleted = filler(s, WINDOW + 3)
        drop(s, deleted, expunge=False)              # a window of \Deleted messages only
        second = [s.append(m) for m in mails[25:]]
        uids = first + second
        check.ok(uids[0] > WINDOW and second[0] - first[-1] > GAP, "the UIDs have the gaps wanted",
                 uids)

        rc, out, err = s.run_spocd("--once", env={"SPOCD_LIST_WINDOW": str(WINDOW)})
        check.ok(rc == 0, "spocd --once exits 0", err[-3000:])
        check.eq([r[0] for r in s.sql("SELECT uid FROM ingest_log ORDER BY id")], uids,
                 "every message taken once, in UID order across the windows")
        check.eq(s.sql("SELECT outcome, count(*) FROM ingest_log GROUP BY outcome ORDER BY 1"),
                 [("reply", 49), ("ticket", 1)], "each reply found the message before it: one ticket")
        check.eq(s.folder_uids("INBOX"), deleted, "INBOX keeps only the messages flagged \\Deleted")
        check.eq(s.folder_count("spocd/processed"), 50, "the 50 messages are in spocd/processed")

        commands = s.imap_commands()
        check.ok(any(" SELECT " in c for c in commands), "the rawlog holds spocd's session", commands[:5])
        too_wide = []
        searches = 0
        for line in commands:
            cmd, sets = command_sets(line)
            if cmd == "UID SEARCH":
                searches += 1
                if not sets:
                    too_wide.append(line)
            for one in sets:
                size = set_size(one)
                if size is None or size > WINDOW:
                    too_wide.append(line)
        check.eq(too_wide, [], f"no command names more than a window ({WINDOW}) of UIDs")
        check.ok(searches < GAP // WINDOW,
                 f"the {GAP}-UID gap is jumped, not searched a window at a time", searches)


def default_window(check):
    with st.Services(name="spocd-windows-default", imap_rawlog=True) as s:
        s.conf = s.write_config(imap__batch_size=700)
        uids = [s.append(st.make_message(f"user{i}@example.com", f"No arranca el equipo {i}",
                                         f"El equipo {i} no arranca.\r\n")) for i in range(3)]
        rc, out, err = s.run_spocd("--once")
        check.ok(rc == 0, "spocd --once exits 0", err[-3000:])
        check.eq([r[0] for r in s.sql("SELECT uid FROM ingest_log ORDER BY id")], uids, "the three are taken")
        searches = [c.split(" ", 1)[1] for c in s.imap_commands() if " UID SEARCH " in c]
        check.eq(searches, ["UID SEARCH UID 1:1400 UNDELETED"],
                 "one window of two batches of 700 lists the folder (UIDNEXT ends the pass)")


def poison_in_a_later_window(check):
    with st.Services(name="spocd-windows-poison") as s:
        s.conf = s.write_config(imap__batch_size=3)
        order = [st.make_message(f"user{i}@example.com", f"No funciona la pantalla {i}",
                                 f"La pantalla {i} parpadea.\r\n") for i in range(10)]
        order[6] = st.make_message("eve@example.com", f"Impresora {POISON}", "Texto.\r\n")
        uids = [s.append(m) for m in order]
        env = {"SPOCD_FAULT": f"crash-on-subject:{POISON}", "SPOCD_LIST_WINDOW": "4"}
        codes = []
        for _ in range(6):
            rc, out, err = s.run_spocd("--once", env=env)
            codes.append(rc)
            if rc == 0:
                break
        check.eq(codes, [-9, -9, -9, 0], "three runs die on the poison message, the fourth completes")
        check.eq(s.sql("SELECT uid FROM quarantine"), [(uids[6],)], "the poison message alone is quarantined")
        check.eq(sorted(r[0] for r in s.sql("SELECT uid FROM ingest_log WHERE outcome = 'ticket'")),
                 uids[:6] + uids[7:], "the nine others are tickets, once each")
        check.eq(s.folder_count("INBOX"), 0, "INBOX is drained")
        check.eq(s.sql_value("SELECT count(*) FROM ingest_attempts"), 0, "no attempt left open")


def test(check):
    windows_in_order(check)
    default_window(check)
    poison_in_a_later_window(check)


if __name__ == "__main__":
    st.main(test)
