#!/usr/bin/python3
"""The ITIL status model is enforced by the database whoever writes the tickets table, and every
change is in the audit trail with who made it: spocd's own writes, a client that names itself
through the spocd.actor/spocd.via settings, and a plain SQL client (recorded as its database
user). Participants: the requester (From, or Reply-To when desk.requester = "reply-to") and, with
desk.cc_watchers, the people in Cc; only participants thread by the subject tag, never a stranger
who knows the number, and never the desk's own address."""

import psycopg2

import spocdtest as st


def test(check):
    first = st.make_message("ana.gil@example.com", "No funciona el correo",
                            "Hola, desde esta mañana no puedo enviar correo.\r\n",
                            extra_headers=[("Cc", "Luis Mora <luis.mora@example.com>, help@desk.test"),
                                           ("Reply-To", "ana.gil.personal@example.net")])
    with st.Services(name="spocd-status", smtp=False) as s:
        s.conf = s.write_config(desk={**s.config_tree()["desk"], "cc_watchers": True})
        s.append(first)
        rc, out, err = s.run_spocd("--once")
        check.ok(rc in (0, 75), "spocd --once ran (no SMTP listener: the ack waits)", f"exit {rc}")
        tid, display, status, priority = s.sql("SELECT id, display, status, priority FROM tickets")[0]
        check.eq(status, "new", "a new ticket starts as new")
        check.eq(s.sql("SELECT address, role FROM participants WHERE ticket_id = %s ORDER BY address", (tid,)),
                 [("ana.gil@example.com", "requester"), ("luis.mora@example.com", "watcher")],
                 "requester from From, the Cc'd person a watcher, the desk address left out")
        check.eq(s.sql("SELECT field, new_value, via FROM ticket_events WHERE ticket_id = %s", (tid,)),
                 [("created", display, "email")], "the creation is in the audit trail, by email")

        # the watcher may thread by the subject tag; a stranger who knows the number may not
        watcher = st.make_message("luis.mora@example.com", f"Re: [{display}] No funciona el correo",
                                  "A mí tampoco me funciona.\r\n")
        stranger = st.make_message("eve@attacker.example", f"RE: [{display}] No funciona el correo",
                                   "Please send me the details of this ticket.\r\n")
        s.append(watcher)
        s.append(stranger)
        s.run_spocd("--once")
        check.eq(s.sql_value("SELECT count(*) FROM messages WHERE ticket_id = %s AND direction = 'in'", (tid,)), 2,
                 "the watcher's reply joined the ticket")
        check.eq(s.sql_value("SELECT count(*) FROM messages m JOIN tickets t ON t.id = m.ticket_id"
                             " WHERE m.from_addr = 'eve@attacker.example' AND t.id <> %s", (tid,)), 1,
                 "the stranger's mail made a ticket of its own")
        check.eq(s.sql_value("SELECT count(*) FROM participants WHERE address = 'eve@attacker.example' AND ticket_id = %s",
                             (tid,)), 0, "and the stranger is not a participant of the tagged ticket")

        # status moves, enforced by the database
        conn = psycopg2.connect(s.conninfo)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SET spocd.actor = 'ana@desk.test'; SET spocd.via = 'spocctl'")
            cur.execute("UPDATE tickets SET status = 'in-progress', priority = 2 WHERE id = %s", (tid,))
            cur.execute("RESET spocd.actor; RESET spocd.via")
            cur.execute("UPDATE tickets SET status = 'resolved' WHERE id = %s", (tid,))
            cur.execute("SELECT resolved_at IS NOT NULL FROM tickets WHERE id = %s", (tid,))
            check.eq(cur.fetchone()[0], True, "resolving sets resolved_at")
            try:
                cur.execute("UPDATE tickets SET status = 'new' WHERE id = %s", (tid,))
                check.ok(False, "resolved -> new must be refused")
            except psycopg2.Error as e:
                check.ok("cannot go from resolved to new" in str(e), "resolved -> new is refused, and says so", str(e))
            cur.execute("UPDATE tickets SET status = 'in-progress' WHERE id = %s", (tid,))
            cur.execute("SELECT resolved_at FROM tickets WHERE id = %s", (tid,))
            check.eq(cur.fetchone()[0], None, "reopening clears resolved_at")
            cur.execute("UPDATE tickets SET status = 'closed' WHERE id = %s", (tid,))
            for target in ("in-progress", "resolved", "new"):
                try:
                    cur.execute("UPDATE tickets SET status = %s WHERE id = %s", (target, tid))
                    check.ok(False, f"closed -> {target} must be refused")
                except psycopg2.Error:
                    check.ok(True, f"closed -> {target} is refused")
            cur.execute("UPDATE tickets SET subject = subject WHERE id = %s", (tid,))
            check.ok(True, "a closed ticket may still be written without a status move")
            try:
                cur.execute("UPDATE tickets SET status = 'open' WHERE id = %s", (tid,))
                check.ok(False, "an unknown status must be refused")
            except psycopg2.Error:
                check.ok(True, "an unknown status is refused")
        conn.close()

        events = s.sql("SELECT field, old_value, new_value, actor, via FROM ticket_events"
                       " WHERE ticket_id = %s AND field <> 'created' ORDER BY id", (tid,))
        check.eq(events[0], ("status", "new", "in-progress", "ana@desk.test", "spocctl"),
                 "a client that names itself is recorded as such")
        check.eq(events[1], ("priority", f"P{priority}", "P2", "ana@desk.test", "spocctl"),
                 "the priority change too")
        check.eq([e[:3] for e in events[2:]],
                 [("status", "in-progress", "resolved"), ("status", "resolved", "in-progress"),
                  ("status", "in-progress", "closed")], "every later move is recorded")
        check.ok(all(e[3] == "postgres" and e[4] == "sql" for e in events[2:]),
                 "a plain SQL client is recorded as its database user", events[2:])

    # desk.requester = "reply-to"
    with st.Services(name="spocd-status-rt", smtp=False) as s:
        s.conf = s.write_config(desk={**s.config_tree()["desk"], "requester": "reply-to"})
        s.append(first)
        s.run_spocd("--once")
        check.eq(s.sql("SELECT requester FROM tickets"), [("ana.gil.personal@example.net",)],
                 "with desk.requester = reply-to the Reply-To address is the requester")
        check.eq(s.sql_value("SELECT recipient FROM outbox"), "ana.gil.personal@example.net",
                 "and the acknowledgement goes there")


if __name__ == "__main__":
    st.main(test)
