namespace RoutingData.Tests.Differential;

/// <summary>
/// The objects the differential test's statements use, created on the primary before anything runs on the standby:
/// tables with rows (so that calls in WHERE, ORDER BY and the like really run), a sequence, views, functions of every
/// volatility (reading and writing), overloads and same-named functions in two schemas, a function taking a table's row
/// (attribute notation), aggregates with reading and writing transition functions, and procedures.
/// </summary>
internal static class DifferentialSchema
{
    /// <summary>The search_path of the standby sessions: unqualified names find both schemas.</summary>
    public const string SearchPath = "app, public";

    public static readonly string Sql = """
        CREATE SCHEMA app;
        CREATE TABLE app.items (id int PRIMARY KEY, name text NOT NULL, qty int NOT NULL DEFAULT 0, price numeric(10, 2), tags text[], data jsonb);
        INSERT INTO app.items SELECT g, 'item ' || g, g * 3, g * 1.5, ARRAY['t' || g], jsonb_build_object('k', g) FROM generate_series(1, 8) g;
        CREATE INDEX items_tags ON app.items USING gin (tags);
        CREATE TABLE app.orders (id int PRIMARY KEY, item_id int NOT NULL REFERENCES app.items, amount int NOT NULL, note text);
        INSERT INTO app.orders SELECT g, 1 + g % 8, g * 10, CASE WHEN g % 2 = 0 THEN 'even' END FROM generate_series(1, 12) g;
        CREATE TABLE app.audit (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, what text, at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE app.nodes (id int PRIMARY KEY, parent int);
        INSERT INTO app.nodes VALUES (1, NULL), (2, 1), (3, 1), (4, 2);
        CREATE TABLE public."delete" ("update" int, "select" text, "for" int);
        INSERT INTO public."delete" VALUES (1, 'a', 2), (3, 'b', 4);
        CREATE SEQUENCE app.seq;
        CREATE VIEW app.item_names AS SELECT id, name FROM app.items;
        CREATE MATERIALIZED VIEW app.item_totals AS SELECT item_id, sum(amount)::int AS total FROM app.orders GROUP BY item_id;

        CREATE FUNCTION app.f_immutable(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT x * 2';
        CREATE FUNCTION app.f_stable(x int) RETURNS int LANGUAGE sql STABLE AS 'SELECT x + (SELECT count(*)::int FROM app.items)';
        CREATE FUNCTION app.f_read(x int) RETURNS int LANGUAGE plpgsql VOLATILE AS $$BEGIN RETURN x + (SELECT count(*)::int FROM app.orders); END$$;
        CREATE FUNCTION app.f_write(x int) RETURNS int LANGUAGE plpgsql VOLATILE AS $$BEGIN INSERT INTO app.audit (what) VALUES ('f_write'); RETURN x; END$$;
        CREATE FUNCTION app.f_next() RETURNS int LANGUAGE sql VOLATILE AS $$SELECT nextval('app.seq')::int$$;
        CREATE FUNCTION app.f_setting() RETURNS int LANGUAGE sql VOLATILE AS $$SELECT length(set_config('app.flag', 'on', false))$$;
        CREATE FUNCTION app.srf_read(n int) RETURNS SETOF int LANGUAGE sql STABLE AS 'SELECT generate_series(1, n)';
        CREATE FUNCTION app.srf_write(n int) RETURNS SETOF int LANGUAGE plpgsql VOLATILE AS $$BEGIN INSERT INTO app.audit (what) VALUES ('srf_write'); RETURN QUERY SELECT generate_series(1, n); END$$;
        CREATE FUNCTION app.row_label(app.items) RETURNS text LANGUAGE sql STABLE AS $$SELECT $1.name || '!'$$;
        CREATE FUNCTION app.row_touch(app.items) RETURNS int LANGUAGE plpgsql VOLATILE AS $$BEGIN INSERT INTO app.audit (what) VALUES ('row_touch'); RETURN $1.id; END$$;
        CREATE FUNCTION app.acc_write(s int, v int) RETURNS int LANGUAGE plpgsql VOLATILE AS $$BEGIN INSERT INTO app.audit (what) VALUES ('acc_write'); RETURN coalesce(s, 0) + coalesce(v, 0); END$$;
        CREATE AGGREGATE app.agg_write(int) (SFUNC = app.acc_write, STYPE = int);
        CREATE AGGREGATE app.agg_read(int) (SFUNC = int4pl, STYPE = int, INITCOND = '0');
        CREATE FUNCTION app.ovl(x int) RETURNS int LANGUAGE sql STABLE AS 'SELECT x';
        CREATE FUNCTION app.ovl(x text) RETURNS int LANGUAGE plpgsql VOLATILE AS $$BEGIN INSERT INTO app.audit (what) VALUES (x); RETURN 1; END$$;
        CREATE FUNCTION app.dual(x int) RETURNS int LANGUAGE sql STABLE AS 'SELECT x';
        CREATE FUNCTION public.dual(x int) RETURNS int LANGUAGE plpgsql VOLATILE AS $$BEGIN INSERT INTO app.audit (what) VALUES ('dual'); RETURN x; END$$;
        CREATE FUNCTION public."Quoted Writer"(x int) RETURNS int LANGUAGE plpgsql VOLATILE AS $$BEGIN INSERT INTO app.audit (what) VALUES ('quoted'); RETURN x; END$$;
        CREATE FUNCTION app."CamelStable"(x int) RETURNS int LANGUAGE sql STABLE AS 'SELECT x';
        CREATE FUNCTION public."delete"(x int) RETURNS int LANGUAGE plpgsql VOLATILE AS $$BEGIN DELETE FROM app.audit; RETURN x; END$$;
        CREATE FUNCTION public."select"(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT x';
        CREATE PROCEDURE app.p_write(x int) LANGUAGE plpgsql AS $$BEGIN INSERT INTO app.audit (what) VALUES ('p_write'); END$$;
        CREATE PROCEDURE app.p_read(INOUT x int) LANGUAGE plpgsql AS $$BEGIN x := x + 1; END$$;
        """;
}
