#!/usr/bin/python3
"""Spam the desk's border marked is kept, never answered. Through the real daemon with the
default spam.verdict_headers (SpamAssassin, rspamd, Microsoft 365):
  - a mail with each filter's positive verdict is quarantined as spam with the verdict as its
    reason and its raw bytes: no ticket, no acknowledgement to its (forged) sender, counted as
    spam in the metrics; a mail with negative verdicts is a ticket;
  - `spocctl quarantine list --reason spam` lists them, `--reason error` does not;
  - `spocctl quarantine replay` judges it again and it stays spam;
  - `spocctl quarantine release ID` takes it as a ticket, acknowledged, at most once;
  - with spam.verdict_headers = [] no verdict is read."""

import email.utils
import json
import re
import urllib.request

import spocdtest as st

SPAM = [
    ("spamassassin", "X-Spam-Flag: YES\r\nX-Spam-Status: Yes, score=15.2 required=5.0 tests=BAYES_99\r\n"),
    ("rspamd", "X-Spamd-Result: default: True [16.20 / 15.00]; BAYES_SPAM(5.10)\r\nX-Spam: Yes\r\n"),
    ("microsoft365", "X-MS-Exchange-Organization-SCL: 6\r\n"
                     "X-Forefront-Antispam-Report: CIP:192.0.2.1;SCL:6;SFV:SPM;DIR:INB;\r\n"),
]
HAM = ("X-Spam-Flag: NO\r\nX-Spam-Status: No, score=-0.1 required=5.0\r\n"
       "X-Spamd-Result: default: False [0.40 / 15.00]\r\nX-MS-Exchange-Organization-SCL: 1\r\n")


def mail(headers, sender, subject):
    return headers.encode() + st.make_message(sender, subject, "Verify your account now.\r\n")


def test(check):
    with st.Services(name="spocd-spam") as s:
        metrics_port = st.free_port()
        tree = s.config_tree()
        tree["metrics"] = {"listen": f"127.0.0.1:{metrics_port}"}
        s.conf = s.write_config(text=st.render_conf(tree))
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
        for i, (name, headers) in enumerate(SPAM):
            s.append(mail(headers, f"ceo{i}@victim.example", f"Urgent wire transfer {name}"))
        s.append(mail(HAM, "marta@example.com", "La impresora no imprime"))
        d = s.start_spocd()
        check.wait_for(lambda: s.sql_value("SELECT count(*) FROM outbox WHERE state = 'sent'") == 1
                       and s.sql_value("SELECT count(*) FROM quarantine") == 3,
                       30, "the daemon takes the four mails", detail=d.tail)
        rows = s.sql("SELECT category, reason, length(raw) > 0 FROM quarantine ORDER BY id")
        for (name, _), row in zip(SPAM, rows):
            check.ok(row[0] == "spam" and row[1].startswith("spam: ") and f"({name})" in row[1] and row[2],
                     f"{name}'s verdict: quarantined as spam with the verdict and the raw bytes", row)
        check.eq(s.sql("SELECT requester FROM tickets"), [("marta@example.com",)],
                 "negative verdicts: a ticket; no ticket for spam")
        check.eq(sorted(email.utils.parseaddr(str(m["To"]))[1] for m in s.captured()), ["marta@example.com"],
                 "no acknowledgement to any spam sender")

        def scrape():
            body = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
            return body if re.search(r'outcome="spam"\} 3$', body, re.M) else None
        body = st.wait_for(scrape, 10, "metrics: spam counted", step=0.2)
        check.ok(body is not None and re.search(r'^spocd_messages_total\{mailbox="INBOX",outcome="spam"\} 3$',
                                                body or "", re.M), "metrics: three spam messages")
        d.stop()

        rc, out, err = s.run_spocctl("--json", "quarantine", "list", "--reason", "spam")
        listed = json.loads(out) if rc == 0 else []
        check.eq([e["category"] for e in listed], ["spam"] * 3, "quarantine list --reason spam lists them")
        rc, out, err = s.run_spocctl("--json", "quarantine", "list", "--reason", "error")
        check.eq(json.loads(out) if rc == 0 else None, [], "--reason error does not")
        rc, out, err = s.run_spocctl("quarantine", "list", "--reason", "ham")
        check.ok(rc == 2 and "--reason" in err, "a bad --reason exits 2 naming it", err)
        rc, out, err = s.run_spocctl("quarantine", "list")
        check.ok(rc == 0 and out.count(b"spam") >= 3, "the table shows their kind", out)

        first = listed[0]["id"] if listed else 0
        rc, out, err = s.run_spocctl("quarantine", "replay", str(first))
        check.ok(rc != 0 and "spam" in err and "quarantine release" in err,
                 "replay judges it again: still spam, and says how to release it", err)
        check.eq(s.sql_value("SELECT count(*) FROM tickets"), 1, "no ticket from the replay")

        rc, out, err = s.run_spocctl("quarantine", "release", str(first))
        check.ok(rc == 0 and b"ticket" in out, "release takes it as a ticket", (out, err))
        check.eq(s.sql_value("SELECT count(*) FROM tickets WHERE requester = 'ceo0@victim.example'"), 1,
                 "the released mail is a ticket")
        check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "the notifier runs")
        check.eq(sum(email.utils.parseaddr(str(m["To"]))[1] == "ceo0@victim.example" for m in s.captured()), 1,
                 "and is acknowledged")
        rc, out, err = s.run_spocctl("quarantine", "release", str(first))
        check.ok(rc == 0 and b"already" in out, "a second release changes nothing", (out, err))
        check.eq(s.sql_value("SELECT count(*) FROM tickets WHERE requester = 'ceo0@victim.example'"), 1,
                 "still one ticket")

        # an operator who reads no verdicts
        tree["spam"] = {"verdict_headers": []}
        s.conf = s.write_config(name="nospam.conf", text=st.render_conf(tree))
        s.append(mail(SPAM[0][1], "other@victim.example", "Another"))
        check.eq(s.run_spocd("--once")[0], 0, "spocd --once without verdicts")
        check.eq(s.sql_value("SELECT count(*) FROM tickets WHERE requester = 'other@victim.example'"), 1,
                 "spam.verdict_headers = []: the verdict is not read")


if __name__ == "__main__":
    st.main(test)
