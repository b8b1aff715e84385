#!/usr/bin/python3
"""Poison messages do not wedge the mailbox: text with no header block at all, and a message with
headers but no From address, appended before a good message, are quarantined whole with a reason
(quarantine row, ingest_log 'quarantined') and moved to the failed folder; the good message after
them still becomes a ticket and is acknowledged."""

import email.utils

import spocdtest as st


def test(check):
    no_headers = (b"this is not an email message at all\r\n"
                  b"just some lines of text that somebody typed into a file\r\n"
                  b"and sent with a broken script - there is no header block here\r\n")
    no_from = (b"To: help@desk.test\r\n"
               b"Subject: =?UTF-8?Q?Alerta_autom=C3=A1tica_sin_remitente?=\r\n"
               b"Date: Tue, 12 Mar 2024 11:00:00 +0100\r\n"
               b"Message-ID: <nofrom-20240312110000@monitor.example.com>\r\n"
               b"MIME-Version: 1.0\r\n"
               b"Content-Type: text/plain; charset=UTF-8\r\n"
               b"Content-Transfer-Encoding: 8bit\r\n\r\n"
               + "El disco C: del servidor SRV-FICHEROS está al 97 %.\r\n".encode())
    good = st.make_message(
        "sofia.lopez@example.com", "Solicitud de licencia de Visio",
        "Hola,\r\n\r\nnecesito una licencia de Microsoft Visio para preparar los diagramas del nuevo\r\n"
        "proyecto de la red de oficinas. ¿Me la podéis solicitar?\r\n\r\nGracias,\r\nSofía López\r\n",
        from_name="Sofía López", language="es-ES")
    with st.Services(name="spocd-unparsable") as s:
        bad_uids = [s.append(no_headers), s.append(no_from)]
        good_uid = s.append(good)
        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 0, "spocd --once exits 0")

        for raw, uid, what in ((no_headers, bad_uids[0], "no header block"), (no_from, bad_uids[1], "no From")):
            q = s.sql("SELECT mailbox, uid, reason, raw, raw_sha256 FROM quarantine WHERE uid = %s", (uid,))
            check.eq(len(q), 1, f"{what}: one quarantine row for uid {uid}")
            print(f"    quarantine reason for uid {uid}: {q[0][2]!r}")
            check.ok(q[0][0] == "INBOX" and q[0][2].strip(), f"{what}: mailbox INBOX and a non-empty reason")
            check.ok(q[0][3] == raw, f"{what}: quarantine.raw equals the appended bytes")
            check.eq(q[0][4].lower(), st.sha256_hex(raw), f"{what}: quarantine.raw_sha256")
            check.eq(s.sql("SELECT outcome FROM ingest_log WHERE mailbox = 'INBOX' AND uid = %s", (uid,)),
                     [("quarantined",)], f"{what}: ingest_log outcome 'quarantined'")
        failed = s.folder_uids("spocd/failed")
        check.eq(len(failed), 2, "both poison messages are in spocd/failed")
        check.eq(sorted(s.fetch_raw("spocd/failed", u) for u in failed), sorted([no_headers, no_from]),
                 "spocd/failed holds their original bytes")

        check.eq(s.sql("SELECT outcome FROM ingest_log WHERE mailbox = 'INBOX' AND uid = %s", (good_uid,)),
                 [("ticket",)], "the good message: ingest_log outcome 'ticket'")
        check.eq(s.sql("SELECT requester FROM tickets"), [("sofia.lopez@example.com",)], "one ticket, the good one")
        check.eq(s.folder_count("spocd/processed"), 1, "the good message is in spocd/processed")
        check.eq(s.folder_count("INBOX"), 0, "INBOX is empty")
        acks = s.captured()
        check.eq(len(acks), 1, "one acknowledgement")
        check.eq(email.utils.parseaddr(str(acks[0]["To"]))[1], "sofia.lopez@example.com", "addressed to the good sender")


if __name__ == "__main__":
    st.main(test)
