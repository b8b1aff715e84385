/* Spam verdicts read from the border's headers (spam.h). */
#include "spam.h"

#include <string.h>

struct preset_rule {
	const char *filter;
	const char *header;
	const char *pattern;
};

/* What each filter writes when it judges a mail spam, from its documentation:
 * - SpamAssassin: "X-Spam-Flag: YES", "X-Spam-Status: Yes, score=15.2 required=5.0 ...";
 * - rspamd (milter_headers): "X-Spam: Yes", "X-Spamd-Result: default: True [15.20 / 15.00]",
 *   "X-Spam-Action: add header" (also "rewrite subject", "reject"), and the SpamAssassin-style
 *   "X-Spam-Status: Yes, score=..." of its x-spam-status routine;
 * - Microsoft 365: the spam confidence level "X-MS-Exchange-Organization-SCL: 5" (5 and 6 spam, 7
 *   to 9 high confidence spam; -1 skipped, 0 to 4 not spam) and "SFV:SPM" (spam), "SFV:SKS"
 *   (marked spam by a mail flow rule), "SFV:SKB" (a blocked sender or domain of the policy) or
 *   "SFV:BLK" (a recipient's blocked sender) in X-Forefront-Antispam-Report. */
static const struct preset_rule preset_rules[] = {
    {"spamassassin", "X-Spam-Flag", "^\\s*yes\\b"},
    {"spamassassin", "X-Spam-Status", "^\\s*yes\\b"},
    {"rspamd", "X-Spam", "^\\s*(yes|true)\\b"},
    {"rspamd", "X-Spamd-Result", "^\\s*default:\\s*true\\b"},
    {"rspamd", "X-Spam-Action", "^\\s*(add header|rewrite subject|reject)\\s*$"},
    {"rspamd", "X-Spam-Status", "^\\s*yes\\b"},
    {"microsoft365", "X-MS-Exchange-Organization-SCL", "^\\s*[5-9]\\s*$"},
    {"microsoft365", "X-Forefront-Antispam-Report",
     "(^|;)\\s*SFV\\s*:\\s*(SPM|SKS|SKB|BLK)\\s*(;|$)"},
};

const char *const spam_presets[] = {"spamassassin", "rspamd", "microsoft365", NULL};

void spam_rule_free(gpointer p)
{
	struct spam_rule *r = p;

	g_free(r->filter);
	g_free(r->header);
	if (r->regex != NULL)
		g_regex_unref(r->regex);
	g_free(r);
}

static gboolean add(GPtrArray *rules, const char *filter, const char *header, const char *pattern,
		    char **error_r)
{
	GError *e = NULL;
	GRegex *re = g_regex_new(pattern, G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, &e);
	struct spam_rule *r;

	if (re == NULL) {
		if (error_r != NULL)
			*error_r = g_strdup(e->message);
		g_error_free(e);
		return FALSE;
	}
	r = g_new0(struct spam_rule, 1);
	r->filter = g_strdup(filter);
	r->header = g_strdup(header);
	r->regex = re;
	g_ptr_array_add(rules, r);
	return TRUE;
}

gboolean spam_add_preset(GPtrArray *rules, const char *name)
{
	gboolean found = FALSE;

	for (size_t i = 0; i < G_N_ELEMENTS(preset_rules); i++)
		if (strcmp(preset_rules[i].filter, name) == 0) {
			/* the built-in patterns compile */
			add(rules, name, preset_rules[i].header, preset_rules[i].pattern, NULL);
			found = TRUE;
		}
	return found;
}

gboolean spam_add_rule(GPtrArray *rules, const char *header, const char *pattern, char **error_r)
{
	if (header == NULL || header[0] == '\0' || strpbrk(header, ": \t\r\n") != NULL) {
		if (error_r != NULL)
			*error_r = g_strdup("not a header field name");
		return FALSE;
	}
	return add(rules, "custom", header, pattern, error_r);
}

char *spam_verdict(const struct mail *mail, const GPtrArray *rules)
{
	for (guint i = 0; rules != NULL && mail->headers != NULL && i < mail->headers->len; i++) {
		const struct mail_header *h = g_ptr_array_index(mail->headers, i);

		for (guint k = 0; k < rules->len; k++) {
			const struct spam_rule *r = g_ptr_array_index(rules, k);
			const char *v = h->raw != NULL ? h->raw : "";

			if (g_ascii_strcasecmp(h->name, r->header) != 0 ||
			    !g_regex_match(r->regex, v, 0, NULL))
				continue;
			g_autofree char *valid = g_utf8_make_valid(v, -1);
			gboolean cut = g_utf8_strlen(valid, -1) > 80;
			g_autofree char *shown =
			    cut ? g_utf8_substring(valid, 0, 80) : g_strdup(valid);

			return g_strdup_printf("spam: %s: %s%s (%s)", h->name, g_strstrip(shown),
					       cut ? "…" : "", r->filter);
		}
	}
	return NULL;
}
