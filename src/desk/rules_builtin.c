/* The desk's built-in rules, Spanish and English: what judges a mail when the configuration
 * gives no rules of its own (rules_add_builtin()). Data and the few lines that add it; the
 * matching is rules.c's. */
#include "rules.h"

#include "rules_priv.h"

/*
 * The built-in set.
 *
 * Kind, in this order:
 *  1. the desk address: incidents@/incidencias@ and +incident/+incidencia are incidents,
 *     requests@/solicitudes@ and +request/+solicitud are requests (only addresses of the desk
 *     count, so this needs no configuration and cannot fire on a stranger's address);
 *  2. a tag the sender put in the subject: [INCIDENT] [INCIDENCIA] [REQUEST] [SOLICITUD]...;
 *  3. keywords, judged on the whole mail, the strongest evidence first:
 *     a. an explicit ask for access ("solicito acceso", "could you grant me access"): what the
 *        sender gets without it ("acceso denegado", "permission denied") is why they ask, not
 *        a fault;
 *     b. strong breakage phrases ("no funciona", "se ha caído", "no abre", "is down");
 *     c. strong request phrases ("alta de usuario", "acceso a", "could you create");
 *     d. weak breakage words ("error", "falla", "lento", "problem", "slow");
 *     e. weak request words ("necesito", "quería", "request", "I'd like");
 *     each in the subject, then in the text.
 * A strong phrase is one that rarely means anything else; a weak word often appears on the
 * other side too: "error" ("access to the error logs" is a request), "necesito" ("necesito
 * ayuda, no arranca" is an incident). So "Request for access to the error logs" is a request
 * (strong "access to" beats weak "error") and "Necesito ayuda: el portátil no arranca" an
 * incident (strong "no arranca" beats weak "necesito"). Breakage comes before asking at each
 * strength wherever it is written: the subject is the sender's summary, but "Sin acceso a las
 * unidades de red" over "se ha caído el servidor" reports a fault, and a broken thing is the
 * costlier miss. Within one kind the subject comes first, so the verdict quotes the summary.
 */
struct keyword {
	const char *lang; /* for the rule's name */
	int value;
	const char *label; /* for the rule's name */
	const char *re;
};

#define INC SPOC_KIND_INCIDENT
#define REQ SPOC_KIND_REQUEST

/* Accesses people ask for by name; "read", "write" and "admin" are its usual sorts. */
#define ACCESS_SORT "(read |write |read/write |read-write |edit |admin |full )?"

static const struct keyword kind_ask[] = {
    {"es", REQ, "solicito acceso",
     "\\b(solicit(o|amos|ar[ií]a|ar[ií]amos)|necesit(o|a|amos|an|ar[ií]a|ar[ií]amos)|pido|"
     "pedimos|quer[ií]a|quisiera|me gustar[ií]a)( tener)? (el |un |los )?(acceso|permisos?)\\b|"
     "\\bsolicitud(es)? de (acceso|permisos?)\\b|"
     "\\b(dar|dad|conceder|conceded|habilitar)(me|le|nos|les)? (el )?(acceso|permisos?)\\b"},
    {"en", REQ, "request access",
     "\\b(request(ing)?|need|needs|require|requires|would like|i[’']d like|want)"
     "( to have| to get)? " ACCESS_SORT "access\\b|"
     "\\baccess requests?\\b|"
     "\\b(grant|give|provide)( me| him| her| them| us| \\w+)? " ACCESS_SORT "access\\b|"
     "\\b(could|can|may) (i|we) (please )?(get|have) " ACCESS_SORT "access\\b"},
};

static const struct keyword kind_broken[] = {
    {"es", INC, "no funciona",
     "\\bno (le |me |nos |les )?funciona(n)?\\b|\\b(ha|han) dejado de funcionar|"
     "\\bdej[oó] de funcionar"},
    {"es", INC, "no puedo acceder",
     "\\bno (puedo|podemos|puede|pueden|consigo|conseguimos|consigue|consiguen|me deja|nos "
     "deja|le deja|se puede|se pueden) "
     "(acceder|entrar|conectar(me|nos|se)?|iniciar sesi[oó]n|loguear(me|se)?|imprimir|abrir|"
     "enviar|recibir|guardar|escanear|fichar|llamar)"},
    {"es", INC, "no arranca",
     "\\bno (me |le |nos |les |se )?(arranca|enciende|carga|responde|abre|imprime|conecta|lee|"
     "reconoce|detecta|sincroniza|guarda|env[ií]a|recibe)n?\\b|"
     "\\bno (me |le |nos |les )?va(n)?\\b(?! a\\b)|\\bno da (tono|se[ñn]al|imagen|l[ií]nea)\\b"},
    {"es", INC, "se ha roto",
     "\\bse (ha|han) (roto|estropeado|averiado|colgado|bloqueado|atascado)|"
     "\\best(á|a|án|an) (rot[oa]s?|estropead[oa]s?|averiad[oa]s?|colgad[oa]s?|atascad[oa]s?)"
     "\\b|\\baveriad[oa]s?\\b|\\batascad[oa]s?\\b"},
    {"es", INC, "caído", "\\bca[ií]d[oa]s?\\b|\\bse (ha|han) ca[ií]do\\b"},
    {"es", INC, "sin acceso",
     "\\b(acceso|permiso) denegado\\b|\\b(ya no tengo|he perdido el) acceso\\b|"
     "\\bsin (acceso|conexi[oó]n|internet|red|correo|wifi|l[ií]nea|servicio|cobertura|se[ñn]al|"
     "tono|luz)\\b"},
    {"es", INC, "pantalla azul",
     "\\bpantall(a|azo) azul\\b|\\bpantallazo\\b|\\bpantalla (en )?negr[oa]\\b"},
    {"en", INC, "not working",
     "\\b(not|isn[’']?t|aren[’']?t|stopped|no longer) working\\b|"
     "\\b(doesn[’']?t|does not|don[’']?t|do not|won[’']?t) work\\b"},
    {"en", INC, "can't log in",
     "\\b(cannot|can ?not|can[’']?t|unable to|could ?not|couldn[’']?t) "
     "(log ?in|log on|logon|sign ?in|access|connect|open|print|reach|send|receive|save|load|"
     "start|join|scan)\\b"},
    {"en", INC, "is down",
     "\\b(is|are|went|goes|has been|have been|was|were)( currently| completely| still)? down\\b"},
    {"en", INC, "broken", "\\bbroken\\b|\\bjam(med|s)\\b|\\bpaper jam\\b"},
    {"en", INC, "crash",
     "\\bcrash(es|ed|ing)?\\b|\\b(keeps )?freez(es|ing)\\b|\\bblue screen\\b|\\bbsod\\b"},
    {"en", INC, "outage", "\\boutages?\\b"},
    {"en", INC, "access denied",
     "\\b(permission|access) denied\\b|\\b(lost|no longer have) access\\b|"
     "\\blocked out\\b|\\b(account|user|login) (is |got |has been |was )?locked\\b"},
    {"en", INC, "not responding",
     "\\b(not|stopped) responding\\b|\\bunresponsive\\b|"
     "\\b(is|are) not (showing|displaying|loading|printing|opening|starting|syncing|"
     "connecting|updating|booting)\\b|"
     "\\b(isn[’']?t|aren[’']?t) (showing|displaying|loading|printing|opening|starting|syncing|"
     "connecting|updating|booting)\\b|"
     "\\b(won[’']?t|doesn[’']?t|does not|will not) (start|open|turn on|boot|load|print|connect|"
     "sync)\\b|\\bno (signal|dial tone|internet|network|connection|connectivity)\\b"},
};

static const struct keyword kind_asks_for[] = {
    {"es", REQ, "alta de usuario",
     "\\b(alta|baja) de (usuario|cuenta|correo|buz[oó]n)|\\bdar(le|me|nos|les)? de (alta|baja)\\b"},
    {"es", REQ, "solicito", "\\bsolicit(o|amos|ar[ií]a|ar[ií]amos)\\b"},
    {"es", REQ, "solicitud", "\\bsolicitud(es)?\\b"},
    {"es", REQ, "acceso a", "\\bacceso (a|al)\\b|\\bpermisos? (de|para|en|sobre)\\b"},
    {"es", REQ, "portátil nuevo",
     "\\bnuev[oa]s? (port[aá]til|ordenador|pc|monitor|pantalla|m[oó]vil|tel[eé]fono|teclado|"
     "rat[oó]n|auriculares|impresora|cuenta|usuario|licencia)|"
     "\\b(port[aá]til|ordenador|monitor|pantalla|m[oó]vil|tel[eé]fono|teclado|rat[oó]n|"
     "impresora)(es)? nuev[oa]s?\\b"},
    {"es", REQ, "restablecer contraseña",
     "\\b(restablecer|resetear|cambiar|cambio de|reseteo de|olvid[eé]) (la |mi )?contrase[ñn]a"},
    {"es", REQ, "podéis instalar",
     "\\b(pod[eé]is|podr[ií]ais|puedes|podr[ií]as|pueden|podr[ií]an) (por favor )?"
     "(instalar|crear|a[ñn]adir|dar|habilitar|configurar|dar de alta|ampliar|mover|trasladar|"
     "cambiar|decir|indicar|informar|enviar|mandar|preparar|activar|quitar|eliminar|borrar|"
     "desbloquear|pedir|comprar)"},
    {"en", REQ, "new laptop",
     "\\bnew (laptop|computer|pc|monitor|screen|phone|mobile|keyboard|mouse|headset|printer)s?"
     "\\b"},
    {"en", REQ, "new user",
     "\\bnew (user|starter|hire|joiner|employee|account|mailbox)s?\\b|\\bonboarding\\b"},
    {"en", REQ, "please install", "\\b(please|kindly|could you|can you|would you) install\\b"},
    {"en", REQ, "could you create",
     "\\b(could|can|would) you (please |also )?(create|add|give|set up|grant|provide|enable|"
     "order|increase|extend|change|move|share|send|unlock|reset|remove|delete|update|upgrade|"
     "install|tell|let me know)\\b"},
    {"en", REQ, "access to", "\\baccess (to|for)\\b"},
    {"en", REQ, "permission", "\\bpermissions?\\b"},
    {"en", REQ, "password reset", "\\bpassword reset\\b|\\breset (my |the |a )?password\\b"},
};

/* "por error", "in error": a disclaimer's "if you received this in error" reports nothing. */
static const struct keyword kind_weak_broken[] = {
    {"es/en", INC, "error", "(?<!\\bpor )(?<!\\bin )(?<!\\bby )\\berror(es|s)?\\b"},
    {"es", INC, "falla", "\\bfall(a|an|o|os|ó|aron|ando|ado)\\b"},
    {"es", INC, "problema",
     "(?<!\\bsin )(?<!\\bning[uú]n )(?<!\\bno hay )\\bproblemas?\\b|\\bincidencias?\\b|"
     "\\baver[ií]as?\\b"},
    {"es", INC, "lento", "\\blent(o|a|os|as|[ií]sim[oa]s?)\\b|\\blentitud\\b"},
    {"en", INC, "down", "\\bdown\\b"},
    {"en", INC, "fails", "\\bfail(s|ed|ing|ure|ures)?\\b"},
    {"en", INC, "problem", "(?<!\\bno )\\b(problem|issue|incident)s?\\b"},
    {"en", INC, "slow", "\\bslow(ly|ness)?\\b|\\bsluggish\\b|\\bflicker(s|ing)?\\b"},
};

static const struct keyword kind_weak_asks[] = {
    {"es", REQ, "necesito", "\\bnecesit(o|a|amos|an|ar[ií]a|ar[ií]amos)\\b"},
    {"es", REQ, "petición", "\\bpetici[oó]n(es)?\\b"},
    {"es", REQ, "instalar", "\\binstala(r|rme|rnos|rle|ci[oó]n)\\b"},
    {"es", REQ, "quería", "\\b(quer[ií]a|querr[ií]a|quisiera|me gustar[ií]a)\\b"},
    {"en", REQ, "request", "\\brequest(s|ed|ing)?\\b"},
    {"en", REQ, "need", "\\b(i|we|he|she|they) (would )?needs?\\b|\\bneeds? (a|an|to)\\b"},
    {"en", REQ, "could I get",
     "\\b(could|can|may) (i|we) (please )?(get|have)\\b|\\bi would like\\b|\\bi[’']d like\\b"},
};

/* A word, and who "nadie del ..." or "nobody in ..." names: "departamento de compras", "the
 * London office", so that the explanation quotes the group, not a preposition. */
#define WORD	 "[^\\s.,;:!?()\"]+"
#define GROUP_ES "(la |el |los |las )?" WORD "( de " WORD ")?"
#define GROUP_EN                                                                                   \
	"(the |our )?" WORD "( (office|floor|team|department|building|site|branch|room|store))?"

/*
 * Impact: how many people it stops, most first; when nothing says, the default (medium). A
 * greeting ("Hi everyone", "Hola a todos") is not an impact, so the phrases say who is
 * affected; where a place or a group is named it is a whole one ("toda la planta", "the whole
 * floor"), not where it is ("la tercera planta", "the marketing team"). A shared service down
 * ("se ha caído el servidor", "the VPN is down") stops everyone who uses it, unless it is the
 * sender's own ("mi correo", "my email").
 */
/* Numbers are written [0-9], not \\d: GLib matches with Unicode properties, where \\d is the
 * digits of every script, and a pattern that can start with a property cannot be searched for by
 * its possible first bytes, so PCRE2 tries it at every position of the text. With \\d these two
 * patterns cost as much as all the other built-in ones together. Digits of other scripts
 * ("２０ personas") no longer count as many people. */
static const struct keyword impact_keywords[] = {
    {"es", 1, "toda la planta",
     "\\btoda la (planta|oficina|empresa|compa[ñn][ií]a|organizaci[oó]n|sede|plantilla|"
     "secci[oó]n|delegaci[oó]n|sucursal|tienda|f[aá]brica|nave|escuela|red)\\b|"
     "\\btodo el (departamento|equipo|edificio|personal|almac[eé]n|centro|colegio|hospital|"
     "grupo|servicio)\\b|"
     "\\b(la planta|la oficina|el departamento|el edificio|la sede|la empresa|el equipo) "
     "enter[oa]\\b|"
     "\\btod[oa]s (los|las) (usuari[oa]s|emplead[oa]s|trabajador(es|as)|compa[ñn]er[oa]s|"
     "ordenadores|equipos|puestos|port[aá]tiles|pcs|tel[eé]fonos|impresoras)\\b|"
     "\\btod[oa]s (los|las) (de la|del|de los|de las)\\b|"
     "\\btod[oa]s (estamos|est[aá]n|tenemos|tienen)\\b|"
     "\\b(estamos|est[aá]n|nos hemos quedado|se han quedado) tod[oa]s\\b|"
     "\\bafecta(n)? a tod[oa]s?\\b|"
     "(?<!\\bhola a )(?<!\\bd[ií]as a )(?<!\\btardes a )\\btodo el mundo\\b|"
     "\\bnadie (puede|pueden|podemos|consigue|tiene|ha podido|es capaz)\\b|"
     "\\bnadie (en|de|del) " GROUP_ES "|"
     "\\bning[uú]n (usuario|compa[ñn]ero|empleado|ordenador|equipo|puesto|port[aá]til)\\b|"
     "\\bmuch[oa]s (usuari[oa]s|compa[ñn]er[oa]s|emplead[oa]s|personas|puestos|ordenadores)\\b|"
     "\\b([0-9]{2,}|diez|once|doce|trece|catorce|quince|veinte|treinta|cuarenta|cincuenta|cien|"
     "cientos de) (personas|usuari[oa]s|compa[ñn]er[oa]s|emplead[oa]s|puestos)\\b(?! nuev)"},
    {"en", 1, "the whole office",
     "\\ball (the |our )?(users|staff|employees|colleagues|computers|pcs|laptops|machines|"
     "printers|phones|workstations|sites|offices|branches)\\b|\\ball of us\\b|"
     "\\b(whole|entire)( \\w+)? (office|company|organi[sz]ation|building|site|floor|department|"
     "team|branch|store|warehouse|staff|school|plant)\\b|"
     "\\b(everyone|everybody) (is|can|has|here|was)\\b|"
     "\\b(everyone|everybody) (in|at|on) " GROUP_EN "|"
     "\\baffect(s|ing|ed)? (everyone|everybody|all|the whole|the entire|many)\\b|"
     "\\b(nobody|no one|no-one|none of us|none of the \\w+) (can|could|is able|was able|has)\\b|"
     "\\b(nobody|no one|no-one|none of us) (in|on|at|from) " GROUP_EN "|"
     "\\bmany (users|people|colleagues|of us|staff)\\b|"
     "\\b([0-9]{2,}|ten|twelve|fifteen|twenty|thirty|forty|fifty|a hundred|hundreds of) "
     "(people|users|colleagues|staff|employees|workstations)\\b|"
     "\\b(company|office|site|organi[sz]ation|building)[- ]wide\\b|"
     "\\bacross the (company|office|organi[sz]ation|building|floor|site|board)\\b"},
    {"es", 1, "se ha caído el servidor",
     "(?<!\\bmi )(?<!\\btu )\\b(servidor(es)?|red|wifi|internet|vpn|correo|sistema|erp|sap|"
     "intranet|centralita)\\b[^.!?\\n]{0,30}\\b(est[aá]n? ca[ií]d[oa]s?|se (ha|han) ca[ií]do|"
     "ca[ií]d[oa]s?)\\b|"
     "\\bse (ha|han) ca[ií]do (el|la|los|las) (servidor(es)?|red|wifi|internet|vpn|correo|"
     "sistema|erp|sap|intranet|centralita)\\b|"
     "\\bca[ií]da (general|del servicio|de (la )?red|del servidor|del sistema)\\b"},
    {"en", 1, "the server is down",
     "(?<!\\bmy )\\b(servers?|network|internet|wi-?fi|vpn|e-?mail|intranet|erp|system|website|"
     "phone system)\\b (is|are|has been|have been|went|was|were)( currently| completely| "
     "still)? down\\b|"
     "\\boutages?\\b|\\b(server|network|system|service) (failure|crash)\\b"},
    {"es", 2, "varios usuarios",
     "\\b(vari[oa]s|algun[oa]s|[2-9]|dos|tres|cuatro|cinco|seis|siete|ocho|nueve) "
     "(usuari[oa]s|compa[ñn]er[oa]s|personas|puestos|ordenadores|equipos|emplead[oa]s)\\b"
     "(?! nuev)"},
    {"en", 2, "several users",
     "\\b(several|multiple|some|a few|a couple of|other|[2-9]|two|three|four|five|six|seven|"
     "eight|nine) (users|people|colleagues|of us|staff|employees)\\b"},
    {"es", 3, "solo a mí",
     "(?<!\\bno soy )\\bs[oó]lo (a m[ií]|me (pasa|ocurre)( a m[ií])?|yo\\b|en mi (equipo|ordenador|"
     "port[aá]til|pc|puesto|m[oó]vil|tel[eé]fono|cuenta))|"
     "\\b(mis|los dem[aá]s|el resto de) compa[ñn]er[oa]s (s[ií]|no tienen (el )?problema|"
     "est[aá]n bien)\\b"},
    {"en", 3, "only me",
     "\\b(only|just) (me|myself)\\b|\\b(only|just) (happens|happening|affects) (to )?me\\b|"
     "\\bhappens only to me\\b|"
     "\\b(my colleagues|everyone else|everybody else|the others|other people)( \\w+)? (are|is) "
     "(fine|ok|okay|unaffected|not affected)\\b"},
};

/* Urgency: how soon it hurts. What the sender wrote comes before what the mail client flagged
 * (a default "high importance" is common), and "no es urgente" before "urgente". */
static const struct keyword urgency_keywords[] = {
    {"es", 3, "no corre prisa",
     "\\bno (es|corre|me corre|nos corre) (urgente|prisa|cr[ií]tico|prioritario)\\b|"
     "\\b(sin|no hay|ninguna) (prisa|urgencia)\\b|"
     "\\bcuando (pod[aá]is|puedas|pueda|puedan|teng[aá]is|tengas|tenga|os venga bien|"
     "te venga bien|sea posible)\\b|"
     "\\bbaja prioridad\\b|(?<!\\bno )\\bpuedo seguir trabajando\\b|\\bsigue funcionando\\b|"
     "\\bno me impide trabajar\\b"},
    {"en", 3, "no rush",
     "\\bnot (urgent|critical|a priority|blocking|time[- ]sensitive)\\b|"
     "\\b(isn[’']?t|it[’']?s not) (urgent|critical|blocking)\\b|"
     "\\bno (rush|hurry|urgency)\\b|"
     "\\bwhen(ever)? you (have|get) (time|a (minute|moment|chance|sec(ond)?))\\b|"
     "\\bwhenever (convenient|you can)\\b|\\bat your (convenience|leisure)\\b|"
     "\\blow priority\\b|\\bcan wait\\b|\\bi can still work\\b"},
    {"es", 1, "urgente",
     "\\b(es |muy )?urgente(s|mente)?\\b|\\burgent[ií]sim[oa]\\b|\\burgencia\\b|"
     "\\bcr[ií]tic[oa]s?\\b|\\binmediatamente\\b|\\blo antes posible\\b|\\bcuanto antes\\b|"
     "\\bemergencia\\b|\\bbloquead[oa]s?\\b|\\b(no|nadie) (puedo|podemos|puede|pueden) "
     "trabajar\\b|\\bsin poder trabajar\\b|\\b(estamos|est[aá]n?) (tod[oa]s )?parad[oa]s?\\b"},
    {"en", 1, "urgent",
     "\\burgent(ly)?\\b|\\bcritical\\b|\\basap\\b|\\bas soon as possible\\b|"
     "\\bimmediately\\b|\\bemergency\\b|\\bblock(ing|er)\\b|"
     "\\b(i[’']?m|i am|we[’']?re|we are|they[’']?re|they are|team is|everyone is)( \\w+)? "
     "blocked\\b|\\b(can[’']?t|cannot|can not|unable to|nobody can|no one can) work\\b|"
     "\\bstandstill\\b"},
};

struct header_rule {
	const char *name;
	const char *header;
	const char *re;
	int value;
};

static const struct header_rule urgency_headers[] = {
    {"header: Importance: high", "Importance", "^high\\b", 1},
    {"header: X-Priority: 1|2", "X-Priority", "^[12]\\b", 1},
    {"header: Priority: urgent", "Priority", "^urgent\\b", 1},
    {"header: X-MSMail-Priority: high", "X-MSMail-Priority", "^high\\b", 1},
    {"header: Importance: low", "Importance", "^low\\b", 3},
    {"header: X-Priority: 4|5", "X-Priority", "^[45]\\b", 3},
    {"header: Priority: non-urgent", "Priority", "^non-urgent\\b", 3},
    {"header: X-MSMail-Priority: low", "X-MSMail-Priority", "^low\\b", 3},
};

/* The kind's keyword lists, strongest evidence first (see the comment above). */
static const struct {
	const struct keyword *kw;
	size_t n;
} kind_tiers[] = {
    {kind_ask, G_N_ELEMENTS(kind_ask)},
    {kind_broken, G_N_ELEMENTS(kind_broken)},
    {kind_asks_for, G_N_ELEMENTS(kind_asks_for)},
    {kind_weak_broken, G_N_ELEMENTS(kind_weak_broken)},
    {kind_weak_asks, G_N_ELEMENTS(kind_weak_asks)},
};

/* A desk address form or a subject tag, and what it decides. */
struct fixed_word {
	const char *word;
	int value;
};

static const struct fixed_word kind_to[] = {
    {"incidents@", INC}, {"incidencias@", INC}, {"+incident", INC}, {"+incidencia", INC},
    {"requests@", REQ},	 {"solicitudes@", REQ}, {"+request", REQ},  {"+solicitud", REQ},
};

static const struct fixed_word kind_tags[] = {
    {"INCIDENT", INC},	{"INCIDENCIA", INC}, {"REQUEST", REQ},
    {"SOLICITUD", REQ}, {"PETICIÓN", REQ},   {"PETICION", REQ},
};

/* Adds one built-in rule; the tables above are known to be valid. */
static void add_fixed(struct rules *rules, enum rules_list list, const struct rules_spec *spec)
{
	struct errbuf err;

	if (!rules_add(rules, list, spec, NULL, &err))
		g_error("built-in rule \"%s\": %s", spec->name, err.msg);
	rules_mark_builtin(rules, list);
}

static void add_keywords(struct rules *rules, enum rules_list list, const struct keyword *kw,
			 size_t n, unsigned in)
{
	static const char *const what[] = {"", "impact ", "urgency "};

	for (size_t i = 0; i < n; i++) {
		char *name;

		if (list == RULES_KIND)
			name = g_strdup_printf("keywords-%s: %s \"%s\" (%s)", kw[i].lang,
					       ticket_kind_name((enum spoc_kind)kw[i].value),
					       kw[i].label,
					       in == RULES_IN_SUBJECT ? "subject" : "text");
		else
			name = g_strdup_printf("keywords-%s: %s%d \"%s\"", kw[i].lang, what[list],
					       kw[i].value, kw[i].label);
		add_fixed(rules, list,
			  &(struct rules_spec){
			      .name = name, .pattern = kw[i].re, .in = in, .value = kw[i].value});
		g_free(name);
	}
}

void rules_add_builtin(struct rules *rules, enum rules_list list)
{
	switch (list) {
	case RULES_KIND:
		for (size_t i = 0; i < G_N_ELEMENTS(kind_to); i++) {
			const char *to[] = {kind_to[i].word, NULL};
			char *name = g_strdup_printf("to: %s", kind_to[i].word);

			add_fixed(rules, list,
				  &(struct rules_spec){
				      .name = name, .to = to, .value = kind_to[i].value});
			g_free(name);
		}
		for (size_t i = 0; i < G_N_ELEMENTS(kind_tags); i++) {
			const char *tag[] = {kind_tags[i].word, NULL};
			char *name = g_strdup_printf("subject tag: [%s]", kind_tags[i].word);

			add_fixed(rules, list,
				  &(struct rules_spec){.name = name,
						       .subject_tags = tag,
						       .value = kind_tags[i].value});
			g_free(name);
		}
		for (size_t i = 0; i < G_N_ELEMENTS(kind_tiers); i++) {
			add_keywords(rules, list, kind_tiers[i].kw, kind_tiers[i].n,
				     RULES_IN_SUBJECT);
			add_keywords(rules, list, kind_tiers[i].kw, kind_tiers[i].n, RULES_IN_TEXT);
		}
		break;
	case RULES_IMPACT:
		add_keywords(rules, list, impact_keywords, G_N_ELEMENTS(impact_keywords), 0);
		break;
	case RULES_URGENCY:
		add_keywords(rules, list, urgency_keywords, G_N_ELEMENTS(urgency_keywords), 0);
		for (size_t i = 0; i < G_N_ELEMENTS(urgency_headers); i++)
			add_fixed(rules, list,
				  &(struct rules_spec){.name = urgency_headers[i].name,
						       .header = urgency_headers[i].header,
						       .pattern = urgency_headers[i].re,
						       .value = urgency_headers[i].value});
		break;
	}
}

struct rules *rules_new_builtin(const char *const *desk_addresses, enum spoc_kind default_kind)
{
	struct rules *rules = rules_new(desk_addresses, default_kind);

	rules_add_builtin(rules, RULES_KIND);
	rules_add_builtin(rules, RULES_IMPACT);
	rules_add_builtin(rules, RULES_URGENCY);
	return rules;
}
