"""A Kubeflow-style pipeline: ingest -> preprocess -> train (on a GPU node) -> evaluate -> publish.

Each asset is what a Kubeflow component is: one container run with its own resources. `wb push`
turns each stale asset into a Kubernetes Job with these requests/limits, node selectors and
tolerations; `wb materialize` runs the very same code locally, on the CPU.

Data: scikit-learn's bundled diabetes data set (442 patients, 10 baseline measurements, and a
measure of disease progression one year later); no download, so pods need no internet access.

Needs scikit-learn: the `ml` extra (`pip install -e ".[ml]"` from the repository root).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from workbench import Output, Resources, asset

if TYPE_CHECKING:  # annotations only: imported lazily so that `wb status` stays fast
    import polars as pl

TARGET = "progression"
TEST_EVERY = 5  # every 5th patient is held out
HIDDEN_LAYERS = (32,)
L2 = 0.01
SEED = 0
MIN_R2 = 0.35  # the quality gate: `published_model` refuses a worse model

# Node pools on a GKE-like cluster; the selectors and tolerations end up in each Job's pod spec.
CPU_POOL = {"cloud.google.com/gke-nodepool": "cpu-pool"}
GPU_POOL = {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"}
GPU_TOLERATIONS = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]

SMALL = Resources(cpu=0.5, memory="512Mi", node_selector=CPU_POOL)
MEDIUM = Resources(cpu=1, memory="2Gi", node_selector=CPU_POOL)
GPU = Resources(cpu=4, memory="16Gi", gpu=1, node_selector=GPU_POOL, tolerations=GPU_TOLERATIONS)


@asset(group="ingest", tags={"component": "ingest"}, resources=SMALL)
def patients() -> pl.DataFrame:
    """The raw data set as a table: ten measurements and the target per patient."""
    import polars as pl
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes(scaled=False)
    frame = pl.DataFrame(bunch.data, schema=list(bunch.feature_names))
    return frame.with_columns(pl.Series(TARGET, bunch.target)).with_row_index("patient_id")


@asset(group="preprocess", tags={"component": "preprocess"}, resources=MEDIUM)
def features(patients: pl.DataFrame) -> pl.DataFrame:
    """Measurements standardized with the training rows' mean and deviation, plus a `split` column."""
    import polars as pl

    split = pl.when(pl.col("patient_id") % TEST_EVERY == 0).then(pl.lit("test")).otherwise(pl.lit("train"))
    frame = patients.with_columns(split.alias("split"))
    columns = [c for c in patients.columns if c not in ("patient_id", TARGET)]
    train = frame.filter(pl.col("split") == "train")
    return frame.with_columns(((pl.col(c) - train[c].mean()) / train[c].std()).alias(c) for c in columns)


def matrices(features: pl.DataFrame, split: str) -> tuple:
    """(X, y) numpy arrays of one split."""
    import polars as pl

    part = features.filter(pl.col("split") == split)
    return part.drop("patient_id", "split", TARGET).to_numpy(), part[TARGET].to_numpy()


@asset(group="train", tags={"component": "train", "accelerator": "gpu"}, resources=GPU, retries=2)
def model(features: pl.DataFrame):  # noqa: ANN201 - any picklable object is an artifact
    """A small neural network regressor. Asks for a T4 GPU on the cluster; runs on the CPU here."""
    from sklearn.neural_network import MLPRegressor

    device = "gpu" if os.environ.get("NVIDIA_VISIBLE_DEVICES") not in (None, "", "void") else "cpu"
    print(f"device: {device} (this sample's model trains on the CPU either way)")
    x, y = matrices(features, "train")
    net = MLPRegressor(
        hidden_layer_sizes=HIDDEN_LAYERS, alpha=L2, learning_rate_init=0.01, max_iter=400, early_stopping=True, random_state=SEED
    )
    net.fit(x, y)
    print(f"trained on {len(y)} patients: {net.n_iter_} iterations, best validation R2 {net.best_validation_score_:.3f}")
    return net


@asset(group="evaluate", tags={"component": "evaluate"}, resources=MEDIUM)
def evaluation(model, features: pl.DataFrame) -> dict:  # noqa: ANN001
    """Held-out R2, mean absolute error and RMSE."""
    from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

    x, y = matrices(features, "test")
    predicted = model.predict(x)
    scores = {
        "r2": float(r2_score(y, predicted)),
        "mae": float(mean_absolute_error(y, predicted)),
        "rmse": float(root_mean_squared_error(y, predicted)),
    }
    return Output({**{k: round(v, 4) for k, v in scores.items()}, "test_rows": len(y)}, metrics=scores)


@asset(group="publish", tags={"component": "publish"}, resources=SMALL)
def published_model(model, evaluation: dict):  # noqa: ANN001, ANN201
    """The model, released only if it passes the quality gate (Kubeflow: a `dsl.If` before deploying)."""
    if evaluation["r2"] < MIN_R2:
        raise ValueError(f"quality gate: held-out R2 {evaluation['r2']:.3f} < {MIN_R2}; not publishing")
    print(f"publishing: R2 {evaluation['r2']:.3f} >= {MIN_R2}")
    return Output(model, metadata={"r2": evaluation["r2"], "min_r2": MIN_R2}, metrics={"r2": evaluation["r2"]})
