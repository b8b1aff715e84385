"""The invariants bench/chaos checks after its run, and the delivery reports it writes.

Report(s, producer, chaos, capture, commit_losing).print(...) reads the database (a connection of
its own), what is left in INBOX, the SMTP capture listener's deliveries and the daemons' logs, and
prints, with the offending rows of any that broke:
  1. every appended mail (by the SHA-256 of its bytes) is exactly one message row, or still in
     INBOX, or in the quarantine (listed with the reason); none is in two rows, none is lost;
  2. no mail made two tickets (ingest_log's 'ticket' rows, and each ticket's first message);
  3. every delivery the listener took is of an outbox row, each sent row was delivered, and a
     Message-ID delivered more than once is so only after its earlier copy lost its reply (the
     listener's acceptdrop) or a fault that can lose the COMMIT after the server took the mail
     (a spocd SIGKILL, PostgreSQL stopped, WAL full) began within 30 s of that copy; no mail has
     two acknowledgements;
  4. nothing automatic (auto-replies, delivery reports) was acknowledged or answered to its sender;
  5. no daemon died by a signal it was not sent, and no sanitizer report is in any log;
then the counts: faults injected by kind (and the skipped ones with the reason), mails appended by
kind, tickets, messages, outbox rows by kind and state, deliveries. print() returns 0 when every
invariant held, 1 otherwise.
"""

import email.utils
import glob
import os
from collections import Counter, defaultdict

import psycopg2
import spocdtest as st

# how long after a delivery a batch's COMMIT may still be outstanding
COMMIT_WINDOW_S = 30


def delivery_report(verp, failed, quoted_id, mid, action, mta):
    """A delivery status notification (RFC 3464) from mta to the VERP address of an outbox row
    whose recipient was `failed`, quoting that row's Message-ID; action "failed" or "delayed"."""
    status = "5.1.1" if action == "failed" else "4.4.1"
    return (f"From: Mail Delivery System <MAILER-DAEMON@{mta}>\r\n"
            f"To: {verp}\r\n"
            f"Subject: {'Undelivered Mail Returned to Sender' if action == 'failed' else 'Delayed Mail'}\r\n"
            f"Date: {email.utils.formatdate()}\r\n"
            f"Message-ID: {mid}\r\n"
            f"Auto-Submitted: auto-replied\r\n"
            f"MIME-Version: 1.0\r\n"
            f"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
            f"--B\r\nContent-Type: text/plain\r\n\r\n"
            f"Your message could not be delivered yet.\r\n"
            f"<{failed}>: host {mta} said: {status}\r\n"
            f"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
            f"Reporting-MTA: dns; {mta}\r\n\r\n"
            f"Final-Recipient: rfc822; {failed}\r\nAction: {action}\r\nStatus: {status}\r\n"
            f"Diagnostic-Code: smtp; {status} <{failed}>\r\n"
            f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"From: Test Service Desk <help@desk.test>\r\nTo: {failed}\r\n"
            f"Message-ID: {quoted_id}\r\n"
            f"--B--\r\n").encode()


class Report:
    def __init__(self, s, producer, chaos, capture, commit_losing):
        self.s, self.producer, self.chaos = s, producer, chaos
        self.deliveries = capture.scan()
        self.commit_losing = commit_losing
        self.broken = []      # (invariant, lines)
        self.notes = []
        self.db = psycopg2.connect(s.conninfo)
        self.db.autocommit = True

    def q(self, sql, params=None):
        with self.db.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def fail(self, what, rows):
        self.broken.append((what, [str(r) for r in rows]))

    def inbox_shas(self):
        c = self.s.imap()
        c.select("INBOX", readonly=True)
        typ, data = c.uid("FETCH", "1:*", "(BODY.PEEK[])")
        out = Counter(st.sha256_hex(item[1]) for item in data or [] if isinstance(item, tuple))
        c.logout()
        return out

    def check_mails(self):
        rows = defaultdict(list)
        for mid, sha in self.q("SELECT id, raw_sha256 FROM messages WHERE direction = 'in'"):
            rows[sha].append(mid)
        quarantined = {sha: (qid, reason) for qid, sha, reason in
                       self.q("SELECT id, raw_sha256, reason FROM quarantine WHERE replayed_at IS NULL")}
        inbox = self.inbox_shas()
        sent_shas = {m["sha"] for m in self.producer.sent}
        twice, lost, both, kept = [], [], [], []
        for m in self.producer.sent:
            n = len(rows.get(m["sha"], []))
            if n > 1:
                twice.append((m["kind"], m["mid"], "message rows", rows[m["sha"]]))
            elif n == 0 and m["sha"] not in quarantined and not inbox.get(m["sha"]):
                lost.append((m["kind"], m["mid"], m["sha"]))
            elif n == 1 and inbox.get(m["sha"]):
                both.append((m["kind"], m["mid"]))
            if m["sha"] in quarantined:
                kept.append((m["kind"], m["mid"], "quarantine id", *quarantined[m["sha"]]))
        if twice:
            self.fail("appended mails in more than one message row", twice)
        if lost:
            self.fail("appended mails neither in a message row, nor in INBOX, nor quarantined", lost)
        stray = [(sha, ids) for sha, ids in rows.items() if sha not in sent_shas]
        if stray:
            self.fail("'in' message rows of no appended mail", stray)
        self.in_inbox = sum(1 for m in self.producer.sent if inbox.get(m["sha"]))
        self.quarantined = kept
        self.both = both
        self.msg_rows = {sha: ids[0] for sha, ids in rows.items()}

    def check_tickets(self):
        dup = self.q("SELECT raw_sha256, array_agg(DISTINCT ticket_id) FROM ingest_log WHERE outcome = 'ticket' "
                     "GROUP BY raw_sha256 HAVING count(DISTINCT ticket_id) > 1")
        if dup:
            self.fail("one mail, several tickets (ingest_log)", dup)
        first = defaultdict(list)
        for tid, display, sha in self.q(
                "SELECT t.id, t.display, (SELECT m.raw_sha256 FROM messages m WHERE m.ticket_id = t.id "
                "AND m.direction = 'in' ORDER BY m.id LIMIT 1) FROM tickets t"):
            first[sha].append(display)
        many = [(sha, d) for sha, d in first.items() if sha is not None and len(d) > 1]
        if many:
            self.fail("one mail is the first message of several tickets", many)
        if first.get(None):
            self.fail("tickets with no incoming message", first[None])

    def explained(self, earlier, later):
        if earlier["reply_lost"]:
            return "reply lost (acceptdrop)"
        for ev in self.chaos.events:
            if (ev["kind"] in self.commit_losing and ev["start"] <= earlier["t"] + COMMIT_WINDOW_S
                    and (ev["end"] or later["t"]) >= earlier["t"] - 1 and ev["start"] <= later["t"]):
                return f"{ev['kind']} ({ev['detail']})"
        return None

    def check_outbox(self):
        rows = {st.norm_id(mid): (oid, kind, state, rcpt, irt, cause) for oid, kind, state, mid, rcpt, irt, cause in
                self.q("SELECT id, kind, state, message_id, recipient, in_reply_to_message, caused_by_message "
                       "FROM outbox")}
        self.outbox = rows
        by_mid = defaultdict(list)
        for d in self.deliveries:
            by_mid[d["message_id"]].append(d)
        unknown = [(d["n"], d["message_id"], d["to"]) for d in self.deliveries if d["message_id"] not in rows]
        if unknown:
            self.fail("deliveries of no outbox row", unknown)
        never = [(oid, kind, mid, rcpt) for mid, (oid, kind, state, rcpt, _, _) in rows.items()
                 if state == "sent" and mid not in by_mid]
        if never:
            self.fail("outbox rows marked sent that the listener never took", never)
        self.dups = Counter()
        bad = []
        for mid, ds in by_mid.items():
            ds.sort(key=lambda d: d["t"])
            for a, b in zip(ds, ds[1:]):
                if b["to"] != a["to"]:
                    bad.append((mid, "to", a["to"], "then", b["to"]))
                why = self.explained(a, b)
                if why is None:
                    bad.append((mid, f"delivery {a['n']} then {b['n']}", f"{b['t'] - a['t']:.1f}s apart",
                                "with no lost reply or COMMIT-losing fault between"))
                else:
                    self.dups[why.split(" ")[0]] += 1
        if bad:
            self.fail("outbox rows sent more than once without a fault to explain it", bad)
        acks = defaultdict(list)
        for mid, (oid, kind, state, rcpt, irt, cause) in rows.items():
            if kind == "ack" and irt is not None:
                acks[irt].append(oid)
        two = [(irt, ids) for irt, ids in acks.items() if len(ids) > 1]
        if two:
            self.fail("mails with more than one acknowledgement row", two)

    def check_automatic(self):
        auto = {m["mid"]: m for m in self.producer.sent if m["kind"] in ("auto", "bounce")}
        ids = {self.msg_rows[m["sha"]]: m for m in auto.values() if m["sha"] in self.msg_rows}
        bad = []
        for mid, (oid, kind, state, rcpt, irt, cause) in self.outbox.items():
            for ref in (irt, cause):
                m = ids.get(ref)
                if m is not None and (kind == "ack" or rcpt.lower() == m["from"].lower()):
                    bad.append((oid, kind, state, rcpt, "answers", m["kind"], m["mid"]))
        for d in self.deliveries:
            m = auto.get(d["in_reply_to"])
            if m is not None and m["from"].lower() in [t.lower() for t in d["to"]]:
                bad.append((d["n"], d["message_id"], d["to"], "In-Reply-To", m["kind"], m["mid"]))
        if bad:
            self.fail("automatic mail acknowledged or answered to its sender", bad)

    def check_daemons(self):
        bad = [(name, status, tail[-1500:]) for name, status, tail in self.chaos.exits
               if status is None or status < 0]
        if bad:
            self.fail("spocd daemons that died by a signal nobody sent", bad)
        reports = []
        for path in sorted(glob.glob(os.path.join(self.s.dir, "*.stderr"))):
            with open(path, errors="replace") as f:
                for line in f:
                    if "AddressSanitizer" in line or "LeakSanitizer" in line or "runtime error:" in line:
                        reports.append((os.path.basename(path), line.strip()[:300]))
        if reports:
            self.fail("sanitizer reports in the daemons' logs", reports[:40])

    def print(self, stream_s, drained, command):
        for check in (self.check_mails, self.check_tickets, self.check_outbox, self.check_automatic,
                      self.check_daemons):
            check()
        ev = Counter(e["kind"] for e in self.chaos.events)
        kinds = Counter(m["kind"] for m in self.producer.sent)
        print(f"\n== bench/chaos {command}: invariant report ==")
        print(f"stream             {stream_s:.0f} s; drain "
              + (f"{drained:.0f} s" if drained is not None else "NOT finished within its bound"))
        print(f"faults injected    {sum(ev.values())}: " + ", ".join(f"{k} {ev[k]}" for k in sorted(ev)))
        for k, why in self.chaos.skipped.items():
            print(f"faults skipped     {k}: {why}")
        for e in self.chaos.events:
            if e["kind"] in ("wal-full", "postgres"):
                print(f"  {e['kind']:13s}    {e['detail']}")
        pg_log = os.path.join(self.s.dir, "pg", "postgres.log")
        with open(pg_log, errors="replace") as f:
            text = f.read()
        print(f"postgres log       {text.count('No space left on device')} 'No space left on device', "
              f"{text.count('PANIC:')} PANIC, {text.count('database system was interrupted')} crash recoveries")
        print(f"daemons            {len(self.chaos.daemons)} at a time, {self.chaos.started} started; "
              f"{len(self.chaos.exits)} exited by themselves"
              + (": " + ", ".join(f"{n} -> {c}" for n, c, _ in self.chaos.exits) if self.chaos.exits else ""))
        print(f"mails appended     {len(self.producer.sent)}: " + ", ".join(f"{k} {kinds[k]}" for k in sorted(kinds))
              + f" ({self.producer.append_errors} APPENDs retried after an error)")
        print(f"left in INBOX      {self.in_inbox} (of which {len(self.both)} also committed)")
        print(f"quarantined        {len(self.quarantined)}")
        for row in self.quarantined:
            print(f"  {row}")
        outcomes = dict(self.q("SELECT outcome, count(*) FROM ingest_log GROUP BY 1 ORDER BY 1"))
        print(f"ingest_log         {outcomes}")
        status = self.q("SELECT status, count(*) FROM tickets GROUP BY 1 ORDER BY 1")
        print(f"tickets            {sum(n for _, n in status)}: " + ", ".join(f"{k} {n}" for k, n in status))
        msgs = dict(self.q("SELECT direction, count(*) FROM messages GROUP BY 1"))
        print(f"messages           in {msgs.get('in', 0)}, out {msgs.get('out', 0)}")
        ob = Counter((k, s) for _, k, s, _, _, _ in self.outbox.values())
        print(f"outbox rows        {len(self.outbox)}: " + ", ".join(f"{k}/{s} {n}" for (k, s), n in sorted(ob.items())))
        print(f"deliveries         {len(self.deliveries)} taken by the listener, "
              f"{len({d['message_id'] for d in self.deliveries})} distinct Message-IDs; repeated copies "
              f"explained by: " + (", ".join(f"{k} {n}" for k, n in sorted(self.dups.items())) or "none needed"))
        if drained is None:
            self.notes.append("the drain did not finish: rows still due are counted above")
        for n in self.notes:
            print(f"note               {n}")
        for what, rows in self.broken:
            print(f"INVARIANT BROKEN   {what}: {len(rows)}")
            for r in rows[:50]:
                print(f"    {r}")
        print("RESULT " + ("ok: every invariant held" if not self.broken else
                           f"FAILED: {len(self.broken)} invariant(s) broken"), flush=True)
        self.db.close()
        return 0 if not self.broken else 1
