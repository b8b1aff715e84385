#!/usr/bin/python3
"""Demo driver (run by contrib/demo): three real services on loopback, the three sample mails of
contrib/samples/, one `spocd --once`, then what came out: tickets and acknowledgements.

With --oauth2, spocd logs in to IMAP and SMTP with OAuth 2.0 access tokens (auth = "oauth2",
client credentials) from a local token endpoint, which Dovecot's oauth2 passdb and the SMTP
listener ask about every token they are shown (tests/integration/oauth_endpoint.py).

Uses the integration-test harness (tests/integration/spocdtest.py), so the demo runs spocd exactly
the way the tests do. Needs root and /usr/bin/python3 (psycopg2, aiosmtpd)."""

import argparse
import contextlib
import os
import sys
import textwrap
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("SPOC_SOURCE_DIR", ROOT)

import oauth_endpoint  # noqa: E402
import spocdtest as st  # noqa: E402

SAMPLES = ["01-incidencia-es.eml", "02-request-en.eml", "03-reply-es.eml", "04-html-attachment-en.eml"]


def heading(text):
    print(f"\n=== {text} " + "=" * max(0, 90 - len(text)), flush=True)


def table(headers, rows):
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


def show_mail(s, mails, first_number):
    for n, a in enumerate(mails, first_number):
        print(f"\n--- {n}: {s.captured_files()[n - 1]}  (envelope from {a.envelope['mail_from']})")
        for h in ("From", "To", "Reply-To", "Subject", "Message-ID", "In-Reply-To", "References",
                  "Auto-Submitted"):
            if a[h] is not None:
                print(f"  {h + ':':16}{a[h]}")
        print()
        print(textwrap.indent(st.body_text(a).rstrip(), "  | ", lambda line: True))


@contextlib.contextmanager
def services(oauth2):
    """The demo's services, kept when they stop; with oauth2, beside a token endpoint, with spocd's
    configuration logging in with its tokens. Yields (s, ep); ep is None without oauth2."""
    if not oauth2:
        with st.Services(name="spocd-demo", keep=True) as s:
            yield s, None
        return
    with oauth_endpoint.oauth_services("spocd-demo-oauth2", keep=True) as (s, ep, _certs, _oauth):
        s.conf = oauth_endpoint.oauth_config(s, ep, client_secret_file="client.secret")
        yield s, ep


def show_oauth2(s, ep, output):
    """Where the tokens came from and who accepted them: spocd's log line, the endpoint's own
    record, Dovecot's login and the SMTP listener's AUTH."""
    heading("OAuth 2.0: the token spocd fetched, and the servers that accepted it")
    for line in output.splitlines():
        if "new access token" in line:
            print(f"  spocd     : {line}")
    for r in ep.grants():
        print(f"  endpoint  : {time.strftime('%H:%M:%S', time.localtime(r['time']))} POST /token "
              f"grant_type={r['grant']} scope={r['scope']}: {'token issued' if r['ok'] else 'refused'}")
    active = sum(1 for r in ep.introspections if r["active"])
    print(f"  endpoint  : {len(ep.introspections)} introspection(s) by Dovecot and the SMTP listener, "
          f"{active} active")
    for line in s.dovecot_log_since(0).splitlines():
        if "method=XOAUTH2" in line or "method=OAUTHBEARER" in line:
            print(f"  dovecot   : {line}")
    auths = {f"{a['mechanism']} as {a['user']}" for m in s.captured() if (a := m.envelope.get("auth"))}
    print(f"  smtp      : {len(s.captured())} message(s) accepted after AUTH {', '.join(sorted(auths)) or '(none)'}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spocd", default=os.path.join(ROOT, "build", "spocd"), help="the spocd binary")
    p.add_argument("--oauth2", action="store_true",
                   help='log in with OAuth 2.0 tokens (auth = "oauth2") from a local token endpoint')
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("contrib/demo.py: run as root (it starts PostgreSQL as `postgres` and a private Dovecot)")
    if not os.access(args.spocd, os.X_OK):
        sys.exit(f"contrib/demo.py: {args.spocd} is not an executable; build first (contrib/demo does)")
    os.environ["SPOCD_BIN"] = os.path.abspath(args.spocd)

    heading("Starting PostgreSQL, Dovecot (IMAP) and an SMTP listener on 127.0.0.1")
    with services(args.oauth2) as (s, ep):
        print(f"\n  directory : {s.dir}")
        print(f"  database  : {s.conninfo}")
        print(f"  IMAP      : 127.0.0.1:{s.imap_port} (imaps {s.imaps_port}), user {st.IMAP_USER}, mailbox INBOX")
        print(f"  SMTP      : 127.0.0.1:{s.smtp_port}, accepted mail written to {s.smtp_dir}/")
        print(f"  config    : {s.conf}")
        if ep is not None:
            print(f"  tokens    : {ep.url}/token (client credentials for client {oauth_endpoint.CLIENT_ID}); "
                  f"IMAP and SMTP log in with auth = \"oauth2\",\n"
                  f"              Dovecot's oauth2 passdb and the SMTP listener introspect each token "
                  f"at {ep.url}/introspect")

        heading("spocd --check-config")
        rc, out, err = s.run_spocd("--check-config")
        if rc != 0:
            sys.exit(f"contrib/demo.py: --check-config exited {rc}")

        heading("Delivering the sample mails to INBOX")
        for name in SAMPLES:
            with open(os.path.join(ROOT, "contrib", "samples", name), "rb") as f:
                raw = f.read()
            m = st.parse(raw)
            uid = s.append(raw)
            print(f"  uid {uid}: {name}: From {m['From']}  Subject \"{m['Subject']}\"")

        heading("spocd --once (one cycle: fetch, store, move, acknowledge)")
        rc, out, err = s.run_spocd("--once")
        print(f"\n  exit status {rc}")
        if ep is not None:
            show_oauth2(s, ep, out + err)
            if rc != 0:
                sys.exit(f"contrib/demo.py: spocd --once exited {rc}: the OAuth 2.0 logins failed "
                         f"(spocd's output above; everything is kept in {s.dir})")

        heading("Tickets")
        rows = s.sql("""SELECT t.display, t.kind, t.status, t.requester, t.subject,
                               count(m.id) FILTER (WHERE m.direction = 'in'),
                               count(m.id) FILTER (WHERE m.direction = 'out')
                          FROM tickets t LEFT JOIN messages m ON m.ticket_id = t.id
                         GROUP BY t.id ORDER BY t.id""")
        table(["ticket", "kind", "status", "requester", "subject", "mails in", "out"], rows)

        heading("What the agents read: the new text of each message, apart from the quoted history")
        for display, sender, new, quoted, sig, files in s.sql(
                """SELECT t.display, m.from_addr, m.body_new, m.body_quoted, m.body_signature,
                          (SELECT string_agg(a.name || ' (' || a.size || ' bytes)', ', ' ORDER BY a.ordinal)
                             FROM attachments a WHERE a.message_row = m.id)
                     FROM messages m JOIN tickets t ON t.id = m.ticket_id
                    WHERE m.direction = 'in' ORDER BY m.id"""):
            print(f"\n  {display} from {sender}:")
            print(textwrap.indent(new, "  | ", lambda line: True))
            if quoted:
                print(f"  (quoted history kept apart: {len(quoted.splitlines())} lines)")
            if sig:
                print(f"  (signature kept apart: {len(sig.splitlines())} lines)")
            if files:
                print(f"  attachments: {files}")

        heading("Mailbox")
        for folder in ("INBOX", "spocd/processed", "spocd/failed"):
            print(f"  {folder:16} {s.folder_count(folder)} message(s)")
        q = s.sql("SELECT uid, reason FROM quarantine ORDER BY id")
        for uid, reason in q:
            print(f"  quarantined uid {uid}: {reason}")

        heading("Outbox")
        table(["ticket", "recipient", "state", "attempts", "last error"],
              s.sql("""SELECT t.display, o.recipient, o.state, o.attempts, o.last_error
                         FROM outbox o JOIN tickets t ON t.id = o.ticket_id ORDER BY o.id"""))

        acks = s.captured()
        heading(f"Acknowledgements received by the SMTP listener: {len(acks)}")
        show_mail(s, acks, 1)

        first = s.sql_value("SELECT display FROM tickets ORDER BY id LIMIT 1")
        heading(f"An agent resolves {first} from any SQL client; the requester is told")
        print(f"  psql> UPDATE tickets SET status = 'resolved' WHERE display = '{first}';")
        s.sql("UPDATE tickets SET status = 'resolved' WHERE display = %s", (first,))
        rc, out, err = s.run_spocd("--role", "notify", "--once")
        show_mail(s, s.captured()[len(acks):], len(acks) + 1)
        directory = s.dir

    heading("Done")
    print(f"""  Every service is stopped. What they left is kept in {directory}:
    spocd.conf, spocd.log          the configuration used and spocd's output
    smtp/<n>.eml, smtp/<n>.json    each acknowledgement as sent, with its envelope
    dovecot/dovecot.log            the IMAP server's log; mail/{st.IMAP_USER}/Maildir the mailbox
    pg/postgres.log                the database log (the data directory is pg/data)
  Remove it with: rm -rf {directory}""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
