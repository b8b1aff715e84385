/* PostgreSQL storage through libpq. Every SQL statement of spocd lives here (or in sql/): values
 * always travel as parameters, raw message bytes as binary parameters. Errors are split the
 * Postfix way: connection trouble, serialization failures and resource shortages are
 * SPOC_ETEMP (try again, nothing advanced); any other SQL error is SPOC_EPERM (this data will
 * never fit, so the message that caused it is quarantined). */
#include "store.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

struct store {
	PGconn *conn;
};

/* pg_advisory_xact_lock key of the migrations: the bytes of "spocd" as a number. */
#define MIGRATION_LOCK_KEY "495891014500"

/* ---- plumbing ---- */

static int classify_error(struct store *st, PGresult *res)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(st->conn) != CONNECTION_OK || state == NULL)
		return SPOC_ETEMP;
	/* 08 connection, 40 transaction rollback (serialization, deadlock), 53 resources,
	 * 57 operator intervention (shutdown, cancel), 58 system error. */
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "40", 2) == 0 ||
	    strncmp(state, "53", 2) == 0 || strncmp(state, "57", 2) == 0 ||
	    strncmp(state, "58", 2) == 0)
		return SPOC_ETEMP;
	return SPOC_EPERM;
}

static int fail_res(struct store *st, PGresult *res, const char *what, struct errbuf *err)
{
	const char *msg = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(st->conn);
	char *clean = g_strstrip(g_strdup(msg != NULL && msg[0] ? msg : PQerrorMessage(st->conn)));
	int rc = classify_error(st, res);

	errbuf_set(err, rc, "database: %s: %s", what, clean);
	g_free(clean);
	PQclear(res);
	return rc;
}

/* Runs one parameterised statement; params may contain NULLs (SQL NULL). A parameter whose
 * length in lens is non-zero is sent as binary (bytea). Returns the result on success (caller
 * PQclear()s) or NULL with err set and *rc_r the class of failure. */
static PGresult *run(struct store *st, const char *what, const char *sql, int n,
		     const char *const *params, const int *lens, int *rc_r, struct errbuf *err)
{
	int formats[16] = {0};
	PGresult *res;
	ExecStatusType status;

	g_assert(n <= 16);
	for (int i = 0; lens != NULL && i < n; i++)
		formats[i] = lens[i] != 0;
	res = PQexecParams(st->conn, sql, n, NULL, params, lens, formats, 0);
	status = PQresultStatus(res);
	if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
		return res;
	*rc_r = fail_res(st, res, what, err);
	return NULL;
}

/* run() for statements whose result is not needed. */
static int exec(struct store *st, const char *what, const char *sql, int n,
		const char *const *params, struct errbuf *err)
{
	int rc = SPOC_OK;
	PGresult *res = run(st, what, sql, n, params, NULL, &rc, err);

	PQclear(res);
	return res != NULL ? SPOC_OK : rc;
}

static int64_t get_i64(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0
					  : g_ascii_strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

int store_open(const char *conninfo, struct store **st_r, struct errbuf *err)
{
	const char *keys[] = {"dbname", "application_name", "connect_timeout", NULL};
	const char *vals[] = {conninfo, "spocd", "10", NULL};
	struct store *st = g_new0(struct store, 1);

	/* expand_dbname: conninfo is a full connection string; our application_name and timeout
	 * apply unless it sets its own. */
	st->conn = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(st->conn) != CONNECTION_OK) {
		char *msg = g_strstrip(g_strdup(PQerrorMessage(st->conn)));

		errbuf_set(err, SPOC_ETEMP, "database: cannot connect: %s", msg);
		g_free(msg);
		store_close(&st);
		return SPOC_ETEMP;
	}
	/* Server notices ("relation already exists, skipping") are not ours to print. */
	PQsetNoticeProcessor(st->conn, ignore_notice, NULL);
	*st_r = st;
	return exec(st, "session setup", "SET TIME ZONE 'UTC'", 0, NULL, err);
}

void store_close(struct store **st)
{
	if (*st == NULL)
		return;
	PQfinish((*st)->conn);
	g_free(*st);
	*st = NULL;
}

int store_begin(struct store *st, struct errbuf *err)
{
	return exec(st, "BEGIN", "BEGIN", 0, NULL, err);
}

int store_commit(struct store *st, struct errbuf *err)
{
	return exec(st, "COMMIT", "COMMIT", 0, NULL, err);
}

void store_rollback(struct store *st)
{
	PQclear(PQexec(st->conn, "ROLLBACK"));
}

int store_savepoint(struct store *st, struct errbuf *err)
{
	return exec(st, "SAVEPOINT", "SAVEPOINT spoc_msg", 0, NULL, err);
}

int store_rollback_to_savepoint(struct store *st, struct errbuf *err)
{
	return exec(st, "ROLLBACK TO SAVEPOINT", "ROLLBACK TO SAVEPOINT spoc_msg", 0, NULL, err);
}

int store_release_savepoint(struct store *st, struct errbuf *err)
{
	return exec(st, "RELEASE SAVEPOINT", "RELEASE SAVEPOINT spoc_msg", 0, NULL, err);
}

/* ---- migrations ---- */

static gint cmp_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of NNN_*.sql files in dir; caller frees with g_ptr_array_unref(). */
static GPtrArray *migration_files(const char *dir, struct errbuf *err)
{
	GError *gerr = NULL;
	GDir *d = g_dir_open(dir, 0, &gerr);
	GPtrArray *names;
	const char *name;

	if (d == NULL) {
		errbuf_set(err, SPOC_EPERM, "migrations: %s", gerr->message);
		g_error_free(gerr);
		return NULL;
	}
	names = g_ptr_array_new_with_free_func(g_free);
	while ((name = g_dir_read_name(d)) != NULL)
		if (strlen(name) > 8 && g_ascii_isdigit(name[0]) && g_ascii_isdigit(name[1]) &&
		    g_ascii_isdigit(name[2]) && name[3] == '_' && g_str_has_suffix(name, ".sql"))
			g_ptr_array_add(names, g_strdup(name));
	g_dir_close(d);
	g_ptr_array_sort(names, cmp_names);
	return names;
}

int store_migrate(struct store *st, const char *sql_dir, int *applied_r, struct errbuf *err)
{
	const char *lock = MIGRATION_LOCK_KEY;
	GPtrArray *names = migration_files(sql_dir, err);
	PGresult *res;
	GHashTable *done;
	int rc, applied = 0;

	if (names == NULL)
		return SPOC_EPERM;
	if ((rc = store_begin(st, err)) != SPOC_OK)
		goto out_names;
	/* The lock first: a second spocd starting now waits here, then sees what we applied. */
	const char *lp[] = {lock};
	if ((rc = exec(st, "migration lock", "SELECT pg_advisory_xact_lock($1::bigint)", 1, lp,
		       err)) != SPOC_OK ||
	    (rc = exec(st, "schema_migrations",
		       "CREATE TABLE IF NOT EXISTS schema_migrations ("
		       " version text PRIMARY KEY,"
		       " applied_at timestamptz NOT NULL DEFAULT now())",
		       0, NULL, err)) != SPOC_OK)
		goto out_rollback;
	res = run(st, "schema_migrations", "SELECT version FROM schema_migrations", 0, NULL, NULL,
		  &rc, err);
	if (res == NULL)
		goto out_rollback;
	done = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (int i = 0; i < PQntuples(res); i++)
		g_hash_table_add(done, g_strdup(PQgetvalue(res, i, 0)));
	PQclear(res);

	for (guint i = 0; i < names->len; i++) {
		const char *name = g_ptr_array_index(names, i);
		char *path, *script = NULL;
		GError *gerr = NULL;

		if (g_hash_table_contains(done, name))
			continue;
		path = g_build_filename(sql_dir, name, NULL);
		if (!g_file_get_contents(path, &script, NULL, &gerr)) {
			rc = errbuf_set(err, SPOC_EPERM, "migration %s: %s", path, gerr->message);
			g_error_free(gerr);
			g_free(path);
			break;
		}
		/* A migration file is a script of several statements: the simple query protocol. */
		res = PQexec(st->conn, script);
		g_free(script);
		if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		    PQresultStatus(res) != PGRES_TUPLES_OK) {
			rc = fail_res(st, res, path, err);
			g_free(path);
			break;
		}
		PQclear(res);
		g_free(path);
		const char *vp[] = {name};
		if ((rc = exec(st, "schema_migrations",
			       "INSERT INTO schema_migrations (version) VALUES ($1)", 1, vp,
			       err)) != SPOC_OK)
			break;
		applied++;
	}
	g_hash_table_unref(done);
	if (rc == SPOC_OK && (rc = store_commit(st, err)) == SPOC_OK) {
		if (applied_r != NULL)
			*applied_r = applied;
		goto out_names;
	}
out_rollback:
	store_rollback(st);
out_names:
	g_ptr_array_unref(names);
	return rc;
}

/* ---- ingest ---- */

const char *store_outcome_name(enum ingest_outcome outcome)
{
	static const char *const names[] = {"ticket",	 "reply",	"duplicate",
					    "automatic", "quarantined", "taken"};

	return names[outcome];
}

int store_mailbox_sync(struct store *st, const char *mailbox, uint32_t uidvalidity,
		       gboolean *changed_r, uint32_t *last_uid_r, struct errbuf *err)
{
	char uv[16];
	int rc = SPOC_OK;
	PGresult *res;

	g_snprintf(uv, sizeof(uv), "%u", uidvalidity);
	const char *p[] = {mailbox, uv};
	/* Insert or fetch in one statement; a changed UIDVALIDITY resets last_uid. */
	res = run(st, "mailbox_state",
		  "WITH old AS (SELECT uidvalidity, last_uid FROM mailbox_state WHERE mailbox = $1)"
		  " INSERT INTO mailbox_state AS s (mailbox, uidvalidity, last_uid)"
		  " VALUES ($1, $2::bigint, 0)"
		  " ON CONFLICT (mailbox) DO UPDATE SET"
		  "  uidvalidity = EXCLUDED.uidvalidity,"
		  "  last_uid = CASE WHEN s.uidvalidity = EXCLUDED.uidvalidity"
		  "             THEN s.last_uid ELSE 0 END,"
		  "  updated_at = now()"
		  " RETURNING s.last_uid,"
		  "  coalesce((SELECT uidvalidity FROM old) <> $2::bigint, false)",
		  2, p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	*last_uid_r = (uint32_t)get_i64(res, 0, 0);
	*changed_r = PQgetvalue(res, 0, 1)[0] == 't';
	PQclear(res);
	return SPOC_OK;
}

int store_mailbox_advance(struct store *st, const char *mailbox, uint32_t uidvalidity,
			  uint32_t last_uid, struct errbuf *err)
{
	char uv[16], lu[16];

	g_snprintf(uv, sizeof(uv), "%u", uidvalidity);
	g_snprintf(lu, sizeof(lu), "%u", last_uid);
	const char *p[] = {mailbox, uv, lu};
	return exec(st, "mailbox_state",
		    "UPDATE mailbox_state SET last_uid = greatest(last_uid, $3::bigint),"
		    " updated_at = now() WHERE mailbox = $1 AND uidvalidity = $2::bigint",
		    3, p, err);
}

static enum ingest_outcome outcome_from_name(const char *name)
{
	for (int o = INGEST_TICKET; o <= INGEST_QUARANTINED; o++)
		if (strcmp(name, store_outcome_name(o)) == 0)
			return o;
	return INGEST_DUPLICATE;
}

/* Advisory lock keys: a class for spocd's mailbox locks and the hash of the mailbox name. */
#define MAILBOX_LOCK_CLASS "1936749411" /* "spoc" */

int store_mailbox_lock(struct store *st, const char *mailbox, gboolean *got_r, struct errbuf *err)
{
	const char *p[] = {MAILBOX_LOCK_CLASS, mailbox};
	int rc = SPOC_OK;
	PGresult *res =
	    run(st, "mailbox lock", "SELECT pg_try_advisory_lock($1::int, hashtext($2))", 2, p,
		NULL, &rc, err);

	if (res == NULL)
		return rc;
	*got_r = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return SPOC_OK;
}

void store_mailbox_unlock(struct store *st, const char *mailbox)
{
	const char *p[] = {MAILBOX_LOCK_CLASS, mailbox};
	int rc;

	PQclear(run(st, "mailbox unlock", "SELECT pg_advisory_unlock($1::int, hashtext($2))", 2, p,
		    NULL, &rc, NULL));
}

/* UIDs as a PostgreSQL array literal ("{1,2,3}"); caller frees. */
static char *uid_array(const uint32_t *uids, size_t n)
{
	GString *arr = g_string_new("{");

	for (size_t i = 0; i < n; i++)
		g_string_append_printf(arr, "%s%u", i ? "," : "", uids[i]);
	g_string_append_c(arr, '}');
	return g_string_free(arr, FALSE);
}

/* Runs sql with $1 mailbox, $2 UIDVALIDITY, $3 the UIDs as bigint[]. */
static PGresult *run_uids(struct store *st, const char *what, const char *sql, const char *mailbox,
			  uint32_t uidvalidity, const uint32_t *uids, size_t n, int *rc_r,
			  struct errbuf *err)
{
	char uv[16], *arr = uid_array(uids, n);
	PGresult *res;

	g_snprintf(uv, sizeof(uv), "%u", uidvalidity);
	const char *p[] = {mailbox, uv, arr};
	res = run(st, what, sql, 3, p, NULL, rc_r, err);
	g_free(arr);
	return res;
}

int store_attempts_get(struct store *st, const char *mailbox, uint32_t uidvalidity,
		       const uint32_t *uids, size_t n, GHashTable **attempts_r, struct errbuf *err)
{
	int rc = SPOC_OK;
	PGresult *res = run_uids(st, "ingest_attempts",
				 "SELECT uid, attempts FROM ingest_attempts"
				 " WHERE mailbox = $1 AND uidvalidity = $2::bigint"
				 " AND uid = ANY($3::bigint[])",
				 mailbox, uidvalidity, uids, n, &rc, err);

	if (res == NULL)
		return rc;
	*attempts_r = g_hash_table_new(g_direct_hash, g_direct_equal);
	for (int i = 0; i < PQntuples(res); i++)
		g_hash_table_insert(*attempts_r, GUINT_TO_POINTER((guint)get_i64(res, i, 0)),
				    GINT_TO_POINTER((int)get_i64(res, i, 1)));
	PQclear(res);
	return SPOC_OK;
}

int store_attempts_mark(struct store *st, const char *mailbox, uint32_t uidvalidity,
			const uint32_t *uids, size_t n, struct errbuf *err)
{
	int rc = SPOC_OK;
	PGresult *res = run_uids(st, "ingest_attempts",
				 "INSERT INTO ingest_attempts AS a (mailbox, uidvalidity, uid)"
				 " SELECT $1, $2::bigint, u FROM unnest($3::bigint[]) AS u"
				 " ON CONFLICT (mailbox, uidvalidity, uid) DO UPDATE"
				 " SET attempts = a.attempts + 1, last_attempt_at = now()",
				 mailbox, uidvalidity, uids, n, &rc, err);

	PQclear(res);
	return res != NULL ? SPOC_OK : rc;
}

int store_attempts_clear(struct store *st, const char *mailbox, uint32_t uidvalidity,
			 const uint32_t *uids, size_t n, struct errbuf *err)
{
	int rc = SPOC_OK;
	PGresult *res = run_uids(st, "ingest_attempts",
				 "DELETE FROM ingest_attempts WHERE mailbox = $1"
				 " AND uidvalidity = $2::bigint AND uid = ANY($3::bigint[])",
				 mailbox, uidvalidity, uids, n, &rc, err);

	PQclear(res);
	return res != NULL ? SPOC_OK : rc;
}

int store_ingested_uids(struct store *st, const char *mailbox, uint32_t uidvalidity,
			const uint32_t *uids, size_t n, GHashTable **seen_r, struct errbuf *err)
{
	int rc = SPOC_OK;
	PGresult *res = run_uids(st, "ingest_log",
				 "SELECT uid, outcome FROM ingest_log"
				 " WHERE mailbox = $1 AND uidvalidity = $2::bigint"
				 " AND uid = ANY($3::bigint[])",
				 mailbox, uidvalidity, uids, n, &rc, err);

	if (res == NULL)
		return rc;
	*seen_r = g_hash_table_new(g_direct_hash, g_direct_equal);
	for (int i = 0; i < PQntuples(res); i++)
		g_hash_table_insert(*seen_r, GUINT_TO_POINTER((guint)get_i64(res, i, 0)),
				    GINT_TO_POINTER(outcome_from_name(PQgetvalue(res, i, 1)) + 1));
	PQclear(res);
	return SPOC_OK;
}

/* Message-IDs as one newline-separated parameter for string_to_array(); ids that could break
 * the separation are left out (mime.c never produces them). */
static char *join_ids(const char *first, GPtrArray *more)
{
	GString *s = g_string_new(NULL);

	if (first != NULL && strchr(first, '\n') == NULL)
		g_string_append(s, first);
	for (guint i = 0; more != NULL && i < more->len; i++) {
		const char *id = g_ptr_array_index(more, i);

		if (strchr(id, '\n') != NULL)
			continue;
		if (s->len > 0)
			g_string_append_c(s, '\n');
		g_string_append(s, id);
	}
	return g_string_free(s, FALSE);
}

/* Inserts the incoming message row; *id_r gets its id. ticket may be NULL (no ticket). */
static int insert_message(struct store *st, const char *ticket, const char *raw, size_t raw_len,
			  const struct mail *m, const char *automatic, int64_t *id_r,
			  struct errbuf *err)
{
	char *refs = join_ids(NULL, m->references);
	char *date = m->date != NULL ? g_date_time_format_iso8601(m->date) : NULL;
	int rc = SPOC_OK;
	PGresult *res;

	const char *p[] = {ticket,
			   m->message_id,
			   m->message_id_synthetic ? "t" : "f",
			   m->in_reply_to,
			   refs,
			   m->from.addr != NULL ? m->from.addr : "",
			   m->from.name != NULL ? m->from.name : "",
			   m->to_text,
			   m->cc_text,
			   m->subject,
			   date,
			   m->text,
			   raw,
			   m->sha256,
			   automatic};
	int lens[G_N_ELEMENTS(p)] = {0};
	lens[12] = (int)raw_len;
	res = run(st, "messages",
		  "INSERT INTO messages (ticket_id, direction, message_id, message_id_synthetic,"
		  " in_reply_to, refs, from_addr, from_name, to_addrs, cc_addrs, subject, sent_at,"
		  " body_text, raw, raw_sha256, automatic)"
		  " VALUES ($1::bigint, 'in', $2, $3::boolean, $4,"
		  "  coalesce(string_to_array(nullif($5, ''), E'\\n'), '{}'), $6, $7, $8, $9, $10,"
		  "  $11::timestamptz, $12, $13::bytea, $14, $15)"
		  " RETURNING id",
		  G_N_ELEMENTS(p), p, lens, &rc, err);
	g_free(refs);
	g_free(date);
	if (res == NULL)
		return rc;
	*id_r = get_i64(res, 0, 0);
	PQclear(res);
	return SPOC_OK;
}

/* The ticket the subject tag names, when the sender is its requester; 0 otherwise. */
static int find_tagged(struct store *st, const struct mail *m, int64_t number, int64_t *ticket_r,
		       struct errbuf *err)
{
	char num[24];
	int rc = SPOC_OK;
	PGresult *res;

	*ticket_r = 0;
	if (number <= 0 || m->from.addr == NULL)
		return SPOC_OK;
	g_snprintf(num, sizeof(num), "%" G_GINT64_FORMAT, number);
	const char *p[] = {num, m->from.addr};
	res = run(st, "threading by subject tag",
		  "SELECT id FROM tickets WHERE number = $1::bigint AND requester = lower($2)", 2,
		  p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	if (PQntuples(res) > 0)
		*ticket_r = get_i64(res, 0, 0);
	PQclear(res);
	return SPOC_OK;
}

/* The ticket an existing message names through In-Reply-To or References, nearest first; 0 when
 * none. Our own notifications count from the moment they are queued. */
static int find_thread(struct store *st, const struct mail *m, int64_t *ticket_r,
		       struct errbuf *err)
{
	GPtrArray *ids = g_ptr_array_new();
	char *joined;
	int rc = SPOC_OK;
	PGresult *res;

	*ticket_r = 0;
	/* References are oldest first; look from the newest back. */
	for (guint i = m->references != NULL ? m->references->len : 0; i > 0; i--)
		g_ptr_array_add(ids, g_ptr_array_index(m->references, i - 1));
	joined = join_ids(m->in_reply_to, ids);
	g_ptr_array_unref(ids);
	if (joined[0] == '\0') {
		g_free(joined);
		return SPOC_OK;
	}
	const char *p[] = {joined};
	res = run(st, "threading",
		  "WITH ids AS (SELECT id, ord FROM unnest(string_to_array($1, E'\\n'))"
		  "              WITH ORDINALITY AS u(id, ord))"
		  " SELECT t.ticket_id FROM ("
		  "  SELECT m.ticket_id, ids.ord FROM messages m JOIN ids ON m.message_id = ids.id"
		  "   WHERE m.ticket_id IS NOT NULL AND NOT m.message_id_synthetic"
		  "  UNION ALL"
		  "  SELECT o.ticket_id, ids.ord FROM outbox o JOIN ids ON o.message_id = ids.id"
		  " ) t ORDER BY t.ord LIMIT 1",
		  1, p, NULL, &rc, err);
	g_free(joined);
	if (res == NULL)
		return rc;
	if (PQntuples(res) > 0)
		*ticket_r = get_i64(res, 0, 0);
	PQclear(res);
	return SPOC_OK;
}

static char *mint_message_id(const char *domain)
{
	char *uuid = g_uuid_string_random();
	char *id = g_strdup_printf("spocd.%s@%s", uuid, domain);

	g_free(uuid);
	return id;
}

static int finish_log(struct store *st, const char *log_id, const char *outcome,
		      int64_t message_row, int64_t ticket_id, const char *detail,
		      struct errbuf *err)
{
	char mr[24], tk[24];

	g_snprintf(mr, sizeof(mr), "%" G_GINT64_FORMAT, message_row);
	g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, ticket_id);
	const char *p[] = {log_id, outcome, message_row ? mr : NULL, ticket_id ? tk : NULL,
			   detail != NULL ? detail : ""};
	return exec(st, "ingest_log",
		    "UPDATE ingest_log SET outcome = $2, message_row = $3::bigint,"
		    " ticket_id = $4::bigint, detail = $5 WHERE id = $1::bigint",
		    5, p, err);
}

/* Claims (mailbox, uidvalidity, uid) in ingest_log. *log_id_r is "" when the key was already
 * taken (an earlier run, or a concurrent worker that committed first). */
static int claim_uid(struct store *st, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		     const char *sha256, const char *outcome, char log_id_r[24], struct errbuf *err)
{
	char uv[16], u[16];
	int rc = SPOC_OK;
	PGresult *res;

	g_snprintf(uv, sizeof(uv), "%u", uidvalidity);
	g_snprintf(u, sizeof(u), "%u", uid);
	const char *p[] = {mailbox, uv, u, sha256, outcome};
	res = run(st, "ingest_log",
		  "INSERT INTO ingest_log (mailbox, uidvalidity, uid, raw_sha256, outcome)"
		  " VALUES ($1, $2::bigint, $3::bigint, $4, $5)"
		  " ON CONFLICT (mailbox, uidvalidity, uid) DO NOTHING RETURNING id",
		  5, p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	g_strlcpy(log_id_r, PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "", 24);
	PQclear(res);
	return SPOC_OK;
}

static int create_ticket(struct store *st, const struct mail *m, const struct ingest_decision *d,
			 struct ingest_result *res_r, struct errbuf *err)
{
	const char *subject = m->subject[0] != '\0' ? m->subject : "";
	int rc = SPOC_OK;
	PGresult *res;

	const char *p[] = {conf_kind_name(d->kind),
			   d->kind_rule != NULL ? d->kind_rule : "",
			   subject,
			   m->from.addr,
			   m->from.name != NULL ? m->from.name : "",
			   d->language};
	res = run(
	    st, "tickets",
	    "INSERT INTO tickets (kind, kind_rule, subject, requester, requester_name, language)"
	    " VALUES ($1, $2, $3, lower($4), $5, $6) RETURNING id, display",
	    6, p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	res_r->ticket_id = get_i64(res, 0, 0);
	g_strlcpy(res_r->ticket_number, PQgetvalue(res, 0, 1), sizeof(res_r->ticket_number));
	PQclear(res);
	return SPOC_OK;
}

static int queue_ack(struct store *st, const struct mail *m, const struct ingest_decision *d,
		     int64_t message_row, struct ingest_result *res_r, struct errbuf *err)
{
	char tk[24], mr[24];
	char *mid = mint_message_id(d->message_id_domain);
	int rc = SPOC_OK;
	PGresult *res;

	g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, res_r->ticket_id);
	g_snprintf(mr, sizeof(mr), "%" G_GINT64_FORMAT, message_row);
	const char *p[] = {tk,		mr, m->from.addr, m->from.name != NULL ? m->from.name : "",
			   d->language, mid};
	res = run(st, "outbox",
		  "INSERT INTO outbox (kind, ticket_id, in_reply_to_message, recipient,"
		  " recipient_name, language, message_id)"
		  " VALUES ('ack', $1::bigint, $2::bigint, $3, $4, $5, $6) RETURNING id",
		  6, p, NULL, &rc, err);
	g_free(mid);
	if (res == NULL)
		return rc;
	res_r->outbox_id = get_i64(res, 0, 0);
	PQclear(res);
	return SPOC_OK;
}

int store_ingest_mail(struct store *st, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		      const char *raw, size_t raw_len, const struct mail *mail,
		      const struct ingest_decision *d, struct ingest_result *res_r,
		      struct errbuf *err)
{
	char log_id[24], tk[24];
	int64_t message_row = 0, thread = 0;
	int rc = SPOC_OK;
	PGresult *res;

	memset(res_r, 0, sizeof(*res_r));
	if ((rc = claim_uid(st, mailbox, uidvalidity, uid, mail->sha256, "duplicate", log_id,
			    err)) != SPOC_OK)
		return rc;
	if (log_id[0] == '\0') {
		res_r->outcome = INGEST_TAKEN;
		return SPOC_OK;
	}

	/* The same bytes, or the same real Message-ID, taken before (from another UID, another
	 * mailbox or a redelivery): nothing new to record. */
	const char *dp[] = {mail->sha256, mail->message_id_synthetic ? NULL : mail->message_id};
	res = run(st, "duplicate check",
		  "SELECT m.id, coalesce(m.ticket_id, 0), coalesce(t.display, '') FROM messages m"
		  " LEFT JOIN tickets t ON t.id = m.ticket_id"
		  " WHERE m.direction = 'in' AND (m.raw_sha256 = $1 OR"
		  "  ($2::text IS NOT NULL AND m.message_id = $2 AND NOT m.message_id_synthetic))"
		  " ORDER BY m.id LIMIT 1",
		  2, dp, NULL, &rc, err);
	if (res == NULL)
		return rc;
	if (PQntuples(res) > 0) {
		res_r->outcome = INGEST_DUPLICATE;
		res_r->ticket_id = get_i64(res, 0, 1);
		g_strlcpy(res_r->ticket_number, PQgetvalue(res, 0, 2),
			  sizeof(res_r->ticket_number));
		message_row = get_i64(res, 0, 0);
		PQclear(res);
		return finish_log(st, log_id, "duplicate", message_row, res_r->ticket_id,
				  "same raw bytes or Message-ID as an earlier message", err);
	}
	PQclear(res);

	if ((rc = find_thread(st, mail, &thread, err)) != SPOC_OK ||
	    (thread == 0 && (rc = find_tagged(st, mail, d->subject_tag, &thread, err)) != SPOC_OK))
		return rc;

	if (thread != 0) {
		g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, thread);
		if ((rc = insert_message(st, tk, raw, raw_len, mail, d->automatic_why, &message_row,
					 err)) != SPOC_OK)
			return rc;
		const char *tp[] = {tk};
		res = run(st, "tickets",
			  "UPDATE tickets SET updated_at = now() WHERE id = $1::bigint"
			  " RETURNING display",
			  1, tp, NULL, &rc, err);
		if (res == NULL)
			return rc;
		res_r->ticket_id = thread;
		g_strlcpy(res_r->ticket_number, PQntuples(res) ? PQgetvalue(res, 0, 0) : "",
			  sizeof(res_r->ticket_number));
		PQclear(res);
		res_r->outcome = d->automatic_why != NULL ? INGEST_AUTOMATIC : INGEST_REPLY;
		return finish_log(st, log_id, store_outcome_name(res_r->outcome), message_row,
				  thread, d->automatic_why, err);
	}

	if (d->automatic_why != NULL) {
		if ((rc = insert_message(st, NULL, raw, raw_len, mail, d->automatic_why,
					 &message_row, err)) != SPOC_OK)
			return rc;
		res_r->outcome = INGEST_AUTOMATIC;
		return finish_log(st, log_id, "automatic", message_row, 0, d->automatic_why, err);
	}

	if ((rc = create_ticket(st, mail, d, res_r, err)) != SPOC_OK)
		return rc;
	g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, res_r->ticket_id);
	if ((rc = insert_message(st, tk, raw, raw_len, mail, NULL, &message_row, err)) != SPOC_OK ||
	    (rc = queue_ack(st, mail, d, message_row, res_r, err)) != SPOC_OK)
		return rc;
	res_r->outcome = INGEST_TICKET;
	return finish_log(st, log_id, "ticket", message_row, res_r->ticket_id, d->kind_rule, err);
}

int store_quarantine(struct store *st, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		     const char *raw, size_t raw_len, const char *reason, struct errbuf *err)
{
	char uv[16], u[16], sha[65], log_id[24];
	int rc;

	spoc_sha256_hex(raw, raw_len, sha);
	if ((rc = claim_uid(st, mailbox, uidvalidity, uid, sha, "quarantined", log_id, err)) !=
	    SPOC_OK)
		return rc;
	if (log_id[0] == '\0')
		return SPOC_OK; /* recorded before */
	g_snprintf(uv, sizeof(uv), "%u", uidvalidity);
	g_snprintf(u, sizeof(u), "%u", uid);
	const char *p[] = {mailbox, uv, u, reason, raw, sha, log_id};
	int lens[G_N_ELEMENTS(p)] = {0};
	lens[4] = (int)raw_len;
	PGresult *res =
	    run(st, "quarantine",
		"WITH q AS (INSERT INTO quarantine (mailbox, uidvalidity, uid, reason,"
		"  raw, raw_sha256) VALUES ($1, $2::bigint, $3::bigint, $4, $5::bytea, $6)"
		"  RETURNING id)"
		" UPDATE ingest_log SET detail = $4 || ' (quarantine ' ||"
		"  (SELECT id FROM q) || ')' WHERE id = $7::bigint",
		G_N_ELEMENTS(p), p, lens, &rc, err);
	PQclear(res);
	return res != NULL ? SPOC_OK : rc;
}

/* ---- outbox ---- */

void outbox_row_free(struct outbox_row **row)
{
	struct outbox_row *r = *row;

	if (r == NULL)
		return;
	g_free(r->kind);
	g_free(r->ticket_number);
	g_free(r->ticket_subject);
	g_free(r->recipient);
	g_free(r->recipient_name);
	g_free(r->language);
	g_free(r->message_id);
	g_free(r->in_reply_to);
	if (r->references != NULL)
		g_ptr_array_unref(r->references);
	g_free(r);
	*row = NULL;
}

int store_outbox_claim(struct store *st, struct outbox_row **row_r, struct errbuf *err)
{
	struct outbox_row *r;
	int rc;
	PGresult *res;

	*row_r = NULL;
	if ((rc = store_begin(st, err)) != SPOC_OK)
		return rc;
	res = run(st, "outbox claim",
		  "SELECT o.id, o.kind, o.ticket_id, t.display, t.kind, t.subject, o.recipient,"
		  "  o.recipient_name, o.language, o.message_id,"
		  "  CASE WHEN m.message_id_synthetic THEN NULL ELSE m.message_id END,"
		  "  array_to_string(m.refs, E'\\n'), o.attempts"
		  " FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
		  " LEFT JOIN messages m ON m.id = o.in_reply_to_message"
		  " WHERE o.state = 'pending' AND o.next_attempt_at <= now()"
		  " ORDER BY o.next_attempt_at, o.id LIMIT 1"
		  " FOR UPDATE OF o SKIP LOCKED",
		  0, NULL, NULL, &rc, err);
	if (res == NULL) {
		store_rollback(st);
		return rc;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		store_rollback(st);
		return SPOC_OK;
	}
	r = g_new0(struct outbox_row, 1);
	r->id = get_i64(res, 0, 0);
	r->kind = g_strdup(PQgetvalue(res, 0, 1));
	r->ticket_id = get_i64(res, 0, 2);
	r->ticket_number = g_strdup(PQgetvalue(res, 0, 3));
	r->ticket_kind =
	    strcmp(PQgetvalue(res, 0, 4), "request") == 0 ? SPOC_KIND_REQUEST : SPOC_KIND_INCIDENT;
	r->ticket_subject = g_strdup(PQgetvalue(res, 0, 5));
	r->recipient = g_strdup(PQgetvalue(res, 0, 6));
	r->recipient_name = g_strdup(PQgetvalue(res, 0, 7));
	r->language = g_strdup(PQgetvalue(res, 0, 8));
	r->message_id = g_strdup(PQgetvalue(res, 0, 9));
	r->in_reply_to = PQgetisnull(res, 0, 10) ? NULL : g_strdup(PQgetvalue(res, 0, 10));
	/* RFC 5322 3.6.4: the parent's References followed by the parent's Message-ID. */
	r->references = g_ptr_array_new_with_free_func(g_free);
	if (!PQgetisnull(res, 0, 11) && PQgetvalue(res, 0, 11)[0] != '\0') {
		char **refs = g_strsplit(PQgetvalue(res, 0, 11), "\n", -1);

		for (char **p = refs; *p != NULL; p++)
			g_ptr_array_add(r->references, g_strdup(*p));
		g_strfreev(refs);
	}
	if (r->in_reply_to != NULL)
		g_ptr_array_add(r->references, g_strdup(r->in_reply_to));
	r->attempts = (int)get_i64(res, 0, 12);
	PQclear(res);
	*row_r = r;
	return SPOC_OK;
}

/* Runs the statement, then COMMIT; on any failure rolls back. */
static int exec_commit(struct store *st, const char *what, const char *sql, int n,
		       const char *const *params, const int *lens, struct errbuf *err)
{
	int rc = SPOC_OK;
	PGresult *res = run(st, what, sql, n, params, lens, &rc, err);

	PQclear(res);
	if (res != NULL && (rc = store_commit(st, err)) == SPOC_OK)
		return SPOC_OK;
	store_rollback(st);
	return rc;
}

int store_outbox_sent(struct store *st, const struct outbox_row *row, const char *raw, size_t len,
		      const char *from_addr, const char *subject, const char *body_text,
		      struct errbuf *err)
{
	char id[24], sha[65];
	char *refs = join_ids(NULL, row->references);
	int rc;

	g_snprintf(id, sizeof(id), "%" G_GINT64_FORMAT, row->id);
	spoc_sha256_hex(raw, len, sha);
	const char *p[] = {id, raw, sha, from_addr, subject, body_text, refs};
	int lens[G_N_ELEMENTS(p)] = {0};
	lens[1] = (int)len;
	rc = exec_commit(
	    st, "outbox sent",
	    "WITH o AS (UPDATE outbox SET state = 'sent', attempts = attempts + 1,"
	    "  sent_at = now(), last_error = '' WHERE id = $1::bigint"
	    "  RETURNING ticket_id, message_id, recipient, in_reply_to_message)"
	    " INSERT INTO messages (ticket_id, direction, message_id, in_reply_to, refs,"
	    "  from_addr, to_addrs, subject, sent_at, body_text, raw, raw_sha256)"
	    " SELECT o.ticket_id, 'out', o.message_id,"
	    "  (SELECT message_id FROM messages WHERE id = o.in_reply_to_message),"
	    "  coalesce(string_to_array(nullif($7, ''), E'\\n'), '{}'), $4, o.recipient,"
	    "  $5, now(), $6, $2::bytea, $3 FROM o",
	    G_N_ELEMENTS(p), p, lens, err);
	g_free(refs);
	return rc;
}

int store_outbox_retry(struct store *st, const struct outbox_row *row, int delay_s,
		       const char *reason, struct errbuf *err)
{
	char id[24], delay[16];

	g_snprintf(id, sizeof(id), "%" G_GINT64_FORMAT, row->id);
	g_snprintf(delay, sizeof(delay), "%d", delay_s);
	const char *p[] = {id, delay, reason};
	return exec_commit(st, "outbox retry",
			   "UPDATE outbox SET attempts = attempts + 1, last_error = $3,"
			   " next_attempt_at = now() + make_interval(secs => $2::int)"
			   " WHERE id = $1::bigint",
			   3, p, NULL, err);
}

int store_outbox_failed(struct store *st, const struct outbox_row *row, const char *reason,
			struct errbuf *err)
{
	char id[24];

	g_snprintf(id, sizeof(id), "%" G_GINT64_FORMAT, row->id);
	const char *p[] = {id, reason};
	return exec_commit(st, "outbox failed",
			   "UPDATE outbox SET state = 'failed', attempts = attempts + 1,"
			   " last_error = $2 WHERE id = $1::bigint",
			   2, p, NULL, err);
}
