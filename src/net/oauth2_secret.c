/* What every oauth2_*.c file of net/ stands on: memory for secrets (its own mapping, excluded
 * from core dumps, wiped before it is unmapped), the notice function spocd installs, and JSON
 * member access. oauth2.c (tokens), oauth2_jwt.c (signed assertions) and oauth2_keep.c (rotated
 * tokens kept sealed) use these and none uses another's internals through here. */
#include "oauth2.h"
#include "oauth2_priv.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- memory for secrets ---- */

/* A secret buffer: its own anonymous mapping, excluded from core dumps. The mapping's length is
 * kept in front of the returned pointer. g_error() when memory runs out, as g_malloc() does. */
char *oauth2_secret_alloc(size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), total;
	void *p;

	total = (len + sizeof(size_t) + 1 + page - 1) / page * page;
	p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		g_error("oauth2: cannot map %zu bytes: %s", total, g_strerror(errno));
	(void)madvise(p, total, MADV_DONTDUMP);
	*(size_t *)p = total;
	return (char *)p + sizeof(size_t);
}

void oauth2_secret_free(char *s)
{
	size_t total;

	if (s == NULL)
		return;
	total = *(size_t *)(void *)(s - sizeof(size_t));
	explicit_bzero(s - sizeof(size_t), total);
	munmap(s - sizeof(size_t), total);
}

char *oauth2_secret_dup(const char *s, size_t len)
{
	char *out = oauth2_secret_alloc(len);

	memcpy(out, s, len);
	out[len] = '\0';
	return out;
}

/* ---- notices ---- */

static void (*notice_fn)(int level, const char *text);

void oauth2_set_notice(void (*fn)(int level, const char *text))
{
	notice_fn = fn;
}

void oauth2_notice(int level, const char *fmt, ...)
{
	va_list ap;
	char *text;

	if (notice_fn == NULL)
		return;
	va_start(ap, fmt);
	text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	notice_fn(level, text);
	g_free(text);
}

/* ---- JSON ---- */

const char *oauth2_member_string(JsonObject *obj, const char *name)
{
	JsonNode *n = json_object_get_member(obj, name);

	if (n == NULL || JSON_NODE_TYPE(n) != JSON_NODE_VALUE ||
	    json_node_get_value_type(n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(n);
}
