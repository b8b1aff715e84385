#!/usr/bin/python3
"""The harness's mdbox Dovecot (Services(mail_format="mdbox"), which bench/ingest uses for the
100,000-message INBOX) is a real mdbox and spocd works against it: mail is stored in mdbox's
storage files, not in a maildir; append_many() loads several messages in one APPEND command
and returns their UIDs in order; spocd --once makes the good mails tickets and moves them to
spocd/processed, and quarantines a message with no header block into spocd/failed, both folders
created by spocd in the mdbox, with every message's bytes intact. An unknown format is refused
by name, and maildir_new() refuses to hand out a maildir that does not exist."""

import os

import spocdtest as st

NO_HEADERS = (b"this is not an email message at all\r\n"
              b"just lines of text a broken script sent - there is no header block here\r\n")


def good(i):
    return st.make_message(f"usuario{i}@example.com", f"La impresora de la planta {i} no imprime",
                           f"Hola,\r\n\r\nla impresora de la planta {i} muestra el error 49.4C02.\r\n")


def test(check):
    try:
        st.Services(name="spocd-mdbox", mail_format="mbox")
        refused = ""
    except ValueError as e:
        refused = str(e)
    check.ok("mail_format='mbox'" in refused and "mdbox" in refused,
             "an unknown mailbox format is refused by name", refused)

    with st.Services(name="spocd-mdbox", mail_format="mdbox") as s:
        with open(s.dovecot_conf) as f:
            check.ok("mail_location = mdbox:~/mdbox\n" in f.read(), "Dovecot is configured for mdbox")
        try:
            s.maildir_new("INBOX")
            refused = ""
        except RuntimeError as e:
            refused = str(e)
        check.ok("mdbox" in refused, "maildir_new() refuses an mdbox store", refused)

        mails = [good(1), good(2), NO_HEADERS, good(3), good(4)]
        uids = s.append_many(mails)
        check.eq(len(uids), 5, "append_many() returns one UID per message")
        check.eq(uids, list(range(uids[0], uids[0] + 5)), "the UIDs follow the order of the messages")
        check.eq(s.folder_uids("INBOX"), uids, "INBOX holds those UIDs")
        check.eq(s.fetch_raw("INBOX", uids[3]), mails[3], "a message reads back byte for byte")
        storage = os.path.join(s.mail_home, "mdbox", "storage")
        check.ok(any(n.startswith("m.") for n in os.listdir(storage)),
                 "the mail is in mdbox storage files", os.listdir(storage))
        check.ok(not os.path.exists(os.path.join(s.mail_home, "Maildir")), "no maildir was made")

        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 0, "spocd --once exits 0")
        check.eq(sorted(r[0] for r in s.sql("SELECT requester FROM tickets")),
                 [f"usuario{i}@example.com" for i in range(1, 5)], "a ticket per good mail")
        check.eq(s.sql("SELECT uid FROM quarantine"), [(uids[2],)], "the mail with no header block is quarantined")
        check.eq(s.folder_count("INBOX"), 0, "INBOX is drained")
        processed = s.folder_uids("spocd/processed")
        check.eq(sorted(s.fetch_raw("spocd/processed", u) for u in processed),
                 sorted(m for m in mails if m is not NO_HEADERS), "spocd/processed holds the four good mails")
        failed = s.folder_uids("spocd/failed")
        check.eq([s.fetch_raw("spocd/failed", u) for u in failed], [NO_HEADERS],
                 "spocd/failed holds the quarantined mail")
        for folder in ("processed", "failed"):
            path = os.path.join(s.mail_home, "mdbox", "mailboxes", "spocd", folder, "dbox-Mails")
            check.ok(os.path.isdir(path), f"spocd/{folder} is an mdbox folder", path)
        check.eq(len(s.captured()), 4, "four acknowledgements")


if __name__ == "__main__":
    st.main(test)
