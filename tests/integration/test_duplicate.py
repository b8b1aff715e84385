#!/usr/bin/python3
"""The same raw message delivered twice (two UIDs in INBOX, as after a client's double send or a
mail loop) becomes one ticket with one acknowledgement; both copies are moved to the processed
folder and the ingest log records both UIDs, one as 'ticket' and one as 'duplicate'."""

import spocdtest as st


def test(check):
    raw = st.make_message(
        "jordi.puig@example.com", "El portátil no arranca después de la actualización",
        "Buenos días,\r\n\r\nesta mañana el portátil se ha actualizado y ahora se queda en la pantalla\r\n"
        "negra con el logotipo. No puedo trabajar. ¿Podéis ayudarme?\r\n\r\nJordi Puig\r\nLogística\r\n",
        from_name="Jordi Puig", language="es-ES", message_id="<20240312081502.4f1a@example.com>")
    with st.Services(name="spocd-dup") as s:
        uid1 = s.append(raw)
        uid2 = s.append(raw)
        check.ok(uid1 != uid2, f"two UIDs in INBOX ({uid1}, {uid2})")
        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 0, "spocd --once exits 0")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 1, "one ticket")
        check.eq(s.sql_value("SELECT count(*) FROM messages WHERE direction = 'in'"), 1, "one 'in' message row")
        log = s.sql("SELECT uid, outcome, raw_sha256 FROM ingest_log WHERE mailbox = 'INBOX' ORDER BY uid")
        check.eq([(r[0], r[1], r[2].lower()) for r in log],
                 [(uid1, "ticket", st.sha256_hex(raw)), (uid2, "duplicate", st.sha256_hex(raw))],
                 "ingest_log: first UID 'ticket', second UID 'duplicate'")
        check.eq(s.folder_count("INBOX"), 0, "INBOX is empty")
        check.eq(s.folder_count("spocd/processed"), 2, "both copies are in spocd/processed")
        check.eq(len(s.captured()), 1, "one acknowledgement captured")
        check.eq(s.sql_value("SELECT count(*) FROM outbox"), 1, "one outbox row")

        # A later run changes nothing.
        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 0, "a second spocd --once exits 0")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 1, "still one ticket")
        check.eq(len(s.captured()), 1, "still one acknowledgement")


if __name__ == "__main__":
    st.main(test)
