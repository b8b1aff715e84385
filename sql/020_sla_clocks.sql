-- SLA clocks that follow the ticket, whoever changes it (a #priority mail, spocctl, plain SQL):
-- spocd writes its SLA policy (targets, the business calendar's hours, holidays and zone) into
-- the tables below at start, and the database recomputes the due times from them when a ticket's
-- priority or kind changes, or the policy itself does. The resolution clock stops while the
-- ticket is pending (waiting for the requester): paused_at says since when, and on leaving
-- pending resolution_due moves on by the calendar minutes spent paused, added to paused_minutes.
-- sla_add_minutes() and sla_minutes_between() are sla_due() and sla_business_minutes() of
-- src/desk/sla.c written again in SQL: a working day's ranges are local times in the policy's zone,
-- turned into instants with that day's rules, so a DST change at night costs nothing.

CREATE TABLE sla_policy (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    timezone    text NOT NULL,
    document    jsonb NOT NULL,           -- sla_conf_policy_json(), as spocd last wrote it
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE sla_hours (
    isodow       smallint NOT NULL CHECK (isodow BETWEEN 1 AND 7),
    start_minute integer NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute   integer NOT NULL CHECK (end_minute > start_minute AND end_minute <= 1440),
    PRIMARY KEY (isodow, start_minute)
);
CREATE TABLE sla_holidays (
    day text PRIMARY KEY CHECK (day ~ '^([0-9]{4}-)?[0-9]{2}-[0-9]{2}$')  -- one day, or every year
);
CREATE TABLE sla_targets (
    priority         smallint NOT NULL CHECK (priority BETWEEN 1 AND 5),
    kind             text NOT NULL CHECK (kind IN ('incident', 'request')),
    first_response   integer NOT NULL CHECK (first_response >= 0),
    resolution       integer NOT NULL CHECK (resolution >= 0),
    around_the_clock boolean NOT NULL,
    PRIMARY KEY (priority, kind)
);

ALTER TABLE tickets
    ADD COLUMN paused_at      timestamptz,
    ADD COLUMN paused_minutes integer NOT NULL DEFAULT 0 CHECK (paused_minutes >= 0);
-- A ticket pending today has been paused since it last became pending (its last change when the
-- trail does not say). Without the status trigger, which would touch updated_at.
ALTER TABLE tickets DISABLE TRIGGER tickets_status_move;
UPDATE tickets t SET paused_at = coalesce(
    (SELECT max(e.at) FROM ticket_events e WHERE e.ticket_id = t.id AND e.field = 'status'
        AND e.new_value = 'pending'), t.updated_at)
    WHERE t.status = 'pending';
ALTER TABLE tickets ENABLE TRIGGER tickets_status_move;

-- A notice is one per ticket, target, level and due time: a due time recomputed later gets its
-- own warning and breach. One recorded for a later due time than the ticket's still speaks for
-- it (the watcher reads it so): the ticket was warned, or is past due, already.
ALTER TABLE sla_notices DROP CONSTRAINT sla_notices_pkey;
ALTER TABLE sla_notices ADD PRIMARY KEY (ticket_id, target, level, due);

-- The instant of `minute` minutes after local midnight of day d in zone (1440: the next
-- midnight). A local time the zone skips (a DST gap) is the first instant after the gap, as GLib
-- has it in sla.c; PostgreSQL alone would read it with the offset before the change.
CREATE FUNCTION sla_local(d date, minute integer, zone text) RETURNS timestamptz
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    l timestamp := d + make_interval(mins => minute);
    t timestamptz := l AT TIME ZONE zone;
BEGIN
    FOR i IN 1 .. 1440 LOOP
        EXIT WHEN (t AT TIME ZONE zone) = l;
        l := l + interval '1 minute';
        t := l AT TIME ZONE zone;
    END LOOP;
    RETURN t;
END $$;

-- Microseconds since the epoch and back: interval arithmetic on timestamptz would add calendar
-- days (23 or 25 hours across a DST change).
CREATE FUNCTION sla_us(t timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT (extract(epoch FROM t) * 1000000)::bigint
$$;
CREATE FUNCTION sla_from_us(us bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
    SELECT timestamptz 'epoch' + us * interval '1 microsecond'
$$;

-- The moment `minutes` minutes of the calendar after start (sla_due()): around the clock every
-- minute counts; otherwise the working ranges of the days that are not holidays, from the local
-- day of start on, for at most 3660 days (SLA_MAX_DAYS). NULL beyond that, or without a policy.
CREATE FUNCTION sla_add_minutes(start timestamptz, minutes integer, around_the_clock boolean)
    RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
    zone text;
    need bigint := greatest(minutes, 0)::bigint * 60000000;
    cur bigint := sla_us(start);
    d date;
    r record;
    open_us bigint;
    close_us bigint;
BEGIN
    IF start IS NULL OR minutes IS NULL THEN
        RETURN NULL;
    END IF;
    IF around_the_clock THEN
        IF minutes > 3660 * 24 * 60 THEN
            RETURN NULL;
        END IF;
        RETURN sla_from_us(cur + need);
    END IF;
    SELECT timezone INTO zone FROM sla_policy;
    IF zone IS NULL THEN
        RETURN NULL;
    END IF;
    d := (start AT TIME ZONE zone)::date;
    FOR i IN 1 .. 3660 LOOP
        IF NOT EXISTS (SELECT 1 FROM sla_holidays
                        WHERE day IN (to_char(d, 'YYYY-MM-DD'), to_char(d, 'MM-DD'))) THEN
            FOR r IN SELECT start_minute, end_minute FROM sla_hours
                      WHERE isodow = extract(isodow FROM d) ORDER BY start_minute LOOP
                open_us := sla_us(sla_local(d, r.start_minute, zone));
                close_us := sla_us(sla_local(d, r.end_minute, zone));
                CONTINUE WHEN close_us <= cur;
                open_us := greatest(open_us, cur);
                IF need <= close_us - open_us THEN
                    RETURN sla_from_us(open_us + need);
                END IF;
                need := need - (close_us - open_us);
            END LOOP;
        END IF;
        d := d + 1;
    END LOOP;
    RETURN NULL;
END $$;

-- Whole calendar minutes between from_at and to_at, 0 when to_at is not after from_at
-- (sla_business_minutes()).
CREATE FUNCTION sla_minutes_between(from_at timestamptz, to_at timestamptz,
                                    around_the_clock boolean)
    RETURNS integer LANGUAGE plpgsql STABLE AS $$
DECLARE
    zone text;
    cur bigint := sla_us(from_at);
    stop bigint := sla_us(to_at);
    total bigint := 0;
    d date;
    r record;
    open_us bigint;
    close_us bigint;
BEGIN
    IF from_at IS NULL OR to_at IS NULL OR stop <= cur THEN
        RETURN 0;
    END IF;
    IF around_the_clock THEN
        RETURN least(stop - cur, 3660::bigint * 24 * 60 * 60000000) / 60000000;
    END IF;
    SELECT timezone INTO zone FROM sla_policy;
    IF zone IS NULL THEN
        RETURN (stop - cur) / 60000000;
    END IF;
    d := (from_at AT TIME ZONE zone)::date;
    <<days>>
    FOR i IN 1 .. 3660 LOOP
        IF NOT EXISTS (SELECT 1 FROM sla_holidays
                        WHERE day IN (to_char(d, 'YYYY-MM-DD'), to_char(d, 'MM-DD'))) THEN
            FOR r IN SELECT start_minute, end_minute FROM sla_hours
                      WHERE isodow = extract(isodow FROM d) ORDER BY start_minute LOOP
                open_us := sla_us(sla_local(d, r.start_minute, zone));
                close_us := sla_us(sla_local(d, r.end_minute, zone));
                CONTINUE WHEN close_us <= cur;
                open_us := greatest(open_us, cur);
                EXIT days WHEN open_us >= stop;
                total := total + least(close_us, stop) - open_us;
            END LOOP;
        END IF;
        d := d + 1;
    END LOOP;
    RETURN total / 60000000;
END $$;

-- The due times the policy gives a ticket of this priority and kind created at `created` that
-- has been paused `paused` calendar minutes; no row without a policy.
CREATE FUNCTION sla_ticket_due(created timestamptz, ticket_priority smallint, ticket_kind text,
                               paused integer,
                               OUT first_response_due timestamptz, OUT resolution_due timestamptz)
    RETURNS SETOF record LANGUAGE sql STABLE AS $$
    SELECT sla_add_minutes(created, t.first_response, t.around_the_clock),
           sla_add_minutes(created, t.resolution + paused, t.around_the_clock)
      FROM sla_targets t WHERE t.priority = ticket_priority AND t.kind = ticket_kind
$$;

-- The clock of one ticket, before any other BEFORE UPDATE trigger has its say (the status
-- model refuses a move that is not allowed whatever this one did).
CREATE FUNCTION tickets_sla_clock() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tgt sla_targets;
    have boolean;
    due record;
    spent integer;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status = 'pending' THEN
            NEW.paused_at := coalesce(NEW.paused_at, now());
        END IF;
        RETURN NEW;
    END IF;
    SELECT * INTO tgt FROM sla_targets WHERE priority = NEW.priority AND kind = NEW.kind;
    have := FOUND;
    IF NEW.status = 'pending' AND OLD.status IS DISTINCT FROM 'pending' THEN
        NEW.paused_at := now();
    ELSIF NEW.status IS DISTINCT FROM 'pending' AND OLD.status = 'pending' THEN
        -- counted on the calendar of the ticket's target; every minute without a policy
        spent := CASE WHEN OLD.paused_at IS NULL THEN 0
                      WHEN NOT have THEN
                          floor(extract(epoch FROM now() - OLD.paused_at) / 60)::integer
                      ELSE sla_minutes_between(OLD.paused_at, now(), tgt.around_the_clock) END;
        NEW.paused_at := NULL;
        IF spent > 0 THEN
            NEW.paused_minutes := OLD.paused_minutes + spent;
            NEW.resolution_due := CASE WHEN NOT have
                THEN OLD.resolution_due + make_interval(mins => spent)
                ELSE sla_add_minutes(OLD.resolution_due, spent, tgt.around_the_clock) END;
        END IF;
    END IF;
    IF have AND NEW.status IN ('new', 'in-progress', 'pending')
       AND (NEW.priority IS DISTINCT FROM OLD.priority OR NEW.kind IS DISTINCT FROM OLD.kind) THEN
        SELECT * INTO due FROM sla_ticket_due(NEW.created_at, NEW.priority, NEW.kind,
                                              NEW.paused_minutes);
        IF NEW.first_response_at IS NULL THEN
            NEW.first_response_due := due.first_response_due;
        END IF;
        NEW.resolution_due := due.resolution_due;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER tickets_sla_clock BEFORE INSERT OR UPDATE OF priority, kind, status ON tickets
    FOR EACH ROW EXECUTE FUNCTION tickets_sla_clock();

-- An SLA notice queued for a due time earlier than the ticket's now (it was given more time, or
-- has no target any more), or for a ticket now pending, would tell the agents something false:
-- it is withdrawn before it is sent, with its record in sla_notices (so the watcher may speak
-- again of the new due time, or after the pause), and the ticket's trail says so. One for a later
-- due time than the new one is still true (the ticket is warned, or past due, all the more).
CREATE FUNCTION tickets_sla_withdraw() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who text := coalesce(nullif(current_setting('spocd.actor', true), ''), session_user);
    how text := coalesce(nullif(current_setting('spocd.via', true), ''), 'sql');
BEGIN
    WITH gone AS (
        DELETE FROM outbox o
         WHERE o.ticket_id = NEW.id AND o.state IN ('pending', 'held')
           AND o.kind IN ('sla-warning', 'sla-breach')
           AND (NEW.status = 'pending'
                OR coalesce((o.detail->>'due')::bigint <
                   floor(extract(epoch FROM CASE o.detail->>'target'
                       WHEN 'first-response' THEN NEW.first_response_due
                       ELSE NEW.resolution_due END))::bigint, true))
        RETURNING o.detail->>'target' AS target, substr(o.kind, 5) AS level,
                  (o.detail->>'due')::bigint AS due),
    notices AS (
        DELETE FROM sla_notices n USING (SELECT DISTINCT * FROM gone) g
         WHERE n.ticket_id = NEW.id AND n.target = g.target AND n.level = g.level
           AND floor(extract(epoch FROM n.due))::bigint = g.due
           -- a notice some of whose mails went out stays recorded
           AND NOT EXISTS (SELECT 1 FROM outbox s WHERE s.ticket_id = NEW.id
                            AND s.kind = 'sla-' || n.level AND s.detail->>'target' = n.target
                            AND (s.detail->>'due')::bigint = g.due
                            AND s.state NOT IN ('pending', 'held'))
        RETURNING n.ticket_id)
    INSERT INTO ticket_events (ticket_id, actor, via, field, old_value, new_value)
        SELECT NEW.id, who, how, 'sla-notice-withdrawn',
               g.target || ' ' || g.level || ' due ' ||
                   to_char(to_timestamp(g.due) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
               CASE WHEN NEW.status = 'pending' THEN 'pending' ELSE 'more time' END
          FROM (SELECT DISTINCT target, level, due FROM gone) g ORDER BY g.target, g.level;
    RETURN NULL;
END $$;
-- (priority and kind too: a column changed by a BEFORE trigger does not fire an UPDATE OF trigger)
CREATE TRIGGER tickets_sla_withdraw
    AFTER UPDATE OF first_response_due, resolution_due, status, priority, kind ON tickets FOR EACH ROW
    WHEN (OLD.first_response_due IS DISTINCT FROM NEW.first_response_due
          OR OLD.resolution_due IS DISTINCT FROM NEW.resolution_due
          OR (NEW.status = 'pending' AND OLD.status IS DISTINCT FROM 'pending'))
    EXECUTE FUNCTION tickets_sla_withdraw();

-- spocd's policy, written at start and on reload (sla_conf_policy_json()): nothing happens when
-- it is the one stored; otherwise the tables are replaced and every open ticket's due times are
-- recomputed from its creation, its pauses included (a first response already made keeps its
-- due time). Returns how many tickets were recomputed, -1 when the policy was already stored.
-- Two spocd starting at once take turns on the lock.
CREATE FUNCTION sla_policy_set(doc jsonb) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    LOCK TABLE sla_policy IN EXCLUSIVE MODE;
    IF EXISTS (SELECT 1 FROM sla_policy WHERE document = doc) THEN
        RETURN -1;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = doc->>'timezone') THEN
        RAISE EXCEPTION 'sla.calendar.timezone: "%" is not a time zone PostgreSQL knows: name an '
            'IANA zone such as "Europe/Madrid" in sla.calendar.timezone', doc->>'timezone'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM sla_hours;
    DELETE FROM sla_holidays;
    DELETE FROM sla_targets;
    INSERT INTO sla_hours (isodow, start_minute, end_minute)
        SELECT (h->>0)::smallint, (h->>1)::integer, (h->>2)::integer
          FROM jsonb_array_elements(doc->'hours') h;
    INSERT INTO sla_holidays (day) SELECT jsonb_array_elements_text(doc->'holidays');
    INSERT INTO sla_targets (priority, kind, first_response, resolution, around_the_clock)
        SELECT (x->>0)::smallint, x->>1, (x->>2)::integer, (x->>3)::integer, (x->>4)::boolean
          FROM jsonb_array_elements(doc->'targets') x;
    INSERT INTO sla_policy (timezone, document) VALUES (doc->>'timezone', doc)
        ON CONFLICT (only_row) DO UPDATE SET timezone = EXCLUDED.timezone,
            document = EXCLUDED.document, updated_at = now();
    UPDATE tickets t
       SET first_response_due = CASE WHEN t.first_response_at IS NULL
                                     THEN d.first_response_due ELSE t.first_response_due END,
           resolution_due = d.resolution_due
      FROM tickets x CROSS JOIN LATERAL sla_ticket_due(x.created_at, x.priority, x.kind,
                                                       x.paused_minutes) d
     WHERE x.id = t.id AND t.status IN ('new', 'in-progress', 'pending')
       AND (t.first_response_due, t.resolution_due)
           IS DISTINCT FROM (CASE WHEN t.first_response_at IS NULL THEN d.first_response_due
                                  ELSE t.first_response_due END, d.resolution_due);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
