#!/usr/bin/python3
"""A ticket's people are proven, not named. On a desk whose border authenticates mail
(agents.trusted_authserv_id set, so trust.unverified defaults to "new-ticket"):
  - a forged From of the requester with the ticket's tag writes nothing into the ticket: it gets a
    new ticket linked to the one it names, and the assignee hears nothing of it;
  - a forged mail cannot make its Cc watchers of anything, and a verified one makes watchers only
    of addresses in desk.watcher_domains, never of a stranger's domain;
  - with desk.requester = "reply-to", the Reply-To is the requester only for a verified sender
    and only in the From's own domain."""

import email.utils

import spocdtest as st


def passed(domain):
    return (f"Authentication-Results: mx.desk.test; dkim=pass header.d={domain}; "
            f"dmarc=pass header.from={domain}").encode()


def with_headers(raw, *headers):
    return b"".join(h + b"\r\n" for h in headers) + raw


def sent_to(s, addr):
    return [m for m in s.captured() if email.utils.parseaddr(str(m["To"]))[1] == addr]


def test(check):
    with st.Services(name="spocd-participants") as s:
        s.conf = s.write_config(agents={"trusted_authserv_id": "mx.desk.test"},
                                desk={**s.config_tree()["desk"], "cc_watchers": True,
                                      "watcher_domains": ["example.com"]})
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
        check.eq(s.run_spocctl("agent", "add", "ana@desk.test", "--name", "Ana")[0], 0, "agent added")

        first = st.make_message("marta@example.com", "El portátil no arranca", "No arranca desde ayer.\r\n",
                                extra_headers=[("Cc", "Jefe <boss@example.com>, Otro <mallory@evil.net>")])
        s.append(with_headers(first, passed("example.com")))
        check.eq(s.run_spocd("--once")[0], 0, "a verified requester writes")
        check.eq(s.sql("SELECT address, role FROM participants WHERE ticket_id = 1 ORDER BY role, address"),
                 [("marta@example.com", "requester"), ("boss@example.com", "watcher")],
                 "her Cc in example.com is a watcher; one in another domain is not")
        display = s.sql_value("SELECT display FROM tickets WHERE id = 1")
        s.sql("UPDATE tickets SET assignee_id = (SELECT id FROM agents WHERE address = 'ana@desk.test')")
        # Ana is told the ticket is hers; what follows counts from there
        check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "the assignment notice is sent")
        messages_before = s.sql_value("SELECT count(*) FROM messages WHERE ticket_id = 1 AND direction = 'in'")

        # the requester forged: her address and the tag, no border pass, then a dmarc=fail
        for label, headers in (("no border pass", ()),
                               ("dmarc=fail", (b"Authentication-Results: mx.desk.test; dmarc=fail "
                                               b"(p=none dis=none) header.from=example.com",))):
            told = len(sent_to(s, "ana@desk.test"))
            forged = st.make_message("marta@example.com", f"Re: [{display}] El portátil no arranca",
                                     f"Ya no hace falta, cerradlo ({label}).\r\n",
                                     extra_headers=[("Cc", "Eve <eve@example.com>")])
            s.append(with_headers(forged, *headers))
            check.eq(s.run_spocd("--once")[0], 0, f"forged requester, {label}: spocd runs")
            check.eq(s.sql_value("SELECT count(*) FROM messages WHERE ticket_id = 1 AND direction = 'in'"), messages_before,
                     f"forged requester, {label}: nothing is filed on her ticket")
            new = s.sql_value("SELECT ticket_id FROM messages WHERE body_text LIKE %s", (f"%({label})%",))
            check.eq(s.sql("SELECT linked_ticket_id, kind FROM ticket_links WHERE ticket_id = %s", (new,)),
                     [(1, "possibly-related")], f"forged requester, {label}: a new ticket linked to hers")
            check.eq(len(sent_to(s, "ana@desk.test")), told,
                     f"forged requester, {label}: the assignee hears nothing of it")
            check.eq(s.sql("SELECT address FROM participants WHERE ticket_id = %s AND role = 'watcher'", (new,)),
                     [], f"forged requester, {label}: her forged Cc is nobody's watcher")
            check.eq(s.sql("SELECT status FROM tickets WHERE id = 1"), [("new",)],
                     f"forged requester, {label}: her ticket is as it was")
            detail = s.sql_value("SELECT detail FROM ingest_log WHERE ticket_id = %s", (new,))
            check.ok(detail, f"forged requester, {label}: the outcome is recorded with its reason", detail)

        # the real requester, verified, still threads
        real = st.make_message("marta@example.com", f"Re: [{display}] El portátil no arranca",
                               "Ahora hace un pitido.\r\n")
        s.append(with_headers(real, passed("example.com")))
        check.eq(s.run_spocd("--once")[0], 0, "the verified requester answers")
        check.eq(s.sql_value("SELECT count(*) FROM messages WHERE ticket_id = 1 AND direction = 'in'"), messages_before + 1,
                 "her verified mail joins her ticket")

        # each mail keeps what the border said of its sender, and spocctl ticket show says it
        check.eq(s.sql("SELECT sender_verdict, sender_verdict_why FROM messages WHERE direction = 'in'"
                       " ORDER BY id"),
                 [("pass", "dkim=pass header.d=example.com by mx.desk.test"),
                  ("none", "no Authentication-Results from mx.desk.test"),
                  ("fail", "dmarc=fail (p=none) header.from=example.com by mx.desk.test"),
                  ("pass", "dkim=pass header.d=example.com by mx.desk.test")],
                 "the sender verdict is stored with every mail")
        forged_ticket = s.sql_value("SELECT t.display FROM messages m JOIN tickets t ON t.id = m.ticket_id"
                                    " WHERE m.body_text LIKE '%%(dmarc=fail)%%'")
        rc, out, err = s.run_spocctl("ticket", "show", str(forged_ticket))
        text = out.decode()
        check.ok(rc == 0 and "Sender:          FAILED the border's check (dmarc=fail (p=none) header.from=example.com"
                 in text, "ticket show says the sender failed the border's check", text)
        rc, out, err = s.run_spocctl("ticket", "show", "1")
        check.ok("Sender:          verified (dkim=pass header.d=example.com" in out.decode(), "and that a verified one is", out.decode())

    with st.Services(name="spocd-participants-rt", smtp=False) as s:
        s.conf = s.write_config(agents={"trusted_authserv_id": "mx.desk.test"},
                                desk={**s.config_tree()["desk"], "requester": "reply-to"})
        cases = [
            ("verified, Reply-To in another domain", "marta@example.com", "mallory@evil.net", True,
             "marta@example.com"),
            ("forged, Reply-To in the From's domain", "boss@example.com", "mallory@example.com", False,
             "boss@example.com"),
            ("verified, Reply-To in the From's domain", "marta@example.com", "marta.casa@example.com", True,
             "marta.casa@example.com"),
        ]
        for i, (label, sender, reply_to, verified, want) in enumerate(cases, 1):
            raw = st.make_message(sender, f"Caso {i}", "Necesito ayuda.\r\n", extra_headers=[("Reply-To", reply_to)])
            s.append(with_headers(raw, passed("example.com")) if verified else raw)
            s.run_spocd("--once")
            check.eq(s.sql_value("SELECT requester FROM tickets WHERE subject = %s", (f"Caso {i}",)), want,
                     f"desk.requester = reply-to, {label}: the requester")

    # a desk with a border that still accepts unverified senders: the assignee is told which
    # of the requester's mails the border did not verify, or failed
    with st.Services(name="spocd-participants-accept") as s:
        s.conf = s.write_config(agents={"trusted_authserv_id": "mx.desk.test"}, trust={"unverified": "accept"})
        check.eq(s.run_spocd("--migrate")[0], 0, "accept: spocd --migrate")
        check.eq(s.run_spocctl("agent", "add", "ana@desk.test", "--name", "Ana")[0], 0, "accept: agent added")
        s.append(with_headers(st.make_message("marta@example.com", "Sin red", "No hay red.\r\n"),
                              passed("example.com")))
        check.eq(s.run_spocd("--once")[0], 0, "accept: the requester writes")
        ack = sent_to(s, "marta@example.com")[0]
        s.sql("UPDATE tickets SET assignee_id = (SELECT id FROM agents WHERE address = 'ana@desk.test')")
        for label, headers, want, unwanted in (
                ("verified", (passed("example.com"),), None, ("no verificado", "NO ha superado")),
                ("no border header", (), "(Remitente no verificado: no Authentication-Results from mx.desk.test.)",
                 ("NO ha superado",)),
                ("dmarc=fail", (b"Authentication-Results: mx.desk.test; dmarc=fail header.from=example.com",),
                 "NO ha superado la comprobación de la frontera: dmarc=fail header.from=example.com by mx.desk.test",
                 ("no verificado",))):
            s.append(with_headers(st.make_message("marta@example.com", str(ack["Subject"]), f"Más datos ({label}).\r\n",
                                                  in_reply_to=ack["Message-ID"]), *headers))
            check.eq(s.run_spocd("--once")[0], 0, f"accept, {label}: the requester answers")
            notes = [m.get_body(preferencelist=("plain",)).get_content() for m in sent_to(s, "ana@desk.test")]
            last = notes[-1] if notes else ""
            check.ok(f"({label})" in last and (want is None or want in last)
                     and not any(u in last for u in unwanted),
                     f"accept, {label}: the assignee's notice says what the border said", last)


if __name__ == "__main__":
    st.main(test)
