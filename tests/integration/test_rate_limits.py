#!/usr/bin/python3
"""Rate limits on automatic mail: an auto-responder spocd cannot recognise (plain headers, new
subject each time) writes again and again; past rate_limits.per_recipient_hour its tickets are
still created, but their acknowledgements are kept in the outbox as 'held' with the reason and
never sent, so the two machines cannot ping-pong. Another address is not affected."""

import spocdtest as st


def test(check):
    with st.Services(name="spocd-rate") as s:
        s.conf = s.write_config(rate_limits={"per_recipient_hour": 3, "per_recipient_day": 40,
                                             "per_ticket_day": 20})
        for i in range(5):
            s.append(st.make_message("robot@vendor.example", f"Your request number {1000 + i} was received",
                                     f"Thank you for your message number {i}.\r\n"))
        s.append(st.make_message("lucia.vidal@example.com", "No funciona la impresora",
                                 "La impresora de la planta 1 no imprime.\r\n"))
        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 0, "spocd --once")
        check.eq(s.sql_value("SELECT count(*) FROM tickets WHERE requester = 'robot@vendor.example'"), 5,
                 "every message still became a ticket")
        rows = s.sql("SELECT state, last_error FROM outbox WHERE recipient = 'robot@vendor.example' ORDER BY id")
        check.eq([r[0] for r in rows], ["sent", "sent", "sent", "held", "held"],
                 "three acknowledgements sent, the rest held")
        check.ok(all("rate_limits.per_recipient_hour = 3" in r[1] for r in rows[3:]),
                 "the held rows say which limit", rows[3:])
        sent_to = [str(m["To"]) for m in s.captured()]
        check.eq(sum("robot@vendor.example" in t for t in sent_to), 3, "only three reached the robot")
        check.eq(sum("lucia.vidal@example.com" in t for t in sent_to), 1, "a person is not affected")
        rc, out, err = s.run_spocd("--once")
        check.eq(len(s.captured()), 4, "held rows are never sent later")


if __name__ == "__main__":
    st.main(test)
