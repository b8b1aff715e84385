#!/usr/bin/python3
"""spocd behind PgBouncer in transaction pooling mode (database.pooler = "transaction").

PgBouncer gives each transaction whichever server session is free, so nothing may live in a
session: a named prepared statement, a LISTEN. Debian 12's PgBouncer (1.18) carries neither.
The harshest such pooler is used here: server_reset_query_always runs DISCARD ALL after every
transaction, so a session keeps nothing from one transaction to the next, every time.

Checked:
- with the default (database.pooler = "none"), spocd's second statement on a prepared name fails
  through this pooler: the setting is needed, and the test's pooler really is that harsh;
- with database.pooler = "transaction", mail becomes tickets, the acknowledgements go out
  without LISTEN, a status changed by another client through plain SQL reaches the requester
  within seconds (the notifier looks at the outbox every 2 s instead of waiting for NOTIFY),
  and spocctl works through the pooler too; nothing is lost or doubled."""

import os
import pwd
import time

import spocdtest as st

MAILS = 12


def mail(i):
    return st.make_message(f"user{i}@example.com", f"pooler {i}: la impresora no imprime",
                           f"Hola,\r\n\r\nla impresora {i} no imprime.\r\n\r\nGracias\r\n",
                           message_id=f"<pooler-{i}@example.com>")


def start_pgbouncer(s):
    base = os.path.join(s.dir, "pgbouncer")
    os.makedirs(base)
    pw = pwd.getpwnam("postgres")
    os.chown(base, pw.pw_uid, pw.pw_gid)
    port = st.free_port()
    with open(os.path.join(base, "userlist.txt"), "w") as f:
        f.write('"postgres" ""\n')
    ini = os.path.join(base, "pgbouncer.ini")
    with open(ini, "w") as f:
        f.write(f"""[databases]
spocd = host={s.pg_sock} port={s.pg_port} dbname=spocd user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {base}/userlist.txt
pool_mode = transaction
default_pool_size = 3
max_client_conn = 50
server_reset_query = DISCARD ALL
server_reset_query_always = 1
ignore_startup_parameters = extra_float_digits
logfile = {base}/pgbouncer.log
pidfile = {base}/pgbouncer.pid
""")
    s._spawn("pgbouncer", ["/usr/sbin/pgbouncer", ini], user="postgres")
    st.wait_port(port, proc=s.procs["pgbouncer"], what="pgbouncer")
    return f"host=127.0.0.1 port={port} dbname=spocd user=postgres"


def acks_to(s, addr):
    return [m for m in s.captured() if m.envelope["rcpt_tos"] == [addr]]


def test(check):
    with st.Services(name="spocd-pgbouncer") as s:
        check.eq(s.run_spocd("--migrate")[0], 0, "schema in place")
        conninfo = start_pgbouncer(s)

        plain = s.write_config(name="plain.conf", database__conninfo=conninfo)
        s.append(mail(0))
        rc, out, err = s.run_spocd("--once", config=plain)
        check.ok(rc != 0 and "prepared statement" in err,
                 f"without database.pooler, prepared statements fail behind this pooler (exit {rc})")

        conf = s.write_config(name="pooled.conf", database__conninfo=conninfo,
                              database__pooler="transaction", imap__poll_interval=60)
        d = s.start_spocd(config=conf, name="pooled")
        try:
            for i in range(1, MAILS):
                s.append(mail(i))
            check.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets") == MAILS, 60,
                           "every mail becomes a ticket through the pooler")
            check.wait_for(lambda: all(len(acks_to(s, f"user{i}@example.com")) == 1
                                       for i in range(MAILS)), 30,
                           "every requester gets one acknowledgement without LISTEN")
            check.eq(s.folder_uids("INBOX"), [], "INBOX is empty")

            number = s.sql_value("SELECT display FROM tickets WHERE subject LIKE 'pooler 3:%%'")
            before = len(acks_to(s, "user3@example.com"))
            s.sql("UPDATE tickets SET status = 'in-progress' WHERE display = %s", (number,))
            t0 = time.monotonic()
            check.wait_for(lambda: len(acks_to(s, "user3@example.com")) > before, 15,
                           "a status changed by plain SQL reaches the requester")
            took = time.monotonic() - t0
            print(f"  the status notice went out {took:.2f}s after the UPDATE", flush=True)
            check.ok(took < 6, f"within the notifier's 2 s look plus a send ({took:.2f}s)")

            rc, out, err = s.run_spocctl("ticket", "list", config=conf)
            check.eq(rc, 0, f"spocctl ticket list through the pooler: {err.strip()}")
            check.ok(number.encode() in out, "spocctl lists the tickets")
            check.eq(s.sql_value("SELECT count(*) FROM messages WHERE direction = 'in'"), MAILS,
                     "one message row per mail")
            log = d.text()
            check.ok("prepared statement" not in log and "LISTEN" not in log,
                     "no prepared-statement or LISTEN trouble in the daemon's log")
        finally:
            d.stop()


if __name__ == "__main__":
    st.main(test)
