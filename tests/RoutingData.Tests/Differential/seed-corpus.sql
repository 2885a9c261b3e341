-- Seed corpus of ClassifierDifferentialTests: known-tricky statements, every one run on a hot standby on every run.
-- Objects: DifferentialSchema.cs (schema app, search_path app, public).
--
-- An entry starts at a line "-- @@ <description>" and runs to the next such line (or the end); its text is taken as
-- it stands, comments, newlines and semicolons included. A description that starts with [refused] or [runs] also
-- states what the standby must do with the text: a check of the harness itself (that refusals are recognised).

-- @@ [runs] plain read
SELECT 1
-- @@ [runs] a table
SELECT * FROM app.items
-- @@ [runs] key words in a string
SELECT 'DELETE FROM app.items'
-- @@ [runs] statement in a dollar-quoted string
SELECT $$;DELETE FROM app.items;$$
-- @@ [runs] tagged dollar quote holding $$ and a statement
SELECT $tag$ $$ nested $$ ; DELETE FROM app.items $tag$
-- @@ [runs] dollar tags are case-sensitive
SELECT $a$ $A$; DELETE FROM app.items; $A$ $a$
-- @@ [runs] E'' string with an escaped quote
SELECT E'it\'s ; DELETE FROM app.items'
-- @@ [runs] U&'' string
SELECT U&'d\0061t\+000061 ; DELETE FROM app.items'
-- @@ [runs] string continued on the next line
SELECT 'one'
'two ; DELETE FROM app.items'
-- @@ [runs] nested block comment hiding a statement
SELECT 1 /* ; DELETE FROM app.items; /* nested */ still a comment ; UPDATE app.items SET qty = 0 */
-- @@ [runs] line comment hiding a statement
SELECT 1 -- ; DELETE FROM app.items
-- @@ [runs] comment holding quotes
SELECT 1 /* ' $$ " */ + 1 -- ' $$ "
-- @@ [runs] quoted identifiers named like key words
SELECT "update", "select", "for" FROM "delete"
-- @@ [runs] qualified quoted key-word columns
SELECT d."update", d."for" FROM public."delete" AS d WHERE d."select" = 'a'
-- @@ [runs] key words as column labels
SELECT 1 AS update, 2 AS delete, 3 AS into, 4 AS for, 5 AS insert
-- @@ [runs] quoted label that reads FOR UPDATE
SELECT i.name AS "for update" FROM app.items i
-- @@ [runs] identifier with dollar signs
SELECT a$$b FROM (SELECT 1 AS "a$$b") s
-- @@ [runs] TABLE
TABLE app.items
-- @@ [runs] VALUES
VALUES (1, 'a'), (2, 'b')
-- @@ [runs] CTE
WITH x AS (SELECT 1) SELECT * FROM x
-- @@ [runs] recursive CTE
WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r
-- @@ [runs] CTE named like a key word
WITH "update" AS (SELECT 1 AS x) SELECT x FROM "update"
-- @@ [runs] parenthesised set operation
(SELECT 1) UNION (SELECT 2) ORDER BY 1
-- @@ [runs] several reads in one text
SELECT 1; SELECT 2;
-- @@ [runs] SHOW
SHOW search_path
-- @@ [runs] SHOW ALL
SHOW ALL
-- @@ [runs] FOR in SUBSTRING, FROM in TRIM
SELECT substring(name FOR 2), trim(BOTH 'x' FROM name), position('e' IN name) FROM app.items
-- @@ [runs] FETCH FIRST
SELECT * FROM app.items ORDER BY id FETCH FIRST 2 ROWS ONLY
-- @@ [runs] LIKE with a parenthesised pattern
SELECT * FROM app.items i WHERE i.name LIKE ('item' || '%')
-- @@ [runs] operator spelled OPERATOR()
SELECT 1 OPERATOR(pg_catalog.+) 2
-- @@ [runs] casts and type modifiers
SELECT qty::numeric(10, 2), CAST(id AS varchar(5)), name::character varying(20) FROM app.items
-- @@ [runs] a view
SELECT * FROM app.item_names
-- @@ [runs] a materialized view
SELECT * FROM app.item_totals
-- @@ [runs] read-only built-ins, some of them VOLATILE
SELECT random(), clock_timestamp(), pg_sleep(0), gen_random_uuid(), txid_current_snapshot()
-- @@ [runs] pg_export_snapshot works on a standby
SELECT pg_export_snapshot()
-- @@ [runs] user IMMUTABLE and STABLE functions, qualified and quoted
SELECT f_immutable(1), app.f_stable(2), "select"(3), app."CamelStable"(4), "app"."f_immutable"(5)
-- @@ [runs] the STABLE one of two same-named functions, qualified
SELECT app.dual(1)
-- @@ [runs] STABLE function of the row in attribute notation
SELECT i.row_label, (i).row_label FROM app.items i
-- @@ [runs] aggregate whose transition function is built in
SELECT agg_read(qty) FROM app.items
-- @@ [runs] STABLE function in LIMIT
SELECT lower(name) FROM app.items ORDER BY lower(name) LIMIT f_stable(1)
-- @@ [runs] STABLE function in FILTER
SELECT count(*) FILTER (WHERE f_stable(qty) > 0) FROM app.items
-- @@ [runs] IMMUTABLE function in a window
SELECT sum(qty) OVER (PARTITION BY f_immutable(id)) FROM app.items
-- @@ [runs] STABLE function in JOIN ON
SELECT * FROM app.items a JOIN app.orders o ON f_stable(a.id) = o.item_id
-- @@ [runs] STABLE set-returning function in LATERAL
SELECT * FROM app.items a, LATERAL app.srf_read(a.id) g(v)
-- @@ [runs] STABLE function in VALUES
VALUES (f_stable(1), app.f_immutable(2))
-- @@ [runs] WITH ORDINALITY
SELECT * FROM unnest(ARRAY[1, 2]) WITH ORDINALITY AS u(v, n)
-- @@ [runs] plain EXPLAIN of writes plans only
EXPLAIN DELETE FROM app.audit
-- @@ [runs] EXPLAIN of nextval
EXPLAIN SELECT nextval('app.seq')
-- @@ [runs] EXPLAIN of SELECT INTO
EXPLAIN SELECT * INTO new_t FROM app.items
-- @@ [runs] EXPLAIN of CREATE TABLE AS
EXPLAIN CREATE TABLE new_t AS SELECT 1
-- @@ [runs] EXPLAIN (ANALYZE false)
EXPLAIN (ANALYZE false) DELETE FROM app.audit
-- @@ [runs] EXPLAIN (ANALYZE off, COSTS off)
EXPLAIN (ANALYZE off, COSTS off) INSERT INTO app.audit (what) VALUES ('x')
-- @@ [runs] EXPLAIN ("analyze" 'off')
EXPLAIN ("analyze" 'off') INSERT INTO app.audit (what) VALUES ('x')
-- @@ [runs] EXPLAIN (ANALYZE 00): the server reads 0
EXPLAIN (ANALYZE 00) DELETE FROM app.audit
-- @@ [runs] EXPLAIN (ANALYZE -0): the server reads 0
EXPLAIN (ANALYZE -0) DELETE FROM app.audit
-- @@ [runs] EXPLAIN ANALYZE of a read
EXPLAIN ANALYZE SELECT f_stable(1)
-- @@ [runs] COPY TO STDOUT
COPY app.items TO STDOUT
-- @@ [runs] COPY of a query TO STDOUT
COPY (SELECT id, lower(name) FROM app.items WHERE f_stable(id) > 0) TO STDOUT WITH CSV HEADER
-- @@ [runs] COPY BINARY TO STDOUT
COPY BINARY app.nodes TO STDOUT
-- @@ [runs] SET LOCAL
SET LOCAL work_mem = '8MB'
-- @@ [runs] SET (session)
SET search_path = app, public
-- @@ [runs] SET TRANSACTION ISOLATION LEVEL REPEATABLE READ
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ
-- @@ [runs] RESET ALL
RESET ALL
-- @@ [runs] DO that only reads
DO $$BEGIN PERFORM count(*) FROM app.items; END$$
-- @@ [runs] CALL of a procedure that only computes
CALL app.p_read(1)
-- @@ [runs] session advisory lock
SELECT pg_advisory_lock(1), pg_advisory_unlock(1)
-- @@ [runs] transaction advisory lock
SELECT pg_try_advisory_xact_lock(1)
-- @@ [runs] set_config
SELECT set_config('app.k', 'v', false)
-- @@ [runs] VOLATILE user function that only reads
SELECT f_read(1)
-- @@ [runs] a VOLATILE overload never called
SELECT ovl(1)
-- @@ [runs] LOCK in a mode a standby grants
LOCK TABLE app.items IN ACCESS SHARE MODE
-- @@ [runs] txid_current_if_assigned
SELECT txid_current_if_assigned()
-- @@ [runs] a writing function never reached
SELECT 1 FROM app.items WHERE false AND f_write(1) > 0
-- @@ [runs] DECLARE and FETCH of a read
DECLARE c1 CURSOR FOR SELECT id FROM app.items; FETCH 2 FROM c1
-- @@ [runs] PREPARE and EXECUTE of a read
PREPARE p1 (int) AS SELECT $1 + 1; EXECUTE p1(1)
-- @@ [refused] nextval
SELECT nextval('app.seq')
-- @@ [refused] nextval, qualified and upper case
SELECT PG_CATALOG.NEXTVAL('app.seq')
-- @@ [refused] setval
SELECT setval('app.seq', 1)
-- @@ [refused] nextval in a subquery in WHERE
SELECT * FROM app.items WHERE id = (SELECT nextval('app.seq'))
-- @@ [refused] nextval in ORDER BY
SELECT id FROM app.items ORDER BY nextval('app.seq')
-- @@ [refused] FOR UPDATE
SELECT * FROM app.items FOR UPDATE
-- @@ [refused] FOR UPDATE across a newline and a comment
SELECT * FROM app.items FOR
/* c */ UPDATE
-- @@ [refused] FOR KEY SHARE in a subquery
SELECT * FROM app.items WHERE id IN (SELECT item_id FROM app.orders FOR KEY SHARE)
-- @@ [refused] FOR NO KEY UPDATE in a FROM subquery
SELECT * FROM (SELECT * FROM app.items FOR NO KEY UPDATE) s
-- @@ [refused] FOR SHARE in a CTE
WITH x AS (SELECT * FROM app.items FOR SHARE) SELECT * FROM x
-- @@ [refused] data-modifying CTE
WITH d AS (DELETE FROM app.audit RETURNING id) SELECT count(*) FROM d
-- @@ [refused] data-modifying CTE after a plain one
WITH x AS (SELECT 1), d AS (INSERT INTO app.audit (what) VALUES ('x') RETURNING id) SELECT * FROM x, d
-- @@ [refused] data-modifying CTE behind MATERIALIZED
WITH d AS MATERIALIZED (UPDATE app.items SET qty = qty RETURNING id) SELECT * FROM d
-- @@ [refused] SELECT INTO
SELECT * INTO new_t FROM app.items
-- @@ [refused] SELECT INTO TEMP
SELECT 1 AS a INTO TEMP tmp_t
-- @@ [refused] EXPLAIN ANALYZE of a DELETE
EXPLAIN ANALYZE DELETE FROM app.audit
-- @@ [refused] EXPLAIN (ANALYZE)
EXPLAIN (ANALYZE) DELETE FROM app.audit
-- @@ [refused] EXPLAIN (ANALYZE true)
EXPLAIN (ANALYZE true) DELETE FROM app.audit
-- @@ [refused] EXPLAIN (ANALYZE on, BUFFERS)
EXPLAIN (ANALYZE on, BUFFERS) DELETE FROM app.audit
-- @@ [refused] EXPLAIN (ANALYZE 1)
EXPLAIN (ANALYZE 1) DELETE FROM app.audit
-- @@ [refused] EXPLAIN (ANALYZE +1)
EXPLAIN (ANALYZE +1) DELETE FROM app.audit
-- @@ [refused] EXPLAIN ("analyze")
EXPLAIN ("analyze") DELETE FROM app.audit
-- @@ [refused] EXPLAIN ("analyze" 'on')
EXPLAIN ("analyze" 'on') DELETE FROM app.audit
-- @@ [refused] EXPLAIN (analyse)
EXPLAIN (analyse) DELETE FROM app.audit
-- @@ [refused] EXPLAIN (ANALYZE off, ANALYZE on): the last one counts
EXPLAIN (ANALYZE off, ANALYZE on) DELETE FROM app.audit
-- @@ [refused] EXPLAIN (FORMAT JSON, ANALYZE, COSTS false)
EXPLAIN (FORMAT JSON, ANALYZE, COSTS false) UPDATE app.items SET qty = 1
-- @@ [refused] EXPLAIN ANALYZE of nextval
EXPLAIN ANALYZE SELECT nextval('app.seq')
-- @@ [refused] EXPLAIN ANALYZE of SELECT INTO
EXPLAIN ANALYZE SELECT 1 AS a INTO new_t
-- @@ [refused] COPY FROM STDIN
COPY app.audit (what) FROM STDIN
-- @@ [refused] COPY of a DELETE … RETURNING
COPY (DELETE FROM app.audit RETURNING id) TO STDOUT
-- @@ [refused] COPY of nextval
COPY (SELECT nextval('app.seq')) TO STDOUT
-- @@ [refused] COPY of a writing function
COPY (SELECT f_write(1)) TO STDOUT
-- @@ [refused] user VOLATILE function that writes
SELECT f_write(1)
-- @@ [refused] ... qualified, upper case
SELECT APP.F_WRITE(1)
-- @@ [refused] ... with a named argument
SELECT f_write(x => 1)
-- @@ [refused] ... in WHERE
SELECT * FROM app.items WHERE f_write(id) > 0
-- @@ [refused] ... in JOIN ON
SELECT * FROM app.items a JOIN app.orders o ON f_write(a.id) = o.item_id
-- @@ [refused] ... in FILTER
SELECT count(*) FILTER (WHERE f_write(qty) > 0) FROM app.items
-- @@ [refused] ... in a window
SELECT sum(qty) OVER (PARTITION BY f_write(id)) FROM app.items
-- @@ [refused] ... in LIMIT
SELECT * FROM app.items LIMIT f_write(1)
-- @@ [refused] ... in VALUES
VALUES (f_write(1))
-- @@ [refused] ... in LATERAL
SELECT * FROM app.items a, LATERAL (SELECT f_write(a.id)) s(x)
-- @@ [refused] ... after OPERATOR()
SELECT 1 OPERATOR(pg_catalog.+) f_write(1)
-- @@ [refused] quoted function name with a space
SELECT "Quoted Writer"(1)
-- @@ [refused] function named "delete"
SELECT public."delete"(1)
-- @@ [runs] the STABLE one of two same-named functions, first in search_path, unqualified
SELECT dual(1)
-- @@ [refused] the VOLATILE one of two same-named functions, qualified
SELECT public.dual(1)
-- @@ [refused] the VOLATILE overload
SELECT ovl('x')
-- @@ [refused] SQL function around nextval
SELECT app.f_next()
-- @@ [refused] writing set-returning function in FROM
SELECT * FROM app.srf_write(2)
-- @@ [refused] writing set-returning function in ROWS FROM
SELECT * FROM ROWS FROM (generate_series(1, 2), app.srf_write(1)) AS r(a, b)
-- @@ [refused] VOLATILE function of the row in attribute notation
SELECT i.row_touch FROM app.items i
-- @@ [refused] ... on a parenthesised row
SELECT (i).row_touch FROM app.items i
-- @@ [refused] ... on the table's own name
SELECT items.row_touch FROM app.items
-- @@ [refused] ... schema.table.function
SELECT app.items.row_touch FROM app.items
-- @@ [refused] ... quoted
SELECT i."row_touch" FROM app.items i
-- @@ [refused] ... on a whole-row reference
SELECT (i.*).row_touch FROM app.items i
-- @@ [refused] ... attribute notation in WHERE
SELECT id FROM app.items i WHERE i.row_touch > 0
-- @@ [refused] ... attribute notation in ORDER BY, upper case
SELECT id FROM app.items i ORDER BY I.ROW_TOUCH
-- @@ [refused] ... attribute notation after IS DISTINCT FROM
SELECT 1 FROM app.items t WHERE 1 IS DISTINCT FROM t.row_touch
-- @@ [refused] ... attribute notation after FROM in SUBSTRING
SELECT substring(t.name FROM t.row_touch) FROM app.items t
-- @@ [refused] user aggregate whose transition function writes (pg_proc says IMMUTABLE)
SELECT agg_write(qty) FROM app.items
-- @@ [refused] ... qualified, as a window function
SELECT app.agg_write(qty) OVER () FROM app.items
-- @@ [refused] pg_nextoid assigns an OID
SELECT pg_nextoid('pg_catalog.pg_class', 'oid', 'pg_catalog.pg_class_oid_index')
-- @@ [refused] logical decoding (peek) cannot run during recovery
SELECT * FROM pg_logical_slot_peek_changes('diff_slot', NULL, NULL)
-- @@ [refused] ... binary
SELECT count(*) FROM pg_catalog.pg_logical_slot_peek_binary_changes('diff_slot', NULL, NULL)
-- @@ [refused] txid_current
SELECT txid_current()
-- @@ [refused] pg_current_xact_id
SELECT pg_current_xact_id()
-- @@ [refused] pg_current_wal_lsn
SELECT pg_current_wal_lsn()
-- @@ [refused] pg_notify
SELECT pg_notify('diff', 'x')
-- @@ [refused] lo_create
SELECT lo_create(0)
-- @@ [refused] pg_create_restore_point
SELECT pg_create_restore_point('diff')
-- @@ [refused] gin_clean_pending_list
SELECT gin_clean_pending_list('app.items_tags')
-- @@ [refused] replication origin
SELECT pg_replication_origin_oid('diff')
-- @@ [refused] a write after a read
SELECT 1; DELETE FROM app.audit
-- @@ [refused] a write after a line comment
SELECT 1 -- comment
; DELETE FROM app.audit
-- @@ [refused] a write after a block comment
SELECT 1 /* c */; DELETE FROM app.audit
-- @@ [refused] a write after a dollar-quoted string
SELECT $$a$$; UPDATE app.items SET qty = 1
-- @@ [refused] a write after an E'' string ending in an escaped backslash
SELECT E'\\'; DELETE FROM app.audit
-- @@ [refused] a write after an identifier with dollar signs
SELECT 1 AS a$x$; DELETE FROM app.audit
-- @@ [refused] INSERT … RETURNING
INSERT INTO app.audit (what) VALUES ('x') RETURNING id
-- @@ [refused] UPDATE … RETURNING
UPDATE app.items SET qty = qty + 1 WHERE id = 1 RETURNING qty
-- @@ [refused] DELETE … RETURNING
DELETE FROM app.orders WHERE id = 1 RETURNING *
-- @@ [refused] MERGE
MERGE INTO app.items t USING (VALUES (1, 5)) AS s(id, q) ON t.id = s.id WHEN MATCHED THEN UPDATE SET qty = s.q
-- @@ [refused] CREATE TEMP TABLE
CREATE TEMP TABLE tmp_t (a int)
-- @@ [refused] CREATE TABLE in pg_temp
CREATE TABLE pg_temp.tmp_t (a int)
-- @@ [refused] LISTEN
LISTEN diff
-- @@ [refused] NOTIFY
NOTIFY diff, 'x'
-- @@ [runs] UNLISTEN (allowed on a standby)
UNLISTEN *
-- @@ [refused] DO that writes
DO $$BEGIN INSERT INTO app.audit (what) VALUES ('do'); END$$
-- @@ [refused] CALL of a procedure that writes
CALL app.p_write(1)
-- @@ [refused] LOCK in a mode a standby refuses
LOCK TABLE app.items IN ACCESS EXCLUSIVE MODE
-- @@ [refused] SET TRANSACTION READ WRITE
SET TRANSACTION READ WRITE
-- @@ [refused] SET transaction_read_only = off
SET transaction_read_only = off
-- @@ [refused] serializable on a standby
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; SELECT 1
-- @@ [refused] cursor over a writing function, fetched
DECLARE c1 CURSOR FOR SELECT f_write(1); FETCH c1
-- @@ [refused] prepared INSERT, executed
PREPARE p1 AS INSERT INTO app.audit (what) VALUES ('p'); EXECUTE p1
-- @@ [refused] TRUNCATE
TRUNCATE app.audit
-- @@ [refused] REFRESH MATERIALIZED VIEW
REFRESH MATERIALIZED VIEW app.item_totals
-- @@ [refused] CREATE TABLE AS
CREATE TABLE new_t AS SELECT 1 AS a
-- @@ [refused] SELECT INTO after a label named merge
SELECT 1 AS merge INTO new_t FROM app.items
-- @@ [refused] SELECT INTO TEMP after a label named insert
SELECT 1 AS insert INTO TEMP tmp_t
-- @@ [refused] SELECT INTO TEMP after a bare label named insert
SELECT 1 insert INTO TEMP tmp_t
-- @@ [refused] plain EXPLAIN of SELECT INTO TEMP: planning makes the temporary schema
EXPLAIN SELECT * INTO TEMP tmp_t FROM app.items
-- @@ [refused] plain EXPLAIN of CREATE TEMP TABLE AS
EXPLAIN CREATE TEMP TABLE tmp_t AS SELECT 1
-- @@ [refused] plain EXPLAIN: the planner runs a STABLE txid_current() to estimate
EXPLAIN SELECT * FROM app.items WHERE id = txid_current()
-- @@ [refused] plain EXPLAIN: the planner folds an IMMUTABLE pg_walfile_name()
EXPLAIN SELECT pg_walfile_name('0/1')
-- @@ [refused] plain EXPLAIN: generate_series' row estimate runs its arguments
EXPLAIN SELECT * FROM generate_series(1, length(pg_replication_origin_oid('diff')::text))
-- @@ [refused] plain EXPLAIN of an UPDATE: the planner estimates pg_current_xact_id()
EXPLAIN UPDATE app.items SET qty = 1 WHERE id = pg_current_xact_id()::text::int
-- @@ [runs] plain EXPLAIN: VOLATILE calls are never run by the planner
EXPLAIN SELECT nextval('app.seq'), f_write(1), i.row_touch FROM app.items i WHERE id = f_stable(1) AND qty < nextval('app.seq')
-- @@ a data-modifying CTE nested below the top level: the server refuses the form (0A000), not the write
SELECT * FROM (WITH d AS (DELETE FROM app.audit RETURNING id) SELECT * FROM d) s
-- @@ a data-modifying CTE two levels down
WITH x AS (SELECT * FROM (WITH y AS (INSERT INTO app.audit (what) VALUES ('y') RETURNING id) SELECT * FROM y) z) SELECT * FROM x
-- @@ FOR UPDATE with an aggregate: the server refuses the form
SELECT count(*) FROM app.items FOR UPDATE
-- @@ unknown EXPLAIN option
EXPLAIN (FOO) SELECT 1
-- @@ EXPLAIN ("ANALYZE"): quoted names keep their case
EXPLAIN ("ANALYZE") DELETE FROM app.audit
-- @@ EXPLAIN EXECUTE of a statement this session never prepared
EXPLAIN EXECUTE p1
-- @@ a positional parameter without a value
SELECT $1
-- @@ an unterminated string
SELECT 'abc
-- @@ an unbalanced parenthesis followed by a write
SELECT (1; DELETE FROM app.audit
