#!/usr/bin/python3
"""Reading a window of mail on several threads (ingest.parse_threads), and the next batch while
one is written, changes nothing spocd stores.

The same mailbox (the project's own test messages, generated mail in both languages with
attachments, HTML, replies to mail earlier in the same batch and the same message twice, and
with ../shared/corpus present a third of its messages) is ingested twice on fresh services:
once read on the mailbox's thread alone (parse_threads = 1), once on four threads. Every
ticket, message, attachment, quarantined message and ingest outcome must be the same, field
by field, in the same order; the second run must say it read its windows on four threads.
Without the corpus, its part is skipped with the reason and the rest still runs.

With imap.batch_size = 1 each batch is read while the one before it is written: a reply still
threads onto the mail just before it, the mailbox's order holds, and nothing is read beside a
message over the 16 MiB fetch budget (fetched alone: the two windows held at once stay within
what one such message may)."""

import glob
import os
import re

import spocdtest as st

CORPUS = os.path.abspath(os.environ.get("SPOC_CORPUS") or
                         os.path.join(st.SOURCE_DIR, "..", "shared", "corpus"))

TICKETS = ("SELECT number, kind, kind_rule, priority, priority_rule, impact, urgency, language,"
           " team, status, subject, requester, requester_name, triage FROM tickets ORDER BY id")
MESSAGES = ("SELECT t.number, m.direction, m.message_id, m.message_id_synthetic, m.from_addr,"
            " m.from_name, m.subject, m.body_text, m.body_new, m.body_source, m.sender_verdict,"
            " m.automatic, m.raw_sha256, m.content_sha256"
            " FROM messages m LEFT JOIN tickets t ON t.id = m.ticket_id ORDER BY m.id")
ATTACHMENTS = ("SELECT m.raw_sha256, a.ordinal, a.name, a.content_type, a.size, a.sha256"
               " FROM attachments a JOIN messages m ON m.id = a.message_row"
               " ORDER BY m.id, a.ordinal")
QUARANTINE = "SELECT category, reason, raw_sha256 FROM quarantine ORDER BY id"
OUTCOMES = "SELECT uid, outcome, detail FROM ingest_log ORDER BY uid"


def mailbox():
    """The messages, in mailbox order, and how many came from the corpus (None: no corpus)."""
    own = sorted(glob.glob(os.path.join(st.SOURCE_DIR, "tests", "data", "**", "*.eml"),
                           recursive=True))
    msgs = [open(p, "rb").read() for p in own]
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"
    for i in range(60):
        who = f"user{i % 7}@example.com"
        if i % 3 == 0:
            m = st.make_message(who, f"La impresora {i} no imprime",
                                f"Hola,\r\nla impresora de la sala {i} no imprime desde ayer.\r\n"
                                "Gracias\r\n", message_id=f"<gen{i}@example.com>")
        elif i % 3 == 1:
            m = st.make_message(who, f"Need access to share {i}",
                                f"Please grant me access to the finance share {i}.\r\n",
                                html=f"<p>Please grant me <b>access</b> to share {i}.</p>",
                                attachments=[("form.pdf", "application/pdf", pdf)],
                                message_id=f"<gen{i}@example.com>")
        else:
            # a reply by the same requester to the mail before it, often in the same batch
            m = st.make_message(f"user{(i - 1) % 7}@example.com", f"Re: Need access to share {i - 1}",
                                "It still does not work.\r\n\r\n> Please grant me access.\r\n",
                                in_reply_to=f"<gen{i - 1}@example.com>",
                                references=[f"<gen{i - 1}@example.com>"])
        msgs.append(m)
    msgs.append(msgs[-5])  # the same message twice
    corpus = None
    if os.path.isdir(os.path.join(CORPUS, "messages")):
        files = sorted(glob.glob(os.path.join(CORPUS, "messages", "*", "*.eml")))[::3]
        msgs += [open(p, "rb").read() for p in files]
        corpus = len(files)
    return msgs, corpus


def ingest(check, msgs, threads):
    """What the database holds after one --once run over msgs read on threads threads."""
    with st.Services(name=f"spocd-parse-threads-{threads}") as s:
        for m in msgs:
            s.append(m)
        conf = s.write_config(name=f"threads{threads}.conf", imap__batch_size=50,
                              ingest__parse_threads=threads, log_level="debug")
        rc, out, err = s.run_spocd("--role", "ingest", "--once", config=conf, quiet=True,
                                   timeout=600)
        check.ok(rc == 0, f"parse_threads = {threads}: the run exits 0 (exit {rc})", err[-3000:])
        said = [tuple(int(n) for n in m.groups()) for m in
                re.finditer(r"read (\d+) of (\d+) message\(s\) on (\d+) thread\(s\)", out + err)]
        check.ok(said and all(t == min(threads, todo) for _, todo, t in said),
                 f"parse_threads = {threads}: each window is read on {threads} thread(s)"
                 " (fewer only for a window of fewer messages)", repr(said[:5]))
        check.eq(sum(read for read, _, _ in said), sum(todo for _, todo, _ in said),
                 f"parse_threads = {threads}: every message of every window is read")
        check.eq(s.folder_count("INBOX"), 0, f"parse_threads = {threads}: INBOX is empty")
        return {name: s.sql(sql) for name, sql in
                (("tickets", TICKETS), ("messages", MESSAGES), ("attachments", ATTACHMENTS),
                 ("quarantine", QUARANTINE), ("outcomes", OUTCOMES))}


def read_ahead(check):
    big = st.make_message("grande@example.com", "Informe enorme", "Adjunto el informe.\r\n",
                          attachments=[("informe.bin", "application/octet-stream", os.urandom(13 * 1024 * 1024))])
    first = st.make_message("uno@example.com", "Primero", "El primero.\r\n", message_id="<ahead-1@example.com>")
    reply = st.make_message("uno@example.com", "Re: Primero", "Sigue sin ir.\r\n",
                            in_reply_to="<ahead-1@example.com>", references=["<ahead-1@example.com>"])
    third = st.make_message("dos@example.com", "Tercero", "El tercero.\r\n")
    with st.Services(name="spocd-read-ahead") as s:
        uids = [s.append(m) for m in (first, reply, big, third)]
        conf = s.write_config(name="ahead.conf", imap__batch_size=1, log_level="debug")
        rc, out, err = s.run_spocd("--role", "ingest", "--once", config=conf, quiet=True, timeout=300)
        check.ok(rc == 0, f"batches of one: the run exits 0 (exit {rc})", err[-3000:])
        ahead = [tuple(int(n) for n in m.groups()) for m in
                 re.finditer(r"reading uid (\d+)\.\.\d+ ahead while uid (\d+)\.\.\d+ are written", out + err)]
        check.eq(ahead, [(uids[1], uids[0]), (uids[2], uids[1])],
                 "each batch is read while the one before it is written, but for the one after the "
                 "message over the fetch budget")
        check.eq(s.sql("SELECT uid, outcome FROM ingest_log ORDER BY uid"),
                 [(uids[0], "ticket"), (uids[1], "reply"), (uids[2], "ticket"), (uids[3], "ticket")],
                 "the reply read while its original was written threads onto it; every mail is taken")
        check.eq(s.sql_value("SELECT count(*) FROM ingest_attempts"), 0, "no attempt left marked")
        check.eq(s.folder_count("INBOX"), 0, "INBOX is empty")


def test(check):
    msgs, corpus = mailbox()
    if corpus is None:
        print(f"SKIP: corpus part: no corpus at {CORPUS} (set SPOC_CORPUS); "
              f"the project's own {len(msgs)} messages still run")
    else:
        st.log(f"{len(msgs)} messages, {corpus} of them from the corpus")
    one = ingest(check, msgs, 1)
    four = ingest(check, msgs, 4)
    outcomes = {}
    for row in one["outcomes"]:
        outcomes[row[1]] = outcomes.get(row[1], 0) + 1
    st.log(f"outcomes: {outcomes}")
    check.eq(len(one["outcomes"]), len(msgs), "every message has its outcome")
    check.ok(len(one["tickets"]) > 50 and len(one["messages"]) > len(msgs) // 2,
             f"the mailbox makes tickets ({len(one['tickets'])}) and messages ({len(one['messages'])})")
    check.ok(any(row[1] == "duplicate" for row in one["outcomes"]), "the message sent twice is a duplicate")
    check.ok(sum(1 for row in one["outcomes"] if row[1] == "reply") >= 15,
             "the replies thread, some onto mail of their own batch")
    for name in one:
        differ = [(i, a, b) for i, (a, b) in enumerate(zip(one[name], four[name])) if a != b]
        check.eq(len(four[name]), len(one[name]), f"{name}: as many rows on 4 threads as on 1")
        check.eq(differ[:3], [], f"{name}: every row the same on 4 threads as on 1")
    read_ahead(check)


if __name__ == "__main__":
    st.main(test)
