#!/usr/bin/python3
"""SLA clocks that follow the ticket, on the real services (Dovecot, PostgreSQL, the SMTP
listener), with the business calendar of tests/data/sla/clock_cases.txt (Madrid office hours,
Sunday night ranges, one of them opening in the hour the spring DST change skips, holidays):
- the database's sla_add_minutes() / sla_minutes_between() give every case of that file, the
  same due times sla_due() gives (test_sla.c checks the C side on the same file); the policy
  spocd stored is the calendar it read;
- a ticket's due times follow its priority and kind whoever changes them: a proven agent's
  #priority and #kind, spocctl ticket set, a plain SQL UPDATE; a requester's "#priority 1" and an
  impostor's (a foreign Authentication-Results) change nothing; once answered, the first
  response keeps its due time;
- first_response_at is set by an agent's public reply relayed to the requester, not by an
  internal note, a mail of commands only, nor an impostor's reply;
- pending stops the resolution clock: a breach queued before is withdrawn (and the trail says
  so), spocctl sla check, ticket show, stats and the metrics do not call it breached, the metrics
  count it paused; back in progress, resolution_due moves on by the minutes paused
  (paused_minutes), and ticket show says so; the warning's share leaves the paused minutes out;
- a calendar changed at restart recomputes the open tickets and leaves the closed one alone; the
  same calendar again recomputes nothing; SIGHUP stores a changed calendar too; a zone PostgreSQL does not know is refused by name and
  the stored policy kept."""

import email.utils
import json
import os
import re
import signal
import urllib.request
from datetime import datetime, timedelta, timezone

import spocdtest as st

AUTH_OK = ("Authentication-Results", "mx.desk.test; dkim=pass header.d=desk.test; spf=pass")
AUTH_FOREIGN = ("Authentication-Results", "evil.example; dkim=pass header.d=desk.test; spf=pass")
AGENT = "ana@desk.test"
MONDAY = "2026-06-08T06:00:00Z"  # Monday 8 June 2026, 08:00 in Madrid: the desk opens


def utc(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def read_cases():
    """(calendar settings, [(line, start, minutes, due)]) of tests/data/sla/clock_cases.txt."""
    cal = {"days": [], "hours": [], "holidays": []}
    cases = []
    path = os.path.join(st.SOURCE_DIR, "tests", "data", "sla", "clock_cases.txt")
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, _, rest = line.partition(" ")
            if key == "timezone":
                cal["timezone"] = rest
            elif key in ("days", "hours"):
                cal[key].append(rest)
            elif key == "holiday":
                cal["holidays"].append(rest)
            elif key == "case":
                start, minutes, due = rest.split()[:3]
                cases.append((n, utc(start), int(minutes), utc(due)))
            else:
                raise AssertionError(f"clock_cases.txt:{n}: unknown keyword {key!r}")
    return cal, cases


def config(s, cal, metrics_port=None):
    tree = s.config_tree()
    tree["agents"] = {"trusted_authserv_id": "mx.desk.test", "proof": "token-or-domain"}
    tree["trust"] = {"unverified": "accept"}
    tree["sla"] = {"calendar": cal}
    if metrics_port:
        tree["metrics"] = {"listen": f"127.0.0.1:{metrics_port}"}
    return st.render_conf(tree)


def dues(s, tid):
    return s.sql("SELECT first_response_due, resolution_due FROM tickets WHERE id = %s", (tid,))[0]


def sent_to(s, addr):
    return [m for m in s.captured() if email.utils.parseaddr(str(m["To"]))[1] == addr]


def function_agrees(check, s, cases):
    for n, start, minutes, due in cases:
        got, back = s.sql("SELECT sla_add_minutes(%s, %s, false), sla_minutes_between(%s, %s, false)",
                          (start, minutes, start, due))[0]
        check.eq(got, due, f"clock_cases.txt:{n}: {start:%Y-%m-%d %H:%M:%S}Z + {minutes} min in SQL")
        check.eq(back, minutes, f"clock_cases.txt:{n}: and counted back")
    start = utc("2026-03-29T00:30:00Z")
    check.eq(s.sql_value("SELECT sla_add_minutes(%s, 90, true)", (start,)), start + timedelta(minutes=90),
             "around the clock every minute counts, across the DST change too")
    check.eq(s.sql_value("SELECT sla_minutes_between(%s, %s, true)", (start, start + timedelta(hours=25))),
             25 * 60, "and every minute is counted back")


def policy_stored(check, s):
    check.eq(s.sql("SELECT timezone FROM sla_policy"), [("Europe/Madrid",)], "the policy's zone")
    check.eq(s.sql("SELECT isodow, start_minute, end_minute FROM sla_hours ORDER BY 1, 2"),
             [(d, 480, 900) for d in range(1, 6)] + [(7, 0, 60), (7, 150, 240)],
             "the working ranges as the calendar resolved them")
    check.eq(s.sql("SELECT day FROM sla_holidays ORDER BY 1"), [("01-06",), ("2026-12-25",)], "the holidays")
    check.eq(s.sql("SELECT priority, kind, first_response, resolution, around_the_clock FROM sla_targets"
                   " WHERE priority IN (1, 5) ORDER BY 1, 2"),
             [(1, "incident", 15, 240, True), (1, "request", 60, 480, False),
              (5, "incident", 480, 5400, False), (5, "request", 960, 10800, False)],
             "the targets, with the calendar each runs on")


def test(check):
    cal, cases = read_cases()
    with st.Services(name="spocd-sla-clocks") as s:
        s.conf = s.write_config(text=config(s, cal))
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate stores the policy")
        policy_stored(check, s)
        function_agrees(check, s, cases)
        check.eq(s.run_spocctl("agent", "add", AGENT, "--name", "Ana", "--team", "sistemas")[0], 0, "agent added")

        # -- a ticket whose priority and kind change -------------------------------------------
        user = st.make_message("marta@example.com", "La impresora no imprime", "No imprime nada.\r\n")
        s.append(user)
        check.eq(s.run_spocd("--once")[0], 0, "the user writes")
        tid, display = s.sql("SELECT id, display FROM tickets WHERE requester = 'marta@example.com'")[0]
        user_id = st.parse(user)["Message-ID"]
        # created at the opening of a Monday, so every due time below is known
        s.sql("UPDATE tickets SET created_at = %s WHERE id = %s", (utc(MONDAY), tid))

        def agent_mail(text, auth=AUTH_OK, sender=AGENT):
            s.append(st.make_message(sender, f"Re: [{display}] La impresora no imprime", text,
                                     from_name="Ana", in_reply_to=user_id, extra_headers=[auth] if auth else []))
            check.eq(s.run_spocd("--once")[0], 0, "a mail on the ticket")

        def expect(what, first, resolution):
            check.eq(dues(s, tid), (utc(first), utc(resolution)), what)

        agent_mail("#priority P2\r\n")
        check.eq(s.sql_value("SELECT priority FROM tickets WHERE id = %s", (tid,)), 2, "#priority P2 applied")
        expect("#priority P2 by the agent: 30 and 480 business minutes", "2026-06-08T06:30:00Z",
               "2026-06-09T07:00:00Z")
        check.eq(s.sql_value("SELECT first_response_at FROM tickets WHERE id = %s", (tid,)), None,
                 "a mail of commands only is no first response")

        rc, out, err = s.run_spocctl("ticket", "set", display, "priority", "4")
        check.eq(rc, 0, f"spocctl ticket set priority 4 ({err})")
        expect("spocctl: P4, 240 and 2880 business minutes (a Sunday night among them)",
               "2026-06-08T10:00:00Z", "2026-06-16T09:30:00Z")

        s.sql("UPDATE tickets SET priority = 5 WHERE id = %s", (tid,))
        expect("plain SQL: P5, 480 and 5400", "2026-06-09T07:00:00Z", "2026-06-24T07:00:00Z")

        agent_mail("#kind request\r\n")
        expect("#kind request by the agent: a P5 request, 960 and 10800", "2026-06-10T08:00:00Z",
               "2026-07-10T08:00:00Z")
        s.sql("UPDATE tickets SET kind = 'incident' WHERE id = %s", (tid,))
        expect("plain SQL back to incident", "2026-06-09T07:00:00Z", "2026-06-24T07:00:00Z")
        check.eq(s.run_spocctl("ticket", "set", display, "kind", "request")[0], 0, "spocctl ticket set kind")
        expect("spocctl: a request again", "2026-06-10T08:00:00Z", "2026-07-10T08:00:00Z")

        # -- breaches queued for a due time that moves ------------------------------------------
        def breaches():
            return sorted(s.sql("SELECT detail->>'target', (detail->>'due')::bigint FROM outbox"
                                " WHERE ticket_id = %s AND kind = 'sla-breach' AND state = 'pending'", (tid,)))

        def epoch(text):
            return int(utc(text).timestamp())

        # each spocd pass above ran the watcher too (June is past): from a clean slate
        s.sql("DELETE FROM outbox WHERE ticket_id = %s AND kind LIKE 'sla-%%'", (tid,))
        s.sql("DELETE FROM sla_notices WHERE ticket_id = %s", (tid,))
        s.sql("UPDATE tickets SET priority = 4 WHERE id = %s", (tid,))
        expect("P4 request: 480 and 5400", "2026-06-09T07:00:00Z", "2026-06-24T07:00:00Z")
        check.eq(s.run_spocctl("sla", "check")[0], 0, "sla check")
        check.eq(breaches(), [("first-response", epoch("2026-06-09T07:00:00Z")),
                              ("resolution", epoch("2026-06-24T07:00:00Z"))], "both targets missed: breaches queued")
        s.sql("UPDATE tickets SET priority = 5 WHERE id = %s", (tid,))
        check.eq(breaches(), [], "P5 gives more time: the queued breaches for the old due times are withdrawn")
        check.eq(s.sql("SELECT old_value, new_value FROM ticket_events WHERE ticket_id = %s"
                       " AND field = 'sla-notice-withdrawn' ORDER BY old_value", (tid,)),
                 [("first-response breach due 2026-06-09T07:00:00Z", "more time"),
                  ("resolution breach due 2026-06-24T07:00:00Z", "more time")], "the trail says which and why")
        check.eq(s.run_spocctl("sla", "check")[0], 0, "sla check")
        check.eq(breaches(), [("first-response", epoch("2026-06-10T08:00:00Z")),
                              ("resolution", epoch("2026-07-10T08:00:00Z"))],
                 "the new due times, also missed, get their own breaches")
        s.sql("UPDATE tickets SET priority = 4 WHERE id = %s", (tid,))
        check.eq(len(breaches()), 2, "less time: the breaches queued stay true and stay queued")
        check.eq(s.run_spocctl("sla", "check")[1], b"sla check: 0 notifications queued\n",
                 "and no second breach is queued for the earlier due times")
        s.sql("UPDATE tickets SET priority = 5 WHERE id = %s", (tid,))

        # -- the attack: nobody else moves the clock ---------------------------------------------
        before = dues(s, tid)
        agent_mail("#priority P1\r\n\r\nYa está.\r\n", auth=AUTH_FOREIGN)
        s.append(st.make_message("marta@example.com", f"Re: [{display}] La impresora no imprime",
                                 "#priority 1\r\n#kind incident\r\n\r\nEs urgente.\r\n", in_reply_to=user_id))
        check.eq(s.run_spocd("--once")[0], 0, "the requester writes commands")
        check.eq(s.sql("SELECT priority, kind FROM tickets WHERE id = %s", (tid,)), [(5, "request")],
                 "neither an impostor nor the requester changed priority or kind")
        check.eq(dues(s, tid), before, "nor the due times")
        check.eq(s.sql_value("SELECT first_response_at FROM tickets WHERE id = %s", (tid,)), None,
                 "an impostor's reply is no first response")

        # -- first response: a public reply relayed, not an internal note ----------------------
        to_user = len(sent_to(s, "marta@example.com"))
        agent_mail("#internal\r\n\r\nNota: revisar el driver de la impresora.\r\n")
        check.eq(s.sql_value("SELECT count(*) FROM messages WHERE ticket_id = %s AND internal", (tid,)), 1,
                 "the internal note is on the ticket")
        check.eq(s.sql_value("SELECT first_response_at FROM tickets WHERE id = %s", (tid,)), None,
                 "an internal note is no first response")
        check.eq(len(sent_to(s, "marta@example.com")), to_user, "and reached nobody")
        before_reply = s.sql_value("SELECT now()")
        agent_mail("Hola Marta, ¿puedes probar a reiniciar la impresora?\r\n")
        relayed = sent_to(s, "marta@example.com")[to_user:]
        check.ok(any("reiniciar la impresora" in st.body_text(m) for m in relayed),
                 "the agent's reply was relayed to the requester", [st.body_text(m) for m in relayed])
        answered = s.sql_value("SELECT first_response_at FROM tickets WHERE id = %s", (tid,))
        check.ok(answered is not None and before_reply <= answered <= s.sql_value("SELECT now()"),
                 "the relayed public reply set first_response_at", answered)
        first_due = dues(s, tid)[0]
        s.sql("UPDATE tickets SET priority = 3 WHERE id = %s", (tid,))
        expect("answered: the first response keeps its due time, the resolution follows P3 (2880)",
               first_due.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "2026-06-16T09:30:00Z")

        # -- a closed ticket, created on the same Monday ------------------------------------------
        s.append(st.make_message("pablo@example.com", "Alta de usuario", "Necesito un usuario nuevo.\r\n"))
        check.eq(s.run_spocd("--once")[0], 0, "another user writes")
        closed = s.sql_value("SELECT id FROM tickets WHERE requester = 'pablo@example.com'")
        s.sql("UPDATE tickets SET created_at = %s WHERE id = %s", (utc(MONDAY), closed))
        s.sql("UPDATE tickets SET status = 'closed' WHERE id = %s", (closed,))
        closed_dues = dues(s, closed)

        # -- pending stops the resolution clock -----------------------------------------------
        s.append(st.make_message("luis@example.com", "Sin red", "No tengo red en la planta 2.\r\n"))
        check.eq(s.run_spocd("--once")[0], 0, "a third user writes")
        paused_tid, paused_display = s.sql("SELECT id, display FROM tickets WHERE requester = 'luis@example.com'")[0]
        # a P1 incident runs around the clock: its due times are whole minutes after creation
        s.sql("UPDATE tickets SET priority = 1, kind = 'incident' WHERE id = %s", (paused_tid,))
        created, first, resolution = s.sql("SELECT created_at, first_response_due, resolution_due FROM tickets"
                                           " WHERE id = %s", (paused_tid,))[0]
        check.eq((first - created, resolution - created), (timedelta(minutes=15), timedelta(minutes=240)),
                 "P1 incident: 15 and 240 minutes around the clock")
        s.sql("UPDATE tickets SET resolution_due = now() - interval '1 minute' WHERE id = %s", (paused_tid,))
        rc, out, err = s.run_spocctl("sla", "check")
        check.eq(rc, 0, f"sla check ({err})")
        check.eq(s.sql("SELECT kind, detail->>'target', state FROM outbox WHERE ticket_id = %s AND kind LIKE 'sla-%%'",
                       (paused_tid,)), [("sla-breach", "resolution", "pending")],
                 "the resolution breach is queued for the agent")
        check.eq(s.run_spocctl("ticket", "set", paused_display, "status", "pending")[0], 0, "set pending")
        paused_at = s.sql_value("SELECT paused_at FROM tickets WHERE id = %s", (paused_tid,))
        check.ok(paused_at is not None, "pending: paused_at is set")
        check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE ticket_id = %s AND kind LIKE 'sla-%%'",
                             (paused_tid,)), 0, "the queued breach is withdrawn before it is sent")
        check.eq(s.sql_value("SELECT count(*) FROM sla_notices WHERE ticket_id = %s", (paused_tid,)), 0,
                 "with its record")
        check.eq(s.sql("SELECT old_value LIKE 'resolution breach due %%', new_value FROM ticket_events"
                       " WHERE ticket_id = %s AND field = 'sla-notice-withdrawn'", (paused_tid,)),
                 [(True, "pending")], "the trail says which notice was withdrawn and why")
        check.eq(s.run_spocctl("sla", "check")[1], b"sla check: 0 notifications queued\n",
                 "a pending ticket past its due time is not breached for the watcher")
        rc, out, err = s.run_spocctl("--json", "ticket", "show", paused_display)
        shown = json.loads(out)
        check.eq((shown["paused"], shown["paused_since"] is not None, shown["paused_minutes"],
                  shown["resolution_breached"], shown["breached"]), (True, True, 0, False, False),
                 "ticket show --json: paused since, not breached")
        rc, out, err = s.run_spocctl("ticket", "show", paused_display)
        check.ok(re.search(r"^  paused: +since \S+ \(UTC\), the resolution clock is stopped", out.decode(), re.M)
                 and "BREACHED" not in out.decode(), "ticket show: paused since when, not BREACHED", out.decode())
        rc, out, err = s.run_spocctl("ticket", "list", "--status", "pending")
        check.ok(re.search(rf"^{paused_display} +pending .* paused +", out.decode(), re.M)
                 and "BREACHED" not in out.decode(), "ticket list: its SLA cell says paused", out.decode())
        rc, out, err = s.run_spocctl("--json", "stats")
        check.eq((rc, json.loads(out)["sla_breached"]), (0, {"first-response": 0, "resolution": 1}),
                 "spocctl stats: the answered ticket of June is breached, the pending one not")

        # the metrics while it waits: the answered ticket of June is breached, the pending one not
        metrics_port = st.free_port()
        metrics_conf = s.write_config(name="metrics.conf", text=config(s, cal, metrics_port))
        d = s.start_spocd(config=metrics_conf, name="spocd-metrics")
        try:
            def scrape():
                try:
                    b = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
                except OSError:
                    return None  # not listening yet
                return b if "spocd_sla_paused_tickets " in b else None
            body = st.wait_for(scrape, 30, "metrics: the SLA snapshot is served", step=0.2)
        finally:
            d.stop()
        check.ok(re.search(r"^spocd_sla_paused_tickets 1$", body, re.M), "metrics: one ticket paused", body[-1500:])
        check.ok(re.search(r"^spocd_sla_breached_open_tickets 1$", body, re.M),
                 "metrics: one breached, the pending one not among them", body[-1500:])

        # back in progress after 90 minutes paused (moved back in time, as a clock would)
        s.sql("UPDATE tickets SET paused_at = paused_at - interval '90 minutes' WHERE id = %s", (paused_tid,))
        due_before = s.sql_value("SELECT resolution_due FROM tickets WHERE id = %s", (paused_tid,))
        check.eq(s.run_spocctl("ticket", "set", paused_display, "status", "in-progress")[0], 0, "resumed")
        check.eq(s.sql("SELECT paused_at, paused_minutes, resolution_due - %s FROM tickets WHERE id = %s",
                       (due_before, paused_tid)),
                 [(None, 90, timedelta(minutes=90))], "resolution_due moved on by the 90 minutes paused")
        check.eq(s.run_spocctl("sla", "check")[1], b"sla check: 0 notifications queued\n",
                 "with the pause added, the ticket is within its time")
        rc, out, err = s.run_spocctl("ticket", "show", paused_display)
        check.ok(re.search(r"^  paused: +90 min in all, added to the resolution due time$", out.decode(), re.M),
                 "ticket show: the total paused", out.decode())
        rc, out, err = s.run_spocctl("--json", "ticket", "show", paused_display)
        shown = json.loads(out)
        check.eq((shown["paused"], shown["paused_since"], shown["paused_minutes"]), (False, None, 90),
                 "ticket show --json: no longer paused, 90 minutes in all")
        # 280 minutes old, 90 of them paused: 190 of its 240 minutes used (79%), not 280 of 330 (84%)
        s.sql("UPDATE tickets SET created_at = now() - interval '280 minutes',"
              " resolution_due = now() + interval '50 minutes' WHERE id = %s", (paused_tid,))
        check.eq(s.run_spocctl("sla", "check")[0], 0, "sla check")
        check.eq(s.sql("SELECT kind, (detail->>'share')::int BETWEEN 78 AND 80 FROM outbox WHERE ticket_id = %s"
                       " AND detail->>'target' = 'resolution'", (paused_tid,)),
                 [("sla-warning", True)], "the warning's share leaves the paused minutes out")

        # -- a calendar changed at restart -----------------------------------------------------
        stored_at = s.sql_value("SELECT updated_at FROM sla_policy")
        check.eq(s.run_spocd("--once")[0], 0, "the same calendar again")
        check.eq(s.sql_value("SELECT updated_at FROM sla_policy"), stored_at, "the same policy is not written again")
        open_before = dues(s, tid)
        new_cal = dict(cal, hours=["09:00-17:00"])
        s.conf = s.write_config(text=config(s, new_cal))
        check.eq(s.run_spocd("--once")[0], 0, "spocd starts with new hours: 09:00-17:00, no Sunday night")
        check.eq(s.sql("SELECT isodow, start_minute, end_minute FROM sla_hours ORDER BY 1, 2"),
                 [(d, 540, 1020) for d in range(1, 6)], "the new hours are stored")
        check.eq(dues(s, tid), (open_before[0], utc("2026-06-15T15:00:00Z")),
                 "the open ticket: answered, its first response keeps its due time; 2880 minutes are six"
                 " days of 480 now")
        check.eq(dues(s, closed), closed_dues, "the closed ticket is left alone")
        created, resolution = s.sql("SELECT created_at, resolution_due FROM tickets WHERE id = %s", (paused_tid,))[0]
        check.eq(resolution - created, timedelta(minutes=240 + 90),
                 "the P1 ticket: 240 minutes around the clock from its creation, plus its 90 paused")

        # -- SIGHUP: the running daemon stores the calendar it reads again -----------------------
        reload_conf = s.write_config(name="reload.conf", text=config(s, new_cal))
        d = s.start_spocd(config=reload_conf, name="spocd-reload")
        try:
            # its signal handlers are in place once it speaks to the database
            check.wait_for(lambda: "listening on spocd_outbox" in d.text(), 20, "the daemon runs",
                           detail=lambda: d.tail())
            check.eq(s.sql_value("SELECT count(*) FROM sla_hours"), 5, "with 09:00-17:00")
            s.write_config(name="reload.conf", text=config(s, cal))
            d.send_signal(signal.SIGHUP)
            check.wait_for(lambda: s.sql_value("SELECT count(*) FROM sla_hours") == 7, 30,
                           "after SIGHUP the Sunday nights are stored again", detail=lambda: d.tail())
            check.wait_for(lambda: dues(s, tid)[1] == utc("2026-06-16T09:30:00Z"), 10,
                           "and the open ticket recomputed with them", detail=lambda: dues(s, tid))
        finally:
            d.stop()
        s.conf = s.write_config(text=config(s, new_cal))
        check.eq(s.run_spocd("--once")[0], 0, "09:00-17:00 again")

        # -- a zone the system knows and PostgreSQL does not (a POSIX rule) ---------------------
        stored = s.sql("SELECT document, updated_at FROM sla_policy")
        posix = dict(new_cal, timezone="CET-1CEST,M3.5.0,M10.5.0/3")
        rc, out, err = s.run_spocd("--once", config=s.write_config(name="posix.conf", text=config(s, posix)))
        check.eq(rc, 0, "mail still flows")
        check.ok('sla.calendar.timezone: "CET-1CEST,M3.5.0,M10.5.0/3" is not a time zone PostgreSQL knows' in err,
                 "the refusal names the setting and the zone", err[-2000:])
        check.eq(s.sql("SELECT document, updated_at FROM sla_policy"), stored, "the stored policy is kept")


if __name__ == "__main__":
    st.main(test)
