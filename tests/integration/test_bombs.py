#!/usr/bin/python3
"""Bombs are quarantined on the first pass, before GMime builds them, and cost no crash loop: a
part bomb (a few MB of empty parts, each of which GMime would give 1.4 KiB of heap), a nesting
bomb (10,000 levels), a header bomb (8 MiB of header fields) and a multipart hidden behind a
boundary in the middle of a long line (which GMime finds where its 4 KiB buffer falls) are
appended next to a normal mail. One `spocd --once` exits 0; each bomb is in the quarantine with
a reason that names the limit or the rule and in the failed folder, with its bytes; the normal
mail is a ticket and is acknowledged; spocd's memory stays bounded."""

import spocdtest as st


def bomb_head(subject, extra=b""):
    return (b"From: Mallory <mallory@example.net>\r\nTo: help@desk.test\r\nSubject: " + subject
            + b"\r\nDate: Tue, 11 Jun 2024 10:00:00 +0200\r\nMessage-ID: <" + subject.replace(b" ", b".")
            + b"@example.net>\r\nMIME-Version: 1.0\r\n" + extra)


def test(check):
    part_bomb = bomb_head(b"part bomb", b"Content-Type: multipart/mixed; boundary=a\r\n\r\n")
    part_bomb += b"--a\r\n\r\n" * (4 * 1048576 // 7) + b"--a--\r\n"
    nesting = bomb_head(b"nesting bomb") + b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(10000))
    nesting += b"Content-Type: text/plain\r\n\r\ndeep down\r\n"
    header = bomb_head(b"header bomb") + b"X:y\r\n" * (8 * 1048576 // 5) + b"\r\nbody\r\n"
    hidden = bomb_head(b"hidden multipart", b"Content-Type: multipart/mixed; boundary=B\r\n\r\n")
    hidden += (b"--B\r\nContent-Type: text/plain\r\n\r\n" + b"x" * 4000 + b"--B\r\n"
               b"Content-Type: multipart/mixed; boundary=C\r\n\r\n" + b"--C\r\n\r\n" * 100000
               + b"--C--\r\n--B--\r\n")
    good = st.make_message(
        "sofia.lopez@example.com", "No arranca el portátil",
        "Hola,\r\n\r\nel portátil se queda en la pantalla negra al encenderlo.\r\n\r\nGracias,\r\nSofía\r\n",
        from_name="Sofía López", language="es-ES")
    bombs = [(part_bomb, "message over max_parts (more than 500 MIME parts, counted before parsing)"),
             (nesting, "message over max_depth (MIME parts nested more than 20 deep, counted before parsing)"),
             (header, f"header over max_header_bytes ({len(header) - 8} > 262144)"),
             (hidden, "MIME boundary inside a line (the line at byte ")]

    with st.Services(name="spocd-bombs") as s:
        uids = [s.append(raw) for raw, _ in bombs]
        good_uid = s.append(good)
        rc, out, err = s.run_spocd("--once", timeout=300)
        check.eq(rc, 0, "spocd --once exits 0 on the first pass")
        peak_mib = s.last_peak_rss_kib / 1024
        print(f"    spocd: {s.last_elapsed:.2f}s, peak RSS {peak_mib:.0f} MiB")
        # GMime would have held some 800 MiB for the part bomb alone (twice that under
        # AddressSanitizer); what is left is the raw messages and the sanitizer's own
        check.ok(peak_mib < 400, f"spocd's peak RSS stays under 400 MiB ({peak_mib:.0f})")

        for (raw, reason), uid in zip(bombs, uids):
            q = s.sql("SELECT reason, raw FROM quarantine WHERE uid = %s", (uid,))
            check.eq(len(q), 1, f"uid {uid}: one quarantine row")
            print(f"    uid {uid}: {q[0][0]}")
            check.ok(q[0][0].startswith(reason), f"uid {uid}: the reason names the limit: {reason}", q[0][0])
            check.ok(bytes(q[0][1]) == raw, f"uid {uid}: its raw bytes are kept")
            check.eq(s.sql("SELECT outcome FROM ingest_log WHERE mailbox = 'INBOX' AND uid = %s", (uid,)),
                     [("quarantined",)], f"uid {uid}: ingest_log 'quarantined'")
        check.eq(s.sql_value("SELECT count(*) FROM ingest_attempts"), 0,
                 "no attempt left open: nothing died, so the crash guard never counted")
        check.eq(s.folder_count("spocd/failed"), len(bombs), "the bombs are in the failed folder")

        check.eq(s.sql("SELECT outcome FROM ingest_log WHERE mailbox = 'INBOX' AND uid = %s", (good_uid,)),
                 [("ticket",)], "the normal mail: ingest_log 'ticket'")
        check.eq(s.sql("SELECT requester FROM tickets"), [("sofia.lopez@example.com",)],
                 "one ticket, the normal mail's")
        check.eq(s.folder_count("spocd/processed"), 1, "the normal mail is in spocd/processed")
        check.eq(s.folder_count("INBOX"), 0, "INBOX is empty")
        acks = s.captured()
        check.eq(len(acks), 1, "one acknowledgement, to the normal mail's sender only")


if __name__ == "__main__":
    st.main(test)
