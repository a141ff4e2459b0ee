"""The ClickHouse engine, a server (`clickhouse://`) or in-process (`chdb:///dir`):
`engine.ClickHouseStore`.

- `engine`: the store: its clients, versions, and delegation.
- `_writes`: its own write path: rows loaded and merged, inserted as new versions and
  tombstones in one INSERT.
- `_session`: a client with our settings; ClickHouse's errors translated into ours.
- `_care`: retention (expired sessions, orphans, pending rows).
- `_schema`: the tables as data, their DDL on one node or a cluster, the row encoding.
- `_reads`: filtered pages, totals, chart rows and session outlines, with SQLite's
  semantics.
- `_tenancy`: tenancy and data-care records as versioned rows.

Only `cluster_ddl` is exported here: `hivekeeper clickhouse-ddl` prints a cluster's
schema without clickhouse-connect installed (an optional extra).
"""

from __future__ import annotations

from hivekeeper.store.clickhouse._schema import cluster_ddl

__all__ = ["cluster_ddl"]
