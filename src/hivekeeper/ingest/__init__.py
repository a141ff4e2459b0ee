"""Ingestion: the batching writer every write goes through."""

from hivekeeper.ingest.writer import Writer, WriterState

__all__ = ["Writer", "WriterState"]
