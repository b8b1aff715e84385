#!/usr/bin/python3
"""OAuth 2.0 client credentials with a certificate (Microsoft's "certificate credentials"), and
rotated refresh tokens kept in the database when their file is a read-only systemd credential.
Through the real binary, against Dovecot's oauth2 passdb and the SMTP capture listener, both
introspecting at the local HTTPS token endpoint of test_oauth2.py, taught here to verify client
assertions the way the identity platform does:
  - the assertion (RFC 7523 2.2) is a JWT verified with the registered certificate's public key
    (openssl), whose header names the certificate by its SHA-256 (x5t#S256) and SHA-1 (x5t)
    thumbprints; aud is the token endpoint, iss = sub = the client id, jti never reused, valid
    at most ten minutes; no client secret is sent, the key is never printed;
  - another certificate and key, an assertion outside its validity (the endpoint's clock ahead),
    another audience: refused, and spocd's error gives the endpoint's reason;
  - --check-config refuses a missing key, a key that is not the certificate's, an unreadable or
    expired certificate, a key others may read, a certificate beside a client secret, and says
    why;
  - a refresh token from a read-only credential with a strictly rotating endpoint: the rotated
    token goes to the database, encrypted (the row holds neither the token nor its base64); the
    next run logs in with it, where the credential's old token would be refused; a new token put
    in the credential by the operator wins over the stored one."""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time

import spocdtest as st
import oauth_endpoint as t2

CC_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def unb64(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_pair(d, name):
    """A self-signed RSA certificate and its key, as one uploads to an app registration.
    Returns (cert, key) paths; the key has mode 0600."""
    cert, key = os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "30", "-subj", f"/CN={name}"],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    os.chmod(cert, 0o644)
    return cert, key


def make_expired_pair(d, name):
    """A self-signed RSA certificate that expired in 2020 (`openssl ca` is the OpenSSL 3.0 tool
    that takes explicit dates), and its key."""
    work = os.path.join(d, name + ".ca")
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(work, "index.txt"), "w"):
        pass
    with open(os.path.join(work, "serial"), "w") as f:
        f.write("1000\n")
    with open(os.path.join(work, "ca.cnf"), "w") as f:
        f.write(f"[ ca ]\ndefault_ca = c\n[ c ]\ndir = {work}\ndatabase = $dir/index.txt\n"
                "serial = $dir/serial\nnew_certs_dir = $dir\ndefault_md = sha256\npolicy = p\n"
                "unique_subject = no\n[ p ]\ncommonName = supplied\n")
    cert, key = os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")
    subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", os.path.join(work, "req.csr"), "-subj", f"/CN={name}"],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "ca", "-batch", "-config", os.path.join(work, "ca.cnf"), "-selfsign",
                    "-keyfile", key, "-in", os.path.join(work, "req.csr"), "-out", cert, "-notext",
                    "-startdate", "20200101000000Z", "-enddate", "20200201000000Z"],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


class CertEndpoint(t2.TokenEndpoint):
    """TokenEndpoint that also takes client credentials proven by a certificate: the client
    assertion must verify against the registered certificate. skew: seconds the endpoint's
    clock is ahead; audience: the aud it expects (its own /token unless set)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.registered = None   # certificate file (PEM) of the app registration
        self.skew = 0
        self.audience = None
        self.assertions = []     # (header, claims) of every assertion that verified
        self.jtis = set()

    def token(self, form):
        if form.get("grant_type") != "client_credentials" or "client_assertion" not in form:
            return super().token(form)
        why = self.verify_assertion(form)
        if why:
            with self.lock:
                self.requests.append({"time": time.time(), "grant": "client_credentials", "ok": False,
                                      "refresh_token": None, "scope": form.get("scope")})
            return 401, json.dumps({"error": "invalid_client", "error_description": why}).encode(), \
                "application/json"
        # proven: served as a client with its secret would be
        return super().token(dict(form, client_secret=t2.CLIENT_SECRET))

    def verify_assertion(self, form):
        """None when the assertion is good, else the reason (Microsoft's words where it has
        them)."""
        if form.get("client_assertion_type") != CC_ASSERTION or "client_secret" in form:
            return "client_assertion_type missing, or a secret sent beside the assertion"
        with open(self.registered, "rb") as f:
            pem = f.read()
        der = subprocess.run(["openssl", "x509", "-outform", "DER"], input=pem, check=True,
                             capture_output=True).stdout
        try:
            head, claims, sig = form["client_assertion"].split(".")
            h, c = json.loads(unb64(head)), json.loads(unb64(claims))
        except Exception as e:
            return f"AADSTS50027: JWT token is invalid or malformed: {e}"
        if h.get("x5t#S256") != b64url(hashlib.sha256(der).digest()) \
                or h.get("x5t") != b64url(hashlib.sha1(der).digest()):
            return "AADSTS700027: the certificate with the assertion's thumbprint is not registered"
        with tempfile.TemporaryDirectory() as d:
            pub = os.path.join(d, "pub.pem")
            subprocess.run(["openssl", "x509", "-in", self.registered, "-pubkey", "-noout", "-out", pub],
                           check=True, capture_output=True)
            with open(os.path.join(d, "data"), "wb") as f:
                f.write(f"{head}.{claims}".encode())
            with open(os.path.join(d, "sig"), "wb") as f:
                f.write(unb64(sig))
            r = subprocess.run(["openssl", "dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss",
                                "-sigopt", "rsa_pss_saltlen:32", "-verify", pub,
                                "-signature", os.path.join(d, "sig"), os.path.join(d, "data")],
                               capture_output=True)
        if h.get("alg") != "PS256" or h.get("typ") != "JWT" or r.returncode != 0:
            return "AADSTS700027: signature verification failed"
        now = time.time() + self.skew
        if not (c.get("nbf", now + 1) <= now + 60 and now < c.get("exp", 0)) \
                or not 0 < c["exp"] - c["nbf"] <= 600 or c.get("iat") != c.get("nbf"):
            return "AADSTS700024: Client assertion is not within its valid time range"
        if c.get("aud") != (self.audience or self.url + "/token"):
            return f"AADSTS700016: the assertion's audience {c.get('aud')} is not this endpoint"
        if c.get("iss") != t2.CLIENT_ID or c.get("sub") != t2.CLIENT_ID or c.get("iss") != form.get("client_id"):
            return "AADSTS700021: issuer and subject must be the client id"
        with self.lock:
            if not c.get("jti") or c["jti"] in self.jtis:
                return "AADSTS700025: the assertion's jti was used before"
            self.jtis.add(c["jti"])
            self.assertions.append((h, c))
        return None


def test(check):
    with t2.oauth_services("spocd-oauth2-cert", endpoint=CertEndpoint) as (s, ep, certs, oauth):
        check.eq(s.run_spocd("--migrate")[0], 0, "spocd --migrate")
        certificate_login(check, s, ep)
        certificate_refused(check, s, ep)
        certificate_check_config(check, s, ep)
        rotated_into_database(check, s, ep)
        t2.no_secret_in(check, ep, t2.spocd_texts(s), "everything spocd wrote in this test")


def cert_config(s, ep, name="cert.conf", cert="app.crt", key="app.key", **extra):
    return t2.oauth_config(s, ep, name=name, client_certificate_file=cert, client_key_file=key, **extra)


def certificate_login(check, s, ep):
    cert, key = make_pair(s.dir, "app")
    ep.registered = cert
    s.conf = cert_config(s, ep)
    rc, out, err = s.run_spocd("--check-config")
    check.ok(rc == 0, "--check-config accepts a certificate and its key", err)
    s.append(st.make_message("irene@example.com", "Sin correo en el móvil", "No sincroniza.\r\n"))
    n0 = s.sql_value("SELECT count(*) FROM tickets")
    before = len(ep.assertions)
    rc, out, err = s.run_spocd("--once")
    check.ok(rc == 0, "certificate: spocd --once logs in with a token got by a client assertion",
             (out + err)[-1500:])
    check.eq(s.sql_value("SELECT count(*) FROM tickets"), n0 + 1, "the mail became a ticket")
    acks = [m for m in s.captured() if "irene@example.com" in str(m["To"])]
    check.eq([m.envelope.get("auth") for m in acks], [{"mechanism": "XOAUTH2", "user": st.IMAP_USER}],
             "its acknowledgement went out through XOAUTH2")
    got = ep.assertions[before:]
    check.eq(len(got), 1, "one verified assertion served IMAP and SMTP")
    if got:
        h, c = got[0]
        check.eq((h["alg"], c["aud"], c["iss"], c["sub"]), ("PS256", ep.url + "/token", t2.CLIENT_ID, t2.CLIENT_ID),
                 "PS256, for the token endpoint, by and about the client")
        check.ok(abs(c["iat"] - time.time()) < 60 and c["exp"] - c["nbf"] == 600,
                 "issued now, valid ten minutes", c)
    with open(key) as f:
        body = f.read().split("-----")[2].strip().splitlines()[1]
    check.ok(body not in out + err and "PRIVATE KEY" not in out + err, "the key is never printed")
    # a second process: a new assertion, a new jti (the endpoint refuses a replay)
    rc, out, err = s.run_spocd("--once")
    check.ok(rc == 0, "a second run signs a new assertion", (out + err)[-800:])
    check.eq(len(ep.assertions) - before, 2, "with a jti never used before")


def certificate_refused(check, s, ep):
    cases = []
    # another certificate and key than the one registered
    make_pair(s.dir, "other")
    cases.append(({"cert": "other.crt", "key": "other.key"}, None,
                  "AADSTS700027: the certificate with the assertion's thumbprint is not registered"))
    # the endpoint's clock eleven minutes ahead: the assertion has expired for it
    cases.append(({}, ("skew", 660), "AADSTS700024: Client assertion is not within its valid time range"))
    # the endpoint expects another audience (a token_url that is not the endpoint's own)
    cases.append(({}, ("audience", "https://login.microsoftonline.com/contoso/oauth2/v2.0/token"),
                  "AADSTS700016: the assertion's audience " + ep.url + "/token is not this endpoint"))
    for i, (files, attr, want) in enumerate(cases):
        if attr:
            setattr(ep, *attr)
        ep.revoke_all()
        conf = cert_config(s, ep, name=f"refused{i}.conf", **files)
        n0 = len(ep.grants("client_credentials", ok=True))
        rc, out, err = s.run_spocd("--once", config=conf)
        ep.skew, ep.audience = 0, None
        check.eq(rc, 75, f"refused assertion ({want[:12]}): spocd --once exits 75")
        check.ok(f"refused (HTTP 401): invalid_client: {want}" in out + err and ep.url + "/token" in out + err,
                 f"and names the endpoint and its reason: {want!r}", (out + err)[-1500:])
        check.eq(len(ep.grants("client_credentials", ok=True)), n0, "no token was issued")


def certificate_check_config(check, s, ep):
    _, other_key = make_pair(s.dir, "mismatch")
    shutil.copy(os.path.join(s.dir, "app.key"), os.path.join(s.dir, "open.key"))
    os.chmod(os.path.join(s.dir, "open.key"), 0o644)
    make_expired_pair(s.dir, "expired")
    with open(os.path.join(s.dir, "garbage.crt"), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    cases = [({"key": None}, "imap.oauth2.client_key_file", "missing: client_certificate_file needs"),
             ({"cert": None}, "imap.oauth2.client_certificate_file", "missing: client_key_file needs"),
             ({"key": "mismatch.key"}, "imap.oauth2.client_key_file",
              "mismatch.key is not the private key of the certificate in"),
             ({"cert": "garbage.crt"}, "imap.oauth2.client_certificate_file", "garbage.crt is not a PEM certificate"),
             ({"cert": "nowhere.crt"}, "imap.oauth2.client_certificate_file", "cannot read"),
             ({"cert": "expired.crt", "key": "expired.key"}, "imap.oauth2.client_certificate_file",
              "expired.crt expired on 2020-02-01T00:00:00Z"),
             ({"key": "open.key"}, "imap.oauth2.client_key_file", "has mode 0644"),
             ({"client_secret_file": "client.secret"}, "imap.oauth2.client_certificate_file",
              "set client_secret_file or client_certificate_file, not both"),
             ({"grant": "refresh_token", "refresh_token_file": "client.secret"},
              "imap.oauth2.client_certificate_file", "grant = \"client_credentials\" only")]
    for extra, setting, want in cases:
        conf = cert_config(s, ep, name="bad-cert.conf", **extra)
        rc, out, err = s.run_spocd("--check-config", config=conf)
        check.ok(rc == 1 and setting in err and want in err,
                 f"--check-config refuses {extra}: names {setting}, says {want!r}", err)
    conf = cert_config(s, ep, name="bad-cert.conf", key="mismatch.key")
    n0 = len(ep.grants())
    rc, out, err = s.run_spocd("--once", config=conf)
    check.ok(rc == 1 and "is not the private key of the certificate" in err,
             "spocd does not start with a key that is not the certificate's", err)
    check.eq(len(ep.grants()), n0, "and asked the endpoint nothing")


def write_credential(path, token):
    if os.path.exists(path):
        os.chmod(path, 0o600)
    t2.write_secret(path, token, 0o400)


def kept_row(s):
    rows = s.sql("SELECT label, origin_sha256, sealed FROM spocd_private.oauth2_refresh_tokens")
    return rows[0] if len(rows) == 1 else (None, None, b"")


def live_refresh(ep):
    with ep.lock:
        return [t for t, ok in ep.refresh.items() if ok]


def rotated_into_database(check, s, ep):
    """A read-only credential and a strictly rotating endpoint: each refresh token works once."""
    creds = os.path.join(s.dir, "creds")
    os.makedirs(creds, exist_ok=True)
    cred = os.path.join(creds, "mail-refresh")
    first = ep.add_refresh()
    write_credential(cred, first)
    env = {"CREDENTIALS_DIRECTORY": creds}
    s.conf = t2.oauth_config(s, ep, name="kept.conf", grant="refresh_token",
                             refresh_token_credential="mail-refresh")
    n0 = s.sql_value("SELECT count(*) FROM tickets")
    s.append(st.make_message("olga@example.com", "Sin impresora", "No aparece.\r\n"))
    rc, out, err = s.run_spocd("--once", env=env)
    check.ok(rc == 0, "read-only credential: spocd --once logs in", (out + err)[-1500:])
    check.eq(ep.grants("refresh_token")[-1]["refresh_token"], first, "with the credential's token")
    check.ok("is a systemd credential (read-only), so the new one is kept in the database, encrypted"
             in out + err, "the log says the rotated token went to the database", (out + err)[-1500:])
    with open(cred) as f:
        check.eq(f.read().strip(), first, "the credential was left as it was")
    check.ok(ep.refresh.get(first) is False, "and the endpoint no longer takes its token")
    live = live_refresh(ep)
    label, origin, sealed = kept_row(s)
    sealed = bytes(sealed)
    check.ok(label is not None and len(live) == 1, "one row kept, one refresh token alive", live)
    rotated = live[0] if live else "?"
    check.eq(origin, hashlib.sha256(first.encode()).hexdigest(), "the row names the credential's token by its hash")
    forms = [rotated.encode(), base64.b64encode(rotated.encode()), rotated.encode().hex().encode(),
             base64.urlsafe_b64encode(rotated.encode())]
    check.ok(len(sealed) > 28 + len(rotated) - 1 and not any(f in sealed for f in forms)
             and rotated not in (label or "") + (origin or ""),
             "the row holds the token sealed: not in clear, base64 or hex", sealed[:64])

    # a new process: the credential still holds the old token, the database the live one
    s.append(st.make_message("olga@example.com", "Otra cosa", "Tampoco.\r\n"))
    rc, out, err = s.run_spocd("--once", env=env)
    check.ok(rc == 0, "a second run logs in", (out + err)[-1500:])
    check.eq(ep.grants("refresh_token")[-1]["refresh_token"], rotated,
             "with the token kept in the database, not the credential's")
    check.ok("using the refresh token kept in the database" in out + err, "and says so", (out + err)[-1500:])
    check.eq(s.sql_value("SELECT count(*) FROM tickets"), n0 + 2, "both mails became tickets")
    _, _, sealed2 = kept_row(s)
    check.ok(bytes(sealed2) != sealed and bytes(sealed2)[:12] != sealed[:12],
             "the next rotation was sealed again, with a new nonce")

    # an altered row does not open: the credential's token is tried, and the failure is said
    s.sql("UPDATE spocd_private.oauth2_refresh_tokens"
          " SET sealed = overlay(sealed placing '\\x00'::bytea from 20 for 1)")
    rc, out, err = s.run_spocd("--once", env=env)
    check.ok(rc == 75 and "cannot be read from the database" in out + err
             and "does not open with any key" in out + err,
             "an altered row does not open: said, and only the credential's token is tried", (out + err)[-1500:])
    check.eq(ep.grants("refresh_token")[-1]["refresh_token"], first, "the credential's stale token was tried")
    s.sql("UPDATE spocd_private.oauth2_refresh_tokens SET sealed = %s", (sealed2,))

    # the operator puts a fresh token in the credential: it wins over the stored one
    fresh = ep.add_refresh()
    write_credential(cred, fresh)
    rc, out, err = s.run_spocd("--once", env=env)
    check.ok(rc == 0, "a new token in the credential: spocd --once logs in", (out + err)[-1500:])
    check.eq(ep.grants("refresh_token")[-1]["refresh_token"], fresh, "with the credential's new token")
    check.ok("holds a new refresh token: it replaces the one kept in the database" in out + err,
             "and says the credential's replaces the stored one", (out + err)[-1500:])
    check.eq(kept_row(s)[1], hashlib.sha256(fresh.encode()).hexdigest(),
             "the row now descends from the new credential token")


if __name__ == "__main__":
    st.main(test)
