"""An Airflow-style daily sales pipeline, one module per layer (and per asset group).

ingest (sources: daily order CSVs, a products Parquet, a customers CSV)
  -> staging (Polars: typed, deduplicated, cleaned)
  -> marts (DuckDB SQL: order lines, daily and per-category sales)
  -> reports (a Markdown daily report)
"""
