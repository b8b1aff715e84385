#!/usr/bin/python3
"""Caps that hold, on the real services. Every notification passes the rate limits when the
notifier sends it, whoever queued it, and what is over a limit is held with the limit's name and
value until the oldest mail it counted leaves the window:

- an auto-responder spocd cannot recognise (plain headers, new subject each time) gets three
  acknowledgements an hour (rate_limits.per_recipient_hour = 3), the rest held, its tickets still
  created; a person is not affected;
- a flood to victim+1@, victim+2@, Victim@ counts as one address, and so do Gmail's dotted and
  googlemail.com forms (the database's recipient_key, the same as caps_recipient_key());
- held rows are listed by `spocctl outbox list --state held` with the limit's name; when the
  window passes they are sent; one held longer than smtp.max_retry_age is given up, saying so;
- status notices queued by the database's trigger (plain SQL updates) are limited too;
- an agent's relayed replies pass their own budget (rate_limits.agent-reply), not the automatic
  one;
- the desk's hourly cap on automatic mail (rate_limits.automatic_per_hour) holds mail to many
  different recipients, and `spocctl outbox retry` of a held row sends it regardless;
- two notifiers at once never send past one recipient's budget;
- a requester at x@[10.0.0.5], root@localhost, admin@intranet, help+x@desk.test (the desk's own)
  or in smtp.refused_domains gets nothing: each row failed with its reason, nothing reached the
  SMTP server."""

import email.utils
import json
import re

import spocdtest as st

AUTH_OK = ("Authentication-Results", "mx.desk.test; dkim=pass header.d=desk.test; spf=pass")

# The key each address is counted by (src/desk/caps.c's unit test has the same table).
KEYS = {
    "Victim@Example.COM": "victim@example.com",
    "victim+1@example.com": "victim@example.com",
    "victim+a+b@example.com": "victim@example.com",
    "v.i.c.t.i.m@example.com": "v.i.c.t.i.m@example.com",
    "V.i.c.t.i.m+spam@Gmail.com": "victim@gmail.com",
    "vic.tim@googlemail.com": "victim@gmail.com",
    "+34600000000@sms.example": "+34600000000@sms.example",
    '"a@b"+x@example.com': '"a@b"@example.com',
    "no-at-sign": "no-at-sign",
    "@example.com": "@example.com",
}


def to_addr(msg):
    return email.utils.parseaddr(str(msg["To"]))[1]


def sent_to(s, *addrs):
    want = [a.lower() for a in addrs]
    return [m for m in s.captured() if to_addr(m).lower() in want]


def mail(s, sender, subject, body="Hola.\r\n", **kw):
    """A mail whose Message-ID is made of its subject (make_msgid() would use the sender's
    domain, an address literal included)."""
    mid = re.sub(r"[^A-Za-z0-9]+", ".", subject).strip(".")
    s.append(st.make_message(sender, subject, body, message_id=f"<{mid}@mua.test>", **kw))


def window_passes(s):
    """As if an hour had gone by: what was sent is older than the hour window, and the held rows
    are due (their release)."""
    s.sql("UPDATE outbox SET sent_at = sent_at - interval '61 minutes' WHERE state = 'sent'")
    s.sql("UPDATE outbox SET next_attempt_at = now() WHERE state = 'held'")


def clean_slate(s):
    """As if two days had gone by: nothing sent counts in any window any more."""
    s.sql("UPDATE outbox SET sent_at = sent_at - interval '2 days' WHERE state = 'sent'")


def keys(check, s):
    for addr, key in KEYS.items():
        check.eq(s.sql_value("SELECT outbox_recipient_key(%s)", (addr,)), key, f"recipient key of {addr}")


def flood(check, s):
    for i in range(5):
        mail(s, "robot@vendor.example", f"Your request number {1000 + i} was received",
             f"Thank you for your message number {i}.\r\n")
    for i, who in enumerate(("victim+1@example.net", "victim+2@example.net", "Victim@example.net",
                             "victim@example.net")):
        mail(s, who, f"Flood {i}")
    for i, who in enumerate(("v.i.c.t.i.m@gmail.com", "victim+x@googlemail.com", "vic.tim@gmail.com",
                             "victim@gmail.com")):
        mail(s, who, f"Gmail flood {i}")
    mail(s, "lucia.vidal@example.com", "No funciona la impresora", "La impresora de la planta 1 no imprime.\r\n")
    rc, out, err = s.run_spocd("--once")
    check.eq(rc, 0, "spocd --once")
    check.eq(s.sql_value("SELECT count(*) FROM tickets WHERE requester = 'robot@vendor.example'"), 5,
             "every message still became a ticket")

    rows = s.sql("SELECT state, last_error FROM outbox WHERE recipient = 'robot@vendor.example' ORDER BY id")
    check.eq([r[0] for r in rows], ["sent", "sent", "sent", "held", "held"],
             "three acknowledgements sent, the rest held")
    check.ok(all(r[1] == "rate_limits.per_recipient_hour = 3: already 3 automatic mails to this address in the"
                        " last hour" for r in rows[3:]), "the held rows name the limit and its value", rows[3:])
    for key, addrs in (("victim@example.net", ("victim+1@example.net", "victim+2@example.net", "victim@example.net")),
                       ("victim@gmail.com", ("v.i.c.t.i.m@gmail.com", "victim+x@googlemail.com", "vic.tim@gmail.com",
                                             "victim@gmail.com"))):
        states = s.sql("SELECT state FROM outbox WHERE recipient_key = %s ORDER BY id", (key,))
        check.eq([r[0] for r in states], ["sent", "sent", "sent", "held"], f"{key}: one address however written")
    check.eq(len(sent_to(s, "victim+1@example.net", "victim+2@example.net", "victim@example.net")), 3,
             "three mails reached the victim's +tag addresses together")
    check.eq(len(sent_to(s, "v.i.c.t.i.m@gmail.com", "victim+x@googlemail.com", "vic.tim@gmail.com",
                         "victim@gmail.com")), 3, "three reached the Gmail victim however dotted")
    check.eq(len(sent_to(s, "robot@vendor.example")), 3, "only three reached the robot")
    check.eq(len(sent_to(s, "lucia.vidal@example.com")), 1, "a person is not affected")
    check.eq(s.sql_value("SELECT bool_and(abs(extract(epoch FROM o.next_attempt_at - (SELECT min(x.sent_at)"
                         " + interval '1 hour' FROM outbox x WHERE x.recipient_key = o.recipient_key"
                         " AND x.state = 'sent'))) <= 1) FROM outbox o WHERE o.state = 'held'"), True,
             "each held row is due again when the oldest mail it counted leaves the hour")

    # what an operator sees
    rc, out, err = s.run_spocctl("outbox", "list", "--state", "held")
    lines = out.decode().splitlines()[1:]
    check.ok(rc == 0 and len(lines) == 4 and all("rate_limits.per_recipient_hour = 3" in l for l in lines),
             "outbox list --state held: every held row with the limit's name", out.decode())
    rc, out, err = s.run_spocctl("--json", "outbox", "list", "--state", "held")
    check.ok(all(r["last_error"].startswith("rate_limits.per_recipient_hour = 3:") for r in json.loads(out)),
             "and as JSON", out.decode())
    held = s.sql_value("SELECT min(id) FROM outbox WHERE state = 'held'")
    rc, out, err = s.run_spocctl("outbox", "show", str(held))
    check.ok(rc == 0 and "held until:" in out.decode() and "rate_limits.per_recipient_hour = 3" in out.decode(),
             "outbox show: until when and why", out.decode())

    before = len(s.captured())
    check.eq(s.run_spocd("--once")[0], 0, "spocd --once again")
    check.eq(len(s.captured()), before, "nothing is sent before the window passes")

    # held past smtp.max_retry_age (two days by default): given up, saying so
    old = s.sql_value("SELECT max(id) FROM outbox WHERE state = 'held' AND recipient = 'robot@vendor.example'")
    s.sql("UPDATE outbox SET created_at = now() - interval '3 days', next_attempt_at = now() WHERE id = %s", (old,))
    check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "notifier with an old held row")
    state, why = s.sql("SELECT state, last_error FROM outbox WHERE id = %s", (old,))[0]
    check.eq(state, "failed", "a row that would be held past smtp.max_retry_age fails")
    check.ok("smtp.max_retry_age" in why and "rate_limits.per_recipient_hour = 3" in why,
             "its reason names both settings", why)

    # the window passes: the held rows go
    window_passes(s)
    check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "notifier once the window passed")
    check.eq(s.sql("SELECT state, last_error FROM outbox WHERE state <> 'failed' AND recipient_key IN"
                   " ('robot@vendor.example', 'victim@example.net', 'victim@gmail.com')"
                   " GROUP BY state, last_error"), [("sent", "")], "every held row was sent")
    check.eq(len(sent_to(s, "robot@vendor.example")), 4, "the robot got the one still held (the other failed)")
    check.eq(len(s.captured()), before + 3, "three held rows released")


def status_by_sql(check, s):
    """lucia has one acknowledgement in this hour; four status moves by plain SQL queue four
    updates from the trigger: two go, two are held."""
    clean_slate(s)
    before = len(sent_to(s, "lucia.vidal@example.com"))
    s.sql("UPDATE outbox SET sent_at = now() WHERE recipient = 'lucia.vidal@example.com'")
    tid = s.sql_value("SELECT id FROM tickets WHERE requester = 'lucia.vidal@example.com'")
    for status in ("in-progress", "pending", "in-progress", "resolved"):
        s.sql("UPDATE tickets SET status = %s WHERE id = %s", (status, tid))
    check.eq(s.sql_value("SELECT count(*) FROM outbox WHERE kind = 'status' AND ticket_id = %s", (tid,)), 4,
             "the trigger queued four updates")
    check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "notifier")
    rows = s.sql("SELECT state, last_error FROM outbox WHERE kind = 'status' AND ticket_id = %s ORDER BY id", (tid,))
    check.eq([r[0] for r in rows], ["sent", "sent", "held", "held"], "status notices from SQL are limited too")
    check.ok(all(r[1].startswith("rate_limits.per_recipient_hour = 3:") for r in rows[2:]), "with the reason", rows)
    check.eq(len(sent_to(s, "lucia.vidal@example.com")), before + 2, "lucia got two of them")


def agent_relays(check, s):
    """The agent's replies pass rate_limits.agent-reply (2 an hour here), not the automatic
    budget the requester has used up."""
    clean_slate(s)
    s.sql("DELETE FROM outbox WHERE state = 'held'")
    check.eq(s.run_spocctl("agent", "add", "ana@desk.test", "--name", "Ana Pérez")[0], 0, "agent added")
    mail(s, "marta.ruiz@example.com", "La VPN no conecta")
    for i in range(3):
        mail(s, "marta.ruiz@example.com", f"La VPN sigue sin conectar {i}")
    check.eq(s.run_spocd("--once")[0], 0, "the requester writes four times")
    check.eq(len(sent_to(s, "marta.ruiz@example.com")), 3, "three acknowledgements: her automatic budget is spent")
    display = s.sql_value("SELECT display FROM tickets WHERE requester = 'marta.ruiz@example.com' ORDER BY id LIMIT 1")
    for i in range(3):
        mail(s, "ana@desk.test", f"Re: [{display}] La VPN no conecta {i}", f"Hola Marta, prueba número {i}.\r\n",
             from_name="Ana Pérez", in_reply_to="<La.VPN.no.conecta@mua.test>", extra_headers=[AUTH_OK])
    check.eq(s.run_spocd("--once")[0], 0, "the agent replies three times")
    rows = s.sql("SELECT state, last_error FROM outbox WHERE kind = 'agent-reply' ORDER BY id")
    check.eq([r[0] for r in rows], ["sent", "sent", "held"], "two relays sent past the spent automatic budget, "
                                                             "the third held by the agent-reply budget")
    check.eq(rows[2][1], "rate_limits.agent-reply.per_recipient_hour = 2: already 2 agent-reply mails to this"
                         " address in the last hour", "the relay's own limit is named")
    relayed = [m for m in sent_to(s, "marta.ruiz@example.com") if "prueba número" in m.get_body().get_content()]
    check.eq(len(relayed), 2, "two relays reached her")


def global_cap(check, s, conf):
    """rate_limits.automatic_per_hour = 4: six different people write, four are acknowledged,
    two held; the operator's retry sends one of them regardless; the window passing the other."""
    clean_slate(s)
    s.sql("DELETE FROM outbox WHERE state = 'held'")
    before = len(s.captured())
    people = [f"person{i}@company{i}.example" for i in range(6)]
    for i, who in enumerate(people):
        mail(s, who, f"Global {i}")
    check.eq(s.run_spocd("--once", config=conf)[0], 0, "six people write")
    rows = s.sql("SELECT id, state, last_error FROM outbox WHERE recipient LIKE 'person%%' ORDER BY id")
    check.eq([r[1] for r in rows], ["sent"] * 4 + ["held"] * 2, "four acknowledged, two held by the desk's cap")
    check.ok(all(r[2] == "rate_limits.automatic_per_hour = 4: already 4 automatic mails to all recipients in the"
                        " last hour" for r in rows[4:]), "the cap is named", rows[4:])
    check.eq(len(s.captured()), before + 4, "four reached the SMTP server")
    rc, out, err = s.run_spocctl("outbox", "list", "--state", "held")
    check.ok(rc == 0 and out.decode().count("rate_limits.automatic_per_hour") == 2,
             "outbox list --state held names the cap", out.decode())

    # the operator decides: this one goes now, over the cap
    first, second = rows[4][0], rows[5][0]
    rc, out, err = s.run_spocctl("outbox", "retry", str(first))
    check.ok(rc == 0 and b"rate limits" in out, "outbox retry of a held row", out.decode())
    s.sql("UPDATE outbox SET next_attempt_at = now() WHERE id = %s", (second,))
    check.eq(s.run_spocd("--role", "notify", "--once", config=conf)[0], 0, "notifier after the retry")
    check.eq(s.sql("SELECT state, retried_at IS NOT NULL FROM outbox WHERE id = %s", (first,)), [("sent", True)],
             "the retried row was sent over the cap, and the retry is recorded")
    check.eq(s.sql_value("SELECT state FROM outbox WHERE id = %s", (second,)), "held",
             "the other stays held while the cap is full")
    check.eq(len(sent_to(s, people[4])), 1, "the retried one reached its person")
    window_passes(s)
    check.eq(s.run_spocd("--role", "notify", "--once", config=conf)[0], 0, "notifier once the hour passed")
    check.eq(s.sql_value("SELECT state FROM outbox WHERE id = %s", (second,)), "sent", "the other then goes")
    check.eq(len(sent_to(s, people[5])), 1, "and reaches its person")


def two_notifiers(check, s):
    """Eight acknowledgements queued for one address; two notifiers at once send three."""
    clean_slate(s)
    for i in range(8):
        mail(s, f"twice+{i}@example.org", f"Twice {i}")
    check.eq(s.run_spocd("--role", "ingest", "--once")[0], 0, "queued without sending")
    a = s.start_spocd("--role", "notify", "--once", name="notifier-a")
    b = s.start_spocd("--role", "notify", "--once", name="notifier-b")
    check.eq((a.wait(120), b.wait(120)), (0, 0), "both notifiers finished")
    check.eq(s.sql("SELECT state, count(*) FROM outbox WHERE recipient_key = 'twice@example.org'"
                   " GROUP BY state ORDER BY state"), [("held", 5), ("sent", 3)],
             "one address's budget holds across notifiers")
    check.eq(len([m for m in s.captured() if to_addr(m).startswith("twice+")]), 3, "three reached the SMTP server")


def refused(check, s):
    clean_slate(s)
    before = len(s.captured())
    cases = {
        "x@[10.0.0.5]": "refused recipient: address literal [10.0.0.5]",
        "root@localhost": "refused recipient: localhost domain localhost",
        "admin@intranet": "refused recipient: single-label domain intranet",
        "help+x@desk.test": "refused recipient: the desk's own address help@desk.test",
        "ceo@blocked.example": "refused recipient: domain blocked.example in smtp.refused_domains (blocked.example)",
        "ceo@mx.blocked.example": "refused recipient: domain mx.blocked.example in smtp.refused_domains"
                                  " (blocked.example)",
    }
    for i, who in enumerate(cases):
        mail(s, who, f"Refused {i}")
    mail(s, "fine@allowed.example", "Allowed")
    check.eq(s.run_spocd("--once")[0], 0, "spocd --once")
    for who, why in cases.items():
        check.eq(s.sql("SELECT o.state, o.last_error, o.attempts FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
                       " WHERE t.requester = lower(%s)", (who,)), [("failed", why, 0)],
                 f"{who}: the ticket exists, its acknowledgement failed with the reason, never attempted")
    new = s.captured()[before:]
    check.eq([to_addr(m) for m in new], ["fine@allowed.example"], "only the allowed address got mail")
    check.ok(not any(r for r in s.smtp_refused() if any(w in json.dumps(r) for w in cases)),
             "the SMTP server never saw the refused ones", s.smtp_refused())
    # the operator's retry does not change who the desk refuses to write to
    fid = s.sql_value("SELECT o.id FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
                      " WHERE t.requester = 'root@localhost'")
    check.eq(s.run_spocctl("outbox", "retry", str(fid))[0], 0, "outbox retry of a refused row")
    check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "notifier")
    check.eq(s.sql("SELECT state, last_error FROM outbox WHERE id = %s", (fid,)),
             [("failed", "refused recipient: localhost domain localhost")], "refused again")
    check.eq(len(s.captured()), before + 1, "still nothing sent to it")


def test(check):
    with st.Services(name="spocd-rate") as s:
        rate = {"per_recipient_hour": 3, "per_recipient_day": 40, "per_ticket_day": 20,
                "agent-reply": {"per_recipient_hour": 2}}
        s.conf = s.write_config(rate_limits=rate,
                                agents={"trusted_authserv_id": "mx.desk.test", "proof": "token-or-domain"},
                                trust={"unverified": "accept"})
        with open(s.conf, encoding="utf-8") as f:
            text = f.read()
        s.conf = s.write_config(text=text.replace('  from_address = "help@desk.test";',
                                                  '  from_address = "help@desk.test";\n'
                                                  '  refused_domains = [ "Blocked.Example" ];'))
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
        keys(check, s)
        flood(check, s)
        status_by_sql(check, s)
        agent_relays(check, s)
        two_notifiers(check, s)
        refused(check, s)
        cap = s.write_config("cap.conf", text=open(s.conf, encoding="utf-8").read().replace(
            "rate_limits:\n{\n", "rate_limits:\n{\n  automatic_per_hour = 4;\n"))
        global_cap(check, s, cap)


if __name__ == "__main__":
    st.main(test)
