/* Which ticket an incoming mail belongs to, and whether its sender may add to it. spocd tags every
 * Message-ID it mints and every reply address it hands out with an HMAC, so a ticket number inside
 * them cannot be changed or made up; thread_decide() then weighs what the caller found (a minted or
 * stored Message-ID, a reply token, a subject tag) against who the sender is to that ticket. The
 * rule that keeps the "Ticket Trick" out: evidence only says WHICH ticket a mail is about; only
 * being a participant or an authenticated agent of that ticket lets a mail INTO it. Everything
 * else becomes a new ticket of its own sender, linked for the agents to see. Pure: no I/O. */
#include "thread.h"
#include "ticket.h"

#include "compose.h"

#include <string.h>

/* RFC 4648 base32, lower case because mail systems lowercase local parts. */
static const char b32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

/* 16 base32 characters: 80 bits of HMAC-SHA256, beyond reach of online guessing. */
#define TAG_LEN 16
/* 12 base32 characters: 60 random bits keep Message-IDs unique; they need not be secret (the tag
 * is what cannot be forged). */
#define RANDOM_LEN 12
/* The longest canonical decimal of an int64_t. */
#define DEC_MAX 19

#define MSGID_PREFIX "spocd."
/* Domain separation: a tag computed for one use is never valid for the other. */
#define LABEL_MSGID "msgid"
#define LABEL_TOKEN "reply-token"
#define LABEL_AGENT "agent-token"
#define LABEL_VERP  "verp"
/* First character of a VERP token: a reply token starts with a digit, so the two never mix. */
#define VERP_MARK 'b'
/* Between the ticket and the agent in a token: not a digit, so the two numbers cannot run into
 * each other. */
#define TOKEN_SEP 'a'
/* Digits of THREAD_TOKEN_MAX_ID; two ids of this length, the separator, kid and tag still fit in
 * THREAD_TOKEN_MAX. */
#define TOKEN_ID_DIGITS 11
G_STATIC_ASSERT(THREAD_TOKEN_MAX_ID == INT64_C(99999999999));
G_STATIC_ASSERT(2 * TOKEN_ID_DIGITS + 1 + 1 + TAG_LEN <= THREAD_TOKEN_MAX);
/* An agent token's day and generation, after their 'd' and 'g'. */
#define TOKEN_DAY_DIGITS 6
#define TOKEN_GEN_DIGITS 6
G_STATIC_ASSERT(THREAD_TOKEN_MAX_DAY == INT64_C(999999));
G_STATIC_ASSERT(THREAD_TOKEN_MAX_GEN == INT64_C(999999));
G_STATIC_ASSERT(2 * TOKEN_ID_DIGITS + 1 + 1 + TOKEN_DAY_DIGITS + 1 + TOKEN_GEN_DIGITS + 1 +
		    TAG_LEN <=
		THREAD_TOKEN_MAX);

static gboolean is_b32(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7');
}

/* Writes the first nchars base32 characters of data[0..len) to out (not terminated). */
static void b32_encode(const guint8 *data, size_t len, size_t nchars, char *out)
{
	for (size_t i = 0; i < nchars; i++) {
		size_t bit = i * 5, byte = bit / 8;
		unsigned int window = (unsigned int)data[byte] << 8;

		if (byte + 1 < len)
			window |= data[byte + 1];
		out[i] = b32_alphabet[(window >> (11 - bit % 8)) & 31];
	}
}

/* The key id of a secret: the first base32 character of its SHA-256. Derived from the secret and
 * not from its position, so a key keeps its id when rotation moves it from [0] to [1]. */
static char key_id(const char *secret, size_t len)
{
	guint8 digest[32];
	gsize dlen = sizeof(digest);
	GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
	char kid;

	g_checksum_update(ck, (const guchar *)secret, len);
	g_checksum_get_digest(ck, digest, &dlen);
	g_checksum_free(ck);
	b32_encode(digest, dlen, 1, &kid);
	return kid;
}

/* Free function of a secret's GBytes: the copy is wiped before it goes back to the allocator. */
static void secret_wipe(gpointer data)
{
	explicit_bzero(data, strlen(data));
	g_free(data);
}

struct thread_keys *thread_keys_new(const char *const *secrets, struct errbuf *err)
{
	struct thread_keys *keys;
	GString *kids;

	if (secrets == NULL || secrets[0] == NULL) {
		errbuf_set(err, SPOC_EPERM, "no secret: at least one of %d bytes or more is needed",
			   THREAD_SECRET_MIN);
		return NULL;
	}
	kids = g_string_new(NULL);
	for (size_t i = 0; secrets[i] != NULL; i++) {
		size_t len = strlen(secrets[i]);
		const char *dup;
		char kid;

		/* Secrets are named by position, never quoted: error text goes to logs. */
		if (len < THREAD_SECRET_MIN) {
			errbuf_set(err, SPOC_EPERM,
				   "secret %zu: %zu bytes, at least %d are needed (e.g. the output "
				   "of: head -c 32 /dev/urandom | base64)",
				   i + 1, len, THREAD_SECRET_MIN);
			g_string_free(kids, TRUE);
			return NULL;
		}
		kid = key_id(secrets[i], len);
		dup = strchr(kids->str, kid);
		if (dup != NULL) {
			size_t j = (size_t)(dup - kids->str);

			if (strcmp(secrets[j], secrets[i]) == 0)
				errbuf_set(err, SPOC_EPERM, "secret %zu repeats secret %zu", i + 1,
					   j + 1);
			else
				/* j is the newer of the two: replacing it keeps what the older one
				 * signed verifiable. */
				errbuf_set(
				    err, SPOC_EPERM,
				    "secrets %zu and %zu have the same key id '%c' (the first "
				    "base32 character of their SHA-256): replace secret %zu with "
				    "another newly generated one",
				    j + 1, i + 1, kid, j + 1);
			g_string_free(kids, TRUE);
			return NULL;
		}
		g_string_append_c(kids, kid);
	}

	keys = g_new0(struct thread_keys, 1);
	keys->secrets = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	for (size_t i = 0; secrets[i] != NULL; i++) {
		size_t len = strlen(secrets[i]);
		char *copy = g_strndup(secrets[i], len);

		g_ptr_array_add(keys->secrets,
				g_bytes_new_with_free_func(copy, len, secret_wipe, copy));
	}
	keys->kids = g_string_free(kids, FALSE);
	return keys;
}

void thread_keys_free(struct thread_keys **keys)
{
	if (keys == NULL || *keys == NULL)
		return;
	g_ptr_array_unref((*keys)->secrets);
	g_free((*keys)->kids);
	g_free(*keys);
	*keys = NULL;
}

/* TAG_LEN base32 characters (terminated) of HMAC-SHA256(secret, label "\0" a "\0" b). The NULs
 * keep the fields apart: ("1", "23") and ("12", "3") are different inputs. */
static void mac_tag(GBytes *secret, const char *label, const char *a, const char *b,
		    char tag[TAG_LEN + 1])
{
	gsize keylen, dlen;
	const guchar *key = g_bytes_get_data(secret, &keylen);
	GHmac *hmac = g_hmac_new(G_CHECKSUM_SHA256, key, keylen);
	guint8 digest[32];

	g_hmac_update(hmac, (const guchar *)label, (gssize)strlen(label) + 1);
	g_hmac_update(hmac, (const guchar *)a, (gssize)strlen(a) + 1);
	g_hmac_update(hmac, (const guchar *)b, (gssize)strlen(b));
	dlen = sizeof(digest);
	g_hmac_get_digest(hmac, digest, &dlen);
	g_hmac_unref(hmac);
	b32_encode(digest, dlen, TAG_LEN, tag);
	tag[TAG_LEN] = '\0';
}

/* TRUE when tag (TAG_LEN characters, not necessarily terminated) is the tag of (label, a, b) under
 * the configured key whose id is kid. The comparison takes the same time wherever the first
 * difference is, so a forger learns nothing from how fast a guess is refused. */
static gboolean tag_valid(const struct thread_keys *keys, char kid, const char *label,
			  const char *a, const char *b, const char *tag)
{
	char want[TAG_LEN + 1];
	volatile unsigned char diff = 0;
	const char *slot;

	if (kid == '\0' || (slot = strchr(keys->kids, kid)) == NULL)
		return FALSE;
	mac_tag(g_ptr_array_index(keys->secrets, slot - keys->kids), label, a, b, want);
	for (size_t i = 0; i < TAG_LEN; i++)
		diff |= (unsigned char)(want[i] ^ tag[i]);
	return diff == 0;
}

/* Parses the canonical decimal (no sign, no leading zero but in "0" itself) at the start of s, of
 * at most max_digits digits and within int64_t; returns how many characters it spans, 0 when
 * there is none. One spelling per number: a tag cannot be replayed under "0042" for "42". */
static size_t dec_scan(const char *s, size_t max_digits, int64_t *v_r)
{
	int64_t v = 0;
	size_t n = 0;

	while (g_ascii_isdigit(s[n])) {
		int d = s[n] - '0';

		if (n == max_digits || (n == 1 && v == 0) || v > (INT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
		n++;
	}
	*v_r = v;
	return n;
}

char *thread_mint_message_id(const struct thread_keys *keys, int64_t ticket_id, const char *domain)
{
	char num[DEC_MAX + 1], rnd[RANDOM_LEN + 1], tag[TAG_LEN + 1];

	if (keys == NULL || keys->secrets->len == 0 || ticket_id < 1 || domain == NULL ||
	    domain[0] == '\0')
		return NULL;
	g_snprintf(num, sizeof(num), "%" G_GINT64_FORMAT, ticket_id);
	for (size_t i = 0; i < RANDOM_LEN; i++)
		rnd[i] = b32_alphabet[g_random_int_range(0, 32)];
	rnd[RANDOM_LEN] = '\0';
	mac_tag(g_ptr_array_index(keys->secrets, 0), LABEL_MSGID, num, rnd, tag);
	return g_strdup_printf(MSGID_PREFIX "%s.%s.%c%s@%s", num, rnd, keys->kids[0], tag, domain);
}

gboolean thread_verify_message_id(const struct thread_keys *keys, const char *msgid,
				  const char *domain, int64_t *ticket_r)
{
	char num[DEC_MAX + 1], rnd[RANDOM_LEN + 1];
	const char *p;
	int64_t ticket;
	size_t n;

	if (keys == NULL || msgid == NULL || domain == NULL || domain[0] == '\0' ||
	    strncmp(msgid, MSGID_PREFIX, strlen(MSGID_PREFIX)) != 0)
		return FALSE;
	p = msgid + strlen(MSGID_PREFIX);
	n = dec_scan(p, DEC_MAX, &ticket);
	if (n == 0 || ticket < 1 || p[n] != '.')
		return FALSE;
	memcpy(num, p, n);
	num[n] = '\0';
	p += n + 1;
	/* is_b32() is FALSE for '\0': none of these reads runs past the end. */
	for (n = 0; n < RANDOM_LEN; n++)
		if (!is_b32(p[n]))
			return FALSE;
	if (p[RANDOM_LEN] != '.')
		return FALSE;
	memcpy(rnd, p, RANDOM_LEN);
	rnd[RANDOM_LEN] = '\0';
	p += RANDOM_LEN + 1;
	for (n = 0; n < 1 + TAG_LEN; n++)
		if (!is_b32(p[n]))
			return FALSE;
	if (p[1 + TAG_LEN] != '@' || g_ascii_strcasecmp(p + 2 + TAG_LEN, domain) != 0)
		return FALSE;
	if (!tag_valid(keys, p[0], LABEL_MSGID, num, rnd, p + 1))
		return FALSE;
	if (ticket_r != NULL)
		*ticket_r = ticket;
	return TRUE;
}

char *thread_mint_reply_token(const struct thread_keys *keys, int64_t ticket_id, int64_t agent_id)
{
	char num[DEC_MAX + 1], agent[DEC_MAX + 1], tag[TAG_LEN + 1];

	if (keys == NULL || keys->secrets->len == 0 || ticket_id < 1 ||
	    ticket_id > THREAD_TOKEN_MAX_ID || agent_id < 0 || agent_id > THREAD_TOKEN_MAX_ID)
		return NULL;
	g_snprintf(num, sizeof(num), "%" G_GINT64_FORMAT, ticket_id);
	g_snprintf(agent, sizeof(agent), "%" G_GINT64_FORMAT, agent_id);
	mac_tag(g_ptr_array_index(keys->secrets, 0), LABEL_TOKEN, num, agent, tag);
	return g_strdup_printf("%s%c%s%c%s", num, TOKEN_SEP, agent, keys->kids[0], tag);
}

gboolean thread_verify_reply_token(const struct thread_keys *keys, const char *token,
				   int64_t *ticket_r, int64_t *agent_r)
{
	char head[THREAD_TOKEN_MAX + 1], num[DEC_MAX + 1], agent[DEC_MAX + 1];
	const char *tail;
	int64_t ticket, agent_id;
	size_t len, n, m;

	if (keys == NULL || token == NULL)
		return FALSE;
	len = strnlen(token, THREAD_TOKEN_MAX + 1);
	if (len > THREAD_TOKEN_MAX || len < 3 + 1 + TAG_LEN)
		return FALSE;
	/* kid and tag have a fixed length at the end; parsing from there keeps a kid that is a
	 * digit from being read as part of the agent id */
	tail = token + len - (1 + TAG_LEN);
	for (n = 0; n < 1 + TAG_LEN; n++)
		if (!is_b32(tail[n]))
			return FALSE;
	memcpy(head, token, (size_t)(tail - token));
	head[tail - token] = '\0';
	n = dec_scan(head, TOKEN_ID_DIGITS, &ticket);
	if (n == 0 || ticket < 1 || head[n] != TOKEN_SEP)
		return FALSE;
	m = dec_scan(head + n + 1, TOKEN_ID_DIGITS, &agent_id);
	if (m == 0 || head[n + 1 + m] != '\0')
		return FALSE;
	memcpy(num, head, n);
	num[n] = '\0';
	memcpy(agent, head + n + 1, m + 1);
	if (!tag_valid(keys, tail[0], LABEL_TOKEN, num, agent, tail + 1))
		return FALSE;
	if (ticket_r != NULL)
		*ticket_r = ticket;
	if (agent_r != NULL)
		*agent_r = agent_id;
	return TRUE;
}

char *thread_mint_agent_token(const struct thread_keys *keys, int64_t ticket_id, int64_t agent_id,
			      int64_t day, int64_t generation)
{
	char num[DEC_MAX + 1], rest[3 * (DEC_MAX + 1)], tag[TAG_LEN + 1];

	if (keys == NULL || keys->secrets->len == 0 || ticket_id < 1 ||
	    ticket_id > THREAD_TOKEN_MAX_ID || agent_id < 1 || agent_id > THREAD_TOKEN_MAX_ID ||
	    day < 1 || day > THREAD_TOKEN_MAX_DAY || generation < 0 ||
	    generation > THREAD_TOKEN_MAX_GEN)
		return NULL;
	g_snprintf(num, sizeof(num), "%" G_GINT64_FORMAT, ticket_id);
	g_snprintf(rest, sizeof(rest),
		   "%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT, agent_id, day,
		   generation);
	mac_tag(g_ptr_array_index(keys->secrets, 0), LABEL_AGENT, num, rest, tag);
	return g_strdup_printf("%s%c%" G_GINT64_FORMAT "d%" G_GINT64_FORMAT "g%" G_GINT64_FORMAT
			       "%c%s",
			       num, TOKEN_SEP, agent_id, day, generation, keys->kids[0], tag);
}

/* An agent token's fields: head is what precedes kid and tag. */
static gboolean agent_token_verify(const struct thread_keys *keys, const char *head,
				   const char *tail, struct thread_token *t)
{
	char num[DEC_MAX + 1], rest[3 * (DEC_MAX + 1)];
	size_t n, m, k, g;

	n = dec_scan(head, TOKEN_ID_DIGITS, &t->ticket);
	if (n == 0 || t->ticket < 1 || head[n] != TOKEN_SEP)
		return FALSE;
	m = dec_scan(head + n + 1, TOKEN_ID_DIGITS, &t->agent);
	if (m == 0 || t->agent < 1 || head[n + 1 + m] != 'd')
		return FALSE;
	k = dec_scan(head + n + 2 + m, TOKEN_DAY_DIGITS, &t->day);
	if (k == 0 || t->day < 1 || head[n + 2 + m + k] != 'g')
		return FALSE;
	g = dec_scan(head + n + 3 + m + k, TOKEN_GEN_DIGITS, &t->generation);
	if (g == 0 || head[n + 3 + m + k + g] != '\0')
		return FALSE;
	memcpy(num, head, n);
	num[n] = '\0';
	g_snprintf(rest, sizeof(rest),
		   "%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT, t->agent, t->day,
		   t->generation);
	return tag_valid(keys, tail[0], LABEL_AGENT, num, rest, tail + 1);
}

gboolean thread_verify_token(const struct thread_keys *keys, const char *token,
			     struct thread_token *t_r)
{
	char head[THREAD_TOKEN_MAX + 1];
	struct thread_token t = {0};
	const char *tail;
	size_t len;

	if (keys == NULL || token == NULL)
		return FALSE;
	len = strnlen(token, THREAD_TOKEN_MAX + 1);
	if (len > THREAD_TOKEN_MAX || len < 3 + 1 + TAG_LEN)
		return FALSE;
	/* kid and tag have a fixed length at the end; only an agent token has a 'd' before them */
	tail = token + len - (1 + TAG_LEN);
	if (memchr(token, 'd', (size_t)(tail - token)) == NULL) {
		if (!thread_verify_reply_token(keys, token, &t.ticket, &t.agent))
			return FALSE;
	} else {
		for (size_t i = 0; i < 1 + TAG_LEN; i++)
			if (!is_b32(tail[i]))
				return FALSE;
		memcpy(head, token, (size_t)(tail - token));
		head[tail - token] = '\0';
		if (!agent_token_verify(keys, head, tail, &t))
			return FALSE;
	}
	if (t_r != NULL)
		*t_r = t;
	return TRUE;
}

char *thread_mint_verp_token(const struct thread_keys *keys, int64_t outbox_id)
{
	char num[DEC_MAX + 1], tag[TAG_LEN + 1];

	if (keys == NULL || keys->secrets->len == 0 || outbox_id < 1)
		return NULL;
	g_snprintf(num, sizeof(num), "%" G_GINT64_FORMAT, outbox_id);
	mac_tag(g_ptr_array_index(keys->secrets, 0), LABEL_VERP, num, "", tag);
	return g_strdup_printf("%c%s%c%s", VERP_MARK, num, keys->kids[0], tag);
}

gboolean thread_verify_verp_token(const struct thread_keys *keys, const char *token,
				  int64_t *outbox_r)
{
	char num[DEC_MAX + 1], low[THREAD_TOKEN_MAX + 1];
	int64_t id;
	size_t len, n;

	if (keys == NULL || token == NULL)
		return FALSE;
	len = strnlen(token, THREAD_TOKEN_MAX + 1);
	if (len > THREAD_TOKEN_MAX || len < 2 + 1 + TAG_LEN)
		return FALSE;
	/* some MTAs change the case of the local part they return to */
	for (size_t i = 0; i <= len; i++)
		low[i] = g_ascii_tolower(token[i]);
	if (low[0] != VERP_MARK)
		return FALSE;
	/* key id and tag have a fixed length at the end: a key id that is a digit is not part of
	 * the number */
	for (size_t i = len - (1 + TAG_LEN); i < len; i++)
		if (!is_b32(low[i]))
			return FALSE;
	low[len - (1 + TAG_LEN)] = '\0';
	n = dec_scan(low + 1, DEC_MAX, &id);
	if (n == 0 || id < 1 || 1 + n != len - (1 + TAG_LEN))
		return FALSE;
	low[len - (1 + TAG_LEN)] = g_ascii_tolower(token[len - (1 + TAG_LEN)]);
	memcpy(num, low + 1, n);
	num[n] = '\0';
	if (!tag_valid(keys, low[1 + n], LABEL_VERP, num, "", low + 2 + n))
		return FALSE;
	if (outbox_r != NULL)
		*outbox_r = id;
	return TRUE;
}

char *thread_token_from_address(const char *addr, const char *const *desk_addresses)
{
	const char *at;

	if (addr == NULL || desk_addresses == NULL || (at = strrchr(addr, '@')) == NULL)
		return NULL;
	/* Keep looking after a near miss: "help+it@desk" and "help@desk" may both be desk
	 * addresses, and only one of them leaves an alphanumeric token. */
	for (size_t i = 0; desk_addresses[i] != NULL; i++) {
		const char *desk = desk_addresses[i], *desk_at = strrchr(desk, '@');
		const char *token;
		size_t local, tlen;
		gboolean alnum = TRUE;

		if (desk_at == NULL || desk_at == desk)
			continue;
		local = (size_t)(desk_at - desk);
		if ((size_t)(at - addr) <= local + 1 ||
		    g_ascii_strncasecmp(addr, desk, local) != 0 || addr[local] != '+' ||
		    g_ascii_strcasecmp(at + 1, desk_at + 1) != 0)
			continue;
		token = addr + local + 1;
		tlen = (size_t)(at - token);
		for (size_t j = 0; j < tlen; j++)
			alnum = alnum && g_ascii_isalnum(token[j]);
		if (tlen <= THREAD_TOKEN_MAX && alnum)
			return g_ascii_strdown(token, (gssize)tlen);
	}
	return NULL;
}

/* Bytes of the blank at p (ASCII space, tab, CR, LF; U+00A0 and U+3000, which mail clients put
 * in subjects too), 0 when p is not at one. */
static size_t blank_len(const char *p)
{
	if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		return 1;
	if ((unsigned char)p[0] == 0xc2 && (unsigned char)p[1] == 0xa0)
		return 2;
	if ((unsigned char)p[0] == 0xe3 && (unsigned char)p[1] == 0x80 &&
	    (unsigned char)p[2] == 0x80)
		return 3;
	return 0;
}

static const char *skip_blanks(const char *p)
{
	for (size_t n; (n = blank_len(p)) > 0;)
		p += n;
	return p;
}

/* Bytes of the "[INC-000123]" tag at p, 0 when there is none: exactly what ticket_find_tag()
 * accepts, so what we strip is what we would have matched. The closing bracket is looked for
 * no further than a tag can reach, so a subject of a quarter million '[' costs a quarter million
 * short looks, not one search to its end each. */
static size_t tag_len(const char *p)
{
	char inner[32];
	const char *close;
	size_t n;

	if (p[0] != '[' || (close = memchr(p + 1, ']', strnlen(p + 1, sizeof(inner)))) == NULL)
		return 0;
	n = (size_t)(close - p - 1);
	if (n == 0 || n >= sizeof(inner) || g_ascii_isspace(p[1]) || g_ascii_isspace(close[-1]))
		return 0;
	memcpy(inner, p + 1, n);
	inner[n] = '\0';
	return ticket_parse(inner, NULL, NULL) ? n + 2 : 0;
}

/* Bytes of the reply or forward prefix at p ("Re:", "RV[2]:", "TR :", "AW："), 0 when none. The
 * words are those of the mail clients our requesters use: English, Spanish and Portuguese (RV,
 * RES, Enc), German (AW, WG), Nordic (SV, VS) and French (TR). */
static size_t prefix_len(const char *p)
{
	static const char *const words[] = {"re", "fwd", "fw", "rv", "res", "aw",
					    "sv", "vs",	 "wg", "tr", "enc"};

	for (size_t i = 0; i < G_N_ELEMENTS(words); i++) {
		size_t n = strlen(words[i]);
		const char *q = p + n;

		if (g_ascii_strncasecmp(p, words[i], n) != 0)
			continue;
		if (*q == '[') {
			const char *d = q + 1;

			while (g_ascii_isdigit(*d) && d - q <= 4)
				d++;
			if (d == q + 1 || *d != ']')
				continue;
			q = d + 1;
		}
		q = skip_blanks(q);
		if (*q == ':')
			return (size_t)(q + 1 - p);
		if (strncmp(q, "\xef\xbc\x9a", 3) == 0) /* U+FF1A FULLWIDTH COLON */
			return (size_t)(q + 3 - p);
	}
	return 0;
}

char *thread_subject_base(const char *subject)
{
	GString *untagged, *out;
	gboolean blank = FALSE;
	const char *p;

	if (subject == NULL)
		return g_strdup("");
	/* Tags go first, wherever they are ("Re: [INC-000123] Re: printer" as well as "printer
	 * [INC-000123]"); a blank takes their place so the words around them stay apart. */
	untagged = g_string_sized_new(strlen(subject));
	for (p = subject; *p != '\0';) {
		size_t n = tag_len(p);

		if (n > 0) {
			g_string_append_c(untagged, ' ');
			p += n;
		} else {
			g_string_append_c(untagged, *p++);
		}
	}
	for (p = skip_blanks(untagged->str);;) {
		size_t n = prefix_len(p);

		if (n == 0)
			break;
		p = skip_blanks(p + n);
	}
	out = g_string_sized_new(strlen(p));
	while (*p != '\0') {
		size_t n = blank_len(p);

		if (n > 0) {
			blank = TRUE;
			p += n;
			continue;
		}
		if (blank && out->len > 0)
			g_string_append_c(out, ' ');
		blank = FALSE;
		g_string_append_c(out, *p++);
	}
	g_string_free(untagged, TRUE);
	return g_string_free(out, FALSE);
}

/* The decision.
 *
 * Where to look, strongest evidence first: (a) a Message-ID we minted (its HMAC proves the ticket
 * number in it is ours), then the Message-ID of a message stored on a ticket; (b) a reply token;
 * (c) the subject tag. The first candidate the sender may write to wins.
 *
 * Who may write to a ticket: a participant of it, or an authenticated agent (both decided by the
 * caller), and nobody else, whatever the evidence. Each kind of evidence reaches strangers:
 *   - a subject tag is typed, guessed or counted up to by anyone;
 *   - a stored Message-ID was written by someone's mail client and travels with every copy of that
 *     mail (Cc'd colleagues, lists, forwards); nobody treats Message-IDs as secret;
 *   - a minted Message-ID is ours, but it goes on in the References of every later reply, to
 *     whoever those replies reach, and an attacker who owns a ticket receives valid minted ids of
 *     that ticket: he can send a third party a mail with Message-ID set to one of them, and an
 *     auto-responder or an unaware person there answers with In-Reply-To naming it;
 *   - a reply token is the original Ticket Trick itself: an attacker opens a ticket, receives
 *     desk+<token>@ as its reply address, and signs up with it at a service that trusts mail to
 *     the company's domain; the service's confirmation mail arrives with a valid token and, if
 *     the token were enough, would land on the attacker's ticket and be sent to him.
 * So a valid HMAC says which ticket, never who may join it. A stranger's mail becomes a new ticket
 * of its own (only its sender is told anything), linked "possibly-related" to the first ticket it
 * pointed at, for an agent to merge or add the person by hand. The price: a colleague to whom a
 * requester forwarded a notification gets a ticket of his own when he answers, until an agent
 * links him in; a delegated reply is worth less than a leaked ticket.
 *
 * Then the chosen ticket's status:
 *   - closed (or a status we do not know): nobody changes it by mail, agents included, since
 *     closed is final in ITIL and reports rely on it: a new "follow-up" ticket linked to it;
 *   - resolved, written to by an agent: attach without reopening; an agent's note ("we replaced
 *     the toner") is not the customer saying it is still broken, and an agent who wants it
 *     reopened does so in the tool;
 *   - resolved, within reopen_window_s of resolved_at: reopen (the customer says it is not fixed);
 *   - resolved longer ago, or when resolved_at, now or the window is missing: a new "follow-up"
 *     ticket, so an old resolution and its SLA figures stay as they were;
 *   - new, in progress, pending: attach. (Whether a reply moves "pending" back to "in progress" is
 *     the caller's business; it is not a reopening.) */

enum evidence { EV_MINTED, EV_STORED, EV_TOKEN, EV_SUBJECT, EV_COUNT };

enum outcome { OC_ATTACH, OC_AGENT_ON_RESOLVED, OC_REOPEN, OC_AFTER_WINDOW, OC_CLOSED, OC_COUNT };

#define WHY_OUTCOMES(ev)                                                                           \
	{                                                                                          \
		ev ", sender may write to it: attach",                                             \
		    ev ", sender is an agent: attach to the resolved ticket without reopening",    \
		    ev ", sender may write to it: resolved within the reopen window: reopen",      \
		    ev ", sender may write to it: resolved before the reopen window: new "         \
		       "follow-up ticket",                                                         \
		    ev ", sender may write to it: closed: new follow-up ticket",                   \
	}

#define EV_MINTED_TEXT	"In-Reply-To/References name a Message-ID we minted (HMAC verified)"
#define EV_STORED_TEXT	"In-Reply-To/References name a message stored on the ticket"
#define EV_TOKEN_TEXT	"a recipient carries a verified reply token"
#define EV_SUBJECT_TEXT "the subject tag names the ticket"

static const char *const why_outcome[EV_COUNT][OC_COUNT] = {
    WHY_OUTCOMES(EV_MINTED_TEXT),
    WHY_OUTCOMES(EV_STORED_TEXT),
    WHY_OUTCOMES(EV_TOKEN_TEXT),
    WHY_OUTCOMES(EV_SUBJECT_TEXT),
};

#define WHY_STRANGER                                                                               \
	" but the sender is neither a participant nor an agent: new ticket, possibly related"

static const char *const why_stranger[EV_COUNT] = {
    EV_MINTED_TEXT "," WHY_STRANGER,
    EV_STORED_TEXT "," WHY_STRANGER,
    EV_TOKEN_TEXT "," WHY_STRANGER,
    EV_SUBJECT_TEXT "," WHY_STRANGER,
};

/* TRUE when now is at most reopen_window_s after c's resolution. */
static gboolean within_window(const struct thread_facts *f, const struct thread_candidate *c)
{
	if (c->resolved_at == NULL || f->now == NULL || f->reopen_window_s <= 0)
		return FALSE;
	/* A resolution in the future (clocks apart) counts as within. */
	return g_date_time_difference(f->now, c->resolved_at) <=
	       (GTimeSpan)f->reopen_window_s * G_TIME_SPAN_SECOND;
}

static enum outcome status_outcome(const struct thread_facts *f, const struct thread_candidate *c)
{
	switch (c->status) {
	case TICKET_NEW:
	case TICKET_IN_PROGRESS:
	case TICKET_PENDING:
		return OC_ATTACH;
	case TICKET_RESOLVED:
		if (c->sender_is_agent)
			return OC_AGENT_ON_RESOLVED;
		return within_window(f, c) ? OC_REOPEN : OC_AFTER_WINDOW;
	case TICKET_CLOSED:
	default:
		return OC_CLOSED;
	}
}

void thread_decide(const struct thread_facts *facts, struct thread_verdict *v)
{
	const struct thread_candidate *by[EV_COUNT] = {&facts->by_minted_id, &facts->by_stored_id,
						       &facts->by_token, &facts->by_subject_tag};
	int stranger = -1;

	memset(v, 0, sizeof(*v));
	for (int e = 0; e < EV_COUNT; e++) {
		const struct thread_candidate *c = by[e];
		enum outcome oc;

		if (c->ticket_id <= 0)
			continue;
		if (!c->sender_is_participant && !c->sender_is_agent) {
			if (stranger < 0)
				stranger = e;
			continue;
		}
		oc = status_outcome(facts, c);
		v->why = why_outcome[e][oc];
		switch (oc) {
		case OC_ATTACH:
		case OC_AGENT_ON_RESOLVED:
			v->action = THREAD_ATTACH;
			v->ticket_id = c->ticket_id;
			break;
		case OC_REOPEN:
			v->action = THREAD_REOPEN;
			v->ticket_id = c->ticket_id;
			break;
		case OC_AFTER_WINDOW:
		case OC_CLOSED:
		default:
			v->action = THREAD_NEW_LINKED;
			v->link_ticket_id = c->ticket_id;
			v->link_kind = THREAD_LINK_FOLLOW_UP;
			break;
		}
		return;
	}
	if (stranger >= 0) {
		v->action = THREAD_NEW_LINKED;
		v->link_ticket_id = by[stranger]->ticket_id;
		v->link_kind = THREAD_LINK_POSSIBLY_RELATED;
		v->why = why_stranger[stranger];
		return;
	}
	v->action = THREAD_NEW_TICKET;
	v->why = "nothing names an existing ticket: new ticket";
}

void thread_reply_headers(const GPtrArray *chain, char **in_reply_to_r, GPtrArray **references_r)
{
	GPtrArray *ok = g_ptr_array_new_with_free_func(g_free);
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);

	/* latest first, so a repeated id keeps its latest place */
	for (guint i = chain != NULL ? chain->len : 0; i > 0; i--) {
		const char *id = g_ptr_array_index(chain, i - 1);

		if (!compose_msgid_valid(id) || g_hash_table_contains(seen, id))
			continue;
		g_hash_table_add(seen, (gpointer)id);
		g_ptr_array_add(ok, g_strdup(id));
	}
	g_hash_table_unref(seen);
	/* ok is latest first: keep the THREAD_MAX_REFERENCES - 1 latest and the oldest */
	if (ok->len > THREAD_MAX_REFERENCES)
		g_ptr_array_remove_range(ok, THREAD_MAX_REFERENCES - 1,
					 ok->len - THREAD_MAX_REFERENCES);
	*in_reply_to_r = ok->len > 0 ? g_strdup(g_ptr_array_index(ok, 0)) : NULL;
	for (guint i = 0, j = ok->len; i + 1 < j; i++, j--) {
		gpointer tmp = ok->pdata[i];

		ok->pdata[i] = ok->pdata[j - 1];
		ok->pdata[j - 1] = tmp;
	}
	*references_r = ok;
}
