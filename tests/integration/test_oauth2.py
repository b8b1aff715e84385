#!/usr/bin/python3
"""OAuth 2.0 logins (auth = "oauth2") against real servers: Dovecot with its oauth2 passdb and the
SMTP capture listener, both introspecting tokens at a local HTTPS token endpoint this test runs
(its own CA, made with openssl; tokens live a few seconds). Through the real binary:
  - client credentials end to end: a mail becomes a ticket over IMAP XOAUTH2, its
    acknowledgement leaves through SMTP XOAUTH2; one token serves both; neither secret nor token
    appears in anything spocd writes;
  - OAUTHBEARER where the server offers only that (IMAP and SMTP), a clear refusal where it
    offers neither; SMTP refusing the token: the reason decoded, the acknowledgement kept;
  - refresh token with rotation: the file is rewritten (mode kept) and the next run uses the new
    one; from a systemd credential (read-only) the rotation is said not to be saved;
  - a service account's signed JWT (RFC 7523, Google's domain-wide delegation), verified by the
    endpoint; another key or a broken one refused with the reason;
  - spocctl oauth login: the device authorization grant (RFC 8628) fills an empty refresh token
    file (slow_down obeyed, a refusal reported), and spocd then logs in with it;
  - tokens expiring between passes of the daemon are renewed before use, no mail lost;
  - a token the server refuses (revoked) is renewed and the login retried once;
  - a token that is always refused: a clear error with the server's decoded reason, and back-off
    instead of a hot loop;
  - token endpoint down, answering garbage or refusing the client: clear errors, exit 75;
  - a token endpoint with the wrong certificate is refused before the secret is sent;
  - --check-config explains what it refuses."""

import base64
import http.server
import json
import os
import secrets
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import spocdtest as st

CLIENT_ID = "spocd-app"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SA_EMAIL = "spocd@desk-project.iam.gserviceaccount.com"
CLIENT_SECRET = "cs-" + secrets.token_hex(12)


class TokenEndpoint:
    """A small OAuth 2.0 authorization server over HTTPS in a thread of this test: POST /token
    (client_credentials, refresh_token with rotation: each refresh token works once) and POST
    /introspect (RFC 7662). mode: "ok", "garbage" (200 with HTML), "error" (400 invalid_client),
    "reject" (tokens issued, never active)."""

    def __init__(self, cert, key, lifetime=300):
        self.lifetime = lifetime
        self.mode = "ok"
        self.lock = threading.Lock()
        self.tokens = {}        # access token -> {"exp": t, "revoked": bool, "active_ok": bool}
        self.refresh = {}       # refresh token -> usable
        self.requests = []      # {"time", "grant", "ok", "refresh_token"}
        self.introspections = []  # {"time", "active", "known", "expired"}
        self.n = 0
        self.devices = {}       # device code -> {"polls": n}
        self.sa_public_key = None  # PEM file of the service account's key, for jwt-bearer
        self.jwt_claims = []    # the claims of every assertion that verified
        self.device_mode = "approve"  # or "deny": how the person answers, at the third poll
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, fmt, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                if self.path == "/token":
                    code, body, ctype = endpoint.token(form)
                elif self.path == "/introspect":
                    code, body, ctype = endpoint.introspect(form)
                elif self.path == "/device":
                    code, body, ctype = endpoint.device(form)
                else:
                    code, body, ctype = 404, b"{}", "application/json"
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def issued(self):
        """Every token and refresh token handed out so far (to look for them in logs)."""
        with self.lock:
            return list(self.tokens) + list(self.refresh)

    def grants(self, grant=None, ok=None):
        with self.lock:
            return [r for r in self.requests
                    if (grant is None or r["grant"] == grant) and (ok is None or r["ok"] == ok)]

    def add_refresh(self):
        with self.lock:
            self.n += 1
            rt = f"rt-{self.n}-{secrets.token_hex(8)}"
            self.refresh[rt] = True
            return rt

    def revoke_all(self):
        with self.lock:
            for t in self.tokens.values():
                t["revoked"] = True

    def token(self, form):
        grant = form.get("grant_type")
        rec = {"time": time.time(), "grant": grant, "ok": False,
               "refresh_token": form.get("refresh_token"), "scope": form.get("scope")}
        with self.lock:
            self.requests.append(rec)
            if self.mode == "garbage":
                return 200, b"<html><body>Service unavailable</body></html>", "text/html"
            # a service account's assertion names its issuer itself (RFC 7523: no client_id)
            if self.mode == "error" or (form.get("client_id") != CLIENT_ID and grant != JWT_GRANT):
                return 400, json.dumps({"error": "invalid_client", "error_description":
                                        "AADSTS7000215: Invalid client secret provided."}).encode(), \
                    "application/json"
            answer = {}
            if grant == "client_credentials":
                if form.get("client_secret") != CLIENT_SECRET:
                    return 401, b'{"error": "invalid_client"}', "application/json"
            elif grant == "refresh_token":
                rt = form.get("refresh_token")
                if not self.refresh.get(rt):
                    return 400, json.dumps({"error": "invalid_grant", "error_description":
                                            "refresh token unknown or used"}).encode(), "application/json"
                self.refresh[rt] = False  # strict rotation: each works once
                self.n += 1
                new = f"rt-{self.n}-{secrets.token_hex(8)}"
                self.refresh[new] = True
                answer["refresh_token"] = new
            elif grant == JWT_GRANT:
                why = self.verify_jwt(form.get("assertion", ""))
                if why:
                    return 400, json.dumps({"error": "invalid_grant", "error_description": why}).encode(), \
                        "application/json"
            elif grant == "urn:ietf:params:oauth:grant-type:device_code":
                refused = self.device_poll(form, rec, answer)
                if refused is not None:
                    return refused
            else:
                return 400, b'{"error": "unsupported_grant_type"}', "application/json"
            self.n += 1
            access = f"at-{self.n}-{secrets.token_hex(16)}"
            self.tokens[access] = {"exp": time.time() + self.lifetime, "revoked": False,
                                   "active_ok": self.mode != "reject"}
            answer.update({"access_token": access, "token_type": "Bearer", "expires_in": self.lifetime})
            rec["ok"] = True
            return 200, json.dumps(answer).encode(), "application/json"

    def device(self, form):
        """RFC 8628 3.1-3.2: a device code for the client, polled every second."""
        if form.get("client_id") != CLIENT_ID or "client_secret" in form:
            return 400, b'{"error": "invalid_client"}', "application/json"
        with self.lock:
            self.n += 1
            code = f"dc-{self.n}-{secrets.token_hex(8)}"
            self.devices[code] = {"polls": 0, "scope": form.get("scope")}
        return 200, json.dumps({"device_code": code, "user_code": "WDJB-MJHT",
                                "verification_uri": self.url + "/verify", "expires_in": 120,
                                "interval": 1}).encode(), "application/json"

    def device_poll(self, form, rec, answer):
        """The person answers at the third poll; the first is asked to slow down."""
        d = self.devices.get(form.get("device_code"))
        if d is None:
            return 400, b'{"error": "invalid_grant"}', "application/json"
        d["polls"] += 1
        if d["polls"] == 1:
            return 400, b'{"error": "slow_down"}', "application/json"
        if d["polls"] == 2:
            return 400, b'{"error": "authorization_pending"}', "application/json"
        if self.device_mode == "deny":
            return 400, json.dumps({"error": "access_denied", "error_description":
                                    "The user declined."}).encode(), "application/json"
        self.n += 1
        new = f"rt-{self.n}-{secrets.token_hex(8)}"
        self.refresh[new] = True
        answer["refresh_token"] = new
        return None

    def verify_jwt(self, jwt):
        """RFC 7523 3: RS256 signature (checked with openssl against the service account's
        public key), issuer, subject, audience, scope and a lifetime of at most an hour. None
        when good, else why."""
        def unb64(part):
            return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        try:
            head, claims, sig = jwt.split(".")
            header = json.loads(unb64(head))
            c = json.loads(unb64(claims))
            with tempfile.TemporaryDirectory() as d:
                with open(os.path.join(d, "data"), "wb") as f:
                    f.write(f"{head}.{claims}".encode())
                with open(os.path.join(d, "sig"), "wb") as f:
                    f.write(unb64(sig))
                r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", self.sa_public_key,
                                    "-signature", os.path.join(d, "sig"), os.path.join(d, "data")],
                                   capture_output=True)
        except Exception as e:
            return f"not a JWT: {e}"
        if r.returncode != 0:
            return "signature does not verify"
        now = time.time()
        if header.get("alg") != "RS256" or c.get("iss") != SA_EMAIL or c.get("sub") != st.IMAP_USER \
                or c.get("aud") != self.url + "/token" or c.get("scope") != "mail" \
                or not (0 < c["exp"] - c["iat"] <= 3600) or abs(c["iat"] - now) > 60:
            return f"claims refused: {header} {c}"
        self.jwt_claims.append(c)
        return None

    def introspect(self, form):
        tok = form.get("token", "")
        with self.lock:
            t = self.tokens.get(tok)
            expired = t is not None and time.time() >= t["exp"]
            active = t is not None and not expired and not t["revoked"] and t["active_ok"]
            self.introspections.append({"time": time.time(), "active": active, "known": t is not None,
                                        "expired": expired, "revoked": t is not None and t["revoked"]})
        body = {"active": True, "username": st.IMAP_USER, "scope": "mail"} if active else {"active": False}
        return 200, json.dumps(body).encode(), "application/json"


def write_secret(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, mode)


def oauth_group(ep, **extra):
    g = {"provider": "generic", "token_url": ep.url + "/token", "client_id": CLIENT_ID,
         "scope": "mail", "ca_file": "tokens-ca.pem", "timeout": 5}
    g.update(extra)
    return {k: v for k, v in g.items() if v is not None}


def oauth_config(s, ep, name="spocd.conf", smtp=True, metrics_port=None, **extra):
    """The harness's configuration with both logins switched to tokens from ep (and the metrics
    served on metrics_port when given)."""
    tree = s.config_tree()
    if metrics_port is not None:
        tree["metrics"] = {"listen": f"127.0.0.1:{metrics_port}"}
    for section in (["imap", "smtp"] if smtp else ["imap"]):
        tree[section].pop("password_file", None)
        tree[section]["user"] = st.IMAP_USER
        tree[section]["auth"] = "oauth2"
        tree[section]["oauth2"] = oauth_group(ep, **extra)
    tree["imap"]["poll_interval"] = 1
    path = os.path.join(s.dir, name)
    with open(path, "w") as f:
        f.write(st.render_conf(tree))
    return path


def no_secret_in(check, ep, texts, what):
    """Neither the client secret nor any token or refresh token issued appears in texts."""
    blob = "\n".join(texts)
    leaked = [t for t in [CLIENT_SECRET] + ep.issued() if t in blob]
    check.ok(not leaked, f"{what}: no secret or token in it", leaked[:3])


def spocd_texts(s):
    out = []
    for name in os.listdir(s.dir):
        if name.endswith((".stderr", ".stdout", ".log")) and name.startswith("spocd"):
            with open(os.path.join(s.dir, name), errors="replace") as f:
                out.append(f.read())
    return out


def wait_inbox_empty(s, d):
    st.wait_for(lambda: s.folder_count("INBOX") == 0, 30, "the daemon moved the mail out of INBOX",
                detail=d.tail)


def test(check):
    ca_dir = tempfile.mkdtemp(prefix="spocd-oauth2-ca-", dir="/tmp")
    os.chmod(ca_dir, 0o755)
    endpoints = []
    try:
        certs = st.make_certs(ca_dir)
        for path in os.listdir(ca_dir):
            os.chmod(os.path.join(ca_dir, path), 0o644 if path.endswith(".pem") else 0o600)
        ep = TokenEndpoint(*certs["good"])
        endpoints.append(ep)
        oauth = {"introspection_url": ep.url + "/introspect", "ca_file": certs["ca"][0]}
        with st.Services(name="spocd-oauth2", dovecot_oauth2=dict(oauth), smtp_oauth2=dict(oauth)) as s:
            shutil.copy(certs["ca"][0], os.path.join(s.dir, "tokens-ca.pem"))
            write_secret(os.path.join(s.dir, "client.secret"), CLIENT_SECRET)
            check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
            client_credentials(check, s, ep)
            oauthbearer_only(check, s, ep, oauth)
            smtp_refused(check, s, ep)
            refresh_rotation(check, s, ep)
            device_login(check, s, ep)
            jwt_bearer(check, s, ep)
            expiry_between_passes(check, s, ep)
            refused_token_renewed(check, s, ep)
            always_refused(check, s, ep)
            endpoint_failures(check, s, ep)
            wrong_certificate(check, s, certs, endpoints)
            check_config(check, s, ep)
            no_secret_in(check, ep, spocd_texts(s), "everything spocd wrote in this test")
    finally:
        for e in endpoints:
            e.stop()
        shutil.rmtree(ca_dir, ignore_errors=True)


def client_credentials(check, s, ep):
    s.conf = oauth_config(s, ep, client_secret_file="client.secret")
    s.append(st.make_message("marta@example.com", "La impresora no imprime", "Atasco de papel.\r\n"))
    before = len(ep.grants())
    rc, out, err = s.run_spocd("--once")
    check.eq(rc, 0, "client credentials: spocd --once logs in with tokens and works")
    check.eq(s.sql_value("SELECT count(*) FROM tickets"), 1, "the mail became a ticket")
    acks = [m for m in s.captured() if "marta@example.com" in str(m["To"])]
    check.eq(len(acks), 1, "its acknowledgement was sent")
    check.eq(acks[0].envelope.get("auth"), {"mechanism": "XOAUTH2", "user": st.IMAP_USER},
             "through SMTP AUTH XOAUTH2 as the mailbox user")
    log = s.dovecot_log_since(0)
    check.ok(f"user=<{st.IMAP_USER}>, method=XOAUTH2" in log, "Dovecot logged the IMAP login as XOAUTH2",
             log[-2000:])
    reqs = ep.grants()[before:]
    check.eq([(r["grant"], r["ok"], r["scope"]) for r in reqs], [("client_credentials", True, "mail")],
             "one token request served IMAP and SMTP")
    no_secret_in(check, ep, [out, err], "spocd's output")


def oauthbearer_only(check, s, ep, oauth):
    s.dovecot_oauth2 = dict(oauth, mechanisms="oauthbearer")
    s.restart_dovecot("good")
    s.smtp_oauth2 = dict(oauth, mechanisms="OAUTHBEARER")
    s.start_smtp()
    offset = s.dovecot_log_size()
    s.append(st.make_message("luis@example.com", "Sin acceso a la VPN", "No conecta.\r\n"))
    rc, out, err = s.run_spocd("--once")
    check.eq(rc, 0, "OAUTHBEARER: spocd --once works when the server offers only that")
    check.eq(s.sql_value("SELECT count(*) FROM tickets"), 2, "its mail became a ticket")
    log = s.dovecot_log_since(offset)
    check.ok(f"user=<{st.IMAP_USER}>, method=OAUTHBEARER" in log, "Dovecot logged an OAUTHBEARER login",
             log[-2000:])
    acks = [m for m in s.captured() if "luis@example.com" in str(m["To"])]
    check.eq([m.envelope.get("auth") for m in acks], [{"mechanism": "OAUTHBEARER", "user": st.IMAP_USER}],
             "its acknowledgement went through SMTP AUTH OAUTHBEARER")
    s.smtp_oauth2 = dict(oauth)
    s.start_smtp()
    # a server that offers neither: said so, nothing sent
    s.dovecot_oauth2 = None
    s.restart_dovecot("good")
    rc, out, err = s.run_spocd("--once")
    check.eq(rc, 75, "a server without XOAUTH2 or OAUTHBEARER: spocd --once exits 75")
    check.ok("offers neither AUTH=XOAUTH2 nor AUTH=OAUTHBEARER" in out + err, "and says why",
             (out + err)[-1000:])
    s.dovecot_oauth2 = dict(oauth)
    s.restart_dovecot("good")


def smtp_refused(check, s, ep):
    """IMAP with the password, SMTP with tokens the listener never accepts: the mail becomes a
    ticket, its acknowledgement waits, and the reason is the listener's, decoded."""
    tree = s.config_tree()
    tree["smtp"].update({"user": st.IMAP_USER, "auth": "oauth2",
                         "oauth2": oauth_group(ep, client_secret_file="client.secret")})
    conf = os.path.join(s.dir, "smtp-refused.conf")
    with open(conf, "w") as f:
        f.write(st.render_conf(tree))
    ep.mode = "reject"
    n0 = s.sql_value("SELECT count(*) FROM tickets")
    sent0 = len(s.captured())
    s.append(st.make_message("rosa@example.com", "Teclado roto", "No escribe.\r\n"))
    rc, out, err = s.run_spocd("--once", config=conf)
    ep.mode = "ok"
    check.eq(rc, 75, "SMTP refusing the token: spocd --once exits 75")
    check.eq(s.sql_value("SELECT count(*) FROM tickets"), n0 + 1, "the mail still became a ticket")
    check.eq(len(s.captured()), sent0, "nothing was sent")
    check.ok(f"AUTH XOAUTH2 as {st.IMAP_USER} refused: 535" in out + err
             and "status=invalid_token" in out + err,
             "the error gives the 535 and the listener's decoded reason", (out + err)[-1500:])
    check.eq(s.sql_value("SELECT state FROM outbox WHERE recipient = 'rosa@example.com'"), "pending",
             "the acknowledgement waits to be retried")
    s.sql("UPDATE outbox SET next_attempt_at = now() WHERE recipient = 'rosa@example.com'")
    rc, out, err = s.run_spocd("--once", config=conf)
    check.eq(rc, 0, "once the tokens are good again, the retry works")
    check.eq([m.envelope.get("auth") for m in s.captured()[sent0:]],
             [{"mechanism": "XOAUTH2", "user": st.IMAP_USER}], "the acknowledgement went out then")


def refresh_rotation(check, s, ep):
    rt_path = os.path.join(s.dir, "refresh.token")
    first = ep.add_refresh()
    write_secret(rt_path, first)
    s.conf = oauth_config(s, ep, grant="refresh_token", refresh_token_file="refresh.token")
    s.append(st.make_message("ana@example.com", "Pantalla rota", "Se ve negra.\r\n"))
    rc, out, err = s.run_spocd("--once")
    check.eq(rc, 0, "refresh token: spocd --once works")
    with open(rt_path) as f:
        second = f.read().strip()
    check.ok(second != first and ep.refresh.get(second) is True,
             "the rotated refresh token was written back to its file")
    check.eq(oct(os.stat(rt_path).st_mode & 0o777), oct(0o600), "the file keeps mode 0600")
    check.eq([r["refresh_token"] for r in ep.grants("refresh_token")], [first],
             "the first run used the configured refresh token, once")
    check.ok("rotated refresh token saved to" in out + err, "the rotation was logged")
    leftovers = [n for n in os.listdir(s.dir) if n.startswith("refresh.token.new")]
    check.eq(leftovers, [], "no temporary file left beside it")
    rc, out, err = s.run_spocd("--once")
    check.eq(rc, 0, "a second run (a new process) works with the saved token")
    check.eq(ep.grants("refresh_token")[-1]["refresh_token"], second, "and used the rotated one")

    # from a systemd credential, read-only: the new token is used, and said not to be saved
    creds = os.path.join(s.dir, "creds")
    os.makedirs(creds, exist_ok=True)
    cred_token = ep.add_refresh()
    write_secret(os.path.join(creds, "mail-refresh"), cred_token, 0o400)
    s.conf = oauth_config(s, ep, grant="refresh_token", refresh_token_credential="mail-refresh")
    rc, out, err = s.run_spocd("--once", env={"CREDENTIALS_DIRECTORY": creds})
    check.eq(rc, 0, "refresh token from a credential: spocd --once works")
    check.ok("is a systemd credential (read-only)" in out + err
             and "the new one is kept in the database, encrypted" in out + err,
             "the rotation is said to be kept in the database, not in the credential", err[-1500:])
    with open(os.path.join(creds, "mail-refresh")) as f:
        check.eq(f.read().strip(), cred_token, "the credential was left as it was")


def device_login(check, s, ep):
    """spocctl oauth login runs the device authorization grant and fills an empty
    refresh_token_file, which spocd then uses."""
    rt_path = os.path.join(s.dir, "device.token")
    write_secret(rt_path, "")
    with open(rt_path, "w"):
        pass
    s.conf = oauth_config(s, ep, grant="refresh_token", refresh_token_file="device.token",
                          device_url=ep.url + "/device")
    rc, out, err = s.run_spocd("--once")
    check.eq(rc, 75, "device login: with an empty refresh token file spocd --once exits 75")
    check.ok("no refresh token yet" in out + err and "spocctl oauth login" in out + err,
             "and says to run spocctl oauth login", (out + err)[-800:])
    polls0 = len(ep.grants("urn:ietf:params:oauth:grant-type:device_code"))
    rc, out, err = s.run_spocctl("oauth", "login", "INBOX")
    check.eq(rc, 0, "spocctl oauth login INBOX: consent given")
    check.ok(b"WDJB-MJHT" in out and (ep.url + "/verify").encode() in out,
             "it showed where to go and the code to enter", out)
    with open(rt_path) as f:
        token = f.read().strip()
    check.ok(ep.refresh.get(token) is True, "the refresh token was written to its file")
    check.eq(oct(os.stat(rt_path).st_mode & 0o777), oct(0o600), "mode 0600")
    check.ok(token.encode() not in out and token not in err, "and was not printed")
    polls = ep.grants("urn:ietf:params:oauth:grant-type:device_code")[polls0:]
    check.eq(len(polls), 3, "three polls: slow_down, authorization_pending, consent")
    check.ok(polls[1]["time"] - polls[0]["time"] >= 5.5,
             "after slow_down it waited 5 s more (RFC 8628 3.5)",
             [round(p["time"] - polls[0]["time"], 1) for p in polls])
    s.append(st.make_message("eva@example.com", "Alta de usuario", "Necesito una cuenta.\r\n"))
    n0 = s.sql_value("SELECT count(*) FROM tickets")
    rc, out, err = s.run_spocd("--once")
    check.eq(rc, 0, "spocd --once then logs in with it")
    check.eq(s.sql_value("SELECT count(*) FROM tickets"), n0 + 1, "and reads the mail")

    ep.device_mode = "deny"
    with open(rt_path) as f:
        before = f.read()
    rc, out, err = s.run_spocctl("oauth", "login", "INBOX")
    ep.device_mode = "approve"
    check.ok(rc == 1 and "access_denied" in err and "The user declined." in err,
             "a refused consent: exit 1 with the server's reason", err)
    with open(rt_path) as f:
        check.eq(f.read(), before, "and the file is left as it was")
    rc, out, err = s.run_spocctl("oauth", "login", "nosuchbox")
    check.ok(rc == 1 and "no mailbox named" in err, "an unknown mailbox is named as such", err)
    s.conf = oauth_config(s, ep, client_secret_file="client.secret")
    rc, out, err = s.run_spocctl("oauth", "login", "smtp")
    check.ok(rc == 1 and "nothing to consent to" in err, "client credentials need no consent", err)


def service_account_key(path, email=SA_EMAIL):
    """A service account key as Google hands it out (JSON, PKCS#8 RSA key); returns the public
    key's PEM file."""
    key = path + ".pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", key], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", path + ".pub"], check=True,
                   capture_output=True)
    with open(key) as f:
        pem = f.read()
    os.unlink(key)
    with open(path, "w") as f:
        json.dump({"type": "service_account", "project_id": "desk-project", "private_key_id": "k1",
                   "private_key": pem, "client_email": email, "client_id": "1234567890",
                   "token_uri": "https://oauth2.googleapis.com/token"}, f, indent=2)
    os.chmod(path, 0o600)
    return path + ".pub", pem


def jwt_bearer(check, s, ep):
    """A service account's signed JWT (Google's domain-wide delegation) for the mailbox user."""
    ep.sa_public_key, pem = service_account_key(os.path.join(s.dir, "sa.json"))
    s.conf = oauth_config(s, ep, grant="jwt_bearer", service_account_file="sa.json")
    n0 = s.sql_value("SELECT count(*) FROM tickets")
    s.append(st.make_message("jon@example.com", "Licencia caducada", "Caducó ayer.\r\n"))
    before = len(ep.jwt_claims)
    rc, out, err = s.run_spocd("--once")
    check.eq(rc, 0, "jwt bearer: spocd --once logs in with a service account's assertion")
    check.eq(s.sql_value("SELECT count(*) FROM tickets"), n0 + 1, "the mail became a ticket")
    acks = [m for m in s.captured() if "jon@example.com" in str(m["To"])]
    check.eq([m.envelope.get("auth") for m in acks], [{"mechanism": "XOAUTH2", "user": st.IMAP_USER}],
             "its acknowledgement went out through XOAUTH2")
    claims = ep.jwt_claims[before:]
    check.eq([(c["iss"], c["sub"], c["scope"]) for c in claims], [(SA_EMAIL, st.IMAP_USER, "mail")],
             "one verified assertion, by the service account, for the mailbox")
    body = pem.split("-----")[2].strip().splitlines()[1]
    check.ok(body not in out + err and "PRIVATE KEY" not in out + err, "the key is never printed")
    # a key the endpoint does not know: refused, and said so
    other, _ = service_account_key(os.path.join(s.dir, "other.json"))
    conf = oauth_config(s, ep, name="other.conf", grant="jwt_bearer", service_account_file="other.json")
    rc, out, err = s.run_spocd("--once", config=conf)
    check.eq(rc, 75, "an assertion signed with another key: spocd --once exits 75")
    check.ok("invalid_grant: signature does not verify" in out + err,
             "with the endpoint's reason", (out + err)[-1000:])
    # a key file that is not a key
    with open(os.path.join(s.dir, "bad.json"), "w") as f:
        f.write('{"client_email": "x@y", "private_key": "-----BEGIN PRIVATE KEY-----\\nAAAA\\n"}\n')
    os.chmod(os.path.join(s.dir, "bad.json"), 0o600)
    conf = oauth_config(s, ep, name="bad.conf", grant="jwt_bearer", service_account_file="bad.json")
    rc, out, err = s.run_spocd("--once", config=conf)
    check.ok(rc == 75 and "private_key of service account key" in out + err and "bad.json" in out + err,
             "a broken key is named", (out + err)[-1000:])


def scrape(port):
    """The daemon's metrics; "" while it has not opened its endpoint yet."""
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return ""


def sample(body, name, **labels):
    """The value of the series name{labels} in a Prometheus text body, or None."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in body.splitlines():
        if line.startswith(f"{name}{{{want}}} "):
            return float(line.rsplit(" ", 1)[1])
    return None


def expiry_between_passes(check, s, ep):
    ep.lifetime = 3
    port = st.free_port()
    s.conf = oauth_config(s, ep, client_secret_file="client.secret", metrics_port=port)
    before_grants = len(ep.grants("client_credentials", ok=True))
    before_intro = len(ep.introspections)
    d = s.start_spocd()
    try:
        n0 = s.sql_value("SELECT count(*) FROM tickets")
        for i in range(3):
            s.append(st.make_message(f"user{i}@example.com", f"Consulta {i}", "Hola.\r\n"))
            check.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets") == n0 + i + 1, 30,
                           f"expiry: mail {i + 1} became a ticket", detail=d.tail)
            check.wait_for(lambda: any(f"user{i}@example.com" in str(m["To"]) for m in s.captured()), 30,
                           f"expiry: its acknowledgement went out", detail=d.tail)
            wait_inbox_empty(s, d)
            # the next one after every token the daemon holds has expired, with the IMAP
            # connection dropped so that it must log in again
            time.sleep(ep.lifetime + 0.5)
            s.restart_dovecot("good")
        body = scrape(port)
        got = sample(body, "spocd_oauth2_token_requests_total", endpoint=ep.url + "/token", result="ok")
        check.ok(got is not None and got >= 3, f"metrics: the token requests are counted ({got})", body[-1500:])
        s.append(st.make_message("user9@example.com", "Consulta final", "Hola.\r\n"))
        check.wait_for(lambda: (sample(scrape(port), "spocd_oauth2_token_expiry_seconds",
                                       endpoint=ep.url + "/token") or 0) > 0, 30,
                       "metrics: a fresh token's seconds until expiry are above 0")
        left = sample(scrape(port), "spocd_oauth2_token_expiry_seconds", endpoint=ep.url + "/token")
        check.ok(left is not None and 0 < left <= ep.lifetime, f"and within its lifetime ({left} s)")
        wait_inbox_empty(s, d)
    finally:
        d.stop()
    stale = [r for r in ep.introspections[before_intro:] if r["expired"]]
    check.eq(stale, [], "no expired token was ever presented (renewed before its expiry)")
    check.ok(len(ep.grants("client_credentials", ok=True)) - before_grants >= 3,
             "new tokens were fetched as they expired")
    check.ok("AUTHENTICATE" not in d.text(), "no login was refused", d.tail())
    ep.lifetime = 300


def refused_token_renewed(check, s, ep):
    s.conf = oauth_config(s, ep, client_secret_file="client.secret")
    d = s.start_spocd()
    try:
        n0 = s.sql_value("SELECT count(*) FROM tickets")
        s.append(st.make_message("pedro@example.com", "Correo lento", "Tarda.\r\n"))
        check.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets") == n0 + 1, 30,
                       "revoked: a first mail with a first token", detail=d.tail)
        check.wait_for(lambda: any("pedro@example.com" in str(m["To"]) for m in s.captured()), 30,
                       "revoked: its acknowledgement went out with that token", detail=d.tail)
        before = len(ep.grants("client_credentials", ok=True))
        intro = len(ep.introspections)
        ep.revoke_all()
        s.restart_dovecot("good")
        s.append(st.make_message("pedro@example.com", "Otra cosa", "Más.\r\n"))
        check.wait_for(lambda: s.sql_value("SELECT count(*) FROM tickets") == n0 + 2, 30,
                       "revoked: the next mail is read after the refused token was renewed",
                       detail=d.tail)
        # stopped only once it is moved: a SIGTERM in the middle of UID MOVE is another story
        wait_inbox_empty(s, d)
    finally:
        d.stop()
    refusals = [r for r in ep.introspections[intro:] if r["revoked"]]
    check.ok(len(refusals) >= 1, "the mail server was refused the revoked token", ep.introspections[intro:])
    check.ok(len(ep.grants("client_credentials", ok=True)) - before >= 1, "a new token was fetched")
    check.ok("AUTHENTICATE" not in d.text(), "the login never counted as failed: renewed and retried",
             d.tail())


def always_refused(check, s, ep):
    ep.mode = "reject"
    ep.revoke_all()
    s.restart_dovecot("good")
    s.conf = oauth_config(s, ep, client_secret_file="client.secret")
    rc, out, err = s.run_spocd("--once")
    check.eq(rc, 75, "always refused: spocd --once exits 75")
    text = out + err
    check.ok(f"AUTHENTICATE XOAUTH2 as {st.IMAP_USER} refused" in text,
             "the error names the mechanism and the user", text[-1500:])
    check.ok("status=" in text, "and gives the server's decoded reason", text[-1500:])
    before = len(ep.grants())
    port = st.free_port()
    s.conf = oauth_config(s, ep, name="refused.conf", client_secret_file="client.secret", metrics_port=port)
    d = s.start_spocd()
    time.sleep(12)
    body = scrape(port)
    d.stop()
    check.ok((sample(body, "spocd_oauth2_token_requests_total", endpoint=ep.url + "/token", result="ok") or 0)
             >= 1, "metrics: tokens fetched are counted even when the server refuses them", body[-1500:])
    attempts = len(ep.grants()) - before
    check.ok(1 <= attempts <= 6, f"the daemon backs off: {attempts} token requests in 12 s, no hot loop",
             d.tail())
    ep.mode = "ok"


def endpoint_failures(check, s, ep):
    s.restart_dovecot("good")
    cases = [("garbage", "not a JSON object"),
             ("error", "refused (HTTP 400): invalid_client: AADSTS7000215")]
    for mode, want in cases:
        ep.mode = mode
        ep.revoke_all()
        rc, out, err = s.run_spocd("--once")
        check.eq(rc, 75, f"token endpoint answering {mode}: spocd --once exits 75")
        check.ok(want in out + err and ep.url + "/token" in out + err,
                 f"the error names the endpoint and says {want!r}", (out + err)[-1500:])
    # the daemon counts each failed request, and backs off between them
    ep.mode = "garbage"
    mport = st.free_port()
    s.conf = oauth_config(s, ep, name="garbage.conf", client_secret_file="client.secret", metrics_port=mport)
    d = s.start_spocd()
    try:
        check.wait_for(lambda: (sample(scrape(mport), "spocd_oauth2_token_requests_total",
                                       endpoint=ep.url + "/token", result="failed") or 0) >= 1, 20,
                       "metrics: a failed token request is counted as failed", detail=d.tail)
        check.eq(sample(scrape(mport), "spocd_oauth2_token_expiry_seconds", endpoint=ep.url + "/token"), None,
                 "and no expiry is served for an endpoint that never gave a token")
    finally:
        d.stop()
    ep.mode = "ok"
    # nothing listening
    port = st.free_port()
    conf = oauth_config(s, ep, name="down.conf", client_secret_file="client.secret",
                        token_url=f"https://127.0.0.1:{port}/token")
    rc, out, err = s.run_spocd("--once", config=conf)
    check.eq(rc, 75, "token endpoint down: spocd --once exits 75")
    check.ok(f"oauth2 token endpoint https://127.0.0.1:{port}/token" in out + err
             and "no access token for" in out + err, "the error names the endpoint", (out + err)[-1500:])


def wrong_certificate(check, s, certs, endpoints):
    wrong = TokenEndpoint(*certs["wrong"])
    endpoints.append(wrong)
    conf = oauth_config(s, wrong, name="wrong.conf", client_secret_file="client.secret")
    rc, out, err = s.run_spocd("--once", config=conf)
    check.eq(rc, 75, "token endpoint with the wrong certificate: spocd --once exits 75")
    check.ok(wrong.url + "/token" in out + err and ("certificate" in (out + err).lower()
                                                     or "SSL" in out + err),
             "the error names the endpoint and the certificate", (out + err)[-1500:])
    check.eq(wrong.requests, [], "the endpoint never received the request (nor the secret)")


def check_config(check, s, ep):
    cases = [({"grant": "jwt_bearer"}, "imap.oauth2.service_account_file", "needs the service account"),
             ({"client_certificate_file": "c.pem"}, "imap.oauth2.client_certificate_file",
              "set client_secret_file or client_certificate_file, not both"),
             ({"token_url": "http://127.0.0.1/token"}, "imap.oauth2.token_url", "https://"),
             ({"client_secret_file": "nowhere.secret"}, "imap.oauth2.client_secret_file", "cannot read")]
    for extra, setting, want in cases:
        conf = oauth_config(s, ep, name="bad.conf", **dict({"client_secret_file": "client.secret"}, **extra))
        rc, out, err = s.run_spocd("--check-config", config=conf)
        check.ok(rc == 1 and setting in err and want in err,
                 f"--check-config refuses {extra}: names {setting}, says {want!r}", err)
    conf = oauth_config(s, ep, name="good.conf", client_secret_file="client.secret")
    rc, out, err = s.run_spocd("--check-config", config=conf)
    check.eq(rc, 0, "--check-config accepts the OAuth configuration")


if __name__ == "__main__":
    st.main(test)
