"""The API's HTTP routes, one module per resource, the OTLP/gRPC receiver (`otlp_grpc`,
sharing `otlp_export` with the OTLP/HTTP routes), and its API-key auth;
`hivekeeper.app` assembles them over the plumbing of `hivekeeper.web`."""

__all__: list[str] = []
