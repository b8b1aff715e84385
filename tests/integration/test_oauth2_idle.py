#!/usr/bin/python3
"""OAuth 2.0 tokens that expire while the daemon waits in IMAP IDLE (auth = "oauth2" for IMAP and
SMTP, tokens living a few seconds, poll_interval ten minutes so that only IDLE can explain a
prompt ticket), against Dovecot's oauth2 passdb and the SMTP listener introspecting at the
local token endpoint of oauth_endpoint.py:
  - Dovecot checks a token when it logs a session in, not afterwards: the session outlives its
    token, and mail appended after the token expired is announced in IDLE and becomes a ticket
    within seconds over that same session (no new login);
  - its acknowledgement goes out through SMTP XOAUTH2 with a token fetched after the mail came,
    never the expired one;
  - IDLE begun again on that session after the expiry still brings the next mail at once;
  - a server that does check tokens during a session ends it when the token expires (Exchange
    Online says "* BYE Session invalidated - AccessTokenExpired"). `doveadm kick` after the
    expiry plays one that does so while spocd waits in IDLE: spocd logs in again with a renewed
    token, never presenting the expired one, and takes the mail that came meanwhile;
  - a proxy in front of Dovecot plays one that checks when asked to wait: the IDLE that spocd
    begins again after a pass, on the session whose token expired, is answered with that BYE.
    spocd connects again at once with a renewed token and goes back to IDLE, so the next mail is
    still a ticket within seconds (before, it waited for the next poll, ten minutes here)."""

import base64
import re
import socket
import subprocess
import threading
import time

import spocdtest as st
from oauth_endpoint import no_secret_in, oauth_config, oauth_services, spocd_texts, wait_inbox_empty

LIFETIME = 4       # seconds an access token lives
PROMPT = 10        # a mail announced in IDLE is a ticket within this many seconds (poll: 600)
LOGIN = f"user=<{st.IMAP_USER}>, method=XOAUTH2"


class ExpiringProxy:
    """Between spocd and Dovecot, plays an IMAP server that checks a session's token again:
    Exchange Online answers any command after the expiry with "* BYE Session invalidated -
    AccessTokenExpired" and hangs up; this one does so to IDLE only, so that IDLE is the command
    that meets the expiry. The token is read from the session's AUTHENTICATE; everything else
    passes through; byes counts the sessions so ended."""

    def __init__(self, ep, port):
        self.ep, self.target, self.byes = ep, port, 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self):
        self.sock.close()

    def _serve(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(client,), daemon=True).start()

    def _expired(self, token):
        with self.ep.lock:
            t = self.ep.tokens.get(token)
            return t is None or time.time() >= t["exp"]

    def _session(self, client):
        server = socket.create_connection(("127.0.0.1", self.target))
        threading.Thread(target=pump, args=(server, client), daemon=True).start()
        token, sasl_next = None, False
        with client, server, client.makefile("rb") as lines:
            for line in lines:
                words = line.split()
                if sasl_next or (len(words) >= 3 and words[1].upper() == b"AUTHENTICATE"):
                    # the token rides on the command (SASL-IR) or on the line after it
                    found = re.search(rb"auth=Bearer ([^\x01]+)",
                                      base64.b64decode(words[-1] + b"==")) if len(words) != 3 else None
                    token = found.group(1).decode() if found else token
                    sasl_next = len(words) == 3
                elif len(words) == 2 and words[1].upper() == b"IDLE" and self._expired(token):
                    self.byes += 1
                    client.sendall(b"* BYE Session invalidated - AccessTokenExpired\r\n")
                    return
                server.sendall(line)


def pump(src, dst):
    """Copies src to dst until src ends, then ends dst's side."""
    try:
        while data := src.recv(65536):
            dst.sendall(data)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def status(d):
    """The daemon's last STATUS= to its NOTIFY_SOCKET, or ""."""
    said = [m for m in d.messages if m.startswith("STATUS=")]
    return said[-1] if said else ""


def all_expired(ep):
    """Waits until every access token ep issued so far has expired (and half a second more)."""
    with ep.lock:
        last = max(t["exp"] for t in ep.tokens.values())
    time.sleep(max(0.0, last + 0.5 - time.time()))


def tickets(s):
    return s.sql_value("SELECT count(*) FROM tickets")


def take_promptly(check, s, d, sender, subject, what):
    """Appends a mail and requires it to be a ticket within PROMPT seconds, then its
    acknowledgement sent and INBOX empty. Returns the acknowledgement."""
    n0 = tickets(s)
    t0 = time.monotonic()
    s.append(st.make_message(sender, subject, "No funciona.\r\n"))
    check.wait_for(lambda: tickets(s) == n0 + 1, 60, f"{what}: the mail became a ticket", detail=d.tail)
    took = time.monotonic() - t0
    print(f"  {what}: ticket {took:.2f}s after the mail was appended", flush=True)
    check.ok(took < PROMPT, f"{what}: within {PROMPT} s ({took:.2f} s), not at the next poll")
    check.wait_for(lambda: [m for m in s.captured() if sender in str(m["To"])], 30,
                   f"{what}: its acknowledgement went out", detail=d.tail)
    wait_inbox_empty(s, d)
    return [m for m in s.captured() if sender in str(m["To"])][-1]


def test(check):
    with oauth_services("spocd-oauth2-idle") as (s, ep, _certs, _oauth):
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
        ep.lifetime = LIFETIME
        conf = oauth_config(s, ep, client_secret_file="client.secret", imap={"poll_interval": 600})
        d = s.start_spocd(config=conf, notify=True)
        try:
            check.wait_for(lambda: "ok (IDLE)" in status(d), 30, "the daemon waits in IDLE", detail=d.tail)
            session_outlives_token(check, s, ep, d)
            kicked_after_expiry(check, s, ep, d)
        finally:
            d.stop()
        check.ok("AUTHENTICATE" not in d.text(), "no login was ever refused", d.tail())
        idle_refused_after_expiry(check, s, ep)
        no_secret_in(check, ep, spocd_texts(s), "everything spocd wrote")


def session_outlives_token(check, s, ep, d):
    logins = s.dovecot_log_since(0).count(LOGIN)
    check.eq(logins, 1, "one XOAUTH2 login so far")
    all_expired(ep)
    intro0, grants0, t0 = len(ep.introspections), len(ep.grants("client_credentials", ok=True)), time.time()
    ack = take_promptly(check, s, d, "irene@example.com", "Sin red en la sala 3", "after the expiry")
    check.eq(s.dovecot_log_since(0).count(LOGIN), logins,
             "it came over the session logged in with the expired token (no new login)")
    check.eq(ack.envelope.get("auth"), {"mechanism": "XOAUTH2", "user": st.IMAP_USER},
             "the acknowledgement went out through SMTP XOAUTH2")
    fresh = [g for g in ep.grants("client_credentials", ok=True)[grants0:] if g["time"] >= t0]
    check.ok(len(fresh) >= 1, "with a token fetched after the mail came", ep.grants()[-3:])
    seen = ep.introspections[intro0:]
    check.ok(seen and all(r["active"] for r in seen),
             "the SMTP listener was shown only live tokens, never the expired one", seen)

    # IDLE begun again on that session, after the expiry
    all_expired(ep)
    take_promptly(check, s, d, "tomas@example.com", "Monitor parpadea", "IDLE begun again after the expiry")
    check.eq(s.dovecot_log_since(0).count(LOGIN), logins, "still the same session")
    check.ok("connecting again" not in d.text(), "which was never dropped", d.tail())


def kicked_after_expiry(check, s, ep, d):
    all_expired(ep)
    offset = s.dovecot_log_size()
    intro0, grants0, t0 = len(ep.introspections), len(ep.grants("client_credentials", ok=True)), time.time()
    r = subprocess.run(["doveadm", "-c", s.dovecot_conf, "kick", st.IMAP_USER], capture_output=True, text=True)
    check.eq(r.returncode, 0, f"doveadm kick {st.IMAP_USER}: the server ends the sessions ({r.stderr.strip()})")
    check.wait_for(lambda: LOGIN in s.dovecot_log_since(offset), 30,
                   "the daemon logs in again", detail=lambda: s.dovecot_log_since(offset)[-2000:])
    take_promptly(check, s, d, "olga@example.com", "Correo no llega", "after the kick")
    renewed = [g for g in ep.grants("client_credentials", ok=True)[grants0:] if g["time"] >= t0]
    check.ok(len(renewed) >= 1, "with a token renewed after the expiry", ep.grants()[-3:])
    seen = ep.introspections[intro0:]
    check.ok(seen and not any(r["expired"] for r in seen) and all(r["active"] for r in seen),
             "the expired token was never presented, to Dovecot nor to SMTP", seen)
    check.eq(s.dovecot_log_since(offset).count(LOGIN), 1, "one login: none refused, none repeated")
    check.ok(re.search(r"IDLE DONE: the server ended the session: .+; connecting again", d.text()),
             "the daemon said why it connected again", d.tail())
    check.wait_for(lambda: "ok (IDLE)" in status(d), 30, "and waits in IDLE again", detail=d.tail)



def idle_refused_after_expiry(check, s, ep):
    # long enough for the renewed token to outlive the two mails' passes on a slow machine
    ep.lifetime = 3 * LIFETIME
    proxy = ExpiringProxy(ep, s.imap_port)
    conf = oauth_config(s, ep, name="proxied.conf", client_secret_file="client.secret",
                        imap={"poll_interval": 600, "port": proxy.port})
    d = s.start_spocd(config=conf, name="spocd-proxied", notify=True)
    try:
        check.wait_for(lambda: "ok (IDLE)" in status(d), 30, "behind the proxy: the daemon waits in IDLE",
                       detail=d.tail)
        # counted from before the expiry: the daemon may begin IDLE again (and meet the BYE)
        # in the very moment the token expires, before the mail below
        offset = s.dovecot_log_size()
        intro0 = len(ep.introspections)
        all_expired(ep)
        # announced in IDLE, taken over the old session; then IDLE again on it is refused
        take_promptly(check, s, d, "nuria@example.com", "VPN caida", "proxied, after the expiry")
        check.wait_for(lambda: proxy.byes >= 1, 30, "the IDLE begun again on the expired session was "
                       "answered with BYE AccessTokenExpired", detail=d.tail)
        check.wait_for(lambda: LOGIN in s.dovecot_log_since(offset), 30,
                       "the daemon logged in again at once", detail=d.tail)
        take_promptly(check, s, d, "pablo@example.com", "Sin impresora", "after IDLE was refused")
        check.eq(proxy.byes, 1, "the new session, on a renewed token, was let wait")
        seen = ep.introspections[intro0:]
        check.ok(seen and all(r["active"] for r in seen), "no expired token was presented", seen)
        check.ok("IDLE: the server ended the session: Session invalidated - AccessTokenExpired; "
                 "connecting again" in d.text(), "the daemon said why it connected again, in the "
                 "server's words", d.tail())
        check.ok(f"oauth2 {ep.url}/token: new access token, expires in" in d.text(),
                 "and logged the new token it fetched", d.tail())
    finally:
        d.stop()
        proxy.close()


if __name__ == "__main__":
    st.main(test)
