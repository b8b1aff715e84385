/* Whether a reply only thanks or acknowledges (noise.h). The text is read once into at most
 * SCAN_MAX tokens (words, and the emoji that thank or complain), each word normalised (case
 * folded, accents and apostrophes dropped, a letter repeated three times or more read once or
 * twice: "Graciaaas", "thanksss") and looked up in one vocabulary of classes; a handful of
 * rules then look at a word's neighbours in its clause ("gracias de nuevo" is not "falla de
 * nuevo"), and the counts decide. Every rule looks a bounded number of tokens around one token,
 * so the whole is linear in the text. */
#include "noise.h"

#include "thread.h"

#include <string.h>

/* Tokens read at most: past this many the reply says more than thanks, whatever it says. Room
 * for NOISE_MAX_WORDS and a signature block of SIGNATURE_LINES lines of SIGNATURE_WORDS. */
#define SCAN_MAX 96
/* Longest word looked up, in characters; a longer one is content. */
#define WORD_MAX 40
/* Bytes of the sender's word quoted in a reason. */
#define QUOTE_MAX 32
/* A signature block after a closing line: at most this many lines of at most this many words. */
#define SIGNATURE_LINES 6
#define SIGNATURE_WORDS 6
/* Acknowledgements a reason names. */
#define WHY_ACKS 4

enum word_class {
	W_OTHER,   /* not in the vocabulary: content */
	W_FILLER,  /* greetings, courtesy, articles, pronouns: neither content nor thanks */
	W_SIGNOFF, /* a closing ("un saludo", "regards"): filler that starts a signature block */
	W_THANKS,  /* "gracias", "thanks" */
	W_ACK,	   /* "ok", "vale", "perfect" */
	W_CLOSE,   /* "cerrar", "close": asking to close the ticket acknowledges it */
	W_CONFIRM, /* "funciona", "fixed": it works now */
	W_FIXVERB, /* "solucionar", "fixing": names the fix (answers a trouble word), else filler */
	W_PROBLEM, /* "pero", "sigue", "still": something is still wrong */
	W_PENDING, /* "mañana", "try": not settled yet */
	W_REQUEST, /* "podrías", "could", "please": asks for something, unless to close or thank */
	W_FAILURE, /* "falla", "crashes": wrong, unless negated ("ya no falla") */
	W_TROUBLE, /* "error", "issue": wrong, unless negated, after "sin" or answered by a fix */
	W_NEGATION, /* "no", "doesn't": wrong, unless it negates a trouble or failure word */
	W_AGAIN,    /* "again", "otra", "de nuevo": wrong, unless next to thanks or a fix */
	W_WITHOUT,  /* "sin", "without": fine before a trouble word ("sin problemas"), else wrong */
};

/* Each class's words, normalised (lower case, no accents, no apostrophes). A word is in one
 * class only; the rules in classify_context() change a class by its neighbours. */
static const char *const thanks_words[] = {"gracias",
					   "gracia",
					   "grasias",
					   "grax",
					   "thanks",
					   "thank",
					   "thankyou",
					   "thanx",
					   "thnx",
					   "thx",
					   "thks",
					   "tks",
					   "tnx",
					   "ty",
					   "tysm",
					   "thanku",
					   "merci",
					   "grazie",
					   "obrigado",
					   "obrigada",
					   "agradezco",
					   "agradecemos",
					   "agradecido",
					   "agradecida",
					   "agradecidos",
					   "agradecidas",
					   "agradecer",
					   "agradeceros",
					   "agradecerte",
					   "agradecerle",
					   "agradecerles",
					   "agradecimiento",
					   "agradecimientos",
					   "appreciate",
					   "appreciated",
					   "appreciation",
					   "grateful",
					   "cheers",
					   NULL};

static const char *const ack_words[] = {"ok",
					"okay",
					"okey",
					"oki",
					"okis",
					"okas",
					"vale",
					"perfecto",
					"perfecta",
					"perfectos",
					"perfectas",
					"perfect",
					"perfectly",
					"perfectamente",
					"genial",
					"great",
					"estupendo",
					"estupenda",
					"estupendamente",
					"excelente",
					"excellent",
					"fantastico",
					"fantastica",
					"fantastic",
					"awesome",
					"super",
					"superb",
					"brilliant",
					"bien",
					"good",
					"fine",
					"cool",
					"nice",
					"entendido",
					"entendida",
					"understood",
					"recibido",
					"recibida",
					"received",
					"noted",
					"anotado",
					"claro",
					"sure",
					"acuerdo",
					"agreed",
					"gotcha",
					"lovely",
					"wonderful",
					"maravilla",
					"maravilloso",
					"fenomenal",
					"guay",
					"top",
					"correcto",
					"correcta",
					"correctamente",
					"correct",
					"correctly",
					"confirmado",
					"confirmada",
					"confirmo",
					"confirmed",
					"confirm",
					"listo",
					"lista",
					"done",
					"amazing",
					"increible",
					"ideal",
					"yes",
					"yep",
					"yeah",
					"yup",
					"alright",
					"allright",
					"okidoki",
					"chachi",
					"magnifico",
					NULL};

static const char *const close_words[] = {
    "cerrar",	"cerrarla", "cerrarlo", "cerrarlas", "cerrarlos", "cerrad",
    "cerradla", "cerradlo", "cerrada",	"cerrado",   "cierro",	  "cierra",
    "cierre",	"cierren",  "close",	"closed",    "closing",	  NULL};

static const char *const confirm_words[] = {
    "funciona",	    "funcionan",    "funcionando",  "funciono",	   "funcionado",
    "va",	    "van",	    "anda",	    "andan",	   "rula",
    "works",	    "working",	    "worked",	    "fixed",	   "solved",
    "resolved",	    "sorted",	    "solucionado",  "solucionada", "solucionados",
    "solucionadas", "resuelto",	    "resuelta",	    "resueltos",   "resueltas",
    "arreglado",    "arreglada",    "arreglados",   "arregladas",  "solventado",
    "solventada",   "deja",	    "operativo",    "operativa",   "normal",
    "normalidad",   "restablecido", "restablecida", "restored",	   "recuperado",
    "recuperada",   "running",	    "llega",	    "llegan",	   "llegado",
    "aparece",	    "aparecen",	    "puedo",	    "podemos",	   NULL};

static const char *const fixverb_words[] = {
    "solucionar", "solucionarlo", "solucionarla", "solucionarme", "resolver", "resolverlo",
    "resolverla", "arreglar",	  "arreglarlo",	  "arreglarla",	  "fix",      "fixing",
    "solving",	  "resolving",	  "sorting",	  "solucion",	  "solution", "arreglo",
    "resolucion", "resolution",	  "gestionar",	  "gestionarlo",  NULL};

static const char *const problem_words[] = {"pero",
					    "aunque",
					    "embargo",
					    "excepto",
					    "salvo",
					    "sigue",
					    "sigues",
					    "siguen",
					    "sigo",
					    "seguimos",
					    "seguir",
					    "siguiendo",
					    "continua",
					    "continuan",
					    "persiste",
					    "persisten",
					    "todavia",
					    "aun",
					    "mal",
					    "peor",
					    "igual",
					    "mismo",
					    "misma",
					    "mismos",
					    "roto",
					    "rota",
					    "rotos",
					    "caido",
					    "caida",
					    "cae",
					    "colgado",
					    "colgada",
					    "bloqueado",
					    "bloqueada",
					    "lento",
					    "lenta",
					    "atascado",
					    "atascada",
					    "vacio",
					    "vacia",
					    "raro",
					    "rara",
					    "extrano",
					    "extrana",
					    "desaparecido",
					    "desaparecida",
					    "perdido",
					    "perdida",
					    "falta",
					    "faltan",
					    "duda",
					    "dudas",
					    "pregunta",
					    "preguntas",
					    "consulta",
					    "urgente",
					    "socorro",
					    "tambien",
					    "ademas",
					    "medias",
					    "parcialmente",
					    "veces",
					    "intermitente",
					    "but",
					    "however",
					    "though",
					    "although",
					    "except",
					    "unfortunately",
					    "sadly",
					    "still",
					    "yet",
					    "bad",
					    "worse",
					    "worst",
					    "wrong",
					    "same",
					    "broken",
					    "broke",
					    "down",
					    "offline",
					    "slow",
					    "slower",
					    "frozen",
					    "stuck",
					    "blank",
					    "empty",
					    "missing",
					    "lost",
					    "gone",
					    "disappeared",
					    "weird",
					    "strange",
					    "odd",
					    "partially",
					    "partly",
					    "sometimes",
					    "intermittent",
					    "intermittently",
					    "urgent",
					    "urgently",
					    "also",
					    "additionally",
					    "question",
					    "questions",
					    "query",
					    "doubt",
					    "ask",
					    "asking",
					    "wonder",
					    "wondering",
					    "keeps",
					    "happen",
					    "happened",
					    "happening",
					    "happens",
					    "persists",
					    "continues",
					    "locked",
					    "expired",
					    "denied",
					    "rejected",
					    "blocked",
					    "unable",
					    "nope",
					    "nah",
					    NULL};

static const char *const pending_words[] = {
    "try",	  "trying",	   "tried",	"test",	      "testing",
    "check",	  "checking",	   "verify",	"monitor",    "see",
    "tomorrow",	  "later",	   "monday",	"tuesday",    "wednesday",
    "thursday",	  "friday",	   "soon",	"let",	      "hopefully",
    "hope",	  "ill",	   "probare",	"probaremos", "pruebo",
    "probamos",	  "probar",	   "probando",	"intentare",  "intento",
    "intentar",	  "intentamos",	   "revisare",	"reviso",     "revisar",
    "revisamos",  "comprobare",	   "compruebo", "comprobar",  "comprobamos",
    "miro",	  "mirare",	   "miramos",	"mirar",      "vere",
    "veremos",	  "ver",	   "manana",	"luego",      "despues",
    "tarde",	  "lunes",	   "martes",	"miercoles",  "jueves",
    "viernes",	  "avisare",	   "avisamos",	"avisaremos", "avisad",
    "avisadme",	  "avisame",	   "cuento",	"contare",    "dire",
    "confirmare", "confirmaremos", "espero",	"esperar",    "esperamos",
    "pendiente",  "pendientes",	   NULL};

static const char *const request_words[] = {
    "please",	   "pls",      "plz",	   "could",	"would",       "can",	   "need",
    "needs",	   "needed",   "want",	   "wants",	"puedes",      "podeis",   "podrias",
    "podriais",	   "podria",   "podrian",  "pueden",	"puede",       "necesito", "necesitamos",
    "necesitaria", "necesita", "quiero",   "queremos",	"querria",     "gustaria", "favor",
    "porfa",	   "porfavor", "solicito", "solicitar", "solicitamos", "pedir",	   "pido",
    "pedimos",	   NULL};

static const char *const failure_words[] = {
    "falla",	"fallan",  "fallando",	  "fallar",	"fallado", "cuelga",
    "cuelgan",	"bloquea", "reinicia",	  "desconecta", "crash",   "crashes",
    "crashing", "crashed", "fail",	  "fails",	"failing", "failed",
    "failure",	"freeze",  "freezes",	  "freezing",	"hang",	   "hangs",
    "hanging",	"reboots", "disconnects", "drops",	NULL};

static const char *const trouble_words[] = {
    "error",	   "errores", "problema", "problemas", "fallo",	     "fallos",	 "incidencia",
    "incidencias", "averia",  "averias",  "incidente", "incidentes", "ningun",	 "ninguna",
    "ninguno",	   "issue",   "issues",	  "problem",   "problems",   "errors",	 "bug",
    "bugs",	   "fault",   "faults",	  "glitch",    "glitches",   "incident", NULL};

static const char *const negation_words[] = {
    "no",      "not",	  "nunca",    "jamas",	"tampoco", "ni",    "nada",  "nadie",
    "never",   "nothing", "none",     "nobody", "neither", "nor",   "cant",  "cannot",
    "couldnt", "dont",	  "doesnt",   "didnt",	"isnt",	   "arent", "wasnt", "werent",
    "wont",    "wouldnt", "shouldnt", "havent", "hasnt",   "hadnt", "aint",  NULL};

static const char *const again_words[] = {"again", "nuevamente", "otra",  "otro", "otras",
					  "otros", "another",	 "other", NULL};

static const char *const without_words[] = {"sin", "without", NULL};

static const char *const signoff_words[] = {
    "saludos", "saludo",    "regards", "atentamente", "cordialmente", "abrazo", "abrazos",
    "besos",   "sincerely", "best",    "br",	      "kr",	      "rgds",	NULL};

static const char *const filler_words[] = {
    /* Spanish: articles, pronouns, prepositions, common verbs */
    "a", "al", "de", "del", "el", "la", "lo", "los", "las", "le", "les", "un", "una", "unos",
    "unas", "uno", "y", "e", "o", "u", "en", "con", "para", "por", "que", "se", "me", "te", "nos",
    "os", "mi", "mis", "tu", "tus", "su", "sus", "vuestro", "vuestra", "vuestros", "vuestras",
    "nuestro", "nuestra", "vosotros", "vosotras", "usted", "ustedes", "ti", "yo", "esto", "eso",
    "este", "esta", "estos", "estas", "ese", "esa", "es", "son", "era", "fue", "ha", "han", "he",
    "hemos", "habeis", "has", "hay", "estan", "estoy", "estamos", "ya", "ahora", "asi", "tan",
    "tanto", "tanta", "tantas", "tantos", "muy", "mucho", "mucha", "muchos", "muchas", "muchisimo",
    "muchisima", "muchisimas", "muchisimos", "mil", "todo", "toda", "todos", "todas", "si", "mas",
    "tengo", "tenemos", "tiene", "da", "dado", "vuelve", "volvio", "vuelto", "volver", "vez",
    "queria", "queriamos", "decir", "dar", "deciros", "decirte", "daros", "darte", "como",
    "siempre", "pues", "entonces", "bueno", "finalmente", "ahi", "aqui", "hoy", "verdad", "parte",
    "hasta",
    /* Spanish: greetings and courtesy */
    "hola", "buenos", "buenas", "buen", "buena", "dia", "dias", "tardes", "noche", "noches",
    "feliz", "fin", "semana", "finde", "tengas", "tengais", "tenga", "tengan", "pases", "paseis",
    "estimado", "estimada", "estimados", "estimadas", "querido", "querida", "equipo", "compis",
    "companeros", "companero", "companera", "chicos", "chicas", "ayuda", "ayudarme", "ayudar",
    "ayudado", "ayudais", "soporte", "apoyo", "atencion", "gestion", "rapidez", "rapido", "rapida",
    "pronto", "prontitud", "respuesta", "trabajo", "tiempo", "paciencia", "esfuerzo", "molestia",
    "molestias", "perdon", "disculpa", "disculpad", "disculpe", "disculpas", "siento", "info",
    "informacion", "aviso", "ticket", "tickets", "peticion", "solicitud", "caso", "tema", "asunto",
    "cosa", "igualmente", "gran", "grande", "sois", "eres", "crack", "cracks", "maquina",
    "maquinas", "amable", "amables", "atento", "atentos", "atenta", "servicio", "encantado",
    "encantada", "gusto", "placer", "jaja", "jeje", "xd", "adios", "chao", "ciao", "cordial",
    /* English: articles, pronouns, prepositions, common verbs */
    "an", "the", "and", "or", "for", "of", "to", "in", "on", "at", "with", "from", "by", "as", "so",
    "very", "really", "truly", "much", "many", "lot", "lots", "all", "everything", "everyone",
    "everybody", "you", "your", "yours", "youre", "ur", "i", "im", "ive", "my", "we", "were",
    "weve", "us", "our", "it", "its", "this", "that", "thats", "these", "those", "is", "are", "was",
    "be", "been", "being", "am", "have", "had", "having", "do", "did", "does", "now", "just", "too",
    "here", "there", "theres", "what", "once", "indeed", "definitely", "absolutely", "totally",
    "completely", "fully", "finally", "like", "out", "up", "back", "well", "able", "log", "login",
    "logged", "anymore", "longer", "more", "any", "if", "one", "request", "case", "matter",
    "information", "sorry", "apologies", "such", "thing", "things", "both", "get", "got", "go",
    "goes", "went", "enjoy", "rest", "wanted", "say", "set", "right", "then", "whole",
    /* English: greetings and courtesy */
    "hi", "hello", "hey", "dear", "morning", "afternoon", "evening", "night", "day", "weekend",
    "week", "kind", "kindest", "warm", "warmest", "help", "helping", "helped", "support",
    "assistance", "quick", "quickly", "fast", "prompt", "promptly", "speedy", "swift", "response",
    "reply", "time", "patience", "effort", "efforts", "work", "job", "team", "guys", "folks",
    "charm", "trick", "magic", "happy", "glad", "pleased", "huge", "big", "lol", "haha", "wow",
    "oh", "ah", "yay", "phew", "sir", "madam", "mr", "ms", "mrs", "desk", "service", "bye",
    "greetings", NULL};

static const struct {
	enum word_class c;
	const char *const *words;
} vocabulary[] = {
    {W_THANKS, thanks_words},	{W_ACK, ack_words},	      {W_CLOSE, close_words},
    {W_CONFIRM, confirm_words}, {W_FIXVERB, fixverb_words},   {W_PROBLEM, problem_words},
    {W_PENDING, pending_words}, {W_REQUEST, request_words},   {W_FAILURE, failure_words},
    {W_TROUBLE, trouble_words}, {W_NEGATION, negation_words}, {W_AGAIN, again_words},
    {W_WITHOUT, without_words}, {W_SIGNOFF, signoff_words},   {W_FILLER, filler_words},
};

/* word -> class + 1; built once, read only after. */
static GHashTable *vocabulary_table(void)
{
	static gsize once = 0;
	static GHashTable *table;

	if (g_once_init_enter(&once)) {
		table = g_hash_table_new(g_str_hash, g_str_equal);
		for (size_t v = 0; v < G_N_ELEMENTS(vocabulary); v++)
			for (size_t i = 0; vocabulary[v].words[i] != NULL; i++)
				/* the first class listed wins a word listed twice */
				if (!g_hash_table_contains(table, vocabulary[v].words[i]))
					g_hash_table_insert(table, (gpointer)vocabulary[v].words[i],
							    GINT_TO_POINTER(vocabulary[v].c + 1));
		g_once_init_leave(&once, 1);
	}
	return table;
}

static gboolean lookup(const char *word, enum word_class *c_r)
{
	gpointer v = g_hash_table_lookup(vocabulary_table(), word);

	if (v == NULL)
		return FALSE;
	*c_r = (enum word_class)(GPOINTER_TO_INT(v) - 1);
	return TRUE;
}

/* The class of a normalised word: as it is, else with letters repeated three times or more
 * read once ("graciaaas") or twice ("goood"). */
static enum word_class word_class(const char *word)
{
	char once[WORD_MAX * 4 + 1], twice[WORD_MAX * 4 + 1];
	size_t n1 = 0, n2 = 0, run = 0;
	enum word_class c = W_OTHER;

	if (word[0] == '\0' || lookup(word, &c))
		return c;
	for (size_t i = 0; word[i] != '\0'; i++) {
		run = i > 0 && word[i] == word[i - 1] ? run + 1 : 1;
		if (run == 1)
			once[n1++] = word[i];
		if (run <= 2)
			twice[n2++] = word[i];
	}
	once[n1] = twice[n2] = '\0';
	if (lookup(once, &c) || lookup(twice, &c))
		return c;
	return W_OTHER;
}

enum emoji_kind { EMOJI_NONE, EMOJI_POSITIVE, EMOJI_NEGATIVE, EMOJI_QUESTION };

static enum emoji_kind emoji_kind(gunichar c)
{
	static const gunichar positive[] = {
	    0x1F44D, 0x1F44C, 0x1F64F, 0x1F44F, 0x1F64C, 0x1F4AA, 0x2705,  0x2714,  0x2611,
	    0x1F642, 0x1F917, 0x1F929, 0x1F970, 0x1F973, 0x263A,  0x2764,  0x1F9E1, 0x1F90D,
	    0x1F389, 0x1F38A, 0x2B50,  0x1F31F, 0x1F4AF, 0x1F197, 0x1F91D, 0x270C,  0x1F919,
	    0x1FAF6, 0x1F618, 0x1F619, 0x1F61A, 0x1F63A, 0x1F638, 0x1F63B, 0x2728};
	static const gunichar negative[] = {
	    0x1F44E, 0x1F494, 0x1F610, 0x1F611, 0x1F612, 0x1F613, 0x1F614, 0x1F615,
	    0x1F616, 0x1F61E, 0x1F61F, 0x1F620, 0x1F621, 0x1F622, 0x1F623, 0x1F624,
	    0x1F625, 0x1F626, 0x1F627, 0x1F628, 0x1F629, 0x1F62B, 0x1F62C, 0x1F62D,
	    0x1F62E, 0x1F62F, 0x1F630, 0x1F631, 0x1F632, 0x1F633, 0x1F635, 0x1F641,
	    0x2639,  0x1F92C, 0x1F92F, 0x1F974, 0x1F97A, 0x274C,  0x274E,  0x26A0,
	    0x1F6AB, 0x1F198, 0x1F480, 0x1F926, 0x1F937, 0x1F62A, 0x1F971, 0x1F4A5};
	static const gunichar question[] = {0x2753, 0x2754,  0x2049, 0x2047,
					    0x2048, 0x1F914, 0x1F9D0};

	/* grinning to smiling faces, hearts but the broken one */
	if ((c >= 0x1F600 && c <= 0x1F60E) || (c >= 0x1F493 && c <= 0x1F49F && c != 0x1F494))
		return EMOJI_POSITIVE;
	for (size_t i = 0; i < G_N_ELEMENTS(positive); i++)
		if (c == positive[i])
			return EMOJI_POSITIVE;
	for (size_t i = 0; i < G_N_ELEMENTS(negative); i++)
		if (c == negative[i])
			return EMOJI_NEGATIVE;
	for (size_t i = 0; i < G_N_ELEMENTS(question); i++)
		if (c == question[i])
			return EMOJI_QUESTION;
	return EMOJI_NONE;
}

/* What changes an emoji without being one: skin tones, joiners, variation selectors, keycaps. */
static gboolean emoji_modifier(gunichar c)
{
	return (c >= 0x1F3FB && c <= 0x1F3FF) || c == 0x200D || c == 0xFE0E || c == 0xFE0F ||
	       c == 0x20E3;
}

static gboolean is_emoji(gunichar c)
{
	return (c >= 0x1F000 && c <= 0x1FAFF) || g_unichar_type(c) == G_UNICODE_OTHER_SYMBOL;
}

static gboolean is_question_mark(gunichar c)
{
	return c == '?' || c == 0xBF /* ¿ */ || c == 0xFF1F || c == 0x061F || c == 0x037E ||
	       c == 0x2E2E;
}

static gboolean is_apostrophe(gunichar c)
{
	return c == '\'' || c == 0x2019 || c == 0x02BC || c == 0xB4 || c == 0x60;
}

/* Ends a sentence: the next word may be capitalised without being a name. */
static gboolean ends_sentence(gunichar c)
{
	return c == '.' || c == '!' || c == 0xA1 /* ¡ */ || c == '\n' || c == 0x2026 ||
	       c == 0x3002 || c == 0xFF01;
}

struct token {
	enum word_class c;
	gboolean problem;	 /* a problem once the words around it have had their say */
	gboolean cap;		 /* starts with a capital letter */
	gboolean sentence_start; /* the first word of its sentence or line */
	gboolean signature;	 /* in the signature block after a closing line */
	guint clause;		 /* tokens of one clause (no punctuation between) share it */
	guint line;
	char word[WORD_MAX * 4 + 1]; /* normalised; "" when too long to be a known word */
	char raw[QUOTE_MAX + 1];     /* as written, cut short, for the reason */
};

struct scan {
	GArray *tokens; /* struct token */
	gboolean truncated;
	gboolean question;
	char question_emoji[8];
	guint positive, negative;
	char positive_emoji[WHY_ACKS][8];
	char negative_emoji[8];
	guint clause, line;
	gboolean sentence_start;
};

gboolean noise_fold(const char *raw, gssize len, char *out, size_t out_size)
{
	g_autofree char *folded = g_utf8_casefold(raw, len);
	g_autofree char *nfd = g_utf8_normalize(folded, -1, G_NORMALIZE_NFD);
	gboolean whole = TRUE;
	size_t n = 0;

	for (const char *p = nfd; p != NULL && *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		char buf[6];
		int k;

		if (g_unichar_ismark(c) || is_apostrophe(c))
			continue;
		k = g_unichar_to_utf8(c, buf);
		if (n + (size_t)k >= out_size) {
			whole = FALSE;
			break;
		}
		memcpy(out + n, buf, (size_t)k);
		n += (size_t)k;
	}
	out[n] = '\0';
	return whole;
}

/* Copies at most QUOTE_MAX bytes of s, whole characters, into out. */
static void quote_cut(const char *s, size_t len, char out[QUOTE_MAX + 1])
{
	size_t n = 0;

	while (n < len && n < QUOTE_MAX) {
		const char *next = g_utf8_next_char(s + n);
		size_t k = (size_t)(next - (s + n));

		if (n + k > QUOTE_MAX || n + k > len)
			break;
		n += k;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

/* Adds the word in raw, chars characters long, as a token. */
static void add_word(struct scan *s, const GString *raw, guint chars)
{
	struct token t = {
	    .clause = s->clause, .line = s->line, .sentence_start = s->sentence_start};
	gunichar first = g_utf8_get_char(raw->str);

	if (s->tokens->len >= SCAN_MAX) {
		s->truncated = TRUE;
		return;
	}
	t.cap = g_unichar_isupper(first) || g_unichar_istitle(first);
	if (chars <= WORD_MAX)
		noise_fold(raw->str, (gssize)raw->len, t.word, sizeof(t.word));
	quote_cut(raw->str, raw->len, t.raw);
	t.c = word_class(t.word);
	g_array_append_val(s->tokens, t);
	s->sentence_start = FALSE;
}

/* An emoticon at p (":)", ":-(", ";)", "=D", "<3") after a blank or at the start: its length in
 * bytes and *kind_r, or 0. */
static size_t emoticon(const char *p, gboolean after_blank, enum emoji_kind *kind_r)
{
	size_t n = 1;

	if (!after_blank)
		return 0;
	if (p[0] == '<' && p[1] == '3') {
		*kind_r = EMOJI_POSITIVE;
		return 2;
	}
	if (p[0] != ':' && p[0] != ';' && p[0] != '=')
		return 0;
	if (p[n] == '-' || p[n] == '\'')
		n++;
	if (p[n] == '\0' ||
	    !(g_ascii_isspace(p[n + 1]) || p[n + 1] == '\0' || g_ascii_ispunct(p[n + 1])))
		return 0; /* "http://", "Hora:10" */
	switch (p[n]) {
	case ')':
	case ']':
	case 'D':
		*kind_r = EMOJI_POSITIVE;
		return n + 1;
	case '(':
	case '[':
	case '/':
	case '\\':
	case '|':
		*kind_r = EMOJI_NEGATIVE;
		return n + 1;
	case 'P':
	case 'p':
		*kind_r = EMOJI_NONE;
		return n + 1;
	default:
		return 0;
	}
}

static void add_emoji(struct scan *s, enum emoji_kind kind, const char *p, size_t len)
{
	char text[8] = "";

	if (len < sizeof(text)) {
		memcpy(text, p, len);
		text[len] = '\0';
	}
	if (kind == EMOJI_POSITIVE) {
		if (s->positive < WHY_ACKS)
			g_strlcpy(s->positive_emoji[s->positive], text, sizeof(text));
		s->positive++;
	} else if (kind == EMOJI_NEGATIVE) {
		if (s->negative++ == 0)
			g_strlcpy(s->negative_emoji, text, sizeof(text));
	} else if (kind == EMOJI_QUESTION) {
		if (!s->question)
			g_strlcpy(s->question_emoji, text, sizeof(text));
		s->question = TRUE;
	}
}

/* Reads text (valid UTF-8) into s. */
static void scan_text(const char *text, struct scan *s)
{
	GString *word = g_string_new(NULL);
	guint chars = 0;
	gboolean after_blank = TRUE;

	s->sentence_start = TRUE;
	for (const char *p = text; *p != '\0' && !s->truncated;) {
		gunichar c = g_utf8_get_char(p);
		const char *next = g_utf8_next_char(p);
		enum emoji_kind kind = EMOJI_NONE;
		size_t emo;

		if (g_unichar_isalnum(c) ||
		    (word->len > 0 && g_unichar_ismark(c) && !emoji_modifier(c))) {
			if (chars++ < WORD_MAX + 1)
				g_string_append_len(word, p, next - p);
			p = next;
			after_blank = FALSE;
			continue;
		}
		/* "doesn't", "I'll": one word, looked up without the apostrophe */
		if (word->len > 0 && is_apostrophe(c) && g_unichar_isalpha(g_utf8_get_char(next))) {
			if (chars++ < WORD_MAX + 1)
				g_string_append_len(word, p, next - p);
			p = next;
			continue;
		}
		if (word->len > 0) {
			add_word(s, word, chars);
			g_string_truncate(word, 0);
			chars = 0;
		}
		if ((emo = emoticon(p, after_blank, &kind)) > 0) {
			add_emoji(s, kind, p, emo);
			p += emo;
			after_blank = FALSE;
			continue;
		}
		if (is_question_mark(c)) {
			s->question = TRUE;
		} else if (emoji_modifier(c)) {
			/* part of the emoji before it */
		} else if (is_emoji(c)) {
			add_emoji(s, emoji_kind(c), p, (size_t)(next - p));
		} else if (c == '.' && g_unichar_isalnum(g_utf8_get_char(next))) {
			s->clause++; /* "acme.es", "3.5" */
		} else if (ends_sentence(c)) {
			s->clause++;
			s->sentence_start = TRUE;
		} else if (!g_unichar_isspace(c)) {
			s->clause++;
		}
		if (c == '\n') {
			s->line++;
			s->clause++;
			s->sentence_start = TRUE;
		}
		after_blank = g_unichar_isspace(c) || g_unichar_ispunct(c);
		p = next;
	}
	if (word->len > 0 && !s->truncated)
		add_word(s, word, chars);
	g_string_free(word, TRUE);
}

static struct token *tok(struct scan *s, guint i)
{
	return &g_array_index(s->tokens, struct token, i);
}

static gboolean same_clause(struct scan *s, guint i, guint j)
{
	return j < s->tokens->len && tok(s, i)->clause == tok(s, j)->clause;
}

static gboolean is_filler(enum word_class c)
{
	return c == W_FILLER || c == W_SIGNOFF;
}

/* The next (step 1) or previous (step -1) token of i's clause that is not filler, or -1. */
static int content_near(struct scan *s, guint i, int step)
{
	for (int j = (int)i + step; j >= 0 && same_clause(s, i, (guint)j); j += step)
		if (!is_filler(tok(s, (guint)j)->c))
			return j;
	return -1;
}

/* TRUE when a token of class c, d or e is within dist tokens of i in its clause, on the side
 * of step (1: after, -1: before). */
static gboolean class_near(struct scan *s, guint i, int step, int dist, enum word_class c,
			   enum word_class d, enum word_class e)
{
	for (int k = 1; k <= dist; k++) {
		int j = (int)i + k * step;

		if (j < 0 || !same_clause(s, i, (guint)j))
			return FALSE;
		if (tok(s, (guint)j)->c == c || tok(s, (guint)j)->c == d ||
		    tok(s, (guint)j)->c == e)
			return TRUE;
	}
	return FALSE;
}

static gboolean word_is(struct scan *s, int i, const char *w)
{
	return i >= 0 && (guint)i < s->tokens->len && strcmp(tok(s, (guint)i)->word, w) == 0;
}

/* Classes that depend on the word before or after, in the same clause. */
static void classify_context(struct scan *s)
{
	static const char *const greeted[] = {"morning", "afternoon", "evening", "night",
					      "day",	 "weekend",   "luck",	 NULL};
	static const char *const wished[] = {
	    "you",   "youre",  "your",	     "all",	  "everyone", "tengas", "tengais",
	    "tenga", "tengan", "esteis",     "estes",	  "este",     "esten",	"paseis",
	    "pases", "pase",   "disfruteis", "disfrutes", NULL};

	for (guint i = 0; i < s->tokens->len; i++) {
		struct token *t = tok(s, i);
		int prev = i > 0 && same_clause(s, i, i - 1) ? (int)i - 1 : -1;
		int next = same_clause(s, i, i + 1) ? (int)i + 1 : -1;

		/* "good morning" greets; "good" alone acknowledges */
		if (strcmp(t->word, "good") == 0 && next >= 0 &&
		    g_strv_contains(greeted, tok(s, (guint)next)->word))
			t->c = W_FILLER;
		/* "I can print now" says it works, as "ya puedo imprimir" does; "can you" asks */
		else if (strcmp(t->word, "can") == 0 &&
			 (word_is(s, prev, "i") || word_is(s, prev, "we")))
			t->c = W_CONFIRM;
		/* "de nuevo" is "again"; "un portátil nuevo" is content */
		else if ((strcmp(t->word, "nuevo") == 0 || strcmp(t->word, "nueva") == 0) &&
			 word_is(s, prev, "de"))
			t->c = W_AGAIN;
		/* "buenas tardes", "hasta luego", "hasta mañana" greet */
		else if ((t->c == W_PENDING) &&
			 (word_is(s, prev, "buena") || word_is(s, prev, "buenas") ||
			  word_is(s, prev, "hasta")))
			t->c = W_FILLER;
		/* "hope you have a nice weekend", "espero que tengáis buen día" wish well; "hope it
		 * works", "espero que funcione" are not sure it does */
		else if (strcmp(t->word, "hope") == 0 && next >= 0 &&
			 g_strv_contains(wished, tok(s, (guint)next)->word))
			t->c = W_FILLER;
		else if (strcmp(t->word, "espero") == 0 && word_is(s, next, "que") &&
			 same_clause(s, i, i + 2) && g_strv_contains(wished, tok(s, i + 2)->word))
			t->c = W_FILLER;
		/* "nada más" closes ("gracias, nada más"); in "sin embargo" it is "embargo" that
		 * speaks */
		else if ((strcmp(t->word, "nada") == 0 && word_is(s, next, "mas")) ||
			 (strcmp(t->word, "sin") == 0 && word_is(s, next, "embargo")))
			t->c = W_FILLER;
	}
}

/* Which tokens are problems, once the words around them have had their say. */
static void judge_problems(struct scan *s)
{
	guint n = s->tokens->len;
	gboolean *answered = g_new0(gboolean, n);

	/* a negation of trouble is good news: "ya no da error", "no more issues", "doesn't
	 * crash any more"; of anything else ("no funciona", "not working") it is bad */
	for (guint i = 0; i < n; i++) {
		int j;

		if (tok(s, i)->c != W_NEGATION || answered[i])
			continue;
		j = content_near(s, i, 1);
		if (j < 0 || (tok(s, (guint)j)->c != W_TROUBLE && tok(s, (guint)j)->c != W_FAILURE))
			continue;
		answered[i] = TRUE;
		/* "no hay ningún problema": the run of trouble it negates */
		for (;
		     j >= 0 && (tok(s, (guint)j)->c == W_TROUBLE ||
				tok(s, (guint)j)->c == W_FAILURE || is_filler(tok(s, (guint)j)->c));
		     j = same_clause(s, i, (guint)j + 1) ? j + 1 : -1)
			answered[j] = TRUE;
	}
	for (guint i = 0; i < n; i++) {
		struct token *t = tok(s, i);
		int prev, next;

		if (answered[i])
			continue;
		switch (t->c) {
		case W_PROBLEM:
		case W_PENDING:
		case W_FAILURE:
		case W_NEGATION:
			t->problem = TRUE;
			break;
		case W_TROUBLE:
			/* "problema solucionado", "la incidencia 4567 ya está resuelta", "thanks
			 * for fixing the issue", "podéis cerrar la incidencia", "sin problemas",
			 * "without any issue" */
			t->problem = !class_near(s, i, 1, 4, W_CONFIRM, W_FIXVERB, W_CLOSE) &&
				     !class_near(s, i, -1, 4, W_CONFIRM, W_FIXVERB, W_CLOSE) &&
				     !class_near(s, i, -1, 2, W_WITHOUT, W_WITHOUT, W_WITHOUT);
			break;
		case W_AGAIN:
			/* "gracias de nuevo", "thanks again", "working again", "otra vez gracias"
			 */
			prev = content_near(s, i, -1);
			next = content_near(s, i, 1);
			t->problem = !((prev >= 0 && (tok(s, (guint)prev)->c == W_THANKS ||
						      tok(s, (guint)prev)->c == W_CONFIRM)) ||
				       (next >= 0 && (tok(s, (guint)next)->c == W_THANKS ||
						      tok(s, (guint)next)->c == W_CONFIRM)));
			break;
		case W_REQUEST:
			/* "podéis cerrarla", "you can close it", "quiero agradeceros" */
			t->problem = !class_near(s, i, 1, 3, W_CLOSE, W_THANKS, W_THANKS);
			break;
		case W_WITHOUT:
			/* "sin problemas", "sin más"; "sin éxito", "sin conexión" */
			next = same_clause(s, i, i + 1) ? (int)i + 1 : -1;
			t->problem = next >= 0 && tok(s, (guint)next)->c != W_TROUBLE &&
				     !is_filler(tok(s, (guint)next)->c);
			break;
		default:
			break;
		}
	}
	g_free(answered);
}

/* Marks the signature block: up to SIGNATURE_LINES lines of at most SIGNATURE_WORDS words
 * after a line of closing words ("Un saludo,", "Best regards"). */
static void mark_signature(struct scan *s)
{
	guint n = s->tokens->len;

	for (guint i = 0; i < n;) {
		guint line = tok(s, i)->line, end = i;
		gboolean closing = FALSE, only_closing = TRUE;

		for (; end < n && tok(s, end)->line == line; end++) {
			enum word_class c = tok(s, end)->c;

			closing |= c == W_SIGNOFF;
			only_closing &=
			    c == W_SIGNOFF || c == W_FILLER || c == W_THANKS || c == W_ACK;
		}
		if (closing && only_closing) {
			guint lines = 0;

			for (guint j = end; j < n && lines < SIGNATURE_LINES;) {
				guint l = tok(s, j)->line, e = j;

				while (e < n && tok(s, e)->line == l)
					e++;
				if (e - j > SIGNATURE_WORDS)
					break;
				for (guint k = j; k < e; k++)
					tok(s, k)->signature = TRUE;
				lines++;
				j = e;
			}
			return;
		}
		i = end;
	}
}

/* TRUE when line is a short line of capitalised words only ("María José", "Pedro García"). */
static gboolean name_line(struct scan *s, guint i)
{
	guint line = tok(s, i)->line, first = i, last = i, n = s->tokens->len;

	while (first > 0 && tok(s, first - 1)->line == line)
		first--;
	while (last + 1 < n && tok(s, last + 1)->line == line)
		last++;
	if (last - first + 1 > NOISE_MAX_NAMES)
		return FALSE;
	for (guint k = first; k <= last; k++)
		if (!tok(s, k)->cap)
			return FALSE;
	return TRUE;
}

static void set_why(char *why_r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void set_why(char *why_r, const char *fmt, ...)
{
	va_list ap;

	if (why_r == NULL)
		return;
	va_start(ap, fmt);
	g_vsnprintf(why_r, NOISE_WHY_SIZE, fmt, ap);
	va_end(ap);
}

/* The verdict on what s read; subject_only says s read the subject. */
static gboolean decide(struct scan *s, gboolean subject_only, char *why_r)
{
	guint words = 0, others = 0, names = 0, acks = s->positive;
	gboolean confirmed = FALSE;
	GString *list = g_string_new(NULL);
	guint listed = 0;
	gboolean noise = FALSE;

	if (s->question) {
		if (s->question_emoji[0] != '\0')
			set_why(why_r, "\"%s\": a question", s->question_emoji);
		else
			set_why(why_r, "a question mark");
		goto out;
	}
	if (s->truncated) {
		set_why(why_r, "more than %d words", NOISE_MAX_WORDS);
		goto out;
	}
	classify_context(s);
	judge_problems(s);
	mark_signature(s);
	for (guint i = 0; i < s->tokens->len; i++) {
		struct token *t = tok(s, i);

		if (t->problem) {
			set_why(why_r, "\"%s\": %s", t->raw,
				t->c == W_PENDING   ? "not settled yet"
				: t->c == W_REQUEST ? "asks for something"
						    : "says something is not right");
			goto out;
		}
	}
	if (s->negative > 0) {
		set_why(why_r, "\"%s\": says something is not right", s->negative_emoji);
		goto out;
	}
	for (guint i = 0; i < s->tokens->len; i++) {
		struct token *t = tok(s, i);

		if (!t->signature)
			words++;
		switch (t->c) {
		case W_CONFIRM:
			confirmed = TRUE;
			/* fall through */
		case W_THANKS:
		case W_ACK:
		case W_CLOSE:
			acks++;
			if (listed < WHY_ACKS)
				g_string_append_printf(list, "%s\"%s\"", listed++ ? ", " : "",
						       t->raw);
			break;
		case W_OTHER:
			if (t->signature)
				break;
			if (t->cap && (!t->sentence_start || name_line(s, i)))
				names++;
			else
				others++;
			break;
		default:
			break;
		}
	}
	for (guint i = 0; i < s->positive && i < WHY_ACKS && listed < WHY_ACKS; i++, listed++)
		g_string_append_printf(list, "%s%s", listed ? ", " : "", s->positive_emoji[i]);
	if (words > NOISE_MAX_WORDS) {
		set_why(why_r, "more than %d words", NOISE_MAX_WORDS);
		goto out;
	}
	if (acks == 0) {
		set_why(why_r, "nothing in it thanks or acknowledges");
		goto out;
	}
	if (others > (confirmed ? NOISE_MAX_OTHER_CONFIRMED : NOISE_MAX_OTHER)) {
		set_why(why_r, "%u words besides thanks, greetings and courtesy (at most %d)",
			others, confirmed ? NOISE_MAX_OTHER_CONFIRMED : NOISE_MAX_OTHER);
		goto out;
	}
	if (names > NOISE_MAX_NAMES) {
		set_why(why_r, "%u words that read as names (at most %d)", names, NOISE_MAX_NAMES);
		goto out;
	}
	noise = TRUE;
	set_why(why_r, "only thanks or acknowledgement%s: %s%s",
		subject_only ? " (in the subject)" : "", list->str, acks > listed ? ", ..." : "");
out:
	g_string_free(list, TRUE);
	return noise;
}

gboolean noise_thanks_only(const char *text, const char *subject, unsigned attachments,
			   char why_r[NOISE_WHY_SIZE])
{
	g_autofree char *valid = g_utf8_make_valid(text != NULL ? text : "", -1);
	struct scan s = {.tokens = g_array_new(FALSE, FALSE, sizeof(struct token))};
	gboolean subject_only = FALSE, noise;

	if (attachments > 0) {
		set_why(why_r, "%u attachment%s: a file or a screenshot is content", attachments,
			attachments == 1 ? "" : "s");
		g_array_free(s.tokens, TRUE);
		return FALSE;
	}
	scan_text(valid, &s);
	if (s.tokens->len == 0 && s.positive == 0 && s.negative == 0 && !s.question) {
		/* an empty body under "Re: Gracias": the subject is what they wrote */
		g_autofree char *base = thread_subject_base(subject);
		g_autofree char *valid_base = g_utf8_make_valid(base, -1);

		scan_text(valid_base, &s);
		subject_only = TRUE;
	}
	if (s.tokens->len == 0 && s.positive == 0 && s.negative == 0 && !s.question) {
		set_why(why_r, "no text");
		noise = FALSE;
	} else {
		noise = decide(&s, subject_only, why_r);
	}
	g_array_free(s.tokens, TRUE);
	return noise;
}

/* Words that in the comment of a rating judge the service rather than say it is still broken:
 * the contrast and addition that introduce a critique ("4, pero tardasteis", "5, also thanks to
 * Ana") and the grades themselves ("2, muy lentos", "1, bad service"). A grade next after a
 * word that says it works ("funciona mal", "works bad", "va lento") still reports a problem. */
static const char *const rating_soft_words[] = {"pero",	   "aunque", "embargo",	     "but",
						"however", "though", "although",     "tambien",
						"ademas",  "also",   "additionally", NULL};
static const char *const rating_grade_words[] = {"mal",	   "peor",  "bad",    "worse",
						 "worst",  "lento", "lenta",  "lentos",
						 "lentas", "slow",  "slower", NULL};

/* What a negation ("no", "nada", "nothing"), "sin", "without" or "ningún" says nothing is wrong
 * with in a rating's comment: "no complaints", "sin quejas", "nada que añadir", "nothing else to
 * say", "ningún problema". */
static const char *const rating_none_words[] = {
    "queja",	  "quejas",  "pega",	 "pegas",     "reproche",   "reproches", "complaint",
    "complaints", "else",    "mas",	 "anadir",    "decir",	    "comentar",	 "add",
    "say",	  "comment", "comments", "objection", "objections", NULL};
static const char *const rating_none_markers[] = {"ningun", "ninguna", "ninguno", NULL};

/* Marks as no problem the words of s that say nothing is wrong (rating_none_words). */
static void rating_nothing_wrong(struct scan *s)
{
	for (guint i = 0; i < s->tokens->len; i++) {
		struct token *t = tok(s, i);
		int j;

		if (t->c != W_NEGATION && t->c != W_WITHOUT &&
		    !g_strv_contains(rating_none_markers, t->word))
			continue;
		j = content_near(s, i, 1);
		if (j < 0 || !(g_strv_contains(rating_none_words, tok(s, (guint)j)->word) ||
			       tok(s, (guint)j)->c == W_TROUBLE))
			continue;
		t->problem = FALSE;
		tok(s, (guint)j)->problem = FALSE;
	}
}

gboolean noise_comment_problem(const char *text, char why_r[NOISE_WHY_SIZE])
{
	g_autofree char *valid = g_utf8_make_valid(text != NULL ? text : "", -1);
	struct scan s = {.tokens = g_array_new(FALSE, FALSE, sizeof(struct token))};
	gboolean problem = FALSE;

	scan_text(valid, &s);
	if (s.question) {
		if (s.question_emoji[0] != '\0')
			set_why(why_r, "\"%s\": a question", s.question_emoji);
		else
			set_why(why_r, "a question mark");
		problem = TRUE;
		goto out;
	}
	if (s.truncated) {
		set_why(why_r, "more than %d words", SCAN_MAX);
		problem = TRUE;
		goto out;
	}
	classify_context(&s);
	judge_problems(&s);
	rating_nothing_wrong(&s);
	for (guint i = 0; i < s.tokens->len && !problem; i++) {
		struct token *t = tok(&s, i);

		if (!t->problem || g_strv_contains(rating_soft_words, t->word))
			continue;
		if (g_strv_contains(rating_grade_words, t->word) &&
		    !class_near(&s, i, -1, 2, W_CONFIRM, W_CONFIRM, W_CONFIRM))
			continue;
		problem = TRUE;
		set_why(why_r, "\"%s\": %s", t->raw,
			t->c == W_PENDING   ? "not settled yet"
			: t->c == W_REQUEST ? "asks for something"
					    : "says something is not right");
	}
	if (!problem)
		set_why(why_r, "nothing in it says something is still wrong");
out:
	g_array_free(s.tokens, TRUE);
	return problem;
}
