"""The SQL the engines share, so each rule and step is written once.

- `fragments`: SQL text with its bound parameters, assembled without pasting values.
- `keyset`: the rows after a given row of a sort (pages without offsets).
- `identifiers`: the one identifier-quoting helper, and the events columns a query may
  name.
- `rows`: an events row as bound parameters and back (the row codec).
- `prices`: projects' own model prices (the `model_prices` table).
- `tenancy`: organizations, projects, keys, retention and redaction rules in SQL, and
  the rules every engine applies (project names, key checks).
- `transfer`: what `hivekeeper copy` reads from and writes to SQLite and PostgreSQL.
- `writes`: the one write algorithm of the row stores (SQLite, PostgreSQL), `apply`,
  over the primitives each engine supplies (`RowWrites`).
"""
