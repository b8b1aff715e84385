#!/usr/bin/python3
"""Nothing a stranger writes reaches the operator's terminal as it is, on the real database,
Dovecot and SMTP listener.

A requester's mail carries, in its display name, subject and text, an OSC 52 clipboard write
(ESC ] 52 ; c ; ... BEL), a clear-screen CSI (ESC [ 2 J), BEL, the one-character C1 controls
U+009B (CSI) and U+009D (OSC), a right-to-left override (U+202E: "gnp.exe" reads "exe.png"), a
zero-width space and a raw 8-bit header that is not UTF-8. It becomes a ticket, its
acknowledgement is sent, the ticket is assigned, and the requester's hostile reply is relayed to
the agent; a third hostile mail, over parsing.max_header_bytes, is quarantined. The outbox's last
error and bounce reason, a quarantine reason, an agent's name and a knowledge-base title get
hostile text too (set as an SMTP server's reply, a DSN, a parser or an operator pasting from mail
could).

Every human-readable output (ticket list and show, outbox list and show of the acknowledgement and
of the relay, quarantine list and show, agent list, kb list, an error that echoes its argument)
holds no ESC, no BEL, no C0 or C1 control but newline (and tab in a mail's text), no bidi,
zero-width or other format character, and only valid UTF-8; each shows the visible escapes
instead (\\e]52;c;..., \\x07, \\u009B, \\u009D, \\u202Egnp.exe, \\u200B, \\xff). JSON output
parses to the text as stored and holds none of those characters raw either. The database still
holds the original text. --raw to a pipe writes the exact bytes received or sent; --raw to a
pseudo-terminal is refused with exit 2 and a message naming --force, writing nothing, and works
with --force."""

import json
import os
import pty
import select
import subprocess
import tty
import unicodedata

import spocdtest as st

ESC, BEL = "\x1b", "\x07"
OSC52 = ESC + "]52;c;ZWNobyBwd25lZA==" + BEL  # writes "echo pwned" to the clipboard
CLEAR = ESC + "[2J"
CSI1, OSC1 = "\u009b", "\u009d"
RLO, ZWSP = "\u202e", "\u200b"

NAME = f"Eve{OSC52} {RLO}gnp.exe{ZWSP}{CSI1}31m"
SUBJECT = f"Factura {CLEAR}{OSC1}0;pwned{BEL} {RLO}gnp.exe {ZWSP}X"
BODY = (f"Hola,\n{OSC52}\nlinea {CLEAR} BEL{BEL} C1{CSI1}1m OSC{OSC1}2;t RLO {RLO}gnp.exe "
        f"ZW{ZWSP}X\n{ESC}[31mrojo{ESC}[0m\n")
REPLY_BODY = f"Sigue igual.\n{OSC52}\nfirma {RLO}gnp.exe{ZWSP}\n"
EIGHT_BIT = b"X-Legacy: caf\xe9 \xff\xfe\r\n"

# What no human-readable output may hold (bytes), and what a decoded one may not (characters).
RAW_BYTES = (b"\x1b", b"\x07", b"\x9b", b"\x9d")
RAW_CHARS = (ESC, BEL, CSI1, OSC1, RLO, ZWSP)


def hostile_message(subject, body, *, extra=b"", message_id=None, in_reply_to=None):
    raw = st.make_message("eve@evil.test", subject, body, from_name=NAME, message_id=message_id,
                          in_reply_to=in_reply_to, references=[in_reply_to] if in_reply_to else None,
                          language="es-ES")
    # a header of raw 8-bit bytes that are not UTF-8, before the body
    head, sep, rest = raw.partition(b"\r\n\r\n")
    return head + b"\r\n" + EIGHT_BIT.rstrip(b"\r\n") + extra + sep + rest


def shown(args):
    """args for the test's log, hostile ones as Python escapes: the log reaches a terminal too."""
    return " ".join(a if isinstance(a, str) and a.isascii() and a.isprintable() else ascii(a) for a in args)


def ctl(s, *args):
    """spocctl with stdout and stderr as bytes (the harness decodes stderr, and logs its
    arguments as they are)."""
    p = subprocess.run([st.spocctl_bin(), "-c", s.conf, *args], capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=120)
    st.log(f"$ spocctl {shown(args)} -> exit {p.returncode}")
    return p.returncode, p.stdout, p.stderr


def visible(check, out, what, *, lines=True):
    """Checks that out (bytes) holds nothing a terminal acts on, and returns it decoded."""
    for b in RAW_BYTES:
        check.ok(b not in out, f"{what}: no byte {b!r}", out[:2000])
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError as e:
        check.ok(False, f"{what}: valid UTF-8", str(e))
    allowed = {"\n", "\t"} if lines else {"\n"}
    bad = sorted({f"U+{ord(c):04X}" for c in text
                  if c not in allowed and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")})
    check.ok(not bad, f"{what}: no control, bidi, zero-width or format character", bad)
    return text


def has_all(check, text, pieces, what):
    for piece in pieces:
        check.ok(piece in text, f"{what}: shows {piece!r}", text)


def run_on_pty(s, *args):
    """spocctl with standard output on a pseudo-terminal in raw mode (no newline translation).
    Returns (exit code, bytes the terminal received, stderr bytes)."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    p = subprocess.Popen([st.spocctl_bin(), "-c", s.conf, *args], stdin=subprocess.DEVNULL,
                         stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    got = bytearray()
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            p.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not chunk:
            break
        got += chunk
    err = p.stderr.read()
    p.wait(timeout=30)
    os.close(master)
    st.log(f"$ spocctl {shown(args)} (on a terminal) -> exit {p.returncode}")
    return p.returncode, bytes(got), err


def make_mail(check, s):
    check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
    check.eq(s.run_spocctl("agent", "add", "luis@desk.test", "--name", "Luis Gómez")[0], 0, "agent luis")
    first = hostile_message(SUBJECT, BODY, message_id="<hostile-1@evil.test>")
    s.append(first)
    # the third: a header over parsing.max_header_bytes (4096 here), quarantined
    padding = b"\r\nX-Padding: " + b"a" * 6000
    quarantined = hostile_message(SUBJECT, BODY, extra=padding, message_id="<hostile-3@evil.test>")
    s.append(quarantined)
    s.conf = s.write_config(parsing={"max_header_bytes": 4096})
    check.eq(s.run_spocd("--once")[0], 0, "spocd --once")
    check.eq(s.sql_value("SELECT count(*) FROM tickets"), 1, "one ticket")
    check.eq(s.sql_value("SELECT count(*) FROM quarantine"), 1, "one message quarantined")
    ticket = s.sql_value("SELECT display FROM tickets")
    check.eq(s.run_spocctl("ticket", "set", ticket, "assignee", "luis")[0], 0, "assigned to luis")
    s.sql("DELETE FROM outbox WHERE kind = 'assigned' AND state = 'pending'")  # not this test's
    ack = next(m for m in s.captured() if m.envelope["rcpt_tos"] == ["eve@evil.test"])
    s.append(hostile_message("Re: " + str(ack["Subject"]), REPLY_BODY, message_id="<hostile-2@evil.test>",
                             in_reply_to=str(ack["Message-ID"])))
    check.eq(s.run_spocd("--once")[0], 0, "spocd --once: the reply")
    relayed = [m for m in s.captured() if m.envelope["rcpt_tos"] == ["luis@desk.test"]]
    check.eq(len(relayed), 1, "the reply is relayed to the assignee")
    return ticket, first, quarantined


def stored_tests(check, s, first):
    subject, name = s.sql("SELECT subject, requester_name FROM tickets")[0]
    for c, what in ((RLO, "U+202E"), (ZWSP, "U+200B"), (OSC1, "U+009D")):
        check.ok(c in subject, f"the stored subject keeps {what}", repr(subject))
    check.ok(RLO in name and CSI1 in name, "the stored name keeps U+202E and U+009B", repr(name))
    texts = [t for (t,) in s.sql("SELECT body_text FROM messages WHERE direction = 'in' ORDER BY id")]
    check.ok(OSC52 in texts[0] and CLEAR in texts[0] and BEL in texts[0] and CSI1 in texts[0],
             "the stored text keeps the OSC 52, the CSI, BEL and U+009B", repr(texts[0]))
    check.ok(OSC52 in texts[1], "the stored reply keeps its OSC 52", repr(texts[1]))
    check.eq(bytes(s.sql_value("SELECT raw FROM messages ORDER BY id LIMIT 1")), first,
             "the stored raw message is the original, 8-bit header and all")


def ticket_tests(check, s, ticket):
    rc, out, err = ctl(s, "ticket", "list")
    check.eq(rc, 0, "ticket list")
    text = visible(check, out, "ticket list", lines=False)
    has_all(check, text, ["\\u202Egnp.exe", "\\u009D0;pwned", "\\u200BX"], "ticket list")
    lines = text.splitlines()
    check.ok(len(lines) == 2 and lines[0].index("SUBJECT") == lines[1].index("Factura"),
             "the columns stay straight", text)

    rc, out, err = ctl(s, "ticket", "show", ticket)
    check.eq(rc, 0, "ticket show")
    text = visible(check, out, "ticket show")
    has_all(check, text, ["\\e]52;c;ZWNobyBwd25lZA==\\x07", "linea \\e[2J BEL\\x07 C1\\u009B1m",
                          "OSC\\u009D2;t", "RLO \\u202Egnp.exe ZW\\u200BX", "\\e[31mrojo\\e[0m",
                          "\\u202Egnp.exe\\u200B\\u009B31m", "<eve@evil.test>", "Subject:",
                          "firma \\u202Egnp.exe\\u200B"], "ticket show")

    rc, out, err = ctl(s, "--json", "ticket", "show", ticket)
    visible(check, out, "ticket show --json", lines=False)
    d = json.loads(out)
    check.eq((d["subject"], d["requester_name"]), tuple(s.sql("SELECT subject, requester_name FROM tickets")[0]),
             "--json: subject and name parse to the stored text")
    check.eq(d["messages"][0]["text"],
             s.sql_value("SELECT CASE WHEN body_new <> '' OR body_quoted <> '' THEN body_new ELSE body_text END"
                         " FROM messages ORDER BY id LIMIT 1"),
             "--json: the mail's text parses to the stored text, ESC and all")
    rc, out, err = ctl(s, "--json", "ticket", "list")
    check.ok(b"\\u202E" in out and json.loads(out)[0]["subject"] == s.sql_value("SELECT subject FROM tickets"),
             "ticket list --json: U+202E as a JSON escape, the subject as stored", out)


def outbox_tests(check, s):
    ack_id = s.sql_value("SELECT id FROM outbox WHERE kind = 'ack'")
    relay_id, relay_kind = s.sql("SELECT id, kind FROM outbox WHERE recipient = 'luis@desk.test'"
                                 " AND state = 'sent' ORDER BY id DESC LIMIT 1")[0]
    st.log(f"acknowledgement {ack_id}, relay {relay_id} ({relay_kind})")
    # what an SMTP server's reply and a DSN could say
    s.sql("UPDATE outbox SET last_error = %s, bounced_at = now(), bounce_reason = %s WHERE id = %s",
          (f"550 {OSC52}{RLO}gnp.exe", f"mailbox {CSI1}2J full {ZWSP}", ack_id))

    rc, out, err = ctl(s, "outbox", "list")
    check.eq(rc, 0, "outbox list")
    text = visible(check, out, "outbox list", lines=False)
    has_all(check, text, ["550 \\e]52;c;"], "outbox list")

    rc, out, err = ctl(s, "outbox", "show", str(ack_id))
    check.eq(rc, 0, "outbox show of the acknowledgement")
    text = visible(check, out, "outbox show (acknowledgement)")
    has_all(check, text, ["550 \\e]52;c;ZWNobyBwd25lZA==\\x07\\u202Egnp.exe", "mailbox \\u009B2J full \\u200B"],
            "outbox show (acknowledgement)")

    rc, out, err = ctl(s, "outbox", "show", str(relay_id))
    check.eq(rc, 0, "outbox show of the relay")
    text = visible(check, out, "outbox show (relay)")
    has_all(check, text, ["\\e]52;c;ZWNobyBwd25lZA==\\x07", "firma \\u202Egnp.exe\\u200B"], "outbox show (relay)")

    rc, out, err = ctl(s, "--json", "outbox", "show", str(relay_id))
    visible(check, out, "outbox show --json", lines=False)
    check.eq(json.loads(out)["body"], s.sql_value("SELECT body FROM outbox WHERE id = %s", (relay_id,)),
             "outbox show --json: the relayed text as stored")

    # --raw to a pipe: the bytes as sent
    mid = s.sql_value("SELECT message_id FROM outbox WHERE id = %s", (relay_id,))
    sent = [m.raw for m in s.captured() if st.norm_id(m["Message-ID"]) == st.norm_id(mid)]
    rc, out, err = ctl(s, "outbox", "show", str(relay_id), "--raw")
    check.ok(rc == 0 and len(sent) == 1 and out == sent[0], "outbox show --raw to a pipe: the bytes as sent",
             f"{len(out)} bytes")
    return relay_id, sent[0] if sent else b""


def quarantine_tests(check, s, quarantined):
    qid = s.sql_value("SELECT id FROM quarantine")
    s.sql("UPDATE quarantine SET reason = reason || %s", (f" near {OSC52}{RLO}gnp.exe",))
    rc, out, err = ctl(s, "quarantine", "list")
    check.eq(rc, 0, "quarantine list")
    text = visible(check, out, "quarantine list", lines=False)
    has_all(check, text, ["header over max_header_bytes", "near \\e]52;c;"], "quarantine list")

    rc, out, err = ctl(s, "quarantine", "show", str(qid))
    check.eq(rc, 0, "quarantine show")
    text = visible(check, out, "quarantine show")
    has_all(check, text, ["gnp.exe\\u200B\\u009B31m", "<eve@evil.test>", "\\u009D0;pwned",
                          "\\u202Egnp.exe \\u200BX", "near \\e]52;c;ZWNobyBwd25lZA==\\x07\\u202Egnp.exe"],
            "quarantine show")

    rc, out, err = ctl(s, "--json", "quarantine", "show", str(qid))
    visible(check, out, "quarantine show --json", lines=False)
    check.eq(json.loads(out)["entry"]["reason"], s.sql_value("SELECT reason FROM quarantine"),
             "quarantine show --json: the reason as stored")

    rc, out, err = ctl(s, "quarantine", "show", str(qid), "--raw")
    check.ok(rc == 0 and out == quarantined and b"\x1b]52;c;" in out and EIGHT_BIT in out,
             "quarantine show --raw to a pipe: the bytes as received, ESC and 8-bit bytes included",
             f"{len(out)} bytes")
    check.eq(bytes(s.sql_value("SELECT raw FROM quarantine")), quarantined, "the stored raw message is the original")
    return qid


def raw_on_terminal_tests(check, s, qid, quarantined, relay_id, relay_raw):
    for args, what in ((("quarantine", "show", str(qid), "--raw"), "quarantine show --raw"),
                       (("outbox", "show", str(relay_id), "--raw"), "outbox show --raw")):
        rc, got, err = run_on_pty(s, *args)
        check.ok(rc == 2 and b"--force" in err and b"terminal" in err,
                 f"{what} on a terminal: refused with exit 2, naming --force", err.decode("utf-8", "replace"))
        check.eq(got, b"", f"{what} on a terminal: nothing written to it")
    rc, got, err = run_on_pty(s, "quarantine", "show", str(qid), "--raw", "--force")
    check.ok(rc == 0 and got == quarantined, "quarantine show --raw --force on a terminal: the bytes as received",
             f"rc {rc}, {len(got)} bytes, {err!r}")
    rc, got, err = run_on_pty(s, "outbox", "show", str(relay_id), "--force", "--raw")
    check.ok(rc == 0 and got == relay_raw, "outbox show --force --raw on a terminal: the bytes as sent",
             f"rc {rc}, {len(got)} bytes, {err!r}")
    rc, out, err = ctl(s, "outbox", "show", str(relay_id), "--force")
    check.ok(rc == 2 and b"--raw" in err, "--force without --raw exits 2", err)
    # shown text on a terminal needs no --force, and holds nothing raw
    rc, got, err = run_on_pty(s, "ticket", "show", s.sql_value("SELECT display FROM tickets"))
    check.eq(rc, 0, "ticket show on a terminal")
    visible(check, got, "ticket show on a terminal")


def other_tests(check, s, ticket):
    # an operator pastes a name or a title from a mail
    check.eq(ctl(s, "agent", "add", "marta@desk.test", "--name", f"Marta{CLEAR}{CSI1}{RLO}")[0], 0,
             "agent add with a hostile name")
    rc, out, err = ctl(s, "agent", "list")
    text = visible(check, out, "agent list", lines=False)
    has_all(check, text, ["Marta\\e[2J\\u009B\\u202E"], "agent list")
    lines = text.splitlines()
    check.ok(all(l[lines[0].index("ACTIVE"):].startswith("yes") for l in lines[1:]),
             "agent list: the columns stay straight, counted on the escaped name", text)
    check.eq(ctl(s, "kb", "add", "--title", f"Factura {RLO}gnp.exe{ZWSP}", "--language", "es")[0], 0,
             "kb add with a bidi override in the title")
    rc, out, err = ctl(s, "kb", "list")
    has_all(check, visible(check, out, "kb list", lines=False), ["Factura \\u202Egnp.exe\\u200B"], "kb list")

    # errors echo what they were given, visibly
    rc, out, err = ctl(s, "ticket", "show", b"INC-\xff\x1b[2J\xe2\x80\xae1")
    check.eq(rc, 2, "ticket show of something that is not a ticket exits 2")
    text = visible(check, err, "the error")
    has_all(check, text, ['"INC-\\xff\\e[2J\\u202E1" is not a ticket'], "the error")
    rc, out, err = ctl(s, "ticket", "set", ticket, "assignee", f"nadie{OSC52}")
    check.eq(rc, 1, "an unknown agent exits 1")
    has_all(check, visible(check, err, "the error"), ["nadie\\e]52;c;ZWNobyBwd25lZA==\\x07"], "the error")


def test(check):
    with st.Services(name="spocd-terminal-safety") as s:
        ticket, first, quarantined = make_mail(check, s)
        stored_tests(check, s, first)
        ticket_tests(check, s, ticket)
        relay_id, relay_raw = outbox_tests(check, s)
        qid = quarantine_tests(check, s, quarantined)
        raw_on_terminal_tests(check, s, qid, quarantined, relay_id, relay_raw)
        other_tests(check, s, ticket)
        stored_tests(check, s, first)


if __name__ == "__main__":
    st.main(test)
