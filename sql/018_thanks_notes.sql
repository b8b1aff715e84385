-- A person's reply that only thanks or acknowledges ("¡Gracias!", "ok, perfecto", 👍) on a
-- resolved or closed ticket is kept on that ticket as a note: it reopened nothing, opened no
-- follow-up and told nobody. note_why says what the desk read in it (src/desk/noise.c); it is
-- NULL for every other message. Unlike internal (an agent's #internal note), the requester wrote
-- it and may see it.
ALTER TABLE messages ADD COLUMN note_why text;
