/* The notifier's words: the templates of every kind and language, loaded and checked once, and
 * what one outbox row becomes: its mail rendered from the template of the row's language and
 * built with compose.c, with the attachments it carries, its Reply-To token and its VERP
 * envelope sender. Claiming, sending and recording batches of rows is outbox_send.c's. */
#include "outbox_priv.h"

#include "caps.h"
#include "command_results.h"
#include "compose.h"
#include "echo.h"
#include "keys.h"
#include "reply.h"
#include "sla.h"
#include "smtp.h"
#include "store_admin.h"
#include "template.h"
#include "ticket_list.h"

#include <string.h>
#include <syslog.h>

#define OUTBOX_MAX_DELAY_S 3600

static const char *const outbox_langs[] = {"en", "es"};

/* The fields an acknowledgement template may use; anything else is refused at load time. */
static const char *const ack_allowed[] = {
    "requester_name", "ticket",	      "kind",	  "subject",
    "desk_name",      "desk_address", "priority", "first_response_due",
    "resolution_due", "suggestions",  NULL,
};

/* The fields of a status update: the move, who made it, and flags for the sections that only
 * some moves need (what to do when it is resolved, pending on the requester, closed). */
static const char *const status_allowed[] = {
    "recipient_name", "ticket",	    "kind",	   "subject",	 "desk_name",	"desk_address",
    "priority",	      "old_status", "new_status",  "changed_by", "reopen_days", "is_resolved",
    "is_closed",      "is_pending", "is_reopened", "ask_rating", NULL,
};

/* The fields of an SLA warning or breach, sent to agents. */
static const char *const sla_allowed[] = {
    "recipient_name", "ticket", "kind",	 "subject",   "priority",     "status", "requester",
    "target",	      "due",	"share", "desk_name", "desk_address", NULL,
};

/* The fields of the other notices (an agent's reply relayed, a requester's reply forwarded to
 * the assignee, the answer to an agent's commands). */
static const char *const notice_allowed[] = {
    "recipient_name",
    "ticket",
    "kind",
    "subject",
    "author",
    "message",
    "desk_name",
    "desk_address",
    "new_status",
    "is_resolved",
    "reopen_days",
    "ask_rating",
    /* the border did not verify (or failed) the sender of the mail relayed, and why */
    "sender_unverified",
    "sender_failed",
    "sender_check",
    /* the attachments of the mail relayed that it does not carry (agent-reply, follow-up):
     * one line each, "- name (size): spocctl attachment get ID > file" */
    "attachments_too_big",
    "attachments_risky",
    NULL,
};

/* The fields of a notice to the desk about a ticket: a new one, or one given to an agent. */
static const char *const desk_allowed[] = {
    "recipient_name",
    "ticket",
    "kind",
    "subject",
    "priority",
    "requester",
    "author",
    "message",
    "first_response_due",
    "resolution_due",
    "changed_by",
    "desk_name",
    "desk_address",
    "sender_unverified",
    "sender_failed",
    "sender_check",
    "attachments_too_big",
    "attachments_risky",
    NULL,
};

/* The kinds of notification, their template files and which way they go. */
static const struct {
	const char *kind;
	const char *file;
	const char *const *allowed;
	gboolean to_agent; /* its Reply-To carries the agent's token: their answer proves them */
} outbox_kinds[] = {
    {"ack", "ack.txt", ack_allowed, FALSE},
    {"agent-reply", "agent-reply.txt", notice_allowed, FALSE},
    {"follow-up", "follow-up.txt", notice_allowed, TRUE},
    {"command-result", "command-result.txt", notice_allowed, TRUE},
    {"command-unproven", "command-unproven.txt", notice_allowed, TRUE},
    {"status", "status.txt", status_allowed, FALSE},
    {"sla-warning", "sla-warning.txt", sla_allowed, TRUE},
    {"sla-breach", "sla-breach.txt", sla_allowed, TRUE},
    {"new-ticket", "new-ticket.txt", desk_allowed, TRUE},
    {"assigned", "assigned.txt", desk_allowed, TRUE},
    {"unreachable", "unreachable.txt", desk_allowed, TRUE},
    /* the answers to a requester's #my tickets and #close: {{message}} is the list, or what
     * became of the commands */
    {"my-tickets", "my-tickets.txt", notice_allowed, FALSE},
    {"requester-result", "requester-result.txt", notice_allowed, FALSE},
};


G_STATIC_ASSERT(G_N_ELEMENTS(outbox_kinds) == OUTBOX_KINDS);
G_STATIC_ASSERT(G_N_ELEMENTS(outbox_langs) == OUTBOX_LANGS);

struct outbox *outbox_new(const struct spoc_conf *conf, struct errbuf *err)
{
	struct outbox *ob = g_new0(struct outbox, 1);

	ob->conf = conf;
	{
		GPtrArray *own = g_ptr_array_new();

		for (size_t i = 0; conf->desk.addresses != NULL && conf->desk.addresses[i] != NULL;
		     i++)
			g_ptr_array_add(own, g_strdup(conf->desk.addresses[i]));
		if (conf->smtp.from_address != NULL)
			g_ptr_array_add(own, g_strdup(conf->smtp.from_address));
		g_ptr_array_add(own, NULL);
		ob->own = (char **)g_ptr_array_free(own, FALSE);
	}
	for (size_t k = 0; k < G_N_ELEMENTS(outbox_kinds); k++)
		for (size_t i = 0; i < G_N_ELEMENTS(outbox_langs); i++) {
			char *path = g_build_filename(conf->desk.templates_dir, outbox_langs[i],
						      outbox_kinds[k].file, NULL);

			ob->tpl[k][i] = template_load(path, outbox_kinds[k].allowed, err);
			g_free(path);
			if (ob->tpl[k][i] == NULL) {
				outbox_free(&ob);
				return NULL;
			}
		}
	for (size_t i = 0; i < G_N_ELEMENTS(outbox_langs); i++) {
		char *path = g_build_filename(conf->desk.templates_dir, outbox_langs[i],
					      "command-line.txt", NULL);

		ob->line_tpl[i] = template_load(path, command_results_fields, err);
		g_free(path);
		if (ob->line_tpl[i] == NULL) {
			outbox_free(&ob);
			return NULL;
		}
		path = g_build_filename(conf->desk.templates_dir, outbox_langs[i],
					"ticket-line.txt", NULL);
		ob->list_tpl[i] = template_load(path, ticket_list_fields, err);
		g_free(path);
		if (ob->list_tpl[i] == NULL) {
			outbox_free(&ob);
			return NULL;
		}
	}
	return ob;
}

void outbox_free(struct outbox **ob)
{
	if (ob == NULL || *ob == NULL)
		return;
	for (size_t k = 0; k < G_N_ELEMENTS(outbox_kinds); k++)
		for (size_t i = 0; i < G_N_ELEMENTS(outbox_langs); i++)
			template_free(&(*ob)->tpl[k][i]);
	for (size_t i = 0; i < G_N_ELEMENTS(outbox_langs); i++) {
		template_free(&(*ob)->line_tpl[i]);
		template_free(&(*ob)->list_tpl[i]);
	}
	thread_keys_free(&(*ob)->keys);
	g_strfreev((*ob)->own);
	g_free(*ob);
	*ob = NULL;
}

/* Index into outbox_langs of lang, or -1. */
static int lang_index(const char *lang)
{
	for (size_t i = 0; lang != NULL && i < G_N_ELEMENTS(outbox_langs); i++)
		if (g_ascii_strcasecmp(lang, outbox_langs[i]) == 0)
			return (int)i;
	return -1;
}

/* The row's language, else the desk's default, else English. */
static int row_lang(const struct outbox *ob, const struct outbox_row *row)
{
	int i = lang_index(row->language);

	if (i < 0)
		i = lang_index(ob->conf->desk.default_language);
	return i < 0 ? 0 : i;
}

static const char *kind_text(enum spoc_kind kind, const char *lang)
{
	gboolean es = strcmp(lang, "es") == 0;

	if (kind == SPOC_KIND_REQUEST)
		return es ? "solicitud de servicio" : "service request";
	return es ? "incidencia" : "incident";
}

/* A status as the recipient reads it. Both kinds of ticket are feminine in Spanish
 * (incidencia, solicitud), so one word fits both. */
static const char *status_text(const char *status, const char *lang)
{
	static const struct {
		const char *status, *en, *es;
	} names[] = {
	    {"new", "new", "nueva"},
	    {"in-progress", "in progress", "en curso"},
	    {"pending", "waiting for your reply", "a la espera de su respuesta"},
	    {"resolved", "resolved", "resuelta"},
	    {"closed", "closed", "cerrada"},
	};
	gboolean es = strcmp(lang, "es") == 0;

	for (size_t i = 0; status != NULL && i < G_N_ELEMENTS(names); i++)
		if (strcmp(status, names[i].status) == 0)
			return es ? names[i].es : names[i].en;
	return status != NULL ? status : "";
}

static const char *target_text(const char *target, const char *lang)
{
	gboolean es = strcmp(lang, "es") == 0;

	if (target != NULL && strcmp(target, "first-response") == 0)
		return es ? "primera respuesta" : "first response";
	return es ? "resolución" : "resolution";
}

/* text made fit for one line of a mail body (it comes from the customer's mail): valid UTF-8,
 * control characters as spaces, trimmed. Caller g_free()s. */
char *outbox_flat_text(const char *text)
{
	char *s = g_utf8_make_valid(text != NULL ? text : "", -1);

	for (char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return g_strstrip(s);
}


void outgoing_clear(struct outgoing *out)
{
	g_free(out->subject);
	g_free(out->body);
	if (out->raw != NULL)
		g_byte_array_unref(out->raw);
	if (out->record != NULL)
		g_byte_array_unref(out->record);
	g_free(out->carried);
	memset(out, 0, sizeof(*out));
}

/* A due time as people read it in the desk's zone and language ("Mon 23 Nov 2026, 10:15 CET",
 * "lunes 23 nov 2026, 10:15 CET"); "-" when there is none. Caller frees. */
static char *due_text(const struct spoc_conf *conf, int64_t due, int li)
{
	return sla_format_time(due, conf->desk.time_zone, li == 1 ? "es" : "en");
}

/* The desk's first address with the ticket's signed reply token as plus-address
 * (desk+TOKEN@domain): answering it proves which ticket, and for an agent's notice which agent.
 * NULL when there are no keys or the address cannot take one. Caller frees. */
static char *reply_address(const struct outbox *ob, const struct outbox_row *row, gboolean to_agent)
{
	const char *desk = ob->conf->desk.addresses != NULL ? ob->conf->desk.addresses[0] : NULL;
	const char *at = desk != NULL ? strrchr(desk, '@') : NULL;
	char *token, *addr;

	if (ob->keys == NULL || at == NULL)
		return NULL;
	/* an agent's token says when it was issued and under which generation, so it expires
	 * (agents.token_days) and spocctl agent revoke ends it */
	token = to_agent && row->agent_id != 0
		    ? thread_mint_agent_token(ob->keys, row->ticket_id, row->agent_id, row->today,
					      row->agent_generation)
		    : thread_mint_reply_token(ob->keys, row->ticket_id, 0);
	if (token == NULL)
		return NULL;
	addr = g_strdup_printf("%.*s+%s%s", (int)(at - desk), desk, token, at);
	g_free(token);
	return addr;
}

/* Who made a status change, as the requester may read it: the agent's name, else the desk. */
static char *changed_by(const struct outbox *ob, const struct outbox_row *row)
{
	char *name = outbox_flat_text(row->actor_name);

	/* an agent told a ticket is theirs may read who gave it: an address or a Unix name */
	if (*name == '\0' && g_strcmp0(row->kind, "assigned") == 0) {
		g_free(name);
		name = outbox_flat_text(row->actor);
	}
	if (*name == '\0') {
		g_free(name);
		name = g_strdup(ob->conf->desk.name);
	}
	return name;
}

/* The kinds whose mail carries the attachments of the mail it relays: an agent's reply (a
 * proven agent's, store_notices.c) to the ticket's people, a requester's mail to agents. Never
 * an acknowledgement, a status update or a command's result: a stranger's attachment goes to
 * agents only. */
static gboolean carries_attachments(const char *kind)
{
	return strcmp(kind, "agent-reply") == 0 || strcmp(kind, "follow-up") == 0 ||
	       strcmp(kind, "new-ticket") == 0;
}

/* A size as people read it: "512 B", "34 KB", "12.5 MB" (1024-based). Caller frees. */
static char *size_text(int64_t size)
{
	if (size < 1024)
		return g_strdup_printf("%" G_GINT64_FORMAT " B", size);
	if (size < 1024 * 1024)
		return g_strdup_printf("%" G_GINT64_FORMAT " KB", (size + 1023) / 1024);
	return g_strdup_printf("%.1f MB", (double)size / (1024.0 * 1024.0));
}

/* One line per attachment of atts whose fate is fate: its name, its size and the command that
 * fetches it; "" when there is none. Caller frees. */
static char *left_out_lines(const GPtrArray *atts, enum compose_fate fate)
{
	GString *out = g_string_new(NULL);

	for (guint i = 0; atts != NULL && i < atts->len; i++) {
		const struct compose_attachment *a = g_ptr_array_index(atts, i);
		char *name, *size;

		if (a->fate != fate)
			continue;
		name = outbox_flat_text(a->name);
		size = size_text(a->size);
		g_string_append_printf(
		    out, "%s- %s (%s): spocctl attachment get %" G_GINT64_FORMAT " > file",
		    out->len > 0 ? "\n" : "", name, size, a->id);
		g_free(name);
		g_free(size);
	}
	return g_string_free(out, FALSE);
}

/* The attachments.id of those of atts (struct compose_attachment *, may be NULL) that go into
 * the mail, comma-separated; NULL when none does. Caller frees. */
static char *carried_ids(const GPtrArray *atts)
{
	GString *ids = NULL;

	for (guint i = 0; atts != NULL && i < atts->len; i++) {
		const struct compose_attachment *a = g_ptr_array_index(atts, i);

		if (a->fate != COMPOSE_FATE_ATTACH || a->data == NULL)
			continue;
		if (ids == NULL)
			ids = g_string_new(NULL);
		else
			g_string_append_c(ids, ',');
		g_string_append_printf(ids, "%" G_GINT64_FORMAT, a->id);
	}
	return ids != NULL ? g_string_free(ids, FALSE) : NULL;
}

/* The attachments each of rows[0..n) carries or lists, listed for the whole batch in one query:
 * (*lists_r)[i] for rows[i], NULL for a kind that carries none. Without their bytes
 * (outbox_attachments_read()). SPOC_ETEMP when the database failed. Caller frees with
 * outbox_attachments_free(lists_r, n). */
int outbox_batch_attachments(struct store *st, const struct outbox_row *const *rows, guint n,
			     GPtrArray ***lists_r, struct errbuf *err)
{
	int64_t *ids = g_new(int64_t, n);
	guint *of = g_new(guint, n), m = 0;
	GPtrArray **found = NULL;
	int rc = SPOC_OK;

	*lists_r = g_new0(GPtrArray *, n);
	for (guint i = 0; i < n; i++) {
		if (!carries_attachments(rows[i]->kind))
			continue;
		of[m] = i;
		ids[m++] = rows[i]->id;
	}
	if (m > 0 && (rc = store_outbox_attachments(st, ids, m, &found, err)) == SPOC_OK) {
		for (guint j = 0; j < m; j++)
			(*lists_r)[of[j]] = g_ptr_array_ref(found[j]);
		store_outbox_attachments_free(&found);
	}
	g_free(ids);
	g_free(of);
	if (rc != SPOC_OK)
		outbox_attachments_free(lists_r, n);
	return rc;
}

void outbox_attachments_free(GPtrArray ***lists, guint n)
{
	if (*lists == NULL)
		return;
	for (guint i = 0; i < n; i++)
		if ((*lists)[i] != NULL)
			g_ptr_array_unref((*lists)[i]);
	g_free(*lists);
	*lists = NULL;
}

/* Chooses which of atts (one row's, from outbox_batch_attachments(); may be NULL) go into the
 * mail against notify.max_attachment_bytes, and reads the bytes of those only. SPOC_ETEMP when
 * the database failed. */
int outbox_attachments_read(const struct outbox *ob, struct store *st, GPtrArray *atts,
			    struct errbuf *err)
{
	int rc;

	if (atts == NULL)
		return SPOC_OK;
	compose_attachments_choose(atts, ob->conf->desk.notify_max_attachment_bytes);
	for (guint i = 0; i < atts->len; i++) {
		struct compose_attachment *a = g_ptr_array_index(atts, i);

		if (a->fate != COMPOSE_FATE_ATTACH)
			continue;
		if ((rc = store_attachment_data(st, a->id, &a->data, err)) != SPOC_OK)
			return rc;
		/* gone since it was listed: say so rather than send a mail without it */
		if (a->data == NULL)
			a->fate = COMPOSE_FATE_TOO_BIG;
	}
	return SPOC_OK;
}

/* Renders and builds the message of row into out (cleared first; the caller clears it after),
 * SPOC_OK, or SPOC_EPERM with the reason in err. suggestions: the list an acknowledgement
 * offers ("" for none). */
int outbox_build(const struct outbox *ob, const struct outbox_row *row, const char *suggestions,
		 const GPtrArray *atts, struct outgoing *out, struct errbuf *err)
{
	const struct spoc_conf *conf = ob->conf;
	/* the database queues an assignment notice in the ticket's language; the agent reads the
	 * desk's, as in every other notice to agents */
	int li =
	    g_strcmp0(row->kind, "assigned") == 0 && lang_index(conf->desk.default_language) >= 0
		? lang_index(conf->desk.default_language)
		: row_lang(ob, row);
	const char *lang = outbox_langs[li];
	const char *desk_address = conf->desk.addresses != NULL && conf->desk.addresses[0] != NULL
				       ? conf->desk.addresses[0]
				       : conf->smtp.from_address;
	char *name, *to_name, *orig_subject, *first, *resolution, priority[8];
	struct compose_input in = {0};
	GHashTable *vars;

	int ki = -1;
	char *reply_to = NULL, *message = NULL, *author = NULL, *by, *due, *requester, share[16];
	char reopen_days[16] = "";
	char *too_big, *risky;

	memset(out, 0, sizeof(*out));
	for (size_t k = 0; row->kind != NULL && k < G_N_ELEMENTS(outbox_kinds); k++)
		if (strcmp(row->kind, outbox_kinds[k].kind) == 0)
			ki = (int)k;
	if (ki < 0)
		return errbuf_set(err, SPOC_EPERM, "unknown notification kind \"%s\"",
				  row->kind != NULL ? row->kind : "(null)");

	/* Templates have no conditionals: when the name is unknown, greet the address. A name and
	 * a subject are the sender's words, repeated to whatever address the mail came from: only
	 * their bounded, inert form is echoed (echo.h). */
	to_name = echo_text(row->recipient_name, ECHO_NAME_MAX);
	name = *to_name != '\0' ? g_strdup(to_name) : echo_text(row->recipient, 0);
	orig_subject = echo_text(row->ticket_subject, ECHO_SUBJECT_MAX);
	/* a notice on no ticket answers a mail: that mail's subject, echoed like any */
	out->subject = row->ticket_number[0] == '\0'
			   ? g_strdup(*orig_subject != '\0' ? orig_subject
				      : li == 1		   ? "(sin asunto)"
							   : "(no subject)")
		       : *orig_subject != '\0'
			   ? g_strdup_printf("[%s] %s", row->ticket_number, orig_subject)
			   : g_strdup_printf("[%s]", row->ticket_number);
	if (*orig_subject == '\0') {
		g_free(orig_subject);
		orig_subject = g_strdup(li == 1 ? "(sin asunto)" : "(no subject)");
	}

	vars = g_hash_table_new(g_str_hash, g_str_equal);
	g_hash_table_insert(vars, "requester_name", name);
	g_hash_table_insert(vars, "ticket", row->ticket_number);
	g_hash_table_insert(vars, "kind", (gpointer)kind_text(row->ticket_kind, lang));
	g_hash_table_insert(vars, "subject", orig_subject);
	g_hash_table_insert(vars, "desk_name", conf->desk.name);
	g_hash_table_insert(vars, "desk_address", (gpointer)desk_address);
	g_snprintf(priority, sizeof(priority), "P%d", row->ticket_priority);
	g_hash_table_insert(vars, "priority", priority);
	first = due_text(conf, row->first_response_due, li);
	resolution = due_text(conf, row->resolution_due, li);
	g_hash_table_insert(vars, "first_response_due", first);
	g_hash_table_insert(vars, "resolution_due", resolution);
	/* the relayed text is a person's: kept as written, only made valid UTF-8; what an agent's
	 * commands did is a record (command_results.h) put into words line by line, unless the row
	 * was queued before there was one and its body is the sentences already */
	if (strcmp(row->kind, "command-result") == 0 || strcmp(row->kind, "requester-result") == 0)
		message = command_results_render(ob->line_tpl[li], row->body);
	else if (strcmp(row->kind, "my-tickets") == 0 &&
		 (message = ticket_list_render(ob->list_tpl[li], row->body, conf->desk.time_zone,
					       lang)) == NULL)
		message = g_strdup(""); /* never the record itself */
	/* the template signs a relayed answer with the agent's name: not twice */
	else if (strcmp(row->kind, "agent-reply") == 0)
		message = reply_drop_signoff(row->body, row->author);
	if (message == NULL)
		message = g_utf8_make_valid(row->body != NULL ? row->body : "", -1);
	author = echo_text(row->author, ECHO_NAME_MAX);
	g_hash_table_insert(vars, "recipient_name", name);
	g_hash_table_insert(vars, "message", message);
	g_hash_table_insert(vars, "author", author);
	g_hash_table_insert(vars, "suggestions",
			    (gpointer)(suggestions != NULL ? suggestions : ""));
	/* a status update */
	g_hash_table_insert(vars, "old_status", (gpointer)status_text(row->status_from, lang));
	g_hash_table_insert(vars, "new_status", (gpointer)status_text(row->status_to, lang));
	by = changed_by(ob, row);
	g_hash_table_insert(vars, "changed_by", by);
	if (conf->threading.reopen_window_s >= 86400)
		g_snprintf(reopen_days, sizeof(reopen_days), "%d",
			   conf->threading.reopen_window_s / 86400);
	g_hash_table_insert(vars, "reopen_days", reopen_days);
	g_hash_table_insert(vars, "is_resolved",
			    (gpointer)(g_strcmp0(row->status_to, "resolved") == 0 ? "yes" : ""));
	g_hash_table_insert(vars, "is_closed",
			    (gpointer)(g_strcmp0(row->status_to, "closed") == 0 ? "yes" : ""));
	g_hash_table_insert(vars, "is_pending",
			    (gpointer)(g_strcmp0(row->status_to, "pending") == 0 ? "yes" : ""));
	/* the resolution notice asks the requester how the desk did (csat.h reads the answer);
	 * a watcher is not asked: only the requester's rating counts */
	g_hash_table_insert(
	    vars, "ask_rating",
	    (gpointer)(g_strcmp0(row->status_to, "resolved") == 0 && row->recipient != NULL &&
			       row->requester != NULL &&
			       g_ascii_strcasecmp(row->recipient, row->requester) == 0
			   ? "yes"
			   : ""));
	g_hash_table_insert(vars, "is_reopened",
			    (gpointer)(g_strcmp0(row->status_from, "resolved") == 0 &&
					       g_strcmp0(row->status_to, "in-progress") == 0
					   ? "yes"
					   : ""));
	/* whose mail is relayed: only the border's pass verifies it ("unchecked": no border) */
	g_hash_table_insert(vars, "sender_unverified",
			    (gpointer)(g_strcmp0(row->sender_verdict, "none") == 0 ? "yes" : ""));
	g_hash_table_insert(vars, "sender_failed",
			    (gpointer)(g_strcmp0(row->sender_verdict, "fail") == 0 ? "yes" : ""));
	g_hash_table_insert(
	    vars, "sender_check",
	    (gpointer)(row->sender_verdict_why != NULL ? row->sender_verdict_why : ""));
	/* an SLA notice */
	g_hash_table_insert(vars, "status", row->ticket_status); /* agents read the codes */
	requester = outbox_flat_text(row->requester);
	g_hash_table_insert(vars, "requester", requester);
	g_hash_table_insert(vars, "target", (gpointer)target_text(row->sla_target, lang));
	due = due_text(conf, row->sla_due, li);
	g_hash_table_insert(vars, "due", due);
	g_snprintf(share, sizeof(share), "%d", row->sla_share);
	g_hash_table_insert(vars, "share", share);
	too_big = left_out_lines(atts, COMPOSE_FATE_TOO_BIG);
	risky = left_out_lines(atts, COMPOSE_FATE_RISKY);
	g_hash_table_insert(vars, "attachments_too_big", too_big);
	g_hash_table_insert(vars, "attachments_risky", risky);
	out->body = template_render(ob->tpl[ki][li], vars);
	g_free(too_big);
	g_free(risky);
	g_hash_table_unref(vars);
	g_free(first);
	g_free(resolution);
	g_free(by);
	g_free(due);
	g_free(requester);
	reply_to = reply_address(ob, row, outbox_kinds[ki].to_agent);

	in.from_name = conf->desk.name;
	in.from_addr = conf->smtp.from_address;
	in.to_name = *to_name != '\0' ? to_name : NULL;
	in.to_addr = row->recipient;
	in.subject = out->subject;
	in.body = out->body;
	in.message_id = row->message_id;
	in.in_reply_to = row->in_reply_to;
	in.references = row->references;
	in.auto_submitted = ki == 0 ? "auto-replied" : "auto-generated";
	in.reply_to_addr = reply_to;
	in.loop_value = conf->desk.message_id_domain;
	in.language = lang;
	in.attachments = atts;
	out->raw = compose_message(&in, err);
	out->carried = carried_ids(atts);
	if (out->raw != NULL && out->carried != NULL) {
		in.attachments = NULL;
		out->record = compose_message(&in, err);
		if (out->record == NULL) {
			g_byte_array_unref(out->raw);
			out->raw = NULL;
		}
	}

	g_free(orig_subject);
	g_free(name);
	g_free(to_name);
	g_free(message);
	g_free(author);
	g_free(reply_to);
	/* compose refuses only what will never work (a bad address or identifier) */
	return out->raw != NULL ? SPOC_OK : SPOC_EPERM;
}

/* The envelope sender of row: smtp.from_address with the row's signed VERP token as
 * plus-address (help+b42k...@example.org), so a bounce names the notification it returns even
 * when it quotes nothing of it; the plain address when smtp.verp is off or no token can be
 * made. Caller frees. */
char *outbox_envelope_sender(const struct outbox *ob, const struct outbox_row *row)
{
	const char *from = ob->conf->smtp.from_address;
	const char *at = strrchr(from, '@');
	char *token, *addr;

	if (!ob->conf->smtp.verp || at == NULL ||
	    (token = thread_mint_verp_token(ob->keys, row->id)) == NULL)
		return g_strdup(from);
	addr = g_strdup_printf("%.*s+%s%s", (int)(at - from), from, token, at);
	g_free(token);
	return addr;
}

/* min(retry_base_s * 2^attempts, 3600) plus up to 10% jitter, so rows that failed together do
 * not come back together. */
int outbox_retry_delay(const struct spoc_smtp_conf *conf, int attempts)
{
	gint64 delay = MAX(conf->retry_base_s, 1);

	for (int i = 0; i < attempts && delay < OUTBOX_MAX_DELAY_S; i++)
		delay *= 2;
	delay = MIN(delay, OUTBOX_MAX_DELAY_S);
	return (int)delay + g_random_int_range(0, (gint32)(delay / 10) + 1);
}

