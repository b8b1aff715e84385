#!/usr/bin/python3
"""What spocd keeps of a message, end to end against the real Dovecot and PostgreSQL: every
attachment with its sanitized name, size, SHA-256 and bytes (identical bytes stored once, an empty
file as an empty file), the inline image's Content-ID, a forwarded message as .eml with its text;
the new text apart from the quoted history; an attachment over parsing.max_attachment_bytes left out with a note while the
ticket is still created; a header over parsing.max_header_bytes quarantined, listed, shown and
replayed by spocctl (a replay that fails again says why; one that works creates exactly one ticket,
however often or however concurrently it is asked for); and spocctl's exit codes."""

import email.message
import email.policy
import hashlib
import json
import os
import subprocess
import threading

import spocdtest as st

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
LOGO = bytes.fromhex("89504e470d0a1a0a") + b"\x00" * 64


def forwarded():
    inner = st.make_message("monitor@example.com", "Backup job 12/7 failed: disk full",
                            "The nightly backup stopped: /srv is full.\r\n")
    outer = email.message.EmailMessage(policy=email.policy.SMTP)
    outer["From"] = "Ana Ruiz <ana.ruiz@example.com>"
    outer["To"] = "help@desk.test"
    outer["Subject"] = "Fwd: Backup job failed"
    outer["Message-ID"] = "<fwd-1@example.com>"
    outer["Date"] = "Mon, 23 Nov 2026 09:00:00 +0100"
    outer.set_content("Please look at the mail below; the backup did not run.\r\n")
    outer.add_attachment(email.message_from_bytes(inner, policy=email.policy.SMTP))
    return outer.as_bytes(policy=email.policy.SMTP)


def test(check):
    reply_body = ("Hi,\r\n\r\nthe printer on floor 2 still does not work after the restart.\r\n\r\n"
                  "On Mon, 23 Nov 2026 at 10:00, Help Desk <help@desk.test> wrote:\r\n"
                  "> Please restart the printer and tell us if it works.\r\n")
    with_files = st.make_message(
        "luis.gomez@example.com", "Printer still broken", reply_body,
        attachments=[("../../informe\u202egpj.pdf", "application/pdf", PDF),
                     ("logo.png", "image/png", LOGO)])
    same_pdf = st.make_message(
        "marta.diaz@example.com", "Same report", "I got the same report, attached.\r\n",
        attachments=[("informe.pdf", "application/pdf", PDF)])
    big = st.make_message(
        "pablo.ortiz@example.com", "Scanner error with log", "The scanner fails; log attached.\r\n",
        attachments=[("scan.log", "text/plain", b"x" * 5000), ("small.txt", "text/plain", b"ok\n")])
    huge_header = st.make_message(
        "eva.sanz@example.com", "VPN down", "The VPN does not connect since this morning.\r\n",
        extra_headers=[("X-Trace", " ".join(["hop%04d" % i for i in range(600)]))])

    with st.Services(name="spocd-fidelity") as s:
        conf = s.write_config(parsing={"max_attachment_bytes": 4096, "max_header_bytes": 2048})
        s.conf = conf
        # a part whose base64 body is empty: its bytes are no NUL-terminated string
        with open(os.path.join(st.SOURCE_DIR, "tests", "data", "mime", "empty-attachment.eml"), "rb") as f:
            empty = f.read()
        uids = [s.append(m) for m in (with_files, same_pdf, forwarded(), big, huge_header, empty)]
        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 0, "spocd --once exits 0")

        # attachments of the first message
        rows = s.sql("SELECT a.name, a.content_type, a.size, a.sha256, a.content_id, a.disposition,"
                     " a.origin, b.data FROM attachments a JOIN blobs b USING (sha256)"
                     " JOIN messages m ON m.id = a.message_row"
                     " WHERE m.from_addr = 'luis.gomez@example.com' ORDER BY a.ordinal")
        check.eq([(r[0], r[1], r[2]) for r in rows],
                 [("informegpj.pdf", "application/pdf", len(PDF)), ("logo.png", "image/png", len(LOGO))],
                 "attachments: sanitized names (no path, no bidi override), types and sizes")
        check.eq(rows[0][3], hashlib.sha256(PDF).hexdigest(), "the PDF's SHA-256")
        check.ok(bytes(rows[0][7]) == PDF and bytes(rows[1][7]) == LOGO, "the stored bytes are the files")
        check.eq(s.sql_value("SELECT count(*) FROM blobs WHERE sha256 = %s", (hashlib.sha256(PDF).hexdigest(),)),
                 1, "the PDF sent twice is stored once")
        check.eq(s.sql_value("SELECT count(*) FROM attachments WHERE sha256 = %s",
                             (hashlib.sha256(PDF).hexdigest(),)), 2, "and linked to both messages")

        new, quoted = s.sql("SELECT body_new, body_quoted FROM messages WHERE from_addr = 'luis.gomez@example.com'")[0]
        check.eq(new, "Hi,\n\nthe printer on floor 2 still does not work after the restart.",
                 "body_new is what the sender wrote now")
        check.ok(quoted.startswith("On Mon, 23 Nov 2026 at 10:00, Help Desk <help@desk.test> wrote:")
                 and "Please restart the printer" in quoted, "body_quoted holds the history", quoted)

        fwd = s.sql("SELECT a.name, a.origin, a.content_type, a.text FROM attachments a"
                    " JOIN messages m ON m.id = a.message_row WHERE m.message_id = 'fwd-1@example.com'")
        check.eq(len(fwd), 1, "the forward has one attachment")
        check.eq(fwd[0][:3], ("Backup job 12-7 failed_ disk full.eml", "message", "message/rfc822"),
                 "the forwarded message is kept as an .eml named after its subject")
        check.ok("/srv is full" in fwd[0][3], "its text is stored for search", fwd[0][3])
        check.eq(s.sql_value("SELECT body_new FROM messages WHERE message_id = 'fwd-1@example.com'"),
                 "Please look at the mail below; the backup did not run.", "the forward's own text is the body")

        # an attachment over the limit: ticket created, the file left out with a note
        t = s.sql("SELECT t.display, m.left_out FROM messages m JOIN tickets t ON t.id = m.ticket_id"
                  " WHERE m.from_addr = 'pablo.ortiz@example.com'")
        check.eq(len(t), 1, "the message with a too-large attachment became a ticket")
        check.ok(len(t[0][1]) == 1 and "scan.log" in t[0][1][0] and "max_attachment_bytes" in t[0][1][0],
                 "left_out names the file and the limit", t[0][1])
        check.eq(s.sql("SELECT a.name FROM attachments a JOIN messages m ON m.id = a.message_row"
                       " WHERE m.from_addr = 'pablo.ortiz@example.com'"), [("small.txt",)],
                 "the small attachment is kept")

        # a header over the limit: quarantined
        q = s.sql("SELECT id, mailbox, uid, reason FROM quarantine")
        check.eq(len(q), 1, "one message quarantined")
        qid = q[0][0]
        check.eq((q[0][1], q[0][2]), ("INBOX", uids[4]), "from INBOX, the huge header's UID")
        check.ok(q[0][3].startswith("header over max_header_bytes ("), "reason names the limit", q[0][3])
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 5, "five tickets")
        check.eq(s.sql("SELECT a.name, a.size, octet_length(b.data) FROM attachments a JOIN blobs b USING (sha256)"
                       " JOIN messages m ON m.id = a.message_row"
                       " WHERE m.message_id = 'empty-attachment-1@example.com'"), [("report.ps", 0, 0)],
                 "an empty attachment is kept as an empty file")

        rc, out, err = s.run_spocctl("quarantine", "list")
        check.eq(rc, 0, "quarantine list exits 0")
        check.ok(b"header over max_header_bytes" in out and str(qid).encode() in out,
                 "the list shows the entry and its reason", out.decode())
        rc, out, err = s.run_spocctl("--json", "quarantine", "list")
        entries = json.loads(out)
        check.eq([(e["id"], e["uid"], e["replayed_at"]) for e in entries], [(qid, uids[4], None)],
                 "quarantine list --json")
        rc, out, err = s.run_spocctl("quarantine", "show", str(qid))
        check.ok(rc == 0 and b"Subject:    VPN down" in out and b"eva.sanz@example.com" in out,
                 "quarantine show names sender, subject and reason", out.decode())
        rc, out, err = s.run_spocctl("quarantine", "show", str(qid), "--raw")
        check.ok(rc == 0 and out == huge_header, "quarantine show --raw gives the bytes as received")

        # replay with the same limit fails again, says why, keeps the entry
        rc, out, err = s.run_spocctl("quarantine", "replay", str(qid))
        check.eq(rc, 1, "a replay that still fails exits 1")
        check.ok("header over max_header_bytes" in err, "and says why", err)
        check.ok(s.sql_value("SELECT replay_error FROM quarantine WHERE id = %s", (qid,)).startswith("header over"),
                 "the failed replay's reason is stored on the entry")

        # with the limit raised, two concurrent replays create one ticket
        raised = s.write_config("raised.conf", parsing={"max_attachment_bytes": 4096, "max_header_bytes": 65536})
        results = []

        def replay():
            results.append(s.run_spocctl("--json", "quarantine", "replay", str(qid), config=raised))

        threads = [threading.Thread(target=replay) for _ in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        check.eq(sorted(r[0] for r in results), [0, 0], "both replays exit 0")
        answers = sorted((json.loads(r[1]) for r in results), key=lambda a: a["already"])
        check.eq([(a["outcome"], a["already"]) for a in answers], [("ticket", False), ("ticket", True)],
                 "one replay made the ticket, the other found it replayed")
        check.eq(answers[0]["ticket"], answers[1]["ticket"], "both name the same ticket")
        check.eq(s.sql_value("SELECT count(*) FROM tickets WHERE requester = 'eva.sanz@example.com'"), 1,
                 "exactly one ticket for the replayed message")
        check.eq(s.sql("SELECT outcome, ticket_id IS NOT NULL FROM ingest_log WHERE uid = %s", (uids[4],)),
                 [("ticket", True)], "its ingest_log row now says ticket")
        check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE recipient = 'eva.sanz@example.com'"), 1,
                 "and its acknowledgement is queued once")
        rc, out, err = s.run_spocctl("quarantine", "list")
        check.ok(rc == 0 and b"No message waits" in out, "nothing waits in the quarantine any more", out.decode())
        rc, out, err = s.run_spocctl("quarantine", "replay", str(qid), config=raised)
        check.ok(rc == 0 and b"already replayed" in out, "a third replay says it was replayed", out.decode())

        # inspect from standard input, no database needed
        rc, out, err = s.run_spocctl("inspect", "-", config=False, stdin=with_files)
        doc = json.loads(out)
        check.eq(rc, 0, "inspect - exits 0")
        check.eq([(a["name"], a["size"]) for a in doc["attachments"]],
                 [("informegpj.pdf", len(PDF)), ("logo.png", len(LOGO))], "inspect lists the attachments")
        check.eq(doc["headers"]["from"]["address"], "luis.gomez@example.com", "inspect: from")
        check.eq(doc["body"]["new"], new, "inspect's new text is what was stored")

        # exit codes
        check.eq(s.run_spocctl("quarantine", "show", "999999")[0], 1, "an unknown entry exits 1")
        check.eq(s.run_spocctl("quarantine", "frobnicate")[0], 2, "an unknown subcommand exits 2")
        check.eq(s.run_spocctl("quarantine", "show", "abc")[0], 2, "a bad ID exits 2")
        dead = s.write_config("dead.conf", database={"conninfo": f"host=127.0.0.1 port={st.free_port()} dbname=x connect_timeout=3"})
        check.eq(s.run_spocctl("quarantine", "list", config=dead)[0], 75, "an unreachable database exits 75")
        rc, out, err = s.run_spocctl("inspect", "/nonexistent.eml", config=False)
        check.ok(rc == 1 and "nonexistent.eml" in err, "a missing file exits 1 and is named", err)


if __name__ == "__main__":
    st.main(test)
