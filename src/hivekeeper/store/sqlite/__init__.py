"""The embedded SQLite engine (the default): `engine.SqliteStore`.

- `engine`: the store: its connections, the writer's transaction, delegation.
- `_writes`: the primitives the shared write algorithm (`store.sql.writes`) runs on.
- `_schema`: migrations and the statements every events writer shares.
- `_reads`: filtered pages, totals, chart rows and session outlines.
- `_care`: retention (expired sessions, orphans, pending rows).
- `_backup`: online backup, verified restore, and the lock that keeps them apart.

Nothing is imported here, so a module of the package costs only what it imports.
"""
