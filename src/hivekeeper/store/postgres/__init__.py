"""The PostgreSQL engine, for several server processes on one database:
`engine.PostgresStore`.

- `engine`: the store: its connection pools and the writer's transaction.
- `_writes`: the primitives the shared write algorithm (`store.sql.writes`) runs on.
- `_locks`: advisory locks on row keys, for several writers on the same sessions.
- `_schema`: migrations (under an advisory lock) and the filter helper functions.
- `_reads`: filtered pages, totals, chart rows and session outlines, with SQLite's
  semantics.
- `_care`: retention (expired sessions, orphans, pending rows) under key locks.

Nothing is imported here: psycopg is an optional extra, loaded only when a
`postgresql://` URL is opened.
"""
