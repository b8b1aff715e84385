#!/usr/bin/python3
"""The same raw mail arriving through two configured mailboxes (an address on two desks' lists,
or a copy both routes delivered): one ticket, one acknowledgement; the copy in the second mailbox
is recorded as a duplicate under that mailbox's name and moved to its own processed folder."""

import spocdtest as st


def test(check):
    raw = st.make_message(
        "oriol.ferrer@example.com", "Sin acceso a la carpeta compartida de nóminas",
        "Buenas,\r\n\r\ndesde esta mañana no puedo abrir la carpeta compartida de nóminas: dice que\r\n"
        "no tengo permisos. Ayer funcionaba.\r\n\r\nOriol\r\n", from_name="Oriol Ferrer",
        language="es-ES", message_id="<20240405091233.77c2@example.com>")
    with st.Services(name="spocd-fault-two") as s:
        s._client().create("Rrhh")
        conf = s.write_mailboxes_config(name="two-mailboxes.conf", boxes=[
            {"name": "soporte", "mailbox": "INBOX"},
            {"name": "rrhh", "mailbox": "Rrhh", "processed_folder": "spocd/rrhh-processed",
             "failed_folder": "spocd/rrhh-failed"}])
        uid_a = s.append(raw)
        uid_b = s.append(raw, mailbox="Rrhh")

        rc, out, err = s.run_spocd("--once", config=conf)
        check.eq(rc, 0, "spocd --once exits 0")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 1, "one ticket")
        check.eq(s.sql_value("SELECT count(*) FROM messages WHERE direction = 'in'"), 1, "one 'in' message row")
        log = s.sql("SELECT mailbox, uid, outcome, raw_sha256 FROM ingest_log ORDER BY id")
        check.eq(sorted((r[0], r[1], r[2], r[3].lower()) for r in log),
                 sorted([("soporte", uid_a, "ticket", st.sha256_hex(raw)),
                         ("rrhh", uid_b, "duplicate", st.sha256_hex(raw))]),
                 "ingest_log: the first mailbox's copy a ticket, the second's a duplicate")
        check.eq(s.sql_value("SELECT count(*) FROM outbox"), 1, "one outbox row")
        check.eq(len(s.captured()), 1, "one acknowledgement sent")
        check.eq((s.folder_count("INBOX"), s.folder_count("Rrhh")), (0, 0), "both mailboxes emptied")
        check.eq((s.folder_count("spocd/processed"), s.folder_count("spocd/rrhh-processed")), (1, 1),
                 "each copy in its own mailbox's processed folder")

        rc, out, err = s.run_spocd("--once", config=conf)
        check.eq(rc, 0, "a second spocd --once exits 0")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 1, "still one ticket")
        check.eq(len(s.captured()), 1, "still one acknowledgement")


if __name__ == "__main__":
    st.main(test)
