"""An MLflow-style experiment: four classifier variants on scikit-learn's bundled breast cancer data.

dataset -> train_set / test_set -> model_<variant> x 4 (each with held-out metrics)
        -> leaderboard (every variant, best first) -> best_model (the winner, to promote as `champion`)
train_set / test_set -> forest_sweep (a 3 x 2 grid of forests) -> best_forest (the sweep's winner)

Each variant is one asset made by `model_variant(...)` with its hyperparameters as `params=`. Its
code version covers the factory's code *and* those params, so editing one variant's hyperparameters
makes only that variant (and the leaderboard) stale.

Needs scikit-learn: the `ml` extra (`pip install -e ".[ml]"` from the repository root).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workbench import AssetContext, Grid, Output, asset

if TYPE_CHECKING:  # annotations only: imported lazily so that `wb status` stays fast
    import polars as pl

TARGET = "benign"
TEST_EVERY = 4  # every 4th tumour is held out
SEED = 0


@asset(group="data", tags={"stage": "data"})
def dataset() -> pl.DataFrame:
    """569 tumours: 30 measurements each, and whether it is benign (1) or malignant (0)."""
    import polars as pl
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    names = [name.replace(" ", "_") for name in bunch.feature_names]
    frame = pl.DataFrame(bunch.data, schema=names).with_columns(pl.Series(TARGET, bunch.target))
    return frame.with_row_index("sample_id")


@asset(group="data", tags={"stage": "data"})
def train_set(dataset: pl.LazyFrame) -> pl.DataFrame:
    import polars as pl

    return dataset.filter(pl.col("sample_id") % TEST_EVERY != 0).drop("sample_id").collect()


@asset(group="data", tags={"stage": "data"})
def test_set(dataset: pl.LazyFrame) -> pl.DataFrame:
    import polars as pl

    return dataset.filter(pl.col("sample_id") % TEST_EVERY == 0).drop("sample_id").collect()


def xy(frame: pl.DataFrame) -> tuple[Any, Any]:
    """Features and labels as numpy arrays."""
    return frame.drop(TARGET).to_numpy(), frame[TARGET].to_numpy()


def build_estimator(family: str, params: dict[str, Any]) -> Any:
    """An unfitted scikit-learn estimator of a model family with the given hyperparameters."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if family == "logistic_regression":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, **params))
    if family == "random_forest":
        return RandomForestClassifier(random_state=SEED, **params)
    if family == "knn":
        return make_pipeline(StandardScaler(), KNeighborsClassifier(**params))
    raise ValueError(f"unknown model family {family!r}")


def score(estimator: Any, test_set: pl.DataFrame) -> dict[str, float]:
    """Held-out metrics of a fitted binary classifier."""
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

    x, y = xy(test_set)
    predicted = estimator.predict(x)
    return {
        "accuracy": float(accuracy_score(y, predicted)),
        "f1": float(f1_score(y, predicted)),
        "precision": float(precision_score(y, predicted)),
        "recall": float(recall_score(y, predicted)),
        "roc_auc": float(roc_auc_score(y, estimator.predict_proba(x)[:, 1])),
    }


def model_variant(name: str, family: str, **params: Any) -> Callable[..., Any]:
    """Declare the asset `model_<name>`: `family` fitted with `params`, scored on the test set."""

    @asset(name=f"model_{name}", group="models", tags={"family": family}, params=params)
    def train(train_set: pl.DataFrame, test_set: pl.DataFrame, context: AssetContext) -> Any:
        estimator = build_estimator(family, dict(context.params)).fit(*xy(train_set))
        metrics = score(estimator, test_set)
        print(f"model_{name}: {family} {dict(context.params)} -> f1 {metrics['f1']:.4f}, roc_auc {metrics['roc_auc']:.4f}")
        return Output(estimator, metadata={"family": family}, metrics=metrics)

    return train


# The runs of the experiment: one asset each (MLflow: one run per hyperparameter setting).
model_logreg = model_variant("logreg", "logistic_regression", C=1.0)
model_logreg_strong_l2 = model_variant("logreg_strong_l2", "logistic_regression", C=0.01)
model_forest = model_variant("forest", "random_forest", n_estimators=50, max_depth=4)
model_knn = model_variant("knn", "knn", n_neighbors=1)


def ranked(candidates: dict[str, Any], test_set: pl.DataFrame) -> list[dict[str, Any]]:
    """One row of held-out metrics per candidate, best first: by F1, then ROC AUC."""
    rows = [{"model": key, **score(estimator, test_set)} for key, estimator in candidates.items()]
    return sorted(rows, key=lambda row: (-row["f1"], -row["roc_auc"], row["model"]))


@asset(group="registry", tags={"stage": "compare"})
def leaderboard(test_set: pl.DataFrame, model_logreg, model_logreg_strong_l2, model_forest, model_knn) -> list:  # noqa: ANN001
    """Every variant's held-out metrics, best first (MLflow: the experiment's runs table, sorted)."""
    candidates = {
        "model_logreg": model_logreg,
        "model_logreg_strong_l2": model_logreg_strong_l2,
        "model_forest": model_forest,
        "model_knn": model_knn,
    }
    rows = ranked(candidates, test_set)
    for place, row in enumerate(rows, 1):
        print(f"{place}. {row['model']:<24} f1 {row['f1']:.4f}  roc_auc {row['roc_auc']:.4f}")
    return Output(rows, metadata={"best": rows[0]["model"]}, metrics={"best_f1": rows[0]["f1"]})


@asset(group="registry", tags={"stage": "register"})
def best_model(leaderboard: list, model_logreg, model_logreg_strong_l2, model_forest, model_knn):  # noqa: ANN001, ANN201
    """The leaderboard's winner (MLflow: a registered model version; promote it with `wb alias set`)."""
    candidates = {
        "model_logreg": model_logreg,
        "model_logreg_strong_l2": model_logreg_strong_l2,
        "model_forest": model_forest,
        "model_knn": model_knn,
    }
    best = leaderboard[0]
    metrics = {k: v for k, v in best.items() if k != "model"}
    return Output(candidates[best["model"]], metadata={"variant": best["model"]}, metrics=metrics)


# A sweep (MLflow: a parent run with one child run per grid point; Katib: a grid experiment):
# six forests, one per cell of the grid, each a partition with its params in `context.params`.
FOREST_GRID = Grid(n_estimators=[25, 50, 100], max_depth=[2, 4])


@asset(group="sweep", tags={"family": "random_forest"}, partitions=FOREST_GRID)
def forest_sweep(train_set: pl.DataFrame, test_set: pl.DataFrame, context: AssetContext) -> Any:
    """One random forest per grid cell, scored on the test set; its held-out F1 as trees are added
    is a step metric (MLflow: `log_metric(..., step=)`)."""
    estimator = build_estimator("random_forest", dict(context.params)).fit(*xy(train_set))
    for trees, f1 in f1_by_trees(estimator, test_set):
        context.log_metric("f1_by_trees", f1, step=trees)
    return Output(estimator, metrics=score(estimator, test_set))


def f1_by_trees(forest: Any, test_set: pl.DataFrame, every: int = 5) -> list[tuple[int, float]]:
    """(trees, held-out F1 of the forest's first `trees` trees), every `every` trees."""
    import numpy as np
    from sklearn.metrics import f1_score

    x, y = xy(test_set)
    votes = np.cumsum([tree.predict_proba(x)[:, 1] for tree in forest.estimators_], axis=0)
    steps = range(every, len(forest.estimators_) + 1, every)
    return [(k, float(f1_score(y, (votes[k - 1] / k > 0.5).astype(int)))) for k in steps]


@asset(group="sweep", tags={"stage": "compare"})
def best_forest(forest_sweep: dict[str, Any], context: AssetContext) -> Any:
    """The sweep's winner by F1 (then ROC AUC): every cell arrives with its params and metrics."""
    cells = context.upstream["forest_sweep"].values()
    best = max(cells, key=lambda cell: (cell.metrics["f1"], cell.metrics["roc_auc"]))
    print(f"best of {len(cells)} cells: {best.partition} f1 {best.metrics['f1']:.4f}")
    return Output(forest_sweep[best.partition], metadata={"cell": best.partition, "params": dict(best.params)}, metrics=dict(best.metrics))
