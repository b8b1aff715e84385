/* What the unit tests of sla.c and sla_watch.c share: the desk's time zone of the examples
 * (Europe/Madrid, set up and torn down around the group), and the sla section read from a string
 * by conf_rules.c's reader. Include after cmocka.h. */
#ifndef SPOC_TEST_SLA_FIXTURE_H
#define SPOC_TEST_SLA_FIXTURE_H

#include "conf_rules.h"
#include "sla.h"

#include "../../src/conf/conf_priv.h"

#include <string.h>

static GTimeZone *madrid;

static int setup(void **state)
{
	(void)state;
	madrid = g_time_zone_new_identifier("Europe/Madrid");
	return madrid == NULL;
}

static int teardown(void **state)
{
	(void)state;
	g_time_zone_unref(madrid);
	return 0;
}

struct loaded {
	struct reader r;
	struct errbuf err;
	struct sla_conf *sla;
};

static inline void load(struct loaded *l, const char *text)
{
	memset(l, 0, sizeof(*l));
	l->r.path = "test.conf";
	l->r.err = &l->err;
	config_init(&l->r.cfg);
	if (!config_read_string(&l->r.cfg, text))
		fail_msg("syntax error line %d: %s", config_error_line(&l->r.cfg),
			 config_error_text(&l->r.cfg));
	conf_read_sla(&l->r, &l->sla);
	assert_non_null(l->sla);
}

static inline void unload(struct loaded *l)
{
	config_destroy(&l->r.cfg);
	sla_conf_free(&l->sla);
}

#endif
