/* Unit tests of rules.c and of its reader in conf_rules.c. Mails are built from raw text through
 * mime_parse(), as in the daemon. The kind tests are two sets of realistic mails, Spanish and
 * English, each checked against the exact rule that must decide it, so a change of order or of a
 * keyword shows up as a named difference. The reader is driven through a struct reader built
 * here from configuration text, so every error's file, line and setting path is checked. */
#include "conf_rules.h"

#include "../../src/conf/conf_priv.h"

#include "testlib.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

static const char *const desk[] = {"help@example.org", "incidents@example.org",
				   "requests@example.org", "soporte@example.org", NULL};

/* A mail from `from` to `to` (and cc, may be NULL) with extra header lines (each ending in \n). */
static struct mail *mk_full(const char *from, const char *to, const char *cc, const char *extra,
			    const char *subject, const char *body)
{
	char *ccl = cc != NULL ? g_strdup_printf("Cc: %s\n", cc) : g_strdup("");
	char *headers =
	    g_strdup_printf("From: %s\nTo: %s\n%s%sSubject: %s\n", from, to, ccl, extra, subject);
	struct mail *m = testlib_mail(headers, body);

	g_free(headers);
	g_free(ccl);
	return m;
}

static struct mail *mk(const char *subject, const char *body)
{
	return mk_full("Ana <ana@example.com>", "help@example.org", NULL, "", subject, body);
}

struct kind_case {
	const char *subject;
	const char *body;
	enum spoc_kind kind;
	const char *rule;
};

static void check_cases(const struct kind_case *cases, size_t n)
{
	/* the default is request, so a default incident could not pass for a rule's */
	struct rules *rules = rules_new_builtin(desk, SPOC_KIND_REQUEST);

	for (size_t i = 0; i < n; i++) {
		struct mail *m = mk(cases[i].subject, cases[i].body);
		struct rules_verdict v;

		rules_decide(rules, m, NULL, &v);
		if (v.kind != cases[i].kind || strcmp(v.kind_rule, cases[i].rule) != 0)
			fail_msg("case %zu \"%s\": got %s by [%s], expected %s by [%s]", i + 1,
				 cases[i].subject, ticket_kind_name(v.kind), v.kind_rule,
				 ticket_kind_name(cases[i].kind), cases[i].rule);
		assert_int_equal(v.triage, strcmp(cases[i].rule, "default") == 0);
		mail_free(&m);
	}
	rules_free(&rules);
}

#define INC SPOC_KIND_INCIDENT
#define REQ SPOC_KIND_REQUEST

static void test_kind_spanish(void **state)
{
	static const struct kind_case cases[] = {
	    {"La impresora de la 2ª planta no funciona",
	     "Hola, desde esta mañana la impresora HP de la segunda planta no imprime nada.", INC,
	     "keywords-es: incident \"no funciona\" (subject)"},
	    {"Consulta",
	     "Buenos días,\n\nno puedo acceder al correo desde el portátil. Me pide la "
	     "contraseña una y otra vez.\n\nGracias",
	     INC, "keywords-es: incident \"no puedo acceder\" (text)"},
	    {"Alta de usuario para nueva incorporación",
	     "Hola, el lunes se incorpora Marta López al departamento de compras. Necesitaría "
	     "cuenta de correo y acceso a SAP.",
	     REQ, "keywords-es: request \"alta de usuario\" (subject)"},
	    {"Servidor de ficheros CAÍDO", "No se puede abrir nada de la unidad S:", INC,
	     "keywords-es: incident \"caído\" (subject)"},
	    /* an error is what the requested folder holds, not what happened */
	    {"Solicitud de acceso a la carpeta de errores",
	     "Solicito acceso de lectura a \\\\srv01\\logs\\errores para revisar los informes.",
	     REQ, "keywords-es: request \"solicito acceso\" (subject)"},
	    /* a strong phrase in the text beats a weak word in the subject */
	    {"Necesito ayuda", "El portátil no arranca, se queda la pantalla en negro.", INC,
	     "keywords-es: incident \"no arranca\" (text)"},
	    {"Portátil", "Necesito un portátil nuevo para el becario que empieza en septiembre.",
	     REQ, "keywords-es: request \"portátil nuevo\" (text)"},
	    {"Error al abrir la nómina en el portal",
	     "Al entrar en el portal del empleado me sale un error 500.", INC,
	     "keywords-es/en: incident \"error\" (subject)"},
	    {"Contraseña caducada", "Hola, olvidé mi contraseña del dominio, ¿podéis ayudarme?",
	     REQ, "keywords-es: request \"restablecer contraseña\" (text)"},
	    {"Wifi sala de reuniones",
	     "La wifi de la sala de reuniones falla constantemente, se desconecta cada pocos "
	     "minutos.",
	     INC, "keywords-es: incident \"falla\" (text)"},
	    {"Instalación de Visio",
	     "¿Podéis instalarme Visio en el equipo PC-0231? Lo necesito para unos diagramas.", REQ,
	     "keywords-es: request \"podéis instalar\" (text)"},
	    /* lost access is an incident, although "acceso a" asks for something */
	    {"Me he quedado sin acceso a la VPN", "Desde ayer por la tarde.", INC,
	     "keywords-es: incident \"sin acceso\" (subject)"},
	    /* a breakage in the text outranks a request phrase in the subject */
	    {"Sin acceso a las unidades de red", "Buenos días, se ha caído el servidor.", INC,
	     "keywords-es: incident \"sin acceso\" (subject)"},
	    {"Acceso a las unidades de red", "Buenos días, se ha caído el servidor.", INC,
	     "keywords-es: incident \"caído\" (text)"},
	    /* asking for access: what happens without it is why, not a fault */
	    {"Carpeta de Compras", "Necesito acceso a la carpeta; ahora me sale acceso denegado.",
	     REQ, "keywords-es: request \"solicito acceso\" (text)"},
	    /* what the sender cannot do until they get it is why they ask */
	    {"Visio", "No puedo usar Visio porque no tengo licencia, ¿podéis instalarlo?", REQ,
	     "keywords-es: request \"podéis instalar\" (text)"},
	    /* a disclaimer's "por error" is not an error */
	    {"Petición",
	     "Quería estar en la lista.\n\nSi ha recibido este mensaje por error, "
	     "bórrelo.",
	     REQ, "keywords-es: request \"petición\" (subject)"},
	    {"Teams", "Cada vez que comparto pantalla se ha colgado el ordenador.", INC,
	     "keywords-es: incident \"se ha roto\" (text)"},
	    {"Petición de monitor", "Quería pedir un segundo monitor para mi puesto.", REQ,
	     "keywords-es: request \"petición\" (subject)"},
	    /* asking for information is a request */
	    {"Hola", "Buenos días, ¿me podéis decir el horario de la oficina en agosto?", REQ,
	     "keywords-es: request \"podéis instalar\" (text)"},
	    {"Hola", "Buenos días, os escribo por lo de ayer. ¿Me llamáis?", REQ, "default"},
	    /* both weak: the subject first */
	    {"Problema con la impresora",
	     "Necesito imprimir las facturas y la impresora se atasca.", INC,
	     "keywords-es: incident \"problema\" (subject)"},
	    {"Permisos en carpeta compartida",
	     "Necesito permisos de escritura en la carpeta de compras.", REQ,
	     "keywords-es: request \"solicito acceso\" (text)"},
	    {"Permisos en carpeta compartida", "La de compras.", REQ,
	     "keywords-es: request \"acceso a\" (subject)"},
	    /* the sender's own tag beats every keyword */
	    {"[SOLICITUD] Cambio de extensión", "El teléfono no funciona desde el cambio.", REQ,
	     "subject tag: [SOLICITUD]"},
	    {"[incidencia] nóminas", "Solicito que lo miréis.", INC, "subject tag: [INCIDENCIA]"},
	    /* combining accent (NFD) typed by some Mac clients */
	    {"Servidor cai\xcc\x81"
	     "do",
	     "", INC, "keywords-es: incident \"caído\" (subject)"},
	};

	(void)state;
	check_cases(cases, G_N_ELEMENTS(cases));
}

static void test_kind_english(void **state)
{
	static const struct kind_case cases[] = {
	    {"VPN is down", "Hi, the VPN has been down since 9am.", INC,
	     "keywords-en: incident \"is down\" (subject)"},
	    /* "down" alone is weaker: "download", "sit down" */
	    {"Internet down", "Since 9am.", INC, "keywords-en: incident \"down\" (subject)"},
	    {"Outlook keeps crashing", "Every time I open a calendar invite Outlook closes.", INC,
	     "keywords-en: incident \"crash\" (subject)"},
	    {"Can't log in to Salesforce", "It says my session expired.", INC,
	     "keywords-en: incident \"can't log in\" (subject)"},
	    {"New laptop for Sam", "Sam joins the sales team on Monday; could you order one?", REQ,
	     "keywords-en: request \"new laptop\" (subject)"},
	    /* a request that mentions errors */
	    {"Access to the error logs",
	     "Could I get read access to the production error logs for billing?", REQ,
	     "keywords-en: request \"request access\" (text)"},
	    {"Access to the error logs", "For billing.", REQ,
	     "keywords-en: request \"access to\" (subject)"},
	    {"Printer on 3rd floor not working", "", INC,
	     "keywords-en: incident \"not working\" (subject)"},
	    {"Please install Adobe Acrobat", "On PC-0412, thanks.", REQ,
	     "keywords-en: request \"please install\" (subject)"},
	    {"Help", "My monitor is broken, the screen flickers and goes black.", INC,
	     "keywords-en: incident \"broken\" (text)"},
	    /* a breakage in the text outranks a request phrase in the subject: the monitor is
	     * broken, and replacing it is how the incident is resolved */
	    {"Request: new monitor", "The old one is broken, it crashed on the floor.", INC,
	     "keywords-en: incident \"broken\" (text)"},
	    /* asking for access: "permission denied" is why */
	    {"Jira", "Could you grant me access to DEVOPS? I get permission denied.", REQ,
	     "keywords-en: request \"request access\" (text)"},
	    {"Visio", "I can't use Visio without a licence. Could you install it?", REQ,
	     "keywords-en: request \"please install\" (text)"},
	    /* a disclaimer's "in error" is not an error */
	    {"Request", "Please add me to the list.\n\nIf you received this in error, delete it.",
	     REQ, "keywords-en: request \"request\" (subject)"},
	    /* both weak: incident first */
	    {"I get an error when I request a report", "", INC,
	     "keywords-es/en: incident \"error\" (subject)"},
	    {"Shared drive permission", "Could you let me edit the Finance folder?", REQ,
	     "keywords-en: request \"permission\" (subject)"},
	    {"Permission denied on Finance share", "Since this morning.", INC,
	     "keywords-en: incident \"access denied\" (subject)"},
	    {"Email outage", "Nobody can send email.", INC,
	     "keywords-en: incident \"outage\" (subject)"},
	    {"Quick question", "Could you create a distribution list for the marketing team?", REQ,
	     "keywords-en: request \"could you create\" (text)"},
	    {"Hello", "Just wanted to say thanks for yesterday.", REQ, "default"},
	    {"Password reset", "I forgot my password.", REQ,
	     "keywords-en: request \"password reset\" (subject)"},
	    {"Wi-Fi meeting room B", "The wifi keeps failing every few minutes.", INC,
	     "keywords-en: incident \"fails\" (text)"},
	    {"[INCIDENT] payroll export", "Could you please create the file again?", INC,
	     "subject tag: [INCIDENT]"},
	    {"Office downtown", "See you there.", REQ, "default"},
	    {"Onboarding Jane", "She starts on the 3rd.", REQ,
	     "keywords-en: request \"new user\" (subject)"},
	};

	(void)state;
	check_cases(cases, G_N_ELEMENTS(cases));
}

/* Quoted history must not decide: text_new is what the sender wrote now. */
static void test_kind_quoted(void **state)
{
	struct rules *rules = rules_new_builtin(desk, SPOC_KIND_INCIDENT);
	struct mail *m = mk("Re: tu consulta", "Gracias, necesito también un ratón nuevo.\n\n"
					       "El 3 mar 2026, Soporte escribió:\n"
					       "> La impresora no funciona, ¿verdad?\n");
	struct rules_verdict v;

	(void)state;
	rules_decide(rules, m, NULL, &v);
	assert_int_equal(v.kind, SPOC_KIND_REQUEST);
	assert_string_equal(v.kind_rule, "keywords-es: request \"portátil nuevo\" (text)");
	mail_free(&m);
	rules_free(&rules);
}

static void check_to(const struct rules *rules, const char *to, const char *cc,
		     const char *recipient, enum spoc_kind kind, const char *rule)
{
	struct mail *m =
	    mk_full("Ana <ana@example.com>", to, cc, "", "La impresora no funciona", "");
	struct rules_verdict v;

	rules_decide(rules, m, recipient, &v);
	if (v.kind != kind || strcmp(v.kind_rule, rule) != 0)
		fail_msg("to %s cc %s rcpt %s: got %s by [%s], expected %s by [%s]", to, cc,
			 recipient, ticket_kind_name(v.kind), v.kind_rule, ticket_kind_name(kind),
			 rule);
	mail_free(&m);
}

static void test_kind_addresses(void **state)
{
	struct rules *rules = rules_new_builtin(desk, SPOC_KIND_INCIDENT);
	const char *kw = "keywords-es: incident \"no funciona\" (subject)";

	(void)state;
	/* the address beats the keywords */
	check_to(rules, "requests@example.org", NULL, NULL, REQ, "to: requests@");
	check_to(rules, "Requests <REQUESTS@Example.ORG>", NULL, NULL, REQ, "to: requests@");
	check_to(rules, "boss@example.com", "requests@example.org", NULL, REQ, "to: requests@");
	check_to(rules, "help+request@example.org", NULL, NULL, REQ, "to: +request");
	check_to(rules, "help+solicitud@example.org", NULL, NULL, REQ, "to: +solicitud");
	/* not a desk address: a stranger's mailbox says nothing about ours */
	check_to(rules, "requests@vendor.example", "help@example.org", NULL, INC, kw);
	check_to(rules, "ana+request@vendor.example", "help@example.org", NULL, INC, kw);
	/* the envelope recipient, when the caller knows it, is the only one looked at */
	check_to(rules, "help@example.org", NULL, "requests@example.org", REQ, "to: requests@");
	check_to(rules, "requests@example.org", NULL, "help@example.org", INC, kw);
	rules_free(&rules);
}

/* Rules built through the configuration reader, as conf_load() does. */
static const char conf_path[] = "test.conf";

struct loaded {
	struct reader r;
	struct errbuf err;
	struct rules *rules;
};

static void load(struct loaded *l, const char *text)
{
	memset(l, 0, sizeof(*l));
	l->r.path = conf_path;
	l->r.err = &l->err;
	config_init(&l->r.cfg);
	if (!config_read_string(&l->r.cfg, text))
		fail_msg("syntax error line %d: %s", config_error_line(&l->r.cfg),
			 config_error_text(&l->r.cfg));
	conf_read_rules(&l->r, &l->rules);
	assert_non_null(l->rules);
}

static void unload(struct loaded *l)
{
	config_destroy(&l->r.cfg);
	rules_free(&l->rules);
}

static const char desk_conf[] = "desk: { addresses = [ \"help@example.org\", "
				"\"incidents@example.org\", \"requests@example.org\" ];\n"
				"  default_kind = \"request\"; };\n";

/* Decides a mail with the rules of conf text (after desk_conf). */
static void decide_with(const char *rules_text, struct mail *m, const char *recipient,
			struct rules_verdict *v, char **kind_rule, char **impact_rule,
			char **urgency_rule)
{
	char *text = g_strconcat(desk_conf, rules_text, NULL);
	struct loaded l;

	load(&l, text);
	if (l.r.failed)
		fail_msg("%s", l.err.msg);
	rules_decide(l.rules, m, recipient, v);
	/* the verdict borrows from the rules; copy before they go */
	*kind_rule = g_strdup(v->kind_rule);
	*impact_rule = g_strdup(v->impact_rule);
	*urgency_rule = g_strdup(v->urgency_rule);
	unload(&l);
	g_free(text);
}

static const char ordered_conf[] =
    "rules:\n"
    "{\n"
    "  kind = (\n"
    "    { name = \"incidents mailbox\"; to = \"incidents@example.org\"; kind = \"incident\"; },\n"
    "    { name = \"requests plus\"; to = \"help+request@example.org\"; kind = \"request\"; },\n"
    "    { name = \"tag\"; subject_tag = [ \"SOLICITUD\", \"PEDIDO\" ]; kind = \"request\"; },\n"
    "    { name = \"monitoring\"; sender_domain = \"monitor.example.org\"; kind = \"incident\"; "
    "},\n"
    "    { name = \"vendor quotes\"; sender_domain = \"@vendor.example\"; pattern = "
    "\"presupuesto|quote\"; in = \"subject\"; kind = \"request\"; },\n"
    "    { name = \"keywords-es: incident\"; pattern = \"no funciona|no puedo "
    "acceder|ca[ií]d[oa]\"; "
    "in = \"subject,text\"; kind = \"incident\"; }\n"
    "  );\n"
    "};\n";

static void check_conf_kind(const char *conf, const char *from, const char *to, const char *subject,
			    const char *body, enum spoc_kind kind, const char *rule,
			    gboolean triage)
{
	struct mail *m = mk_full(from, to, NULL, "", subject, body);
	struct rules_verdict v;
	char *k, *i, *u;

	decide_with(conf, m, NULL, &v, &k, &i, &u);
	if (v.kind != kind || strcmp(k, rule) != 0 || v.triage != triage)
		fail_msg("\"%s\" from %s to %s: got %s by [%s] triage %d, expected %s by [%s]",
			 subject, from, to, ticket_kind_name(v.kind), k, v.triage,
			 ticket_kind_name(kind), rule);
	mail_free(&m);
	g_free(k);
	g_free(i);
	g_free(u);
}

static void test_conf_kind_order(void **state)
{
	const char *ana = "ana@example.com";

	(void)state;
	/* configured rules come first: the mailbox beats the words */
	check_conf_kind(ordered_conf, ana, "incidents@example.org", "Solicito un portátil nuevo",
			"", INC, "incidents mailbox", FALSE);
	check_conf_kind(ordered_conf, ana, "Help <help+request@example.org>", "Servidor caído", "",
			REQ, "requests plus", FALSE);
	check_conf_kind(ordered_conf, ana, "help@example.org", "[Pedido] Servidor caído", "", REQ,
			"tag", FALSE);
	check_conf_kind(ordered_conf, "nagios@alerts.monitor.example.org", "help@example.org",
			"PROBLEM: disk /var at 95%", "", INC, "monitoring", FALSE);
	/* a look-alike domain is not a subdomain */
	check_conf_kind(ordered_conf, "x@evilmonitor.example.org", "help@example.org",
			"Presupuesto", "", REQ, "default", TRUE);
	/* every condition of a rule must hold */
	check_conf_kind(ordered_conf, "sales@vendor.example", "help@example.org", "Quote 2026-114",
			"", REQ, "vendor quotes", FALSE);
	check_conf_kind(ordered_conf, "sales@vendor.example", "help@example.org", "Hello",
			"Your quote is attached.", REQ, "default", TRUE);
	/* the built-in rules judge what the configured ones leave */
	check_conf_kind(ordered_conf, ana, "help@example.org", "Wifi", "No funciona la wifi.", INC,
			"keywords-es: incident", FALSE);
	check_conf_kind(ordered_conf, ana, "help@example.org", "Necesito un ratón", "", REQ,
			"keywords-es: request \"necesito\" (subject)", FALSE);
	/* nothing decides: the desk's default kind, flagged */
	check_conf_kind(ordered_conf, ana, "help@example.org", "Hola", "Buenos días", REQ,
			"default", TRUE);

	/* the same two rules in the other order decide the other way */
	check_conf_kind(
	    "rules: { kind = (\n"
	    "  { name = \"a\"; pattern = \"impresora\"; kind = \"request\"; },\n"
	    "  { name = \"b\"; pattern = \"no funciona\"; kind = \"incident\"; } ); };\n",
	    ana, "help@example.org", "La impresora no funciona", "", REQ, "a", FALSE);
	check_conf_kind("rules: { kind = (\n"
			"  { name = \"b\"; pattern = \"no funciona\"; kind = \"incident\"; },\n"
			"  { name = \"a\"; pattern = \"impresora\"; kind = \"request\"; } ); };\n",
			ana, "help@example.org", "La impresora no funciona", "", INC, "b", FALSE);
	/* builtin = false: only the configured rules, and default_kind of the section */
	check_conf_kind("rules: { builtin = false; default_kind = \"incident\"; kind = (\n"
			"  { name = \"a\"; pattern = \"impresora\"; in = \"text\"; kind = "
			"\"request\"; } ); };\n",
			ana, "help@example.org", "La impresora no funciona", "", INC, "default",
			TRUE);
	/* headers as conditions */
	check_conf_kind(
	    "rules: { kind = (\n"
	    "  { name = \"zabbix\"; header = \"X-Zabbix-Trigger\"; kind = \"incident\"; "
	    "} ); };\n",
	    ana, "help@example.org", "Necesito un ratón", "", REQ,
	    "keywords-es: request \"necesito\" (subject)", FALSE);
}

static void test_conf_kind_header(void **state)
{
	const char *conf = "rules: { kind = (\n"
			   "  { name = \"zabbix\"; header = \"X-Zabbix-Trigger\"; kind = "
			   "\"incident\"; },\n"
			   "  { name = \"form\"; header = \"X-Form\"; pattern = \"^alta$\"; kind = "
			   "\"request\"; } ); };\n";
	struct mail *m;
	struct rules_verdict v;
	char *k, *i, *u;

	(void)state;
	m = mk_full("z@example.com", "help@example.org", NULL, "X-Zabbix-Trigger: 1234\n",
		    "Necesito un ratón", "");
	decide_with(conf, m, NULL, &v, &k, &i, &u);
	assert_string_equal(k, "zabbix");
	mail_free(&m);
	g_free(k), g_free(i), g_free(u);
	m = mk_full("z@example.com", "help@example.org", NULL, "X-Form:  ALTA \n", "Servidor caído",
		    "");
	decide_with(conf, m, NULL, &v, &k, &i, &u);
	assert_string_equal(k, "form");
	assert_int_equal(v.kind, SPOC_KIND_REQUEST);
	mail_free(&m);
	g_free(k), g_free(i), g_free(u);
	m = mk_full("z@example.com", "help@example.org", NULL, "X-Form: altas\n", "Servidor caído",
		    "");
	decide_with(conf, m, NULL, &v, &k, &i, &u);
	assert_string_equal(k, "keywords-es: incident \"caído\" (subject)");
	mail_free(&m);
	g_free(k), g_free(i), g_free(u);
}

struct level_case {
	const char *from;
	const char *extra;
	const char *subject;
	const char *body;
	int impact, urgency, priority;
	const char *impact_rule, *urgency_rule;
};

static void check_levels(const char *conf, const struct level_case *c, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		struct mail *m = mk_full(c[j].from, "help@example.org", NULL, c[j].extra,
					 c[j].subject, c[j].body);
		struct rules_verdict v;
		char *k, *i, *u;

		decide_with(conf, m, NULL, &v, &k, &i, &u);
		if (v.impact != c[j].impact || v.urgency != c[j].urgency ||
		    v.priority != c[j].priority || strcmp(i, c[j].impact_rule) != 0 ||
		    strcmp(u, c[j].urgency_rule) != 0)
			fail_msg("case %zu \"%s\": got impact %d [%s] urgency %d [%s] P%d, "
				 "expected impact %d [%s] urgency %d [%s] P%d",
				 j + 1, c[j].subject, v.impact, i, v.urgency, u, v.priority,
				 c[j].impact, c[j].impact_rule, c[j].urgency, c[j].urgency_rule,
				 c[j].priority);
		mail_free(&m);
		g_free(k);
		g_free(i);
		g_free(u);
	}
}

static void test_levels_builtin(void **state)
{
	static const char *const ana = "Ana <ana@example.com>";
	static const char *const dflt = "default";
	static const char *const many_es = "keywords-es: impact 1 \"toda la planta\"";
	static const char *const many_en = "keywords-en: impact 1 \"the whole office\"";
	static const char *const down_es = "keywords-es: impact 1 \"se ha caído el servidor\"";
	static const char *const down_en = "keywords-en: impact 1 \"the server is down\"";
	static const char *const urgent_es = "keywords-es: urgency 1 \"urgente\"";
	static const char *const urgent_en = "keywords-en: urgency 1 \"urgent\"";
	static const char *const later_es = "keywords-es: urgency 3 \"no corre prisa\"";
	static const char *const later_en = "keywords-en: urgency 3 \"no rush\"";
	static const struct level_case cases[] = {
	    /* nothing said: medium and medium, P3 */
	    {ana, "", "Impresora", "La impresora hace un ruido raro.", 2, 2, 3, dflt, dflt},
	    {ana, "", "Toda la oficina sin internet", "", 1, 2, 2, many_es, dflt},
	    /* the issue's example: a floor is everyone on it */
	    {ana, "", "No puedo imprimir",
	     "No soy solo yo: toda la planta está parada, es urgente.", 1, 1, 1, many_es,
	     urgent_es},
	    {ana, "", "NADIE PUEDE FICHAR", "", 1, 2, 2, many_es, dflt},
	    {ana, "", "Nóminas", "Todo el departamento de RRHH está sin acceso", 1, 2, 2, many_es,
	     dflt},
	    /* a department named is where, not who is affected */
	    {ana, "", "Alta", "Se incorpora al departamento de compras.", 2, 2, 3, dflt, dflt},
	    {ana, "", "URGENTE: servidor de ficheros caído", "", 1, 1, 1, down_es, urgent_es},
	    {ana, "", "Correo", "Se ha caído el correo.", 1, 2, 2, down_es, dflt},
	    /* the sender's own mail is not a shared service */
	    {ana, "", "Correo", "Mi correo está caído.", 2, 2, 3, dflt, dflt},
	    {ana, "", "Email down", "It affects everyone in the Madrid office. Urgent!", 1, 1, 1,
	     many_en, urgent_en},
	    {ana, "", "VPN", "The VPN has been down since 9am.", 1, 2, 2, down_en, dflt},
	    {ana, "", "Teams", "The whole team cannot join meetings", 1, 2, 2, many_en, dflt},
	    {ana, "", "Printer", "Nobody can print. We're blocked.", 1, 1, 1, many_en, urgent_en},
	    /* a greeting is not an impact */
	    {ana, "", "Printer", "Hi everyone, the printer is jammed.", 2, 2, 3, dflt, dflt},
	    {ana, "", "Impresora", "Hola a todos, la impresora está atascada.", 2, 2, 3, dflt,
	     dflt},
	    /* counted: ten or more is many */
	    {ana, "", "Impresora", "Somos unas quince personas en la planta.", 1, 2, 2, many_es,
	     dflt},
	    {ana, "", "SAP", "25 users cannot log in.", 1, 2, 2, many_en, dflt},
	    {ana, "", "Altas", "Necesito 12 usuarios nuevos para el curso.", 2, 2, 3, dflt, dflt},
	    {ana, "", "Outlook", "Three colleagues have it too.", 2, 2, 3,
	     "keywords-en: impact 2 \"several users\"", dflt},
	    /* several people: medium, as the default, but said */
	    {ana, "", "Wifi", "Several users lose the wifi.", 2, 2, 3,
	     "keywords-en: impact 2 \"several users\"", dflt},
	    /* only the sender */
	    {ana, "", "VPN", "Solo me pasa a mí.", 3, 2, 4, "keywords-es: impact 3 \"solo a mí\"",
	     dflt},
	    {ana, "", "Outlook", "It's only me, my colleagues are fine. No rush.", 3, 3, 5,
	     "keywords-en: impact 3 \"only me\"", later_en},
	    /* urgency from the sender's words, both ways */
	    {ana, "", "Portátil", "No arranca y no puedo trabajar.", 2, 1, 2, dflt, urgent_es},
	    {ana, "", "Cuenta", "Tengo la cuenta bloqueada.", 2, 1, 2, dflt, urgent_es},
	    {ana, "", "Salesforce", "I cannot work, please help asap.", 2, 1, 2, dflt, urgent_en},
	    {ana, "", "Build", "This is blocking the release.", 2, 1, 2, dflt, urgent_en},
	    {ana, "", "Ratón", "Cuando podáis le echáis un vistazo.", 2, 3, 4, dflt, later_es},
	    {ana, "", "Monitor", "Whenever you have time.", 2, 3, 4, dflt, later_en},
	    {ana, "", "Aviso", "Sigue funcionando, solo es molesto.", 2, 3, 4, dflt, later_es},
	    {ana, "", "Build", "It is not blocking anyone.", 2, 3, 4, dflt, later_en},
	    /* capitals and no accents are the same words */
	    {ana, "", "SERVIDOR CAIDO", "NO PODEMOS TRABAJAR, ES URGENTISIMO", 1, 1, 1, down_es,
	     urgent_es},
	    {ana, "", "Monitor", "no corre prisa, cuando podais", 2, 3, 4, dflt, later_es},
	    /* the mail client's flags */
	    {ana, "Importance: High\n", "Printer", "", 2, 1, 2, dflt, "header: Importance: high"},
	    {ana, "X-Priority: 1 (Highest)\n", "Printer", "", 2, 1, 2, dflt,
	     "header: X-Priority: 1|2"},
	    {ana, "X-Priority: 3 (Normal)\n", "Printer", "", 2, 2, 3, dflt, dflt},
	    {ana, "Priority: urgent\n", "Printer", "", 2, 1, 2, dflt, "header: Priority: urgent"},
	    {ana, "X-MSMail-Priority: High\n", "Printer", "", 2, 1, 2, dflt,
	     "header: X-MSMail-Priority: high"},
	    {ana, "Importance: low\n", "Printer", "", 2, 3, 4, dflt, "header: Importance: low"},
	    /* what the sender wrote beats what the client flagged */
	    {ana, "Importance: low\n", "URGENT: VPN", "", 2, 1, 2, dflt, urgent_en},
	    {ana, "Importance: high\n", "Monitor", "No es urgente, cuando podáis.", 2, 3, 4, dflt,
	     later_es},
	    {ana, "", "Crítico: ERP caído para todos los usuarios", "", 1, 1, 1, many_es,
	     urgent_es},
	};

	(void)state;
	check_levels("", cases, G_N_ELEMENTS(cases));
}

static void test_levels_configured(void **state)
{
	static const char conf[] =
	    "rules: {\n"
	    "  impact = ( { name = \"vip\"; sender = [ \"ceo@example.org\", \"CFO@example.org\" ]; "
	    "impact = 1; },\n"
	    "             { name = \"branch\"; sender_domain = \"branch.example.org\"; impact = 2; "
	    "} );\n"
	    "  urgency = ( { name = \"importance header\"; header = \"Importance\"; pattern = "
	    "\"^high$\"; urgency = 1; } );\n"
	    "  default_impact = 3; default_urgency = 2;\n"
	    "};\n";
	/* a desk with four priorities */
	static const char four[] = "rules: { matrix = ( [1,1,2], [1,2,3], [2,3,4] ); };\n";
	/* a desk that wants the low defaults back */
	static const char low[] = "rules: { default_impact = 3; default_urgency = 3; };\n";
	static const char *const dflt = "default";
	static const struct level_case cases[] = {
	    {"Jefa <CEO@example.org>", "", "Impresora", "", 1, 2, 2, "vip", dflt},
	    {"cfo@example.org", "", "Printer", "Urgent please", 1, 1, 1, "vip",
	     "keywords-en: urgency 1 \"urgent\""},
	    {"x@branch.example.org", "Importance: high\n", "Printer", "", 2, 1, 2, "branch",
	     "importance header"},
	    /* configured rules first: the branch decides before the built-in "everyone" */
	    {"x@branch.example.org", "", "Printer", "Affects everyone in the office.", 2, 2, 3,
	     "branch", dflt},
	    /* a low flag lowers a default urgency of 2 */
	    {"ana@example.com", "X-Priority: 5 (Lowest)\n", "Printer", "", 3, 3, 5, dflt,
	     "header: X-Priority: 4|5"},
	    {"ana@example.com", "", "Printer", "", 3, 2, 4, dflt, dflt},
	};
	static const struct level_case four_cases[] = {
	    {"ana@example.com", "", "Printer", "", 2, 2, 2, dflt, dflt},
	    {"ana@example.com", "", "Todos los usuarios sin correo", "urgente", 1, 1, 1,
	     "keywords-es: impact 1 \"toda la planta\"", "keywords-es: urgency 1 \"urgente\""},
	    {"ana@example.com", "", "Impresora", "No corre prisa.", 2, 3, 3, dflt,
	     "keywords-es: urgency 3 \"no corre prisa\""},
	};
	static const struct level_case low_cases[] = {
	    {"ana@example.com", "", "Printer", "", 3, 3, 5, dflt, dflt},
	    {"ana@example.com", "", "Printer", "Several users.", 2, 3, 4,
	     "keywords-en: impact 2 \"several users\"", dflt},
	};

	(void)state;
	check_levels(conf, cases, G_N_ELEMENTS(cases));
	check_levels(four, four_cases, G_N_ELEMENTS(four_cases));
	check_levels(low, low_cases, G_N_ELEMENTS(low_cases));
}

static void test_api(void **state)
{
	static const int bad_matrix[3][3] = {{1, 2, 3}, {2, 3, 4}, {3, 2, 5}};
	static const int out_of_range[3][3] = {{0, 2, 3}, {2, 3, 4}, {3, 4, 5}};
	struct rules *rules = rules_new(NULL, SPOC_KIND_INCIDENT);
	const char *const to[] = {"bad address", NULL};
	const char *field = "x";
	struct errbuf err = {""};
	struct mail *m = mk("anything", "");
	struct rules_verdict v;

	(void)state;
	/* empty rules: every mail to triage, medium and medium, P3 */
	rules_decide(rules, m, NULL, &v);
	assert_true(v.triage);
	assert_int_equal(v.kind, SPOC_KIND_INCIDENT);
	assert_int_equal(v.impact, 2);
	assert_int_equal(v.urgency, 2);
	assert_int_equal(v.priority, 3);
	assert_false(rules_set_matrix(rules, bad_matrix, &err));
	assert_non_null(strstr(err.msg, "impact 3, urgency 2: priority 2 is better than 3"));
	assert_false(rules_set_matrix(rules, out_of_range, &err));
	assert_false(rules_add(rules, RULES_KIND, &(struct rules_spec){.name = "x", .to = to},
			       &field, &err));
	assert_string_equal(field, "to");
	assert_false(rules_add(rules, RULES_IMPACT,
			       &(struct rules_spec){.name = "x", .pattern = "a", .value = 0},
			       &field, &err));
	assert_string_equal(field, "impact");
	assert_false(rules_add(rules, RULES_KIND, &(struct rules_spec){.name = "x"}, &field, &err));
	assert_null(field);
	assert_non_null(strstr(err.msg, "no condition"));
	/* an empty text would make the rule match every mail */
	assert_false(rules_add(rules, RULES_KIND,
			       &(struct rules_spec){.name = "x", .pattern = "a*"}, &field, &err));
	assert_string_equal(field, "pattern");
	rules_set_default_levels(rules, 9, -1);
	rules_decide(rules, m, NULL, &v);
	assert_int_equal(v.impact, 3);
	assert_int_equal(v.urgency, 1);
	assert_int_equal(v.priority, 3);
	mail_free(&m);
	rules_free(&rules);
	rules_free(&rules);
}

/* A mailbox condition holds only for mail read from one of the named mailboxes (exactly), and
 * never when the mailbox is not known (inspect, rules_decide()). */
static void test_mailbox_condition(void **state)
{
	struct rules *rules = rules_new(NULL, SPOC_KIND_INCIDENT);
	const char *const boxes[] = {"solicitudes", "altas", NULL};
	const char *field = NULL;
	struct errbuf err = {""};
	struct mail *m = mk("La impresora no va", "No imprime.");
	struct rules_verdict v;

	(void)state;
	assert_true(rules_add(rules, RULES_KIND,
			      &(struct rules_spec){.name = "requests mailbox",
						   .mailboxes = boxes,
						   .value = SPOC_KIND_REQUEST},
			      &field, &err));
	assert_true(
	    rules_add(rules, RULES_URGENCY,
		      &(struct rules_spec){.name = "altas are urgent",
					   .mailboxes = (const char *const[]){"altas", NULL},
					   .value = 1},
		      &field, &err));
	rules_decide_in(rules, m, NULL, "solicitudes", &v);
	assert_int_equal(v.kind, SPOC_KIND_REQUEST);
	assert_string_equal(v.kind_rule, "requests mailbox");
	assert_string_equal(v.urgency_rule, "default");
	rules_decide_in(rules, m, NULL, "altas", &v);
	assert_int_equal(v.kind, SPOC_KIND_REQUEST);
	assert_int_equal(v.urgency, 1);
	assert_string_equal(v.urgency_rule, "altas are urgent");
	rules_decide_in(rules, m, NULL, "incidencias", &v);
	assert_int_equal(v.kind, SPOC_KIND_INCIDENT);
	assert_true(v.triage);
	rules_decide_in(rules, m, NULL, "Solicitudes", &v); /* names are exact */
	assert_int_equal(v.kind, SPOC_KIND_INCIDENT);
	rules_decide(rules, m, NULL, &v);
	assert_int_equal(v.kind, SPOC_KIND_INCIDENT);
	mail_free(&m);
	rules_free(&rules);
}

/* The text is cut at 64 KiB: a keyword past it does not count, and a huge body stays cheap. */
static void test_long_text(void **state)
{
	struct rules *rules = rules_new_builtin(desk, SPOC_KIND_REQUEST);
	GString *body = g_string_new(NULL);
	struct rules_verdict v;
	struct mail *m;

	(void)state;
	while (body->len < 200 * 1024)
		g_string_append(body, "bla bla bla ñandú bla bla\n");
	g_string_append(body, "la impresora no funciona\n");
	m = mk("Hola", body->str);
	rules_decide(rules, m, NULL, &v);
	assert_true(v.triage);
	mail_free(&m);
	g_string_free(body, TRUE);
	rules_free(&rules);
}

/* Each built-in pattern, compiled as GLib compiles it (UTF-8, Unicode properties, caseless),
 * has a first character or a set of first bytes PCRE2 can skip to. One that could start with a
 * Unicode property (\\d, \\w, \\p{..}) is tried at every position of every mail's text: two
 * such patterns once cost as much as all the others together. */
static void each_pattern_searchable(const char *rule, const char *pattern, void *ctx)
{
	int *checked = ctx, code;
	PCRE2_SIZE at;
	uint32_t first = 0;
	const uint8_t *bitmap = NULL;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
				       PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS | PCRE2_MULTILINE,
				       &code, &at, NULL);

	if (re == NULL)
		fail_msg("rule %s: PCRE2 cannot compile %s", rule, pattern);
	assert_int_equal(pcre2_pattern_info(re, PCRE2_INFO_FIRSTCODETYPE, &first), 0);
	assert_int_equal(pcre2_pattern_info(re, PCRE2_INFO_FIRSTBITMAP, &bitmap), 0);
	if (first == 0 && bitmap == NULL)
		fail_msg("rule %s: PCRE2 must try it at every position: %s", rule, pattern);
	pcre2_code_free(re);
	(*checked)++;
}

static void test_builtin_searchable(void **state)
{
	struct rules *rules = rules_new_builtin(desk, SPOC_KIND_REQUEST);
	struct rules_verdict v;
	struct mail *m;
	int checked = 0;

	(void)state;
	rules_each_pattern(rules, each_pattern_searchable, &checked);
	assert_true(checked > 50);
	/* numbers of people are still read, in ASCII digits */
	m = mk("Correo", "Somos 40 personas sin correo en la planta.");
	rules_decide(rules, m, NULL, &v);
	assert_int_equal(v.impact, 1);
	mail_free(&m);
	m = mk("Mail", "It affects 120 employees on the second floor.");
	rules_decide(rules, m, NULL, &v);
	assert_int_equal(v.impact, 1);
	mail_free(&m);
	rules_free(&rules);
}

struct why_case {
	const char *from;
	const char *to;
	const char *extra;
	const char *subject;
	const char *body;
	const char *kind_why, *priority_why;
};

/* The explanation a ticket keeps and `spocctl ticket show` prints: the words of the mail that
 * matched, quoted, never a built-in rule's label; a configured rule by its name. */
static void test_explanations(void **state)
{
	static const char conf[] =
	    "rules: {\n"
	    "  kind = ( { name = \"zabbix\"; header = \"X-Zabbix-Trigger\"; kind = \"incident\"; "
	    "},\n"
	    "           { name = \"ERP\"; pattern = \"\\\\bSAP\\\\b.*\\\\bno (va|carga)\"; kind = "
	    "\"incident\"; },\n"
	    "           { name = \"long\"; pattern = \"^Informe:.*\"; in = \"subject\"; kind = "
	    "\"request\"; } );\n"
	    "  impact = ( { name = \"vip\"; sender = \"ceo@example.org\"; impact = 1; },\n"
	    "             { name = \"whole office\"; pattern = \"toda la oficina\"; impact = 1; } "
	    ");\n"
	    "  urgency = ( { name = \"close\"; pattern = \"cierre (mensual|de mes)\"; urgency = 1; "
	    "} "
	    ");\n"
	    "};\n";
	static const char *const ana = "Ana <ana@example.com>", *const help = "help@example.org";
	static const struct why_case builtin[] = {
	    /* the issue's example */
	    {ana, help, "", "No puedo imprimir", "Hola: toda la planta sin impresora, es urgente.",
	     "\"No puedo imprimir\" in the subject",
	     "impact: high (\"toda la planta\"); urgency: high (\"es urgente\")"},
	    {ana, help, "", "Sin acceso a las unidades de red", "Se ha caído el servidor.",
	     "\"Sin acceso\" in the subject",
	     "impact: high (\"Se ha caído el servidor\"); urgency: medium (default)"},
	    {ana, help, "", "Acceso a las unidades", "Se ha caído el servidor.",
	     "\"Se ha caído\" in the text",
	     "impact: high (\"Se ha caído el servidor\"); urgency: medium (default)"},
	    /* nothing matched: said so */
	    {ana, help, "", "Hola", "Buenos días.", "default",
	     "impact: medium (default); urgency: medium (default)"},
	    /* the words as written: capitals, no accents, line breaks made one space */
	    {ana, help, "", "SERVIDOR CAIDO", "NADIE\n  PUEDE trabajar", "\"CAIDO\" in the subject",
	     "impact: high (\"NADIE PUEDE\"); urgency: high (\"NADIE PUEDE trabajar\")"},
	    {ana, help, "", "Printer", "It's only me. No rush.", "default",
	     "impact: low (\"only me\"); urgency: low (\"No rush\")"},
	    /* an address and a tag */
	    {ana, "incidents@example.org", "", "Hola", "", "to: incidents@",
	     "impact: medium (default); urgency: medium (default)"},
	    {ana, help, "", "[ Solicitud ] portátil", "", "\"[ Solicitud ]\" in the subject",
	     "impact: medium (default); urgency: medium (default)"},
	    /* a header's words */
	    {ana, help, "Importance: High\n", "Printer", "", "default",
	     "impact: medium (default); urgency: high (\"High\" in the Importance header)"},
	};
	static const struct why_case configured[] = {
	    {"ceo@example.org", help, "", "SAP no carga", "",
	     "ERP (\"SAP no carga\" in the subject)",
	     "impact: high (vip); urgency: medium (default)"},
	    {ana, help, "X-Zabbix-Trigger: 1\n", "Disco lleno", "Cierre de mes.", "zabbix",
	     "impact: medium (default); urgency: high (close, \"Cierre de mes\")"},
	    {ana, help, "", "Correo", "Toda la oficina sin correo.", "\"sin correo\" in the text",
	     "impact: high (whole office, \"Toda la oficina\"); urgency: medium (default)"},
	    /* long words are cut, at a word's end */
	    {ana, help, "",
	     "Informe: las ventas del trimestre por región y por comercial, con gráficos", "",
	     "long (\"Informe: las ventas del trimestre por…\" in the subject)",
	     "impact: medium (default); urgency: medium (default)"},
	};

	(void)state;
	for (int set = 0; set < 2; set++) {
		const struct why_case *c = set == 0 ? builtin : configured;
		size_t n = set == 0 ? G_N_ELEMENTS(builtin) : G_N_ELEMENTS(configured);

		for (size_t i = 0; i < n; i++) {
			struct mail *m =
			    mk_full(c[i].from, c[i].to, NULL, c[i].extra, c[i].subject, c[i].body);
			struct rules_verdict v;
			char *k, *imp, *u;

			decide_with(set == 0 ? "" : conf, m, NULL, &v, &k, &imp, &u);
			if (strcmp(v.kind_why, c[i].kind_why) != 0 ||
			    strcmp(v.priority_why, c[i].priority_why) != 0)
				fail_msg("\"%s\": got [%s] [%s], expected [%s] [%s]", c[i].subject,
					 v.kind_why, v.priority_why, c[i].kind_why,
					 c[i].priority_why);
			mail_free(&m);
			g_free(k), g_free(imp), g_free(u);
		}
	}
}

/* A stranger's words in an explanation are one line of visible text, bounded, whatever the
 * mail holds; the rule's name, however long, never overflows what the ticket keeps. */
static void test_explanations_hostile(void **state)
{
	GString *name = g_string_new(NULL), *conf = g_string_new(NULL);
	struct mail *m;
	struct rules_verdict v;
	char *k, *i, *u;

	(void)state;
	/* controls, an escape, a bidi override and a zero-width space inside the words matched */
	m = mk("Urgente", "toda\t\x1b[31m la \xe2\x80\xae\xe2\x80\x8bplanta");
	decide_with("rules: { impact = ( { name = \"x\"; pattern = \"toda.*planta\"; in = "
		    "\"text\"; impact = 1; } ); };\n",
		    m, NULL, &v, &k, &i, &u);
	assert_null(strchr(v.priority_why, '\x1b'));
	assert_null(strchr(v.priority_why, '\t'));
	assert_null(strstr(v.priority_why, "\xe2\x80\xae"));
	assert_null(strstr(v.priority_why, "\xe2\x80\x8b"));
	assert_non_null(strstr(v.priority_why, "impact: high (x, \"toda"));
	mail_free(&m);
	g_free(k), g_free(i), g_free(u);

	/* a rule name far past what a ticket keeps: cut on a character, marked */
	while (name->len < 600)
		g_string_append(name, "regla de prioridad ñ ");
	g_string_printf(conf,
			"rules: { kind = ( { name = \"%s\"; pattern = \"impresora\"; kind = "
			"\"incident\"; } ); impact = ( { name = \"%s\"; pattern = \"impresora\"; "
			"impact = 1; } ); urgency = ( { name = \"%s\"; pattern = \"impresora\"; "
			"urgency = 1; } ); };\n",
			name->str, name->str, name->str);
	m = mk("La impresora", "");
	decide_with(conf->str, m, NULL, &v, &k, &i, &u);
	assert_true(strlen(v.kind_why) < RULES_WHY_MAX);
	assert_true(strlen(v.priority_why) < RULES_WHY_MAX);
	assert_true(g_utf8_validate(v.kind_why, -1, NULL));
	assert_true(g_utf8_validate(v.priority_why, -1, NULL));
	assert_true(g_str_has_suffix(v.kind_why, "…"));
	/* both halves are there, each cut */
	assert_true(g_str_has_prefix(v.priority_why, "impact: high (regla"));
	assert_non_null(strstr(v.priority_why, "…; urgency: high (regla"));
	assert_true(g_str_has_suffix(v.priority_why, "…"));
	mail_free(&m);
	g_free(k), g_free(i), g_free(u);
	g_string_free(name, TRUE);
	g_string_free(conf, TRUE);
}

/* Loads conf text and expects the reader's error to be exactly want. */
static void check_error(const char *text, const char *want)
{
	char *full = g_strconcat(desk_conf, text, NULL);
	struct loaded l;

	load(&l, full);
	if (!l.r.failed)
		fail_msg("no error for:\n%s", text);
	if (!g_str_has_prefix(l.err.msg, want))
		fail_msg("got   \"%s\"\nwanted \"%s...\"", l.err.msg, want);
	unload(&l);
	g_free(full);
}

static void test_conf_errors(void **state)
{
	(void)state;
	/* desk_conf takes lines 1 and 2: the rules start at line 3 */
	check_error("rules:\n"
		    "{\n"
		    "  kind = (\n"
		    "    { name = \"a\"; to = \"incidents@example.org\"; kind = \"incident\"; },\n"
		    "    { name = \"b\"; subject_tag = \"SOLICITUD\"; kind = \"request\"; },\n"
		    "    { name = \"c\"; sender_domain = \"monitor.example.org\"; kind = "
		    "\"incident\"; },\n"
		    "    { name = \"d\";\n"
		    "      pattern = \"no funciona(\"; kind = \"incident\"; }\n"
		    "  );\n"
		    "};\n",
		    "test.conf:10: rules.kind.[3].pattern: invalid regular expression: ");
	check_error("rules: { kind = (\n"
		    "  { name = \"a\"; patern = \"x\"; kind = \"incident\"; } ); };\n",
		    "test.conf:4: rules.kind.[0].patern: unknown setting: rules.kind.[0] may hold "
		    "name, to, subject_tag");
	check_error("rules: { kind = (\n"
		    "  { pattern = \"x\"; kind = \"incident\"; } ); };\n",
		    "test.conf:4: rules.kind.[0]: has no name");
	check_error("rules: { kind = (\n"
		    "  { name = \"a\"; pattern = \"x\"; } ); };\n",
		    "test.conf:4: rules.kind.[0]: says nothing to decide: give kind =");
	check_error("rules: { kind = (\n"
		    "  { name = \"a\"; kind = \"incident\"; } ); };\n",
		    "test.conf:4: rules.kind.[0]: rule \"a\" has no condition");
	check_error("rules: { kind = (\n"
		    "  { name = \"a\"; pattern = \"x\"; kind = \"incidnet\"; } ); };\n",
		    "test.conf:4: rules.kind.[0].kind: \"incidnet\" is not allowed");
	check_error("rules: { kind = (\n"
		    "  { name = \"a\"; to = \"incidents at example.org\"; kind = \"incident\"; } "
		    "); };\n",
		    "test.conf:4: rules.kind.[0].to: \"incidents at example.org\" is not a desk "
		    "address");
	check_error("rules: { kind = (\n"
		    "  { name = \"a\"; pattern = \"x\"; in = \"body\"; kind = \"incident\"; } ); "
		    "};\n",
		    "test.conf:4: rules.kind.[0].in: \"body\" is not a place to look");
	check_error("rules: { kind = (\n"
		    "  { name = \"a\"; header = \"Importance\"; pattern = \"high\"; in = "
		    "\"subject\"; kind = \"incident\"; } ); };\n",
		    "test.conf:4: rules.kind.[0].in: only goes with a pattern over the subject");
	check_error("rules: { kind = (\n"
		    "  { name = \"a\"; pattern = \".*\"; kind = \"incident\"; } ); };\n",
		    "test.conf:4: rules.kind.[0].pattern: \".*\" matches an empty text");
	check_error("rules: { kind = (\n"
		    "  { name = \"a\"; sender = [ \"ceo\" ]; kind = \"incident\"; } ); };\n",
		    "test.conf:4: rules.kind.[0].sender: \"ceo\" is not an address");
	check_error("rules: { kind = (\n"
		    "  { name = \"a\"; sender = [ ]; kind = \"incident\"; } ); };\n",
		    "test.conf:4: rules.kind.[0].sender: must not be an empty list");
	check_error("rules: { impact = (\n"
		    "  { name = \"a\"; pattern = \"x\"; impact = 7; } ); };\n",
		    "test.conf:4: rules.impact.[0].impact: must be 1..3, not 7");
	check_error("rules: { urgency = (\n"
		    "  { name = \"a\"; header = \"Import ance\"; urgency = 1; } ); };\n",
		    "test.conf:4: rules.urgency.[0].header: \"Import ance\" is not a header name");
	check_error("rules: { kind = { name = \"a\"; }; };\n",
		    "test.conf:3: rules.kind: must be a list of rules in parentheses");
	check_error("rules: { kinds = ( ); };\n", "test.conf:3: rules.kinds: unknown setting");
	check_error("rules: { builtin = \"no\"; };\n",
		    "test.conf:3: rules.builtin: must be true or false");
	check_error("rules: { default_urgency = 0; };\n",
		    "test.conf:3: rules.default_urgency: must be 1..3, not 0");
	check_error("rules: {\n  matrix = ( [1,2,3], [2,3,4] );\n};\n",
		    "test.conf:4: rules.matrix: must be 3 rows");
	check_error("rules: {\n  matrix = ( [1,2,3],\n [2,3,4],\n [3,4,6] );\n};\n",
		    "test.conf:6: rules.matrix.[2].[2]: must be 1..5, not 6");
	check_error("rules: {\n  matrix = ( [1,2,3], [2,3], [3,4,5] );\n};\n",
		    "test.conf:4: rules.matrix.[1]: must be an array of 3 priorities");
	check_error("rules: {\n  matrix = ( [1,2,3], [2,1,4], [3,4,5] );\n};\n",
		    "test.conf:4: rules.matrix: impact 2, urgency 2: priority 1 is better than 2");
	check_error("rules: { default_kind = \"problem\"; };\n",
		    "test.conf:3: rules.default_kind: \"problem\" is not allowed");
	check_error("rules = 3;\n", "test.conf:3: rules: must be a group");
}

static void note_team(const char *rule, const char *team, void *ctx)
{
	g_string_append_printf(ctx, "%s=%s;", rule, team);
}

/* A rule sends the tickets it decides to a team; the kind's rule names it first, then the
 * impact's and the urgency's; a rule that does not decide names nothing. */
static void test_conf_team(void **state)
{
	static const char *const conf =
	    "rules: {\n"
	    "  kind = (\n"
	    "    { name = \"ERP\"; pattern = \"\\\\bSAP\\\\b\"; kind = \"incident\"; team = "
	    "\"erp\"; },\n"
	    "    { name = \"printers\"; pattern = \"impresora\"; kind = \"incident\"; },\n"
	    "    { name = \"access\"; pattern = \"acceso\"; kind = \"request\"; team = "
	    "\"identidad\"; }\n"
	    "  );\n"
	    "  urgency = (\n"
	    "    { name = \"vip\"; sender = \"ceo@example.com\"; urgency = 1; team = \"vip\"; }\n"
	    "  );\n"
	    "};\n";
	struct loaded l;
	struct rules_verdict v;
	struct mail *m;
	GString *teams = g_string_new(NULL);

	(void)state;
	load(&l, conf);
	assert_false(l.r.failed);
	rules_each_team(l.rules, note_team, teams);
	assert_string_equal(teams->str, "ERP=erp;access=identidad;vip=vip;");
	g_string_free(teams, TRUE);

	m = mk("SAP no carga", "Desde las 9.");
	rules_decide(l.rules, m, NULL, &v);
	assert_string_equal(v.kind_rule, "ERP");
	assert_string_equal(v.team, "erp");
	assert_string_equal(v.team_rule, "ERP");
	mail_free(&m);
	/* the kind's rule names no team: nobody's */
	m = mk("La impresora no imprime", "");
	rules_decide(l.rules, m, NULL, &v);
	assert_string_equal(v.kind_rule, "printers");
	assert_null(v.team);
	assert_null(v.team_rule);
	mail_free(&m);
	/* the kind's team before the urgency's */
	m = mk_full("ceo@example.com", "help@example.org", NULL, "", "SAP no carga", "");
	rules_decide(l.rules, m, NULL, &v);
	assert_string_equal(v.team, "erp");
	mail_free(&m);
	/* the urgency's when the kind's rule names none */
	m = mk_full("ceo@example.com", "help@example.org", NULL, "", "La impresora", "");
	rules_decide(l.rules, m, NULL, &v);
	assert_string_equal(v.team, "vip");
	assert_string_equal(v.team_rule, "vip");
	mail_free(&m);
	/* a rule that matches later in the list does not decide, so names no team */
	m = mk("Impresora sin acceso a la red", "");
	rules_decide(l.rules, m, NULL, &v);
	assert_string_equal(v.kind_rule, "printers");
	assert_null(v.team);
	mail_free(&m);
	unload(&l);

	check_error(
	    "rules: { kind = (\n"
	    "  { name = \"a\"; pattern = \"x\"; kind = \"incident\"; team = \"\"; } ); };\n",
	    "test.conf:4: rules.kind.[0].team: \"\" is not a team name: give the team as "
	    "its agents have it (spocctl agent add ADDRESS --team TEAM)");
	check_error(
	    "rules: { kind = (\n"
	    "  { name = \"a\"; pattern = \"x\"; kind = \"incident\"; team = \"erp\\n\"; } ); "
	    "};\n",
	    "test.conf:4: rules.kind.[0].team: \"erp\n\" is not a team name");
	check_error("rules: { kind = (\n"
		    "  { name = \"a\"; pattern = \"x\"; kind = \"incident\"; team = \" erp\"; } ); "
		    "};\n",
		    "test.conf:4: rules.kind.[0].team: \" erp\" is not a team name");
	check_error("rules: { kind = (\n"
		    "  { name = \"a\"; pattern = \"x\"; kind = \"incident\"; team = 3; } ); };\n",
		    "test.conf:4: rules.kind.[0].team: ");
	check_error("rules: { kind = (\n"
		    "  { name = \"a\"; pattern = \"x\"; team = \"erp\"; } ); };\n",
		    "test.conf:4: rules.kind.[0]: says nothing to decide: give kind =");
	{
		char *longest = g_strnfill(RULES_TEAM_MAX + 1, 'e');
		char *text = g_strdup_printf("rules: { kind = (\n"
					     "  { name = \"a\"; pattern = \"x\"; kind = "
					     "\"incident\"; team = \"%s\"; } ); };\n",
					     longest);

		char *want = g_strdup_printf(
		    "test.conf:4: rules.kind.[0].team: \"%s\" is not a team name", longest);

		check_error(text, want);
		g_free(want);
		g_free(text);
		g_free(longest);
	}
}

static void test_conf_absent(void **state)
{
	struct loaded l;
	struct mail *m = mk("Hola", "Buenos días");
	struct rules_verdict v;

	(void)state;
	/* no rules section: the built-in set and desk.default_kind */
	load(&l, desk_conf);
	assert_false(l.r.failed);
	rules_decide(l.rules, m, NULL, &v);
	assert_int_equal(v.kind, SPOC_KIND_REQUEST);
	assert_true(v.triage);
	unload(&l);
	mail_free(&m);
	m = mk_full("a@example.com", "incidents@example.org", NULL, "", "Hola", "");
	load(&l, desk_conf);
	rules_decide(l.rules, m, NULL, &v);
	assert_string_equal(v.kind_rule, "to: incidents@");
	unload(&l);
	mail_free(&m);
	/* no desk section at all (its own reader complains): incident, no desk addresses */
	load(&l, "");
	assert_false(l.r.failed);
	m = mk("Hola", "");
	rules_decide(l.rules, m, NULL, &v);
	assert_int_equal(v.kind, SPOC_KIND_INCIDENT);
	unload(&l);
	mail_free(&m);
}

/* The shipped example (and spocd.conf, once it is merged there) must load and mean what its
 * comments say. */
static void test_example(void **state)
{
	static const char *const files[] = {"conf/rules-example.conf", "conf/spocd.conf"};
	int loaded = 0;

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
		char *path = testlib_source_path(files[i]);
		struct errbuf err = {""};
		struct reader r = {.path = path, .err = &err};
		struct sla_conf *sla = NULL;
		struct rules *rules = NULL;

		if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
			g_free(path);
			continue;
		}
		config_init(&r.cfg);
		if (!config_read_file(&r.cfg, path))
			fail_msg("%s:%d: %s", path, config_error_line(&r.cfg),
				 config_error_text(&r.cfg));
		conf_read_rules(&r, &rules);
		conf_read_sla(&r, &sla);
		if (r.failed)
			fail_msg("%s", err.msg);
		if (config_lookup(&r.cfg, "rules.kind") != NULL) {
			struct mail *m = mk_full("a@example.com", "help+request@example.org", NULL,
						 "", "La impresora no funciona", "");
			struct rules_verdict v;

			rules_decide(rules, m, NULL, &v);
			assert_string_equal(v.kind_rule, "requests mailbox");
			mail_free(&m);
			m = mk_full("ceo@example.org", "help@example.org", NULL, "", "SAP no carga",
				    "");
			rules_decide(rules, m, NULL, &v);
			assert_string_equal(v.kind_rule, "keywords-es: ERP");
			assert_string_equal(v.impact_rule, "vip");
			/* impact 1 by the rule, urgency 2 by default */
			assert_int_equal(v.priority, 2);
			mail_free(&m);
		}
		config_destroy(&r.cfg);
		rules_free(&rules);
		sla_conf_free(&sla);
		g_free(path);
		loaded++;
	}
	assert_true(loaded > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kind_spanish),
	    cmocka_unit_test(test_kind_english),
	    cmocka_unit_test(test_kind_quoted),
	    cmocka_unit_test(test_kind_addresses),
	    cmocka_unit_test(test_conf_kind_order),
	    cmocka_unit_test(test_conf_kind_header),
	    cmocka_unit_test(test_levels_builtin),
	    cmocka_unit_test(test_levels_configured),
	    cmocka_unit_test(test_explanations),
	    cmocka_unit_test(test_explanations_hostile),
	    cmocka_unit_test(test_api),
	    cmocka_unit_test(test_mailbox_condition),
	    cmocka_unit_test(test_long_text),
	    cmocka_unit_test(test_builtin_searchable),
	    cmocka_unit_test(test_conf_errors),
	    cmocka_unit_test(test_conf_team),
	    cmocka_unit_test(test_conf_absent),
	    cmocka_unit_test(test_example),
	};
	int rc;

	mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	mime_shutdown();
	return rc;
}
