"""hivekeeper: a self-hosted LLM observability server that speaks the HoneyHive API."""

__version__ = "0.1.0"
__all__ = ["__version__"]
