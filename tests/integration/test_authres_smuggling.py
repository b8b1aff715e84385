#!/usr/bin/python3
"""Authentication-Results smuggling through the real daemon: a stranger who writes as an agent
cannot become a "proven agent" with an RFC 2047 encoded-word, neither one that the border MTA
copies verbatim into its own header (the envelope sender or HELO name land in smtp.mailfrom= or
in a comment, as rspamd, Gmail and authentication_milter do) and that would decode to
");dkim=pass header.d=<the desk's domain>;(", nor an authserv-id written as an encoded-word that
the border does not recognise as its own (so leaves in place) and that would decode to the
trusted id. Each forged mail carries "#status closed" and "#priority P1": the ticket stays as it
was, the requester receives nothing, and the agent whose name was used is told that nothing ran.
A genuine header from the trusted border, folded and with comments, still proves the agent.

rspamd quotes the envelope sender it copies into its SPF comment; a ")" inside that quoted string
must not end the comment, or MAIL FROM:<"x);dkim=pass header.d=<desk>;(y"@evil> proves the desk.

A desk behind Microsoft 365 (agents.border = "microsoft365") reads Exchange Online's header,
which has no authserv-id, and only the topmost one: a stranger's copy of it below the real one,
an Authentication-Results-Original, or a header with an authserv-id above it proves nothing; the
real one's fail is kept with the mail, and under p=reject (action=oreject) makes it spam."""

import email.utils
import json
import os

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
            ("an envelope sender quoted in rspamd's SPF comment",
             [b'Authentication-Results: mx.desk.test; dkim=none; spf=fail (mx.desk.test: domain of'
              b' "\\"x);dkim=pass header.d=desk.test;(y\\"@evil.example" does not designate'
              b' 198.51.100.7 as permitted sender) smtp.mailfrom="\\"x);dkim=pass'
              b' header.d=desk.test;(y\\"@evil.example"']),
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

    microsoft365(check)


M365_PASS = (b"Authentication-Results: spf=pass (sender IP is 192.0.2.1)\r\n smtp.mailfrom=desk.test;"
             b" dkim=pass (signature was verified)\r\n header.d=desk.test;dmarc=pass action=none\r\n"
             b" header.from=desk.test;compauth=pass reason=100")
M365_NONE = (b"Authentication-Results: spf=softfail (sender IP is 198.51.100.7)\r\n"
             b" smtp.mailfrom=evil.example; dkim=none (message not signed)\r\n header.d=none;dmarc=none"
             b" action=none\r\n header.from=desk.test;compauth=fail reason=001")
M365_FAIL = (b"Authentication-Results: spf=fail (sender IP is 198.51.100.7)\r\n smtp.mailfrom=desk.test;"
             b" dkim=none (message not signed)\r\n header.d=none;dmarc=fail action=none\r\n"
             b" header.from=desk.test;compauth=fail reason=001")
# the same under p=reject, which Exchange Online overrode to junk: spam (spam.dmarc_fail)
M365_REJECT = M365_FAIL.replace(b"action=none", b"action=oreject").replace(b"reason=001", b"reason=000")


def microsoft365(check):
    with st.Services(name="spocd-authres-m365") as s:
        s.conf = s.write_config(agents={"border": "microsoft365", "proof": "token-or-domain"})
        check.eq(s.run_spocd("--migrate")[0], 0, "microsoft365: spocd --migrate")
        check.eq(s.run_spocctl("agent", "add", "ana@desk.test", "--name", "Ana")[0], 0,
                 "microsoft365: agent added")
        rc, out, err = s.run_spocctl("health")
        check.ok("trust: participants and agents verified by the border Microsoft 365" in out.decode(),
                 "microsoft365: spocctl health names the border", out.decode())
        user = st.make_message("marta.ruiz@example.com", "La VPN no conecta", "No conecta.\r\n")
        s.append(user)
        check.eq(s.run_spocd("--once")[0], 0, "microsoft365: the user writes")
        display = s.sql_value("SELECT display FROM tickets WHERE id = 1")
        user_id = st.parse(user)["Message-ID"]
        before = s.sql("SELECT status, priority FROM tickets WHERE id = 1")

        attacks = [
            ("a copy of Exchange Online's pass below its own", [M365_NONE, M365_PASS],
             "none", "dmarc=none by Microsoft 365"),
            ("a pass renamed Authentication-Results-Original",
             [M365_NONE, M365_PASS.replace(b"Authentication-Results:", b"Authentication-Results-Original:")],
             "none", "dmarc=none by Microsoft 365"),
            ("a header with an authserv-id above Exchange Online's",
             [b"Authentication-Results: mx.desk.test; dkim=pass header.d=desk.test;"
              b" dmarc=pass header.from=desk.test", M365_NONE],
             "none", "dmarc=none by Microsoft 365"),
            ("Exchange Online's fail above a copy of its pass", [M365_FAIL, M365_PASS],
             "fail", "dmarc=fail (p=none) header.from=desk.test by Microsoft 365"),
        ]
        for i, (what, headers, verdict, why) in enumerate(attacks):
            forged = st.make_message("ana@desk.test", f"Re: [{display}] La VPN no conecta",
                                     f"#status closed\r\n#priority P1\r\n\r\nCerrado (m{i}).\r\n",
                                     in_reply_to=user_id)
            s.append(with_headers(forged, headers))
            check.eq(s.run_spocd("--once")[0], 0, f"microsoft365, {what}: spocd runs")
            check.eq(s.sql("SELECT status, priority FROM tickets WHERE id = 1"), before,
                     f"microsoft365, {what}: the ticket is unchanged")
            check.eq(s.sql("SELECT sender_verdict, sender_verdict_why FROM messages"
                           " WHERE direction = 'in' AND body_text LIKE %s", (f"%(m{i})%",)), [(verdict, why)],
                     f"microsoft365, {what}: the verdict kept with the mail")

        # under p=reject the fail is spam: quarantined, nobody told; inspect shows why
        forged = st.make_message("ana@desk.test", f"Re: [{display}] La VPN no conecta",
                                 "#status closed\r\n\r\nCerrado (m-reject).\r\n", in_reply_to=user_id)
        s.append(with_headers(forged, [M365_REJECT, M365_PASS]))
        check.eq(s.run_spocd("--once")[0], 0, "microsoft365, Exchange Online's fail under p=reject: spocd runs")
        check.eq((s.sql("SELECT status, priority FROM tickets WHERE id = 1"),
                  s.sql("SELECT category, reason FROM quarantine")),
                 (before, [("spam", "spam: dmarc=fail (p=reject) header.from=desk.test by Microsoft 365")]),
                 "microsoft365, Exchange Online's fail under p=reject: quarantined as spam, ticket unchanged")
        path = os.path.join(s.dir, "m365-reject.eml")
        with open(path, "wb") as f:
            f.write(with_headers(st.make_message("ana@desk.test", "Hola", "Hola.\r\n"), [M365_REJECT, M365_PASS]))
        rc, out, err = s.run_spocctl("inspect", path)
        j = json.loads(out or b"null") if rc == 0 else None
        check.eq(j and j["judgement"]["sender"],
                 {"verdict": "fail", "dmarc": "fail", "dmarc_policy": "reject", "domain": "desk.test",
                  "why": "dmarc=fail (p=reject) header.from=desk.test by Microsoft 365"},
                 "microsoft365: spocctl inspect shows the DMARC result, policy and domain")

        real = st.make_message("ana@desk.test", f"Re: [{display}] La VPN no conecta",
                               "#priority P2\r\n\r\nLo miro (m-real).\r\n", in_reply_to=user_id)
        s.append(with_headers(real, [M365_PASS]))
        check.eq(s.run_spocd("--once")[0], 0, "microsoft365: the agent's genuine mail")
        check.eq(s.sql_value("SELECT priority FROM tickets WHERE id = 1"), 2,
                 "microsoft365: Exchange Online's own pass proves the agent")
        check.eq(s.sql("SELECT sender_verdict, sender_verdict_why FROM messages"
                       " WHERE direction = 'in' AND body_text LIKE '%%(m-real)%%'"),
                 [("pass", "dkim=pass header.d=desk.test by Microsoft 365")],
                 "microsoft365: and says how")


if __name__ == "__main__":
    st.main(test)
