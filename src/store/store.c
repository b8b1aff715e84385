/* PostgreSQL storage through libpq: the connection, transactions, migrations and the statement
 * helpers of store_ingest.c and store_outbox.c. Every SQL statement of spocd lives in these
 * files (or in sql/): values always travel as parameters, raw message bytes as binary
 * parameters. Errors are split the Postfix way: connection trouble, serialization failures and
 * resource shortages are SPOC_ETEMP (try again, nothing advanced); any other SQL error is
 * SPOC_EPERM (this data will never fit, so the message that caused it is quarantined). */
#include "store_priv.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* pg_advisory_xact_lock key of the migrations: the bytes of "spocd" as a number. */
#define MIGRATION_LOCK_KEY "495891014500"

/* ---- plumbing ---- */

/* TRUE when res failed because a prepared statement's plan no longer fits its tables (a
 * migration by another process changed them): passing, the next attempt prepares it anew. */
static gboolean stale_plan(const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	return state != NULL && strcmp(state, "0A000") == 0 && msg != NULL &&
	       strstr(msg, "cached plan must not change result type") != NULL;
}

int store_error_class(struct store *st, const PGresult *res)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(st->conn) != CONNECTION_OK || state == NULL || stale_plan(res))
		return SPOC_ETEMP;
	/* 08 connection, 40 transaction rollback (serialization, deadlock), 53 resources,
	 * 57 operator intervention (shutdown, cancel), 58 system error. */
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "40", 2) == 0 ||
	    strncmp(state, "53", 2) == 0 || strncmp(state, "57", 2) == 0 ||
	    strncmp(state, "58", 2) == 0)
		return SPOC_ETEMP;
	/* 25006 read_only_sql_transaction: a hot standby (or a primary being demoted) refuses
	 * every write; the same statement works once a primary is reached again. */
	if (strcmp(state, "25006") == 0)
		return SPOC_ETEMP;
	return SPOC_EPERM;
}

/* The database's sentence for a failed res (or the connection's, without one), stripped,
 * followed by its SQLSTATE when it has one, so that a log says which condition it was; caller
 * frees with g_free(). */
static char *error_text(struct store *st, const PGresult *res)
{
	const char *msg = res != NULL ? PQresultErrorMessage(res) : NULL;
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char *clean = g_strstrip(g_strdup(msg != NULL && msg[0] ? msg : PQerrorMessage(st->conn)));
	char *out;

	if (state == NULL)
		return clean;
	out = g_strdup_printf("%s (SQLSTATE %s)", clean, state);
	g_free(clean);
	return out;
}

static int fail_res(struct store *st, PGresult *res, const char *what, struct errbuf *err)
{
	char *clean;
	int rc;

	if (st->timed_out) {
		PQclear(res);
		return errbuf_set(
		    err, SPOC_ETEMP,
		    "database: %s: no answer within database.timeout (%d s): connection "
		    "dropped",
		    what, st->timeout_s);
	}
	clean = error_text(st, res);
	rc = store_error_class(st, res);

	errbuf_set(err, rc, "database: %s: %s", what, clean);
	g_free(clean);
	PQclear(res);
	return rc;
}

/* At most this many statements are kept prepared on one connection: spocd's own are fewer; a
 * text built at run time beyond it is run unprepared rather than grow the cache. */
#define STORE_PREPARED_MAX 512

/* The first replan (store_commit()) comes after this many statements, the next after twice as
 * many, and so on. */
#define STORE_REPLAN_FIRST 256

/* TRUE for the statements worth preparing: queries and changes (BEGIN, COMMIT, SAVEPOINT and
 * SET are sent as they are). */
static gboolean preparable(const char *sql)
{
	static const char *const verbs[] = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"};

	while (g_ascii_isspace(*sql))
		sql++;
	for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++) {
		size_t len = strlen(verbs[i]);

		if (g_ascii_strncasecmp(sql, verbs[i], len) == 0 &&
		    (sql[len] == ' ' || sql[len] == '\n' || sql[len] == '('))
			return TRUE;
	}
	return FALSE;
}

/* Seconds left until deadline (monotonic µs) as poll()'s milliseconds; -1 without one. */
static int ms_left(gint64 deadline)
{
	gint64 left = deadline - g_get_monotonic_time();

	if (deadline == 0)
		return -1;
	return left <= 0 ? 0 : (int)MIN((left + 999) / 1000, G_MAXINT);
}

/* The answer to the statement just sent (sent: what PQsend*() returned), as PQexec() would give
 * it: its last result, the first error before it; NULL when there is none (the connection's
 * error message says why). With st->timeout_s, the whole exchange may take that long: if the
 * server has not answered by then, the socket is shut down (so libpq finds it closed on any
 * later use and the connection is never reused), st->timed_out is set and NULL returned. The
 * connection is non-blocking (store_open_bounded), so a send that cannot progress waits here
 * too, under the same deadline. */
static PGresult *await_result(struct store *st, int sent)
{
	gint64 deadline =
	    st->timeout_s > 0 ? g_get_monotonic_time() + (gint64)st->timeout_s * G_USEC_PER_SEC : 0;
	PGresult *res, *kept = NULL;
	gboolean broken = !sent;

	while (!broken) {
		int flushed = PQflush(st->conn);
		struct pollfd pfd = {.fd = PQsocket(st->conn), .events = POLLIN};
		int r;

		if (flushed < 0)
			break;
		if (flushed == 0 && !PQisBusy(st->conn)) {
			if ((res = PQgetResult(st->conn)) == NULL)
				break;
			if (kept != NULL && PQresultStatus(kept) == PGRES_FATAL_ERROR) {
				PQclear(res);
			} else {
				PQclear(kept);
				kept = res;
			}
			continue;
		}
		if (flushed == 1)
			pfd.events |= POLLOUT;
		r = poll(&pfd, 1, ms_left(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			shutdown(pfd.fd, SHUT_RDWR);
			st->timed_out = TRUE;
			PQclear(kept);
			return NULL;
		}
		if (r < 0 || ((pfd.revents & ~POLLOUT) != 0 && !PQconsumeInput(st->conn)))
			broken = TRUE;
	}
	/* a broken connection: libpq answers at once, with its error */
	while (broken && (res = PQgetResult(st->conn)) != NULL) {
		if (kept == NULL)
			kept = res;
		else
			PQclear(res);
	}
	return kept;
}

/* What await_result() makes of the statement send sends. */
#define BOUNDED(st, send) ((st)->timed_out = FALSE, await_result((st), (send)))

/* The name sql is prepared under on this connection, preparing it first; NULL when it is not
 * to be prepared (the caller runs it as it is) or when preparing failed: then *failed_r is the
 * database's answer, which is the statement's error (a missing table says so here, and the
 * transaction it was in is aborted as running it would have). */
static const char *prepared_name(struct store *st, const char *sql, int n, PGresult **failed_r)
{
	const char *name;
	char *fresh;
	PGresult *res;

	*failed_r = NULL;
	if (st->prepared == NULL || !preparable(sql))
		return NULL;
	if ((name = g_hash_table_lookup(st->prepared, sql)) != NULL)
		return name;
	if (g_hash_table_size(st->prepared) >= STORE_PREPARED_MAX)
		return NULL;
	fresh = g_strdup_printf("s%u", ++st->prepared_next);
	res = BOUNDED(st, PQsendPrepare(st->conn, fresh, sql, n, NULL));
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*failed_r = res;
		g_free(fresh);
		return NULL;
	}
	PQclear(res);
	g_hash_table_insert(st->prepared, g_strdup(sql), fresh);
	return fresh;
}

/* Runs sql with its parameters, prepared once per connection where it can be. */
static PGresult *exec_params(struct store *st, const char *sql, int n, const char *const *params,
			     const int *lens, const int *formats)
{
	PGresult *res;
	const char *name;

	st->timed_out = FALSE;
	st->runs++;
	name = prepared_name(st, sql, n, &res);
	if (res != NULL || st->timed_out) /* preparing failed, or got no answer */
		return res;
	if (name == NULL)
		return BOUNDED(st,
			       PQsendQueryParams(st->conn, sql, n, NULL, params, lens, formats, 0));
	res = BOUNDED(st, PQsendQueryPrepared(st->conn, name, n, params, lens, formats, 0));
	/* the tables changed under the plans: every statement is prepared anew (under new
	 * names; the old ones go when the session ends), and the caller tries again */
	if (PQresultStatus(res) == PGRES_FATAL_ERROR && stale_plan(res))
		g_hash_table_remove_all(st->prepared);
	return res;
}

/* Runs one parameterised statement; params may contain NULLs (SQL NULL). A parameter whose
 * length in lens is non-zero is sent as binary (bytea). Returns the result on success (caller
 * PQclear()s) or NULL with err set and *rc_r the class of failure. */
PGresult *store_sql_run(struct store *st, const char *what, const char *sql, int n,
			const char *const *params, const int *lens, int *rc_r, struct errbuf *err)
{
	int formats[64] = {0};
	PGresult *res;
	ExecStatusType status;

	g_assert(n <= (int)G_N_ELEMENTS(formats));
	for (int i = 0; lens != NULL && i < n; i++)
		formats[i] = lens[i] != 0;
	res = exec_params(st, sql, n, params, lens, formats);
	status = PQresultStatus(res);
	if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
		return res;
	*rc_r = fail_res(st, res, what, err);
	return NULL;
}

/* Runs the statement itself rather than through store_sql_run(): when the database refuses the
 * change (the status model's trigger raises check_violation) its own sentence is the answer the
 * person gets, and that is not a failure of the store. */
PGresult *store_sql_run_refusable(struct store *st, const char *what, const char *sql, int n,
				  const char *const *p, gboolean *refused_r, int *rc_r,
				  struct errbuf *err)
{
	PGresult *res = exec_params(st, sql, n, p, NULL, NULL);
	ExecStatusType status = PQresultStatus(res);
	const char *state, *msg;
	gboolean connected = PQstatus(st->conn) == CONNECTION_OK;

	*refused_r = FALSE;
	if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)
		return res;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (msg == NULL)
		msg = PQerrorMessage(st->conn);
	if (!connected || state == NULL || strncmp(state, "23", 2) != 0) {
		*rc_r = fail_res(st, res, what, err);
		return NULL;
	}
	/* class 23, integrity constraint violation: a rule of the data said no */
	*refused_r = TRUE;
	*rc_r = SPOC_EPERM;
	errbuf_set(err, SPOC_EPERM, "%s", msg);
	PQclear(res);
	return NULL;
}

/* store_sql_run() for statements whose result is not needed. */
int store_sql_exec(struct store *st, const char *what, const char *sql, int n,
		   const char *const *params, struct errbuf *err)
{
	int rc = SPOC_OK;
	PGresult *res = store_sql_run(st, what, sql, n, params, NULL, &rc, err);

	PQclear(res);
	return res != NULL ? SPOC_OK : rc;
}

int64_t store_sql_i64(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0
					  : g_ascii_strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

int store_open(const char *conninfo, gboolean prepare, struct store **st_r, struct errbuf *err)
{
	return store_open_bounded(conninfo, prepare, 0, st_r, err);
}

int store_open_bounded(const char *conninfo, gboolean prepare, int timeout_s, struct store **st_r,
		       struct errbuf *err)
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
	if (prepare)
		st->prepared = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	st->timeout_s = timeout_s;
	st->replan_at = STORE_REPLAN_FIRST;
	*st_r = st;
	/* PQexec() (migrations, ROLLBACK) still blocks, as libpq documents */
	if (PQsetnonblocking(st->conn, 1) != 0)
		return errbuf_set(err, SPOC_ETEMP,
				  "database: cannot make the connection "
				  "non-blocking: %s",
				  g_strstrip(PQerrorMessage(st->conn)));
	return store_sql_exec(st, "session setup", "SET TIME ZONE 'UTC'", 0, NULL, err);
}

void store_close(struct store **st)
{
	if (*st == NULL)
		return;
	PQfinish((*st)->conn);
	if ((*st)->prepared != NULL)
		g_hash_table_unref((*st)->prepared);
	g_free(*st);
	*st = NULL;
}

int store_begin(struct store *st, struct errbuf *err)
{
	return store_sql_exec(st, "BEGIN", "BEGIN", 0, NULL, err);
}

/* PostgreSQL keeps the plan it made for a prepared statement (spocd's, and the trigger
 * functions' own) for as long as the session lasts, or until the table's statistics change.
 * Made while the tables were small (a new desk, or the first minute of a bulk intake before
 * autovacuum analyses them), it reads them whole (a sequential scan of messages for every
 * duplicate check, of ingest_log for every window) and costs more with every mail. Between two
 * transactions, each time the statements run on this connection have doubled, every plan is made
 * again for the tables as they are: a few replans over any number of mails. The statements
 * are prepared again under new names; a failure here shows at the next statement. */
static void replan_if_grown(struct store *st)
{
	/* unprepared (database.pooler = "transaction"): every statement is planned afresh anyway */
	if (st->prepared == NULL || st->runs < st->replan_at)
		return;
	st->replan_at = st->runs * 2;
	g_hash_table_remove_all(st->prepared);
	/* best effort, each under database.timeout: a failure here shows in the next statement */
	(void)store_sql_exec(st, "replan", "DEALLOCATE ALL", 0, NULL, NULL);
	(void)store_sql_exec(st, "replan", "DISCARD PLANS", 0, NULL, NULL);
}

int store_commit(struct store *st, struct errbuf *err)
{
	int rc = store_sql_exec(st, "COMMIT", "COMMIT", 0, NULL, err);

	if (rc == SPOC_OK)
		replan_if_grown(st);
	return rc;
}

void store_rollback(struct store *st)
{
	PQclear(PQexec(st->conn, "ROLLBACK"));
}

int store_savepoint(struct store *st, struct errbuf *err)
{
	return store_sql_exec(st, "SAVEPOINT", "SAVEPOINT spoc_msg", 0, NULL, err);
}

int store_rollback_to_savepoint(struct store *st, struct errbuf *err)
{
	return store_sql_exec(st, "ROLLBACK TO SAVEPOINT", "ROLLBACK TO SAVEPOINT spoc_msg", 0,
			      NULL, err);
}

int store_release_savepoint(struct store *st, struct errbuf *err)
{
	return store_sql_exec(st, "RELEASE SAVEPOINT", "RELEASE SAVEPOINT spoc_msg", 0, NULL, err);
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
	if ((rc = store_sql_exec(st, "migration lock", "SELECT pg_advisory_xact_lock($1::bigint)",
				 1, lp, err)) != SPOC_OK ||
	    (rc = store_sql_exec(st, "schema_migrations",
				 "CREATE TABLE IF NOT EXISTS schema_migrations ("
				 " version text PRIMARY KEY,"
				 " applied_at timestamptz NOT NULL DEFAULT now())",
				 0, NULL, err)) != SPOC_OK)
		goto out_rollback;
	res = store_sql_run(st, "schema_migrations", "SELECT version FROM schema_migrations", 0,
			    NULL, NULL, &rc, err);
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
		if ((rc = store_sql_exec(st, "schema_migrations",
					 "INSERT INTO schema_migrations (version) VALUES ($1)", 1,
					 vp, err)) != SPOC_OK)
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

/* Message-IDs as one newline-separated parameter for string_to_array(); ids that could break
 * the separation are left out (mime.c never produces them). */
char *store_join_ids(const char *first, GPtrArray *more)
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

/* v as one element of a PostgreSQL array literal, appended to s: NULL, or double-quoted with
 * its backslashes and quotes escaped. */
void store_array_append_text(GString *s, const char *v)
{
	if (v == NULL) {
		g_string_append(s, "NULL");
		return;
	}
	g_string_append_c(s, '"');
	for (const char *p = v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_c(s, '\\');
		g_string_append_c(s, *p);
	}
	g_string_append_c(s, '"');
}

/* ---- wake-ups ---- */

int store_listen(struct store *st, const char *channel, struct errbuf *err)
{
	char *ident = PQescapeIdentifier(st->conn, channel, strlen(channel));
	char *sql;
	int rc;

	if (ident == NULL)
		return errbuf_set(err, SPOC_ETEMP, "database: LISTEN %s: %s", channel,
				  PQerrorMessage(st->conn));
	sql = g_strdup_printf("LISTEN %s", ident);
	PQfreemem(ident);
	rc = store_sql_exec(st, "listen", sql, 0, NULL, err);
	g_free(sql);
	return rc;
}

int store_wait(struct store *st, int timeout_ms, gboolean *woken_r, struct errbuf *err)
{
	struct pollfd pfd = {.fd = PQsocket(st->conn), .events = POLLIN};
	PGnotify *n;
	int r;

	*woken_r = FALSE;
	if (pfd.fd < 0)
		return errbuf_set(err, SPOC_ETEMP, "database: connection lost");
	/* a notification may already be buffered from the last statement */
	while ((n = PQnotifies(st->conn)) != NULL) {
		*woken_r = TRUE;
		PQfreemem(n);
	}
	if (*woken_r)
		return SPOC_OK;
	r = poll(&pfd, 1, timeout_ms);
	if (r < 0)
		return errno == EINTR
			   ? SPOC_OK
			   : errbuf_set(err, SPOC_ETEMP, "database: poll: %s", g_strerror(errno));
	if (r == 0)
		return SPOC_OK;
	if (!PQconsumeInput(st->conn))
		return errbuf_set(err, SPOC_ETEMP, "database: %s",
				  g_strstrip(PQerrorMessage(st->conn)));
	while ((n = PQnotifies(st->conn)) != NULL) {
		*woken_r = TRUE;
		PQfreemem(n);
	}
	return SPOC_OK;
}

/* ---- health ---- */

int store_mailbox_health(struct store *st, const char *mailbox, const char *error,
			 struct errbuf *err)
{
	const char *p[] = {mailbox, error};

	return store_sql_exec(
	    st, "mailbox health",
	    "INSERT INTO mailbox_health AS h (mailbox, last_ok_at, last_error, last_error_at)"
	    " VALUES ($1, CASE WHEN $2::text IS NULL THEN now() END, coalesce($2, ''),"
	    "  CASE WHEN $2::text IS NOT NULL THEN now() END)"
	    " ON CONFLICT (mailbox) DO UPDATE SET"
	    "  last_ok_at = CASE WHEN $2::text IS NULL THEN now() ELSE h.last_ok_at END,"
	    "  last_error = coalesce($2, h.last_error),"
	    "  last_error_at = CASE WHEN $2::text IS NOT NULL THEN now() ELSE h.last_error_at END,"
	    "  updated_at = now()",
	    2, p, err);
}

int store_fd(const struct store *st)
{
	return st != NULL && st->conn != NULL ? PQsocket(st->conn) : -1;
}

gboolean store_connected(const struct store *st)
{
	return st != NULL && st->conn != NULL && PQstatus(st->conn) == CONNECTION_OK;
}

GBytes *store_sql_bytea(PGresult *res, int row, int col, const char *what, struct errbuf *err)
{
	size_t len = 0;
	unsigned char *raw =
	    PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), &len);
	GBytes *out;

	if (raw == NULL) {
		errbuf_set(err, SPOC_ETEMP, "%s: cannot decode its bytes", what);
		return NULL;
	}
	out = g_bytes_new(raw, len);
	PQfreemem(raw);
	return out;
}
