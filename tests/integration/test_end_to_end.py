#!/usr/bin/python3
"""End to end: --check-config on a good and two bad configs; a Spanish incident and an English
service request (contrib/samples 01 and 02) appended to INBOX become two tickets with their raw
bytes kept, are moved to the processed folder and acknowledged once each, in their language,
threaded to the user's message; then the user's reply to the acknowledgement lands on the first
ticket with no new ticket and no new acknowledgement."""

import email.utils
import os
import re

import spocdtest as st

SAMPLES = os.path.join(st.SOURCE_DIR, "contrib", "samples")


def check_config(check, s):
    rc, out, err = s.run_spocd("--check-config")
    check.eq(rc, 0, "--check-config on the good config exits 0")

    bad = s.write_config("bad-port.conf", imap__port=70000)
    line = st.conf_line(bad, "imap.port")
    rc, out, err = s.run_spocd("--check-config", config=bad)
    check.eq(rc, 1, "--check-config with imap.port = 70000 exits 1")
    check.ok(f"bad-port.conf:{line}" in err, f"the error names bad-port.conf:{line}", err)
    check.ok("imap.port" in err, "the error names the setting imap.port", err)

    bad = s.write_config("bad-tls.conf", imap__host="imap.example.org", imap__tls="none")
    lines = {st.conf_line(bad, "imap.tls"), st.conf_line(bad, "imap.host")}
    rc, out, err = s.run_spocd("--check-config", config=bad)
    check.eq(rc, 1, "--check-config with tls = \"none\" towards imap.example.org exits 1")
    check.ok(any(f"bad-tls.conf:{n}" in err for n in lines),
             f"the error names bad-tls.conf and the line of imap.tls or imap.host {sorted(lines)}", err)
    check.ok("imap.tls" in err or "imap.host" in err, "the error names imap.tls (or imap.host)", err)


def test(check):
    with open(os.path.join(SAMPLES, "01-incidencia-es.eml"), "rb") as f:
        raw_es = f.read()
    with open(os.path.join(SAMPLES, "02-request-en.eml"), "rb") as f:
        raw_en = f.read()
    msg_es, msg_en = st.parse(raw_es), st.parse(raw_en)

    with st.Services(name="spocd-e2e") as s:
        check_config(check, s)

        uid_es = s.append(raw_es)
        uid_en = s.append(raw_en)
        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 0, "spocd --once exits 0")

        rows = s.sql("SELECT id, display, kind, requester, subject, language FROM tickets ORDER BY id")
        check.eq(len(rows), 2, "exactly 2 tickets")
        by_requester = {r[3]: r for r in rows}
        check.eq(sorted(by_requester), ["mjfernandez@example.com", "priya.raman@example.com"],
                 "requesters of the tickets")
        t_es = by_requester["mjfernandez@example.com"]
        t_en = by_requester["priya.raman@example.com"]
        check.eq(t_es[2], "incident", "the Spanish printer failure is an incident")
        check.ok(re.fullmatch(r"INC-\d{6}", t_es[1]), f"its display {t_es[1]} is INC-nnnnnn")
        check.eq(t_en[2], "request", "the English access request is a request")
        check.ok(re.fullmatch(r"REQ-\d{6}", t_en[1]), f"its display {t_en[1]} is REQ-nnnnnn")
        check.eq(t_es[4], msg_es["Subject"], "ticket subject (Spanish)")
        check.eq(t_en[4], msg_en["Subject"], "ticket subject (English)")

        for label, raw, msg, t, uid in (("es", raw_es, msg_es, t_es, uid_es), ("en", raw_en, msg_en, t_en, uid_en)):
            m = s.sql("SELECT raw, raw_sha256, message_id FROM messages WHERE ticket_id = %s AND direction = 'in'",
                      (t[0],))
            check.eq(len(m), 1, f"{t[1]}: one 'in' message")
            check.ok(m[0][0] == raw, f"{t[1]}: messages.raw equals the appended bytes ({len(raw)} bytes)",
                     f"stored {len(m[0][0])} bytes")
            check.eq(m[0][1].lower(), st.sha256_hex(raw), f"{t[1]}: messages.raw_sha256")
            check.eq(st.norm_id(m[0][2]), msg["Message-ID"], f"{t[1]}: messages.message_id")
            log = s.sql("SELECT uid, outcome, raw_sha256, ticket_id FROM ingest_log WHERE mailbox = 'INBOX' AND uid = %s",
                        (uid,))
            check.eq([(r[0], r[1], r[2].lower(), r[3]) for r in log], [(uid, "ticket", st.sha256_hex(raw), t[0])],
                     f"{t[1]}: ingest_log row for uid {uid}")

        check.eq(s.folder_count("INBOX"), 0, "INBOX is empty")
        processed = s.folder_uids("spocd/processed")
        check.eq(len(processed), 2, "both messages are in spocd/processed")
        check.eq(sorted(s.fetch_raw("spocd/processed", u) for u in processed), sorted([raw_es, raw_en]),
                 "the processed folder holds the original bytes")
        check.eq(s.folder_count("spocd/failed"), 0, "nothing in spocd/failed")

        acks = s.captured()
        check.eq(len(acks), 2, "exactly 2 acknowledgements captured")
        for msg, t, lang in ((msg_es, t_es, "es"), (msg_en, t_en, "en")):
            user_id = msg["Message-ID"]
            mine = [a for a in acks if st.norm_id(a["In-Reply-To"]) == user_id]
            check.eq(len(mine), 1, f"{t[1]}: one acknowledgement with In-Reply-To {user_id}")
            a = mine[0]
            requester = t[3]
            print(f"--- acknowledgement for {t[1]}:\n" + a.raw.decode("utf-8", "replace") + "\n---", flush=True)
            check.eq(a.envelope["rcpt_tos"], [requester], f"{t[1]}: envelope recipient")
            check.ok(re.fullmatch(r"help\+b\d+[a-z2-7]{17}@desk\.test", a.envelope["mail_from"]),
                     f"{t[1]}: envelope sender: the desk's address with the row's VERP token",
                     a.envelope["mail_from"])
            check.eq(email.utils.parseaddr(str(a["From"]))[1], "help@desk.test", f"{t[1]}: From address")
            check.eq(email.utils.parseaddr(str(a["To"]))[1], requester, f"{t[1]}: To address")
            check.eq(" ".join(str(a["Subject"]).split()), f"[{t[1]}] {msg['Subject']}", f"{t[1]}: Subject")
            check.ok(user_id in st.ids_in(a["References"]), f"{t[1]}: References contains {user_id}",
                     a["References"])
            check.eq(str(a["Auto-Submitted"]).split(";")[0].strip().lower(), "auto-replied",
                     f"{t[1]}: Auto-Submitted")
            check.ok(a["X-Spocd-Loop"] is not None, f"{t[1]}: X-Spocd-Loop present ({a['X-Spocd-Loop']})")
            ack_id = a["Message-ID"]
            check.ok(ack_id and re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", ack_id), f"{t[1]}: Message-ID {ack_id}")
            ob = s.sql("SELECT message_id, state, attempts, recipient FROM outbox WHERE ticket_id = %s", (t[0],))
            check.eq(len(ob), 1, f"{t[1]}: one outbox row")
            check.eq((st.norm_id(ob[0][0]), ob[0][1], ob[0][2], ob[0][3]), (ack_id, "sent", 1, requester),
                     f"{t[1]}: outbox (message_id, state, attempts, recipient)")
            out = s.sql("SELECT message_id FROM messages WHERE ticket_id = %s AND direction = 'out'", (t[0],))
            check.eq([st.norm_id(r[0]) for r in out], [ack_id], f"{t[1]}: the 'out' message row has its Message-ID")
            body = st.body_text(a)
            check.ok(t[1] in body, f"{t[1]}: the body names the ticket", body)
            got, es, en = st.language_of(body)
            check.eq(got, lang, f"{t[1]}: the body is in {lang} (Spanish words {es}, English words {en})")

        # The user answers the acknowledgement: no new ticket, no new acknowledgement.
        ack_es = [a for a in acks if st.norm_id(a["In-Reply-To"]) == msg_es["Message-ID"]][0]
        reply = st.make_message(
            "mjfernandez@example.com", f"Re: {ack_es['Subject']}",
            "Gracias. Os confirmo que sigue sin imprimir; el técnico puede pasar cuando quiera,\r\n"
            "estaré en mi puesto toda la mañana.\r\n\r\nMaría José\r\n\r\n"
            f"El 12/03/2024 a las 9:15, Test Service Desk escribió:\r\n> {t_es[1]}\r\n",
            from_name="María José Fernández", to="Soporte TI <help@desk.test>", language="es-ES",
            in_reply_to=ack_es["Message-ID"], references=[msg_es["Message-ID"], ack_es["Message-ID"]])
        uid_reply = s.append(reply)
        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 0, "second spocd --once exits 0")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 2, "still 2 tickets")
        m = s.sql("SELECT direction, raw FROM messages WHERE ticket_id = %s ORDER BY id", (t_es[0],))
        check.eq([r[0] for r in m], ["in", "out", "in"], f"{t_es[1]}: messages in, out, in")
        check.ok(m[2][1] == reply, f"{t_es[1]}: the reply's raw bytes are kept")
        check.eq(s.sql("SELECT outcome, ticket_id FROM ingest_log WHERE uid = %s AND mailbox = 'INBOX'", (uid_reply,)),
                 [("reply", t_es[0])], "ingest_log: the reply is outcome 'reply' on the first ticket")
        check.eq(len(s.captured()), 2, "no new acknowledgement captured")
        check.eq(s.sql_value("SELECT count(*) FROM outbox"), 2, "no new outbox row")
        check.eq(s.folder_count("INBOX"), 0, "INBOX is empty again")
        check.eq(s.folder_count("spocd/processed"), 3, "3 messages in spocd/processed")


if __name__ == "__main__":
    st.main(test)
