#!/usr/bin/python3
"""SMTP capture listener for spocd's integration tests, the demo and the benchmark.

A real SMTP server (aiosmtpd, python3-aiosmtpd) on 127.0.0.1 that writes every message it accepts
into a directory as <n>.eml (the DATA bytes exactly as received, after dot-unstuffing) and <n>.json
(the envelope: MAIL FROM, RCPT TO, HELO name, peer, whether TLS was on, and when the DATA bytes
were in: "time" by the wall clock, "monotonic" by CLOCK_MONOTONIC, both taken before the reply).
What it answers is chosen by a mode, read from the mode file before every RCPT and DATA, so a test
can switch it while the listener runs:

  accept            250 to everything (the default)
  rcpt451 / rcpt550 a temporary / permanent refusal of every RCPT TO
  data451 / data550 a temporary / permanent refusal at the end of DATA
  drop              close the connection right after the DATA bytes were received, with no reply
  slow              accept, but only 0.3 s after the DATA bytes were received (a notifier can be
                    killed in the middle of a batch, two notifiers overlap)
  acceptdrop        write the message as accepted (its <n>.json says "reply_lost": true), then close
                    the connection with no reply: the server took the mail but the client cannot
                    know, so it may send it again (bench/chaos counts such copies)
  hang              say nothing after the DATA bytes for as long as the mode stays "hang", then
                    answer as the mode then in force says (a server that stalls and recovers)
  stall             receive the DATA bytes and then say nothing, keeping the connection open
                    until the client closes it (a server that hangs mid-response); the message is
                    not written, the stall is recorded in refused.jsonl (reply "(stalled)")

A mode may be followed by addresses ("rcpt451 user7@example.com other@example.com"): the refusal
then applies to those recipients only, and every other one is accepted (one poison recipient in
the middle of a batch).

OAuth 2.0: with --oauth2-introspect URL (and --oauth2-ca, the CA of that HTTPS endpoint) AUTH is
required and only the mechanisms of --oauth2-mechanisms are offered (XOAUTH2, OAUTHBEARER): the
access token in the client's response is posted to the URL (RFC 7662: token=...), and accepted when
the answer says active and names the user the client gave. A refusal sends the RFC 7628 error
challenge (base64 JSON) first, then 535. Every attempt is recorded in auth.jsonl (mechanism, user,
accepted, never the token); the mechanism and user of an accepted message are in its <n>.json.

TLS: --tls implicit (TLS from the first byte, like port 465) or --tls starttls (offered in EHLO),
with --cert/--key. Messages given a refusal or dropped are not written as <n>.eml; each such event
is recorded in refused.jsonl so a test can see the attempt. Run with /usr/bin/python3. Writes
"ready <port>" to --ready-file once it accepts connections; stops on SIGTERM or SIGINT.
"""

import argparse
import asyncio
import base64
import json
import os
import signal
import ssl
import sys
import time
import urllib.parse
import urllib.request

from aiosmtpd.smtp import SMTP, AuthResult

MODES = ("accept", "rcpt451", "rcpt550", "data451", "data550", "drop", "slow", "acceptdrop", "hang",
         "stall")

REPLIES = {
    "rcpt451": "451 4.3.0 Mailbox temporarily unavailable, try again later (capture test)",
    "rcpt550": "550 5.1.1 Recipient address rejected: user unknown (capture test)",
    "data451": "451 4.3.0 Local error in processing, try again later (capture test)",
    "data550": "550 5.7.1 Message refused by policy (capture test)",
}


def log(text):
    print(time.strftime("%H:%M:%S ") + text, flush=True)


class Capture:
    def __init__(self, outdir, mode_file, default_mode):
        self.outdir = outdir
        self.mode_file = mode_file
        self.default_mode = default_mode
        self.last_number = None

    def mode(self, address=None):
        """The mode now; "accept" for an address the mode file's list of targets leaves out."""
        try:
            with open(self.mode_file, encoding="ascii") as f:
                words = f.read().split()
        except FileNotFoundError:
            words = []
        m = words[0] if words else self.default_mode
        if m not in MODES:
            log(f"unknown mode {m!r}, accepting")
            return "accept"
        targets = {w.lower() for w in words[1:]}
        if targets and address is not None and address.lower() not in targets:
            return "accept"
        return m

    def _next_number(self):
        # Scanned once (a restarted listener goes on after what an earlier one wrote), then counted.
        if self.last_number is None:
            self.last_number = 0
            for name in os.listdir(self.outdir):
                stem, _, ext = name.partition(".")
                if ext == "eml" and stem.isdigit():
                    self.last_number = max(self.last_number, int(stem))
        self.last_number += 1
        return self.last_number

    def _envelope(self, server, session, envelope):
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        return {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "mail_options": list(envelope.mail_options or []),
            "rcpt_options": list(envelope.rcpt_options or []),
            "helo": session.host_name,
            "peer": list(session.peer) if session.peer else None,
            "tls": tls,
            "time": time.time(),
            # CLOCK_MONOTONIC is one clock for every process of the machine: a benchmark compares
            # it with its own time.monotonic() without minding wall-clock steps
            "monotonic": time.monotonic(),
            "auth": getattr(session, "auth_data", None) if isinstance(getattr(session, "auth_data", None), dict) else None,
        }

    def _refused(self, what, server, session, envelope, reply, address=None):
        rec = self._envelope(server, session, envelope)
        rec.update({"stage": what, "reply": reply, "address": address})
        with open(os.path.join(self.outdir, "refused.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")
        log(f"{what} {address or ''}: {reply}")

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        log(f"EHLO {hostname} from {session.peer}")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        m = self.mode(address)
        if m in ("rcpt451", "rcpt550"):
            self._refused("rcpt", server, session, envelope, REPLIES[m], address)
            return REPLIES[m]
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        m = self.mode(envelope.rcpt_tos[0] if envelope.rcpt_tos else None)
        if m == "hang":
            log("DATA received: hanging while the mode is hang")
            while m == "hang":
                await asyncio.sleep(0.1)
                m = self.mode(envelope.rcpt_tos[0] if envelope.rcpt_tos else None)
        if m in ("data451", "data550"):
            self._refused("data", server, session, envelope, REPLIES[m])
            return REPLIES[m]
        if m == "drop":
            self._refused("data", server, session, envelope, "(connection dropped, no reply)")
            server.transport.abort()
            return "421 4.4.2 connection dropped (capture test)"  # never reaches the client
        if m == "slow":
            await asyncio.sleep(0.3)
        if m == "stall":
            self._refused("data", server, session, envelope, "(stalled)")
            # no answer until the client gives up and closes; the wait ends with the connection
            try:
                while not server.transport.is_closing():
                    await asyncio.sleep(0.05)
            finally:  # aiosmtpd cancels this when the connection is lost
                self._refused("data", server, session, envelope, "(closed by the client while stalled)")
            return "421 4.4.2 stalled (capture test)"  # never reaches the client
        data = envelope.original_content if envelope.original_content is not None else envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        n = self._next_number()
        base = os.path.join(self.outdir, str(n))
        rec = self._envelope(server, session, envelope)
        rec["reply_lost"] = m == "acceptdrop"
        with open(base + ".json.tmp", "w", encoding="utf-8") as f:
            json.dump(rec, f, indent=1)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(data)
        # The .json first, the .eml last: a reader that sees n.eml sees a complete pair.
        os.rename(base + ".json.tmp", base + ".json")
        os.rename(base + ".eml.tmp", base + ".eml")
        log(f"accepted {n}.eml: from <{envelope.mail_from}> to {envelope.rcpt_tos}, {len(data)} bytes")
        if m == "acceptdrop":
            self._refused("data", server, session, envelope, f"(accepted as {n}.eml, connection dropped, no reply)")
            server.transport.abort()
            return "421 4.4.2 connection dropped (capture test)"  # never reaches the client
        return f"250 2.0.0 Ok: queued as capture-{n}"


class OAuth2Capture(Capture):
    """Capture that requires AUTH XOAUTH2 or OAUTHBEARER with a token the introspection URL
    accepts (aiosmtpd calls auth_<MECHANISM> for the mechanisms a handler defines)."""

    def __init__(self, outdir, mode_file, default_mode, introspect_url, ca_file):
        super().__init__(outdir, mode_file, default_mode)
        self.introspect_url = introspect_url
        self.ssl = ssl.create_default_context(cafile=ca_file)

    def _introspect(self, token):
        body = urllib.parse.urlencode({"token": token}).encode()
        try:
            with urllib.request.urlopen(self.introspect_url, body, timeout=10, context=self.ssl) as r:
                return json.loads(r.read())
        except Exception as e:  # the endpoint down counts as a refusal, and is said so
            log(f"introspection failed: {e}")
            return {"active": False}

    def _record(self, mech, user, ok):
        with open(os.path.join(self.outdir, "auth.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps({"mechanism": mech, "user": user, "accepted": ok, "time": time.time()}) + "\n")
        log(f"AUTH {mech} user={user}: {'accepted' if ok else 'refused'}")

    async def _oauth(self, server, mech, args):
        blob = args[1] if len(args) > 1 else None
        if blob is None:
            raw = await server.challenge_auth("")
            if not isinstance(raw, bytes):  # the client gave up
                return AuthResult(success=False, handled=True)
        else:
            try:
                raw = base64.b64decode(blob, validate=True)
            except Exception:
                return AuthResult(success=False, handled=False, message="501 5.5.2 Can't decode base64")
        text = raw.decode("utf-8", "replace")
        user = token = None
        if mech == "XOAUTH2":
            for part in text.split("\x01"):
                if part.startswith("user="):
                    user = part[5:]
                elif part.startswith("auth=Bearer "):
                    token = part[12:]
        else:  # OAUTHBEARER: n,a=user,^Ahost=...^Aport=...^Aauth=Bearer token^A^A
            gs2, _, rest = text.partition("\x01")
            for field in gs2.split(","):
                if field.startswith("a="):
                    user = field[2:].replace("=2C", ",").replace("=3D", "=")
            for part in rest.split("\x01"):
                if part.startswith("auth=Bearer "):
                    token = part[12:]
        answer = await asyncio.get_running_loop().run_in_executor(None, self._introspect, token or "")
        ok = bool(token) and answer.get("active") is True and answer.get("username") == user
        self._record(mech, user, ok)
        if ok:
            return AuthResult(success=True, auth_data={"mechanism": mech, "user": user})
        # RFC 7628 3.2.2: the error as a challenge; the client ends the exchange, then 535
        await server.challenge_auth(json.dumps({"status": "invalid_token", "scope": "mail",
                                                "schemes": "bearer"}))
        return AuthResult(success=False, handled=False,
                          message="535 5.7.8 Authentication credentials invalid (capture test)")

    async def auth_XOAUTH2(self, server, args):
        return await self._oauth(server, "XOAUTH2", args)

    async def auth_OAUTHBEARER(self, server, args):
        return await self._oauth(server, "OAUTHBEARER", args)


def tls_context(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


async def serve(args):
    os.makedirs(args.dir, exist_ok=True)
    mode_file = args.mode_file or os.path.join(args.dir, "mode")
    kwargs = {"hostname": "capture.test", "ident": "spocd-test-capture"}
    if args.oauth2_introspect:
        handler = OAuth2Capture(args.dir, mode_file, args.mode, args.oauth2_introspect, args.oauth2_ca)
        offered = set(args.oauth2_mechanisms.upper().split())
        kwargs.update(auth_required=True, auth_require_tls=False,
                      auth_exclude_mechanism=[m for m in ("LOGIN", "PLAIN", "XOAUTH2", "OAUTHBEARER")
                                              if m not in offered])
    else:
        handler = Capture(args.dir, mode_file, args.mode)
    implicit = None
    if args.tls == "implicit":
        implicit = tls_context(args.cert, args.key)
    elif args.tls == "starttls":
        kwargs["tls_context"] = tls_context(args.cert, args.key)
        kwargs["require_starttls"] = False
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, **kwargs), host=args.host, port=args.port,
                                      ssl=implicit, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    log(f"listening on {args.host}:{port} tls={args.tls} mode={handler.mode()} dir={args.dir}")
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w", encoding="ascii") as f:
            f.write(f"ready {port}\n")
        os.rename(args.ready_file + ".tmp", args.ready_file)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()
    log("stopped")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True, help="where <n>.eml and <n>.json are written")
    p.add_argument("--mode", default="accept", choices=MODES, help="mode when the mode file is absent or empty")
    p.add_argument("--mode-file", help="default: DIR/mode")
    p.add_argument("--tls", default="none", choices=("none", "implicit", "starttls"))
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ready-file")
    p.add_argument("--oauth2-introspect", help="require AUTH with a token this URL introspects")
    p.add_argument("--oauth2-ca", help="CA file of the introspection endpoint")
    p.add_argument("--oauth2-mechanisms", default="XOAUTH2 OAUTHBEARER")
    args = p.parse_args()
    if args.tls != "none" and not (args.cert and args.key):
        p.error("--tls needs --cert and --key")
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
