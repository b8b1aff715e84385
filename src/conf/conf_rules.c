/* libconfig -> the desk's judgement: the `rules` section into struct rules and the `sla` section
 * into struct sla_conf. Like conf.c, every mistake is named with file, line and setting path
 * ("spocd.conf:57: rules.kind.[3].pattern: invalid regular expression: ..."), and unknown
 * settings are refused, because a misspelt condition would otherwise silently match everything
 * or nothing. The paths use libconfig's own syntax, whose list indices start at 0. */
#include "conf_rules.h"

#include "conf_priv.h"

#include <string.h>

/* Settings a group may hold; anything else is an error naming the first stranger. */
static gboolean only_known(struct reader *r, config_setting_t *group, const char *path,
			   const char *const *known)
{
	for (int i = 0; i < config_setting_length(group); i++) {
		const char *name = config_setting_name(config_setting_get_elem(group, i));

		if (name == NULL || !g_strv_contains(known, name)) {
			char *where = g_strdup_printf("%s.%s", path, name != NULL ? name : "?");
			char *list = g_strjoinv(", ", (char **)known);

			conf_fail(r, where, "unknown setting: %s may hold %s", path, list);
			g_free(list);
			g_free(where);
			return FALSE;
		}
	}
	return TRUE;
}

/* An optional string setting: NULL when absent. Caller frees. */
static char *opt_string(struct reader *r, const char *path)
{
	return config_lookup(&r->cfg, path) != NULL ? conf_get_string(r, path, NULL) : NULL;
}

/* A string or a list of strings, as a NULL-terminated vector; NULL when absent (or wrong, with the
 * error recorded). An empty list is an error unless allow_empty. Caller frees. */
static char **get_strings(struct reader *r, const char *path, gboolean allow_empty)
{
	config_setting_t *s = config_lookup(&r->cfg, path);
	GPtrArray *out;

	if (s == NULL)
		return NULL;
	out = g_ptr_array_new_with_free_func(g_free);
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		g_ptr_array_add(out, conf_get_string(r, path, NULL));
	} else if (config_setting_is_array(s) || config_setting_is_list(s)) {
		for (int i = 0; i < config_setting_length(s); i++) {
			const char *v = config_setting_get_string_elem(s, i);

			if (v == NULL || !g_utf8_validate(v, -1, NULL)) {
				conf_fail(r, path, "element %d is not a UTF-8 string", i + 1);
				g_ptr_array_free(out, TRUE);
				return NULL;
			}
			g_ptr_array_add(out, g_strdup(v));
		}
		if (out->len == 0 && !allow_empty) {
			conf_fail(r, path, "must not be an empty list");
			g_ptr_array_free(out, TRUE);
			return NULL;
		}
	} else {
		conf_fail(r, path, "must be a string or a list of strings: [ \"a\", \"b\" ]");
		g_ptr_array_free(out, TRUE);
		return NULL;
	}
	g_ptr_array_set_free_func(out, NULL);
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

/* "subject", "text", "subject,text" into enum rules_field bits; 0 when absent. */
static unsigned get_in(struct reader *r, const char *path)
{
	char *v = opt_string(r, path);
	unsigned in = 0;
	char **parts;

	if (v == NULL)
		return 0;
	parts = g_strsplit(v, ",", -1);
	for (char **p = parts; *p != NULL; p++) {
		g_strstrip(*p);
		if (strcmp(*p, "subject") == 0) {
			in |= RULES_IN_SUBJECT;
		} else if (strcmp(*p, "text") == 0) {
			in |= RULES_IN_TEXT;
		} else {
			conf_fail(r, path,
				  "\"%s\" is not a place to look: use \"subject\", \"text\" or "
				  "\"subject,text\"",
				  v);
			in = 0;
			break;
		}
	}
	g_strfreev(parts);
	g_free(v);
	return in;
}

static const char *const value_key[] = {"kind", "impact", "urgency"};

/* One element of rules.kind / rules.impact / rules.urgency. */
static void read_rule(struct reader *r, struct rules *rules, enum rules_list list,
		      config_setting_t *elem, const char *path)
{
	const char *const known[] = {
	    "name",   "to",	 "subject_tag", "sender_domain", "sender", "mailbox",
	    "header", "pattern", "in",		value_key[list], "team",   NULL};
	char key[512];
	struct rules_spec spec = {0};
	char *name, *header, *pattern, *team;
	char **to, **tags, **domains, **senders, **mailboxes;
	const char *field = NULL;
	struct errbuf err = {""};

#define KEY(k) (g_snprintf(key, sizeof(key), "%s.%s", path, k), key)
	if (!config_setting_is_group(elem)) {
		conf_fail(r, path, "must be a rule in braces: { name = \"...\"; ...; %s = ...; }",
			  value_key[list]);
		return;
	}
	if (!only_known(r, elem, path, known))
		return;
	if (config_setting_get_member(elem, "name") == NULL) {
		conf_fail(r, path,
			  "has no name: give name = \"...\"; verdicts and tickets show which rule "
			  "decided");
		return;
	}
	if (config_setting_get_member(elem, value_key[list]) == NULL) {
		conf_fail(r, path, "says nothing to decide: give %s = %s;", value_key[list],
			  list == RULES_KIND ? "\"incident\" or \"request\"" : "1, 2 or 3");
		return;
	}
	name = conf_get_string(r, KEY("name"), NULL);
	to = get_strings(r, KEY("to"), FALSE);
	tags = get_strings(r, KEY("subject_tag"), FALSE);
	domains = get_strings(r, KEY("sender_domain"), FALSE);
	senders = get_strings(r, KEY("sender"), FALSE);
	mailboxes = get_strings(r, KEY("mailbox"), FALSE);
	header = opt_string(r, KEY("header"));
	pattern = opt_string(r, KEY("pattern"));
	team = opt_string(r, KEY("team"));
	spec = (struct rules_spec){
	    .name = name,
	    .to = (const char *const *)to,
	    .subject_tags = (const char *const *)tags,
	    .sender_domains = (const char *const *)domains,
	    .senders = (const char *const *)senders,
	    .mailboxes = (const char *const *)mailboxes,
	    .header = header,
	    .pattern = pattern,
	    .in = get_in(r, KEY("in")),
	    .team = team,
	};
	if (list == RULES_KIND)
		spec.value = conf_get_choice(r, KEY("kind"), ticket_kind_names, 0);
	else
		spec.value = conf_get_int(r, KEY(value_key[list]), RULES_LEVELS, 1, RULES_LEVELS);
	if (!r->failed && !rules_add(rules, list, &spec, &field, &err))
		conf_fail(r, field != NULL ? KEY(field) : path, "%s", err.msg);
#undef KEY
	g_free(name);
	g_strfreev(to);
	g_strfreev(tags);
	g_strfreev(domains);
	g_strfreev(senders);
	g_strfreev(mailboxes);
	g_free(header);
	g_free(pattern);
	g_free(team);
}

/* Reads one list of rules; FALSE when the configuration has none. */
static gboolean read_rule_list(struct reader *r, struct rules *rules, enum rules_list list)
{
	char path[64], epath[80];
	config_setting_t *l;

	g_snprintf(path, sizeof(path), "rules.%s", value_key[list]);
	if ((l = config_lookup(&r->cfg, path)) == NULL)
		return FALSE;
	if (!config_setting_is_list(l)) {
		conf_fail(r, path,
			  "must be a list of rules in parentheses: ( { name = \"...\"; ...; %s = "
			  "...; }, ... )",
			  value_key[list]);
		return TRUE;
	}
	for (int i = 0; i < config_setting_length(l); i++) {
		g_snprintf(epath, sizeof(epath), "%s.[%d]", path, i);
		read_rule(r, rules, list, config_setting_get_elem(l, i), epath);
	}
	return TRUE;
}

static void read_matrix(struct reader *r, struct rules *rules)
{
	config_setting_t *m = config_lookup(&r->cfg, "rules.matrix");
	int cells[RULES_LEVELS][RULES_LEVELS];
	struct errbuf err = {""};

	if (m == NULL)
		return;
	if (!config_setting_is_list(m) || config_setting_length(m) != RULES_LEVELS) {
		conf_fail(r, "rules.matrix",
			  "must be %d rows in parentheses, one per impact (1 first), each an array "
			  "of %d priorities, one per urgency: ( [1,2,3], [2,3,4], [3,4,5] )",
			  RULES_LEVELS, RULES_LEVELS);
		return;
	}
	for (int i = 0; i < RULES_LEVELS; i++) {
		config_setting_t *row = config_setting_get_elem(m, i);
		char path[64];

		g_snprintf(path, sizeof(path), "rules.matrix.[%d]", i);
		if (!(config_setting_is_array(row) || config_setting_is_list(row)) ||
		    config_setting_length(row) != RULES_LEVELS) {
			conf_fail(r, path,
				  "must be an array of %d priorities, one per urgency (1 first)",
				  RULES_LEVELS);
			return;
		}
		for (int u = 0; u < RULES_LEVELS; u++) {
			char cell[80];

			g_snprintf(cell, sizeof(cell), "%s.[%d]", path, u);
			cells[i][u] = conf_get_int(r, cell, 0, 1, RULES_MAX_PRIORITY);
		}
	}
	if (!r->failed && !rules_set_matrix(rules, (const int(*)[RULES_LEVELS])cells, &err))
		conf_fail(r, "rules.matrix", "%s", err.msg);
}

/* desk.addresses as conf.c reads them (it reports their mistakes). Caller frees. */
static char **desk_addresses(struct reader *r)
{
	config_setting_t *list = config_lookup(&r->cfg, "desk.addresses");
	GPtrArray *out = g_ptr_array_new();

	for (int i = 0;
	     list != NULL && config_setting_is_aggregate(list) && i < config_setting_length(list);
	     i++) {
		const char *a = config_setting_get_string_elem(list, i);

		if (a != NULL)
			g_ptr_array_add(out, g_ascii_strdown(a, -1));
	}
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

void conf_read_rules(struct reader *r, struct rules **rules_r)
{
	static const char *const known[] = {"kind",	    "impact",	      "urgency",
					    "default_kind", "default_impact", "default_urgency",
					    "matrix",	    "builtin",	      NULL};
	config_setting_t *sec = config_lookup(&r->cfg, "rules");
	config_setting_t *b = config_lookup(&r->cfg, "rules.builtin");
	char **desk = desk_addresses(r);
	gboolean builtin = TRUE;
	enum spoc_kind dflt;
	struct rules *rules;

	dflt = (enum spoc_kind)conf_get_choice(r, "desk.default_kind", ticket_kind_names, 0);
	if (sec != NULL && config_lookup(&r->cfg, "rules.default_kind") != NULL)
		dflt =
		    (enum spoc_kind)conf_get_choice(r, "rules.default_kind", ticket_kind_names, 0);
	rules = rules_new((const char *const *)desk, dflt);
	g_strfreev(desk);
	*rules_r = rules;
	if (sec != NULL && !config_setting_is_group(sec)) {
		conf_fail(r, "rules", "must be a group: rules: { kind = ( ... ); ... };");
		sec = NULL;
	}
	if (sec != NULL && !only_known(r, sec, "rules", known))
		sec = NULL;
	if (b != NULL) {
		if (config_setting_type(b) != CONFIG_TYPE_BOOL)
			conf_fail(r, "rules.builtin", "must be true or false");
		else
			builtin = config_setting_get_bool(b) != 0;
	}
	/* The configured rules come first, so the desk's own addresses, tags and senders decide
	 * before any keyword; the built-in rules then judge what they leave undecided. */
	for (int list = RULES_KIND; list <= RULES_URGENCY; list++) {
		if (sec != NULL)
			read_rule_list(r, rules, (enum rules_list)list);
		if (builtin)
			rules_add_builtin(rules, (enum rules_list)list);
	}
	if (sec != NULL) {
		rules_set_default_levels(
		    rules,
		    conf_get_int(r, "rules.default_impact", RULES_DEFAULT_LEVEL, 1, RULES_LEVELS),
		    conf_get_int(r, "rules.default_urgency", RULES_DEFAULT_LEVEL, 1, RULES_LEVELS));
		read_matrix(r, rules);
	}
}

static struct sla_calendar *read_calendar(struct reader *r)
{
	static const char *const known[] = {"timezone", "days", "hours", "holidays", NULL};
	config_setting_t *c = config_lookup(&r->cfg, "sla.calendar");
	struct sla_calendar *cal = NULL;
	char *tz;
	char **days, **hours, **holidays;
	const char *field = NULL;
	struct errbuf err = {""};

	if (c == NULL)
		return NULL;
	if (config_setting_type(c) == CONFIG_TYPE_STRING) {
		if (strcmp(config_setting_get_string(c), "24x7") == 0)
			return sla_calendar_new_24x7();
		conf_fail(r, "sla.calendar",
			  "must be \"24x7\" or a group: { timezone = \"Europe/Madrid\"; days = [ "
			  "\"mon-fri\" ]; hours = [ \"08:00-15:00\" ]; holidays = [ ... ]; }");
		return NULL;
	}
	if (!config_setting_is_group(c)) {
		conf_fail(r, "sla.calendar",
			  "must be \"24x7\" or a group: { timezone = ...; days = ...; hours = ...; "
			  "holidays = ...; }");
		return NULL;
	}
	if (!only_known(r, c, "sla.calendar", known))
		return NULL;
	tz = opt_string(r, "sla.calendar.timezone");
	days = get_strings(r, "sla.calendar.days", TRUE);
	hours = get_strings(r, "sla.calendar.hours", FALSE);
	holidays = get_strings(r, "sla.calendar.holidays", TRUE);
	if (!r->failed) {
		struct sla_calendar_spec spec = {
		    .timezone = tz,
		    .days = (const char *const *)days,
		    .hours = (const char *const *)hours,
		    .holidays = (const char *const *)holidays,
		};

		if ((cal = sla_calendar_new(&spec, &field, &err)) == NULL) {
			char path[64];

			g_snprintf(path, sizeof(path), "sla.calendar.%s", field);
			conf_fail(r, path, "%s", err.msg);
		}
	}
	g_free(tz);
	g_strfreev(days);
	g_strfreev(hours);
	g_strfreev(holidays);
	return cal;
}

/* One element of sla.targets; seen_line keeps the line of the target that set each (priority,
 * kind), so a second one is refused with both places named. */
static void read_target(struct reader *r, struct sla_conf *sla, config_setting_t *elem,
			const char *path, int seen_line[SLA_PRIORITIES][2])
{
	static const char *const known[] = {"priority",	  "kind",     "first_response",
					    "resolution", "calendar", NULL};
	static const char *const kinds[] = {"incident", "request", "both", NULL};
	static const char *const calendars[] = {"business", "24x7", NULL};
	const int max = SLA_MAX_DAYS * 24 * 60;
	char key[128];
	int prio, kind, line = config_setting_source_line(elem);

#define KEY(k) (g_snprintf(key, sizeof(key), "%s.%s", path, k), key)
	if (!config_setting_is_group(elem)) {
		conf_fail(r, path,
			  "must be a target in braces: { priority = 1; kind = \"incident\"; "
			  "first_response = 15; resolution = 240; }");
		return;
	}
	if (!only_known(r, elem, path, known))
		return;
	if (config_setting_get_member(elem, "priority") == NULL) {
		conf_fail(r, path, "has no priority: give priority = 1..%d;", SLA_PRIORITIES);
		return;
	}
	if (config_setting_get_member(elem, "first_response") == NULL &&
	    config_setting_get_member(elem, "resolution") == NULL) {
		conf_fail(r, path, "sets nothing: give first_response and/or resolution (minutes)");
		return;
	}
	prio = conf_get_int(r, KEY("priority"), 1, 1, SLA_PRIORITIES);
	kind = conf_get_choice(r, KEY("kind"), kinds, 2);
	for (int k = 0; k < 2 && !r->failed; k++) {
		struct sla_target *t = &sla->targets[prio - 1][k];

		if (kind != 2 && kind != k)
			continue;
		if (seen_line[prio - 1][k] != 0) {
			conf_fail(r, path, "a second target for P%d %s (the first is at line %d)",
				  prio, ticket_kind_names[k], seen_line[prio - 1][k]);
			return;
		}
		seen_line[prio - 1][k] = line > 0 ? line : 1;
		t->first_response =
		    conf_get_int(r, KEY("first_response"), t->first_response, 1, max);
		t->resolution = conf_get_int(r, KEY("resolution"), t->resolution, 1, max);
		if (config_setting_get_member(elem, "calendar") != NULL)
			t->calendar = conf_get_choice(r, KEY("calendar"), calendars, 0) == 1
					  ? sla->always
					  : sla->business;
		if (!r->failed && t->first_response > t->resolution)
			conf_fail(r, KEY("first_response"),
				  "P%d %s: the first response (%d minutes) would come after the "
				  "resolution (%d minutes)",
				  prio, ticket_kind_names[k], t->first_response, t->resolution);
	}
#undef KEY
}

/* sla.notify: where the SLA notices of a ticket with neither assignee nor team go. */
static void read_notify(struct reader *r, struct sla_conf *sla)
{
	char **list = get_strings(r, "sla.notify", TRUE);
	GPtrArray *out = g_ptr_array_new();

	for (size_t i = 0; list != NULL && list[i] != NULL && !r->failed; i++) {
		const char *a = list[i], *at = strchr(a, '@');
		char *low;

		if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
		    strpbrk(a, " \t\r\n<>\"(),;") != NULL) {
			conf_fail(r, "sla.notify",
				  "element %zu, \"%s\", is not an address: give bare addresses, "
				  "[ \"oncall@example.org\" ]",
				  i + 1, a);
			break;
		}
		if (out->len == SLA_MAX_NOTIFY) {
			conf_fail(r, "sla.notify", "at most %d addresses (use a list address)",
				  SLA_MAX_NOTIFY);
			break;
		}
		low = g_ascii_strdown(a, -1);
		g_ptr_array_add(out, low);
	}
	g_ptr_array_add(out, NULL);
	g_strfreev(sla->notify);
	sla->notify = (char **)g_ptr_array_free(out, FALSE);
	g_strfreev(list);
}

void conf_read_sla(struct reader *r, struct sla_conf **sla_r)
{
	static const char *const known[] = {"calendar", "targets", "warn_share", "notify", NULL};
	config_setting_t *sec = config_lookup(&r->cfg, "sla");
	int seen_line[SLA_PRIORITIES][2] = {{0}};
	config_setting_t *list;

	if (sec != NULL && !config_setting_is_group(sec)) {
		conf_fail(r, "sla",
			  "must be a group: sla: { calendar = { ... }; targets = ( ... ); };");
		sec = NULL;
	}
	if (sec != NULL && !only_known(r, sec, "sla", known))
		sec = NULL;
	*sla_r = sla_conf_new(sec != NULL ? read_calendar(r) : NULL);
	if (sec != NULL) {
		(*sla_r)->warn_share = conf_get_int(r, "sla.warn_share", SLA_WARN_SHARE, 1, 99);
		read_notify(r, *sla_r);
	}
	if (sec == NULL || (list = config_lookup(&r->cfg, "sla.targets")) == NULL)
		return;
	if (!config_setting_is_list(list)) {
		conf_fail(r, "sla.targets",
			  "must be a list in parentheses: ( { priority = 1; kind = \"incident\"; "
			  "first_response = 15; resolution = 240; }, ... )");
		return;
	}
	for (int i = 0; i < config_setting_length(list); i++) {
		char path[64];

		g_snprintf(path, sizeof(path), "sla.targets.[%d]", i);
		read_target(r, *sla_r, config_setting_get_elem(list, i), path, seen_line);
	}
}
