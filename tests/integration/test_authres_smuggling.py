#!/usr/bin/python3
"""Authentication-Results smuggling through the real daemon: a stranger who writes as an agent
cannot become a "proven agent" with an RFC 2047 encoded-word, neither one that the border MTA
copies verbatim into its own header (the envelope sender or HELO name land in smtp.mailfrom= or
in a comment, as rspamd, Gmail and authentication_milter do) and that would decode to
");dkim=pass header.d=<the desk's domain>;(", nor an authserv-id written as an encoded-word that
the border does not recognise as its own (so leaves in place) and that would decode to the
trusted id. Each forged mail carries "#status closed" and "#priority P1": the ticket stays as it
was, the requester receives nothing, and the agent whose name was used is told that nothing ran.
A genuine header from the trusted border, folded and with comments, still proves the agent."""

import email.utils

import spocdtest as st

TRUSTED = "mx.desk.test"


def body(msg):
    return msg.get_body(preferencelist=("plain",)).get_content()


def sent_to(s, addr):
    return [m for m in s.captured() if email.utils.parseaddr(str(m["To"]))[1] == addr]


def with_headers(raw, headers):
    """raw with header lines put on top exactly as given (bytes, CRLF-terminated), as a border
    MTA prepends its own: nothing re-encodes or re-folds them."""
    return b"".join(h + b"\r\n" for h in headers) + raw


def test(check):
    with st.Services(name="spocd-authres-smuggling") as s:
        # the border's pass alone proves an agent here, so that each smuggling attempt is
        # refused for what it smuggles, not for a missing reply token
        s.conf = s.write_config(agents={"trusted_authserv_id": TRUSTED, "proof": "token-or-domain"})
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
        check.eq(s.run_spocctl("agent", "add", "ana@desk.test", "--name", "Ana")[0], 0, "agent added")

        user = st.make_message("marta.ruiz@example.com", "La VPN no conecta",
                               "Hola, desde esta mañana la VPN no conecta.\r\n")
        s.append(user)
        check.eq(s.run_spocd("--once")[0], 0, "the user writes")
        display = s.sql_value("SELECT display FROM tickets WHERE id = 1")
        user_id = st.parse(user)["Message-ID"]
        before = s.sql("SELECT status, priority, assignee_id FROM tickets WHERE id = 1")
        to_user = len(sent_to(s, "marta.ruiz@example.com"))

        attacks = [
            ("an encoded-word in smtp.mailfrom of the trusted header",
             [b"Authentication-Results: mx.desk.test; dkim=none; spf=pass"
              b" smtp.mailfrom==?utf-8?q?x=40evil.example_=29=3Bdkim=3Dpass_header.d=3Ddesk.test=3B=28?="]),
            ("an encoded-word in a comment, base64, folded",
             [b"Authentication-Results: mx.desk.test;\r\n\tspf=none (helo"
              b" =?utf-8?b?KTtka2ltPXBhc3MgaGVhZGVyLmQ9ZGVzay50ZXN0Oyg=?=)\r\n\tsmtp.helo=evil.example"]),
            ("an encoded authserv-id the border left in place",
             [b"Authentication-Results: =?us-ascii?q?mx.desk.test?=; dkim=pass header.d=desk.test;"
              b" dmarc=pass header.from=desk.test"]),
            ("an encoded authserv-id below the border's own fail",
             [b"Authentication-Results: mx.desk.test; dkim=fail header.d=desk.test",
              b"Authentication-Results: =?utf-8?b?bXguZGVzay50ZXN0?=; dkim=pass header.d=desk.test"]),
            ("a forged trusted header below the border's own",
             [b"Authentication-results: MX.DESK.TEST; dmarc=fail header.from=desk.test",
              b"Authentication-Results: mx.desk.test; dkim=pass header.d=desk.test"]),
        ]
        for i, (what, headers) in enumerate(attacks):
            forged = st.make_message("ana@desk.test", f"Re: [{display}] La VPN no conecta",
                                     f"#status closed\r\n#priority P1\r\n\r\nCerrado ({i}).\r\n",
                                     in_reply_to=user_id)
            s.append(with_headers(forged, headers))
            told_before = len(sent_to(s, "ana@desk.test"))
            check.eq(s.run_spocd("--once")[0], 0, f"{what}: spocd runs")
            check.eq(s.sql("SELECT status, priority, assignee_id FROM tickets WHERE id = 1"), before,
                     f"{what}: the ticket is unchanged")
            check.eq(s.sql_value("SELECT count(*) FROM ticket_events WHERE ticket_id = 1"
                                 " AND field IN ('status', 'priority')"), 0,
                     f"{what}: no command was audited")
            check.eq(len(sent_to(s, "marta.ruiz@example.com")), to_user,
                     f"{what}: nothing reached the requester")
            told = [body(m) for m in sent_to(s, "ana@desk.test")[told_before:]]
            check.ok(len(told) == 1 and ("could not be proven" in told[0]
                                         or "no se ha podido comprobar" in told[0]),
                     f"{what}: the agent is told nothing ran", told)
            if "encoded-word in" in what:
                check.ok("holds an RFC 2047 encoded-word: not trusted" in told[0],
                         f"{what}: and why, in the border's terms", told)

        # the same border, honest: a folded header with comments proves the agent
        real = st.make_message("ana@desk.test", f"Re: [{display}] La VPN no conecta",
                               "#priority P2\r\n\r\nLo miro ahora.\r\n", in_reply_to=user_id)
        s.append(with_headers(real, [b"Authentication-Results: mx.desk.test (border);\r\n"
                                     b"\tdkim=pass (2048-bit key) header.d=desk.test header.s=s1;\r\n"
                                     b"\tspf=pass smtp.mailfrom=ana@desk.test"]))
        check.eq(s.run_spocd("--once")[0], 0, "the agent's genuine mail")
        check.eq(s.sql_value("SELECT priority FROM tickets WHERE id = 1"), 2,
                 "a genuine trusted header still proves the agent")
        check.eq(len(sent_to(s, "marta.ruiz@example.com")), to_user + 1, "and her reply reaches the requester")


if __name__ == "__main__":
    st.main(test)
