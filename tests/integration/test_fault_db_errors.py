#!/usr/bin/python3
"""The database refuses a write for a reason that passes: disk full (SQLSTATE 53100), an I/O
error (58030), a server in read-only mode (25006, a hot standby or a primary being demoted), a
server starting up (57P03). Injected by a trigger on `messages` that raises that SQLSTATE. Each
is temporary: the pass exits 75, the log names the SQLSTATE, the mail stays in INBOX, nothing is
quarantined or half-written; once the trigger is dropped the next pass makes the ticket, once.
The daemon keeps retrying by itself with its back-off and takes the mail when the fault ends."""

import time

import spocdtest as st

CASES = [
    ("disk_full", "53100", "could not extend file: No space left on device"),
    ("io_error", "58030", "could not read block 7: Input/output error"),
    ("read_only_sql_transaction", "25006", "cannot execute INSERT in a read-only transaction"),
    ("cannot_connect_now", "57P03", "the database system is starting up"),
]


def inject(s, errcode, text):
    s.sql(f"""CREATE OR REPLACE FUNCTION test_fault() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN RAISE EXCEPTION '{text}' USING ERRCODE = '{errcode}'; END $$""")
    s.sql("CREATE TRIGGER test_fault BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION test_fault()")


def heal(s):
    s.sql("DROP TRIGGER test_fault ON messages")


def one_case(check, s, n, errcode, state, text):
    raw = st.make_message(f"user{n}@example.com", f"El monitor {n} no enciende",
                          f"El monitor {n} de la sala de reuniones no enciende.\r\n")
    uid = s.append(raw)
    inject(s, errcode, text)
    for attempt in (1, 2):
        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 75, f"{errcode}: pass {attempt} exits 75 (try again later)")
        check.ok(f"SQLSTATE {state}" in err and text in err and "mailbox INBOX" in err,
                 f"{errcode}: the log names the mailbox, the database's sentence and SQLSTATE {state}", err)
        check.eq(s.folder_uids("INBOX"), [uid], f"{errcode}: the mail is still in INBOX")
        check.eq(s.sql_value("SELECT count(*) FROM quarantine"), 0, f"{errcode}: nothing quarantined")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), n - 1, f"{errcode}: no ticket half-written")
        check.eq(s.sql_value("SELECT count(*) FROM ingest_log"), n - 1, f"{errcode}: no claim left behind")
    heal(s)
    rc, out, err = s.run_spocd("--once")
    check.eq(rc, 0, f"{errcode}: with the trigger gone the next pass exits 0")
    check.eq(s.sql_value("SELECT count(*) FROM tickets WHERE requester = %s", (f"user{n}@example.com",)), 1,
             f"{errcode}: the mail is one ticket")
    check.eq(s.sql("SELECT raw FROM messages WHERE direction = 'in' ORDER BY id DESC LIMIT 1"), [(raw,)],
             f"{errcode}: with its bytes")
    check.eq(s.folder_count("INBOX"), 0, f"{errcode}: INBOX is empty")


def test(check):
    with st.Services(name="spocd-fault-db") as s:
        rc, _, _ = s.run_spocd("--migrate")
        check.eq(rc, 0, "schema in place (the trigger needs the table)")
        for n, (errcode, state, text) in enumerate(CASES, 1):
            one_case(check, s, n, errcode, state, text)
        check.eq(s.folder_count("spocd/processed"), len(CASES), "every mail processed once")
        check.eq(len(s.captured()), len(CASES), "one acknowledgement each")

        # The daemon: retries by itself with its back-off while the disk is full, and takes the
        # mail within one back-off step (poll_interval 5 s caps it at 5 s) once it is not.
        raw = st.make_message("sara.pons@example.com", "El disco del servidor está lleno",
                              "No puedo guardar nada en la unidad compartida.\r\n")
        uid = s.append(raw)
        inject(s, "disk_full", "could not extend file: No space left on device")
        conf = s.write_config(name="daemon.conf", imap__idle=False)
        d = s.start_spocd(config=conf)
        check.wait_for(lambda: d.text().count("SQLSTATE 53100") >= 2, 30,
                       "the daemon tried at least twice and said SQLSTATE 53100 each time",
                       detail=d.tail)
        check.ok(d.poll() is None, "and is still running")
        check.eq(s.folder_uids("INBOX"), [uid], "the mail stays in INBOX meanwhile")
        check.eq(s.sql_value("SELECT count(*) FROM quarantine"), 0, "nothing quarantined")
        heal(s)
        t0 = time.monotonic()
        check.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets WHERE requester = %s",
                                           ("sara.pons@example.com",)) == 1, 15,
                       "the daemon took the mail by itself once the disk had room", detail=d.tail)
        print(f"    taken {time.monotonic() - t0:.1f}s after the fault ended")
        check.eq(d.stop(), 0, "the daemon stops cleanly")
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), len(CASES) + 1, "one ticket per mail in all")


if __name__ == "__main__":
    st.main(test)
