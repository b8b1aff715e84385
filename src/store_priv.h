/* What the store_*.c files share and nobody else sees: the connection and the statement
 * helpers. Values always travel as parameters. */
#ifndef SPOC_STORE_PRIV_H
#define SPOC_STORE_PRIV_H

#include "store.h"

#include <libpq-fe.h>

struct store {
	PGconn *conn;
};

/* Runs one parameterised statement; params may contain NULLs (SQL NULL). A parameter whose
 * length in lens is non-zero is sent as binary (bytea). Returns the result on success (caller
 * PQclear()s) or NULL with err set and *rc_r the class of failure (SPOC_ETEMP/SPOC_EPERM). */
PGresult *store_sql_run(struct store *st, const char *what, const char *sql, int n,
			const char *const *params, const int *lens, int *rc_r, struct errbuf *err);
/* store_sql_run() for statements whose result is not needed. */
int store_sql_exec(struct store *st, const char *what, const char *sql, int n,
		   const char *const *params, struct errbuf *err);
/* The value at (row, col) as an integer, 0 for NULL. */
int64_t store_sql_i64(PGresult *res, int row, int col);
/* Message-IDs as one newline-separated parameter for string_to_array(); ids that could break the
 * separation are left out. Caller frees. */
char *store_join_ids(const char *first, GPtrArray *more);

#endif
