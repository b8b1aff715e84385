#!/usr/bin/python3
"""The schema and its migrations: applied in order at start-up and by --migrate, recorded in
schema_migrations, safe to run from several processes at once (advisory lock), idempotent; ticket
numbers come from one sequence, display as INC-/REQ- with six digits and cannot be changed; raw
bytes are stored lz4-compressed."""

import spocdtest as st


def test(check):
    with st.Services(name="spocd-schema", smtp=False) as s:
        # Three processes race to migrate an empty database.
        procs = [s.start_spocd("--migrate", name=f"migrate-{i}") for i in range(3)]
        outs = [(d.wait(timeout=60), d.text()) for d in procs]
        for rc, out in outs:
            check.eq(rc, 0, "concurrent spocd --migrate exits 0")
        applied = sum("migration(s) applied" in out for _, out in outs)
        check.eq(applied, 1, "exactly one of the three applied the migrations")
        versions = [r[0] for r in s.sql("SELECT version FROM schema_migrations ORDER BY version")]
        check.ok(versions and versions[0] == "001_init.sql", f"schema_migrations records {versions}")
        rc, out, err = s.run_spocd("--migrate")
        check.eq(rc, 0, "a second --migrate exits 0")
        check.ok("applied" not in err, "and applies nothing")
        check.eq(s.sql_value("SELECT count(*) FROM schema_migrations"), len(versions),
                 "nothing recorded twice")

        for table in ("tickets", "messages", "mailbox_state", "ingest_log", "ingest_attempts", "quarantine",
                      "outbox"):
            check.ok(s.sql_value("SELECT to_regclass(%s) IS NOT NULL", (table,)), f"table {table} exists")
        check.ok(s.sql_value(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'ingest_log'::regclass AND contype = 'u'"
        ) >= 1, "ingest_log has its UNIQUE (mailbox, uidvalidity, uid)")
        check.eq([r[0] for r in s.sql("SELECT column_name FROM information_schema.columns"
                                       " WHERE table_name = 'mailbox_state' ORDER BY ordinal_position")],
                 ["mailbox", "uidvalidity", "updated_at"],
                 "mailbox_state keeps the UIDVALIDITY, no last UID nobody reads")
        for table in ("messages", "quarantine"):
            check.eq(s.sql_value(
                "SELECT attcompression FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'raw'",
                (table,)), "l", f"{table}.raw is lz4-compressed")

        s.sql("INSERT INTO tickets (kind, subject, requester) VALUES "
              "('incident', 'a', 'a@example.com'), ('request', 'b', 'b@example.com')")
        rows = s.sql("SELECT number, display FROM tickets ORDER BY number")
        check.eq([r[1] for r in rows], [f"INC-{rows[0][0]:06d}", f"REQ-{rows[1][0]:06d}"],
                 "one sequence for both kinds, displayed INC-/REQ- with six digits")
        try:
            s.sql("UPDATE tickets SET number = number + 100 WHERE number = %s", (rows[0][0],))
            changed = True
        except Exception as e:  # psycopg2 raises; the harness reconnects on the next query
            changed = False
            check.ok("immutable" in str(e), "the refusal says the number is immutable", str(e))
        check.ok(not changed, "a ticket's number cannot be changed")

        # The HMAC secret is spocd's alone: a role given read access to every table of the
        # desk (a report writer) reads the tickets but not the key that would let it mint
        # agents' reply tokens.
        import psycopg2
        s.sql("CREATE ROLE reporter LOGIN")
        s.sql("GRANT SELECT ON ALL TABLES IN SCHEMA public TO reporter")
        rep = psycopg2.connect(host=s.pg_sock, port=s.pg_port, dbname="spocd", user="reporter")
        rep.autocommit = True
        with rep.cursor() as cur:
            cur.execute("SELECT count(*) FROM tickets")
            check.eq(cur.fetchone()[0], 2, "the reporting role reads the tickets")
            for query in ("SELECT value FROM spocd_private.spocd_secrets",
                          "SELECT value FROM spocd_secrets"):
                try:
                    cur.execute(query)
                    got = cur.fetchall()
                except psycopg2.Error as e:
                    got = str(e)
                check.ok(isinstance(got, str) and ("permission denied for schema spocd_private" in got
                                                   or "does not exist" in got),
                         f"{query}: refused to the reporting role", got)
        rep.close()
        check.eq(s.sql_value("SELECT length(value) >= 32 FROM spocd_private.spocd_secrets"
                             " WHERE name = 'threading'"), True, "spocd's own role still reads it")


if __name__ == "__main__":
    st.main(test)
