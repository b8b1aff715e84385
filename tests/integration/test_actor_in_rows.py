#!/usr/bin/python3
"""Who changed a ticket travels in the row the change writes (sql/023_actor_in_rows.sql): the
audit trail names the requester or the agent by email (with the message that made the change),
the operator by spocctl, and a plain SQL client as its database user. A plain SQL UPDATE right
after spocd's or spocctl's change is never recorded, nor announced to the participants, under the
previous writer's name, even when that writer named the same actor twice in a row. The status
update an agent's mail queued is told apart from another mail's of the same batch transaction by
its message, not by the time of the transaction. And spocd sends fewer statements per new ticket
than when it set and reset the actor around each change (pg_stat_statements, top level)."""

import spocdtest as st

AUTH_OK = ("Authentication-Results", "mx.desk.test; dkim=pass header.d=desk.test; spf=pass")
MARTA = "marta.ruiz@example.com"
ANA = "ana@desk.test"

# Top-level statements spocd sent per new ticket (count_per_ticket(), which includes the run's
# share of the failed delivery of one acknowledgement) when it set who was acting in the INSERT
# and reset it with two statements of their own after: 16.25, measured by this test on that code.
STATEMENTS_PER_TICKET_BEFORE = 16.25


def events(s, tid, since=0):
    return s.sql("SELECT field, old_value, new_value, actor, via, message_row FROM ticket_events"
                 " WHERE ticket_id = %s AND id > %s AND field <> 'created' ORDER BY id", (tid, since))


def last_event(s):
    return s.sql_value("SELECT coalesce(max(id), 0) FROM ticket_events")


def last_in(s):
    return s.sql_value("SELECT max(id) FROM messages WHERE direction = 'in'")


def run(check, s, what):
    rc, out, err = s.run_spocd("--once")
    check.ok(rc in (0, 75), what, f"exit {rc}: {err[-2000:]!r}")


class Statements:
    """pg_stat_statements of the spocd database, read over a connection to `postgres`."""

    def __init__(self, s):
        self.db = st.psycopg2.connect(host=s.pg_sock, port=s.pg_port, dbname="postgres", user="postgres")
        self.db.autocommit = True
        self.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def query(self, sql):
        with self.db.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description is not None else None

    def top_level(self, s, append):
        """Top-level statements of one `spocd --once` run after append() put its mail in INBOX."""
        self.query("SELECT pg_stat_statements_reset()")
        append()
        s.run_spocd("--once")
        return int(self.query("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE toplevel"
                              " AND dbid = (SELECT oid FROM pg_database WHERE datname = 'spocd')")[0][0])


def count_per_ticket(check, s, n=4):
    """Statements per new ticket: a run with n new tickets less a run with none, over n."""
    stats = Statements(s)
    try:
        idle = stats.top_level(s, lambda: None)
        before = s.sql_value("SELECT count(*) FROM tickets")

        def put():
            for i in range(n):
                s.append(st.make_message(f"user{i}@example.com", f"Count {i}", "Nothing works.\r\n"))
        busy = stats.top_level(s, put)
    finally:
        stats.db.close()
    check.eq(s.sql_value("SELECT count(*) FROM tickets") - before, n, f"{n} new tickets for the count")
    return (busy - idle) / n


def test(check):
    with st.Services(name="spocd-actor", smtp=False,
                     pg_settings={"shared_preload_libraries": "pg_stat_statements",
                                  "pg_stat_statements.track": "all"}) as s:
        s.conf = s.write_config(agents={"trusted_authserv_id": "mx.desk.test", "proof": "token-or-domain"},
                                trust={"unverified": "accept"})
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
        check.eq(s.run_spocctl("agent", "add", ANA, "--name", "Ana Pérez")[0], 0, "agent added")

        # (c) statements per new ticket, first, on a quiet desk
        per_ticket = count_per_ticket(check, s)
        print(f"top-level statements per new ticket: {per_ticket:.2f} "
              f"(before the actor moved into the rows: {STATEMENTS_PER_TICKET_BEFORE:.2f})")
        check.ok(per_ticket <= STATEMENTS_PER_TICKET_BEFORE - 2,
                 f"spocd sends fewer statements per new ticket ({per_ticket:.2f}, was "
                 f"{STATEMENTS_PER_TICKET_BEFORE:.2f})")
        check.eq(s.sql_value("SELECT count(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id"
                             " WHERE e.field = 'created' AND e.actor = t.requester AND e.via = 'email'"
                             " AND t.subject LIKE 'Count %%'"), 4,
                 "and every one of those tickets is audited as created by its requester, by email")

        # (a) by email: the requester opens a ticket, the agent changes it
        user = st.make_message(MARTA, "La VPN no conecta", "Hola, la VPN no conecta.\r\n")
        s.append(user)
        run(check, s, "the requester writes")
        tid, display = s.sql("SELECT id, display FROM tickets WHERE requester = %s", (MARTA,))[0]
        check.eq(s.sql("SELECT actor, via, message_row FROM ticket_events WHERE ticket_id = %s"
                       " AND field = 'created'", (tid,)), [(MARTA, "email", None)],
                 "email: created by the requester, by email")
        user_id = st.parse(user)["Message-ID"]

        def agent(commands, what):
            s.append(st.make_message(ANA, f"Re: [{display}] La VPN no conecta", commands, from_name="Ana Pérez",
                                     in_reply_to=user_id, extra_headers=[AUTH_OK]))
            run(check, s, what)
            return last_in(s)

        mark = last_event(s)
        row = agent("#status pending\r\n#priority 2\r\n", "the agent sets status and priority")
        check.eq(events(s, tid, mark),
                 [("status", "new", "pending", ANA, "email", row), ("priority", "P3", "P2", ANA, "email", row)],
                 "email: the agent's commands audited as hers, by email, naming her mail")
        check.eq(s.sql("SELECT detail->>'actor', detail->>'via', caused_by_message FROM outbox"
                       " WHERE ticket_id = %s AND kind = 'status'", (tid,)), [(ANA, "email", row)],
                 "email: the status update names her, and her mail")

        # (b) the attack: a plain SQL UPDATE right after the agent's change is not hers
        mark = last_event(s)
        s.sql("UPDATE tickets SET status = 'resolved' WHERE id = %s", (tid,))
        check.eq(events(s, tid, mark), [("status", "pending", "resolved", "postgres", "sql", None)],
                 "sql after email: recorded as the database user, not as the agent who wrote before")
        check.eq(s.sql("SELECT detail->>'actor', detail->>'via', caused_by_message FROM outbox"
                       " WHERE ticket_id = %s AND kind = 'status' AND detail->>'to' = 'resolved'", (tid,)),
                 [("postgres", "sql", None)], "sql after email: nor is the status update sent in her name")
        check.eq(s.sql("SELECT changed_by, changed_via, changed_by_message, changed_named FROM tickets"
                       " WHERE id = %s", (tid,)), [(None, None, None, False)],
                 "sql after email: the row carries nobody")

        # (a) spocctl, the same operator twice in a row, then (b) plain SQL after it
        operator = None
        for prio in ("1", "4"):
            mark = last_event(s)
            rc, out, err = s.run_spocctl("ticket", "set", display, "priority", prio)
            check.ok(rc == 0, f"spocctl ticket set priority {prio}", err)
            got = events(s, tid, mark)
            operator = operator or (got[0][3] if got else None)
            check.ok(len(got) == 1 and got[0][:3] == ("priority", got[0][1], f"P{prio}")
                     and got[0][4] == "spocctl" and got[0][5] is None
                     and (got[0][3] or "").startswith("spocctl:") and got[0][3] == operator,
                     f"spocctl: priority {prio} audited as the operator, via spocctl (same operator twice)", got)
        mark = last_event(s)
        s.sql("UPDATE tickets SET kind = 'request' WHERE id = %s", (tid,))
        check.eq(events(s, tid, mark), [("kind", "incident", "request", "postgres", "sql", None)],
                 "sql after spocctl: recorded as the database user, not as the operator")

        # an SQL client that names the actor in the row is recorded as named, once
        mark = last_event(s)
        s.sql("UPDATE tickets SET priority = 5, changed_by = 'dba@desk.test', changed_via = 'console'"
              " WHERE id = %s", (tid,))
        s.sql("UPDATE tickets SET priority = 3 WHERE id = %s", (tid,))
        check.eq([e[2:5] for e in events(s, tid, mark)],
                 [("P5", "dba@desk.test", "console"), ("P3", "postgres", "sql")],
                 "sql: a client's own naming holds for its statement only")

        # one statement, several tickets: each audited once, by the statement's actor
        mark = last_event(s)
        n = s.sql("UPDATE tickets SET priority = 2, changed_by = 'bulk@desk.test', changed_via = 'sql'"
                  " WHERE subject LIKE 'Count %%'")
        check.eq(n, 4, "a bulk update of the four counted tickets")
        check.eq(s.sql("SELECT count(DISTINCT ticket_id), count(*), min(actor), max(actor) FROM ticket_events"
                       " WHERE id > %s AND field = 'priority'", (mark,)), [(4, 4, "bulk@desk.test", "bulk@desk.test")],
                 "statement-level audit: one priority event per ticket, each by the named actor")

        # the status update of one mail is its own, not another mail's of the same transaction:
        # two agent mails in one batch, the first only a command, the second only words
        s.sql("UPDATE tickets SET status = 'in-progress' WHERE id = %s", (tid,))
        before = s.sql_value("SELECT coalesce(max(id), 0) FROM outbox")
        for body in ("#status pending\r\n", "Marta, can you restart the router and tell me?\r\n"):
            s.append(st.make_message(ANA, f"Re: [{display}] La VPN no conecta", body, from_name="Ana Pérez",
                                     in_reply_to=user_id, extra_headers=[AUTH_OK]))
        run(check, s, "two agent mails in one batch")
        first, second = s.sql("SELECT id FROM messages WHERE direction = 'in' ORDER BY id DESC LIMIT 2")[::-1]
        check.eq(s.sql("SELECT kind, detail->>'to', caused_by_message FROM outbox WHERE id > %s"
                       " AND recipient = %s ORDER BY id", (before, MARTA)),
                 [("status", "pending", first[0]), ("agent-reply", None, None)],
                 "the first mail's status update stays; the second mail's reply does not take it")

        # and one mail that does both: one mail to the requester, the reply with the new status
        before = s.sql_value("SELECT coalesce(max(id), 0) FROM outbox")
        agent("#status in-progress\r\n\r\nI am looking at it now.\r\n", "one agent mail, status and words")
        check.eq(s.sql("SELECT kind, detail->>'to', detail->>'actor' FROM outbox WHERE id > %s"
                       " AND recipient = %s ORDER BY id", (before, MARTA)),
                 [("agent-reply", "in-progress", ANA)], "the reply carries its own mail's status update")

if __name__ == "__main__":
    st.main(test)
