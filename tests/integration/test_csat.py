#!/usr/bin/python3
"""Customer satisfaction (CSAT) through Dovecot, PostgreSQL and the SMTP listener, in Spanish and in
English. A ticket resolved by spocctl (es) or by its agent's email command (en): the requester's
resolution notice asks, in their language, how the desk did; the watcher's does not. The requester
replies "5 ¡genial!" under the quoted notice: the ticket is rated 5 with the comment, stays
resolved, the mail is a note on it and nothing is sent; a later "4 de 5, ..." replaces the rating,
both in the audit. A stranger's "1" naming the ticket, and the requester's address forged (the
border fails it), change no rating; a watcher's "1" is a reply as any other and reopens. "1 sigue
sin funcionar" reopens and the assignee hears of it. On a closed ticket the requester's "Poor, ..."
replaces the rating without a follow-up ticket. A "5" on a ticket never resolved is a plain reply.
spocctl stats (text and JSON) shows CSAT per team and ISO week; the metrics endpoint serves the
week's ratings and mean by team, and every metric the Grafana dashboard's CSAT panels query."""

import email.utils
import json
import os
import re
import urllib.request

import spocdtest as st

AUTH = "mx.desk.test; dkim=pass header.d={d}; dmarc=pass header.from={d}"
FORGED = "mx.desk.test; dkim=none; dmarc=fail (p=none) header.from={d}"
AGENT_OK = ("Authentication-Results", AUTH.format(d="desk.test"))


def addr_of(msg):
    return email.utils.parseaddr(str(msg["To"]))[1]


def auth(addr, forged=False):
    domain = addr.rpartition("@")[2]
    return [("Authentication-Results", (FORGED if forged else AUTH).format(d=domain))]


def quoted(text):
    lines = "".join(f"> {line}\r\n" for line in text.replace("\r\n", "\n").splitlines())
    return f"\r\nOn Mon, 3 Mar 2025 at 10:12, Service Desk wrote:\r\n{lines}"


def send(check, s, raw, what):
    s.append(raw)
    check.eq(s.run_spocd("--once")[0], 0, what)


def reply(sender, notice, body, *, forged=False, language=None):
    return st.make_message(sender, "Re: " + str(notice["Subject"]), body + quoted(st.body_text(notice)),
                           in_reply_to=notice["Message-ID"], references=[notice["Message-ID"]],
                           extra_headers=auth(sender, forged), language=language)


def rating(s, tid):
    rows = s.sql("SELECT rating, comment, rated_by, team FROM ticket_csat WHERE ticket_id = %s", (tid,))
    return rows[0] if rows else None


def audit(s, tid):
    return s.sql("SELECT old_value, new_value, actor, via FROM ticket_events WHERE ticket_id = %s"
                 " AND field = 'csat' ORDER BY id", (tid,))


def last_in(s):
    return s.sql("SELECT m.ticket_id, m.note_why, l.outcome, l.detail FROM messages m"
                 " JOIN ingest_log l ON l.message_row = m.id WHERE m.direction = 'in'"
                 " ORDER BY m.id DESC LIMIT 1")[0]


def unmoved(s, tid):
    """What a rating must not move: the ticket's status and dates, the tickets, the outbox."""
    return (s.sql("SELECT status, resolved_at, closed_at FROM tickets WHERE id = %s", (tid,))[0],
            s.sql_value("SELECT count(*) FROM tickets"), s.sql_value("SELECT count(*) FROM outbox"))


def notices_to(s, addr, since=0):
    return [m for m in s.captured()[since:] if addr_of(m) == addr]


def spanish(check, s):
    marta, luis = "marta.ruiz@example.com", "luis.gil@example.com"
    first = st.make_message(marta, "Impresora", "Hola, la impresora de la planta 2 no imprime.\r\n",
                            from_name="Marta Ruiz", language="es-ES", extra_headers=auth(marta) +
                            [("Cc", luis)])
    send(check, s, first, "es: the requester writes, a colleague in Cc")
    tid, display = s.sql("SELECT id, display FROM tickets WHERE requester = %s", (marta,))[0]
    check.eq(s.sql("SELECT address, role FROM participants WHERE ticket_id = %s ORDER BY role", (tid,)),
             [(marta, "requester"), (luis, "watcher")], "es: the colleague watches the ticket")
    s.sql("UPDATE tickets SET team = 'soporte', assignee_id = (SELECT id FROM agents"
          " WHERE address = 'ana@desk.test') WHERE id = %s", (tid,))
    check.eq(s.run_spocd("--once")[0], 0, "es: the assignment goes out")

    # a "5" before the ticket is resolved is a plain reply: no rating
    ack = notices_to(s, marta)[-1]
    to_ana = len(notices_to(s, "ana@desk.test"))
    send(check, s, reply(marta, ack, "5"), "es: the requester writes \"5\" on the open ticket")
    check.eq(rating(s, tid), None, "es: a ticket never resolved is not rated")
    check.eq(last_in(s)[1], None, "es: and the reply is no note")
    check.eq(len(notices_to(s, "ana@desk.test")) - to_ana, 1, "es: the assignee hears of it as of any reply")

    # resolved by spocctl: the requester is asked, in Spanish; the watcher is not
    since = len(s.captured())
    rc, out, err = s.run_spocctl("ticket", "set", display, "status", "resolved")
    check.ok(rc == 0, "es: spocctl ticket set status resolved", err)
    check.eq(s.run_spocd("--once")[0], 0, "es: the status notices go out")
    told = notices_to(s, marta, since)
    check.eq(len(told), 1, "es: the requester is told it is resolved")
    text = st.body_text(told[0]) if told else ""
    check.ok("¿Qué tal lo hemos hecho?" in text and "del 1 (mal) al 5" in text,
             "es: and asked how the desk did, in Spanish", text)
    watcher = notices_to(s, luis, since)
    check.ok(len(watcher) == 1 and "hemos hecho" not in st.body_text(watcher[0])
             and "How did we do" not in st.body_text(watcher[0]),
             "es: the watcher is told, not asked", [st.body_text(m) for m in watcher])
    told = told[0]

    # the requester rates it: recorded with the comment, a note, nothing moves, nothing is sent
    before, sent = unmoved(s, tid), len(s.captured())
    send(check, s, reply(marta, told, "5 ¡genial!\r\n\r\n-- \r\nMarta Ruiz\r\n"), "es: the requester rates")
    check.eq(rating(s, tid), (5, "¡genial!", marta, "soporte"), "es: rated 5 with the comment, by the requester")
    check.eq(unmoved(s, tid), before, "es: the ticket stays resolved, no ticket, no outbox row")
    check.eq(len(s.captured()), sent, "es: no mail was sent")
    row = last_in(s)
    check.eq(row[0], tid, "es: the message is on the ticket")
    check.eq(row[1], 'rated 5 of 5 ("5") with a comment', "es: as a note saying what was read")
    check.eq(row[2], "reply", "es: logged as a reply")
    check.ok(row[3].startswith("the requester's rating of a resolved ticket"), "es: the log says why", row[3])
    check.eq(audit(s, tid), [(None, "5", marta, "email")], "es: the rating is in the audit")

    # a stranger's "1" naming the ticket, and the requester's address forged: no rating changes
    send(check, s, reply("eve@attacker.example", told, "1 pésimo"), "es: a stranger rates the ticket")
    check.eq(rating(s, tid)[0], 5, "es: a stranger's rating changes nothing")
    check.eq(s.sql_value("SELECT count(*) FROM messages WHERE ticket_id = %s AND from_addr ="
                         " 'eve@attacker.example'", (tid,)), 0, "es: nothing of the stranger's is on the ticket")
    send(check, s, reply(marta, told, "1", forged=True), "es: the requester's address forged rates the ticket")
    check.eq(rating(s, tid)[0], 5, "es: a From the border fails changes no rating")
    check.eq(s.sql_value("SELECT status FROM tickets WHERE id = %s", (tid,)), "resolved",
             "es: and reopens nothing")

    # a later rating replaces it; the audit keeps both
    send(check, s, reply(marta, told, "4 de 5, tardasteis un poco"), "es: the requester rates again")
    check.eq(rating(s, tid)[:2], (4, "tardasteis un poco"), "es: the later rating replaces the first")
    check.eq([(a[0], a[1]) for a in audit(s, tid)], [(None, "5"), ("5", "4")], "es: the audit keeps both")
    check.eq(s.sql_value("SELECT status FROM tickets WHERE id = %s", (tid,)), "resolved", "es: still resolved")
    rc, out, err = s.run_spocctl("ticket", "show", display)
    text = out.decode()
    check.ok(rc == 0 and text.count("[rating, kept as a note]") == 2 and "[thanks, kept as a note]" not in text
             and "csat (none) -> 5" in text and "csat 5 -> 4" in text
             and 'Note:            rated 4 of 5 ("4 de 5") with a comment' in text,
             "es: spocctl ticket show marks the ratings as notes and their history", text)

    # a rating with a problem reopens, and the assignee hears of it
    to_ana = len(notices_to(s, "ana@desk.test"))
    send(check, s, reply(marta, told, "1 sigue sin funcionar"), "es: \"1 sigue sin funcionar\"")
    check.eq(s.sql_value("SELECT status FROM tickets WHERE id = %s", (tid,)), "in-progress", "es: it reopens")
    check.eq(last_in(s)[1:3], (None, "reopened"), "es: no note, logged as a reopen")
    check.eq(rating(s, tid)[0], 4, "es: and it is no rating")
    news = notices_to(s, "ana@desk.test")[to_ana:]
    check.ok(len(news) == 1 and "sigue sin funcionar" in st.body_text(news[0]), "es: the assignee is told",
             [st.body_text(m) for m in news])
    return tid


def english(check, s):
    john, kate = "john.smith@example.com", "kate.brown@example.com"
    first = st.make_message(john, "Printer", "Hi, the printer on floor 3 is not printing.\r\n",
                            from_name="John Smith", language="en-GB", extra_headers=auth(john) + [("Cc", kate)])
    send(check, s, first, "en: the requester writes, a colleague in Cc")
    tid, display = s.sql("SELECT id, display FROM tickets WHERE requester = %s", (john,))[0]

    def resolve(what):
        since = len(s.captured())
        send(check, s, st.make_message("ana@desk.test", f"Re: [{display}] Printer",
                                       "#assign ana\r\n#status resolved\r\n\r\nToner replaced.\r\n",
                                       in_reply_to=st.parse(first)["Message-ID"], extra_headers=[AGENT_OK]),
             f"en: the agent resolves it {what}")
        check.eq(s.run_spocd("--once")[0], 0, "en: the notices go out")
        check.eq(s.sql_value("SELECT status FROM tickets WHERE id = %s", (tid,)), "resolved", "en: resolved")
        return since

    since = resolve("by email")
    told = [m for m in notices_to(s, john, since) if "resolved" in st.body_text(m)]
    text = st.body_text(told[-1]) if told else ""
    check.ok("How did we do?" in text and "from 1 (bad) to 5 (excellent)" in text and "hemos hecho" not in text,
             "en: the requester is asked how the desk did, in English", text)
    told = told[-1]
    kate_told = notices_to(s, kate, since)[-1]

    # a watcher's "1" is nothing special: a reply as any other, which reopens
    send(check, s, reply(kate, kate_told, "1"), "en: the watcher writes \"1\"")
    check.eq(rating(s, tid), None, "en: a watcher does not rate")
    check.eq(s.sql_value("SELECT status FROM tickets WHERE id = %s", (tid,)), "in-progress",
             "en: the watcher's reply reopens, as it did before ratings")
    resolve("again")

    before, sent = unmoved(s, tid), len(s.captured())
    send(check, s, reply(john, told, "Very good, thanks!\r\n\r\nBest regards,\r\nJohn"),
         "en: the requester rates \"Very good\"")
    check.eq(rating(s, tid), (5, "thanks!\n\nBest regards,\nJohn", john, ""),
             "en: rated 5, the rest is the comment")
    check.eq(unmoved(s, tid), before, "en: the ticket stays resolved, nothing queued")
    check.eq(len(s.captured()), sent, "en: no mail was sent")

    # closed: the requester's rating still replaces it, and opens no follow-up
    s.sql("UPDATE tickets SET status = 'closed' WHERE id = %s", (tid,))
    check.eq(s.run_spocd("--once")[0], 0, "en: the closing goes out")
    before, sent = unmoved(s, tid), len(s.captured())
    send(check, s, reply(john, told, "Poor. Took three days to answer"), "en: the requester rates after closing")
    check.eq(rating(s, tid)[:2], (2, "Took three days to answer"), "en: the closed ticket's rating replaced")
    check.eq(unmoved(s, tid), before, "en: still closed, no follow-up ticket, nothing queued")
    check.eq(len(s.captured()), sent, "en: no mail was sent")
    check.ok(last_in(s)[3].startswith("the requester's rating of a closed ticket"), "en: the log says why")
    return tid


def stats_and_metrics(check, s):
    week = s.sql_value("SELECT to_char(now() AT TIME ZONE 'UTC', 'IYYY-\"W\"IW')")
    rc, out, err = s.run_spocctl("stats")
    text = out.decode()
    check.ok(rc == 0, "spocctl stats", err)
    check.ok(re.search(rf"^\s+{week}\s+1\s+2\.00\s+0%\s+\(no team\)$", text, re.M)
             and re.search(rf"^\s+{week}\s+1\s+4\.00\s+100%\s+soporte$", text, re.M),
             "spocctl stats: CSAT per team and ISO week (ratings, average, % satisfied)", text)
    rc, out, err = s.run_spocctl("stats", "--json")
    check.ok(rc == 0, "spocctl stats --json", err)
    csat = json.loads(out)["csat"] if rc == 0 else {}
    check.eq(csat, {"weeks": 8, "by_team_week": [
        {"team": "", "week": week, "count": 1, "average": 2.0, "satisfied": 0, "satisfied_pct": 0.0},
        {"team": "soporte", "week": week, "count": 1, "average": 4.0, "satisfied": 1, "satisfied_pct": 100.0}]},
        "spocctl stats --json: CSAT per team and ISO week")

    # the daemon's metrics: the week's ratings and mean by team
    port = st.free_port()
    metrics_conf = s.write_config(name="metrics.conf", metrics={"listen": f"127.0.0.1:{port}"},
                                  agents={"trusted_authserv_id": "mx.desk.test", "proof": "token-or-domain"})
    d = s.start_spocd(config=metrics_conf, name="csat-metrics")
    try:
        def scrape():
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            except OSError:
                return None
            return body if "spocd_csat_average" in body else None
        body = st.wait_for(scrape, 30, "metrics: the CSAT gauges are served", step=0.2) or ""
    finally:
        d.stop()
    for series, value in (('spocd_csat_ratings{team="soporte",rating="4"}', "1"),
                          ('spocd_csat_ratings{team="soporte",rating="5"}', "0"),
                          ('spocd_csat_ratings{team="",rating="2"}', "1"),
                          ('spocd_csat_average{team="soporte"}', "4"),
                          ('spocd_csat_average{team=""}', "2")):
        check.ok(re.search("^" + re.escape(series) + " " + value + "$", body, re.M), f"metrics: {series} {value}",
                 "\n".join(l for l in body.splitlines() if "csat" in l))

    # the dashboard is valid JSON, and its CSAT panels query metrics the daemon serves
    with open(os.path.join(st.SOURCE_DIR, "contrib", "grafana", "spocd-dashboard.json")) as f:
        dash = json.load(f)
    panels = [p for p in dash["panels"] if "CSAT" in p.get("title", "") and p["type"] != "row"]
    names = {n for p in panels for t in p["targets"] for n in re.findall(r"\bspocd_[a-z_]+", t["expr"])}
    served = set(re.findall(r"^# TYPE (\S+) ", body, re.M))
    check.ok(len(panels) >= 1 and names and names <= served,
             "the dashboard's CSAT panels query metrics that exist", (names, served))
    check.eq(len({p["id"] for p in dash["panels"]}), len(dash["panels"]), "the dashboard's panel ids are unique")


def test(check):
    with st.Services(name="spocd-csat") as s:
        s.conf = s.write_config(agents={"trusted_authserv_id": "mx.desk.test", "proof": "token-or-domain"},
                                desk__cc_watchers=True, desk__watcher_domains=["example.com"])
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
        check.eq(s.run_spocctl("agent", "add", "ana@desk.test", "--name", "Ana Pérez")[0], 0, "agent added")
        spanish(check, s)
        english(check, s)
        stats_and_metrics(check, s)


if __name__ == "__main__":
    st.main(test)
