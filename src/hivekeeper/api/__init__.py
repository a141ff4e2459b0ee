"""HTTP routes, auth and error rendering; `hivekeeper.app` assembles them."""

__all__: list[str] = []
