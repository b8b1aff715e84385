#!/usr/bin/python3
"""Golden tests: `spocctl inspect` on messages against hand-written expectations.

Each tests/data/golden/*.json names one message of the shared corpus (../shared/corpus, not in the
repository) and each tests/data/golden/own/*.json one message of this project's own under
tests/data; each says what a careful human reads in its message: decoded subject, sender, the new
text, the quoted history, the signature, and the attachments (names and decoded sizes). This script
runs `$SPOCCTL_BIN inspect <message>` for each, compares every expectation after the normalisation
described in tests/data/golden/README.md, and prints every mismatch (file, field, expected, got)
before exiting 1. It also fails when the output holds invalid strings (lone surrogates) or U+FFFD
in the subject or sender, and, run on the whole set, when the project's goldens are fewer than
MIN_OWN or leave a category of REQUIRED_COVERS uncovered, or, with the corpus there, when the
corpus goldens are fewer than MIN_GOLDEN or leave one uncovered.

Without the corpus the corpus goldens are not run: a "SKIP:" line says how many and why, and the
project's own goldens still are. Exit 0 when everything that ran matched, 1 on any mismatch, 77
when nothing could run (only corpus goldens asked for, and no corpus).

By hand:  SPOCCTL_BIN=/path/to/spocctl /usr/bin/python3 tests/integration/test_golden.py [golden.json ...]
Under ctest: SPOCCTL_BIN and SPOC_SOURCE_DIR come from the environment; without SPOCCTL_BIN the
script looks for spocctl beside $SPOCD_BIN. SPOC_CORPUS overrides the corpus location.
"""
import difflib
import glob
import json
import os
import re
import subprocess
import sys

MIN_GOLDEN = 40  # corpus goldens
MIN_OWN = 25  # the project's own
SKIP = 77
TIMEOUT_S = int(os.environ.get('SPOC_GOLDEN_TIMEOUT', '120'))  # per message

# Every category the corpus README lists that the golden set must exercise (see the README here).
REQUIRED_COVERS = [
    # structure
    'plain', 'multipart-alternative', 'html-only', 'attachment', 'inline-image', 'multipart-related',
    'nested-rfc822', 'digest', 'tnef', 'calendar', 'uuencode', 'signed', 'encrypted',
    # headers and encodings
    'rfc2047', 'rfc2047-adjacent', 'rfc2231', '8bit-header',
    'charset:iso-8859-1', 'charset:iso-8859-15', 'charset:windows-1252', 'charset:windows-1251',
    'charset:iso-2022-jp', 'charset:shift_jis', 'charset:gb2312', 'charset:big5', 'charset:koi8-r',
    'charset:utf-7', 'unknown-charset',
    # damage
    'broken', 'no-message-id', 'no-from',
    # conversation
    'reply-outlook', 'reply-gmail', 'reply-apple', 'reply-thunderbird',
    'quote-style:gt-prefix', 'quote-style:on-wrote', 'quote-style:header-block', 'forward',
    # language, line endings, automated mail, size
    'spanish', 'crlf', 'cr-only', 'bounce', 'large',
]

KNOWN_KEYS = {
    'corpus', 'message', 'covers', 'note', 'subject', 'subject_contains', 'from', 'new', 'new_contains', 'quoted',
    'quoted_prefix', 'signature', 'text', 'attachments', 'attachments_include', 'allow_replacement',
}


# ------------------------------------------------------------------------------------ normalisation
def norm_text(s):
    """CRLF/CR -> LF, trailing blanks stripped per line, runs of empty lines collapsed to one,
    leading and trailing empty lines trimmed."""
    if s is None:
        return ''
    s = s.replace('\r\n', '\n').replace('\r', '\n')
    out = []
    for line in s.split('\n'):
        line = line.rstrip(' \t')
        if line == '' and out and out[-1] == '':
            continue
        out.append(line)
    while out and out[0] == '':
        out.pop(0)
    while out and out[-1] == '':
        out.pop()
    return '\n'.join(out)


def norm_signature(s):
    """As norm_text, and a leading "-- " delimiter line is dropped (spocd may keep it or not)."""
    t = norm_text(s)
    if t == '--' or t.startswith('--\n'):
        t = norm_text(t[2:])
    return t


def norm_line(s):
    """Subject, names: whitespace runs collapsed to one space, trimmed; None and "" are the same."""
    if s is None:
        return ''
    return re.sub(r'\s+', ' ', s).strip()


# ------------------------------------------------------------------------------------ reporting
class Report:
    def __init__(self):
        self.mismatches = []
        self.fields = 0

    def check(self, gfile, field, ok, expected, got):
        self.fields += 1
        if not ok:
            self.mismatches.append((gfile, field, expected, got))
        return ok

    def error(self, gfile, field, message):
        self.fields += 1
        self.mismatches.append((gfile, field, ERROR, message))


ERROR = object()  # "expected" of a mismatch that is an error message, not a value


def show(v):
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    return json.dumps(v, ensure_ascii=False, sort_keys=True)


def print_mismatch(gfile, field, expected, got):
    print('MISMATCH %s: %s' % (gfile, field))
    if expected is ERROR:
        print('    ' + str(got).replace('\n', '\n    '))
        return
    if isinstance(expected, str) and isinstance(got, str) and ('\n' in expected or '\n' in got):
        diff = difflib.unified_diff(expected.split('\n'), got.split('\n'), 'expected', 'got', lineterm='', n=2)
        for line in diff:
            print('    ' + line)
        return
    print('    expected: %s' % show(expected))
    print('    got:      %s' % show(got))


# ------------------------------------------------------------------------------------ checks
def bad_strings(node, path, found):
    """Collects JSON paths whose string cannot be UTF-8 (lone surrogates from \\ud800 escapes)."""
    if isinstance(node, str):
        try:
            node.encode('utf-8')
        except UnicodeEncodeError:
            found.append(path)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            bad_strings(v, '%s[%d]' % (path, i), found)
    elif isinstance(node, dict):
        for k, v in node.items():
            bad_strings(k, path + '{key}', found)
            bad_strings(v, '%s.%s' % (path, k), found)


def contains_in_order(haystack, needles):
    pos = 0
    for n in needles:
        i = haystack.find(n, pos)
        if i < 0:
            return False, n
        pos = i + len(n)
    return True, None


def name_matches(expected, got):
    """expected: None (any generated name), a string, or a list of acceptable strings."""
    if expected is None:
        return True
    alts = expected if isinstance(expected, list) else [expected]
    return norm_line(got) in [norm_line(a) for a in alts]


def from_name_matches(expected, got):
    alts = expected if isinstance(expected, list) else [expected]
    return norm_line(got) in [norm_line(a) for a in alts]


def attachment_matches(exp, got):
    if not name_matches(exp.get('name'), got.get('name')):
        return False
    return exp.get('size') is None or exp.get('size') == got.get('size')


def check_golden(gfile, golden, out, rep):
    headers = out.get('headers') or {}
    body = out.get('body') or {}

    # every string valid; no U+FFFD in subject or sender unless the golden allows it
    bad = []
    bad_strings(out, '$', bad)
    rep.check(gfile, 'output strings valid UTF-8', not bad, 'no lone surrogates', ', '.join(bad))
    sender = headers.get('from') or {}
    if not golden.get('allow_replacement', False):
        for field, value in (('headers.subject', headers.get('subject')), ('headers.from.name', sender.get('name')),
                             ('headers.from.address', sender.get('address'))):
            rep.check(gfile, field + ' has no U+FFFD', '\ufffd' not in (value or ''), 'no U+FFFD', value)

    if 'subject' in golden:
        exp, got = norm_line(golden['subject']), norm_line(headers.get('subject'))
        rep.check(gfile, 'subject', exp == got, exp, got)
    if 'subject_contains' in golden:
        got = norm_line(headers.get('subject'))
        ok, missing = contains_in_order(got, [norm_line(p) for p in golden['subject_contains']])
        rep.check(gfile, 'subject_contains', ok, golden['subject_contains'], got if ok else
                  '%s (missing, in order: %s)' % (show(got), show(missing)))

    if 'from' in golden:
        exp = golden['from']
        rep.check(gfile, 'from.name', from_name_matches(exp.get('name'), sender.get('name')),
                  exp.get('name'), sender.get('name'))
        exp_addr, got_addr = exp.get('address'), sender.get('address')
        rep.check(gfile, 'from.address', (exp_addr or '') == (got_addr or ''), exp_addr, got_addr)

    texts = {'new': (norm_text, body.get('new')), 'quoted': (norm_text, body.get('quoted')),
             'signature': (norm_signature, body.get('signature')), 'text': (norm_text, body.get('text'))}
    for field, (norm, value) in texts.items():
        if field in golden:
            exp, got = norm(golden[field]), norm(value)
            rep.check(gfile, field, exp == got, exp, got)
    if 'new_contains' in golden:
        got = norm_text(body.get('new'))
        ok, missing = contains_in_order(got, [norm_text(p) for p in golden['new_contains']])
        rep.check(gfile, 'new_contains', ok, golden['new_contains'],
                  got if ok else 'missing (in this order): %s\n--- new was:\n%s' % (show(missing), got[:2000]))
    if 'quoted_prefix' in golden:
        exp, got = norm_text(golden['quoted_prefix']), norm_text(body.get('quoted'))
        rep.check(gfile, 'quoted_prefix', got.startswith(exp) and exp != '', exp,
                  got[:len(exp) + 200] if got else got)

    atts = out.get('attachments') or []
    got_short = [{'name': a.get('name'), 'size': a.get('size')} for a in atts]
    if 'attachments' in golden:
        exp = golden['attachments']
        bad = [i for i, (e, a) in enumerate(zip(exp, atts)) if not attachment_matches(e, a)]
        ok = len(exp) == len(atts) and not bad
        field = 'attachments'
        if len(exp) != len(atts):
            field += ' (expected %d, got %d)' % (len(exp), len(atts))
        elif bad:
            field += ' (first difference at #%d)' % bad[0]
        rep.check(gfile, field, ok, exp, got_short)
    if 'attachments_include' in golden:
        for e in golden['attachments_include']:
            rep.check(gfile, 'attachments_include %s' % show(e.get('name')),
                      any(attachment_matches(e, a) for a in atts), e, got_short)


def validate_golden(gfile, golden, rep):
    """Shape errors in a golden file are failures too: a typo must not silently check nothing."""
    problems = []
    unknown = set(golden) - KNOWN_KEYS
    if unknown:
        problems.append('unknown keys: %s' % ', '.join(sorted(unknown)))
    if ('corpus' in golden) == ('message' in golden):
        problems.append('needs one of "corpus" (a corpus message) and "message" (one under tests/data)')
    elif 'corpus' in golden and (not isinstance(golden['corpus'], str) or
                                 not golden['corpus'].startswith('messages/')):
        problems.append('"corpus" must be a path under messages/')
    elif 'message' in golden and (not isinstance(golden['message'], str) or golden['message'].startswith('/') or
                                  '..' in golden['message'].split('/')):
        problems.append('"message" must be a path relative to tests/data')
    if not isinstance(golden.get('covers'), list) or not golden['covers']:
        problems.append('"covers" must be a non-empty list')
    if 'subject' not in golden and 'subject_contains' not in golden:
        problems.append('needs "subject" or "subject_contains"')
    if 'from' not in golden:
        problems.append('needs "from"')
    if 'new' not in golden and 'new_contains' not in golden:
        problems.append('needs "new" or "new_contains"')
    if 'attachments' not in golden and 'attachments_include' not in golden:
        problems.append('needs "attachments" or "attachments_include"')
    for key in ('attachments', 'attachments_include'):
        for a in golden.get(key, []):
            if set(a) != {'name', 'size'}:
                problems.append('%s entries need exactly "name" and "size": %s' % (key, show(a)))
    for p in problems:
        rep.error(gfile, 'golden file', p)
    return not problems


# ------------------------------------------------------------------------------------ main
def find_spocctl():
    path = os.environ.get('SPOCCTL_BIN')
    if path:
        return path
    daemon = os.environ.get('SPOCD_BIN')
    if daemon:
        for cand in (os.path.join(os.path.dirname(daemon), 'spocctl'),
                     os.path.join(os.path.dirname(daemon), 'src', 'ctl', 'spocctl')):
            if os.access(cand, os.X_OK):
                return cand
    return None


def check_set(rep, label, goldens, minimum):
    """The set-wide checks of one set of goldens: how many, and every category covered."""
    if len(goldens) < minimum:
        rep.error('(%s)' % label, 'golden count', 'only %d golden files, at least %d needed' % (len(goldens), minimum))
    covered = set()
    for g in goldens.values():
        covered.update(g.get('covers') or [])
    missing = [c for c in REQUIRED_COVERS if c not in covered]
    if missing:
        rep.error('(%s)' % label, 'covers', 'categories covered by no golden file: %s' % ', '.join(missing))


def main(argv):
    # output strings may hold lone surrogates: print them escaped instead of dying on them
    sys.stdout.reconfigure(errors='backslashreplace')
    here = os.path.dirname(os.path.abspath(__file__))
    source_dir = os.environ.get('SPOC_SOURCE_DIR') or os.path.normpath(os.path.join(here, '..', '..'))
    corpus = os.path.abspath(os.environ.get('SPOC_CORPUS') or os.path.join(source_dir, '..', 'shared', 'corpus'))
    data_dir = os.path.join(source_dir, 'tests', 'data')
    golden_dir = os.path.join(data_dir, 'golden')
    corpus_files = sorted(glob.glob(os.path.join(golden_dir, '*.json')))
    own_files = sorted(glob.glob(os.path.join(golden_dir, 'own', '*.json')))
    files = argv[1:] or own_files + corpus_files
    have_corpus = os.path.isdir(os.path.join(corpus, 'messages'))
    rep = Report()

    spocctl = find_spocctl()
    if not spocctl or not os.access(spocctl, os.X_OK):
        print('test_golden: no spocctl binary (set SPOCCTL_BIN; got %r)' % spocctl)
        return 1

    goldens = {}
    for path in files:
        name = os.path.basename(path)
        try:
            with open(path, encoding='utf-8') as f:
                goldens[path] = json.load(f)
        except (OSError, ValueError) as e:
            rep.error(name, 'golden file', 'cannot read: %s' % e)

    # set-wide checks only when running the whole set
    if not argv[1:]:
        check_set(rep, 'own', {p: g for p, g in goldens.items() if p in own_files}, MIN_OWN)
        if have_corpus:
            check_set(rep, 'corpus', {p: g for p, g in goldens.items() if p in corpus_files}, MIN_GOLDEN)

    passed = failed = 0
    skipped = []
    for path in files:
        name = os.path.basename(path)
        golden = goldens.get(path)
        before = len(rep.mismatches)
        if golden is None:
            failed += 1
            continue
        if not validate_golden(name, golden, rep):
            failed += 1
            continue
        if 'corpus' in golden:
            if not have_corpus:
                skipped.append(name)
                continue
            msg = os.path.join(corpus, golden['corpus'])
        else:
            msg = os.path.join(data_dir, golden['message'])
        if not os.path.isfile(msg):
            rep.error(name, 'message file', 'missing: %s' % msg)
            failed += 1
            continue
        try:
            proc = subprocess.run([spocctl, 'inspect', msg], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            rep.error(name, 'run', 'spocctl inspect %s: no answer in %d s' % (msg, TIMEOUT_S))
            failed += 1
            continue
        if proc.returncode != 0:
            rep.error(name, 'run', 'spocctl inspect exited %d: %s' % (
                proc.returncode, proc.stderr.decode('utf-8', 'replace').strip()[:2000]))
            failed += 1
            continue
        try:
            out = json.loads(proc.stdout.decode('utf-8'))
        except UnicodeDecodeError as e:
            rep.error(name, 'output', 'stdout is not UTF-8: %s' % e)
            failed += 1
            continue
        except ValueError as e:
            rep.error(name, 'output', 'stdout is not JSON: %s\n%s' % (e, proc.stdout[:500]))
            failed += 1
            continue
        if not isinstance(out, dict):
            rep.error(name, 'output', 'JSON is not an object')
            failed += 1
            continue
        check_golden(name, golden, out, rep)
        if len(rep.mismatches) == before:
            passed += 1
        else:
            failed += 1

    for m in rep.mismatches:
        print_mismatch(*m)
    print('test_golden: %d golden files, %d fields checked, %d mismatches' % (len(files) - len(skipped), rep.fields,
                                                                           len(rep.mismatches)))
    if skipped:
        print('SKIP: %d corpus golden%s not run: no corpus at %s (set SPOC_CORPUS)' % (
            len(skipped), '' if len(skipped) == 1 else 's', corpus))
    print('golden: %d passed, %d failed, %d skipped' % (passed, failed, len(skipped)))
    if rep.mismatches:
        return 1
    return SKIP if rep.fields == 0 and skipped else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
