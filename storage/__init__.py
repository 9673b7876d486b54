"""Metadata store (DuckDB via SQLModel) and artifact store (fsspec)."""

if __name__ != "workbench.storage":  # pragma: no cover - guard against importing the folder directly
    raise ImportError("import this package as workbench.storage")
