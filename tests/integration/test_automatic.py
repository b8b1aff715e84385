#!/usr/bin/python3
"""Mail sent by machines is recorded but never acknowledged, so spocd cannot loop with an
auto-responder: an RFC 3834 auto-reply, a bounce from "MAILER-DAEMON <>" (no address at all), mail
from the desk's own address and spocd's own notification coming back. An out-of-office answer to
an acknowledgement lands on its ticket without a new acknowledgement, and the desk's next mail to
that person does not thread on it."""

import spocdtest as st


def test(check):
    with st.Services(name="spocd-automatic") as s:
        person = st.make_message("eva.soler@example.com", "No funciona el escáner",
                                 "El escáner de la planta 3 no funciona.\r\n")
        s.append(person)
        rc, _, _ = s.run_spocd("--once")
        check.eq(rc, 0, "first run exits 0")
        ack = s.captured()[0]
        check.eq(len(s.captured()), 1, "the person's message is acknowledged")

        ooo = st.make_message("eva.soler@example.com", "Respuesta automática: " + ack["Subject"],
                              "Estoy fuera de la oficina hasta el lunes.\r\n",
                              in_reply_to=ack["Message-ID"], references=[ack["Message-ID"]],
                              extra_headers=[("Auto-Submitted", "auto-replied")])
        bounce = (b"From: MAILER-DAEMON <>\r\n"
                  b"To: help@desk.test\r\n"
                  b"Subject: Undelivered Mail Returned to Sender\r\n"
                  b"Message-ID: <bounce-1@mx.example.net>\r\n"
                  b"Content-Type: text/plain\r\n\r\n"
                  b"This is the mail system at host mx.example.net.\r\n")
        own = st.make_message("help@desk.test", "Copia de una respuesta", "Texto.\r\n")
        loop = bytes(ack.raw)
        uids = [s.append(m) for m in (ooo, bounce, own, loop)]
        rc, _, err = s.run_spocd("--once")
        check.eq(rc, 0, "second run exits 0")
        rows = s.sql("SELECT uid, outcome, coalesce(ticket_id, 0), detail FROM ingest_log "
                     "WHERE uid = ANY(%s) ORDER BY uid", (uids,))
        check.eq([r[1] for r in rows], ["automatic"] * 4, "all four recorded as automatic")
        check.ok(rows[0][2] != 0, "the out-of-office reply is on the ticket it answers")
        check.ok("Auto-Submitted" in rows[0][3], "because of Auto-Submitted", rows[0][3])
        check.ok("mailer-daemon" in rows[1][3], "the bounce is recognised by its sender name",
                 rows[1][3])
        check.ok("desk's own" in rows[2][3], "mail from the desk's own address", rows[2][3])
        # it names a ticket, but the desk's own address is no participant of it: like any
        # machine's mail that names someone's ticket, it is kept on no ticket
        check.ok(rows[3][2] == 0 and "X-Spocd-Loop" in rows[3][3],
                 "our own acknowledgement coming back is recognised by the loop header",
                 rows[3][3])
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 1, "no new ticket")
        check.eq(s.sql_value("SELECT count(*) FROM quarantine"), 0, "nothing quarantined")
        check.eq(len(s.captured()), 1, "no acknowledgement to any of them")
        check.eq(s.folder_count("spocd/processed"), 5, "all of them moved to processed")

        # the next mail to her continues from the acknowledgement, not from her out-of-office
        check.eq(s.run_spocctl("ticket", "set", "INC-000001", "status", "pending")[0], 0, "status set")
        check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "the notifier runs")
        status = s.captured()[-1]
        check.eq(st.ids_in(status["In-Reply-To"]), st.ids_in(ack["Message-ID"]),
                 "the status update answers the acknowledgement")
        check.ok(st.ids_in(ooo_id := st.parse(ooo)["Message-ID"])[0] not in str(status["References"]),
                 "and does not name the out-of-office answer", (ooo_id, status["References"]))


if __name__ == "__main__":
    st.main(test)
