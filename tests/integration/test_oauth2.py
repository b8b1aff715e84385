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

import json
import os
import subprocess
import time

import spocdtest as st
from oauth_endpoint import (SA_EMAIL, TokenEndpoint, no_secret_in, oauth_config,
                            oauth_group, oauth_services, sample, scrape, spocd_texts,
                            wait_inbox_empty, write_secret)


def test(check):
    with oauth_services("spocd-oauth2") as (s, ep, certs, oauth):
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
        wrong_certificate(check, s, certs)
        check_config(check, s, ep)
        no_secret_in(check, ep, spocd_texts(s), "everything spocd wrote in this test")


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


def wrong_certificate(check, s, certs):
    wrong = TokenEndpoint(*certs["wrong"])
    try:
        conf = oauth_config(s, wrong, name="wrong.conf", client_secret_file="client.secret")
        rc, out, err = s.run_spocd("--once", config=conf)
    finally:
        wrong.stop()
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
