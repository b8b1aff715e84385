#!/usr/bin/python3
"""SLA warnings and breaches (spocctl sla check) against the real database, tickets made by
ingesting mail through Dovecot and their clocks moved with SQL:
- at 80% of a 24x7 target a warning is queued, past due a breach, each exactly once per ticket
  and target however many runs follow; a target breached before its warning went out gets the
  breach alone;
- recipients: the assignee; the active agents of the ticket's team when it has no assignee (or
  an inactive one); sla.notify when it has no team either (an address that is an agent's gets
  their id and name); every active agent when sla.notify is empty too;
- nothing for a resolved ticket nor for a first response that was met (its resolution still
  counts);
- the share is measured on the target's calendar: on a business calendar whose last two days
  were holidays a ticket two days old is not at 75% of a 10-hour target, while the same times
  on a 24x7 (P1 incident) target are; raising it to P1 warns;
- the outbox rows are what the notifier needs: pending, no Message-ID yet, the desk's language,
  detail {target, due, share}, in reply to the ticket's first message, agent_id;
- two runs at the same moment, held at the same point by a lock on sla_notices, queue each
  notice once between them."""

import json
import re
import subprocess
from datetime import datetime, timedelta, timezone

import psycopg2

import spocdtest as st

AGENTS = [  # address, name, team
    ("alice@desk.test", "Alice", "network"),
    ("bob@desk.test", "Bob", "network"),
    ("carol@desk.test", "Carol", "apps"),
    ("dave@desk.test", "Dave", ""),
    ("erin@desk.test", "Erin", "network"),  # disabled below
]
NOTIFY = ["OnCall@Desk.test", "dave@desk.test"]


def sla_section(today, notify):
    """A business calendar open around the clock in UTC except the two days before today, and
    the settings under test."""
    holidays = ", ".join(f'"{(today - timedelta(days=d)).isoformat()}"' for d in (2, 1))
    lines = ["sla:", "{",
             f'  calendar = {{ timezone = "UTC"; days = [ "mon-sun" ]; hours = [ "00:00-24:00" ];'
             f" holidays = [ {holidays} ]; }};",
             "  warn_share = 75;"]
    if notify:
        lines.append("  notify = [ " + ", ".join(f'"{a}"' for a in notify) + " ];")
    return "\n".join(lines + ["};", ""])


def sla_check(s, config=None):
    """spocctl sla check; returns the number of outbox rows it says it queued."""
    rc, out, err = s.run_spocctl("sla", "check", config=config)
    text = out.decode()
    m = re.fullmatch(r"sla check: (\d+) notifications? queued\n", text)
    if rc != 0 or m is None:
        raise AssertionError(f"spocctl sla check: exit {rc}, {text!r}, {err!r}")
    return int(m.group(1))


def place(s, ids, created_ago, due_in):
    """Sets created_at to created_ago minutes ago and both due times due_in minutes from now."""
    s.sql("UPDATE tickets SET created_at = now() - make_interval(mins => %s),"
          " first_response_due = now() + make_interval(mins => %s),"
          " resolution_due = now() + make_interval(mins => %s) WHERE id = ANY(%s)",
          (created_ago, due_in, due_in, list(ids)))


def queued(s):
    """{(ticket, target, level): sorted recipients} of every SLA row in the outbox."""
    out = {}
    for tid, kind, target, rcpt in s.sql(
            "SELECT ticket_id, kind, detail->>'target', recipient FROM outbox"
            " WHERE kind LIKE 'sla-%%' ORDER BY recipient"):
        out.setdefault((tid, target, kind[4:]), []).append(rcpt)
    return out


def notices(s):
    return sorted(s.sql("SELECT ticket_id, target, level FROM sla_notices"))


def test(check):
    with st.Services(name="spocd-sla") as s:
        today = datetime.now(timezone.utc).date()
        base = st.render_conf(s.config_tree())
        s.conf = s.write_config(text=base + sla_section(today, NOTIFY))
        no_notify = s.write_config("spocd-no-notify.conf", text=base + sla_section(today, []))

        names = ["assigned", "team", "team-inactive-assignee", "nobody", "resolved", "met",
                 "business", "around-the-clock", "late", "everyone", "race-1", "race-2", "race-3"]
        for i, name in enumerate(names):
            s.append(st.make_message(f"user{i}@example.com", f"SLA test {name}",
                                     f"Hola, el ticket de prueba {name} no funciona.\r\n"))
        check.eq(s.run_spocd("--once")[0], 0, "tickets ingested")
        tid = {name: s.sql_value("SELECT id FROM tickets WHERE subject = %s", (f"SLA test {name}",))
               for name in names}
        check.ok(all(tid.values()), "one ticket per mail", tid)
        for address, name, team in AGENTS:
            check.eq(s.run_spocctl("agent", "add", address, "--name", name, "--team", team)[0], 0,
                     f"agent {address}")
        check.eq(s.run_spocctl("agent", "disable", "erin@desk.test")[0], 0, "erin disabled")
        agent = dict(s.sql("SELECT address, id FROM agents"))

        # Who each ticket belongs to, and what state it is in. P1 incidents run on 24x7.
        s.sql("UPDATE tickets SET kind = 'incident', priority = 1")
        s.sql("UPDATE tickets SET priority = 3 WHERE id = %s", (tid["business"],))
        s.sql("UPDATE tickets SET assignee_id = %s, team = 'apps', status = 'in-progress' WHERE id = %s",
              (agent["carol@desk.test"], tid["assigned"]))
        # (in progress: a pending ticket's clock is stopped, test_sla_clocks)
        s.sql("UPDATE tickets SET team = 'network', status = 'in-progress' WHERE id = %s", (tid["team"],))
        s.sql("UPDATE tickets SET team = 'network', assignee_id = %s WHERE id = ANY(%s)",
              (agent["erin@desk.test"], [tid["team-inactive-assignee"], tid["race-1"], tid["race-2"],
                                         tid["race-3"]]))
        s.sql("UPDATE tickets SET status = 'resolved' WHERE id = %s", (tid["resolved"],))
        s.sql("UPDATE tickets SET first_response_at = now(), team = 'apps' WHERE id = %s", (tid["met"],))
        # no target runs out while the test runs unless the test says so
        place(s, tid.values(), 0, 10 * 24 * 60)
        # nothing is due yet: fresh tickets
        check.eq(sla_check(s), 0, "fresh tickets: nothing to say")
        check.eq(notices(s), [], "and nothing recorded")

        # -- 80% of every target -----------------------------------------------------------
        warned = ["assigned", "team", "team-inactive-assignee", "nobody", "resolved", "met"]
        place(s, [tid[n] for n in warned], 8 * 60, 2 * 60)
        place(s, [tid["late"]], 8 * 60, -1)
        # two days of holidays, then today: far along in wall-clock time, not in business time
        s.sql("UPDATE tickets SET created_at = (%s::date - 2)::timestamp AT TIME ZONE 'UTC',"
              " first_response_due = now() + interval '10 hours',"
              " resolution_due = now() + interval '10 hours' WHERE id = ANY(%s)",
              (today.isoformat(), [tid["business"], tid["around-the-clock"]]))
        carol, alice_bob = ["carol@desk.test"], ["alice@desk.test", "bob@desk.test"]
        listed = ["dave@desk.test", "oncall@desk.test"]
        both = ("first-response", "resolution")
        want = {}
        for target in both:
            want[(tid["assigned"], target, "warning")] = carol
            want[(tid["team"], target, "warning")] = alice_bob
            want[(tid["team-inactive-assignee"], target, "warning")] = alice_bob
            want[(tid["nobody"], target, "warning")] = listed
            want[(tid["around-the-clock"], target, "warning")] = listed
            want[(tid["late"], target, "breach")] = listed
        want[(tid["met"], "resolution", "warning")] = carol
        rows = sum(len(v) for v in want.values())
        check.eq(sla_check(s), rows, "the first check queues one row per notice and recipient")
        check.eq(queued(s), want, "warnings to assignee / team / sla.notify; the late ticket's breach alone")
        check.eq(notices(s), sorted(want), "sla_notices records each notice")
        check.eq(sla_check(s), 0, "a second check queues nothing")
        check.eq(sla_check(s), 0, "nor a third")
        check.eq(queued(s), want, "still exactly one row per notice and recipient")

        rows_detail = s.sql(
            "SELECT o.ticket_id, o.detail, o.state, o.message_id, o.language, o.agent_id, o.recipient_name,"
            "  o.in_reply_to_message = (SELECT min(m.id) FROM messages m WHERE m.ticket_id = o.ticket_id"
            "    AND m.direction = 'in'),"
            "  floor(extract(epoch FROM CASE o.detail->>'target' WHEN 'first-response'"
            "    THEN t.first_response_due ELSE t.resolution_due END))::bigint,"
            "  (SELECT n.due = CASE n.target WHEN 'first-response' THEN t.first_response_due"
            "    ELSE t.resolution_due END FROM sla_notices n WHERE n.ticket_id = o.ticket_id"
            "    AND n.target = o.detail->>'target' AND 'sla-' || n.level = o.kind)"
            " FROM outbox o JOIN tickets t ON t.id = o.ticket_id WHERE o.kind LIKE 'sla-%%'")
        check.ok(all(r[2] == "pending" and r[3] is None and r[4] == "es" and r[7] for r in rows_detail),
                 "pending, no Message-ID yet, the desk's language, in reply to the first message",
                 rows_detail)
        check.ok(all(r[1]["due"] == r[8] and r[9] for r in rows_detail),
                 "detail.due and sla_notices.due are the ticket's due time", rows_detail)
        by_ticket = {}
        for r in rows_detail:
            by_ticket.setdefault(r[0], []).append(r)
        check.ok(all(80 <= r[1]["share"] <= 81 for n in warned if n != "resolved"
                     for r in by_ticket.get(tid[n], [])),
                 "a warning at 80% of a 24x7 target says so",
                 [r[1] for n in warned for r in by_ticket.get(tid[n], [])])
        check.ok(all(r[1]["share"] == 100 for r in by_ticket[tid["late"]]), "a breach says 100")
        check.ok(all(r[1]["share"] >= 82 for r in by_ticket[tid["around-the-clock"]]),
                 "two holiday days count on a 24x7 target", [r[1] for r in by_ticket[tid["around-the-clock"]]])
        check.eq(sorted((r[5], r[6]) for r in by_ticket[tid["assigned"]]),
                 [(agent["carol@desk.test"], "Carol")] * 2, "the assignee's rows carry their agent id and name")
        check.eq(sorted((r[5], r[6]) for r in by_ticket[tid["team"]]),
                 sorted([(agent["alice@desk.test"], "Alice"), (agent["bob@desk.test"], "Bob")] * 2),
                 "the team's rows carry each agent's id and name")
        check.eq(sorted((r[5] or 0, r[6]) for r in by_ticket[tid["nobody"]]),
                 sorted([(0, ""), (agent["dave@desk.test"], "Dave")] * 2),
                 "sla.notify: an agent's address gets their id and name, another address none")
        check.ok(tid["resolved"] not in by_ticket and tid["business"] not in by_ticket,
                 "nothing for the resolved ticket, nor for the business ticket at 70% of business time")
        check.eq(sorted(r[1]["target"] for r in by_ticket[tid["met"]]), ["resolution"],
                 "a met first response says nothing; the resolution still counts")

        # -- past due -------------------------------------------------------------------------
        s.sql("UPDATE tickets SET first_response_due = now() - interval '1 minute',"
              " resolution_due = now() - interval '1 minute' WHERE id = ANY(%s)",
              ([tid[n] for n in warned + ["around-the-clock"]],))
        for key in list(want):
            if key[2] == "warning":
                want[(key[0], key[1], "breach")] = want[key]
        rows = sum(len(v) for k, v in want.items() if k[2] == "breach" and k[0] != tid["late"])
        check.eq(sla_check(s), rows, "past due: one breach row per warned notice and recipient")
        check.eq(sla_check(s), 0, "a second check queues nothing")
        check.eq(queued(s), want, "one warning and one breach per ticket and target")
        check.eq(s.sql_value("SELECT count(*) FROM sla_notices WHERE ticket_id = %s", (tid["late"],)), 2,
                 "the late ticket never got a warning after its breach")

        # -- the calendar of the target: P1 runs around the clock ------------------------------
        check.eq(sla_check(s), 0, "the business ticket stays quiet")
        s.sql("UPDATE tickets SET priority = 1 WHERE id = %s", (tid["business"],))
        # the database recomputed the due times for P1 (test_sla_clocks): the same times again
        s.sql("UPDATE tickets SET first_response_due = now() + interval '10 hours',"
              " resolution_due = now() + interval '10 hours' WHERE id = %s", (tid["business"],))
        check.eq(sla_check(s), 4, "raised to P1 (24x7), the same times call for warnings")
        for target in both:
            want[(tid["business"], target, "warning")] = listed
        check.eq(queued(s), want, "to sla.notify")

        # -- two checks at the same moment ----------------------------------------------------
        race = [tid["race-1"], tid["race-2"], tid["race-3"]]
        place(s, race, 8 * 60, 2 * 60)
        lock = psycopg2.connect(s.conninfo)
        try:
            with lock.cursor() as cur:
                cur.execute("LOCK TABLE sla_notices IN EXCLUSIVE MODE")
            argv = [st.spocctl_bin(), "-c", s.conf, "sla", "check"]
            procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]

            def waiting():
                if any(p.poll() is not None for p in procs):
                    raise AssertionError("FAILED: an sla check ended while the table was locked: "
                                         + "; ".join(p.communicate()[1].decode() for p in procs if p.poll() is not None))
                return s.sql_value("SELECT count(*) FROM pg_locks WHERE NOT granted"
                                   " AND relation = 'sla_notices'::regclass") == 2
            check.wait_for(waiting, 60, "both checks read the same candidates and wait to record them")
        finally:
            lock.rollback()
            lock.close()
        outs = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            outs.append((p.returncode, out.decode(), err.decode()))
        check.ok(all(rc == 0 for rc, _, _ in outs), "both checks succeed", outs)
        counts = [int(re.search(r"(\d+) notification", o).group(1)) for _, o, _ in outs]
        check.eq(sum(counts), 3 * 2 * 2, f"between them ({counts}) each notice queued once")
        for t in race:
            for target in both:
                want[(t, target, "warning")] = alice_bob
        check.eq(queued(s), want, "one row per notice and recipient after the race")
        check.eq(s.sql_value("SELECT count(*) FROM sla_notices WHERE ticket_id = ANY(%s)", (race,)), 6,
                 "one warning per ticket and target")

        # -- no team and no sla.notify: every active agent ---------------------------------------
        place(s, [tid["everyone"]], 8 * 60, 2 * 60)
        rc, out, err = s.run_spocctl("--json", "sla", "check", config=no_notify)
        check.eq((rc, json.loads(out)), (0, {"queued": 8}), "--json says how many rows were queued")
        for target in both:
            want[(tid["everyone"], target, "warning")] = ["alice@desk.test", "bob@desk.test",
                                                         "carol@desk.test", "dave@desk.test"]
        check.eq(queued(s), want, "every active agent, not the disabled one")

        # -- usage ------------------------------------------------------------------------------
        check.eq(s.run_spocctl("sla")[0], 2, "spocctl sla without a command exits 2")
        check.eq(s.run_spocctl("sla", "run")[0], 2, "an unknown sla command exits 2")


if __name__ == "__main__":
    st.main(test)
