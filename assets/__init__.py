"""The default project: a small species classifier on the Palmer penguins data.

raw_penguins (source CSV) -> penguins (Polars, nulls dropped) -> penguin_features (DuckDB SQL)
-> train_set / test_set -> species_model (scikit-learn) -> evaluation (metrics) -> report.
scikit-learn comes with the `ml` extra: `pip install -e ".[ml]"` from the repository root.
"""
