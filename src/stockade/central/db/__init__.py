"""Central DB: PostgreSQL connection pool, embedded server, migrations."""
