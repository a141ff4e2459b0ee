"""The API's HTTP routes, one module per resource, and its API-key auth; `hivekeeper.app`
assembles them over the plumbing of `hivekeeper.web`."""

__all__: list[str] = []
