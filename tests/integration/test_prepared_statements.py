#!/usr/bin/python3
"""spocd parses and plans each of its statements once per database session, and survives a
change of the tables under those plans.

- PostgreSQL logs every statement of the database (log_min_duration_statement = 0, set on the
  database so only new sessions take it): a run of spocd over 60 mails prepares each query once
  per session ("parse sN"), executes the prepared ones many times over ("execute sN": the one
  that opens a ticket once for each mail), and runs no query unprepared ("execute <unnamed>:
  SELECT ..."), so the hot path does not pay a parse and a plan per call;
- an operator's ALTER TABLE that changes the type of a column spocd reads makes the next use of
  a prepared plan fail ("cached plan must not change result type"), here inside a message's own
  savepoint; that is a passing failure (the batch is tried again with every statement prepared
  anew), not a fault of the message: the agent's next reply is still relayed, nothing is
  quarantined."""

import collections
import os
import re

import spocdtest as st

MAILS = 60
AUTH_OK = ("Authentication-Results", "mx.desk.test; dkim=pass header.d=desk.test; spf=pass")


def mail(i, tag="prep"):
    return st.make_message(f"user{i}@example.com", f"{tag} {i}: la impresora no imprime",
                           f"Hola,\r\n\r\nla impresora de la planta {i} no imprime.\r\n\r\nGracias\r\n")


def test(check):
    with st.Services(name="spocd-prepared") as s:
        check.eq(s.run_spocd("--once")[0], 0, "first run creates the schema")
        s.sql("ALTER DATABASE spocd SET log_min_duration_statement = 0")
        pg_log = os.path.join(s.dir, "pg", "postgres.log")
        start = os.path.getsize(pg_log)
        for i in range(MAILS):
            s.append(mail(i))
        rc = s.run_spocd("--once")[0]
        check.ok(rc in (0, 75), f"spocd --once over {MAILS} mails (exit {rc})")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), MAILS, "every mail is a ticket")
        with open(pg_log, "rb") as f:
            f.seek(start)
            text = f.read().decode("utf-8", "replace")
        s.sql("ALTER DATABASE spocd RESET log_min_duration_statement")

        parses = collections.Counter(re.findall(r"\[(\d+)\] LOG:  duration: [0-9.]+ ms  parse (s\d+):", text))
        executes = collections.Counter(re.findall(r"LOG:  duration: [0-9.]+ ms  execute (s\d+): (.{0,40})", text))
        unnamed = re.findall(r"execute <unnamed>: +((?:SELECT|INSERT|UPDATE|DELETE|WITH)\b.{0,60})", text)
        check.ok(len(parses) > 0, f"spocd prepares its statements ({len(parses)} prepared)", text[-2000:])
        check.eq([k for k, n in parses.items() if n > 1], [], "each statement is prepared once per session")
        # the statement that opens a ticket, once per mail, under the one name it was prepared as
        opening = [n for (name, head), n in executes.items() if head.startswith("WITH t AS (INSERT INTO tickets")]
        check.eq(opening, [MAILS], f"and executed many times over: the one that opens a ticket, once for each "
                 f"of the {MAILS} mails ({sum(executes.values())} executions of {len(parses)} prepared statements)")
        check.eq(unnamed, [], "no query is run unprepared")

        # a change of the tables under the plans of a running daemon
        def reply(n, tag):
            """the agent's answer on the ticket of mail n: relayed to its requester"""
            display, subject = s.sql(f"SELECT display, subject FROM tickets WHERE subject LIKE 'prep {n}:%%'")[0]
            return st.make_message("ana@desk.test", f"Re: [{display}] {subject}",
                                   f"{tag}: reinicia la impresora, por favor.\r\n", from_name="Ana",
                                   extra_headers=[AUTH_OK]), display

        def relayed(display, tag):
            return s.sql_value("SELECT count(*) FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
                               " WHERE t.display = %s AND o.kind = 'agent-reply' AND o.body LIKE %s",
                               (display, tag + ":%"))

        s.conf = s.write_config(agents={"trusted_authserv_id": "mx.desk.test", "proof": "token-or-domain"})
        check.eq(s.run_spocctl("agent", "add", "ana@desk.test", "--name", "Ana")[0], 0, "agent ana")
        d = s.start_spocd(name="daemon")
        try:
            raw, first = reply(0, "before")
            s.append(raw)
            check.wait_for(lambda: relayed(first, "before") == 1, 30,
                           "the daemon relays an agent's reply (its plans are made)")
            # the type of a column that the relay's query of the ticket's people returns, inside
            # the message's own savepoint: its prepared plan is now stale
            s.sql("ALTER TABLE participants ALTER COLUMN name TYPE varchar(400)")
            raw, second = reply(1, "after")
            s.append(raw)
            check.wait_for(lambda: relayed(second, "after") == 1, 60,
                           "after the ALTER TABLE the next reply is still relayed")
            check.eq(s.sql_value("SELECT count(*) FROM quarantine"), 0, "nothing is quarantined")
            check.eq(s.sql_value("SELECT count(*) FROM tickets"), MAILS, "and no ticket is opened for it")
        finally:
            d.stop()
        check.ok("cached plan must not change result type" in d.text(),
                 "the daemon did meet the stale plan (and said so)", d.text()[-3000:])


if __name__ == "__main__":
    st.main(test)
