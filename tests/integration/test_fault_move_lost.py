#!/usr/bin/python3
"""The connection is lost after UID MOVE was sent and before its answer (the ticket already
committed): the pass ends with exit 75, and the next one duplicates nothing, whichever way the
server went:
  - the move was not done: the message is taken again, recognised by its ingest_log claim
    (mailbox, UIDVALIDITY, UID), and only moved;
  - the move was done: the message is gone from the mailbox and nothing more happens.
One ticket and one acknowledgement each."""

import spocdtest as st
from fake_imap import FakeImap


def one_case(check, s, label, raw, uidvalidity, move_done, tickets0):
    acks0 = len(s.captured())
    with FakeImap("move-lost", raw, uidvalidity=uidvalidity, drop_at_move=True,
                  move_done=move_done) as fake:
        conf = s.write_config(name="move-lost.conf", imap__port=fake.port, imap__timeout=5)
        rc, out, err = s.run_spocd("--once", config=conf, timeout=60)
        check.eq(rc, 75, f"{label}: connection lost at UID MOVE: spocd --once exits 75")
        check.ok("UID MOVE" in err, f"{label}: the error names the UID MOVE", err)
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), tickets0 + 1,
                 f"{label}: the ticket was committed before the move")
        moves = sum(1 for c in fake.commands if " UID MOVE 1 " in c.upper())
        check.eq(moves, 1, f"{label}: one UID MOVE sent in the first pass")

        rc, out, err = s.run_spocd("--once", config=conf, timeout=60)
        check.eq(rc, 0, f"{label}: the next pass exits 0")
        check.eq(fake.sessions, 2, f"{label}: over a new connection")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), tickets0 + 1, f"{label}: still one ticket")
        check.eq(s.sql("SELECT uid, outcome FROM ingest_log WHERE uidvalidity = %s", (uidvalidity,)),
                 [(1, "ticket")], f"{label}: one ingest_log row, the ticket")
        check.eq(s.sql_value("SELECT count(*) FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
                             " WHERE t.id = (SELECT max(id) FROM tickets)"), 1,
                 f"{label}: one outbox row for it")
        check.eq(len(s.captured()), acks0 + 1, f"{label}: one acknowledgement sent in all")
        moves2 = sum(1 for c in fake.commands if " UID MOVE 1 " in c.upper()) - moves
        check.eq(moves2, 0 if move_done else 1,
                 f"{label}: the next pass moves it {'no more' if move_done else 'again'}")
        check.ok(fake.moved, f"{label}: the message is out of the mailbox in the end")


def test(check):
    first = st.make_message("laia.mas@example.com", "El escáner no envía al correo",
                            "El escáner de recepción no envía los documentos al correo.\r\n")
    second = st.make_message("marc.gil@example.com", "Teléfono sin línea",
                             "El teléfono de mi mesa no tiene línea desde el lunes.\r\n")
    with st.Services(name="spocd-fault-move") as s:
        one_case(check, s, "move not done", first, 8000, move_done=False, tickets0=0)
        one_case(check, s, "move done", second, 8001, move_done=True, tickets0=1)


if __name__ == "__main__":
    st.main(test)
