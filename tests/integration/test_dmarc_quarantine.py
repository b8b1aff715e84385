#!/usr/bin/python3
"""A domain's DMARC policy is honoured. Through the real daemon, on a desk whose border is
mx.desk.test and spam.dmarc_fail on (the default):
  - a mail whose From domain the border failed under p=reject (OpenDMARC's comment) or
    p=quarantine (rspamd's) is quarantined as spam, the border's verdict as the reason: no
    ticket, nobody answered (the sender is forged);
  - a DMARC fail under p=none, or with no policy said, is an unverified sender's ticket, and
    is not acknowledged (a sender whose domain failed DMARC never is);
  - a fail under p=reject in a forged header below the border's own pass changes nothing;
  - with spam.dmarc_fail = false the p=reject fail is a ticket too."""

import email.utils

import spocdtest as st

BORDER = "Authentication-Results: mx.desk.test; "


def mail(sender, subject, *headers):
    return b"".join(h.encode() + b"\r\n" for h in headers) + st.make_message(
        sender, subject, "Please wire the money today.\r\n")


def acknowledged(s, addr):
    return sum(email.utils.parseaddr(str(m["To"]))[1] == addr for m in s.captured())


def test(check):
    with st.Services(name="spocd-dmarc-quarantine") as s:
        tree = s.config_tree()
        tree["agents"] = {"trusted_authserv_id": "mx.desk.test"}
        s.conf = s.write_config(text=st.render_conf(tree))
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")

        s.append(mail("ceo@victim.example", "Reject policy",
                      BORDER + "dkim=none; spf=fail smtp.mailfrom=victim.example;"
                      " dmarc=fail (p=reject dis=none) header.from=victim.example"))
        s.append(mail("cfo@victim.example", "Quarantine policy",
                      BORDER + "dkim=none; spf=softfail (mx.desk.test: 198.51.100.7 is neither permitted nor"
                      " denied by domain of cfo@victim.example) smtp.mailfrom=cfo@victim.example;"
                      " dmarc=fail reason=\"No valid SPF, No valid DKIM\" header.from=victim.example"
                      " (policy=quarantine)"))
        s.append(mail("ana@lax.example", "None policy",
                      BORDER + "dkim=none; dmarc=fail (p=none dis=none) header.from=lax.example"))
        s.append(mail("luis@quiet.example", "No policy said",
                      BORDER + "dmarc=fail header.from=quiet.example"))
        s.append(mail("marta@example.com", "Forged fail below",
                      BORDER + "dkim=pass header.d=example.com; dmarc=pass header.from=example.com",
                      BORDER + "dmarc=fail (p=reject) header.from=example.com"))
        check.eq(s.run_spocd("--once")[0], 0, "spocd --once")

        check.eq(s.sql("SELECT category, reason FROM quarantine ORDER BY id"),
                 [("spam", "spam: dmarc=fail (p=reject) header.from=victim.example by mx.desk.test"),
                  ("spam", "spam: dmarc=fail (p=quarantine) header.from=victim.example by mx.desk.test")],
                 "p=reject and p=quarantine fails: quarantined as spam, the border's verdict the reason")
        check.eq(acknowledged(s, "ceo@victim.example") + acknowledged(s, "cfo@victim.example"), 0,
                 "nobody answered for the failed domain")
        check.eq(s.sql("SELECT subject, requester FROM tickets ORDER BY id"),
                 [("None policy", "ana@lax.example"), ("No policy said", "luis@quiet.example"),
                  ("Forged fail below", "marta@example.com")],
                 "p=none, no policy and a forged fail below the border's pass: tickets")
        check.eq([acknowledged(s, a) for a in ("ana@lax.example", "luis@quiet.example", "marta@example.com")],
                 [0, 0, 1], "a sender whose domain failed DMARC is never acknowledged, whatever the policy")
        check.eq(s.sql("SELECT m.sender_verdict FROM messages m JOIN tickets t ON t.id = m.ticket_id"
                       " WHERE m.direction = 'in' ORDER BY t.id"),
                 [("fail",), ("fail",), ("pass",)], "their verdicts are kept")

        tree["spam"] = {"dmarc_fail": False}
        s.conf = s.write_config(name="off.conf", text=st.render_conf(tree))
        s.append(mail("ceo@victim.example", "Reject policy, not read",
                      BORDER + "dmarc=fail (p=reject dis=none) header.from=victim.example"))
        check.eq(s.run_spocd("--once")[0], 0, "spocd --once with spam.dmarc_fail = false")
        check.eq(s.sql_value("SELECT count(*) FROM tickets WHERE subject = 'Reject policy, not read'"), 1,
                 "spam.dmarc_fail = false: a ticket")
        check.eq(acknowledged(s, "ceo@victim.example"), 0, "still not acknowledged")

        # an operator releases the p=reject spam: a ticket, and still nobody is answered
        first = s.sql_value("SELECT min(id) FROM quarantine")
        rc, out, err = s.run_spocctl("quarantine", "release", str(first))
        check.ok(rc == 0 and b"ticket" in out, "release takes the DMARC-fail mail as a ticket", (out, err))
        check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "the notifier runs")
        check.eq(acknowledged(s, "ceo@victim.example"), 0, "a released DMARC fail is not acknowledged either")


if __name__ == "__main__":
    st.main(test)
