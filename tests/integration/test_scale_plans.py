#!/usr/bin/python3
"""The hot paths' plans on a desk of many tickets (bench/scale's data, 20,000 tickets, generated
server-side): the SQL spocd sends (read from src/store by bench/scale, macros expanded) reads
its tickets, messages and outbox rows through an index, never sequentially; spocctl ticket list
takes the newest 50 from an index instead of sorting every open ticket, or every ticket; the
suggestions name the requester's latest solved tickets from the index that holds them newest
first, without reading or sorting the others, and read none when the articles fill every place
(articles come first), and they are what ranking every hit gives;
the threading lookup by References keeps one plan for its prepared statement instead of
being planned again on every mail; and the rate limits' counts read outbox through index-only
scans alone, with no visit to the table once VACUUM has passed, and count what counting every
row sent in the last day to the key or on the ticket counts; and the notifier's claim keeps its
one plan too, however many rows ANALYZE finds due."""

import importlib.machinery
import importlib.util
import os

import spocdtest as st

TICKETS = 20000


def bench():
    path = os.path.join(st.SOURCE_DIR, "bench", "scale")
    loader = importlib.machinery.SourceFileLoader("bench_scale", path)
    spec = importlib.util.spec_from_loader("bench_scale", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


# What the suggestions must be, written without shortcuts: every article that matches the
# ticket's words and every one of the requester's latest 200 solved tickets that does, articles
# first, those of the ticket's language first, by rank, the newest first among equals.
OR_QUERY = "(SELECT string_agg(quote_literal(l), ' | ')::tsquery FROM unnest(tsvector_to_array({})) l)"
RANKED = f"""
SELECT b.n, h.title, h.url, h.display
  FROM unnest(%s::bigint[]) WITH ORDINALITY AS b(id, n) JOIN tickets t ON t.id = b.id
 CROSS JOIN LATERAL (
   SELECT * FROM (
     SELECT 0 AS grp, a.language = t.language AS own, ts_rank(a.search, x.q) AS rank, a.id, a.title,
            a.url, '' AS display
       FROM kb_articles a
      CROSS JOIN LATERAL (SELECT {OR_QUERY.format("CASE a.language WHEN 'es' THEN t.kb_es ELSE t.kb_en END")} AS q) x
      WHERE a.search @@ x.q
     UNION ALL
     SELECT 1, true, ts_rank(o.v, o.q), o.id, o.subject, '', o.display
       FROM (SELECT l.id, l.subject, l.display, CASE l.language WHEN 'es' THEN l.kb_es ELSE l.kb_en END AS v,
                    {OR_QUERY.format("CASE l.language WHEN 'es' THEN t.kb_es ELSE t.kb_en END")} AS q
               FROM tickets l WHERE lower(l.requester) = lower(t.requester) AND l.id <> t.id
                AND l.status IN ('resolved', 'closed') ORDER BY l.id DESC LIMIT 200) o
      WHERE o.v @@ o.q) every
    ORDER BY grp, own DESC, rank DESC, id DESC LIMIT %s) h
 ORDER BY b.n, h.grp, h.own DESC, h.rank DESC, h.id DESC"""


def suggestions_as_ranked(check, db, sql, ws):
    """The statement's suggestions for the whole working set, at limits where the articles fill
    every place, leave some to old tickets, and leave all to them, are those of RANKED."""
    ids = "{" + ",".join(str(w["id"]) for w in ws) + "}"
    nulls = "{" + ",".join("NULL" for _ in ws) + "}"
    mixed = 0
    with db.cursor() as cur:
        cur.execute(f"PREPARE kb_all AS {sql}")
        for limit in (1, 3, 12, 40):
            cur.execute("EXECUTE kb_all(%s, %s, %s)", (ids, nulls, str(limit)))
            got = cur.fetchall()
            cur.execute(RANKED, (ids, limit))
            want = cur.fetchall()
            check.eq(got, want, f"limit {limit}: the suggestions of {len(ws)} tickets are those of ranking every hit")
            by_ticket = {}
            for n, _, _, display in want:
                by_ticket.setdefault(n, set()).add(display == "")
            mixed += sum(1 for kinds in by_ticket.values() if kinds == {True, False})
        cur.execute("DEALLOCATE kb_all")
    check.ok(mixed > 0, f"{mixed} lists have both articles and old tickets")


# What the rate limits' counts must be, written without shortcuts: of every row sent in the last
# day to the recipient key or on the ticket, and of every automatic mail sent in the last hour,
# in the columns' order of claim_facts() (store_outbox.c), which reads them index by index.
FACTS_FILTERS = ("to_key AND auto AND hour", "to_key AND auto", "on_ticket AND auto",
                 "to_key AND own AND hour", "to_key AND own", "on_ticket AND own")
AUTO = "kind IN ('ack', 'status', 'my-tickets', 'requester-result')"
COUNTED = ("SELECT " + ", ".join(
    f"count(*) FILTER (WHERE {f}), coalesce(extract(epoch FROM min(sent_at) FILTER (WHERE {f}))::bigint, 0)"
    for f in FACTS_FILTERS) + f"""
  FROM (SELECT sent_at, recipient_key = %(key)s AS to_key, ticket_id = %(ticket)s AS on_ticket,
               sent_at > now() - interval '1 hour' AS hour, {AUTO} AS auto, kind = %(kind)s AS own
          FROM outbox WHERE state = 'sent' AND sent_at > now() - interval '1 day'
           AND (recipient_key = %(key)s OR ticket_id = %(ticket)s)) r""")
DESK_HOUR = f"""SELECT count(*), coalesce(extract(epoch FROM min(sent_at))::bigint, 0) FROM outbox
 WHERE state = 'sent' AND {AUTO} AND sent_at > now() - interval '1 hour'"""


def rate_limit_counts(check, db, sql, params, ws):
    """Mail sent lately to one person (under two spellings of the address) on two of the
    working set's tickets, to a watcher of the first, one older than a day and one not sent,
    made all-visible by VACUUM as autovacuum would: the counts of a batch with that person's
    acknowledgement on the first ticket read those rows from the indexes alone, and they are
    those of counting every row."""
    first, second = ws[1], ws[2]
    person = dict(first, requester="caps.person@caps.example", key="caps.person@caps.example")
    rows = [("status", first["id"], "Caps.Person+x@caps.example", "sent", "20 minutes"),
            ("ack", first["id"], "caps.person@caps.example", "sent", "3 hours"),
            ("status", first["id"], "watcher@caps.example", "sent", "10 minutes"),
            ("agent-reply", first["id"], "watcher@caps.example", "sent", "2 hours"),
            ("status", second["id"], "caps.person@caps.example", "sent", "30 minutes"),
            ("status", first["id"], "caps.person@caps.example", "sent", "25 hours"),
            ("status", first["id"], "caps.person@caps.example", "failed", "5 minutes")]
    with db.cursor() as cur:
        for i, (kind, ticket, rcpt, state, ago) in enumerate(rows):
            cur.execute("INSERT INTO outbox (kind, ticket_id, recipient, language, message_id, state, attempts,"
                        " next_attempt_at, created_at, sent_at) VALUES (%s, %s, %s, 'es', %s, %s, 1,"
                        " now() - %s::interval, now() - %s::interval,"
                        " CASE WHEN %s = 'sent' THEN now() - %s::interval END)",
                        (kind, ticket, rcpt, f"caps.{i}@desk.test", state, ago, ago, state, ago))
        cur.execute("VACUUM ANALYZE outbox")
        batch = [ws[0], person] + ws[2:6]
        cur.execute("PREPARE counts AS " + sql)
        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE counts(%s, %s, %s, %s)", params(batch))
        plan = cur.fetchone()[0][0]["Plan"]
        cur.execute("EXECUTE counts(%s, %s, %s, %s)", params(batch))
        got = cur.fetchall()
        cur.execute("DEALLOCATE counts")
        want = []
        for w in batch:
            cur.execute(COUNTED, {"key": w["key"], "ticket": w["id"], "kind": "ack"})
            facts = cur.fetchone()
            cur.execute(DESK_HOUR)
            want.append(facts + cur.fetchone())
    check.eq([g[:len(want[0])] for g in got], want,
             "the counts of the batch are those of counting every row sent in the last day")
    check.eq(got[1][0:12:2], (2, 3, 3, 0, 1, 1),
             "the person's key: 2 automatic mails in the hour (one on another ticket), 3 in the day, "
             "3 on the ticket (one to a watcher, not its agent's answer); of them 1 acknowledgement")

    def outbox_nodes(node):
        mine = [node] if node.get("Relation Name") == "outbox" else []
        return mine + [n for child in node.get("Plans", []) for n in outbox_nodes(child)]

    nodes = outbox_nodes(plan)
    check.ok(nodes and all(n["Node Type"] == "Index Only Scan" for n in nodes),
             "the rate limits read outbox through index-only scans alone",
             [(n["Node Type"], n.get("Index Name")) for n in nodes])
    read = sum(n["Actual Rows"] * n["Actual Loops"] for n in nodes)
    check.ok(read >= 6, f"they read the {read} entries sent lately around the batch")
    check.eq(sum(n.get("Heap Fetches", 0) for n in nodes), 0, "and none of them from the table")


def claim_keeps_its_plan(check, db, b, claim):
    """A queue of due rows over ten batches long (2,000 besides the working set's 200, as after
    an outage of the SMTP server), analysed: the notifier's claim keeps the plan made once for
    its prepared statement, where PostgreSQL, pricing that plan's LIMIT $2 as a tenth of the due
    rows, planned it again at every call."""
    sql, params, one_shot, transaction = claim
    with db.cursor() as cur:
        cur.execute("INSERT INTO outbox (kind, ticket_id, recipient, language, message_id, next_attempt_at)"
                    " SELECT 'ack', t.id, t.requester, t.language, 'queued.' || t.id || '@desk.test',"
                    " now() - interval '1 minute' FROM tickets t ORDER BY t.id LIMIT 2000")
        cur.execute("ANALYZE outbox")
        cur.execute("EXPLAIN (FORMAT JSON) SELECT 1 FROM outbox"
                    " WHERE state IN ('pending', 'held') AND next_attempt_at <= now()")
        due = cur.fetchone()[0][0]["Plan"]["Plan Rows"]
    check.ok(due >= 10 * b.BATCH, f"{due} due rows estimated, over ten batches of {b.BATCH}")
    got = b.measure({"large": db}, sql, {"large": params(None)}, one_shot, transaction, 3)
    check.eq(got["large"][3], "generic", "the claim keeps its generic plan")


def test(check):
    b = bench()
    paths = {name: (sql, params, one_shot, transaction)
             for name, sql, params, one_shot, transaction in b.hot_paths(b.Source())}
    with st.Services(name="spocd-scale-plans", smtp=False, dovecot=False) as s:
        rc, _, _ = s.run_spocd("--migrate", env=b.SQL_ENV)
        check.eq(rc, 0, "spocd --migrate exits 0")
        db = b.connect(s, "spocd")
        b.generate(db, TICKETS, 3)
        ws = b.working_set(db, TICKETS)
        with db.cursor() as cur:
            cur.execute("ANALYZE tickets, messages, outbox, participants")
            cur.execute("SELECT count(*) FROM tickets")
            check.eq(cur.fetchone()[0], TICKETS + b.WORKING_SET, "the tickets generated and the working set")

        plans = {}
        for name, (sql, params, one_shot, transaction) in paths.items():
            got = b.measure({"large": db}, sql, {"large": params(ws)}, one_shot, transaction, 3)
            plans[name] = {"nodes": got["large"][2], "kind": got["large"][3]}
            seq = sorted({rel for node, rel, _ in plans[name]["nodes"]
                          if node == "Seq Scan" and rel in b.BIG_TABLES})
            check.eq(seq, [], f"{name}: no sequential scan of {', '.join(b.BIG_TABLES)}")

        def indexes(name):
            return {idx for _, _, idx in plans[name]["nodes"] if idx}

        check.ok("tickets_status_created" in indexes("spocctl ticket list --status new"),
                 "ticket list --status new reads tickets_status_created", str(plans["spocctl ticket list --status new"]))
        check.ok("tickets_created" in indexes("spocctl ticket list"),
                 "ticket list reads tickets_created", str(plans["spocctl ticket list"]))
        check.ok(("Index Only Scan", "tickets", "tickets_requester_done") in plans["kb suggestions"]["nodes"],
                 "the suggestions name the requester's latest solved tickets from tickets_requester_done "
                 "alone (an index-only scan, which stops at the last one wanted)", str(plans["kb suggestions"]))
        # The busiest requester's acknowledgement alone: of their solved tickets (over a
        # thousand here) the suggestions read the latest 200, not all of them, and none when
        # the articles fill the three places.
        sql, params, _, _ = paths["kb suggestions"]
        busiest = ws[0]

        def read_from(node, indexes):
            n = node.get("Actual Rows", 0) * node.get("Actual Loops", 1) if node.get("Index Name") in indexes else 0
            return n + sum(read_from(child, indexes) for child in node.get("Plans", []))

        def analyze(cur):
            cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE kb(%s, %s, %s)", params([busiest]))
            plan = cur.fetchone()[0][0]["Plan"]
            cur.execute("EXECUTE kb(%s, %s, %s)", params([busiest]))
            return read_from(plan, ("tickets_requester", "tickets_requester_done")), cur.fetchall()

        with db.cursor() as cur:
            cur.execute("SELECT count(*) FROM tickets WHERE lower(requester) = %s AND status IN ('resolved', 'closed')",
                        (busiest["requester"],))
            solved = cur.fetchone()[0]
            check.ok(solved > 1000, f"the busiest requester has {solved} solved tickets")
            cur.execute(f"PREPARE kb AS {sql}")
            rows, got = analyze(cur)
            check.ok(len(got) == 3 and all(r[3] == "" for r in got),
                     "the busiest requester's ticket gets three articles", got)
            check.eq(rows, 0, "the articles fill every place: no old ticket of the requester is read")
            # a desk whose articles say nothing about the ticket: its old tickets are searched
            cur.execute("BEGIN")
            cur.execute("DELETE FROM kb_articles")
            rows, got = analyze(cur)
            cur.execute("ROLLBACK")
            check.ok(len(got) == 3 and all(r[3] != "" for r in got),
                     "without articles, three of the requester's old tickets", got)
        check.ok(0 < rows <= 201, f"the suggestions read {rows} entries of the requester indexes "
                 f"(200 tickets and the one that says there are some), not {solved}")
        suggestions_as_ranked(check, db, sql, ws)
        check.eq(plans["threading: References"]["kind"], "generic",
                 "the threading lookup by References keeps its generic plan")
        check.ok("messages_message_id" in indexes("threading: References"),
                 "and that plan finds the messages by messages_message_id", str(plans["threading: References"]))
        rate_limit_counts(check, db, paths["rate limits: outbox counts"][0],
                          paths["rate limits: outbox counts"][1], ws)
        claim_keeps_its_plan(check, db, b, paths["notifier: claim"])
        db.close()


if __name__ == "__main__":
    st.main(test)
