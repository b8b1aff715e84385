#!/usr/bin/python3
"""The notifier against a real SMTP listener and PostgreSQL:

- a status change written by plain SQL (and one rolled back) queues exactly one update per
  participant in the same transaction, sent once, in the requester's language, threaded onto
  what the requester last saw, with every header the desk promises (HMAC Message-ID, Reply-To
  token, Auto-Submitted, X-Auto-Response-Suppress, loop header, VERP envelope sender);
- a daemon with a poll interval of minutes is woken by NOTIFY and sends that update at once;
- a bounce that comes back to the VERP address alone (quoting nothing) is tied to its row;
- a notifier killed in the middle of its work never sends again what it marked sent and loses
  nothing, and with notify.batch_size = 1 (every mail recorded before the next is sent) sends at
  most the one in flight twice (test_notifier_batch.py kills one in the middle of a larger
  batch); two notifiers at once, each claiming batches of 4, send each message once;
- a temporary failure older than smtp.max_retry_age is given up; an address with CR LF written
  into the database never reaches the SMTP server;
- a STARTTLS certificate for the wrong host is refused before anything else is said (no EHLO
  after the handshake, so no AUTH)."""

import datetime
import email.utils
import os
import re
import signal
import time

import spocdtest as st


def ids(msgs):
    return [m["Message-ID"].strip("<>") for m in msgs]


def notifier(s, conf, name):
    return s.start_spocd("--role", "notify", "--once", config=conf, name=name)


def sql_status_change(check, s):
    check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
    rc, out, err = s.run_spocctl("kb", "add", "--title", "La impresora no imprime: qué comprobar", "--language", "es",
                                 "--url", "https://kb.desk.test/impresora", "--body-file", "-",
                                 stdin="Si la impresora de su planta no imprime, compruebe el papel y el tóner y "
                                       "reinicie la impresora.".encode())
    check.eq(rc, 0, "kb add")
    rc, out, err = s.run_spocctl("kb", "add", "--title", "Cómo pedir acceso a la VPN", "--language", "es",
                                 "--body-file", "-", stdin="Solicite el acceso a la VPN desde el portal.".encode())
    check.eq(rc, 0, "kb add (another)")
    s.append(st.make_message("lucia.vidal@example.com", "No funciona la impresora de la planta 2",
                             "Hola,\r\n\r\nla impresora de la planta 2 no imprime desde ayer.\r\n\r\nLucía\r\n",
                             from_name="Lucía Vidal", language="es-ES"))
    s.append(st.make_message("tom.baker@example.com", "Laptop screen flickers",
                             "Hi,\r\n\r\nmy laptop screen keeps flickering since the update.\r\n\r\nTom\r\n",
                             from_name="Tom Baker", language="en-GB"))
    rc, out, err = s.run_spocd("--once")
    check.eq(rc, 0, "two mails: spocd --once")
    acks = s.captured()
    check.eq(len(acks), 2, "two acknowledgements")
    es_ticket = s.sql_value("SELECT display FROM tickets WHERE requester = 'lucia.vidal@example.com'")
    en_ticket = s.sql_value("SELECT display FROM tickets WHERE requester = 'tom.baker@example.com'")
    ack_es = next(m for m in acks if "lucia.vidal" in m["To"])
    ack_en = next(m for m in acks if "tom.baker" in m["To"])
    check.ok("Mientras tanto, quizá esto ya responda a su consulta:\n\n"
             "- La impresora no imprime: qué comprobar <https://kb.desk.test/impresora>\n\n"
             "Si desea" in ack_es.get_content().replace("\r\n", "\n"), "ack suggests the matching article",
             repr(ack_es.get_content()))
    check.ok("VPN" not in ack_es.get_content(), "and not the unrelated one")
    check.ok("In the meantime" not in ack_en.get_content() and "impresora" not in ack_en.get_content(),
             "an English laptop problem gets no printer article and no empty heading", ack_en.get_content())

    # Plain SQL, as any client would write it; one change rolled back must leave nothing.
    s.sql("UPDATE tickets SET status = 'in-progress' WHERE display = %s", (es_ticket,))
    s.sql("UPDATE tickets SET status = 'resolved' WHERE display = %s", (en_ticket,))
    s.sql("BEGIN; UPDATE tickets SET status = 'closed' WHERE display = '%s'; ROLLBACK" % es_ticket)
    s.sql("UPDATE tickets SET subject = subject || ' ' WHERE display = %s", (es_ticket,))
    check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE kind = 'status'"), 2,
             "SQL: one update queued per status change (none for the rolled-back one or a subject edit)")
    check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE kind = 'status' AND message_id IS NULL"), 2,
             "SQL: queued without a Message-ID (the notifier mints it)")
    rc, out, err = s.run_spocd("--role", "notify", "--once")
    check.eq(rc, 0, "notifier --once")
    new = s.captured()[2:]
    check.eq(len(new), 2, "exactly two updates arrive")
    es = next((m for m in new if "lucia.vidal@example.com" in m["To"]), None)
    en = next((m for m in new if "tom.baker@example.com" in m["To"]), None)
    check.ok(es is not None and en is not None, "one to each requester", [m["To"] for m in new])
    if es is None or en is None:
        return
    es_body = es.get_content()
    en_body = en.get_content()
    check.ok(f"Su incidencia {es_ticket} está ahora en curso (antes: nueva)" in es_body,
             "Spanish update names the move", es_body)
    check.ok("Lucía Vidal" in es_body, "and greets the requester", es_body)
    check.ok(f"Your incident {en_ticket} is now resolved (it was new)" in en_body,
             "English update names the move", en_body)
    check.ok("within 7 days and we will reopen it" in en_body,
             "a resolved ticket says how to reopen it", en_body)
    check.ok("reopen" not in es_body and "reabrir" not in es_body, "an in-progress one does not", es_body)
    check.eq(es["Subject"], f"[{es_ticket}] No funciona la impresora de la planta 2", "subject with the tag")
    check.eq(es["Auto-Submitted"], "auto-generated", "Auto-Submitted: auto-generated")
    check.eq(es["X-Auto-Response-Suppress"], "All", "X-Auto-Response-Suppress: All")
    check.ok(es["X-Spocd-Loop"] is not None, "our loop header")
    check.ok(re.fullmatch(r"<spocd\.\d+\.[a-z2-7]{12}\.[a-z2-7]{17}@desk\.test>", es["Message-ID"] or ""),
             "HMAC-tagged Message-ID", es["Message-ID"])
    check.eq(es["In-Reply-To"], ack_es["Message-ID"], "In-Reply-To: the acknowledgement the requester saw")
    refs = (es["References"] or "").split()
    check.ok(ack_es["Message-ID"] in refs and ack_es["In-Reply-To"] in refs,
             "References: the requester's mail and our acknowledgement", refs)
    check.ok(re.fullmatch(r"help\+[0-9a-z]+@desk\.test", email.utils.parseaddr(es["Reply-To"])[1]),
             "Reply-To carries the ticket's token", es["Reply-To"])
    row = s.sql("SELECT id FROM outbox WHERE message_id = %s", (es["Message-ID"].strip("<>"),))[0][0]
    sender = es.envelope["mail_from"]
    check.ok(re.fullmatch(r"help\+b%d[a-z2-7]{17}@desk\.test" % row, sender),
             "VERP envelope sender names the row", sender)
    check.eq(es.envelope["rcpt_tos"], ["lucia.vidal@example.com"], "envelope recipient")

    rc, out, err = s.run_spocd("--role", "notify", "--once")
    check.eq(len(s.captured()), 4, "a second run sends nothing more")

    # A bounce that names only the VERP address (no returned headers) finds its row.
    bounce = (
        "From: MAILER-DAEMON@mx.example.com\r\n"
        f"To: {sender}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: " + email.utils.formatdate() + "\r\n"
        "Message-ID: <bounce-1@mx.example.com>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        "This is the mail system at host mx.example.com.\r\n\r\n"
        "I'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients.\r\n\r\n"
        "<lucia.vidal@example.com>: host mx.example.com said: 550 5.1.1 User unknown\r\n").encode()
    s.append(bounce)
    rc, out, err = s.run_spocd("--once")
    check.eq(rc, 0, "bounce: spocd --once")
    check.ok(s.sql_value("SELECT bounced_at IS NOT NULL FROM outbox WHERE id = %s", (row,)),
             "bounce: the row its VERP address names is marked bounced")
    check.eq(len(s.captured()), 4, "bounce: nothing is sent because of it")


def notify_wakes_daemon(check, s):
    conf = s.write_config(name="slow-poll.conf", imap__poll_interval=600)
    d = s.start_spocd(config=conf, name="daemon")
    check.wait_for(lambda: "listening on spocd_outbox" in d.text(), 20, "NOTIFY: the daemon listens",
                   detail=d.tail)
    # its first cycle (the mailbox read, the notifier's run) has ended once it says it is ready
    st.wait_for(lambda: " ready: " in d.text(), 20, "the daemon's first cycle", detail=d.tail)
    before = len(s.captured())
    ticket = s.sql_value("SELECT display FROM tickets WHERE requester = 'lucia.vidal@example.com'")
    # the bounce above marked her unreachable, which holds her notices (test_unreachable)
    check.eq(s.run_spocctl("address", "clear", "lucia.vidal@example.com")[0], 0, "her address cleared")
    t0 = time.monotonic()
    s.sql("UPDATE tickets SET status = 'pending' WHERE display = %s", (ticket,))
    check.wait_for(lambda: len(s.captured()) > before, 10,
                   "NOTIFY: the update arrives while the poll interval is 10 minutes", step=0.05)
    st.log(f"NOTIFY: it took {time.monotonic() - t0:.2f}s")
    body = s.captured()[before].get_content()
    check.ok("a la espera de su respuesta" in body and "Necesitamos algo de usted" in body,
             "NOTIFY: pending asks the requester for what is missing", body)
    check.eq(d.stop(), 0, "NOTIFY: daemon stops on SIGTERM")


def sla_notice_sent(check, s):
    rc, out, err = s.run_spocctl("agent", "add", "ana@desk.test", "--name", "Ana Pérez", "--team", "sistemas")
    check.eq(rc, 0, "SLA: agent added")
    agent = s.sql_value("SELECT id FROM agents WHERE address = 'ana@desk.test'")
    tid, display = s.sql("SELECT id, display FROM tickets WHERE requester = 'lucia.vidal@example.com'")[0]
    # in progress: the ticket was left pending, and a pending ticket's clock is stopped
    s.sql("UPDATE tickets SET assignee_id = %s, first_response_at = NULL, status = 'in-progress',"
          " created_at = now() - interval '3 hours', first_response_due = now() - interval '1 minute',"
          " resolution_due = now() + interval '1 day' WHERE id = %s", (agent, tid))
    # that SQL's assignment and status update: not this test's
    s.sql("DELETE FROM outbox WHERE kind IN ('assigned', 'status') AND state = 'pending'")
    before = len(s.captured())
    rc, out, err = s.run_spocd("--role", "notify", "--once")
    check.eq(rc, 0, "SLA: the notifier's run checks the targets and sends")
    new = s.captured()[before:]
    check.eq([m["To"] for m in new], ["Ana Pérez <ana@desk.test>"], "SLA: one notice, to the assignee")
    if len(new) != 1:
        return
    m = new[0]
    text = m.get_content()
    check.eq(s.sql_value("SELECT kind FROM outbox WHERE message_id = %s", (m["Message-ID"].strip("<>"),)),
             "sla-breach", "SLA: a breach of the first response")
    check.ok(display in m["Subject"] and "primera respuesta" in text and "Hola, Ana Pérez" in text,
             "SLA: in the desk's language, naming the ticket and the target", text)
    check.eq(m["Auto-Submitted"], "auto-generated", "SLA: Auto-Submitted: auto-generated")
    token = email.utils.parseaddr(m["Reply-To"])[1]
    # an agent token: ticket, agent, the UTC day it was issued, the agent's generation (0)
    today = (datetime.datetime.now(datetime.timezone.utc).date() - datetime.date(1970, 1, 1)).days
    check.ok(re.fullmatch(r"help\+%da%dd(%d|%d)g0[a-z2-7]{17}@desk\.test" % (tid, agent, today, today - 1),
                          token),
             "SLA: Reply-To carries the agent's own token for the ticket, issued today", token)
    rc, out, err = s.run_spocd("--role", "notify", "--once")
    check.eq(len(s.captured()), before + 1, "SLA: sent once, not again on the next run")


def queue_acks(s, n, tag):
    for i in range(n):
        s.append(st.make_message(f"user{tag}{i}@example.com", f"Problema {tag} número {i}",
                                 f"El equipo {i} no arranca.\r\n", language="es-ES"))
    rc, out, err = s.run_spocd("--role", "ingest", "--once", quiet=True)
    assert rc == 0, err


def killed_mid_batch(check, s, conf):
    base = len(s.captured())
    queue_acks(s, 12, "k")
    check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE state = 'pending'"), 12,
             "kill: --role ingest queued twelve acknowledgements and sent none")
    check.eq(len(s.captured()), base, "kill: nothing sent by the reader")
    s.smtp_mode("slow")
    p = notifier(s, conf, "killed")
    check.wait_for(lambda: len(s.captured()) >= base + 4, 30, "kill: some are sent", step=0.02)
    p.stop(signal.SIGKILL)
    marked = {r[0] for r in s.sql("SELECT message_id FROM outbox WHERE state = 'sent' AND kind = 'ack' "
                                  "AND recipient LIKE 'userk%%'")}
    seen = ids(s.captured()[base:])
    check.ok(0 < len(marked) < 12, f"kill: killed in the middle ({len(marked)} of 12 marked sent)")
    check.ok(marked <= set(seen), "kill: everything marked sent was delivered")
    check.ok(len(set(seen) - marked) <= 1, "kill: at most the one in flight was delivered unmarked",
             set(seen) - marked)
    s.smtp_mode("accept")
    rc, out, err = s.run_spocd("--role", "notify", "--once")
    check.eq(rc, 0, "kill: a new notifier finishes the batch")
    seen = ids(s.captured()[base:])
    check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE recipient LIKE 'userk%%' AND state = 'sent'"), 12,
             "kill: all twelve are sent in the end: nothing lost")
    check.ok(all(seen.count(m) == 1 for m in marked), "kill: nothing marked sent was sent twice")
    check.eq(len(set(seen)), 12, "kill: twelve different messages arrived")
    check.ok(len(seen) - 12 <= 1, f"kill: at most the one in flight twice ({len(seen)} deliveries)")


def two_notifiers(check, s, conf):
    base = len(s.captured())
    queue_acks(s, 16, "c")
    s.smtp_mode("slow")
    a = notifier(s, conf, "notifier-a")
    b = notifier(s, conf, "notifier-b")
    check.eq(a.wait(timeout=120), 0, "concurrent: notifier A exits 0")
    check.eq(b.wait(timeout=120), 0, "concurrent: notifier B exits 0")
    s.smtp_mode("accept")
    seen = ids(s.captured()[base:])
    check.eq(len(seen), 16, "concurrent: sixteen deliveries")
    check.eq(len(set(seen)), 16, "concurrent: each message once")
    check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE recipient LIKE 'userc%%' AND state = 'sent'"), 16,
             "concurrent: all marked sent")
    counts = [len(re.findall(r"outbox \d+ ack .*: sent", n.text())) for n in (a, b)]
    check.ok(counts[0] > 0 and counts[1] > 0 and sum(counts) == 16,
             f"concurrent: both worked ({counts[0]} + {counts[1]})")


def retry_age_and_bad_address(check, s):
    conf = s.write_config(name="age.conf", smtp__max_retry_age=600, smtp__max_attempts=50)
    queue_acks(s, 1, "a")
    s.sql("UPDATE outbox SET created_at = now() - interval '20 minutes' WHERE recipient = 'usera0@example.com'")
    s.smtp_mode("rcpt451")
    rc, out, err = s.run_spocd("--role", "notify", "--once", config=conf)
    state, last = s.sql("SELECT state, last_error FROM outbox WHERE recipient = 'usera0@example.com'")[0]
    check.eq(state, "failed", "max_retry_age: a 4xx on a row older than the age fails it")
    check.ok("smtp.max_retry_age = 600" in last and "451" in last, "and says why", last)
    s.smtp_mode("accept")

    # CR LF smuggled into a participant's address by some SQL client: the status trigger queues
    # to it, the notifier refuses it before libetpan and the SMTP server never sees it.
    ticket = s.sql_value("SELECT id FROM tickets WHERE requester = 'tom.baker@example.com'")
    s.sql("ALTER TABLE participants DROP CONSTRAINT participants_address_check")
    s.sql("INSERT INTO participants (ticket_id, address, role) VALUES (%s, %s, 'watcher')",
          (ticket, "x@example.com\r\nrcpt to:<victim@evil.example>"))
    before = len(s.captured())
    s.sql("UPDATE tickets SET status = 'in-progress' WHERE id = %s", (ticket,))
    rc, out, err = s.run_spocd("--role", "notify", "--once")
    rows = s.sql("SELECT recipient, state, last_error FROM outbox WHERE kind = 'status' AND ticket_id = %s "
                 "AND recipient LIKE 'x@%%'", (ticket,))
    check.eq([r[1] for r in rows], ["failed"], "CR LF: the row fails for good")
    check.ok(re.search(r"invalid (To|envelope) address", rows[0][2]), "CR LF: and says why", rows[0][2])
    check.ok(all("victim" not in " ".join(m.envelope["rcpt_tos"]) for m in s.captured()),
             "CR LF: the SMTP server never saw the smuggled recipient")
    refused = s.smtp_refused()
    check.ok(all("victim" not in str(r) for r in refused), "CR LF: not even refused: never sent", refused)
    check.eq(len(s.captured()), before + 1, "CR LF: the requester still gets the update")
    s.sql("DELETE FROM participants WHERE address LIKE 'x@%%'")


def wrong_host_before_auth(check, s):
    s.start_smtp(tls="starttls", cert="wrong")
    with open(os.path.join(s.dir, "smtp.password"), "w") as f:
        f.write("secret\n")
    os.chmod(os.path.join(s.dir, "smtp.password"), 0o600)
    conf = s.write_config(name="wrong-host.conf", smtp__tls="starttls", smtp__user="help@desk.test",
                          smtp__password_file="smtp.password")
    queue_acks(s, 1, "w")
    with open(os.path.join(s.dir, "smtp.log"), encoding="utf-8") as f:
        start = len(f.read())
    rc, out, err = s.run_spocd("--role", "notify", "--once", config=conf)
    check.eq(rc, 75, "wrong host: the notifier exits 75")
    check.ok(re.search(r"certif", err, re.I), "wrong host: stderr says the certificate was refused", err)
    with open(os.path.join(s.dir, "smtp.log"), encoding="utf-8") as f:
        said = f.read()[start:]
    check.ok(len(re.findall(r"EHLO ", said)) == 1 and "STARTTLS" not in said.split("EHLO ", 1)[0],
             "wrong host: one EHLO before STARTTLS, none after the handshake, so no AUTH", said)
    check.eq(s.sql_value("SELECT state FROM outbox WHERE recipient = 'userw0@example.com'"), "pending",
             "wrong host: the row waits")
    s.start_smtp()


def english_round(check, s):
    """Every notice an English-speaking desk sends, each once: an SLA breach to the assignee, the
    agent's answer through its Reply-To (a command and a reply), the relay to the requester with
    the new status, the command's confirmation, and the requester's answer forwarded."""
    conf = s.write_config(name="english.conf", desk__default_language="en")
    agent = s.sql_value("SELECT id FROM agents WHERE address = 'ana@desk.test'")
    tid, display = s.sql("SELECT id, display FROM tickets WHERE requester = 'tom.baker@example.com'")[0]
    # in progress: a pending ticket's clock is stopped, it is made pending after the breach
    s.sql("UPDATE tickets SET status = 'in-progress', assignee_id = %s, first_response_at = now(),"
          " created_at = now() - interval '2 days', resolution_due = now() - interval '1 minute'"
          " WHERE id = %s", (agent, tid))
    s.sql("DELETE FROM outbox WHERE state = 'pending'")  # the status update of that SQL: not this test's
    before = len(s.captured())
    check.eq(s.run_spocd("--once", config=conf)[0], 0, "en: a cycle")
    new = s.captured()[before:]
    check.eq([m["To"] for m in new], ["Ana Pérez <ana@desk.test>"], "en: one SLA notice to the assignee")
    if len(new) != 1:
        return
    breach = new[0]
    text = breach.get_content()
    check.ok(f"{display} has missed the target for its resolution" in text and "Hello Ana Pérez" in text,
             "en: the breach in English", text)
    s.sql("UPDATE tickets SET status = 'pending' WHERE id = %s", (tid,))
    s.sql("DELETE FROM outbox WHERE state = 'pending'")  # the status update of that SQL: not this test's

    answer = st.make_message("ana@desk.test", "Re: " + str(breach["Subject"]),
                             "#status in-progress\r\n\r\nHi Tom, I have ordered a new screen for you.\r\n",
                             from_name="Ana Pérez", to=email.utils.parseaddr(breach["Reply-To"])[1],
                             in_reply_to=breach["Message-ID"])
    s.append(answer)
    check.eq(s.run_spocd("--once", config=conf)[0], 0, "en: the agent answers the breach notice")
    new = s.captured()[before + 1:]
    to_tom = [m for m in new if "tom.baker@example.com" in m["To"]]
    to_ana = [m for m in new if "ana@desk.test" in m["To"]]
    check.eq((len(to_tom), len(to_ana)), (1, 1), "en: one relay to the requester, one confirmation to the agent")
    if len(to_tom) != 1 or len(to_ana) != 1:
        return
    relay = to_tom[0].get_content()
    check.ok("ordered a new screen" in relay and "Status of your ticket: in progress" in relay
             and "#status" not in relay, "en: the relay, with the new status and without the command", relay)
    check.ok("Your commands on" in to_ana[0].get_content(), "en: the confirmation in English",
             to_ana[0].get_content())
    check.eq(to_tom[0]["In-Reply-To"] is not None, True, "en: the relay continues the thread")

    s.append(st.make_message("tom.baker@example.com", "Re: " + str(to_tom[0]["Subject"]),
                             "Thanks, when will it arrive?\r\n", in_reply_to=to_tom[0]["Message-ID"],
                             references=[to_tom[0]["Message-ID"]], language="en-GB"))
    check.eq(s.run_spocd("--once", config=conf)[0], 0, "en: the requester answers")
    new = s.captured()[before + 3:]
    check.eq([m["To"] for m in new], ["Ana Pérez <ana@desk.test>"], "en: forwarded to the assignee only")
    if new:
        fwd = new[0].get_content()
        check.ok("when will it arrive" in fwd and "Reply to this message to answer them" in fwd,
                 "en: the follow-up in English", fwd)


def test(check):
    with st.Services(name="spocd-notifier") as s:
        sql_status_change(check, s)
        notify_wakes_daemon(check, s)
        sla_notice_sent(check, s)
        killed_mid_batch(check, s, s.write_config(name="batch1.conf", notify__batch_size=1))
        two_notifiers(check, s, s.write_config(name="batch4.conf", notify__batch_size=4))
        retry_age_and_bad_address(check, s)
        wrong_host_before_auth(check, s)
        english_round(check, s)


if __name__ == "__main__":
    st.main(test)
