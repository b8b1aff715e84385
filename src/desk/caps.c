/* The rate limits and the recipients the desk refuses, decided from counted facts (caps.h). */
#include "caps.h"

#include <string.h>

const char *const caps_kind_names[CAPS_KINDS] = {
    [CAPS_ACK] = "ack",
    [CAPS_STATUS] = "status",
    [CAPS_FOLLOW_UP] = "follow-up",
    [CAPS_COMMAND_RESULT] = "command-result",
    [CAPS_COMMAND_UNPROVEN] = "command-unproven",
    [CAPS_SLA_WARNING] = "sla-warning",
    [CAPS_SLA_BREACH] = "sla-breach",
    [CAPS_NEW_TICKET] = "new-ticket",
    [CAPS_ASSIGNED] = "assigned",
    [CAPS_UNREACHABLE] = "unreachable",
    [CAPS_MY_TICKETS] = "my-tickets",
    [CAPS_REQUESTER_RESULT] = "requester-result",
    [CAPS_AGENT_REPLY] = "agent-reply",
};

const char *const caps_window_names[CAPS_WINDOWS] = {
    [CAPS_RECIPIENT_HOUR] = "per_recipient_hour",
    [CAPS_RECIPIENT_DAY] = "per_recipient_day",
    [CAPS_TICKET_DAY] = "per_ticket_day",
};

/* Each window's length, and what it counts as a reader reads it. */
static const int64_t window_s[CAPS_WINDOWS] = {3600, 86400, 86400};
static const char *const window_text[CAPS_WINDOWS] = {
    "to this address in the last hour",
    "to this address in the last day",
    "on this ticket in the last day",
};

int caps_kind_of(const char *name)
{
	for (int k = 0; name != NULL && k < CAPS_KINDS; k++)
		if (strcmp(name, caps_kind_names[k]) == 0)
			return k;
	return -1;
}

gboolean caps_automatic(const char *kind)
{
	int k = caps_kind_of(kind);

	/* what the desk says of itself to people outside it; a notice to the desk's own agents
	 * cannot start a loop (their auto-replies are recorded, never answered) and a busy agent
	 * must not wait an hour for the next ticket: it has its own kind's budget */
	return k < 0 || k == CAPS_ACK || k == CAPS_STATUS || k == CAPS_MY_TICKETS ||
	       k == CAPS_REQUESTER_RESULT;
}

/* The limit that frees last so far, and when. */
struct binding {
	int64_t release;
	char reason[300];
};

/* Counts one limit: when count reached max (max > 0), the row waits until the oldest mail
 * counted leaves the window of window_len seconds; the latest such time binds. */
static void consider(struct binding *b, int max, const struct caps_count *count, int64_t window_len,
		     int64_t now, const char *setting, const char *what)
{
	int64_t release;

	if (max <= 0 || count->n < max)
		return;
	/* the oldest counted is inside the window; a clock that moved may say otherwise, and a
	 * row must never be due again at once */
	release = MAX(count->oldest + window_len, now + 1);
	if (b->release != 0 && release <= b->release)
		return;
	b->release = release;
	g_snprintf(b->reason, sizeof(b->reason), "%s = %d: already %" G_GINT64_FORMAT " %s",
		   setting, max, count->n, what);
}

void caps_decide(const struct caps_conf *c, const struct caps_row *row, const struct caps_facts *f,
		 int64_t now, int max_age_s, struct caps_verdict *v)
{
	int k = caps_kind_of(row->kind);
	gboolean automatic = caps_automatic(row->kind), bounced = FALSE;
	struct binding b = {0};

	memset(v, 0, sizeof(*v));
	v->action = CAPS_SEND;
	if (row->waived)
		return;
	for (int w = 0; w < CAPS_WINDOWS; w++) {
		char setting[64], what[96];

		if (automatic) {
			g_snprintf(setting, sizeof(setting), "rate_limits.%s",
				   caps_window_names[w]);
			g_snprintf(what, sizeof(what), "automatic mails %s", window_text[w]);
			consider(&b, c->automatic.per[w], &f->automatic[w], window_s[w], now,
				 setting, what);
		}
		if (k >= 0) {
			g_snprintf(setting, sizeof(setting), "rate_limits.%s.%s",
				   caps_kind_names[k], caps_window_names[w]);
			g_snprintf(what, sizeof(what), "%s mails %s", caps_kind_names[k],
				   window_text[w]);
			consider(&b, c->kinds[k].per[w], &f->kind[w], window_s[w], now, setting,
				 what);
		}
	}
	if (automatic)
		consider(&b, c->automatic_per_hour, &f->automatic_hour, 3600, now,
			 "rate_limits.automatic_per_hour",
			 "automatic mails to all recipients in the last hour");
	/* an address that bounced for good gets no automatic mail for a while: it would only
	 * bounce again (the desk is told it is unreachable; a mail from it clears the mark) */
	if (automatic && c->suppress_days > 0 && f->bouncing_since > 0 &&
	    f->bouncing_since + (int64_t)c->suppress_days * 86400 > now) {
		int64_t release = f->bouncing_since + (int64_t)c->suppress_days * 86400;

		if (release > b.release) {
			b.release = release;
			bounced = TRUE;
			g_snprintf(b.reason, sizeof(b.reason),
				   "bounce.suppress_days = %d: the address bounced: %s",
				   c->suppress_days,
				   f->bounce_reason != NULL && f->bounce_reason[0] != '\0'
				       ? f->bounce_reason
				       : "(no reason given)");
		}
	}
	if (b.release == 0) {
		if (row->held && row->age_s > max_age_s) {
			v->action = CAPS_FAIL;
			g_snprintf(
			    v->reason, sizeof(v->reason),
			    "gave up: held by the rate limits for longer than smtp.max_retry_age "
			    "(%d s); it is %" G_GINT64_FORMAT " s old",
			    max_age_s, row->age_s);
		}
		return;
	}
	/* held while the address bounces, whatever its age: visible, and sent if the address
	 * comes back soon enough (a mail from it clears the mark); given up after that */
	if (!bounced && row->age_s + (b.release - now) > max_age_s) {
		v->action = CAPS_FAIL;
		g_snprintf(v->reason, sizeof(v->reason),
			   "gave up: it would be held past smtp.max_retry_age (%d s) by %s",
			   max_age_s, b.reason);
		return;
	}
	v->action = CAPS_HOLD;
	v->release = b.release;
	g_strlcpy(v->reason, b.reason, sizeof(v->reason));
}

char *caps_recipient_key(const char *addr)
{
	char *lower = g_ascii_strdown(addr != NULL ? addr : "", -1);
	char *at = strrchr(lower, '@'), *plus, *key;
	GString *local;
	const char *domain;

	if (at == NULL || at == lower)
		return lower;
	*at = '\0';
	domain = at + 1;
	/* a "+tag" is a suffix: a local part that starts with '+' is all name */
	plus = strchr(lower + 1, '+');
	if (plus != NULL)
		*plus = '\0';
	if (strcmp(domain, "googlemail.com") == 0)
		domain = "gmail.com";
	local = g_string_new(NULL);
	for (const char *p = lower; *p != '\0'; p++)
		if (*p != '.' || strcmp(domain, "gmail.com") != 0)
			g_string_append_c(local, *p);
	key = g_strconcat(local->str, "@", domain, NULL);
	g_string_free(local, TRUE);
	g_free(lower);
	return key;
}

/* TRUE when domain is name or under it (a.b.name). */
static gboolean domain_within(const char *domain, const char *name)
{
	size_t dl = strlen(domain), nl = strlen(name);

	if (nl == 0 || dl < nl || strcmp(domain + dl - nl, name) != 0)
		return FALSE;
	return dl == nl || domain[dl - nl - 1] == '.';
}

char *caps_recipient_refused(const char *addr, const char *const *own,
			     const char *const *refused_domains)
{
	const char *at = addr != NULL ? strrchr(addr, '@') : NULL;
	g_autofree char *domain = NULL, *key = NULL;
	size_t len;

	if (at == NULL || at == addr || at[1] == '\0')
		return g_strdup("refused recipient: not an address with a domain");
	domain = g_ascii_strdown(at + 1, -1);
	if (domain[0] == '[')
		return g_strdup_printf("refused recipient: address literal %s", domain);
	/* a root-anchored name is the same name */
	len = strlen(domain);
	if (len > 1 && domain[len - 1] == '.')
		domain[len - 1] = '\0';
	if (strspn(domain, "0123456789.") == strlen(domain))
		return g_strdup_printf("refused recipient: numeric domain %s (an address, not a "
				       "name)",
				       domain);
	if (domain_within(domain, "localhost") || strcmp(domain, "localhost.localdomain") == 0)
		return g_strdup_printf("refused recipient: localhost domain %s", domain);
	if (strchr(domain, '.') == NULL || domain[0] == '.')
		return g_strdup_printf("refused recipient: single-label domain %s", domain);
	key = caps_recipient_key(addr);
	for (size_t i = 0; own != NULL && own[i] != NULL; i++) {
		g_autofree char *own_key = caps_recipient_key(own[i]);

		if (strcmp(key, own_key) == 0)
			return g_strdup_printf("refused recipient: the desk's own address %s",
					       own[i]);
	}
	for (size_t i = 0; refused_domains != NULL && refused_domains[i] != NULL; i++)
		if (domain_within(domain, refused_domains[i]))
			return g_strdup_printf(
			    "refused recipient: domain %s in smtp.refused_domains (%s)", domain,
			    refused_domains[i]);
	return NULL;
}
