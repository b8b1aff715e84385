#!/usr/bin/python3
"""Attachments travel with the conversation. Through Dovecot, PostgreSQL, the SMTP listener and
the real daemon, with notify.max_attachment_bytes = 200000:
  - a requester mails a PNG screenshot: the new-ticket notice to the team mailbox carries it,
    bytes equal; the requester's acknowledgement carries nothing;
  - the requester's follow-up with another image, a file over the budget and a program: the
    notice to the assignee carries the image (bytes equal) and lists the other two, each with
    the `spocctl attachment get ID > file` that returns its exact bytes (also with -o FILE);
    to a terminal the bytes go only with --force;
  - an agent's reply with a PDF: the requester's mail carries the PDF, bytes equal; a file
    sent with a command and no words reaches the requester too; a reply that forwards a
    vendor's mail without #forward keeps that mail's files on the ticket (the agent is told);
  - a mail in the agent's name that the border did not prove, with a PDF: a stranger's, so its
    PDF reaches the desk's team only, never the requester;
  - a stranger's spam with an attachment is quarantined and its attachment reaches nobody;
    a stranger's reply on the ticket (unverified: a new ticket) never carries its file to the
    ticket's requester, nor back to the stranger;
  - an image an HTML mail showed inline goes inline with its Content-ID;
  - with notify.max_attachment_bytes = 0 nothing is attached and the files are listed."""

import email.utils
import json
import os
import pty
import re
import select
import subprocess
import tty

import spocdtest as st

AUTH_OK = ("Authentication-Results", "mx.desk.test; dkim=pass header.d=desk.test; spf=pass")
# the border's pass for the requester's domain: her replies are hers (an unverified one would
# open a new ticket, trust.unverified's default with a border)
MARTA_OK = ("Authentication-Results",
            "mx.desk.test; dkim=pass header.d=example.com; spf=pass smtp.mailfrom=example.com;"
            " dmarc=pass header.from=example.com")
AUTH_FOREIGN = ("Authentication-Results", "mx.evil.example; dkim=pass header.d=desk.test; spf=pass")
BUDGET = 200000


def blob(seed, n, head=b""):
    """n bytes of every value (a text conversion or a lost byte would show), seeded."""
    out = bytearray(head)
    x = seed
    while len(out) < n:
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out.append((x >> 16) & 0xFF)
    return bytes(out[:n])


PNG = b"\x89PNG\r\n\x1a\n"
SCREENSHOT = blob(1, 30000, PNG)
PHOTO = blob(2, 20000, PNG)
BIG = blob(3, 300000, b"PK\x03\x04")
PROGRAM = blob(4, 5000, b"MZ")
MANUAL = blob(5, 40000, b"%PDF-1.7\n")
SECRET = blob(6, 9000, b"%PDF-1.4\nSECRET-IMPOSTOR")
SPAM_FILE = blob(7, 9000, b"%PDF-1.4\nSPAM-FILE")
STRANGER_FILE = blob(8, 9000, b"%PDF-1.4\nSTRANGER-FILE")
FORM = blob(10, 12000, b"%PDF-1.4\nFORM")
VENDOR_FILE = blob(11, 12000, b"%PDF-1.4\nVENDOR")
FORWARD = ("---------- Forwarded message ---------\r\n"
           "From: Soporte Proveedor <soporte@vendor.example>\r\n"
           "Date: Mon, 7 Dec 2026 at 09:12\r\n"
           "Subject: Caso 4471\r\n"
           "To: <ana@desk.test>\r\n\r\n"
           "Tarifas internas adjuntas. No las comparta.\r\n")


LOGO = blob(9, 3000, PNG)


def inline_image_mail(sender, subject, image, cid):
    """An HTML mail whose image is shown inline (multipart/related, Content-ID), as mail clients
    write it; with a plain-text alternative."""
    from email.message import EmailMessage
    import email.policy
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = sender
    msg["To"] = "help@desk.test"
    msg["Subject"] = subject
    msg["Date"] = email.utils.formatdate(localtime=True)
    msg["Message-ID"] = email.utils.make_msgid(domain="example.com")
    msg.set_content("El logo se ve roto.\r\n")
    msg.add_alternative(f'<p>El logo se ve roto:</p><img src="cid:{cid}">', subtype="html")
    msg.get_payload()[1].add_related(image, "image", "png", cid=f"<{cid}>", filename="logo.png",
                                     disposition="inline")
    return msg.as_bytes(policy=email.policy.SMTP)


def to(s, addr, since=0):
    return [m for m in s.captured()[since:] if email.utils.parseaddr(str(m["To"]))[1] == addr]


def files(msg):
    """[(filename, decoded bytes)] of every part of msg that names a file."""
    return [(p.get_filename(), p.get_payload(decode=True)) for p in msg.walk()
            if not p.is_multipart() and p.get_filename() is not None]


def body(msg):
    return msg.get_body(preferencelist=("plain",)).get_content()


def carries(s, data):
    """The captured mails (To, Subject) that carry data as a file, or hold its bytes at all."""
    out = []
    for m in s.captured():
        if any(b == data for _, b in files(m)) or data[:40] in m.raw:
            out.append((str(m["To"]), str(m["Subject"])))
    return out


def listed_id(text, name):
    """The attachment ID the line of name in a notice's text gives to spocctl."""
    m = re.search(re.escape(name) + r" \([^)]*\): spocctl attachment get (\d+) > file", text)
    return int(m.group(1)) if m else None


def run_on_pty(s, *args):
    """spocctl with standard output on a pseudo-terminal: (exit code, bytes the terminal got,
    stderr text)."""
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
        except OSError:
            break
        if not chunk:
            break
        got += chunk
    err = p.stderr.read().decode("utf-8", "replace")
    p.wait(timeout=30)
    os.close(master)
    return p.returncode, bytes(got), err


def test(check):
    with st.Services(name="spocd-attachments") as s:
        s.conf = s.write_config(agents={"trusted_authserv_id": "mx.desk.test", "proof": "token-or-domain"},
                                notify={"new_ticket": "equipo@desk.test", "max_attachment_bytes": BUDGET})
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
        check.eq(s.run_spocctl("agent", "add", "ana@desk.test", "--name", "Ana Pérez")[0], 0, "agent ana")

        # -- the requester's screenshot reaches the desk; the acknowledgement carries nothing --
        first = st.make_message("marta@example.com", "La pantalla se ve rota",
                                "Adjunto una captura de la pantalla.\r\n", extra_headers=[MARTA_OK],
                                attachments=[("captura pantalla.png", "image/png", SCREENSHOT),
                                             ('../../ñandú "informe".png', "image/png", LOGO)])
        s.append(first)
        check.eq(s.run_spocd("--once")[0], 0, "the requester writes with a screenshot")
        display = s.sql_value("SELECT display FROM tickets WHERE id = 1")
        note = to(s, "equipo@desk.test")
        check.eq(len(note), 1, "the new ticket is announced to notify.new_ticket")
        check.eq(files(note[0]) if note else None,
                 [("captura pantalla.png", SCREENSHOT), ("ñandú _informe_.png", LOGO)],
                 "the new-ticket notice carries the screenshot, bytes equal, and the file with a hostile"
                 " name under its name as stored (no path, no quote)")
        check.eq(note[0].get_content_type() if note else None, "multipart/mixed", "as multipart/mixed")
        check.ok(note and "Adjunto una captura" in body(note[0]), "with the text first",
                 note and body(note[0]))
        ack = to(s, "marta@example.com")
        check.eq(len(ack), 1, "the requester is acknowledged")
        check.eq(files(ack[0]) if ack else None, [], "the acknowledgement carries no file")
        check.eq(ack[0].get_content_type() if ack else None, "text/plain", "it is text alone")

        # -- the follow-up: an image goes, a file over the budget and a program are listed --
        check.eq(s.run_spocctl("ticket", "set", display, "assignee", "ana@desk.test")[0], 0, "assigned to Ana")
        check.eq(s.run_spocd("--role", "notify", "--once")[0], 0, "the notifier runs")
        assigned = to(s, "ana@desk.test")
        check.ok(len(assigned) == 1 and files(assigned[0]) == [], "the assignment notice carries no file",
                 [files(m) for m in assigned])
        before = len(s.captured())
        s.append(st.make_message("marta@example.com", str(ack[0]["Subject"]), "Más fotos y el volcado.\r\n",
                                 in_reply_to=ack[0]["Message-ID"], extra_headers=[MARTA_OK],
                                 attachments=[("foto.png", "image/png", PHOTO),
                                              ("volcado.zip", "application/zip", BIG),
                                              ("herramienta.exe", "application/octet-stream", PROGRAM)]))
        check.eq(s.run_spocd("--once")[0], 0, "the requester follows up with three files")
        fu = to(s, "ana@desk.test", before)
        check.eq(len(fu), 1, "the assignee hears of the follow-up")
        got = files(fu[0]) if fu else []
        check.eq(got, [("foto.png", PHOTO)], "the follow-up carries the image only, bytes equal")
        text = body(fu[0]) if fu else ""
        big_id = listed_id(text, "volcado.zip")
        exe_id = listed_id(text, "herramienta.exe")
        check.ok(big_id is not None and "notify.max_attachment_bytes" in text,
                 "the file over the budget is listed with the command that fetches it", text)
        check.ok(exe_id is not None and "programas" in text, "the program is listed apart", text)
        check.eq(s.sql("SELECT name, size FROM attachments WHERE id = %s", (big_id,)),
                 [("volcado.zip", len(BIG))], "the listed ID is that file's")
        check.ok(len(fu[0].raw) < BUDGET + 20000, "the mail stays within the budget and its text",
                 len(fu[0].raw))

        rc, out, err = s.run_spocctl("attachment", "get", str(big_id))
        check.ok(rc == 0 and out == BIG, "spocctl attachment get returns the exact bytes", (rc, len(out), err))
        rc, out, err = s.run_spocctl("attachment", "get", str(exe_id))
        check.ok(rc == 0 and out == PROGRAM, "and the program's", (rc, len(out), err))
        path = os.path.join(s.dir, "volcado.zip")
        rc, out, err = s.run_spocctl("attachment", "get", str(big_id), "-o", path)
        with open(path, "rb") as f:
            check.ok(rc == 0 and f.read() == BIG, "-o FILE writes them to the file", (rc, err))
        rc, tty_got, err = run_on_pty(s, "attachment", "get", str(big_id))
        check.ok(rc == 2 and b"PK" not in tty_got and "terminal" in err and "--force" in err,
                 "to a terminal, nothing without --force", (rc, tty_got[:80], err))
        rc, tty_got, err = run_on_pty(s, "attachment", "get", str(exe_id), "--force")
        check.ok(rc == 0 and tty_got.startswith(b"MZ"), "with --force it is written", (rc, tty_got[:20], err))
        rc, out, err = s.run_spocctl("attachment", "get", "999999")
        check.ok(rc == 1 and "attachment 999999: no such attachment" in err, "an unknown ID is named", err)
        rc, out, err = s.run_spocctl("attachment", "get")
        check.ok(rc == 2 and "attachment get: give the attachment's ID" in err, "get without an ID: usage", err)
        rc, out, err = s.run_spocctl("attachment", "get", "x1")
        check.ok(rc == 2 and 'unexpected "x1"' in err, "a bad ID is named", err)
        rc, out, err = s.run_spocctl("attachment", "list", "INC-999999")
        check.ok(rc == 1 and "INC-999999" in err and out == b"", "an unknown ticket is named", err)
        rc, out, err = s.run_spocctl("attachment", "list", display)
        check.ok(rc == 0 and b"volcado.zip" in out and b"300000" in out and b"herramienta.exe" in out,
                 "attachment list shows them to people too", out)
        rc, out, err = s.run_spocctl("--json", "attachment", "list", display)
        listed = json.loads(out) if rc == 0 else []
        check.eq([(a["name"], a["size"]) for a in listed],
                 [("captura pantalla.png", len(SCREENSHOT)), ("ñandú _informe_.png", len(LOGO)),
                  ("foto.png", len(PHOTO)),
                  ("volcado.zip", len(BIG)), ("herramienta.exe", len(PROGRAM))],
                 "attachment list names every file of the ticket with its size")

        # -- a proven agent's PDF reaches the requester --
        before = len(s.captured())
        s.append(st.make_message("ana@desk.test", f"Re: [{display}] La pantalla se ve rota",
                                 "Hola Marta, sigue los pasos del manual adjunto.\r\n", from_name="Ana Pérez",
                                 in_reply_to=fu[0]["Message-ID"], extra_headers=[AUTH_OK],
                                 attachments=[("manual.pdf", "application/pdf", MANUAL)]))
        check.eq(s.run_spocd("--once")[0], 0, "the agent replies with a PDF")
        relayed = to(s, "marta@example.com", before)
        check.eq(len(relayed), 1, "the requester gets the agent's reply")
        check.eq(files(relayed[0]) if relayed else None, [("manual.pdf", MANUAL)],
                 "with the PDF, bytes equal")
        check.ok(relayed and "sigue los pasos" in body(relayed[0]), "and the agent's text", relayed and body(relayed[0]))

        # -- a file alone with a command still reaches the requester --
        before = len(s.captured())
        s.append(st.make_message("ana@desk.test", f"Re: [{display}] La pantalla se ve rota",
                                 "#status pending\r\n", from_name="Ana Pérez",
                                 in_reply_to=fu[0]["Message-ID"], extra_headers=[AUTH_OK],
                                 attachments=[("formulario.pdf", "application/pdf", FORM)]))
        check.eq(s.run_spocd("--once")[0], 0, "the agent sends a command and a file, no words")
        relayed = to(s, "marta@example.com", before)
        check.ok(len(relayed) == 1 and files(relayed[0]) == [("formulario.pdf", FORM)],
                 "the requester gets one mail, with the file", [files(m) for m in relayed])

        # -- a forwarded message withheld keeps the mail's files on the ticket --
        before = len(s.captured())
        s.append(st.make_message("ana@desk.test", f"Re: [{display}] La pantalla se ve rota",
                                 "Lo he consultado con el fabricante.\r\n\r\n" + FORWARD, from_name="Ana Pérez",
                                 in_reply_to=fu[0]["Message-ID"], extra_headers=[AUTH_OK],
                                 attachments=[("tarifas-proveedor.pdf", "application/pdf", VENDOR_FILE)]))
        check.eq(s.run_spocd("--once")[0], 0, "the agent forwards a vendor's mail with a file, without #forward")
        relayed = to(s, "marta@example.com", before)
        check.ok(len(relayed) == 1 and "consultado con el fabricante" in body(relayed[0]),
                 "the requester gets the agent's words", [body(m) for m in relayed])
        check.eq(carries(s, VENDOR_FILE), [], "and no mail carries the forward's file")
        check.ok(relayed and "tarifas-proveedor" not in relayed[0].raw.decode("ascii", "replace"),
                 "nor names it", relayed and body(relayed[0]))
        told = [body(m) for m in to(s, "ana@desk.test", before)]
        check.ok(any("ni ningún archivo de su correo" in t for t in told),
                 "the agent is told the files stayed on the ticket too", told)

        # -- a mail in the agent's name the border did not prove: its PDF reaches nobody --
        before = len(s.captured())
        s.append(st.make_message("ana@desk.test", f"Re: [{display}] La pantalla se ve rota",
                                 "#status closed\r\n\r\nAquí tiene el documento.\r\n", from_name="Ana Pérez",
                                 in_reply_to=fu[0]["Message-ID"], extra_headers=[AUTH_FOREIGN],
                                 attachments=[("documento.pdf", "application/pdf", SECRET)]))
        check.eq(s.run_spocd("--once")[0], 0, "an unproven mail in the agent's name")
        check.eq(to(s, "marta@example.com", before), [], "the requester gets nothing of it")
        reached = [email.utils.parseaddr(a)[1] for a, _ in carries(s, SECRET)]
        check.ok(all(a == "equipo@desk.test" for a in reached),
                 "its PDF reaches the desk's team only (a stranger's new ticket), never a requester", reached)

        # -- a stranger's spam is quarantined; a stranger's reply reaches only agents --
        quarantined = s.sql_value("SELECT count(*) FROM quarantine")
        spam = (b"X-Spam-Flag: YES\r\nX-Spam-Status: Yes, score=15.2 required=5.0 tests=BAYES_99\r\n"
                + st.make_message("ceo@victim.example", f"Re: [{display}] Factura urgente", "Abra la factura.\r\n",
                                  attachments=[("factura.pdf", "application/pdf", SPAM_FILE)]))
        s.append(spam)
        before = len(s.captured())
        s.append(st.make_message("intruso@example.net", f"Re: [{display}] La pantalla se ve rota",
                                 "Esto es mío también.\r\n", in_reply_to=ack[0]["Message-ID"],
                                 attachments=[("ajeno.pdf", "application/pdf", STRANGER_FILE)]))
        check.eq(s.run_spocd("--once")[0], 0, "a spam and a stranger's reply arrive")
        check.eq(s.sql_value("SELECT count(*) FROM quarantine") - quarantined, 1, "the spam is quarantined")
        check.eq(carries(s, SPAM_FILE), [], "the quarantined spam's file is in no mail sent")
        check.eq(s.sql_value("SELECT count(*) FROM attachments WHERE name = 'factura.pdf'"), 0,
                 "nor stored as an attachment of any message")
        reached = [to_ for to_, _ in carries(s, STRANGER_FILE)]
        check.ok(reached and all(email.utils.parseaddr(a)[1] == "equipo@desk.test" for a in reached),
                 "the stranger's file reaches the desk's team (their new ticket's notice) only", reached)
        check.eq(to(s, "marta@example.com", before), [], "the ticket's requester gets nothing of the stranger's mail")
        check.ok(all(files(m) == [] for m in to(s, "intruso@example.net", before)),
                 "and nothing goes back to the stranger with a file", [files(m) for m in to(s, "intruso@example.net")])

        # -- an image the requester's HTML mail showed inline keeps its Content-ID, inline --
        before = len(s.captured())
        s.append(inline_image_mail("pilar@example.com", "Logo roto", LOGO, "logo.1@example.com"))
        check.eq(s.run_spocd("--once")[0], 0, "an HTML mail with an inline image")
        note = to(s, "equipo@desk.test", before)
        parts = [p for m in note for p in m.walk() if p.get_filename() == "logo.png"]
        check.ok(len(parts) == 1 and parts[0].get_payload(decode=True) == LOGO,
                 "the new-ticket notice carries the inline image, bytes equal", [files(m) for m in note])
        check.ok(parts and parts[0].get_content_disposition() == "inline"
                 and parts[0]["Content-ID"] == "<logo.1@example.com>",
                 "inline, with its Content-ID", parts and (parts[0].get_content_disposition(), parts[0]["Content-ID"]))

        # -- notify.max_attachment_bytes = 0: nothing is attached, everything listed --
        s.conf = s.write_config("spocd-none.conf",
                                agents={"trusted_authserv_id": "mx.desk.test", "proof": "token-or-domain"},
                                notify={"new_ticket": "equipo@desk.test", "max_attachment_bytes": 0})
        before = len(s.captured())
        s.append(st.make_message("luis@example.com", "Otra pantalla", "Otra captura.\r\n",
                                 attachments=[("otra.png", "image/png", PHOTO)]))
        check.eq(s.run_spocd("--once")[0], 0, "a new ticket on a desk that never attaches")
        note = to(s, "equipo@desk.test", before)
        check.ok(len(note) == 1 and files(note[0]) == [] and listed_id(body(note[0]), "otra.png") is not None,
                 "no file in the notice, the image listed with its command", note and body(note[0]))


if __name__ == "__main__":
    st.main(test)
