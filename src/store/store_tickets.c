/* Tickets as the operator's command line sees them: the list with its filters, one ticket with
 * everything about it (participants, links, audit trail, the conversation and its attachments)
 * read in one snapshot, and the change of one field, made under the operator's name so that the
 * database's triggers (status model, audit trail, status updates to the participants) treat it
 * like any other writer's. */
#include "store_admin.h"
#include "store_priv.h"

#include <string.h>

#define TICKET_DEFAULT_LIMIT 50

/* a timestamptz column as ISO 8601 in UTC, NULL for NULL: "to_char(col" UTC */
#define UTC " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define OPEN_STATUSES "('new', 'in-progress', 'pending')"

/* Columns 0..19 of a ticket (struct ticket_info without the show-only fields). A target is
 * breached when it passed before it was met: for a ticket no longer open, before it was
 * resolved or closed. A pending ticket's clock is stopped: what it has not met yet is not
 * breached while it waits for its requester. */
#define TICKET_COLUMNS                                                                             \
	"t.id, t.number, t.display, t.kind, t.status, t.priority, t.subject, t.requester,"         \
	" t.requester_name, a.address, coalesce(a.name, ''), t.team,"                              \
	" to_char(t.created_at" UTC ", to_char(t.updated_at" UTC ","                               \
	" to_char(t.first_response_due" UTC ", to_char(t.first_response_at" UTC ","                \
	" to_char(t.resolution_due" UTC ", to_char(t.resolved_at" UTC ","                          \
	" coalesce(t.first_response_due < coalesce(t.first_response_at,"                           \
	"  CASE WHEN t.status IN ('new', 'in-progress') THEN now()"                                \
	"  WHEN t.status <> 'pending' THEN coalesce(t.resolved_at, t.closed_at) END), false),"     \
	" coalesce(t.resolution_due < coalesce(t.resolved_at,"                                     \
	"  CASE WHEN t.status IN ('new', 'in-progress') THEN now()"                                \
	"  WHEN t.status <> 'pending' THEN t.closed_at END), false)"

#define TICKET_FROM " FROM tickets t LEFT JOIN agents a ON a.id = t.assignee_id"

static char *opt_value(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : g_strdup(PQgetvalue(res, row, col));
}

static char *value(PGresult *res, int row, int col)
{
	return g_strdup(PQgetvalue(res, row, col));
}

static gboolean bool_value(PGresult *res, int row, int col)
{
	return strcmp(PQgetvalue(res, row, col), "t") == 0;
}

void ticket_info_free(gpointer ticket)
{
	struct ticket_info *t = ticket;

	if (t == NULL)
		return;
	g_free(t->display);
	g_free(t->kind);
	g_free(t->status);
	g_free(t->subject);
	g_free(t->requester);
	g_free(t->requester_name);
	g_free(t->assignee);
	g_free(t->assignee_name);
	g_free(t->team);
	g_free(t->created_at);
	g_free(t->updated_at);
	g_free(t->first_response_due);
	g_free(t->first_response_at);
	g_free(t->resolution_due);
	g_free(t->resolved_at);
	g_free(t->language);
	g_free(t->kind_rule);
	g_free(t->priority_rule);
	g_free(t->closed_at);
	g_free(t->paused_at);
	g_free(t);
}

/* Columns 0..19 of TICKET_COLUMNS -> a new ticket. */
static struct ticket_info *ticket_from_row(PGresult *res, int row)
{
	struct ticket_info *t = g_new0(struct ticket_info, 1);

	t->id = store_sql_i64(res, row, 0);
	t->number = store_sql_i64(res, row, 1);
	t->display = value(res, row, 2);
	t->kind = value(res, row, 3);
	t->status = value(res, row, 4);
	t->priority = (int)store_sql_i64(res, row, 5);
	t->subject = value(res, row, 6);
	t->requester = value(res, row, 7);
	t->requester_name = value(res, row, 8);
	t->assignee = opt_value(res, row, 9);
	t->assignee_name = value(res, row, 10);
	t->team = value(res, row, 11);
	t->created_at = value(res, row, 12);
	t->updated_at = value(res, row, 13);
	t->first_response_due = opt_value(res, row, 14);
	t->first_response_at = opt_value(res, row, 15);
	t->resolution_due = opt_value(res, row, 16);
	t->resolved_at = opt_value(res, row, 17);
	t->first_response_breached = bool_value(res, row, 18);
	t->resolution_breached = bool_value(res, row, 19);
	return t;
}

int store_ticket_list(struct store *st, const struct ticket_filter *f, GPtrArray **tickets_r,
		      struct errbuf *err)
{
	char lim[16], agent[24];
	int rc = SPOC_OK;
	PGresult *res;

	*tickets_r = NULL;
	g_snprintf(lim, sizeof(lim), "%d", f->limit > 0 ? f->limit : TICKET_DEFAULT_LIMIT);
	g_snprintf(agent, sizeof(agent), "%" G_GINT64_FORMAT, f->assignee_id);
	const char *p[] = {f->status, f->assignee_id > 0 ? agent : NULL, f->requester, lim};
	res = store_sql_run(st, "tickets",
			    "SELECT " TICKET_COLUMNS TICKET_FROM
			    " WHERE ($1::text IS NULL OR t.status = $1"
			    "   OR ($1 = 'open' AND t.status IN " OPEN_STATUSES "))"
			    "  AND ($2::bigint IS NULL OR t.assignee_id = $2::bigint)"
			    "  AND ($3::text IS NULL OR lower(t.requester) = lower($3))"
			    " ORDER BY t.created_at DESC, t.id DESC LIMIT $4::int",
			    G_N_ELEMENTS(p), p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	*tickets_r = g_ptr_array_new_with_free_func(ticket_info_free);
	for (int i = 0; i < PQntuples(res); i++)
		g_ptr_array_add(*tickets_r, ticket_from_row(res, i));
	PQclear(res);
	return SPOC_OK;
}

/* The agents the #assign command would find for ref, the first by address first; $2 TRUE also
 * takes disabled ones. */
#define AGENT_BY_REF                                                                               \
	"SELECT id, address, team FROM agents WHERE ($2::boolean OR active)"                       \
	" AND (address = lower($1) OR lower(name) = lower($1)"                                     \
	"  OR split_part(address, '@', 1) = lower($1))"                                            \
	" ORDER BY active DESC, address LIMIT 1"

int store_agent_by_ref(struct store *st, const char *ref, gboolean any, int64_t *id_r,
		       char **address_r, struct errbuf *err)
{
	const char *p[] = {ref, any ? "t" : "f"};
	int rc = SPOC_OK;
	PGresult *res = store_sql_run(st, "agents", AGENT_BY_REF, 2, p, NULL, &rc, err);

	*id_r = 0;
	if (address_r != NULL)
		*address_r = NULL;
	if (res == NULL)
		return rc;
	if (PQntuples(res) > 0) {
		*id_r = store_sql_i64(res, 0, 0);
		if (address_r != NULL)
			*address_r = value(res, 0, 1);
	}
	PQclear(res);
	return SPOC_OK;
}

/* ---- one ticket in full ---- */

static void participant_free(gpointer p)
{
	struct ticket_participant *x = p;

	g_free(x->address);
	g_free(x->name);
	g_free(x->role);
	g_free(x->added_at);
	g_free(x->unreachable);
	g_free(x);
}

static void link_free(gpointer p)
{
	struct ticket_link *x = p;

	g_free(x->kind);
	g_free(x->display);
	g_free(x->status);
	g_free(x->subject);
	g_free(x->created_at);
	g_free(x);
}

static void event_free(gpointer p)
{
	struct ticket_event *x = p;

	g_free(x->at);
	g_free(x->actor);
	g_free(x->via);
	g_free(x->field);
	g_free(x->old_value);
	g_free(x->new_value);
	g_free(x);
}

static void attachment_free(gpointer p)
{
	struct ticket_attachment *x = p;

	g_free(x->name);
	g_free(x->content_type);
	g_free(x->disposition);
	g_free(x);
}

static void message_free(gpointer p)
{
	struct ticket_message *x = p;

	g_free(x->direction);
	g_free(x->from_addr);
	g_free(x->from_name);
	g_free(x->to_addrs);
	g_free(x->cc_addrs);
	g_free(x->subject);
	g_free(x->date);
	g_free(x->stored_at);
	g_free(x->message_id);
	g_free(x->text);
	g_free(x->automatic);
	g_free(x->note_why);
	g_free(x->sender_verdict);
	g_free(x->sender_verdict_why);
	g_ptr_array_unref(x->attachments);
	g_free(x);
}

void ticket_detail_free(struct ticket_detail **d)
{
	if (*d == NULL)
		return;
	ticket_info_free((*d)->ticket);
	g_clear_pointer(&(*d)->participants, g_ptr_array_unref);
	g_clear_pointer(&(*d)->links, g_ptr_array_unref);
	g_clear_pointer(&(*d)->events, g_ptr_array_unref);
	g_clear_pointer(&(*d)->messages, g_ptr_array_unref);
	g_free(*d);
	*d = NULL;
}

/* The ticket's row with the show-only fields; NULL (and SPOC_OK) when there is none. */
static int read_ticket(struct store *st, const char *id, struct ticket_info **t_r,
		       struct errbuf *err)
{
	const char *p[] = {id};
	int rc = SPOC_OK;
	PGresult *res = store_sql_run(st, "tickets",
				      "SELECT " TICKET_COLUMNS ", t.language, t.impact, t.urgency,"
				      " t.triage, t.kind_rule, t.priority_rule,"
				      " to_char(t.closed_at" UTC ", to_char(t.paused_at" UTC ","
				      " t.paused_minutes" TICKET_FROM " WHERE t.id = $1::bigint",
				      1, p, NULL, &rc, err);
	struct ticket_info *t;

	*t_r = NULL;
	if (res == NULL)
		return rc;
	if (PQntuples(res) > 0) {
		t = ticket_from_row(res, 0);
		t->language = value(res, 0, 20);
		t->impact = (int)store_sql_i64(res, 0, 21);
		t->urgency = (int)store_sql_i64(res, 0, 22);
		t->triage = bool_value(res, 0, 23);
		t->kind_rule = value(res, 0, 24);
		t->priority_rule = value(res, 0, 25);
		t->closed_at = opt_value(res, 0, 26);
		t->paused_at = opt_value(res, 0, 27);
		t->paused_minutes = store_sql_i64(res, 0, 28);
		*t_r = t;
	}
	PQclear(res);
	return SPOC_OK;
}

/* The rows of one statement about ticket id ($1), each made into an element of a new array by
 * make; NULL on failure. */
static GPtrArray *read_rows(struct store *st, const char *id, const char *what, const char *sql,
			    gpointer (*make)(PGresult *res, int row), GDestroyNotify free_fn,
			    int *rc_r, struct errbuf *err)
{
	const char *p[] = {id};
	PGresult *res = store_sql_run(st, what, sql, 1, p, NULL, rc_r, err);
	GPtrArray *out;

	if (res == NULL)
		return NULL;
	out = g_ptr_array_new_with_free_func(free_fn);
	for (int i = 0; i < PQntuples(res); i++)
		g_ptr_array_add(out, make(res, i));
	PQclear(res);
	return out;
}

static gpointer make_participant(PGresult *res, int row)
{
	struct ticket_participant *x = g_new0(struct ticket_participant, 1);

	x->address = value(res, row, 0);
	x->name = value(res, row, 1);
	x->role = value(res, row, 2);
	x->added_at = value(res, row, 3);
	x->unreachable = PQgetisnull(res, row, 4) ? NULL : value(res, row, 4);
	return x;
}

static gpointer make_link(PGresult *res, int row)
{
	struct ticket_link *x = g_new0(struct ticket_link, 1);

	x->kind = value(res, row, 0);
	x->outgoing = bool_value(res, row, 1);
	x->display = value(res, row, 2);
	x->status = value(res, row, 3);
	x->subject = value(res, row, 4);
	x->created_at = value(res, row, 5);
	return x;
}

static gpointer make_event(PGresult *res, int row)
{
	struct ticket_event *x = g_new0(struct ticket_event, 1);

	x->at = value(res, row, 0);
	x->actor = value(res, row, 1);
	x->via = value(res, row, 2);
	x->field = value(res, row, 3);
	x->old_value = opt_value(res, row, 4);
	x->new_value = opt_value(res, row, 5);
	x->message_row = store_sql_i64(res, row, 6);
	return x;
}

static gpointer make_message(PGresult *res, int row)
{
	struct ticket_message *x = g_new0(struct ticket_message, 1);

	x->id = store_sql_i64(res, row, 0);
	x->direction = value(res, row, 1);
	x->from_addr = value(res, row, 2);
	x->from_name = value(res, row, 3);
	x->to_addrs = value(res, row, 4);
	x->cc_addrs = value(res, row, 5);
	x->subject = value(res, row, 6);
	x->date = opt_value(res, row, 7);
	x->stored_at = value(res, row, 8);
	x->message_id = value(res, row, 9);
	x->text = value(res, row, 10);
	x->quoted = bool_value(res, row, 11);
	x->internal = bool_value(res, row, 12);
	x->automatic = opt_value(res, row, 13);
	x->sender_verdict = opt_value(res, row, 14);
	x->sender_verdict_why = opt_value(res, row, 15);
	x->note_why = opt_value(res, row, 16);
	x->attachments = g_ptr_array_new_with_free_func(attachment_free);
	return x;
}

/* Hands each attachment of the ticket's messages to its message. */
static int read_attachments(struct store *st, const char *id, GPtrArray *messages,
			    struct errbuf *err)
{
	const char *p[] = {id};
	int rc = SPOC_OK;
	PGresult *res =
	    store_sql_run(st, "attachments",
			  "SELECT a.message_row, a.name, a.content_type, a.size,"
			  " a.disposition FROM attachments a"
			  " JOIN messages m ON m.id = a.message_row"
			  " WHERE m.ticket_id = $1::bigint ORDER BY a.message_row, a.ordinal",
			  1, p, NULL, &rc, err);
	guint m = 0;

	if (res == NULL)
		return rc;
	/* both in message order */
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t row = store_sql_i64(res, i, 0);
		struct ticket_attachment *a;

		while (m < messages->len &&
		       ((struct ticket_message *)g_ptr_array_index(messages, m))->id < row)
			m++;
		if (m == messages->len)
			break;
		a = g_new0(struct ticket_attachment, 1);
		a->name = value(res, i, 1);
		a->content_type = value(res, i, 2);
		a->size = store_sql_i64(res, i, 3);
		a->disposition = value(res, i, 4);
		g_ptr_array_add(
		    ((struct ticket_message *)g_ptr_array_index(messages, m))->attachments, a);
	}
	PQclear(res);
	return SPOC_OK;
}

/* Everything about the ticket but its own row, into d. */
static int read_detail(struct store *st, const char *id, struct ticket_detail *d,
		       struct errbuf *err)
{
	int rc = SPOC_OK;

	d->participants = read_rows(st, id, "participants",
				    "SELECT p.address, p.name, p.role, to_char(p.added_at" UTC ","
				    " CASE WHEN s.bouncing THEN 'since ' ||"
				    "  to_char(s.last_bounce_at" UTC " || ': ' || s.last_reason END"
				    " FROM participants p LEFT JOIN address_status s"
				    "  ON s.address = lower(p.address)"
				    " WHERE p.ticket_id = $1::bigint"
				    " ORDER BY p.role = 'requester' DESC, p.added_at, p.address",
				    make_participant, participant_free, &rc, err);
	if (d->participants == NULL)
		return rc;
	d->links = read_rows(st, id, "ticket links",
			     "SELECT l.kind, true, o.display, o.status, o.subject,"
			     " to_char(l.created_at" UTC
			     " FROM ticket_links l JOIN tickets o ON o.id = l.linked_ticket_id"
			     " WHERE l.ticket_id = $1::bigint"
			     " UNION ALL SELECT l.kind, false, o.display, o.status, o.subject,"
			     " to_char(l.created_at" UTC
			     " FROM ticket_links l JOIN tickets o ON o.id = l.ticket_id"
			     " WHERE l.linked_ticket_id = $1::bigint ORDER BY 6, 3",
			     make_link, link_free, &rc, err);
	if (d->links == NULL)
		return rc;
	d->events = read_rows(st, id, "ticket events",
			      "SELECT to_char(at" UTC ", actor, via, field, old_value, new_value,"
			      " message_row FROM ticket_events WHERE ticket_id = $1::bigint"
			      " ORDER BY id",
			      make_event, event_free, &rc, err);
	if (d->events == NULL)
		return rc;
	/* The new text where the reply parser split one off (even empty: all of it was
	 * quoted), else the whole text (what spocd sent, or a mail with no history). */
	d->messages = read_rows(st, id, "messages",
				"SELECT id, direction, from_addr, from_name, to_addrs, cc_addrs,"
				" subject, to_char(sent_at" UTC ", to_char(created_at" UTC ","
				" message_id, CASE WHEN body_new <> '' OR body_quoted <> ''"
				"  THEN body_new ELSE body_text END, body_quoted <> '', internal,"
				" automatic, sender_verdict, sender_verdict_why, note_why"
				" FROM messages WHERE ticket_id = $1::bigint ORDER BY id",
				make_message, message_free, &rc, err);
	if (d->messages == NULL)
		return rc;
	return read_attachments(st, id, d->messages, err);
}

int store_ticket_show(struct store *st, int64_t id, struct ticket_detail **d_r, struct errbuf *err)
{
	struct ticket_detail *d = g_new0(struct ticket_detail, 1);
	char ids[24];
	int rc;

	*d_r = NULL;
	g_snprintf(ids, sizeof(ids), "%" G_GINT64_FORMAT, id);
	/* one snapshot: a mail arriving meanwhile is either all there or not at all */
	rc = store_sql_exec(st, "BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL,
			    err);
	if (rc == SPOC_OK)
		rc = read_ticket(st, ids, &d->ticket, err);
	if (rc == SPOC_OK && d->ticket != NULL)
		rc = read_detail(st, ids, d, err);
	if (rc != SPOC_OK) {
		store_rollback(st);
		ticket_detail_free(&d);
		return rc;
	}
	if ((rc = store_commit(st, err)) != SPOC_OK || d->ticket == NULL) {
		ticket_detail_free(&d);
		return rc;
	}
	*d_r = d;
	return SPOC_OK;
}

/* ---- changing one field ---- */

void ticket_change_clear(struct ticket_change *ch)
{
	g_clear_pointer(&ch->old_value, g_free);
	g_clear_pointer(&ch->new_value, g_free);
	g_clear_pointer(&ch->display, g_free);
}

/* The statements that set each field: $1 the ticket, $2 the value, $3 the team an assignee
 * brings (NULL or "" keeps the ticket's; the others only name it, NULL, so that every
 * statement takes the same parameters), $4 the operator, named in the row for the audit trail
 * and the status update. Each returns the ticket's display and the last outbox id before the
 * statement (what the triggers queue comes after it: the ticket is locked, nobody else can
 * change its status meanwhile). */
#define SET_BY_SPOCCTL " changed_by = $4, changed_via = 'spocctl', changed_by_message = NULL"
#define SET_RETURNING  " RETURNING display, (SELECT coalesce(max(id), 0) FROM outbox)"
static const char *const set_sql[] = {
    [TICKET_FIELD_STATUS] = "UPDATE tickets SET status = $2," SET_BY_SPOCCTL
			    " WHERE id = $1::bigint AND $3::text IS NULL" SET_RETURNING,
    [TICKET_FIELD_PRIORITY] = "UPDATE tickets SET priority = $2::smallint," SET_BY_SPOCCTL
			      " WHERE id = $1::bigint AND $3::text IS NULL" SET_RETURNING,
    [TICKET_FIELD_ASSIGNEE] =
	"UPDATE tickets SET (assignee_id, team) = ($2::bigint,"
	"  CASE WHEN coalesce($3, '') = '' THEN team ELSE $3 END)," SET_BY_SPOCCTL
	" WHERE id = $1::bigint" SET_RETURNING,
    [TICKET_FIELD_KIND] = "UPDATE tickets SET kind = $2," SET_BY_SPOCCTL
			  " WHERE id = $1::bigint AND $3::text IS NULL" SET_RETURNING,
};

/* The active agent an assignee value names: *agent_r their id as text ("" when none), and
 * into ch->new_value their address; *team_r their team (caller frees). */
static int find_assignee(struct store *st, const char *ref, char *agent_r, size_t len,
			 char **team_r, struct ticket_change *ch, struct errbuf *err)
{
	const char *q[] = {ref, "f"};
	int rc = SPOC_OK;
	PGresult *res = store_sql_run(st, "agents", AGENT_BY_REF, 2, q, NULL, &rc, err);

	if (res == NULL)
		return rc;
	if (PQntuples(res) > 0) {
		g_strlcpy(agent_r, PQgetvalue(res, 0, 0), len);
		ch->new_value = value(res, 0, 1);
		*team_r = value(res, 0, 2);
	}
	PQclear(res);
	return SPOC_OK;
}

/* Inside the transaction: reads the field (locking the ticket), finds the new value, and
 * makes the change when it is one. ch->result says which. */
static int set_in_tx(struct store *st, const char *ids, enum ticket_field field, const char *val,
		     const char *actor, struct ticket_change *ch, struct errbuf *err)
{
	static const int old_col[] = {[TICKET_FIELD_STATUS] = 1,
				      [TICKET_FIELD_PRIORITY] = 2,
				      [TICKET_FIELD_ASSIGNEE] = 3,
				      [TICKET_FIELD_KIND] = 4};
	char agent[24] = "";
	char *team = NULL;
	gboolean refused = FALSE;
	int rc = SPOC_OK;
	PGresult *res;

	const char *p[] = {ids};
	res = store_sql_run(st, "tickets",
			    "SELECT t.display, t.status, 'P' || t.priority, a.address, t.kind"
			    " FROM tickets t LEFT JOIN agents a ON a.id = t.assignee_id"
			    " WHERE t.id = $1::bigint FOR UPDATE OF t",
			    1, p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		ch->result = TICKET_SET_NOT_FOUND;
		return SPOC_OK;
	}
	ch->display = value(res, 0, 0);
	ch->old_value = opt_value(res, 0, old_col[field]);
	PQclear(res);

	if (field == TICKET_FIELD_PRIORITY) {
		ch->new_value = g_strconcat("P", val, NULL);
	} else if (field == TICKET_FIELD_ASSIGNEE && val != NULL) {
		rc = find_assignee(st, val, agent, sizeof(agent), &team, ch, err);
		if (rc != SPOC_OK)
			return rc;
		if (agent[0] == '\0') {
			ch->result = TICKET_SET_NO_AGENT;
			return SPOC_OK;
		}
	} else {
		ch->new_value = g_strdup(val);
	}
	if (g_strcmp0(ch->old_value, ch->new_value) == 0) {
		g_free(team);
		ch->result = TICKET_SET_UNCHANGED;
		return SPOC_OK;
	}

	const char *u[] = {ids, field == TICKET_FIELD_ASSIGNEE ? (val != NULL ? agent : NULL) : val,
			   team, actor};
	res = store_sql_run_refusable(st, "ticket update", set_sql[field], G_N_ELEMENTS(u), u,
				      &refused, &rc, err);
	g_free(team);
	if (res == NULL) {
		if (!refused)
			return rc;
		ch->result = TICKET_SET_REFUSED;
		return SPOC_OK;
	}
	g_free(ch->display);
	ch->display = value(res, 0, 0);
	const char *q[] = {ids, PQgetvalue(res, 0, 1)};
	/* the status updates the trigger queued for this change */
	PGresult *queued = store_sql_run(st, "outbox",
					 "SELECT count(*) FROM outbox WHERE ticket_id = $1::bigint"
					 " AND kind = 'status' AND id > $2::bigint",
					 2, q, NULL, &rc, err);
	PQclear(res);
	res = queued;
	if (res == NULL)
		return rc;
	ch->notices = (int)store_sql_i64(res, 0, 0);
	PQclear(res);
	ch->result = TICKET_SET_DONE;
	return SPOC_OK;
}

int store_ticket_set(struct store *st, int64_t id, enum ticket_field field, const char *value,
		     const char *actor, struct ticket_change *ch, struct errbuf *err)
{
	char ids[24];
	int rc;

	memset(ch, 0, sizeof(*ch));
	g_snprintf(ids, sizeof(ids), "%" G_GINT64_FORMAT, id);
	if ((rc = store_begin(st, err)) != SPOC_OK)
		return rc;
	rc = set_in_tx(st, ids, field, value, actor, ch, err);
	if (rc != SPOC_OK || ch->result != TICKET_SET_DONE) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st, err);
}
