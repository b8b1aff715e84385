#!/usr/bin/python3
"""A message a person already read in the help mailbox (APPENDed to Dovecot with \\Seen, as a
mail client leaves it) is still taken, exactly once: spocd chooses what to read by UID, never by
\\Seen. One ticket, one acknowledgement, the message in the processed folder; a second pass
changes nothing."""

import spocdtest as st


def test(check):
    raw = st.make_message(
        "marta.soler@example.com", "La impresora de la tercera planta no imprime",
        "Hola,\r\n\r\nla impresora de la tercera planta deja los trabajos en cola y no imprime nada.\r\n"
        "Ya la he apagado y encendido.\r\n\r\nMarta\r\n", from_name="Marta Soler", language="es-ES")
    with st.Services(name="spocd-fault-seen") as s:
        uid = s.append(raw, flags="(\\Seen)")
        c = s._client()
        c.select("INBOX", readonly=True)
        typ, data = c.uid("FETCH", str(uid), "(FLAGS)")
        c.close()
        check.ok(b"\\Seen" in b" ".join(d for d in data if isinstance(d, bytes)),
                 "the message is \\Seen on the server before spocd runs", repr(data))

        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 0, "spocd --once exits 0")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 1, "the \\Seen message became one ticket")
        check.eq(s.sql("SELECT uid, outcome FROM ingest_log WHERE mailbox = 'INBOX'"), [(uid, "ticket")],
                 "ingest_log: its UID taken once, as a ticket")
        check.eq(s.folder_count("INBOX"), 0, "INBOX is empty")
        check.eq(s.folder_count("spocd/processed"), 1, "the message is in spocd/processed")
        check.eq(s.sql_value("SELECT count(*) FROM outbox"), 1, "one outbox row")
        check.eq(len(s.captured()), 1, "one acknowledgement sent")

        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 0, "a second spocd --once exits 0")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 1, "still one ticket")
        check.eq(s.sql_value("SELECT count(*) FROM ingest_log"), 1, "still one ingest_log row")
        check.eq(len(s.captured()), 1, "still one acknowledgement")


if __name__ == "__main__":
    st.main(test)
