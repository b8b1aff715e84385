/* spocctl inspect: parse one message with the daemon's own code path (mime_parse with the
 * configured limits, then ingest_decide_in) and print every decision as JSON. It never touches
 * IMAP, SMTP or PostgreSQL, so it is safe to run on any file an operator pulls out of a mailbox. */
#include "inspect.h"

#include "classify.h"
#include "ingest.h"
#include "mime.h"
#include "rules.h"
#include "sla.h"

#include <string.h>

static void json_key(GString *out, const char *key)
{
	json_string(out, key);
	g_string_append_c(out, ':');
}

static void json_addr(GString *out, const struct mail_addr *a)
{
	if (a == NULL || (a->name == NULL && a->addr == NULL)) {
		g_string_append(out, "null");
		return;
	}
	g_string_append_c(out, '{');
	json_key(out, "name");
	json_string(out, a->name);
	g_string_append_c(out, ',');
	json_key(out, "address");
	json_string(out, a->addr);
	g_string_append_c(out, '}');
}

static void json_addr_list(GString *out, const GPtrArray *list)
{
	g_string_append_c(out, '[');
	for (guint i = 0; list != NULL && i < list->len; i++) {
		if (i > 0)
			g_string_append_c(out, ',');
		json_addr(out, g_ptr_array_index(list, i));
	}
	g_string_append_c(out, ']');
}

static void json_headers(GString *out, const struct mail *m)
{
	char *date = m->date != NULL ? g_date_time_format_iso8601(m->date) : NULL;

	g_string_append(out, "\"headers\":{");
	json_key(out, "message_id");
	json_string(out, m->message_id);
	g_string_append_printf(out, ",\"message_id_synthetic\":%s,",
			       m->message_id_synthetic ? "true" : "false");
	json_key(out, "in_reply_to");
	json_string(out, m->in_reply_to);
	g_string_append(out, ",\"references\":[");
	for (guint i = 0; m->references != NULL && i < m->references->len; i++) {
		if (i > 0)
			g_string_append_c(out, ',');
		json_string(out, g_ptr_array_index(m->references, i));
	}
	g_string_append(out, "],\"from\":");
	json_addr(out, &m->from);
	g_string_append(out, ",\"reply_to\":");
	json_addr(out, &m->reply_to);
	g_string_append(out, ",\"to\":");
	json_addr_list(out, m->to);
	g_string_append(out, ",\"cc\":");
	json_addr_list(out, m->cc);
	g_string_append(out, ",\"subject\":");
	json_string(out, m->subject);
	g_string_append(out, ",\"date\":");
	json_string(out, date);
	g_string_append(out, ",\"all\":[");
	for (guint i = 0; i < m->headers->len; i++) {
		const struct mail_header *h = g_ptr_array_index(m->headers, i);

		if (i > 0)
			g_string_append_c(out, ',');
		g_string_append(out, "{\"name\":");
		json_string(out, h->name);
		g_string_append(out, ",\"value\":");
		json_string(out, h->value);
		g_string_append_c(out, '}');
	}
	g_string_append(out, "]}");
	g_free(date);
}

static void json_body(GString *out, const struct mail *m)
{
	g_string_append(out, "\"body\":{\"source\":");
	json_string(out, m->body_source);
	g_string_append(out, ",\"charset\":");
	json_string(out, m->body_charset);
	g_string_append(out, ",\"text\":");
	json_string(out, m->text);
	g_string_append(out, ",\"new\":");
	json_string(out, m->text_new);
	g_string_append(out, ",\"quoted\":");
	json_string(out, m->text_quoted);
	g_string_append(out, ",\"signature\":");
	json_string(out, m->text_signature);
	g_string_append_c(out, '}');
}

static void json_attachments(GString *out, const struct mail *m)
{
	g_string_append(out, "\"attachments\":[");
	for (guint i = 0; i < m->attachments->len; i++) {
		const struct mail_attachment *a = g_ptr_array_index(m->attachments, i);

		if (i > 0)
			g_string_append_c(out, ',');
		g_string_append(out, "{\"name\":");
		json_string(out, a->name);
		g_string_append(out, ",\"content_type\":");
		json_string(out, a->content_type);
		g_string_append_printf(
		    out, ",\"size\":%" G_GSIZE_FORMAT ",\"sha256\":", g_bytes_get_size(a->data));
		json_string(out, a->sha256);
		g_string_append(out, ",\"content_id\":");
		json_string(out, a->content_id);
		g_string_append(out, ",\"disposition\":");
		json_string(out, a->disposition);
		g_string_append(out, ",\"origin\":");
		json_string(out, a->origin);
		g_string_append(out, ",\"text\":");
		json_string(out, a->text);
		g_string_append_c(out, '}');
	}
	g_string_append_c(out, ']');
}

static void json_limits(GString *out, const struct mail *m, const char *refused_limit,
			const char *reason)
{
	gboolean first = TRUE;

	g_string_append(out, "\"limits_hit\":[");
	if (refused_limit != NULL) {
		g_string_append(out, "{\"limit\":");
		json_string(out, refused_limit);
		g_string_append(out, ",\"detail\":");
		json_string(out, reason);
		g_string_append(out, ",\"effect\":\"quarantine\"}");
		first = FALSE;
	}
	for (guint i = 0; m != NULL && i < m->limits_hit->len; i++) {
		const struct mail_limit_hit *h = g_ptr_array_index(m->limits_hit, i);

		if (!first)
			g_string_append_c(out, ',');
		first = FALSE;
		g_string_append(out, "{\"limit\":");
		json_string(out, h->limit);
		g_string_append(out, ",\"detail\":");
		json_string(out, h->detail);
		g_string_append(out, ",\"effect\":\"left out\"}");
	}
	g_string_append_c(out, ']');
}

static void json_judgement(GString *out, const struct ingest_decision *d)
{
	g_string_append_printf(out, "\"judgement\":{\"automatic\":%s,\"automatic_reason\":",
			       d->automatic_why != NULL ? "true" : "false");
	json_string(out, d->automatic_why);
	g_string_append(out, ",\"automatic_kind\":");
	json_string(out, classify_auto_kind_name(d->auto_kind));
	g_string_append(out, ",\"kind\":");
	json_string(out, ticket_kind_name(d->kind));
	g_string_append(out, ",\"kind_rule\":");
	json_string(out, d->kind_rule);
	g_string_append(out, ",\"language\":");
	json_string(out, d->language);
	g_string_append_printf(out,
			       ",\"triage\":%s,\"impact\":%d,\"urgency\":%d,\"priority\":%d,"
			       "\"priority_rule\":",
			       d->triage ? "true" : "false", d->impact, d->urgency, d->priority);
	json_string(out, d->priority_rule);
	g_string_append_printf(out, ",\"subject_tag\":%" G_GINT64_FORMAT, d->subject_tag);
	/* what the border said of the sender, as the daemon would keep it: an operator checks
	 * a border's headers with it before trusting them */
	g_string_append(out, ",\"sender\":{\"verdict\":");
	json_string(out, judge_sender_verdict(d));
	g_string_append(out, ",\"dmarc\":");
	json_string(out, d->from_dmarc != AUTHRES_DMARC_ABSENT ? authres_dmarc_name(d->from_dmarc)
							       : NULL);
	g_string_append(out, ",\"dmarc_policy\":");
	json_string(out, d->from_dmarc_policy != AUTHRES_POLICY_UNKNOWN
			     ? authres_policy_name(d->from_dmarc_policy)
			     : NULL);
	g_string_append(out, ",\"domain\":");
	json_string(out, d->from_auth_domain[0] != '\0' ? d->from_auth_domain : NULL);
	g_string_append(out, ",\"why\":");
	json_string(out, d->from_proven_why);
	/* whether a reply to a resolved or closed ticket would only be kept as a note */
	g_string_append_printf(
	    out, "},\"thanks_only\":%s,\"thanks_why\":", d->thanks_only ? "true" : "false");
	json_string(out, d->thanks_why);
	/* whether it would rate the ticket it answers (from its requester) */
	g_string_append_printf(out,
			       ",\"csat\":{\"rating\":%d,\"counted\":%s,\"why\":", d->csat.rating,
			       d->csat.rating > 0 && !d->csat.problem ? "true" : "false");
	json_string(out, d->csat.why);
	g_string_append(out, "}}");
}

/* The configuration inspect judges with when it has none: the daemon's defaults. */
static struct spoc_conf *default_conf(void)
{
	static const char *const fallback[] = {"utf-8", "windows-1252", NULL};
	struct spoc_conf *c = g_new0(struct spoc_conf, 1);

	c->mailboxes = g_new0(struct spoc_imap_conf *, 2);
	c->mailboxes[0] = g_new0(struct spoc_imap_conf, 1);
	c->mailboxes[0]->max_message_bytes = 26214400;
	c->mailboxes[0]->default_kind = -1;
	c->parsing.fallback_charsets = g_strdupv((char **)fallback);
	c->parsing.max_parts = 500;
	c->parsing.max_depth = 20;
	c->parsing.max_attachment_bytes = c->mailboxes[0]->max_message_bytes;
	c->parsing.max_header_bytes = 262144;
	c->desk.addresses = g_new0(char *, 1);
	c->desk.default_language = g_strdup("en");
	c->desk.default_kind = SPOC_KIND_INCIDENT;
	c->desk.message_id_domain = g_strdup("spocd.invalid");
	c->rules = rules_new_builtin(NULL, c->desk.default_kind);
	c->sla = sla_conf_new(NULL);
	return c;
}

char *inspect_json(const char *label, const char *raw, size_t len, const struct spoc_conf *conf,
		   const char *mailbox)
{
	struct spoc_conf *own = conf == NULL ? default_conf() : NULL;
	const struct spoc_conf *c = conf != NULL ? conf : own;
	GString *out = g_string_new("{\"input\":{\"file\":");
	struct mime_limits limits;
	struct ingest_decision d;
	struct mail *m = NULL;
	struct errbuf why = {{0}};
	char sha[65];
	const char *refusal = NULL, *refused_limit = NULL;
	char *spam = NULL;

	spoc_sha256_hex(raw, len, sha);
	json_string(out, label);
	g_string_append_printf(out, ",\"bytes\":%zu,\"sha256\":\"%s\"},\"config\":", len, sha);
	json_string(out, conf != NULL ? conf->path : NULL);
	g_string_append_c(out, ',');

	ingest_mime_limits(c, &limits);
	if (mime_parse(raw, len, &limits, &m, &why) != SPOC_OK) {
		/* the parser's refusals say "... over <limit> (...)" */
		static const char *const refusing[] = {"max_message_bytes", "max_header_bytes",
						       "max_parts", "max_depth"};

		refusal = why.msg;
		for (size_t i = 0; i < G_N_ELEMENTS(refusing) && refused_limit == NULL; i++) {
			char *phrase = g_strconcat(" over ", refusing[i], " (", NULL);

			if (strstr(why.msg, phrase) != NULL)
				refused_limit = refusing[i];
			g_free(phrase);
		}
	} else {
		refusal = ingest_decide_in(c, mailbox, m, &d);
		if (refusal == NULL)
			refusal = spam = ingest_spam_why(c, m, &d);
	}
	g_string_append(out, "\"outcome\":");
	/* what the daemon would do with it, short of the database: a reply or a duplicate can
	 * only be told there */
	json_string(out, spam != NULL		   ? "spam"
			 : refusal != NULL	   ? "quarantine"
			 : d.automatic_why != NULL ? "automatic"
			 /* only a requester's commands: kept, answered if verified, no ticket */
			 : d.commands_only ? "command"
					   : "ticket");
	g_string_append(out, ",\"reason\":");
	json_string(out, refusal);
	g_string_append_c(out, ',');
	if (m != NULL) {
		json_headers(out, m);
		g_string_append_c(out, ',');
		json_body(out, m);
		g_string_append_c(out, ',');
		json_attachments(out, m);
		g_string_append_c(out, ',');
		json_limits(out, m, NULL, NULL);
		g_string_append_c(out, ',');
		json_judgement(out, &d);
	} else {
		g_string_append(out, "\"headers\":null,\"body\":null,\"attachments\":[],");
		json_limits(out, NULL, refused_limit, refusal);
		g_string_append(out, ",\"judgement\":null");
	}
	g_string_append(out, "}\n");
	mail_free(&m);
	g_free(spam);
	if (own != NULL)
		conf_free(&own);
	return g_string_free(out, FALSE);
}
