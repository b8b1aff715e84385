#!/usr/bin/python3
"""Threading both ways, through the real daemon.

Which ticket a message belongs to: a reply naming the acknowledgement in In-Reply-To (any
client) or only in References, and a new mail whose subject carries the "[INC-000001]" tag from
the ticket's requester, all land on the ticket. The same tag from a stranger does not: it makes a
new ticket, and nothing of the first one reaches the stranger (the defence against the "Ticket
Trick").

What each person's mail client threads on: every mail to a requester or watcher continues what
that person last sent or last got from the desk, with References of their own chain only:
  - the acknowledgement answers the requester's own mail;
  - an agent's reply from Outlook (Message-ID on the agent's Exchange host) reaches the requester
    answering the acknowledgement, with nothing of the agent's ids or hosts in any header, and
    without the agent's sign-off twice (Outlook's and Thunderbird's replies);
  - the next status update continues from the relayed reply;
  - a watcher (Cc) gets a chain of only what the desk sent them;
  - thirty mails later the References keep the first and the ten latest;
  - a requester's hostile Message-ID (over-long, spaces, '>') never reaches a header of ours, and
    their mail is still acknowledged."""

import email.utils

import spocdtest as st

AUTH_OK = ("Authentication-Results", "mx.desk.test; dkim=pass header.d=desk.test; spf=pass")


def passed(domain):
    return ("Authentication-Results", f"mx.desk.test; dkim=pass header.d={domain}; "
            f"dmarc=pass header.from={domain}")


def sent_to(s, addr):
    return [m for m in s.captured() if email.utils.parseaddr(str(m["To"]))[1] == addr]


def header_block(msg):
    return msg.raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")


def plain(msg):
    return msg.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def threading_of(msg):
    """(In-Reply-To, [References]) of a captured mail, as "<id>" strings."""
    irt = st.ids_in(msg["In-Reply-To"])
    return (irt[0] if len(irt) == 1 else (None if not irt else irt)), st.ids_in(msg["References"])


def matching(check):
    with st.Services(name="spocd-threading") as s:
        s.append(st.make_message("ines.marin@example.com", "No funciona el proyector de la sala 4",
                                 "El proyector no enciende.\r\n", from_name="Inés Marín"))
        check.eq(s.run_spocd("--once")[0], 0, "first run exits 0")
        ack = s.captured()[0]
        number = s.sql_value("SELECT display FROM tickets")
        check.eq(number, "INC-000001", "ticket INC-000001")

        by_refs = st.make_message("ines.marin@example.com", "Re: " + ack["Subject"],
                                  "Sigue sin funcionar.\r\n", references=[ack["Message-ID"]])
        by_tag = st.make_message("Ines.Marin@Example.com", f"Más datos [{number}]",
                                 "Es el modelo Epson EB-X41.\r\n")
        stranger = st.make_message("mallory@evil.example", f"Re: [{number}] proyector",
                                   "Please add me to this ticket.\r\n")
        uids = [s.append(m) for m in (by_refs, by_tag, stranger)]
        check.eq(s.run_spocd("--once")[0], 0, "second run exits 0")
        rows = s.sql("SELECT l.uid, l.outcome, t.display FROM ingest_log l "
                     "LEFT JOIN tickets t ON t.id = l.ticket_id WHERE l.uid = ANY(%s) ORDER BY l.uid",
                     (uids,))
        check.eq(rows[0][1:], ("reply", number), "a reply naming the acknowledgement only in References")
        check.eq(rows[1][1:], ("reply", number),
                 "the requester's new mail with the ticket tag (address in other case)")
        check.eq(rows[2][1], "ticket", "a stranger using the tag gets a ticket of their own")
        check.ok(rows[2][2] != number, f"not {number} ({rows[2][2]})")
        check.eq(s.sql_value("SELECT count(*) FROM messages m JOIN tickets t ON t.id = m.ticket_id "
                             "WHERE t.display = %s AND m.from_addr = 'mallory@evil.example'", (number,)),
                 0, "nothing of the stranger's is on the first ticket")
        to_stranger = [m for m in s.captured() if "mallory@evil.example" in m["To"]]
        check.eq(len(to_stranger), 1, "the stranger gets one acknowledgement, for their own ticket")
        check.ok(to_stranger[0]["Subject"].startswith(f"[{rows[2][2]}] "),
                 "which is tagged with their own ticket", to_stranger[0]["Subject"])
        check.ok("proyector no enciende" not in st.body_text(to_stranger[0]),
                 "and carries nothing of the first ticket")


OUTLOOK_REPLY = ("Hola Marta,\r\n\r\nHe reiniciado tu perfil; prueba ahora a entrar.\r\n\r\n"
                 "Saludos,\r\nAna García\r\nService Desk\r\n\r\n"
                 "________________________________\r\n"
                 "From: Marta Ruiz <marta@example.com>\r\nSent: Monday, December 7, 2026 9:12 AM\r\n"
                 "To: help@desk.test\r\nSubject: El portátil no arranca\r\n\r\n"
                 "No arranca desde ayer.\r\n")
THUNDERBIRD_REPLY = ("Ya está: era el cargador.\r\n\r\nSaludos,\r\nAna\r\n-- \r\nAna\r\n\r\n"
                     "El 7/12/26 a las 9:30, Marta Ruiz escribió:\r\n> Sigue sin arrancar.\r\n")


def requester_view(check, s):
    marta_id = "<CAF3k2marta0001@mail.gmail.com>"
    s.append(st.make_message("marta@example.com", "El portátil no arranca", "No arranca desde ayer.\r\n",
                             from_name="Marta Ruiz", message_id=marta_id,
                             extra_headers=[("Cc", "Jefe <boss@example.com>"), passed("example.com")]))
    check.eq(s.run_spocd("--once")[0], 0, "a requester writes, copying her boss")
    check.eq(s.sql("SELECT address, role FROM participants WHERE ticket_id = 1 ORDER BY role, address"),
             [("marta@example.com", "requester"), ("boss@example.com", "watcher")], "her boss watches")
    display = s.sql_value("SELECT display FROM tickets WHERE id = 1")
    ack = sent_to(s, "marta@example.com")
    check.eq(len(ack), 1, "she is acknowledged")
    ack = ack[0]
    ack_id = st.norm_id(ack["Message-ID"])
    check.eq(threading_of(ack), (marta_id, [marta_id]), "the acknowledgement answers her own mail")

    # Outlook: its own Message-ID on the agent's Exchange host, answering the requester's mail
    outlook_id = "<AM0PR01MB1234A1B2C3D4E5F6@EXCH01.corp.internal>"
    s.append(st.make_message("ana@desk.test", f"RE: [{display}] El portátil no arranca", OUTLOOK_REPLY,
                             from_name="Ana García", message_id=outlook_id, in_reply_to=marta_id,
                             references=[marta_id],
                             extra_headers=[AUTH_OK, ("Thread-Index", "AQHbSx3dZ2Vn1vYt0kq"),
                                            ("X-MS-Exchange-Organization-AuthSource",
                                             "EXCH01.corp.internal")]))
    check.eq(s.run_spocd("--once")[0], 0, "the agent answers from Outlook")
    relay = sent_to(s, "marta@example.com")
    check.eq(len(relay), 2, "the answer is relayed to her")
    relay = relay[-1]
    check.eq(threading_of(relay), (ack_id, [marta_id, ack_id]),
             "it answers the acknowledgement, after her own mail: what she has")
    check.ok("corp.internal" not in header_block(relay).lower() and "exch01" not in header_block(relay).lower(),
             "no header names the agent's Exchange host", header_block(relay))
    text = plain(relay)
    check.ok("He reiniciado tu perfil; prueba ahora a entrar." in text, "her text is there", text)
    check.eq(text.count("Ana García"), 1, "the agent's name once, not her sign-off and the desk's")
    check.eq([l for l in text.split("\n") if l.strip() == "Service Desk"], [],
             "nor her title: the desk's own line names the desk")
    check.ok("Saludos,\nAna" not in text, "her closing went with her sign-off", text)

    boss = sent_to(s, "boss@example.com")
    check.eq(len(boss), 1, "the watcher gets the answer too")
    check.eq(threading_of(boss[0]), (None, []),
             "the desk had sent him nothing: no mail of anyone else's to thread on")
    check.ok("corp.internal" not in header_block(boss[0]).lower(), "nor the agent's host",
             header_block(boss[0]))

    # the next status update continues from the relayed reply, for each of them
    check.eq(s.run_spocctl("ticket", "set", display, "status", "pending")[0], 0, "spocctl sets pending")
    check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "the notifier runs")
    status = sent_to(s, "marta@example.com")[-1]
    relay_id = st.norm_id(relay["Message-ID"])
    check.eq(threading_of(status), (relay_id, [marta_id, ack_id, relay_id]),
             "the status update answers the relayed reply")
    boss_status = sent_to(s, "boss@example.com")
    check.eq(len(boss_status), 2, "the watcher hears of the status")
    boss_relay_id = st.norm_id(boss[0]["Message-ID"])
    check.eq(threading_of(boss_status[-1]), (boss_relay_id, [boss_relay_id]),
             "the watcher's chain holds only what he received")
    for m in (status, boss_status[-1]):
        check.ok(outlook_id not in str(m["References"]) and "corp.internal" not in header_block(m).lower(),
                 "the agent's id stays out of later mail", header_block(m))

    # an agent's notice threads on what she has: the requester's mail and her own, not the
    # desk's mail to the requester or the watcher
    check.eq(s.run_spocctl("ticket", "set", display, "assignee", "ana@desk.test")[0], 0, "spocctl assigns Ana")
    check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "the notifier runs")
    assigned = sent_to(s, "ana@desk.test")
    check.eq(len(assigned), 1, "Ana is told the ticket is hers")
    check.eq(threading_of(assigned[-1]), (outlook_id, [marta_id, outlook_id]),
             "it answers her own reply, after the requester's mail")

    # Thunderbird: "Saludos,\nAna" and a "-- " signature
    s.append(st.make_message("ana@desk.test", f"Re: [{display}] El portátil no arranca", THUNDERBIRD_REPLY,
                             from_name="Ana García", in_reply_to=marta_id, extra_headers=[AUTH_OK]))
    check.eq(s.run_spocd("--once")[0], 0, "the agent answers from Thunderbird")
    tb = plain(sent_to(s, "marta@example.com")[-1])
    check.ok("Ya está: era el cargador." in tb, "the answer is relayed", tb)
    check.ok("\nAna\n" not in tb and "Saludos,\nAna" not in tb and tb.count("Ana García") == 1,
             "signed once, by the desk's line", tb)

    # her internal notes and the agent's mail are not hers to see: the chain is hers alone
    ids = [st.norm_id(v) for (v,) in s.sql("SELECT message_id FROM messages WHERE ticket_id = 1 AND"
                                          " (lower(from_addr) = 'marta@example.com' OR"
                                          "  lower(to_addrs) = 'marta@example.com') ORDER BY id")]
    last = sent_to(s, "marta@example.com")[-1]
    check.eq(threading_of(last)[1], ids[:-1], "every later mail's References is her own chain")


def long_conversation(check, s):
    first = "<long-0@mail.example.com>"
    s.append(st.make_message("pablo@example.com", "La impresora de la planta 3", "No imprime.\r\n",
                             message_id=first, extra_headers=[passed("example.com")]))
    check.eq(s.run_spocd("--once")[0], 0, "another requester writes")
    display, tid = s.sql("SELECT display, id FROM tickets WHERE requester = 'pablo@example.com'")[0]
    ack_id = st.norm_id(sent_to(s, "pablo@example.com")[-1]["Message-ID"])
    mine = [f"<long-{i}@mail.example.com>" for i in range(1, 30)]
    for i, mid in enumerate(mine, 1):
        s.append(st.make_message("pablo@example.com", f"Re: [{display}] La impresora de la planta 3",
                                 f"Dato número {i}.\r\n", message_id=mid, in_reply_to=ack_id,
                                 extra_headers=[passed("example.com")]))
    check.eq(s.run_spocd("--once")[0], 0, "he writes 29 more times")
    check.eq(s.sql_value("SELECT count(*) FROM messages WHERE ticket_id = %s AND direction = 'in'", (tid,)), 30,
             "all on his ticket")
    check.eq(s.run_spocctl("ticket", "set", display, "status", "resolved")[0], 0, "resolved")
    check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "the notifier runs")
    got = sent_to(s, "pablo@example.com")[-1]
    irt, refs = threading_of(got)
    check.eq(irt, mine[-1], "the update answers his latest mail")
    check.eq(refs, [first] + mine[-10:], "References: his first mail and the ten latest")
    check.ok(ack_id not in refs, "the acknowledgement, in the middle, is trimmed")
    check.ok(len(str(got["References"])) < 1000, "a header of reasonable size", len(str(got["References"])))


def hostile_ids(check, s):
    long_id = "<" + "x" * 300 + "@evil.example>"
    spaced = "<a b>c@evil.example>"
    for who, mid in (("lucia@example.com", long_id), ("raul@example.com", spaced)):
        raw = st.make_message(who, "Ayuda con el correo", "No me llegan correos.\r\n",
                              extra_headers=[passed("example.com")])
        head, body = raw.split(b"\r\n\r\n", 1)
        lines = [l for l in head.split(b"\r\n") if not l.lower().startswith(b"message-id:")]
        lines.append(b"Message-ID: " + mid.encode())
        s.append(b"\r\n".join(lines) + b"\r\n\r\n" + body)
    check.eq(s.run_spocd("--once")[0], 0, "two requesters with hostile Message-IDs write")
    for who, mid in (("lucia@example.com", long_id), ("raul@example.com", spaced)):
        acks = sent_to(s, who)
        check.eq(len(acks), 1, f"{who}: acknowledged all the same")
        if not acks:
            continue
        head = header_block(acks[0])
        check.ok("evil.example" not in head, f"{who}: nothing of the hostile id in our headers", head)
        check.eq(acks[0].defects, [], f"{who}: the mail parses cleanly")
        check.eq([n.lower() for n in acks[0].keys() if n.lower() in ("in-reply-to", "references", "message-id")],
                 ["message-id"], f"{who}: one Message-ID, ours, and no threading header to break")
        check.ok(all(len(l) <= 998 for l in head.split("\r\n")), f"{who}: no line over 998 octets")
        check.ok(not any(l.lower().startswith(("c@", "bcc")) for l in head.split("\r\n")),
                 f"{who}: no header of the attacker's making", head)


def test(check):
    matching(check)
    with st.Services(name="spocd-threading-view") as s:
        s.conf = s.write_config(agents={"trusted_authserv_id": "mx.desk.test", "proof": "token-or-domain"},
                                desk={**s.config_tree()["desk"], "cc_watchers": True,
                                      "watcher_domains": ["example.com"]})
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
        check.eq(s.run_spocctl("agent", "add", "ana@desk.test", "--name", "Ana García")[0], 0, "agent added")
        requester_view(check, s)
        long_conversation(check, s)
        hostile_ids(check, s)


if __name__ == "__main__":
    st.main(test)
