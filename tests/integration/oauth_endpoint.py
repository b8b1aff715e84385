#!/usr/bin/python3
"""A local OAuth 2.0 authorization server for the integration tests and contrib/demo --oauth2:
TokenEndpoint issues and introspects tokens over HTTPS with its own CA (made with openssl),
oauth_services() starts it beside the harness's Services, whose Dovecot (oauth2 passdb) and SMTP
listener introspect every token at it, and the helpers write spocd configurations that log in with
its tokens and read the metrics that count them."""

import base64
import contextlib
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


def oauth_config(s, ep, name="spocd.conf", smtp=True, metrics_port=None, imap=None, **extra):
    """The harness's configuration with both logins switched to tokens from ep (and the metrics
    served on metrics_port when given); imap: settings of the mailbox over the harness's (a poll
    interval of 1 s unless given); extra: settings of the oauth2 groups."""
    tree = s.config_tree()
    if metrics_port is not None:
        tree["metrics"] = {"listen": f"127.0.0.1:{metrics_port}"}
    for section in (["imap", "smtp"] if smtp else ["imap"]):
        tree[section].pop("password_file", None)
        tree[section]["user"] = st.IMAP_USER
        tree[section]["auth"] = "oauth2"
        tree[section]["oauth2"] = oauth_group(ep, **extra)
    tree["imap"]["poll_interval"] = 1
    tree["imap"].update(imap or {})
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


@contextlib.contextmanager
def oauth_services(name, keep=None, endpoint=None):
    """A CA of its own, a TokenEndpoint (or the subclass `endpoint`) with its certificate, and the harness's Services with
    Dovecot's oauth2 passdb and the SMTP listener introspecting at it; the CA and the client
    secret are in the services' directory (tokens-ca.pem, client.secret) as oauth_config()
    names them. Yields (s, ep, certs, oauth): certs as st.make_certs() made them, oauth the
    introspection settings given to Dovecot and the listener. Everything is stopped on the way
    out."""
    ca_dir = tempfile.mkdtemp(prefix="spocd-oauth2-ca-", dir="/tmp")
    os.chmod(ca_dir, 0o755)
    ep = None
    try:
        certs = st.make_certs(ca_dir)
        for path in os.listdir(ca_dir):
            os.chmod(os.path.join(ca_dir, path), 0o644 if path.endswith(".pem") else 0o600)
        ep = (endpoint or TokenEndpoint)(*certs["good"])
        oauth = {"introspection_url": ep.url + "/introspect", "ca_file": certs["ca"][0]}
        with st.Services(name=name, keep=keep, dovecot_oauth2=dict(oauth), smtp_oauth2=dict(oauth)) as s:
            shutil.copy(certs["ca"][0], os.path.join(s.dir, "tokens-ca.pem"))
            write_secret(os.path.join(s.dir, "client.secret"), CLIENT_SECRET)
            yield s, ep, certs, oauth
    finally:
        if ep is not None:
            ep.stop()
        shutil.rmtree(ca_dir, ignore_errors=True)
