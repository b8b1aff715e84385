"""Harness for spocd's integration tests, the demo and the benchmark.

    with spocdtest.Services() as s:          # or Services(imap_cert="wrong", smtp_tls="implicit", ...)
        uid = s.append(raw_bytes)             # IMAP APPEND to INBOX, returns the new UID
        rc, out, err = s.run_spocd("--once")  # the real binary ($SPOCD_BIN) with s.conf
        d = s.start_spocd()                   # the same in the background: d.text(), d.stop()
        s.sql("SELECT display FROM tickets")  # psycopg2 over the cluster's Unix socket
        s.captured()                          # acknowledgements the SMTP listener accepted
        wait_for(lambda: s.captured(), 10, "an acknowledgement")  # poll, never sleep

In a fresh temporary directory (printed; kept when SPOC_KEEP=1 or keep=True) it starts, on
127.0.0.1 and on free ports only:
  - a private PostgreSQL 15 cluster (initdb and postgres run as the `postgres` user, Unix socket in
    the directory, fsync=off) with a database `spocd`;
  - a private Dovecot from one config file (dovecot -F -c FILE): passwd-file user, Maildir with
    LAYOUT=fs (or, with Services(mail_format="mdbox"), Dovecot's multi-dbox, whose INBOX stays
    quick to change when it holds 100,000 messages) so the hierarchy separator is "/"
    ("spocd/processed" is a folder "processed" inside "spocd"), an imap listener (plain text and
    STARTTLS) and an imaps listener, certificates from a test CA made with openssl (right host,
    wrong host, expired), auth_verbose=yes;
  - the SMTP capture listener (smtp_capture.py, aiosmtpd) writing accepted mail to smtp/<n>.eml.
It writes spocd.conf, imap.password and ca.pem beside each other in the directory. Every process
it starts gets its own process group and is stopped by its PID (then its group is killed) when the
`with` block ends, at exit, on SIGTERM, and, should the harness itself be killed, through the
parent-death signal. Use /usr/bin/python3 (it sees psycopg2 and aiosmtpd).
"""

import atexit
import collections
import ctypes
import email
import email.policy
import email.utils
import hashlib
import imaplib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("SPOC_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
PG_BIN = "/usr/lib/postgresql/15/bin"
PYTHON = "/usr/bin/python3"
DOVECOT = shutil.which("dovecot", path="/usr/sbin:/usr/bin:/sbin:/bin") or "/usr/sbin/dovecot"
CRLF = b"\r\n"

IMAP_USER = "helpdesk"
IMAP_PASSWORD = "s3cret-test-password"
# The uid/gid Dovecot's mail processes run as for the test user (root is refused by Dovecot).
MAIL_OWNER = "nobody"
# Dovecot's mail_location for each mailbox format Services(mail_format=...) offers. maildir
# (the default) keeps a file per message, which tests and bench/ingest can write straight into
# new/; but at every expunge Dovecot rescans the whole cur/ directory, so in a 100,000-message
# INBOX every move takes seconds. mdbox keeps many messages per file and its state in the
# index: it stays fast at that size, and its mail can only arrive through Dovecot (APPEND).
MAIL_LOCATIONS = {"maildir": "maildir:~/Maildir:LAYOUT=fs", "mdbox": "mdbox:~/mdbox"}
# Messages per APPEND command of append_many(): each command is one transaction in Dovecot.
MULTIAPPEND_CHUNK = 500

_live = []  # every Services not yet stopped, for atexit and signals


def log(text):
    print(f"[spocdtest] {text}", flush=True)


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout, what, step=0.05, detail=None):
    """Calls cond() every `step` seconds until it returns a true value, and returns that value.
    After `timeout` seconds raises AssertionError naming `what` was awaited, with detail() (a
    log's tail, the rows seen) when given. The one way the tests wait: for a row, a file, a log
    line, never for a fixed time."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() >= deadline:
            extra = ""
            if detail is not None:
                try:
                    extra = f"\n  {detail()}"
                except Exception as e:  # the failure must still be reported
                    extra = f"\n  (no detail: {e})"
            raise AssertionError(f"FAILED: not within {timeout}s: {what}{extra}")
        time.sleep(step)


def _alive(proc, what):
    """Raises RuntimeError when proc has exited: nothing it was to do will happen now."""
    if proc.poll() is not None:
        raise RuntimeError(f"{what} exited with {proc.returncode}")


def wait_port(port, timeout=20, proc=None, what="service"):
    def listening():
        if proc is not None:
            _alive(proc, f"{what} (before listening on {port})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False
    wait_for(listening, timeout, f"{what} listening on 127.0.0.1:{port}")


_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _child_setup(deathsig):
    """preexec_fn: die with the harness even when it is SIGKILLed (runs after any uid change)."""
    def setup():
        _libc.prctl(PR_SET_PDEATHSIG, deathsig, 0, 0, 0)
    return setup


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def spocd_bin():
    path = os.environ.get("SPOCD_BIN")
    if not path:
        for cand in ("/tmp/build-it/spocd", os.path.join(SOURCE_DIR, "build", "spocd")):
            if os.access(cand, os.X_OK):
                return cand
        raise RuntimeError("SPOCD_BIN is not set (path of the built spocd binary)")
    return path


def spocctl_bin():
    path = os.environ.get("SPOCCTL_BIN")
    if not path:
        path = os.path.join(os.path.dirname(spocd_bin()), "spocctl")
    return path


# ---------------------------------------------------------------------------------------------
# Messages


def make_message(from_addr, subject, body, *, from_name=None, to="help@desk.test", message_id=None,
                 in_reply_to=None, references=None, date=None, language=None, attachments=(),
                 cte="quoted-printable", extra_headers=(), html=None):
    """A realistic RFC 5322 message with CRLF line ends, as bytes. attachments: (filename,
    content_type, bytes). references: a list of Message-IDs (with <>). html: an HTML alternative."""
    from email.message import EmailMessage
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = email.utils.formataddr((from_name, from_addr)) if from_name else from_addr
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = date or email.utils.formatdate(localtime=True)
    msg["Message-ID"] = message_id or email.utils.make_msgid(domain=from_addr.rpartition("@")[2])
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    msg["MIME-Version"] = "1.0"
    msg["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.6.0"
    for name, value in extra_headers:
        msg[name] = value
    msg.set_content(body, charset="utf-8", cte=cte)
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8", cte=cte)
    for filename, ctype, data in attachments:
        maintype, _, subtype = ctype.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    if language:
        # after set_content(), which drops every Content-* header
        msg["Content-Language"] = language
    raw = msg.as_bytes(policy=email.policy.SMTP)
    assert b"\n" not in raw.replace(CRLF, b"")
    return raw


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def body_text(msg):
    part = msg.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


_ES_WORDS = set("""hemos recibido recibida su sus tu tus el la los las del que para con gracias por
una es le les nuestro nuestra equipo mensaje hola saludos solicitud incidencia número le
responderemos atenderemos pronto posible ha sido registrada registrado indique""".split())
_EN_WORDS = set("""we have your the of that for with thank thanks you received is our team message
hello regards request incident number has been reply as soon possible will registered logged
please""".split())


def language_of(text):
    """("es" | "en" | "?", Spanish word count, English word count) by counting common words."""
    words = re.findall(r"[a-záéíóúñü]+", text.lower())
    es = sum(w in _ES_WORDS for w in words)
    en = sum(w in _EN_WORDS for w in words)
    return ("es" if es > en else "en" if en > es else "?"), es, en


def norm_id(value):
    """A Message-ID as "<left@right>" whether stored with or without its angle brackets."""
    if value is None:
        return None
    v = str(value).strip()
    return v if v.startswith("<") else f"<{v}>"


def ids_in(value):
    """The Message-IDs in a References/In-Reply-To value, or in a list of them."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        value = " ".join(norm_id(v) for v in value)
    return re.findall(r"<[^<>\s]+>", str(value))


# ---------------------------------------------------------------------------------------------
# Certificates


def make_certs(d):
    """Test CA + server certificates in d: good (IP:127.0.0.1, DNS:localhost), wrong
    (DNS:wrong.example), expired (right names, validity in 2020), clientonly (right names and
    dates, but extendedKeyUsage clientAuth only: not for a server). Returns {name: (cert, key)}."""
    os.makedirs(d, exist_ok=True)

    def run(*cmd, **kw):
        subprocess.run(cmd, check=True, cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)

    def key(name):
        run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-out", f"{name}.key")
        os.chmod(os.path.join(d, f"{name}.key"), 0o600)

    key("ca")
    run("openssl", "req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "3650",
        "-subj", "/O=spocd tests/CN=spocd test CA", "-out", "ca.pem",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    leaves = {
        "good": ("/CN=127.0.0.1", "IP:127.0.0.1,DNS:localhost", "serverAuth"),
        "wrong": ("/CN=wrong.example", "DNS:wrong.example", "serverAuth"),
        "expired": ("/CN=127.0.0.1", "IP:127.0.0.1,DNS:localhost", "serverAuth"),
        "clientonly": ("/CN=127.0.0.1", "IP:127.0.0.1,DNS:localhost", "clientAuth"),
    }
    # `openssl ca` is the one OpenSSL 3.0 tool that takes explicit validity dates.
    with open(os.path.join(d, "index.txt"), "w"):
        pass
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("1000\n")
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write(f"""[ ca ]
default_ca = test_ca
[ test_ca ]
dir = {d}
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[ policy_any ]
commonName = supplied
""")
    out = {}
    for name, (subj, san, eku) in leaves.items():
        key(name)
        run("openssl", "req", "-new", "-key", f"{name}.key", "-subj", subj, "-out", f"{name}.csr")
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(f"basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                    f"extendedKeyUsage={eku}\nsubjectAltName={san}\n")
        dates = (["-startdate", "20200101000000Z", "-enddate", "20200201000000Z"] if name == "expired"
                 else ["-days", "825"])
        run("openssl", "ca", "-batch", "-config", "ca.cnf", "-notext", "-in", f"{name}.csr",
            "-out", f"{name}.pem", "-extfile", f"{name}.ext", *dates)
        out[name] = (os.path.join(d, f"{name}.pem"), os.path.join(d, f"{name}.key"))
    out["ca"] = (os.path.join(d, "ca.pem"), os.path.join(d, "ca.key"))
    return out


# ---------------------------------------------------------------------------------------------
# Configuration of spocd


def render_conf(tree):
    """libconfig text from nested dicts (groups, also within groups), lists (arrays), str/int/bool
    scalars."""
    def scalar(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, (list, tuple)):
            return "[ " + ", ".join(scalar(x) for x in v) + " ]"
        raise TypeError(v)

    def group(value, indent):
        for k, v in value.items():
            if v is None:
                continue
            if isinstance(v, dict):
                lines.append(f"{indent}{k}: {{")
                group(v, indent + "  ")
                lines.append(f"{indent}}};")
            else:
                lines.append(f"{indent}{k} = {scalar(v)};")

    lines = ["# spocd.conf written by tests/integration/spocdtest.py"]
    for key, value in tree.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines.append("{")
            group(value, "  ")
            lines.append("};")
        elif value is not None:
            lines.append(f"{key} = {scalar(value)};")
    return "\n".join(lines) + "\n"


def conf_line(path, setting):
    """1-based line number of `name = ` for setting "group.name" in a file written by render_conf."""
    group, _, name = setting.rpartition(".")
    in_group = not group
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            s = line.strip()
            if group and s == f"{group}:":
                in_group = True
            elif group and in_group and s.startswith("};"):
                in_group = False
            elif in_group and re.match(rf"{re.escape(name)}\s*=", s):
                return n
    raise KeyError(setting)


# ---------------------------------------------------------------------------------------------
# The services


class Services:
    def __init__(self, *, imap_cert="good", smtp=True, smtp_tls="none", smtp_cert="good",
                 smtp_mode="accept", keep=None, name="spocd-test", dovecot_oauth2=None,
                 smtp_oauth2=None, pg_settings=None, pg_initdb_args=(), imap_rawlog=False,
                 dovecot=True, directory=None, mail_format="maildir"):
        self.keep = keep if keep is not None else os.environ.get("SPOC_KEEP") == "1"
        # directory: this directory (made if missing, always kept) instead of a fresh temporary
        # one; a PostgreSQL cluster a previous run left in it is started again as it is (the
        # benchmarks reuse a database that took long to fill).
        self.directory = directory
        if directory is not None:
            self.keep = True
        # dovecot=False: no IMAP server (the ports in the configuration are free ones nobody
        # listens on), for what needs PostgreSQL alone.
        self._dovecot_wanted = dovecot
        if mail_format not in MAIL_LOCATIONS:
            raise ValueError(f"Services(mail_format={mail_format!r}): expected one of "
                             f"{', '.join(sorted(MAIL_LOCATIONS))}")
        self.mail_format = mail_format
        self.name = name
        self._imap_cert = imap_cert
        self._smtp_wanted = smtp
        self._smtp_tls = smtp_tls
        self._smtp_cert = smtp_cert
        self._smtp_mode = smtp_mode
        # OAuth 2.0 logins (test_oauth2): {"introspection_url": ..., "ca_file": ...,
        # "mechanisms": "xoauth2 oauthbearer"}. Dovecot then logs the test user in with an access
        # token its oauth2 passdb introspects (passwords still work for the harness's own
        # client); the SMTP listener accepts only AUTH XOAUTH2/OAUTHBEARER with such a token.
        # Changed dovecot_oauth2 takes effect at restart_dovecot().
        self.dovecot_oauth2 = dovecot_oauth2
        self.smtp_oauth2 = smtp_oauth2
        # Extra postgresql.conf settings for the cluster, {name: value}, given to postgres as
        # -c name=value after the harness's own (the benchmarks: pg_stat_statements,
        # track_commit_timestamp). None: the harness's settings alone.
        self.pg_settings = dict(pg_settings or {})
        # Extra initdb arguments (bench/chaos: --waldir on a small tmpfs, --wal-segsize).
        self.pg_initdb_args = list(pg_initdb_args)
        # imap_rawlog: Dovecot writes what each IMAP client sent (rawlog_dir), read back with
        # imap_commands(), for the tests that check the commands spocd sends.
        self.imap_rawlog = imap_rawlog
        self.procs = {}       # name -> Popen
        self.daemons = []     # every Spocd start_spocd() started
        self._db = None
        self._imap = None
        self.dir = None
        self.smtp_port = None
        self.conf = None

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        if self.directory is not None:
            self.dir = os.path.abspath(self.directory)
            os.makedirs(self.dir, exist_ok=True)
        else:
            self.dir = tempfile.mkdtemp(prefix=f"{self.name}-", dir="/tmp")
        # Dovecot's mail processes (MAIL_OWNER) and PostgreSQL (postgres) must traverse it.
        os.chmod(self.dir, 0o755)
        log(f"directory {self.dir}" + (" (kept at the end)" if self.keep else
                                       " (removed at the end; SPOC_KEEP=1 keeps it)"))
        _live.append(self)
        self.certs = make_certs(os.path.join(self.dir, "tls"))
        shutil.copy(self.certs["ca"][0], os.path.join(self.dir, "ca.pem"))
        with open(os.path.join(self.dir, "imap.password"), "w") as f:
            f.write(IMAP_PASSWORD + "\n")
        os.chmod(os.path.join(self.dir, "imap.password"), 0o600)
        self.start_postgres()
        if self._dovecot_wanted:
            self.start_dovecot(self._imap_cert)
        else:
            self.imap_port, self.imaps_port = free_port(), free_port()
        self.smtp_dir = os.path.join(self.dir, "smtp")
        os.makedirs(self.smtp_dir, exist_ok=True)
        self.smtp_port = free_port()
        if self._smtp_wanted:
            self.start_smtp(tls=self._smtp_tls, cert=self._smtp_cert, mode=self._smtp_mode)
        self.conf = self.write_config()
        return self

    def stop(self):
        if self in _live:
            _live.remove(self)
        for closer in (self._close_imap, self._close_db):
            try:
                closer()
            except Exception:
                pass
        # Order: what talks to the others first; a spocd a failed test left running first of all.
        for d in self.daemons:
            try:
                d.stop(timeout=10)
            except Exception as e:
                log(f"stopping {d.name} failed: {e}")
        for name in ("smtp", "dovecot", "postgres"):
            self._stop_proc(name)
        for name in list(self.procs):
            self._stop_proc(name)
        if self.dir and os.path.isdir(self.dir):
            if self.keep:
                log(f"services stopped; directory kept: {self.dir}")
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
                log(f"services stopped; directory {self.dir} removed")

    def _spawn(self, name, argv, *, user=None, deathsig=signal.SIGTERM, log_file=None, env=None):
        out = open(log_file or os.path.join(self.dir, f"{name}.out"), "ab")
        kw = {}
        if user is not None:
            pw = pwd.getpwnam(user)
            kw.update(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True, preexec_fn=_child_setup(deathsig), env=env,
                             cwd=self.dir, **kw)
        out.close()
        self.procs[name] = p
        log(f"started {name} pid {p.pid}: {' '.join(argv[:3])} ...")
        return p

    def _stop_proc(self, name, sig=signal.SIGTERM, timeout=15):
        p = self.procs.pop(name, None)
        if p is None:
            return
        if p.poll() is None:
            try:
                p.send_signal(sig)
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log(f"{name} pid {p.pid} did not stop within {timeout}s: SIGKILL")
                p.kill()
                p.wait()
            except ProcessLookupError:
                pass
        # Children left in its process group (the group id is the PID: start_new_session).
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        log(f"stopped {name} pid {p.pid} (exit {p.returncode})")

    # -- PostgreSQL -------------------------------------------------------------------------

    def start_postgres(self):
        base = os.path.join(self.dir, "pg")
        self.pg_data = os.path.join(base, "data")
        self.pg_sock = os.path.join(base, "sock")
        reuse = os.path.isfile(os.path.join(self.pg_data, "PG_VERSION"))
        os.makedirs(self.pg_sock, exist_ok=reuse)
        pw = pwd.getpwnam("postgres")
        for d in (base, self.pg_sock):
            os.chown(d, pw.pw_uid, pw.pw_gid)
        env = self._pg_env()
        if not reuse:
            r = subprocess.run([f"{PG_BIN}/initdb", "-D", self.pg_data, "-U", "postgres", "--auth=trust",
                                "-E", "UTF8", "--no-locale", "--no-sync", *self.pg_initdb_args],
                               user=pw.pw_uid, group=pw.pw_gid, extra_groups=[], cwd=base, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                raise RuntimeError(f"initdb failed:\n{r.stdout.decode(errors='replace')}")
        self.pg_port = free_port()
        self.conninfo = f"host={self.pg_sock} port={self.pg_port} dbname=spocd user=postgres"
        c = self.run_postgres()
        c.autocommit = True
        with c.cursor() as cur:
            if not reuse:
                cur.execute("CREATE DATABASE spocd")
        c.close()
        log(f"postgres ready: {self.conninfo}" + (" (the cluster already in the directory)" if reuse else ""))

    def _pg_env(self):
        base = os.path.join(self.dir, "pg")
        return {"PATH": f"{PG_BIN}:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": base}

    def run_postgres(self, name="postgres", data=None, port=None, timeout=30):
        """Starts a postgres server (the test's own: its data directory and port, unless given:
        a standby's) with the harness's settings, socket in the same directory, and waits until
        it accepts connections. Returns a connection to its database `postgres`."""
        data, port = data or self.pg_data, port or self.pg_port
        pg_log = os.path.join(os.path.dirname(self.pg_data), f"{name}.log")
        self._spawn(name, [f"{PG_BIN}/postgres", "-D", data, "-p", str(port),
                           "-c", "listen_addresses=127.0.0.1",
                           "-c", f"unix_socket_directories={self.pg_sock}",
                           "-c", "fsync=off", "-c", "full_page_writes=off",
                           "-c", "max_connections=50",
                           *[a for k, v in self.pg_settings.items() for a in ("-c", f"{k}={v}")]],
                    user="postgres", deathsig=signal.SIGQUIT, env=self._pg_env(), log_file=pg_log)

        def connected():
            _alive(self.procs[name], f"{name}:\n" + self._tail(pg_log))
            try:
                return psycopg2.connect(host=self.pg_sock, port=port, dbname="postgres", user="postgres")
            except psycopg2.OperationalError:
                return None
        return wait_for(connected, timeout, f"{name} accepting connections", step=0.1,
                        detail=lambda: self._tail(pg_log))

    def stop_postgres(self, mode="immediate", timeout=60):
        """`pg_ctl stop -m MODE` on the cluster (immediate: no checkpoint, every backend gone at
        once, crash recovery at the next start, as a power cut). Returns pg_ctl's exit status."""
        self._close_db()
        pw = pwd.getpwnam("postgres")
        r = subprocess.run([f"{PG_BIN}/pg_ctl", "-D", self.pg_data, "stop", "-m", mode, "-t", str(timeout)],
                           user=pw.pw_uid, group=pw.pw_gid, extra_groups=[], env=self._pg_env(),
                           cwd=os.path.join(self.dir, "pg"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        log(f"pg_ctl stop -m {mode} -> exit {r.returncode}: {r.stdout.decode(errors='replace').strip()}")
        self._stop_proc("postgres")
        return r.returncode

    def restart_postgres(self, timeout=60):
        """Starts the cluster again (same port, socket and data) after stop_postgres() or after the
        postmaster went away by itself; waits until it accepts connections."""
        self._stop_proc("postgres")
        self.run_postgres(timeout=timeout).close()
        log(f"postgres ready again: {self.conninfo}")

    def pg_ctl(self, *args, data=None):
        """Runs pg_ctl ARGS -D DATA (the test's data directory unless given) as postgres."""
        pw = pwd.getpwnam("postgres")
        r = subprocess.run([f"{PG_BIN}/pg_ctl", *args, "-D", data or self.pg_data],
                           user=pw.pw_uid, group=pw.pw_gid, extra_groups=[],
                           cwd=os.path.dirname(self.pg_data), capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"pg_ctl {' '.join(args)} failed:\n{r.stdout}{r.stderr}")
        return r.stdout

    def make_standby(self, name="standby"):
        """A streaming standby of the test's server (pg_basebackup -R) in its own data directory
        on a free port, started and accepting (read-only) connections. Returns (data, port,
        conninfo)."""
        base = os.path.dirname(self.pg_data)
        data = os.path.join(base, name)
        pw = pwd.getpwnam("postgres")
        # -c fast: a spread checkpoint can keep pg_basebackup waiting for minutes
        r = subprocess.run([f"{PG_BIN}/pg_basebackup", "-h", self.pg_sock, "-p", str(self.pg_port),
                            "-U", "postgres", "-D", data, "-R", "-X", "stream", "--no-sync",
                            "-c", "fast", "-d", f"application_name={name}"],
                           user=pw.pw_uid, group=pw.pw_gid, extra_groups=[], cwd=base,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"pg_basebackup failed:\n{r.stdout}{r.stderr}")
        port = free_port()
        self.run_postgres(name, data=data, port=port).close()
        conninfo = f"host={self.pg_sock} port={port} dbname=spocd user=postgres"
        log(f"{name} ready (hot standby of port {self.pg_port}): {conninfo}")
        return data, port, conninfo

    def _close_db(self):
        if self._db is not None:
            self._db.close()
            self._db = None

    def sql(self, query, params=None):
        """Runs one statement in autocommit mode. Returns the rows for a query that has any
        (bytea as bytes), else the row count."""
        if self._db is None or self._db.closed:
            self._db = psycopg2.connect(self.conninfo)
            self._db.autocommit = True
        with self._db.cursor() as cur:
            cur.execute(query, params)
            if cur.description is None:
                return cur.rowcount
            rows = cur.fetchall()
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]

    def sql_value(self, query, params=None):
        rows = self.sql(query, params)
        return rows[0][0] if rows else None

    # -- Dovecot ----------------------------------------------------------------------------

    def start_dovecot(self, cert="good"):
        """Starts (or restarts, same ports, same mail) Dovecot serving certificate `cert`:
        "good", "wrong", "expired" or "clientonly"."""
        base = os.path.join(self.dir, "dovecot")
        first = not hasattr(self, "imap_port")
        if first:
            os.makedirs(os.path.join(base, "run"))
            os.makedirs(os.path.join(base, "state"))
            owner = pwd.getpwnam(MAIL_OWNER)
            self.mail_home = os.path.join(self.dir, "mail", IMAP_USER)
            os.makedirs(self.mail_home)
            os.chown(self.mail_home, owner.pw_uid, owner.pw_gid)
            os.chmod(self.mail_home, 0o700)
            self.dovecot_users = os.path.join(base, "users")
            with open(self.dovecot_users, "w") as f:
                f.write(f"{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}:{owner.pw_uid}:{owner.pw_gid}::"
                        f"{self.mail_home}::\n")
            os.chmod(self.dovecot_users, 0o644)
            self.imap_port = free_port()
            self.imaps_port = free_port()
            self.dovecot_log = os.path.join(base, "dovecot.log")
            self.rawlog_dir = os.path.join(base, "rawlog")
            if self.imap_rawlog:
                os.makedirs(self.rawlog_dir)
                os.chown(self.rawlog_dir, owner.pw_uid, owner.pw_gid)
        self._stop_proc("dovecot")
        rawlog = f"  rawlog_dir = {self.rawlog_dir}\n" if self.imap_rawlog else ""
        self.imap_cert = cert
        c, k = self.certs[cert]
        dh = "ssl_dh = </usr/share/dovecot/dh.pem" if os.path.exists("/usr/share/dovecot/dh.pem") else ""
        mechanisms, oauth2_passdb = "plain login", ""
        if self.dovecot_oauth2:
            o = self.dovecot_oauth2
            mechanisms += " " + o.get("mechanisms", "xoauth2 oauthbearer")
            ext = os.path.join(base, "dovecot-oauth2.conf.ext")
            with open(ext, "w") as f:
                f.write(f"introspection_mode = post\nintrospection_url = {o['introspection_url']}\n"
                        f"username_attribute = username\nactive_attribute = active\n"
                        f"active_value = true\nforce_introspection = yes\n"
                        f"tls_ca_cert_file = {o['ca_file']}\n")
            os.chmod(ext, 0o644)
            oauth2_passdb = (f"passdb {{\n  driver = oauth2\n  mechanisms = "
                             f"{o.get('mechanisms', 'xoauth2 oauthbearer')}\n  args = {ext}\n}}\n")
        self.dovecot_conf = os.path.join(base, "dovecot.conf")
        with open(self.dovecot_conf, "w") as f:
            f.write(f"""# Private Dovecot for spocd tests (spocdtest.py). Certificate: {cert}
base_dir = {base}/run
state_dir = {base}/state
instance_name = spocdtest-{os.path.basename(self.dir)}
log_path = {self.dovecot_log}
log_timestamp = "%Y-%m-%d %H:%M:%S "
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{c}
ssl_key = <{k}
{dh}
ssl_min_protocol = TLSv1.2
verbose_ssl = no
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_verbose = yes
auth_debug = no
first_valid_uid = 1
mail_location = {MAIL_LOCATIONS[self.mail_format]}
mail_fsync = never
namespace inbox {{
  inbox = yes
  separator = /
  prefix =
}}
{oauth2_passdb}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.dovecot_users}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.dovecot_users}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
}}
protocol imap {{
  mail_max_userip_connections = 50
{rawlog}}}
""")
        p = self._spawn("dovecot", [DOVECOT, "-F", "-c", self.dovecot_conf],
                        log_file=os.path.join(base, "dovecot.stderr"))
        try:
            wait_port(self.imap_port, proc=p, what="dovecot")
            wait_port(self.imaps_port, proc=p, what="dovecot")
        except RuntimeError as e:
            raise RuntimeError(f"{e}\n{self._tail(os.path.join(base, 'dovecot.stderr'))}"
                               f"\n{self._tail(self.dovecot_log)}")
        log(f"dovecot ready: imap 127.0.0.1:{self.imap_port} (plain/STARTTLS), "
            f"imaps 127.0.0.1:{self.imaps_port}, certificate {cert}")

    def restart_dovecot(self, cert):
        self._close_imap()
        self.start_dovecot(cert)

    @staticmethod
    def _tail(path, n=40):
        try:
            with open(path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def dovecot_log_size(self):
        try:
            return os.path.getsize(self.dovecot_log)
        except OSError:
            return 0

    def dovecot_log_quiet(self, timeout=10):
        """Closes the harness's own IMAP session and waits until Dovecot has logged its logout;
        returns the log size to give dovecot_log_since()."""
        if self._imap is not None:
            before = self.dovecot_log_size()
            self._close_imap()
            wait_for(lambda: "Logged out" in self.dovecot_log_since(before), timeout,
                     "Dovecot's log line for the harness's own logout",
                     detail=lambda: self.dovecot_log_since(before))
        return self.dovecot_log_size()

    def dovecot_log_since(self, offset):
        try:
            with open(self.dovecot_log, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def imap(self, tls=False):
        """A logged-in imaplib client (plain port, or imaps verified against the test CA)."""
        if tls:
            ctx = ssl.create_default_context(cafile=self.certs["ca"][0])
            c = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port, ssl_context=ctx, timeout=30)
        else:
            c = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=30)
        c.login(IMAP_USER, IMAP_PASSWORD)
        return c

    def _client(self):
        if self._imap is None:
            self._imap = self.imap()
        else:
            try:
                self._imap.noop()
            except Exception:
                self._imap = self.imap()
        return self._imap

    def _close_imap(self):
        if self._imap is not None:
            try:
                self._imap.logout()
            except Exception:
                pass
            self._imap = None

    def append(self, raw, mailbox="INBOX", flags=None):
        """IMAP APPEND of raw bytes (exactly as given), with flags such as "(\\Seen)" when given;
        returns the UID Dovecot gave it."""
        c = self._client()
        typ, data = c.append(mailbox, flags, None, raw)
        if typ != "OK":
            raise RuntimeError(f"APPEND to {mailbox} failed: {data}")
        m = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
        uid = int(m.group(1)) if m else None
        log(f"appended {len(raw)} bytes to {mailbox}: uid {uid}")
        return uid

    def append_many(self, raws, mailbox="INBOX"):
        """Appends every message of the iterable `raws` (bytes, exactly as given) to `mailbox`
        over one connection, MULTIAPPEND_CHUNK messages per APPEND command (MULTIAPPEND, RFC 3502)
        whose literals are non-synchronizing (LITERAL+, RFC 7888), so nothing waits for a round
        trip per message; returns the UIDs Dovecot gave them, in order."""
        c = self._client()
        caps = c.capability()[1][0].upper().split()
        for cap in (b"MULTIAPPEND", b"LITERAL+"):
            if cap not in caps:
                raise RuntimeError(f"append_many to {mailbox}: the server lacks {cap.decode()}")
        uids, chunk = [], []
        for raw in raws:
            chunk.append(raw)
            if len(chunk) == MULTIAPPEND_CHUNK:
                uids += self._multiappend(c, mailbox, chunk)
                chunk = []
        if chunk:
            uids += self._multiappend(c, mailbox, chunk)
        log(f"appended {len(uids)} messages to {mailbox}: uids {uids[0] if uids else '-'}.."
            f"{uids[-1] if uids else '-'}")
        return uids

    @staticmethod
    def _multiappend(c, mailbox, raws):
        """One APPEND command of every message of `raws` to `mailbox` over imaplib client `c`;
        returns the UIDs of APPENDUID."""
        tag = c._new_tag()
        c.tagged_commands[tag] = None  # as imaplib's own _command() does, to accept the reply
        parts = [tag + b" APPEND " + _quote(mailbox).encode()]
        for raw in raws:
            parts += [b" {%d+}\r\n" % len(raw), raw]
        parts.append(b"\r\n")
        c.send(b"".join(parts))
        typ, data = c._command_complete("APPEND", tag)
        m = re.search(rb"APPENDUID \d+ ([0-9:,]+)", data[0] or b"") if typ == "OK" else None
        if m is None:
            raise RuntimeError(f"APPEND of {len(raws)} messages to {mailbox} failed: {typ} {data}")
        uids = []
        for r in m.group(1).split(b","):
            lo, _, hi = r.partition(b":")
            uids += range(int(lo), int(hi or lo) + 1)
        if len(uids) != len(raws):
            raise RuntimeError(f"APPEND of {len(raws)} messages to {mailbox}: APPENDUID names {len(uids)}")
        return uids

    def folder_uids(self, name):
        """UIDs of every message in folder `name` (deleted-flagged ones included), or [] when the
        folder does not exist."""
        c = self._client()
        typ, data = c.select(_quote(name), readonly=True)
        if typ != "OK":
            return []
        typ, data = c.uid("SEARCH", "ALL")
        c.unselect() if hasattr(c, "unselect") else c.close()
        return [int(x) for x in (data[0] or b"").split()]

    def imap_commands(self):
        """The commands spocd's IMAP sessions sent, one line each in the order sent, from Dovecot's
        rawlog (Services(imap_rawlog=True)); the harness's own imaplib sessions (alphabetic tags)
        are left out, and so are literals and the LOGIN line."""
        lines = []
        for name in sorted(os.listdir(self.rawlog_dir)):
            if not name.endswith(".in"):
                continue
            with open(os.path.join(self.rawlog_dir, name), "rb") as f:
                # each line after the time Dovecot received it
                got = [re.sub(r"^[0-9]+\.[0-9]+ ", "", ln.rstrip(b"\r\n").decode("utf-8", "replace"))
                       for ln in f]
            # libetpan numbers its tags; imaplib's are letters and a number
            if not got or not re.match(r"^[0-9]+ ", got[0]):
                continue
            lines += [ln for ln in got if re.match(r"^[0-9]+ ", ln) and " LOGIN " not in ln]
        return lines

    def folder_count(self, name):
        return len(self.folder_uids(name))

    def folders(self):
        typ, data = self._client().list()
        out = []
        for line in data or []:
            m = re.match(rb'\((.*?)\) (NIL|"(?:[^"\\]|\\.)*") (.*)', line)
            if m:
                out.append(m.group(3).decode().strip('"'))
        return out

    def fetch_raw(self, name, uid):
        c = self._client()
        c.select(_quote(name), readonly=True)
        typ, data = c.uid("FETCH", str(uid), "(BODY.PEEK[])")
        c.close()
        for item in data:
            if isinstance(item, tuple):
                return item[1]
        return None

    def maildir_new(self, mailbox="INBOX"):
        """The `new/` directory of a folder's maildir (LAYOUT=fs: INBOX is ~/Maildir itself)."""
        if self.mail_format != "maildir":
            raise RuntimeError(f"maildir_new({mailbox}): Dovecot stores mail as {self.mail_format} "
                               f"here, not maildir; use append_many()")
        root = os.path.join(self.mail_home, "Maildir")
        return os.path.join(root, "new") if mailbox == "INBOX" else os.path.join(root, mailbox, "new")

    # -- SMTP -------------------------------------------------------------------------------

    def start_smtp(self, tls="none", cert="good", mode=None, port=None):
        """Starts (or restarts) the capture listener on self.smtp_port (kept across restarts)."""
        self._stop_proc("smtp")
        if port is not None:
            self.smtp_port = port
        if mode is not None:
            self.smtp_mode(mode)
        ready = os.path.join(self.dir, "smtp.ready")
        if os.path.exists(ready):
            os.unlink(ready)
        argv = [PYTHON, os.path.join(HERE, "smtp_capture.py"), "--port", str(self.smtp_port),
                "--dir", self.smtp_dir, "--ready-file", ready, "--tls", tls]
        if tls != "none":
            c, k = self.certs[cert]
            argv += ["--cert", c, "--key", k]
        if self.smtp_oauth2:
            o = self.smtp_oauth2
            argv += ["--oauth2-introspect", o["introspection_url"], "--oauth2-ca", o["ca_file"],
                     "--oauth2-mechanisms", o.get("mechanisms", "XOAUTH2 OAUTHBEARER")]
        p = self._spawn("smtp", argv, log_file=os.path.join(self.dir, "smtp.log"))
        smtp_log = os.path.join(self.dir, "smtp.log")

        def started():
            _alive(p, "smtp_capture:\n" + self._tail(smtp_log))
            return os.path.exists(ready)
        wait_for(started, 20, f"smtp_capture's ready file {ready}", detail=lambda: self._tail(smtp_log))
        log(f"smtp capture ready: 127.0.0.1:{self.smtp_port} tls={tls}"
            + (f" certificate {cert}" if tls != "none" else "") + f", writing to {self.smtp_dir}")

    def stop_smtp(self):
        self._stop_proc("smtp")

    def smtp_mode(self, mode):
        with open(os.path.join(self.smtp_dir, "mode"), "w") as f:
            f.write(mode + "\n")
        log(f"smtp capture mode: {mode}")

    def captured_files(self):
        names = [n for n in os.listdir(self.smtp_dir) if n.endswith(".eml") and n[:-4].isdigit()]
        return [os.path.join(self.smtp_dir, n) for n in sorted(names, key=lambda n: int(n[:-4]))]

    def captured(self):
        """Every message the SMTP listener accepted, in order, parsed (email.policy.default).
        Each has .envelope (dict: mail_from, rcpt_tos, helo, tls) and .raw (bytes)."""
        out = []
        for path in self.captured_files():
            with open(path, "rb") as f:
                raw = f.read()
            m = parse(raw)
            m.raw = raw
            with open(path[:-4] + ".json") as f:
                m.envelope = json.load(f)
            out.append(m)
        return out

    def copies_by_recipient(self):
        """For the first recipient of every captured mail: how many copies it got (a Counter) and
        the set of their Message-IDs, as (copies, ids). A repeat with one Message-ID is the same
        notification sent again; two Message-IDs are two notifications."""
        copies, ids = collections.Counter(), {}
        for m in self.captured():
            rcpt = m.envelope["rcpt_tos"][0]
            copies[rcpt] += 1
            ids.setdefault(rcpt, set()).add(m["Message-ID"])
        return copies, ids

    def smtp_refused(self):
        try:
            with open(os.path.join(self.smtp_dir, "refused.jsonl")) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    # -- spocd ------------------------------------------------------------------------------

    def config_tree(self):
        return {
            "log_level": "debug",
            "database": {"conninfo": self.conninfo},
            "imap": {
                "host": "127.0.0.1",
                "port": self.imap_port,
                "tls": "none",
                "ca_file": "ca.pem",
                "user": IMAP_USER,
                "password_file": "imap.password",
                "mailbox": "INBOX",
                "processed_folder": "spocd/processed",
                "failed_folder": "spocd/failed",
                "poll_interval": 5,
                "batch_size": 50,
                "max_message_bytes": 26214400,
                "timeout": 20,
            },
            "smtp": {
                "host": "127.0.0.1",
                "port": self.smtp_port,
                "tls": "none",
                "ca_file": "ca.pem",
                "from_address": "help@desk.test",
                "helo_name": "spocd.desk.test",
                "timeout": 20,
                "max_attempts": 5,
                "retry_base": 60,
            },
            "desk": {
                "name": "Test Service Desk",
                "addresses": ["help@desk.test"],
                "default_language": "es",
                "default_kind": "incident",
                "templates_dir": os.path.join(SOURCE_DIR, "conf", "templates"),
            },
            # The desk's announcement of each new ticket to its agents is tested on its own
            # (test_nobody_unheard); elsewhere it would only add mails to count.
            "notify": {"new_ticket": "off"},
        }

    def write_config(self, name="spocd.conf", text=None, **overrides):
        """Writes a spocd config into the directory and returns its path. overrides: "imap.tls"
        style keys (use imap__tls= as keyword) set or, with None, remove a setting; text= writes
        the given text as it is."""
        path = os.path.join(self.dir, name)
        if text is None:
            tree = self.config_tree()
            for key, value in overrides.items():
                group, _, setting = key.replace("__", ".").rpartition(".")
                target = tree.setdefault(group, {}) if group else tree
                if value is None:
                    target.pop(setting, None)
                else:
                    target[setting] = value
            text = render_conf(tree)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def write_mailboxes_config(self, boxes, name="mailboxes.conf", **overrides):
        """A spocd config whose imap group is replaced by a mailboxes list, one entry per dict of
        settings in boxes (each over the default imap settings); overrides as write_config's,
        outside the imap group. Returns its path."""
        tree = self.config_tree()
        for key, value in overrides.items():
            group, _, setting = key.replace("__", ".").rpartition(".")
            (tree.setdefault(group, {}) if group else tree)[setting] = value
        imap = tree.pop("imap")
        entries = []
        for box in boxes:
            settings = dict(imap, **box)
            entries.append("  {\n" + "".join(
                f"    {k} = {v if isinstance(v, int) else chr(34) + v + chr(34)};\n"
                for k, v in settings.items()) + "  }")
        return self.write_config(name=name, text=render_conf(tree) + "mailboxes = (\n" +
                                 ",\n".join(entries) + "\n);\n")

    def run_spocd(self, *args, env=None, timeout=120, config=None, quiet=False):
        """Runs $SPOCD_BIN -c CONFIG ARGS. Returns (rc, stdout, stderr); rc is -N for a death by
        signal N. Also sets self.last_rusage (resource usage of that spocd process alone)."""
        argv = [spocd_bin(), "-c", config or self.conf, *args]
        full_env = dict(os.environ)
        full_env.pop("JOURNAL_STREAM", None)
        if env:
            full_env.update(env)
        out_path = os.path.join(self.dir, "spocd.stdout")
        err_path = os.path.join(self.dir, "spocd.stderr")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            t0 = time.monotonic()
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=full_env,
                                 preexec_fn=_child_setup(signal.SIGKILL))
            timer = threading.Timer(timeout, p.kill)
            timer.start()
            hwm = _HighWaterMark(p.pid)
            try:
                _, status, rusage = os.wait4(p.pid, 0)
            finally:
                timer.cancel()
                hwm.stop()
            p.returncode = os.waitstatus_to_exitcode(status)
            elapsed = time.monotonic() - t0
        self.last_rusage = rusage
        self.last_peak_rss_kib = hwm.kib
        self.last_elapsed = elapsed
        with open(out_path, "rb") as f:
            stdout = f.read().decode("utf-8", "replace")
        with open(err_path, "rb") as f:
            stderr = f.read().decode("utf-8", "replace")
        with open(os.path.join(self.dir, "spocd.log"), "a", encoding="utf-8") as f:
            f.write(f"$ {' '.join(argv)}  -> {p.returncode}\n{stdout}{stderr}\n")
        if not quiet:
            log(f"$ {' '.join(args)}{' ' + str(env) if env else ''} -> exit {p.returncode} in {elapsed:.2f}s")
            for line in (stdout + stderr).splitlines():
                print(f"    | {line}", flush=True)
        if elapsed >= timeout:
            raise RuntimeError(f"spocd {' '.join(args)} did not finish within {timeout}s (killed)")
        return p.returncode, stdout, stderr


    def start_spocd(self, *args, config=None, name="spocd-daemon", env=None, notify=False,
                    journal_stream=False):
        """Starts $SPOCD_BIN -c CONFIG ARGS in the background (no ARGS: the daemon) and returns
        its Spocd; whatever is still running when the services stop is stopped first. env:
        variables added to the environment (JOURNAL_STREAM is never inherited); notify: a
        NOTIFY_SOCKET that the harness reads; journal_stream: JOURNAL_STREAM names its stderr
        file, as systemd's StandardError=journal does."""
        d = Spocd(self, [spocd_bin(), "-c", config or self.conf, *args], name, env=env, notify=notify,
                  journal_stream=journal_stream)
        self.daemons.append(d)
        return d

    def run_spocctl(self, *args, config=None, stdin=None, timeout=120, env=None):
        """Runs $SPOCCTL_BIN -c CONFIG ARGS (config=False: no -c); env: variables added to the
        environment. Returns (rc, stdout bytes, stderr text)."""
        argv = [spocctl_bin()]
        if config is not False:
            argv += ["-c", config or self.conf]
        argv += list(args)
        p = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout,
                           stdin=None if stdin is not None else subprocess.DEVNULL,
                           env=dict(os.environ, **env) if env else None)
        err = p.stderr.decode("utf-8", "replace")
        log(f"$ spocctl {' '.join(args)} -> exit {p.returncode}")
        for line in err.splitlines():
            print(f"    ! {line}", flush=True)
        with open(os.path.join(self.dir, "spocd.log"), "a", encoding="utf-8") as f:
            f.write(f"$ {' '.join(argv)}  -> {p.returncode}\n{err}\n")
        return p.returncode, p.stdout, err


class Spocd:
    """A spocd that Services.start_spocd() started in the background: stdout and stderr in
    NAME.stderr in the test directory (text()), and with notify=True the datagrams of its
    NOTIFY_SOCKET, one entry per line (messages)."""

    def __init__(self, s, argv, name, env=None, notify=False, journal_stream=False):
        self.name = name
        self.path = os.path.join(s.dir, name + ".stderr")
        self.log = open(self.path, "wb")
        self.env = dict(os.environ)
        self.env.pop("JOURNAL_STREAM", None)
        if journal_stream:
            fst = os.fstat(self.log.fileno())
            self.env["JOURNAL_STREAM"] = f"{fst.st_dev}:{fst.st_ino}"
        self.env.update(env or {})
        self.messages = []
        self.sock = self.reader = None
        if notify:
            sock_path = os.path.join(s.dir, name + ".notify")
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.sock.bind(sock_path)
            self.sock.settimeout(0.2)
            self.env["NOTIFY_SOCKET"] = sock_path
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                  env=self.env, preexec_fn=_child_setup(signal.SIGKILL))
        self.pid = self.p.pid
        self.returncode = None
        log(f"started {name} pid {self.pid}: spocd {' '.join(argv[3:])}")
        if notify:
            self.reader = threading.Thread(target=self._read, daemon=True)
            self.reader.start()

    def _read(self):
        # Until the process is gone and nothing is left queued: what it said last (STOPPING=1) is
        # read before stop() closes the socket.
        while True:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                if self.p.poll() is not None:
                    return
                continue
            except OSError:
                return
            self.messages.extend(data.decode().split("\n"))

    def text(self):
        with open(self.path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def tail(self, n=30):
        return "".join(self.text().splitlines(keepends=True)[-n:])

    def poll(self):
        return self.p.poll()

    def send_signal(self, sig):
        self.p.send_signal(sig)

    def wait(self, timeout=120):
        """Waits for it to exit by itself and returns its exit status; kills it after timeout."""
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            self._finish()
            raise RuntimeError(f"{self.name} did not finish within {timeout}s (killed):\n{self.tail()}")
        return self._finish()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Sends sig (unless it has exited already), waits up to timeout (then SIGKILL) and
        returns its exit status (-N for a death by signal N)."""
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log(f"{self.name} pid {self.pid} did not stop within {timeout}s: SIGKILL")
            self.p.kill()
            self.p.wait()
        return self._finish()

    def _finish(self):
        if self.returncode is None:
            self.returncode = self.p.returncode
            if self.reader is not None:
                self.reader.join(timeout=5)
            if self.sock is not None:
                self.sock.close()
            self.log.close()
            log(f"{self.name} pid {self.pid} exited {self.returncode}")
            for line in self.text().splitlines():
                print(f"    | {line}", flush=True)
        return self.returncode


class _HighWaterMark(threading.Thread):
    """Follows VmHWM (peak resident set) of one process in /proc while it runs. ru_maxrss from
    wait4 cannot be used for that: it also counts the pages the child shared with this (large)
    Python process between fork and exec. The last reading is taken at most 20 ms before exit."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.path = f"/proc/{pid}/status"
        self.kib = 0
        self._done = threading.Event()
        self.start()

    def run(self):
        while not self._done.is_set():
            try:
                with open(self.path) as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            self.kib = max(self.kib, int(line.split()[1]))
            except (OSError, ValueError):
                pass
            self._done.wait(0.02)

    def stop(self):
        self._done.set()
        self.join()


def _quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------------------------
# Cleanup whatever happens, and small assertion helpers for the test scripts


def _stop_all():
    for s in list(_live):
        try:
            s.stop()
        except Exception as e:  # keep stopping the others
            log(f"stop failed: {e}")


def _on_signal(signum, frame):
    _stop_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


atexit.register(_stop_all)
for _sig in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


class Check:
    """Assertions that say what they checked: check.ok(cond, "what"), check.eq(a, b, "what")."""

    def __init__(self):
        self.count = 0

    def ok(self, cond, what, detail=""):
        self.count += 1
        if not cond:
            raise AssertionError(f"FAILED: {what}" + (f"\n  {detail}" if detail else ""))
        print(f"ok {self.count}: {what}", flush=True)

    def eq(self, got, want, what):
        self.ok(got == want, f"{what} == {want!r}" if len(repr(want)) < 120 else what,
                f"got  {got!r}\n  want {want!r}")

    def wait_for(self, cond, timeout, what, **kw):
        """wait_for() counted as a check; returns what cond() returned."""
        value = wait_for(cond, timeout, what, **kw)
        self.ok(True, what)
        return value

    def done(self, name):
        print(f"PASS {name}: {self.count} checks", flush=True)


def main(test):
    """Runs test(check) and exits 0 on success, 1 with the traceback otherwise."""
    import traceback
    check = Check()
    try:
        test(check)
    except Exception:
        traceback.print_exc()
        print(f"FAIL {os.path.basename(sys.argv[0])} after {check.count} passing checks", flush=True)
        _stop_all()
        sys.exit(1)
    _stop_all()
    check.done(os.path.basename(sys.argv[0]))
    sys.exit(0)
