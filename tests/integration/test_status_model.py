#!/usr/bin/python3
"""The ITIL status model is enforced by the database whoever writes the tickets table, and every
change is in the audit trail with who made it: spocd's own writes, a client that names itself
through the spocd.actor/spocd.via settings, and a plain SQL client (recorded as its database
user). Participants: the requester (From, or Reply-To when desk.requester = "reply-to") and, with
desk.cc_watchers, the people in Cc; only participants thread by the subject tag, never a stranger
who knows the number, and never the desk's own address."""

import psycopg2

import spocdtest as st

CHECK_VIOLATION = "23514"


def refused(check, cur, what, query, params, message, constraint=None):
    """Runs query and checks that the database refuses it with a check_violation whose message
    contains `message` (and, for a CHECK constraint, that constraint's name): any other error,
    or none, fails."""
    try:
        cur.execute(query, params)
    except psycopg2.Error as e:
        got = (e.pgcode, message in (e.diag.message_primary or ""), e.diag.constraint_name)
        check.eq(got, (CHECK_VIOLATION, True, constraint), f"{what}: refused with \"{message}\"")
        return
    check.ok(False, f"{what}: must be refused")


def test(check):
    first = st.make_message("ana.gil@example.com", "No funciona el correo",
                            "Hola, desde esta mañana no puedo enviar correo.\r\n",
                            extra_headers=[("Cc", "Luis Mora <luis.mora@example.com>, help@desk.test"),
                                           ("Reply-To", "ana.gil.personal@example.net")])
    with st.Services(name="spocd-status", smtp=False) as s:
        s.conf = s.write_config(desk={**s.config_tree()["desk"], "cc_watchers": True,
                                      "watcher_domains": ["example.com"]})
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
            refused(check, cur, "resolved -> new", "UPDATE tickets SET status = 'new' WHERE id = %s", (tid,),
                    f"ticket {display}: status cannot go from resolved to new")
            cur.execute("UPDATE tickets SET status = 'in-progress' WHERE id = %s", (tid,))
            cur.execute("SELECT resolved_at FROM tickets WHERE id = %s", (tid,))
            check.eq(cur.fetchone()[0], None, "reopening clears resolved_at")
            cur.execute("UPDATE tickets SET status = 'closed' WHERE id = %s", (tid,))
            for target in ("in-progress", "resolved", "new", "open"):
                refused(check, cur, f"closed -> {target}", "UPDATE tickets SET status = %s WHERE id = %s",
                        (target, tid), f"ticket {display}: status cannot go from closed to {target}")
            cur.execute("UPDATE tickets SET subject = 'Cerrada: ' || subject WHERE id = %s", (tid,))
            cur.execute("SELECT status, subject FROM tickets WHERE id = %s", (tid,))
            check.eq(cur.fetchone(), ("closed", "Cerrada: No funciona el correo"),
                     "a closed ticket stays closed and may still be written without a status move")
            # a status outside the model never gets in, not even on a new row (which no move checks)
            refused(check, cur, "a new ticket with the unknown status 'open'",
                    "INSERT INTO tickets (kind, subject, requester, status)"
                    " VALUES ('incident', 'x', 'x@example.com', 'open')", None,
                    'violates check constraint "tickets_status_check"', "tickets_status_check")
        conn.close()

        events = s.sql("SELECT field, old_value, new_value, actor, via FROM ticket_events"
                       " WHERE ticket_id = %s AND field <> 'created' ORDER BY id", (tid,))
        check.eq(events[0], ("status", "new", "in-progress", "ana@desk.test", "spocctl"),
                 "a client that names itself is recorded as such")
        check.eq(events[1], ("priority", f"P{priority}", "P2", "ana@desk.test", "spocctl"),
                 "the priority change too")
        check.eq([e[:3] for e in events[2:]],
                 [("status", "in-progress", "resolved"), ("status", "resolved", "in-progress"),
                  ("reopened", "resolved", "in-progress"), ("status", "in-progress", "closed")],
                 "every later move is recorded, a reopen as one")
        check.ok(all(e[3] == "postgres" and e[4] == "sql" for e in events[2:]),
                 "a plain SQL client is recorded as its database user", events[2:])

    # desk.requester = "reply-to"
    with st.Services(name="spocd-status-rt", smtp=False) as s:
        s.conf = s.write_config(desk={**s.config_tree()["desk"], "requester": "reply-to"})
        s.append(first)
        s.run_spocd("--once")
        check.eq(s.sql("SELECT requester FROM tickets"), [("ana.gil@example.com",)],
                 "with desk.requester = reply-to, a Reply-To in another domain than the From's "
                 "is not the requester (anyone may write one)")
        same = st.make_message("ana.gil@example.com", "Tampoco va la VPN", "La VPN tampoco.\r\n",
                               extra_headers=[("Reply-To", "Ana Gil <ana.gil.casa@example.com>")])
        s.append(same)
        s.run_spocd("--once")
        check.eq(s.sql("SELECT requester FROM tickets ORDER BY id"),
                 [("ana.gil@example.com",), ("ana.gil.casa@example.com",)],
                 "a Reply-To in the From's own domain is the requester")
        check.eq(s.sql_value("SELECT recipient FROM outbox ORDER BY id DESC LIMIT 1"),
                 "ana.gil.casa@example.com", "and the acknowledgement goes there")


if __name__ == "__main__":
    st.main(test)
