#!/usr/bin/python3
"""An acknowledgement goes wherever a mail came from, signed as the desk's, so what it repeats of
the mail is bounded and inert. A stranger's mail with a phishing display name and subject (a
link, hidden and reordering characters, terminal escapes, hundreds of characters) gets an
acknowledgement whose greeting, To name, Subject and quoted subject:
  - are at most 64 (name) and 120 (subject) characters;
  - hold no control, bidi or zero-width character;
  - hold no link a mail client would make clickable (defanged: "[:]//", "[.]");
while the ticket keeps the subject exactly as it was written."""

import email.header
import email.utils

import spocdtest as st

NAME = ("IT Security \u202eTeam\u200b \x1b[31m - your mailbox is full, log in at "
        "https://mail.desk-test.support/verify or it will be deleted " + "!" * 200)
SUBJECT = ("Re: Password expires today \u2066\u202egpj.exe\u2069 visit www.reset-now.com "
           "\x07\x1b]52;c;ZXZpbA==\x07" + " urgent" * 60)

BAD = ["\u202e", "\u2066", "\u2069", "\u200b", "\x1b", "\x07", "https://", "www.reset-now.com",
       "desk-test.support"]


def test(check):
    with st.Services(name="spocd-ack-echo") as s:
        s.conf = s.write_config()
        # the display name as a well-formed encoded-word, so all of it reaches spocd
        encoded = email.header.Header(NAME, "utf-8").encode()
        raw = (f"From: {encoded} <victim@example.com>\r\n".encode()
               + st.make_message("victim@example.com", SUBJECT,
                                 "Please reset my password, I cannot log in.\r\n").split(b"\r\n", 1)[1])
        s.append(raw)
        check.eq(s.run_spocd("--once")[0], 0, "spocd --once")
        acks = s.captured()
        check.eq(len(acks), 1, "one acknowledgement")
        ack = acks[0]
        body = ack.get_body(preferencelist=("plain",)).get_content()
        greeting = body.splitlines()[0]
        to_name = email.utils.parseaddr(str(ack["To"]))[0]
        subject = str(ack["Subject"])
        quoted = [line.strip() for line in body.splitlines() if line.startswith("    ")][0]
        check.ok(greeting.startswith("Hello ") and len(greeting[len("Hello "):].rstrip(",")) <= 64,
                 "the greeting's name is at most 64 characters", greeting)
        check.ok(len(to_name) <= 64, "the To name is at most 64 characters", to_name)
        check.ok(len(quoted) <= 120 and quoted.endswith("…"), "the quoted subject is cut at 120", quoted)
        check.ok(len(subject) <= len("[INC-000001] ") + 120, "the Subject header too", subject)
        for part, text in (("greeting", greeting), ("To name", to_name), ("Subject", subject),
                           ("quoted subject", quoted), ("body", body)):
            found = [b for b in BAD if b in text]
            check.eq(found, [], f"the {part} holds nothing hidden, reordering or clickable")
        check.ok("log in at https" in greeting, "what is echoed of the link is inert text", greeting)
        check.ok(greeting.startswith("Hello IT Security Team [31m - your mailbox"),
                 "the name is read whole, hidden characters and escapes out", greeting)
        check.ok("www[.]reset-now[.]com" in quoted and "gpj.exe" in quoted, "so is the host name", quoted)
        check.ok("\u202e" in s.sql_value("SELECT subject FROM messages WHERE direction = 'in'"),
                 "and the stored text keeps what was written")


if __name__ == "__main__":
    st.main(test)
