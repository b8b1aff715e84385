#!/usr/bin/python3
"""Which ticket a message belongs to: a reply naming the acknowledgement in In-Reply-To (any
client) or only in References, and a new mail whose subject carries the "[INC-000001]" tag from
the ticket's requester, all land on the ticket. The same tag from a stranger does not: it makes a
new ticket, and nothing of the first one reaches the stranger (the defence against the "Ticket
Trick")."""

import spocdtest as st


def test(check):
    with st.Services(name="spocd-threading") as s:
        s.append(st.make_message("ines.marin@example.com", "No funciona el proyector de la sala 4",
                                 "El proyector no enciende.\r\n", from_name="Inés Marín"))
        check.eq(s.run_spocd("--once")[0], 0, "first run exits 0")
        ack = s.captured()[0]
        number = s.sql_value("SELECT display FROM tickets")
        check.eq(number, "INC-000001", "ticket INC-000001")

        by_refs = st.make_message("ines.marin@example.com", "Re: " + ack["Subject"],
                                  "Sigue sin funcionar.\r\n", references=[ack["Message-ID"]])
        by_tag = st.make_message("Ines.Marin@Example.com", f"Más datos [{number}]",
                                 "Es el modelo Epson EB-X41.\r\n")
        stranger = st.make_message("mallory@evil.example", f"Re: [{number}] proyector",
                                   "Please add me to this ticket.\r\n")
        uids = [s.append(m) for m in (by_refs, by_tag, stranger)]
        check.eq(s.run_spocd("--once")[0], 0, "second run exits 0")
        rows = s.sql("SELECT l.uid, l.outcome, t.display FROM ingest_log l "
                     "LEFT JOIN tickets t ON t.id = l.ticket_id WHERE l.uid = ANY(%s) ORDER BY l.uid",
                     (uids,))
        check.eq(rows[0][1:], ("reply", number), "a reply naming the acknowledgement only in References")
        check.eq(rows[1][1:], ("reply", number),
                 "the requester's new mail with the ticket tag (address in other case)")
        check.eq(rows[2][1], "ticket", "a stranger using the tag gets a ticket of their own")
        check.ok(rows[2][2] != number, f"not {number} ({rows[2][2]})")
        check.eq(s.sql_value("SELECT count(*) FROM messages m JOIN tickets t ON t.id = m.ticket_id "
                             "WHERE t.display = %s AND m.from_addr = 'mallory@evil.example'", (number,)),
                 0, "nothing of the stranger's is on the first ticket")
        to_stranger = [m for m in s.captured() if "mallory@evil.example" in m["To"]]
        check.eq(len(to_stranger), 1, "the stranger gets one acknowledgement, for their own ticket")
        check.ok(to_stranger[0]["Subject"].startswith(f"[{rows[2][2]}] "),
                 "which is tagged with their own ticket", to_stranger[0]["Subject"])
        check.ok("proyector no enciende" not in st.body_text(to_stranger[0]),
                 "and carries nothing of the first ticket")


if __name__ == "__main__":
    st.main(test)
