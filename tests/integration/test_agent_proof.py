#!/usr/bin/python3
"""What proves an agent, with the default of a desk whose border authenticates mail
(agents.proof = "token-and-domain"): the agent's own reply address for the ticket in To, current
and unexpired, and the trusted border's pass for the agent's domain, both at once. Each attempt
below carries "#priority P1" and a line for the requester; when it is not proven the ticket keeps
its priority, the requester receives nothing and the agent is told why:
  - a token leaked in Cc (an agent who copied a vendor hands them the reply address);
  - the token in To without the border's pass, and the pass without the token;
  - the token with the border's dmarc=fail for the agent's domain (a forger who saw it);
  - a token that has expired (made here with the desk's key, issued 31 days ago);
  - a token issued before `spocctl agent revoke`;
and the token with the pass is applied, also the fresh one a notice carries after the revoke."""

import base64
import datetime
import email.utils
import hashlib
import hmac

import spocdtest as st

PASS = b"Authentication-Results: mx.desk.test; dkim=pass header.d=desk.test; dmarc=pass header.from=desk.test"
# p=none: under quarantine or reject the mail would be spam (spam.dmarc_fail), never answered
FAIL = b"Authentication-Results: mx.desk.test; dkim=none; dmarc=fail (p=none) header.from=desk.test"


def body(msg):
    return msg.get_body(preferencelist=("plain",)).get_content()


def sent_to(s, addr):
    return [m for m in s.captured() if email.utils.parseaddr(str(m["To"]))[1] == addr]


def b32(data):
    return base64.b32encode(data).decode().lower()


def agent_token(secret, ticket, agent, day, generation):
    """An agent token as the desk mints it (src/desk/thread.c), computed independently."""
    key = secret.encode()
    rest = f"{agent}.{day}.{generation}".encode()
    mac = hmac.new(key, b"agent-token\0" + str(ticket).encode() + b"\0" + rest, hashlib.sha256).digest()
    kid = b32(hashlib.sha256(key).digest())[0]
    return f"{ticket}a{agent}d{day}g{generation}{kid}{b32(mac)[:16]}"


def test(check):
    with st.Services(name="spocd-agent-proof") as s:
        s.conf = s.write_config(agents={"trusted_authserv_id": "mx.desk.test"})
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
        check.eq(s.run_spocctl("agent", "add", "ana@desk.test", "--name", "Ana")[0], 0, "agent added")

        user_pass = b"Authentication-Results: mx.desk.test; dkim=pass header.d=example.com"
        s.append(user_pass + b"\r\n" + st.make_message("marta@example.com", "La impresora no imprime",
                                                        "No imprime nada.\r\n"))
        check.eq(s.run_spocd("--once")[0], 0, "the user writes")
        ack = sent_to(s, "marta@example.com")[0]
        s.sql("UPDATE tickets SET assignee_id = (SELECT id FROM agents WHERE address = 'ana@desk.test')")
        s.append(user_pass + b"\r\n" + st.make_message("marta@example.com", str(ack["Subject"]),
                                                        "Sigue sin imprimir.\r\n",
                                                        in_reply_to=ack["Message-ID"]))
        check.eq(s.run_spocd("--once")[0], 0, "the user adds something; the assignee hears of it")
        notice = sent_to(s, "ana@desk.test")[-1]
        token_addr = email.utils.parseaddr(str(notice["Reply-To"]))[1]
        today = (datetime.datetime.now(datetime.timezone.utc).date() - datetime.date(1970, 1, 1)).days
        check.ok(token_addr.startswith("help+1a1d") and "g0" in token_addr,
                 "the notice's Reply-To is Ana's agent token for the ticket", token_addr)
        secret = s.sql_value("SELECT value FROM spocd_private.spocd_secrets WHERE name = 'threading'")
        check.eq(token_addr, f"help+{agent_token(secret, 1, 1, today, 0)}@desk.test",
                 "the token is the one computed independently from the desk's key")
        subject = "Re: " + str(notice["Subject"])

        def attempt(what, *, to="help@desk.test", cc=None, headers=(), applied=False, why=None):
            extra = [("Cc", cc)] if cc else []
            raw = st.make_message("ana@desk.test", subject, f"#priority P1\r\n\r\nRespuesta ({what}).\r\n",
                                  to=to, in_reply_to=notice["Message-ID"], extra_headers=extra)
            raw = b"".join(h + b"\r\n" for h in headers) + raw
            to_user = len(sent_to(s, "marta@example.com"))
            told = len(sent_to(s, "ana@desk.test"))
            before = s.sql_value("SELECT priority FROM tickets WHERE id = 1")
            s.append(raw)
            check.eq(s.run_spocd("--once")[0], 0, f"{what}: spocd runs")
            after = s.sql_value("SELECT priority FROM tickets WHERE id = 1")
            if applied:
                check.eq(after, 1, f"{what}: #priority P1 applied")
                check.eq(len(sent_to(s, "marta@example.com")), to_user + 1, f"{what}: the requester gets the reply")
                s.sql("UPDATE tickets SET priority = 3 WHERE id = 1")
                return
            check.eq(after, before, f"{what}: the ticket is unchanged")
            check.eq(s.sql_value("SELECT count(*) FROM messages WHERE ticket_id = 1 AND body_text LIKE %s",
                                 (f"%Respuesta ({what})%",)), 0, f"{what}: nothing of it is filed on the ticket")
            check.eq(len(sent_to(s, "marta@example.com")), to_user, f"{what}: nothing reaches the requester")
            notes = [body(m) for m in sent_to(s, "ana@desk.test")[told:]]
            check.ok(len(notes) == 1 and "no se ha podido comprobar" in notes[0] and why in notes[0],
                     f"{what}: the agent is told why: {why}", notes)

        attempt("token in To and the border's pass", to=token_addr, headers=[PASS], applied=True)
        attempt("the token only in Cc", cc=token_addr, headers=[PASS],
                why="no reply address of yours for this ticket among the recipients (To)")
        attempt("the token without the border's pass", to=token_addr,
                why="no Authentication-Results from mx.desk.test")
        attempt("the border's pass without the token", headers=[PASS],
                why="no reply address of yours for this ticket among the recipients (To)")
        attempt("the token with dmarc=fail for the agent's domain", to=token_addr, headers=[FAIL],
                why="dmarc=fail (p=none) header.from=desk.test by mx.desk.test")
        old = f"help+{agent_token(secret, 1, 1, today - 31, 0)}@desk.test"
        attempt("a token issued 31 days ago", to=old, headers=[PASS], why="the reply address has expired")
        thirty = f"help+{agent_token(secret, 1, 1, today - 30, 0)}@desk.test"
        attempt("a token issued 30 days ago", to=thirty, headers=[PASS], applied=True)

        rc, out, err = s.run_spocctl("agent", "revoke", "ana@desk.test")
        check.eq(rc, 0, "spocctl agent revoke")
        check.eq(s.sql_value("SELECT token_generation FROM agents WHERE address = 'ana@desk.test'"), 1,
                 "the agent's token generation moved on")
        attempt("a token issued before the revoke", to=token_addr, headers=[PASS],
                why="the reply address was revoked")
        # the requester writes again; the assignee's notice carries a token of the new generation
        s.append(user_pass + b"\r\n" + st.make_message("marta@example.com", str(ack["Subject"]),
                                                        "¿Alguna novedad?\r\n", in_reply_to=ack["Message-ID"]))
        check.eq(s.run_spocd("--once")[0], 0, "the requester writes again")
        fresh = email.utils.parseaddr(str(sent_to(s, "ana@desk.test")[-1]["Reply-To"]))[1]
        check.ok("g1" in fresh and fresh != token_addr, "the agent's next notice carries a new token", fresh)
        attempt("the new token", to=fresh, headers=[PASS], applied=True)
        rc, out, err = s.run_spocctl("agent", "revoke", "nobody@desk.test")
        check.ok(rc != 0 and "is not an agent" in err, "revoking an unknown address says so", err)


if __name__ == "__main__":
    st.main(test)
