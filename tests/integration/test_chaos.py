#!/usr/bin/python3
"""Two minutes of bench/chaos with a fixed seed: two spocd daemons on one mailbox take a steady
stream of requests, replies, agents' commands, delivery reports and auto-replies while spocd is
SIGKILLed, Dovecot restarted, PostgreSQL stopped with -m immediate, the SMTP listener answers 4xx,
takes a mail and drops the connection, or hangs, and (as root) PostgreSQL's WAL tmpfs fills up.
Passes when bench/chaos's invariant checker finds every invariant held: every mail one message
row or still in INBOX or quarantined, no ticket twice, every outbox row sent once but for the
copies a lost reply or a lost COMMIT explains (same Message-ID), nothing automatic acknowledged,
no daemon dead by a signal nobody sent, no sanitizer report; and that the faults were injected."""

import importlib.machinery
import importlib.util
import io
import os
import re
import sys
from contextlib import redirect_stdout

import spocdtest as st

SEED = 18


def load_chaos():
    path = os.path.join(st.SOURCE_DIR, "bench", "chaos")
    loader = importlib.machinery.SourceFileLoader("chaos_bench", path)
    spec = importlib.util.spec_from_loader("chaos_bench", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


class Tee(io.StringIO):
    def write(self, text):
        sys.__stdout__.write(text)
        return super().write(text)


def test(check):
    chaos = load_chaos()
    out = Tee()
    with redirect_stdout(out):
        rc = chaos.run(minutes=2, seed=SEED, drain_budget=60)
    report = out.getvalue()
    report = report[report.rindex("== bench/chaos"):]
    check.ok("INVARIANT BROKEN" not in report, "no invariant broken", report)
    check.eq(rc, 0, "bench/chaos --minutes 2 exits 0")
    check.ok("RESULT ok: every invariant held" in report, "the report says every invariant held")
    faults = re.search(r"faults injected +(\d+): (.*)", report)
    check.ok(faults and int(faults.group(1)) >= 8, "at least 8 faults were injected in 2 minutes", report)
    kinds = dict((k, int(n)) for k, n in re.findall(r"([a-z0-9-]+) (\d+)", faults.group(2)))
    wanted = ["spocd-kill", "dovecot", "postgres", "smtp-4xx", "smtp-drop", "smtp-hang"]
    if os.geteuid() == 0:
        wanted.append("wal-full")
    else:
        check.ok("faults skipped     wal-full: not running as root" in report,
                 "the WAL fault is reported as skipped, with the reason, when not root")
    check.eq(sorted(k for k in wanted if kinds.get(k, 0) >= 1), sorted(wanted), "every kind of fault was injected")
    appended = re.search(r"mails appended +(\d+): (.*) \(", report)
    check.ok(appended and int(appended.group(1)) >= 150, "a steady stream: at least 150 mails appended", report)
    mix = dict((k, int(n)) for k, n in re.findall(r"([a-z]+) (\d+)", appended.group(2)))
    check.ok(all(mix.get(k, 0) >= 5 for k in ("new", "reply", "agent", "bounce", "auto")),
             "every kind of mail is in the mix", mix)
    check.ok(re.search(r"drain +\d+ s", report.splitlines()[1]) is not None, "spocd drained within its bound",
             report.splitlines()[1])


if __name__ == "__main__":
    st.main(test)
