/* libconfig -> struct spoc_conf. Every setting is read and checked here, once, so the rest of the
 * program can trust the struct: an error names the file, the line, the setting and what is
 * allowed. Passwords are read from their own files; paths are relative to the config file. */
#include "conf_priv.h"
#include "conf_oauth.h"
#include "conf_rules.h"
#include "mime.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <libconfig.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

int conf_line_of(struct reader *r, const char *name)
{
	config_setting_t *s = config_lookup(&r->cfg, name);

	return s != NULL ? config_setting_source_line(s) : 0;
}

/* Records the first error only: it is the one a person should fix first. */
void conf_fail(struct reader *r, const char *name, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	int line;

	if (r->failed)
		return;
	r->failed = TRUE;
	va_start(ap, fmt);
	g_vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	line = conf_line_of(r, name);
	if (line > 0)
		errbuf_set(r->err, 1, "%s:%d: %s: %s", r->path, line, name, what);
	else
		errbuf_set(r->err, 1, "%s: %s: %s", r->path, name, what);
}

char *conf_get_string(struct reader *r, const char *name, const char *dflt)
{
	config_setting_t *s = config_lookup(&r->cfg, name);
	const char *v;

	if (s == NULL) {
		if (dflt == NULL)
			conf_fail(r, name, "missing: this setting is required");
		return g_strdup(dflt);
	}
	v = config_setting_get_string(s);
	if (v == NULL) {
		conf_fail(r, name, "must be a string in double quotes");
		return g_strdup(dflt);
	}
	if (!g_utf8_validate(v, -1, NULL)) {
		conf_fail(r, name, "must be valid UTF-8");
		return g_strdup(dflt);
	}
	return g_strdup(v);
}

int64_t conf_get_int64(struct reader *r, const char *name, int64_t dflt, int64_t min, int64_t max)
{
	config_setting_t *s = config_lookup(&r->cfg, name);
	long long v;

	if (s == NULL)
		return dflt;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		conf_fail(r, name, "must be a whole number from %lld to %lld", (long long)min,
			  (long long)max);
		return dflt;
	}
	v = config_setting_get_int64(s);
	if (v < min || v > max) {
		conf_fail(r, name, "must be %lld..%lld, not %lld", (long long)min, (long long)max,
			  v);
		return dflt;
	}
	return v;
}

gboolean conf_get_bool(struct reader *r, const char *name, gboolean dflt)
{
	config_setting_t *s = config_lookup(&r->cfg, name);

	if (s == NULL)
		return dflt;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		conf_fail(r, name, "must be true or false");
		return dflt;
	}
	return config_setting_get_bool(s) ? TRUE : FALSE;
}

int conf_get_int(struct reader *r, const char *name, int dflt, int min, int max)
{
	return (int)conf_get_int64(r, name, dflt, min, max);
}

/* Index of the value in allowed (NULL-terminated), or dflt_index when the setting is absent. */
int conf_get_choice(struct reader *r, const char *name, const char *const *allowed, int dflt_index)
{
	char *v = conf_get_string(r, name, allowed[dflt_index]);
	int found = -1;

	for (int i = 0; v != NULL && allowed[i] != NULL; i++)
		if (strcmp(v, allowed[i]) == 0)
			found = i;
	if (found < 0 && v != NULL) {
		char *list = g_strjoinv("\", \"", (char **)allowed);

		conf_fail(r, name, "\"%s\" is not allowed: use \"%s\"", v, list);
		g_free(list);
	}
	g_free(v);
	return found < 0 ? dflt_index : found;
}

char *conf_resolve(struct reader *r, char *path)
{
	char *abs;

	if (path == NULL || g_path_is_absolute(path))
		return path;
	abs = g_build_filename(r->dir, path, NULL);
	g_free(path);
	return abs;
}

/* Longest password or secret file read, in bytes. */
#define CONF_SECRET_MAX 4096

/* TRUE when file is a systemd credential: systemd writes those root-owned, mode 0400, and grants
 * the service's user read access with an ACL (whose mask shows as group bits), in a directory
 * only that service sees, so the owner and mode checks below do not apply to them. */
static gboolean is_credential(const char *file)
{
	const char *dir = g_getenv("CREDENTIALS_DIRECTORY");
	size_t n = dir != NULL ? strlen(dir) : 0;

	return n > 0 && strncmp(file, dir, n) == 0 && file[n] == '/' &&
	       strchr(file + n + 1, '/') == NULL;
}

/* The contents of a secret file opened as fd, after checking it is one only its owner, the user
 * spocd runs as, may read: a password or key that others can read is no longer a secret, and
 * one another user owns can be swapped under us. NULL (and a failure on r) otherwise. Caller
 * frees. */
static char *secret_read_fd(struct reader *r, const char *name, const char *file, int fd,
			    gsize *len_r)
{
	struct stat st;
	char *text;
	ssize_t n;

	if (fstat(fd, &st) != 0) {
		conf_fail(r, name, "cannot read %s: %s", file, g_strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		conf_fail(r, name, "%s is not a regular file", file);
		return NULL;
	}
	if (!is_credential(file) && st.st_uid != geteuid()) {
		conf_fail(r, name,
			  "%s is owned by uid %u, not by the user spocd runs as (uid %u): "
			  "refused (chown it)",
			  file, (unsigned)st.st_uid, (unsigned)geteuid());
		return NULL;
	}
	if (!is_credential(file) && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		conf_fail(r, name,
			  "%s has mode %04o: group or others may read or change it, refused "
			  "(chmod 600 %s)",
			  file, (unsigned)(st.st_mode & 07777), file);
		return NULL;
	}
	text = g_malloc(CONF_SECRET_MAX + 1);
	n = read(fd, text, CONF_SECRET_MAX + 1);
	if (n < 0 || n > CONF_SECRET_MAX) {
		if (n < 0)
			conf_fail(r, name, "cannot read %s: %s", file, g_strerror(errno));
		else
			conf_fail(r, name, "%s is over %d bytes: not a password or secret", file,
				  CONF_SECRET_MAX);
		g_free(text);
		return NULL;
	}
	text[n] = '\0';
	*len_r = (gsize)n;
	return text;
}

/* The secret file's bytes (secret_read_fd()'s checks), NULL with the reason said. */
static char *secret_read_file(struct reader *r, const char *name, const char *file, gsize *len_r)
{
	char *text;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	*len_r = 0;
	if (fd < 0) {
		conf_fail(r, name, "cannot read %s: %s", file, g_strerror(errno));
		return NULL;
	}
	text = secret_read_fd(r, name, file, fd, len_r);
	close(fd);
	return text;
}

char *conf_read_secret(struct reader *r, const char *name, const char *file)
{
	gsize len = 0;
	char *text = secret_read_file(r, name, file, &len);

	if (text == NULL)
		return NULL;
	/* One trailing newline is what every editor and `echo` leave; it is not part of it. */
	if (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	if (len > 0 && text[len - 1] == '\r')
		text[--len] = '\0';
	if (len == 0 || strlen(text) != len || strpbrk(text, "\r\n") != NULL) {
		conf_fail(r, name,
			  "%s must hold the password or secret on one line, without NUL bytes",
			  file);
		g_free(text);
		return NULL;
	}
	return text;
}

char *conf_read_secret_text(struct reader *r, const char *name, const char *file)
{
	gsize len = 0;
	char *text = secret_read_file(r, name, file, &len);

	if (text != NULL && (len == 0 || strlen(text) != len || !g_utf8_validate(text, -1, NULL))) {
		conf_fail(r, name, "%s is empty, holds NUL bytes or is not UTF-8", file);
		memset(text, 0, len);
		g_clear_pointer(&text, g_free);
	}
	return text;
}

const struct authres_border *conf_border(const struct spoc_conf *c)
{
	if (c->agents_border.dialect == AUTHRES_MICROSOFT365 ||
	    c->agents_border.authserv_id != NULL)
		return &c->agents_border;
	return NULL;
}

const char *conf_border_name(const struct spoc_conf *c)
{
	const struct authres_border *b = conf_border(c);

	if (b == NULL)
		return NULL;
	return b->dialect == AUTHRES_MICROSOFT365 ? "Microsoft 365" : b->authserv_id;
}

gboolean conf_host_is_loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (host == NULL)
		return FALSE;
	if (g_ascii_strcasecmp(host, "localhost") == 0)
		return TRUE;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return FALSE;
}

static void read_endpoint(struct reader *r, const char *section, struct spoc_endpoint *ep,
			  gboolean user_required, int default_port)
{
	static const char *const tls_names[] = {"implicit", "starttls", "none", NULL};
	char name[64];

#define NAME(s) (g_snprintf(name, sizeof(name), "%s.%s", section, s), name)
	ep->host = conf_get_string(r, NAME("host"), NULL);
	ep->port = (uint16_t)conf_get_int(r, NAME("port"), default_port, 1, 65535);
	ep->tls = (enum spoc_tls)conf_get_choice(r, NAME("tls"), tls_names, 0);
	if (ep->tls == SPOC_TLS_NONE && ep->host != NULL && !conf_host_is_loopback(ep->host))
		conf_fail(
		    r, NAME("tls"),
		    "\"none\" is allowed only towards a loopback address, and %s.host is \"%s\": "
		    "use \"implicit\" or \"starttls\"",
		    section, ep->host);
	if (config_lookup(&r->cfg, NAME("ca_file")) != NULL) {
		ep->ca_file = conf_resolve(r, conf_get_string(r, NAME("ca_file"), NULL));
		if (ep->ca_file != NULL && !g_file_test(ep->ca_file, G_FILE_TEST_IS_REGULAR))
			conf_fail(r, NAME("ca_file"), "%s is not a readable file", ep->ca_file);
	}
	if (conf_read_auth(r, section, ep)) {
		/* auth = "oauth2": an access token instead of a password (conf_oauth.c) */
	} else if (user_required || config_lookup(&r->cfg, NAME("user")) != NULL) {
		ep->user = conf_get_string(r, NAME("user"), NULL);
		if (config_lookup(&r->cfg, NAME("password_credential")) != NULL) {
			char *cred = conf_get_string(r, NAME("password_credential"), NULL);

			ep->password_file = conf_credential(r, NAME("password_credential"), cred);
			g_free(cred);
		} else {
			ep->password_file =
			    conf_resolve(r, conf_get_string(r, NAME("password_file"), NULL));
		}
		if (ep->password_file != NULL)
			ep->password =
			    conf_read_secret(r, NAME("password_file"), ep->password_file);
	}
	ep->timeout_s = conf_get_int(r, NAME("timeout"), 60, 1, 3600);
#undef NAME
}

char *conf_credential(struct reader *r, const char *setting, const char *name)
{
	const char *dir = g_getenv("CREDENTIALS_DIRECTORY");

	if (name == NULL)
		return NULL;
	if (*name == '\0' || strchr(name, '/') != NULL || strcmp(name, "..") == 0) {
		conf_fail(r, setting, "\"%s\" is not a credential name (a file name, no '/')",
			  name);
		return NULL;
	}
	if (dir == NULL || *dir == '\0') {
		conf_fail(r, setting,
			  "names credential \"%s\" but $CREDENTIALS_DIRECTORY is not set: run "
			  "spocd from its systemd unit (LoadCredential=%s:...) or use a *_file "
			  "setting",
			  name, name);
		return NULL;
	}
	return g_build_filename(dir, name, NULL);
}

/* A mailbox's name: letters, digits and ._@+- (it is a database key and a metrics label). */
static gboolean mailbox_name_valid(const char *name)
{
	if (name == NULL || *name == '\0' || strlen(name) > 64)
		return FALSE;
	for (const char *p = name; *p != '\0'; p++)
		if (!g_ascii_isalnum(*p) && strchr("._@+-", *p) == NULL)
			return FALSE;
	return TRUE;
}

/* One mailbox from the group at path ("imap", or "mailboxes.[n]" of the list). */
static struct spoc_imap_conf *read_mailbox(struct reader *r, const char *path)
{
	const char *const *kinds = ticket_kind_names;
	struct spoc_imap_conf *mb = g_new0(struct spoc_imap_conf, 1);
	char name[96];

#define NAME(s) (g_snprintf(name, sizeof(name), "%s.%s", path, s), name)
	read_endpoint(r, path, &mb->ep, TRUE, 993);
	mb->mailbox = conf_get_string(r, NAME("mailbox"), "INBOX");
	/* the single imap section keeps its folder as key: what earlier versions recorded */
	mb->name = conf_get_string(r, NAME("name"), strcmp(path, "imap") == 0 ? mb->mailbox : NULL);
	if (mb->name != NULL && !mailbox_name_valid(mb->name))
		conf_fail(r, NAME("name"),
			  "\"%s\": use 1 to 64 letters, digits and . _ @ + - (it names the "
			  "mailbox in the database, the logs and the metrics)",
			  mb->name);
	mb->processed_folder = conf_get_string(r, NAME("processed_folder"), "spocd/processed");
	mb->failed_folder = conf_get_string(r, NAME("failed_folder"), "spocd/failed");
	if (mb->mailbox != NULL && mb->processed_folder != NULL &&
	    (strcmp(mb->mailbox, mb->processed_folder) == 0 ||
	     g_strcmp0(mb->mailbox, mb->failed_folder) == 0))
		conf_fail(r, NAME("processed_folder"),
			  "the processed and failed folders must differ from %s.mailbox", path);
	mb->poll_interval_s = conf_get_int(r, NAME("poll_interval"), 60, 1, 86400);
	mb->batch_size = conf_get_int(r, NAME("batch_size"), 50, 1, 10000);
	mb->max_message_bytes =
	    conf_get_int64(r, NAME("max_message_bytes"), 26214400, 1024, INT64_C(1) << 31);
	mb->default_kind = config_lookup(&r->cfg, NAME("default_kind")) != NULL
			       ? conf_get_choice(r, NAME("default_kind"), kinds, 0)
			       : -1;
	mb->idle = conf_get_bool(r, NAME("idle"), TRUE);
#undef NAME
	return mb;
}

static void free_mailbox(struct spoc_imap_conf *mb);

/* The single imap section, or the mailboxes list; names unique. */
static void read_mailboxes(struct reader *r, struct spoc_conf *c)
{
	config_setting_t *list = config_lookup(&r->cfg, "mailboxes");
	GPtrArray *out = g_ptr_array_new();

	if (list != NULL && config_lookup(&r->cfg, "imap") != NULL)
		conf_fail(r, "mailboxes",
			  "both an imap section and a mailboxes list: keep one (the list, for "
			  "several mailboxes)");
	else if (list == NULL)
		g_ptr_array_add(out, read_mailbox(r, "imap"));
	else if (!config_setting_is_list(list) || config_setting_length(list) == 0)
		conf_fail(r, "mailboxes",
			  "must be a non-empty list of groups: ( { name = ...; "
			  "host = ...; ... }, ... )");
	else
		for (int i = 0; i < config_setting_length(list) && !r->failed; i++) {
			char path[32];
			struct spoc_imap_conf *mb;

			g_snprintf(path, sizeof(path), "mailboxes.[%d]", i);
			mb = read_mailbox(r, path);
			g_ptr_array_add(out, mb);
			for (guint j = 0; j + 1 < out->len && mb->name != NULL; j++) {
				const struct spoc_imap_conf *other = g_ptr_array_index(out, j);

				if (g_strcmp0(other->name, mb->name) == 0) {
					char where[48];

					g_snprintf(where, sizeof(where), "%s.name", path);
					conf_fail(r, where, "\"%s\" is the name of mailbox %u too",
						  mb->name, j + 1);
				}
			}
		}
	g_ptr_array_add(out, NULL);
	c->mailboxes = (struct spoc_imap_conf **)g_ptr_array_free(out, FALSE);
}

static char *domain_of(const char *addr)
{
	const char *at = addr != NULL ? strrchr(addr, '@') : NULL;

	return at != NULL && at[1] != '\0' ? g_ascii_strdown(at + 1, -1) : NULL;
}

static gboolean plausible_address(const char *addr)
{
	const char *at = strchr(addr, '@');

	return at != NULL && at != addr && at[1] != '\0' && strchr(at + 1, '@') == NULL &&
	       strpbrk(addr, " \t\r\n<>\"") == NULL;
}

static void read_desk(struct reader *r, struct spoc_conf *c)
{
	static const char *const langs[] = {"es", "en", NULL};
	const char *const *kinds = ticket_kind_names;
	config_setting_t *list = config_lookup(&r->cfg, "desk.addresses");
	GPtrArray *addrs = g_ptr_array_new();

	c->desk.name = conf_get_string(r, "desk.name", NULL);
	if (list == NULL || !config_setting_is_array(list) || config_setting_length(list) == 0) {
		if (list == NULL)
			conf_fail(r, "desk.addresses",
				  "missing: list the desk's addresses, e.g. "
				  "[ \"help@example.org\" ]");
		else
			conf_fail(r, "desk.addresses", "must be a non-empty list of strings");
	} else {
		for (int i = 0; i < config_setting_length(list); i++) {
			const char *a = config_setting_get_string_elem(list, i);

			if (a == NULL || !plausible_address(a)) {
				conf_fail(r, "desk.addresses", "element %d is not an address",
					  i + 1);
				break;
			}
			g_ptr_array_add(addrs, g_ascii_strdown(a, -1));
		}
	}
	g_ptr_array_add(addrs, NULL);
	c->desk.addresses = (char **)g_ptr_array_free(addrs, FALSE);
	c->desk.default_language =
	    g_strdup(langs[conf_get_choice(r, "desk.default_language", langs, 0)]);
	c->desk.default_kind = (enum spoc_kind)conf_get_choice(r, "desk.default_kind", kinds, 0);
	c->desk.cc_watchers = conf_get_bool(r, "desk.cc_watchers", FALSE);
	c->desk.max_watchers = conf_get_int(r, "desk.max_watchers", 10, 0, 1000);
	{
		/* who may be made a watcher: listed domains, else the desk's own */
		config_setting_t *wd = config_lookup(&r->cfg, "desk.watcher_domains");
		GPtrArray *domains = g_ptr_array_new();

		if (wd != NULL && !config_setting_is_array(wd))
			conf_fail(r, "desk.watcher_domains", "must be a list of domains");
		for (int i = 0;
		     wd != NULL && config_setting_is_array(wd) && i < config_setting_length(wd);
		     i++) {
			const char *dom = config_setting_get_string_elem(wd, i);

			if (dom == NULL || dom[0] == '\0' || strpbrk(dom, "@ \t<>\"") != NULL) {
				conf_fail(r, "desk.watcher_domains", "element %d is not a domain",
					  i + 1);
				break;
			}
			g_ptr_array_add(domains, g_ascii_strdown(dom, -1));
		}
		for (size_t i = 0; wd == NULL && c->desk.addresses[i] != NULL; i++) {
			const char *at = strrchr(c->desk.addresses[i], '@');

			if (at != NULL)
				g_ptr_array_add(domains, g_strdup(at + 1));
		}
		g_ptr_array_add(domains, NULL);
		c->desk.watcher_domains = (char **)g_ptr_array_free(domains, FALSE);
	}
	c->desk.lists_are_automatic = conf_get_bool(r, "desk.lists_are_automatic", TRUE);
	c->desk.requester_reply_to =
	    conf_get_choice(r, "desk.requester", (const char *const[]){"from", "reply-to", NULL},
			    0) == 1;
	c->desk.templates_dir =
	    conf_resolve(r, conf_get_string(r, "desk.templates_dir", "templates"));
	if (!g_file_test(c->desk.templates_dir, G_FILE_TEST_IS_DIR))
		conf_fail(r, "desk.templates_dir", "%s is not a directory", c->desk.templates_dir);
	c->desk.message_id_domain = conf_get_string(r, "desk.message_id_domain", "");
	if (c->desk.message_id_domain != NULL && c->desk.message_id_domain[0] == '\0') {
		g_free(c->desk.message_id_domain);
		c->desk.message_id_domain = domain_of(c->smtp.from_address);
	}
	if (c->desk.message_id_domain == NULL ||
	    strpbrk(c->desk.message_id_domain, " \t\r\n<>@\"") != NULL)
		conf_fail(r, "desk.message_id_domain", "must be a domain name");
}

static void read_parsing(struct reader *r, struct spoc_conf *c)
{
	static const char *const dflt[] = {"utf-8", "windows-1252", NULL};
	config_setting_t *list = config_lookup(&r->cfg, "parsing.fallback_charsets");
	GPtrArray *cs = g_ptr_array_new();

	if (list == NULL) {
		for (int i = 0; dflt[i] != NULL; i++)
			g_ptr_array_add(cs, g_strdup(dflt[i]));
	} else if (!config_setting_is_array(list) || config_setting_length(list) == 0) {
		conf_fail(r, "parsing.fallback_charsets",
			  "must be a non-empty list of charset names, e.g. [ \"utf-8\", "
			  "\"windows-1252\" ]");
	} else {
		for (int i = 0; i < config_setting_length(list); i++) {
			const char *name = config_setting_get_string_elem(list, i);
			iconv_t cd = name != NULL ? iconv_open("UTF-8", name) : (iconv_t)-1;

			if (cd == (iconv_t)-1) {
				conf_fail(
				    r, "parsing.fallback_charsets",
				    "element %d (\"%s\") is not a charset this system can convert",
				    i + 1, name != NULL ? name : "not a string");
				break;
			}
			iconv_close(cd);
			g_ptr_array_add(cs, g_strdup(name));
		}
	}
	g_ptr_array_add(cs, NULL);
	c->parsing.fallback_charsets = (char **)g_ptr_array_free(cs, FALSE);
	c->parsing.max_parts = conf_get_int(r, "parsing.max_parts", 500, 1, MIME_CEILING_PARTS);
	c->parsing.max_depth = conf_get_int(r, "parsing.max_depth", 20, 2, 100);
	c->parsing.max_attachment_bytes =
	    conf_get_int64(r, "parsing.max_attachment_bytes",
			   c->mailboxes[0] != NULL ? c->mailboxes[0]->max_message_bytes : 26214400,
			   1, INT64_C(1) << 31);
	c->parsing.max_header_bytes =
	    conf_get_int64(r, "parsing.max_header_bytes", 262144, 1024, MIME_CEILING_HEADER_BYTES);
}

static void read_threading(struct reader *r, struct spoc_conf *c)
{
	/* the files, or systemd credentials (LoadCredential=) named by secret_credentials */
	gboolean creds = config_lookup(&r->cfg, "threading.secret_credentials") != NULL;
	const char *setting = creds ? "threading.secret_credentials" : "threading.secret_files";
	config_setting_t *list = config_lookup(&r->cfg, setting);
	GPtrArray *secrets = g_ptr_array_new();

	c->threading.reopen_window_s =
	    conf_get_int(r, "threading.reopen_window", 7 * 86400, 0, 365 * 86400);
	if (list == NULL) {
		g_ptr_array_free(secrets, TRUE);
		return;
	}
	if (creds && config_lookup(&r->cfg, "threading.secret_files") != NULL) {
		conf_fail(r, setting, "set secret_files or secret_credentials, not both");
		g_ptr_array_free(secrets, TRUE);
		return;
	}
	if (!config_setting_is_array(list) || config_setting_length(list) == 0) {
		conf_fail(r, setting,
			  "must be a non-empty list of files, the current secret first");
		g_ptr_array_free(secrets, TRUE);
		return;
	}
	for (int i = 0; i < config_setting_length(list); i++) {
		const char *name = config_setting_get_string_elem(list, i);
		char *file = name == NULL ? NULL
			     : creds	  ? conf_credential(r, setting, name)
					  : conf_resolve(r, g_strdup(name));
		char *secret = file != NULL ? conf_read_secret(r, setting, file) : NULL;

		if (secret != NULL && strlen(secret) < 32) {
			conf_fail(
			    r, setting,
			    "%s holds %zu bytes: a secret needs at least 32 (e.g. openssl rand "
			    "-hex 32)",
			    file, strlen(secret));
			memset(secret, 0, strlen(secret));
			g_clear_pointer(&secret, g_free);
		}
		g_free(file);
		if (secret == NULL) {
			if (name == NULL)
				conf_fail(r, setting, "element %d is not a string", i + 1);
			break;
		}
		g_ptr_array_add(secrets, secret);
	}
	g_ptr_array_add(secrets, NULL);
	c->threading.secrets = (char **)g_ptr_array_free(secrets, FALSE);
}

/* spam.verdict_headers: a list of preset names and { header = "..."; pattern = "..."; } groups;
 * when it is not set, every preset (a positive verdict a sender forged only quarantines their
 * own mail). */
static void read_spam(struct reader *r, struct spoc_conf *c)
{
	config_setting_t *list = config_lookup(&r->cfg, "spam.verdict_headers");

	c->spam_rules = g_ptr_array_new_with_free_func(spam_rule_free);
	c->spam_dmarc_fail = conf_get_bool(r, "spam.dmarc_fail", TRUE);
	if (list == NULL) {
		for (const char *const *p = spam_presets; *p != NULL; p++)
			spam_add_preset(c->spam_rules, *p);
		return;
	}
	if (!config_setting_is_aggregate(list) || config_setting_is_group(list)) {
		conf_fail(r, "spam.verdict_headers",
			  "must be a list of filter names (spamassassin, rspamd, microsoft365) and"
			  " { header = \"...\"; pattern = \"...\"; } groups");
		return;
	}
	for (int i = 0; i < config_setting_length(list); i++) {
		config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		const char *name = config_setting_get_string(e), *header = NULL, *pattern = NULL;
		char *why = NULL;

		if (name != NULL) {
			if (!spam_add_preset(c->spam_rules, name))
				conf_fail(r, "spam.verdict_headers",
					  "element %d: no filter \"%s\" (spamassassin, rspamd,"
					  " microsoft365)",
					  i + 1, name);
			continue;
		}
		if (!config_setting_is_group(e) ||
		    !config_setting_lookup_string(e, "header", &header) ||
		    !config_setting_lookup_string(e, "pattern", &pattern)) {
			conf_fail(r, "spam.verdict_headers",
				  "element %d: a filter name, or a group with header and pattern",
				  i + 1);
			continue;
		}
		if (!spam_add_rule(c->spam_rules, header, pattern, &why)) {
			conf_fail(r, "spam.verdict_headers", "element %d (%s): %s", i + 1, header,
				  why);
			g_free(why);
		}
	}
}

/* smtp.refused_domains: domains (and their subdomains) no notification is ever sent to, lower
 * case, without a leading or trailing dot; an empty list when the setting is absent. */
static char **read_refused_domains(struct reader *r)
{
	config_setting_t *list = config_lookup(&r->cfg, "smtp.refused_domains");
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);

	if (list != NULL && !config_setting_is_array(list))
		conf_fail(r, "smtp.refused_domains",
			  "must be a list of domains, e.g. [ \"example.net\" ]");
	for (int i = 0;
	     list != NULL && config_setting_is_array(list) && i < config_setting_length(list);
	     i++) {
		const char *dom = config_setting_get_string_elem(list, i);
		char *d = dom != NULL ? g_ascii_strdown(dom + (dom[0] == '.'), -1) : NULL;
		size_t len = d != NULL ? strlen(d) : 0;

		if (len > 0 && d[len - 1] == '.')
			d[--len] = '\0';
		if (len == 0 || strpbrk(d, "@[] \t\r\n<>\"") != NULL) {
			conf_fail(r, "smtp.refused_domains",
				  "element %d is not a domain (a name such as \"example.net\", "
				  "which also refuses its subdomains)",
				  i + 1);
			g_free(d);
			break;
		}
		g_ptr_array_add(out, d);
	}
	g_ptr_array_set_free_func(out, NULL);
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

/* One budget of rate_limits at prefix ("rate_limits" or "rate_limits.<kind>"), each window
 * dflt[w] unless set, from min up. */
static void read_budget(struct reader *r, const char *prefix, const int *dflt, int min,
			struct caps_budget *b)
{
	for (int w = 0; w < CAPS_WINDOWS; w++) {
		char name[96];

		g_snprintf(name, sizeof(name), "%s.%s", prefix, caps_window_names[w]);
		b->per[w] = conf_get_int(r, name, dflt[w], min, 100000);
	}
}

/* A name rate_limits does not know: a misspelt kind or window would otherwise be a limit that
 * silently is not there. */
static void check_rate_names(struct reader *r, config_setting_t *group, const char *prefix,
			     gboolean kinds)
{
	for (int i = 0; i < config_setting_length(group); i++) {
		config_setting_t *s = config_setting_get_elem(group, i);
		const char *n = config_setting_name(s);
		char name[96];
		gboolean known = kinds && strcmp(n, "automatic_per_hour") == 0;

		g_snprintf(name, sizeof(name), "%s.%s", prefix, n);
		for (int w = 0; w < CAPS_WINDOWS; w++)
			known |= strcmp(n, caps_window_names[w]) == 0;
		if (kinds && caps_kind_of(n) >= 0) {
			if (!config_setting_is_group(s))
				conf_fail(r, name,
					  "must be a group: %s: { per_recipient_hour = ...; "
					  "per_recipient_day = ...; per_ticket_day = ...; };",
					  name);
			else
				check_rate_names(r, s, name, FALSE);
			continue;
		}
		if (!known && kinds)
			conf_fail(
			    r, name,
			    "unknown: use per_recipient_hour, per_recipient_day, "
			    "per_ticket_day, automatic_per_hour, or the group of a kind (ack, "
			    "status, follow-up, command-result, command-unproven, sla-warning, "
			    "sla-breach, my-tickets, requester-result, agent-reply)");
		else if (!known)
			conf_fail(r, name,
				  "unknown: use per_recipient_hour, per_recipient_day or "
				  "per_ticket_day");
	}
}

/* rate_limits: the budget all automatic kinds share, each kind's own and the desk's hourly cap
 * on automatic mail (caps.h). */
static void read_rate_limits(struct reader *r, struct spoc_conf *c)
{
	/* A ticket's status notice goes to every participant (up to desk.max_watchers + 1), so
	 * per_ticket_day leaves room for a few moves of a watched ticket in a day. */
	static const int shared[CAPS_WINDOWS] = {10, 40, 50};
	/* A person's relayed reply is not automatic, but a runaway script must still stop. */
	static const int agent_reply[CAPS_WINDOWS] = {30, 200, 100};
	/* The desk's notices to its own agents: a busy morning, not a loop, still bounded. */
	static const int to_desk[CAPS_WINDOWS] = {120, 1000, 200};
	static const int none[CAPS_WINDOWS] = {0, 0, 0};
	/* A requester's list of their tickets: a few a day is all a person needs; more is a
	 * probe or a loop, even within the shared budget. */
	static const int my_tickets[CAPS_WINDOWS] = {3, 10, 0};
	config_setting_t *group = config_lookup(&r->cfg, "rate_limits");

	if (group != NULL && !config_setting_is_group(group))
		conf_fail(r, "rate_limits",
			  "must be a group: rate_limits: { per_recipient_hour = 10; ... };");
	else if (group != NULL)
		check_rate_names(r, group, "rate_limits", TRUE);
	read_budget(r, "rate_limits", shared, 1, &c->caps.automatic);
	for (int k = 0; k < CAPS_KINDS; k++) {
		char prefix[64];

		g_snprintf(prefix, sizeof(prefix), "rate_limits.%s", caps_kind_names[k]);
		read_budget(r, prefix,
			    k == CAPS_AGENT_REPLY		 ? agent_reply
			    : k == CAPS_MY_TICKETS		 ? my_tickets
			    : caps_automatic(caps_kind_names[k]) ? none
								 : to_desk,
			    0, &c->caps.kinds[k]);
	}
	/* All automatic mail, every recipient: well above what a busy desk sends in its busiest
	 * hour, far below what a flood of forged senders would make it send. */
	/* a week: long enough for a mailbox that was deleted to stay deleted, short enough for a
	 * full one to be tried again */
	c->caps.suppress_days = conf_get_int(r, "bounce.suppress_days", 7, 0, 365);
	c->caps.automatic_per_hour =
	    conf_get_int(r, "rate_limits.automatic_per_hour", 500, 1, 10000000);
}

struct spoc_conf *conf_load(const char *path, struct errbuf *err)
{
	static const char *const levels[] = {"error", "warning", "notice", "info", "debug", NULL};
	static const int level_values[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG};
	static const char *const poolers[] = {"none", "transaction", NULL};
	struct spoc_conf *c = g_new0(struct spoc_conf, 1);
	struct reader r = {.path = path, .err = err};

	config_init(&r.cfg);
	c->path = g_strdup(path);
	if (!config_read_file(&r.cfg, path)) {
		if (config_error_type(&r.cfg) == CONFIG_ERR_FILE_IO)
			errbuf_set(err, 1, "%s: cannot read: %s", path, g_strerror(errno));
		else
			errbuf_set(err, 1, "%s:%d: syntax error: %s", path,
				   config_error_line(&r.cfg), config_error_text(&r.cfg));
		config_destroy(&r.cfg);
		conf_free(&c);
		return NULL;
	}
	{
		char *abs = g_canonicalize_filename(path, NULL);

		r.dir = g_path_get_dirname(abs);
		g_free(abs);
	}

	c->log_level = level_values[conf_get_choice(&r, "log_level", levels, 3)];
	c->database_conninfo = conf_get_string(&r, "database.conninfo", NULL);
	c->database_reconnect_s = conf_get_int(&r, "database.reconnect", 10, 1, 300);
	c->database_pooled = conf_get_choice(&r, "database.pooler", poolers, 0) == 1;
	c->database_timeout_s = conf_get_int(&r, "database.timeout", 60, 1, 3600);

	read_mailboxes(&r, c);
	read_endpoint(&r, "smtp", &c->smtp.ep, FALSE, 587);
	c->smtp.from_address = conf_get_string(&r, "smtp.from_address", NULL);
	if (c->smtp.from_address != NULL && !plausible_address(c->smtp.from_address))
		conf_fail(&r, "smtp.from_address", "\"%s\" is not an address",
			  c->smtp.from_address);
	c->smtp.max_attempts = conf_get_int(&r, "smtp.max_attempts", 12, 1, 1000);
	c->smtp.retry_base_s = conf_get_int(&r, "smtp.retry_base", 60, 1, 86400);
	c->smtp.connections = conf_get_int(&r, "smtp.connections", 1, 1, 32);
	c->smtp.max_retry_age_s = conf_get_int(&r, "smtp.max_retry_age", 2 * 86400, 60, 30 * 86400);
	c->smtp.verp = conf_get_bool(&r, "smtp.verp", TRUE);
	c->smtp.refused_domains = read_refused_domains(&r);
	c->kb_suggestions = conf_get_int(&r, "kb.suggestions", 3, 0, 10);
	c->desk.triage_address = conf_get_string(&r, "desk.triage_address", "");
	if (c->desk.triage_address != NULL && c->desk.triage_address[0] == '\0')
		g_clear_pointer(&c->desk.triage_address, g_free);
	else if (c->desk.triage_address != NULL && !plausible_address(c->desk.triage_address))
		conf_fail(&r, "desk.triage_address", "\"%s\" is not an address",
			  c->desk.triage_address);
	c->desk.notify_new_ticket = conf_get_string(&r, "notify.new_ticket", "team");
	if (c->desk.notify_new_ticket != NULL && strcmp(c->desk.notify_new_ticket, "off") == 0)
		g_clear_pointer(&c->desk.notify_new_ticket, g_free);
	else if (c->desk.notify_new_ticket != NULL &&
		 strcmp(c->desk.notify_new_ticket, "team") != 0 &&
		 !plausible_address(c->desk.notify_new_ticket))
		conf_fail(&r, "notify.new_ticket",
			  "\"%s\" is neither \"team\", \"off\" nor an address",
			  c->desk.notify_new_ticket);
	c->desk.notify_max_attachment_bytes = conf_get_int64(
	    &r, "notify.max_attachment_bytes", INT64_C(10485760), 0, INT64_C(1) << 30);
	c->desk.notify_batch_size = conf_get_int(&r, "notify.batch_size", 64, 1, 1000);

	read_desk(&r, c);
	c->metrics_listen = conf_get_string(&r, "metrics.listen", "");
	if (c->metrics_listen != NULL && c->metrics_listen[0] == '\0')
		g_clear_pointer(&c->metrics_listen, g_free);
	c->health_intervals = conf_get_int(&r, "health.mailbox_intervals", 3, 1, 1000);
	c->lease_seconds = conf_get_int(&r, "ingest.lease_seconds", 30, 2, 3600);
	c->parse_threads = conf_get_int(&r, "ingest.parse_threads", 0, 0, 64);
	conf_read_rules(&r, &c->rules);
	conf_read_sla(&r, &c->sla);
	{
		/* after the calendar: its zone is the default */
		char *zone = conf_get_string(&r, "desk.time_zone", "");
		GTimeZone *cal = c->sla != NULL ? sla_calendar_zone(c->sla->business) : NULL;

		if (zone != NULL && zone[0] != '\0') {
			c->desk.time_zone = g_time_zone_new_identifier(zone);
			if (c->desk.time_zone == NULL)
				conf_fail(&r, "desk.time_zone",
					  "\"%s\" is not a time zone (an IANA name such as "
					  "\"Europe/Madrid\")",
					  zone);
		} else if (cal != NULL) {
			c->desk.time_zone = g_time_zone_ref(cal);
		}
		g_free(zone);
	}
	read_parsing(&r, c);
	read_threading(&r, c);
	c->agents_trusted_authserv_id = conf_get_string(&r, "agents.trusted_authserv_id", "");
	if (c->agents_trusted_authserv_id != NULL && c->agents_trusted_authserv_id[0] == '\0')
		g_clear_pointer(&c->agents_trusted_authserv_id, g_free);
	c->agents_border.dialect =
	    conf_get_choice(&r, "agents.border",
			    (const char *const[]){"rfc8601", "microsoft365", NULL}, 0) == 1
		? AUTHRES_MICROSOFT365
		: AUTHRES_RFC8601;
	c->agents_border.authserv_id = c->agents_trusted_authserv_id;
	/* Exchange Online's header has no authserv-id: one named here would be another MTA's,
	 * whose header spocd would then not read */
	if (c->agents_border.dialect == AUTHRES_MICROSOFT365 &&
	    c->agents_trusted_authserv_id != NULL)
		conf_fail(&r, "agents.trusted_authserv_id",
			  "must be left out with agents.border = \"microsoft365\" (Exchange "
			  "Online writes its Authentication-Results without an authserv-id)");
	{
		static const char *const proofs[] = {"token-and-domain", "token-or-domain", NULL};

		/* With an authenticating border, a token alone (it may have leaked) does not
		 * prove an agent, nor does a domain pass alone (it proves the domain, not the
		 * mailbox). Without one, only tokens can prove anything. */
		c->agents_token_and_domain = conf_get_choice(&r, "agents.proof", proofs,
							     conf_border(c) != NULL ? 0 : 1) == 0;
		if (c->agents_token_and_domain && conf_border(c) == NULL)
			conf_fail(&r, "agents.proof",
				  "\"token-and-domain\" needs agents.trusted_authserv_id (or "
				  "agents.border = \"microsoft365\")");
	}
	c->agents_token_days = conf_get_int(&r, "agents.token_days", 30, 1, 3650);
	/* Without an authenticating border nothing can be verified: refusing every unverified
	 * sender would refuse everyone, so such a desk accepts them (and says so at start-up) */
	c->trust_accept_unverified =
	    conf_get_choice(&r, "trust.unverified",
			    (const char *const[]){"accept", "new-ticket", NULL},
			    conf_border(c) != NULL ? 1 : 0) == 0;
	if (!c->trust_accept_unverified && conf_border(c) == NULL)
		conf_fail(&r, "trust.unverified",
			  "\"new-ticket\" needs agents.trusted_authserv_id or agents.border = "
			  "\"microsoft365\" (without a border that authenticates mail no sender "
			  "is ever verified)");
	read_rate_limits(&r, c);
	read_spam(&r, c);
	c->smtp.helo_name = conf_get_string(&r, "smtp.helo_name", "");
	if (c->smtp.helo_name != NULL && c->smtp.helo_name[0] == '\0') {
		g_free(c->smtp.helo_name);
		c->smtp.helo_name = g_strdup(c->desk.message_id_domain);
	}

	config_destroy(&r.cfg);
	g_free(r.dir);
	if (r.failed)
		conf_free(&c);
	return c;
}

static void free_endpoint(struct spoc_endpoint *ep)
{
	g_free(ep->host);
	g_free(ep->ca_file);
	g_free(ep->user);
	if (ep->password != NULL)
		memset(ep->password, 0, strlen(ep->password));
	g_free(ep->password);
	g_free(ep->password_file);
	conf_oauth2_free(&ep->oauth2);
}

static void free_mailbox(struct spoc_imap_conf *mb)
{
	if (mb == NULL)
		return;
	free_endpoint(&mb->ep);
	g_free(mb->name);
	g_free(mb->mailbox);
	g_free(mb->processed_folder);
	g_free(mb->failed_folder);
	g_free(mb);
}

void conf_free(struct spoc_conf **conf)
{
	struct spoc_conf *c = *conf;

	if (c == NULL)
		return;
	g_free(c->path);
	g_free(c->database_conninfo);
	for (size_t i = 0; c->mailboxes != NULL && c->mailboxes[i] != NULL; i++)
		free_mailbox(c->mailboxes[i]);
	g_free(c->mailboxes);
	g_free(c->metrics_listen);
	free_endpoint(&c->smtp.ep);
	g_free(c->smtp.from_address);
	g_free(c->smtp.helo_name);
	g_strfreev(c->smtp.refused_domains);
	g_free(c->desk.name);
	g_strfreev(c->desk.addresses);
	g_strfreev(c->desk.watcher_domains);
	g_free(c->desk.default_language);
	g_free(c->desk.templates_dir);
	g_free(c->desk.message_id_domain);
	if (c->desk.time_zone != NULL)
		g_time_zone_unref(c->desk.time_zone);
	g_free(c->desk.triage_address);
	g_free(c->desk.notify_new_ticket);
	g_free(c->agents_trusted_authserv_id);
	rules_free(&c->rules);
	sla_conf_free(&c->sla);
	if (c->spam_rules != NULL)
		g_ptr_array_unref(c->spam_rules);
	g_strfreev(c->parsing.fallback_charsets);
	for (size_t i = 0; c->threading.secrets != NULL && c->threading.secrets[i] != NULL; i++)
		memset(c->threading.secrets[i], 0, strlen(c->threading.secrets[i]));
	g_strfreev(c->threading.secrets);
	g_free(c);
	*conf = NULL;
}
