-- One login role per service, each owning its own schema and reaching nothing
-- else (ARCHITECTURE.md, "Data ownership").
--
-- Run once per database, as its owner or a superuser, before the services
-- first start: compose's Postgres runs it from /docker-entrypoint-initdb.d; on
-- an external server, `psql "$ADMIN_URL" -v ON_ERROR_STOP=1 -f 10-roles.sql`.
-- Safe to run again. Plain SQL (no psql variables), so tests apply it as is.
--
-- Passwords are not set here: the roles can log in only once a password is
-- set (20-passwords.sh for compose; `ALTER ROLE ... PASSWORD` from a secret
-- store elsewhere), unless the server trusts the connection.
--
-- Each service runs its own migrations at start, as its own role: they create
-- its tables (and the outbox, inbox and _sqlx_migrations tables) inside its
-- schema, which it owns.

DO $roles$
DECLARE
    service text;
BEGIN
    FOREACH service IN ARRAY ARRAY['intake', 'scheduling', 'assignment', 'notifications'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ileaps_' || service) THEN
            EXECUTE format(
                'CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 100',
                'ileaps_' || service);
        END IF;
        -- A re-run also repairs the attributes of a role made by hand.
        EXECUTE format(
            'ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS',
            'ileaps_' || service);

        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', service);
        EXECUTE format('ALTER SCHEMA %I OWNER TO %I', service, 'ileaps_' || service);
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', service);

        -- Every service starts with `CREATE SCHEMA IF NOT EXISTS <its schema>`,
        -- which PostgreSQL checks against the database's CREATE privilege even
        -- when the schema exists. CREATE lets a role make new schemas of its
        -- own, never use another's (they are owned elsewhere and closed to
        -- PUBLIC). Revoke it once the services skip that statement.
        EXECUTE format('GRANT CONNECT, TEMPORARY, CREATE ON DATABASE %I TO %I',
                       current_database(), 'ileaps_' || service);
    END LOOP;
END
$roles$;

-- Nobody else may connect, and nobody but the owner may create in public
-- (PostgreSQL before 15 lets everyone).
DO $database$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
END
$database$;
REVOKE ALL ON SCHEMA public FROM PUBLIC;

-- Assignment's exclusion constraint needs btree_gist. Its migration says
-- CREATE EXTENSION IF NOT EXISTS, which a service role may not do on servers
-- where the extension is not trusted; made here, in assignment's schema, the
-- migration finds it.
CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA assignment;
