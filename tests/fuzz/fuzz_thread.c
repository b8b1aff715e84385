/* libFuzzer target for thread.c, whose parsers read what strangers write: In-Reply-To and
 * References (thread_verify_message_id), recipient addresses (thread_token_from_address, then
 * thread_verify_reply_token) and subjects (thread_subject_base). Besides crashes, leaks and UB it
 * checks what must always hold: nothing made up verifies, minted identifiers round-trip, a subject
 * base is never longer than the subject and stays valid UTF-8, thread_decide() never puts a
 * mail into a ticket whose candidate says the sender may not write to it, and the threading
 * headers made from a chain of senders' Message-IDs (one per line of the input) hold only ids
 * fit for a header, each once, at most THREAD_MAX_REFERENCES, the last being In-Reply-To. */
#include "thread.h"

#include "compose.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct thread_keys *fuzz_keys(void)
{
	static const char *const secrets[] = {"fuzz-secret-number-one-0123456789abcdef",
					      "fuzz-secret-number-two-0123456789abcdef", NULL};
	static struct thread_keys *keys;

	if (keys == NULL && (keys = thread_keys_new(secrets, NULL)) == NULL)
		__builtin_trap();
	return keys;
}

/* Facts for thread_decide() from the first bytes of the input. */
static void decide(const uint8_t *data, size_t size)
{
	struct thread_facts f = {0};
	struct thread_candidate *all[] = {&f.by_minted_id, &f.by_stored_id, &f.by_token,
					  &f.by_subject_tag};
	struct thread_verdict v;

	if (size < 2 * G_N_ELEMENTS(all) + 1)
		return;
	f.now = g_date_time_new_from_unix_utc(1700000000);
	f.reopen_window_s = (int)(data[0] % 4) * 3600 - 3600;
	for (size_t i = 0; i < G_N_ELEMENTS(all); i++) {
		uint8_t a = data[1 + 2 * i], b = data[2 + 2 * i];

		all[i]->ticket_id = a % 4;
		all[i]->status = (enum ticket_status)(b % 6);
		all[i]->sender_is_participant = (b >> 3) & 1;
		all[i]->sender_is_agent = (b >> 4) & 1;
		if ((b >> 5) & 1)
			all[i]->resolved_at =
			    g_date_time_add_seconds(f.now, -(double)(a >> 2) * 600);
	}
	thread_decide(&f, &v);
	if (v.why == NULL)
		__builtin_trap();
	if (v.action == THREAD_ATTACH || v.action == THREAD_REOPEN) {
		gboolean allowed = FALSE;

		for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
			if (all[i]->ticket_id == v.ticket_id &&
			    (all[i]->sender_is_participant || all[i]->sender_is_agent))
				allowed = TRUE;
		if (!allowed || v.ticket_id <= 0 || v.link_kind != NULL)
			__builtin_trap();
	} else if (v.action == THREAD_NEW_LINKED) {
		if (v.link_ticket_id <= 0 || v.link_kind == NULL)
			__builtin_trap();
	} else if (v.action != THREAD_NEW_TICKET || v.ticket_id != 0 || v.link_ticket_id != 0) {
		__builtin_trap();
	}
	for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
		g_clear_pointer(&all[i]->resolved_at, g_date_time_unref);
	g_date_time_unref(f.now);
}

/* thread_reply_headers() over the lines of text. */
static void reply_headers(const char *text)
{
	char **lines = g_strsplit(text, "\n", 200);
	GPtrArray *chain = g_ptr_array_new(), *refs;
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	char *irt;

	for (char **l = lines; *l != NULL; l++)
		g_ptr_array_add(chain, *l);
	thread_reply_headers(chain, &irt, &refs);
	if (refs->len > THREAD_MAX_REFERENCES || (irt == NULL) != (refs->len == 0) ||
	    (irt != NULL && strcmp(irt, g_ptr_array_index(refs, refs->len - 1)) != 0))
		__builtin_trap();
	for (guint i = 0; i < refs->len; i++) {
		const char *id = g_ptr_array_index(refs, i);

		if (!compose_msgid_valid(id) || !g_hash_table_add(seen, (gpointer)id))
			__builtin_trap();
	}
	g_hash_table_unref(seen);
	g_ptr_array_unref(refs);
	g_ptr_array_unref(chain);
	g_free(irt);
	g_strfreev(lines);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const desk[] = {"help@desk.test", "soporte+ti@desk.test", NULL};
	struct thread_keys *keys = fuzz_keys();
	char *text = g_strndup((const char *)data, size);
	int64_t ticket = 0, agent = 0;
	char *token, *base, *id;

	/* made-up input never verifies; a 2^-80 chance is no excuse */
	if (thread_verify_message_id(keys, text, "desk.test", &ticket) ||
	    thread_verify_reply_token(keys, text, &ticket, &agent))
		__builtin_trap();
	token = thread_token_from_address(text, desk);
	if (token != NULL) {
		if (strlen(token) == 0 || strlen(token) > THREAD_TOKEN_MAX ||
		    thread_verify_reply_token(keys, token, &ticket, &agent))
			__builtin_trap();
		g_free(token);
	}
	base = thread_subject_base(text);
	if (strlen(base) > strlen(text) ||
	    (g_utf8_validate(text, -1, NULL) && !g_utf8_validate(base, -1, NULL)))
		__builtin_trap();
	g_free(base);

	/* identifiers minted from the input's numbers come back as they went */
	if (size >= 8) {
		int64_t t;

		memcpy(&t, data, sizeof(t));
		t = t < 0 ? -(t + 1) : t;
		id = thread_mint_message_id(keys, t, "Desk.Test");
		if ((id == NULL) != (t < 1) ||
		    (id != NULL &&
		     (!thread_verify_message_id(keys, id, "desk.test", &ticket) || ticket != t)))
			__builtin_trap();
		g_free(id);
		token = thread_mint_reply_token(keys, t % (THREAD_TOKEN_MAX_ID + 1), t % 1000);
		if (token != NULL && (!thread_verify_reply_token(keys, token, &ticket, &agent) ||
				      ticket != t % (THREAD_TOKEN_MAX_ID + 1) || agent != t % 1000))
			__builtin_trap();
		g_free(token);
	}
	decide(data, size);
	reply_headers(text);
	g_free(text);
	return 0;
}
