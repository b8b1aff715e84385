#!/usr/bin/python3
"""spocd run as an operator runs it, against real Dovecot, PostgreSQL and SMTP:

- systemd's notification socket (NOTIFY_SOCKET, a datagram socket this test listens on) hears
  READY=1 once the database and the mailbox answered, a STATUS= summary, WATCHDOG=1 when
  WATCHDOG_USEC asks for it, and STOPPING=1 on SIGTERM;
- IMAP IDLE turns a new mail into a ticket within a second while the poll interval is ten minutes;
- SIGHUP with a good configuration applies it (a template change shows in the next mail), with a
  broken one keeps the old one and says why;
- SIGTERM in the middle of a batch finishes the message in hand, commits it and exits: nothing
  lost, nothing doubled when it starts again;
- two mailboxes, one unreachable: the other keeps working, and the first recovers on its own once
  its server comes back;
- a mailbox's default_kind: a mail that no kind rule decides becomes the mailbox's kind, with that
  kind's SLA targets, when the daemon reads it, when it is replayed from the quarantine and in
  spocctl inspect --mailbox;
- passwords read from $CREDENTIALS_DIRECTORY (LoadCredential=);
- the Prometheus endpoint serves the mailbox, message, ticket and outbox metrics."""

import json
import os
import re
import shutil
import signal
import socket
import threading
import time
import urllib.request

import spocdtest as st


def mail(i, subject=None, who="ana.lopez@example.com"):
    return st.make_message(who, subject or f"No puedo imprimir en la planta {i}",
                           f"Hola,\r\n\r\nla impresora de la planta {i} no responde.\r\n\r\nAna\r\n")


def notify_and_idle(check, s):
    """READY/STATUS/WATCHDOG/STOPPING on NOTIFY_SOCKET; IDLE delivers within a second."""
    conf = s.write_config(name="idle.conf", imap__poll_interval=600)
    d = s.start_spocd(config=conf, name="idle", notify=True, env={"WATCHDOG_USEC": "2000000"})
    try:
        check.wait_for(lambda: "READY=1" in d.messages, 20, "sd_notify: READY=1", detail=lambda: d.messages)

        def status():
            return [m for m in d.messages if m.startswith("STATUS=")][-1:]
        # the mailbox is said to be in IDLE once the IDLE command is running
        check.wait_for(lambda: status() and "INBOX ok (IDLE)" in status()[0] and "notifier ok" in status()[0],
                       5, "sd_notify: STATUS says the mailbox is in IDLE and the notifier works", detail=status)
        check.wait_for(lambda: d.messages.count("WATCHDOG=1") >= 2, 5, "sd_notify: WATCHDOG=1 keeps coming")
        t0 = time.monotonic()
        s.append(mail(1, "IDLE: el proyector de la sala 3 no enciende"))
        st.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets WHERE subject LIKE 'IDLE:%%'") == 1, 10,
                    "IDLE: the mail becomes a ticket", step=0.02)
        took = time.monotonic() - t0
        check.ok(took < 1.0, f"IDLE: the mail became a ticket in {took:.2f}s, with a 600 s poll interval")
        check.wait_for(lambda: any("IDLE: el proyector" in str(m["Subject"]) for m in s.captured()), 5,
                       "IDLE: and was acknowledged at once")
    finally:
        rc = d.stop()
    check.eq(rc, 0, "SIGTERM: exit 0")
    check.ok("STOPPING=1" in d.messages, "sd_notify: STOPPING=1", d.messages[-5:])


def reload(check, s):
    """SIGHUP re-reads the configuration and the templates; a broken one is refused."""
    tpl = os.path.join(s.dir, "templates")
    shutil.rmtree(tpl, ignore_errors=True)
    shutil.copytree(os.path.join(st.SOURCE_DIR, "conf", "templates"), tpl)
    conf = s.write_config(name="reload.conf", imap__poll_interval=1, desk__templates_dir=tpl)
    d = s.start_spocd(config=conf, name="reload")
    try:
        check.wait_for(lambda: " ready: " in d.text(), 20, "reload: the daemon is up", detail=d.tail)
        with open(os.path.join(tpl, "es", "ack.txt"), "a", encoding="utf-8") as f:
            f.write("\nPD: texto añadido al recargar.\n")
        d.send_signal(signal.SIGHUP)
        check.wait_for(lambda: "read again" in d.text(), 10, "SIGHUP: the configuration is read again",
                       detail=d.tail)
        check.wait_for(lambda: "unchanged since the last look (CONDSTORE" in d.text(), 10,
                       "CONDSTORE: a look at an unchanged folder stops at SELECT", detail=d.tail)
        before = len(s.captured())
        s.append(mail(2, "Recarga: el escáner no funciona"))
        check.wait_for(lambda: len(s.captured()) > before, 15, "reload: the next mail is acknowledged")
        new = s.captured()[before:]
        check.ok(new and "PD: texto añadido al recargar." in st.body_text(new[-1]),
                 "reload: with the template as changed", [st.body_text(m) for m in new])

        # A broken file: refused, the old configuration goes on working.
        with open(conf, "a", encoding="utf-8") as f:
            f.write("imap: { port = 70000; };\n")
        d.send_signal(signal.SIGHUP)
        check.wait_for(lambda: "keeping the configuration in use" in d.text(), 10,
                       "SIGHUP with a broken file: reported, the old one kept", detail=d.tail)
        before = len(s.captured())
        s.append(mail(3, "Recarga rota: sin red en el aula 5"))
        check.wait_for(lambda: len(s.captured()) > before, 15, "and the daemon keeps working with it")
        check.eq(d.poll(), None, "it is still running")
    finally:
        rc = d.stop()
    check.eq(rc, 0, "reload: SIGTERM exit 0")


def sigterm_mid_batch(check, s):
    """SIGTERM lands while a batch of 12 is being worked: the message in hand is finished and
    committed, the rest stays in INBOX; the next start takes exactly those."""
    for i in range(12):
        s.append(mail(100 + i, f"Lote {i:02d}: el portátil no carga"))
    conf = s.write_config(name="term.conf", imap__poll_interval=600, imap__batch_size=50)
    before_tickets = s.sql_value("SELECT count(*) FROM tickets WHERE subject LIKE 'Lote %%'")
    d = s.start_spocd(config=conf, name="term", env={"SPOCD_FAULT": "slow-message:300"})
    try:
        # each message taken is logged before the batch's COMMIT; 300 ms each, twelve of them
        check.wait_for(lambda: len(re.findall(r"uid \d+ <[^>]*>: ticket (INC|REQ)-", d.text())) >= 2, 30,
                       "SIGTERM: the batch is under way (two of its messages taken)", detail=d.tail)
        t0 = time.monotonic()
    finally:
        rc = d.stop()
    took = time.monotonic() - t0
    check.eq(rc, 0, "SIGTERM mid-batch: exit 0")
    check.ok(took < 5, f"SIGTERM: stopped in {took:.1f}s")
    check.ok("stopping after the message in hand" in d.text(), "it says it stopped after the message in hand")
    done = s.sql_value("SELECT count(*) FROM tickets WHERE subject LIKE 'Lote %%'") - before_tickets
    left = s.folder_count("INBOX")
    check.ok(0 < done < 12, f"SIGTERM: {done} of 12 committed before stopping")
    check.eq(done + left, 12, "SIGTERM: the rest is still in INBOX, nothing lost")
    check.eq(s.folder_count("spocd/processed") >= done, True, "what was committed was moved")
    rc, out, err = s.run_spocd("--once", config=conf)
    check.eq(rc, 0, "the next start")
    check.eq(s.sql_value("SELECT count(*) FROM tickets WHERE subject LIKE 'Lote %%'") - before_tickets, 12,
             "SIGTERM: twelve tickets in all, none doubled")
    check.eq(s.sql_value("SELECT count(*) FROM (SELECT subject FROM tickets WHERE subject LIKE 'Lote %%' "
                         "GROUP BY subject HAVING count(*) > 1) x"), 0, "no subject twice")
    check.eq(s.folder_count("INBOX"), 0, "INBOX drained")


class Relay:
    """A TCP relay to Dovecot's IMAP port that can be switched on and off: the second mailbox's
    "server"."""

    def __init__(self, target_port):
        self.target = target_port
        self.port = st.free_port()
        self.srv = None
        self.conns = []

    def start(self):
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", self.port))
        self.srv.listen(8)
        threading.Thread(target=self._accept, args=(self.srv,), daemon=True).start()

    def _accept(self, srv):
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.target))
            self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        if self.srv is not None:
            self.srv.close()
            self.srv = None
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass
        self.conns = []


# The shipped SLA targets (sla.c), in minutes: priority -> (first response, resolution).
SLA_INCIDENT = {1: (15, 240), 2: (30, 480), 3: (120, 1440), 4: (240, 2880), 5: (480, 5400)}
SLA_REQUEST = {1: (60, 480), 2: (120, 1440), 3: (240, 2880), 4: (480, 5400), 5: (960, 10800)}


def sla_minutes(s, where, params):
    """(priority, first response minutes, resolution minutes) of one ticket, its due times counted
    from its creation (the test's calendar is 24x7, so they are whole minutes)."""
    return s.sql("SELECT priority, round(extract(epoch FROM first_response_due - created_at) / 60)::int,"
                 " round(extract(epoch FROM resolution_due - created_at) / 60)::int FROM tickets WHERE "
                 + where, params)[0]


def check_request_targets(check, s, what, where, params=None):
    prio, first, resolution = sla_minutes(s, where, params)
    check.eq((first, resolution), SLA_REQUEST[prio],
             f"{what}: the SLA due times are a P{prio} request's, not an incident's {SLA_INCIDENT[prio]}")


# Nothing in it that a kind rule knows: only the mailbox it arrives at says what it is.
NO_KIND_SUBJECT = "La becaria empieza el lunes en contabilidad"
NO_KIND_BODY = "Hola,\r\nla becaria se incorpora el lunes al equipo de contabilidad.\r\n"


def two_mailboxes_and_metrics(check, s):
    """incidencias (INBOX, direct) and solicitudes (folder Solicitudes, through a relay that is
    down at first); credentials from $CREDENTIALS_DIRECTORY; the metrics endpoint."""
    creds = os.path.join(s.dir, "credentials")
    os.makedirs(creds, exist_ok=True)
    with open(os.path.join(s.dir, "imap.password")) as f:
        password = f.read()
    with open(os.path.join(creds, "imap-password"), "w") as f:
        f.write(password)
    os.chmod(os.path.join(creds, "imap-password"), 0o400)  # as systemd leaves a credential
    relay = Relay(s.imap_port)
    metrics_port = st.free_port()
    c = s._client()
    c.create("Solicitudes")
    tree = s.config_tree()
    imap = tree.pop("imap")
    imap.pop("password_file")
    imap["password_credential"] = "imap-password"
    imap["poll_interval"] = 2
    first = dict(imap, name="incidencias", mailbox="INBOX", default_kind="incident")
    second = dict(imap, name="solicitudes", mailbox="Solicitudes", port=relay.port, default_kind="request",
                  processed_folder="spocd/solicitudes-done", failed_folder="spocd/solicitudes-failed")
    tree["metrics"] = {"listen": f"127.0.0.1:{metrics_port}"}
    # around the clock: a due time is its target in minutes after the ticket's creation
    tree["sla"] = {"calendar": "24x7"}

    def conf_text(max_header_bytes):
        tree["parsing"] = {"max_header_bytes": max_header_bytes}
        text = st.render_conf(tree) + "mailboxes = (\n" + ",\n".join(
            "  {\n" + "\n".join(f"    {k} = {v if isinstance(v, int) else chr(34) + v + chr(34)};"
                                for k, v in mb.items()) + "\n  }" for mb in (first, second)) + "\n);\n"
        # a rule of solicitudes' own: everything read from it is urgent
        return text + ('rules:\n{\n  urgency = (\n    { name = "solicitudes: urgent"; mailbox = "solicitudes";'
                       ' urgency = 1; }\n  );\n};\n')
    conf = s.write_config(name="two.conf", text=conf_text(2048))
    cred_env = {"CREDENTIALS_DIRECTORY": creds}

    no_kind = st.make_message("pablo@example.com", NO_KIND_SUBJECT, NO_KIND_BODY)
    s.append(no_kind, mailbox="Solicitudes")
    # the same kind of mail with a header over parsing.max_header_bytes: quarantined, replayed later
    s.append(st.make_message("pablo@example.com", "Tarjeta para la becaria", NO_KIND_BODY,
                             extra_headers=[("X-Trace", " ".join("hop%04d" % i for i in range(600)))]),
             mailbox="Solicitudes")
    d = s.start_spocd(config=conf, name="two", env=cred_env)
    try:
        s.append(st.make_message("luis@example.com", "Sin correo desde esta mañana",
                                 "No me llegan correos.\r\n"))
        check.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets WHERE subject LIKE 'Sin correo%%'") == 1,
                       20, "two mailboxes: incidencias works while solicitudes' server is down")
        check.wait_for(lambda: "mailbox solicitudes:" in d.text(), 10, "solicitudes' failure is logged",
                       detail=d.tail)
        check.eq(d.poll(), None, "and the daemon keeps running")
        check.eq(s.sql_value("SELECT kind FROM tickets WHERE subject LIKE 'Sin correo%%'"), "incident",
                 "incidencias' ticket is an incident")
        # each pass is recorded after it ends, a moment after its ticket is committed
        def health_rows():
            return dict((r[0], r[1:]) for r in s.sql("SELECT mailbox, last_ok_at IS NOT NULL, last_error "
                                                     "FROM mailbox_health"))
        check.wait_for(lambda: health_rows().get("incidencias", (False,))[0], 10,
                       "mailbox_health: incidencias read", detail=health_rows)
        check.wait_for(lambda: health_rows().get("solicitudes", (True, ""))[1] != "", 10,
                       "mailbox_health: solicitudes' error kept", detail=health_rows)

        check.wait_for(lambda: s.sql_value("SELECT count(*) FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
                                           " WHERE t.subject LIKE 'Sin correo%%' AND o.state = 'sent'") == 1,
                       10, "its acknowledgement is sent")
        def scrape():
            return urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
        # the notifier's run ends with the snapshot of the outbox, a moment after the row is sent

        def snapshot():
            b = scrape()
            return b if "spocd_outbox_pending " in b else None
        body = st.wait_for(snapshot, 10, "metrics: the outbox snapshot is served", step=0.1)
        check.ok(re.search(r'^spocd_mailbox_last_success_timestamp_seconds\{mailbox="incidencias"\} \d', body, re.M),
                 "metrics: incidencias' last success", body[:2000])
        check.ok(re.search(r'^spocd_mailbox_failures_total\{mailbox="solicitudes"\} [1-9]', body, re.M),
                 "metrics: solicitudes' failures")
        check.ok(re.search(r'^spocd_messages_total\{mailbox="incidencias",outcome="ticket"\} 1$', body, re.M),
                 "metrics: one ticket message in incidencias")
        check.ok(re.search(r'^spocd_tickets_created_total\{kind="incident",priority="\d"\} 1$', body, re.M),
                 "metrics: one incident created")
        check.ok(re.search(r'^spocd_ingest_latency_seconds_count 1$', body, re.M),
                 "metrics: its arrival-to-commit latency observed")
        check.ok(re.search(r'^spocd_outbox_pending 0$', body, re.M), "metrics: outbox depth", body)
        check.ok(re.search(r'^spocd_notifications_total\{kind="ack",result="sent"\} [1-9]', body, re.M),
                 "metrics: the acknowledgement counted as sent")

        relay.start()
        check.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets WHERE subject = %s",
                                           (NO_KIND_SUBJECT,)) == 1,
                       30, "solicitudes recovers on its own once its server is back")
        check.eq(s.sql("SELECT kind, kind_rule, triage FROM tickets WHERE subject = %s", (NO_KIND_SUBJECT,)),
                 [("request", "default of this mailbox", True)],
                 "a mail no kind rule decides is a request, the mailbox's default kind")
        check_request_targets(check, s, "its ticket", "subject = %s", (NO_KIND_SUBJECT,))
        check.ok("solicitudes: urgent" in s.sql_value("SELECT priority_rule FROM tickets WHERE subject = %s",
                                                       (NO_KIND_SUBJECT,)),
                 "and the mailbox's own rule made it urgent")
        check.ok("solicitudes: urgent" not in s.sql_value("SELECT priority_rule FROM tickets"
                                                           " WHERE subject LIKE 'Sin correo%%'"),
                 "a rule that incidencias' mail does not meet")
        check.wait_for(lambda: s.sql_value("SELECT count(*) FROM quarantine WHERE mailbox = 'solicitudes'") == 1,
                       10, "the mail with the oversized header is quarantined from solicitudes")
        check.eq(s.sql("SELECT outcome, count(*) FROM ingest_log WHERE mailbox = 'solicitudes'"
                       " GROUP BY outcome ORDER BY outcome"), [("quarantined", 1), ("ticket", 1)],
                 "recorded under the mailbox's own name")
        check.wait_for(lambda: "mailbox solicitudes: working again" in d.text(), 5, "and says so", detail=d.tail)
    finally:
        rc = d.stop()
        relay.stop()
    check.eq(rc, 0, "two mailboxes: SIGTERM exit 0")
    check.ok(password.strip() not in d.text(), "the password read from the credential is never logged")

    # Replayed with the header limit raised, it is judged as solicitudes judges it.
    raised = s.write_config(name="two-raised.conf", text=conf_text(262144))
    qid = s.sql_value("SELECT id FROM quarantine WHERE mailbox = 'solicitudes'")
    rc, out, err = s.run_spocctl("quarantine", "replay", str(qid), config=raised, env=cred_env)
    check.eq(rc, 0, "replay of solicitudes' quarantined mail")
    check.eq(s.sql("SELECT kind, kind_rule FROM tickets WHERE subject = 'Tarjeta para la becaria'"),
             [("request", "default of this mailbox")], "replay: a request, the default kind of its mailbox")
    check_request_targets(check, s, "replay", "subject = 'Tarjeta para la becaria'")

    # inspect, told which mailbox the mail came to, judges as that mailbox; untold, as no mailbox
    path = os.path.join(s.dir, "no-kind.eml")
    with open(path, "wb") as f:
        f.write(no_kind)
    rc, out, err = s.run_spocctl("inspect", "--mailbox", "solicitudes", path, config=raised, env=cred_env)
    j = json.loads(out or b"null") if rc == 0 else None
    check.eq((rc, j and (j["judgement"]["kind"], j["judgement"]["kind_rule"])),
             (0, ("request", "default of this mailbox")), "inspect --mailbox solicitudes: a request")
    rc, out, err = s.run_spocctl("inspect", path, config=raised, env=cred_env)
    j = json.loads(out or b"null") if rc == 0 else None
    check.eq((rc, j and (j["judgement"]["kind"], j["judgement"]["kind_rule"])), (0, ("incident", "default")),
             "inspect without --mailbox: the desk's default kind")
    rc, out, err = s.run_spocctl("inspect", "--mailbox", "nowhere", path, config=raised, env=cred_env)
    check.ok(rc == 2 and 'no mailbox "nowhere"' in err, "inspect --mailbox with an unknown name is refused", err)


def test(check):
    with st.Services(name="spocd-ops") as s:
        check.eq(s.run_spocd("--once")[0], 0, "first run")
        notify_and_idle(check, s)
        reload(check, s)
        sigterm_mid_batch(check, s)
        two_mailboxes_and_metrics(check, s)


if __name__ == "__main__":
    st.main(test)
