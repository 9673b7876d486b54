"""A Metaflow-style training flow on scikit-learn's bundled handwritten digits (8x8 images, 10 classes).

digits -> train_set / test_set -> model (a long step: checkpointed, retried) -> evaluation

`model` trains epoch by epoch and saves its progress in `context.checkpoint_dir` after each one.
If an attempt fails, the retry (or the next `wb materialize`) resumes from the last finished
epoch instead of starting over. Two environment variables simulate failures:

    WB_SAMPLE_CRASH_AT_EPOCH=N    every attempt that reaches epoch N crashes (a bug, a lost node)
    WB_SAMPLE_PREEMPT_AT_EPOCH=N  the first attempt crashes at epoch N; the retry resumes there

Needs scikit-learn: the `ml` extra (`pip install -e ".[ml]"` from the repository root).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import AssetContext, Grid, Output, Resources, asset

if TYPE_CHECKING:  # annotations only: imported lazily so that `wb status` stays fast
    import polars as pl

TEST_EVERY = 5  # every 5th image is held out
SEED = 7
CLASSES = list(range(10))
CRASH_ENV = "WB_SAMPLE_CRASH_AT_EPOCH"
PREEMPT_ENV = "WB_SAMPLE_PREEMPT_AT_EPOCH"
CHECKPOINT = "state.pkl"


@asset(group="data", tags={"stage": "start"})
def digits() -> pl.DataFrame:
    """The 1,797 digit images as 64 pixel columns scaled to [0, 1], plus the label."""
    import polars as pl
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pixels = pl.DataFrame(bunch.data / 16.0, schema=[f"px{i}" for i in range(64)])
    return pixels.with_columns(label=pl.Series(bunch.target)).with_row_index("image_id")


@asset(group="data", tags={"stage": "split"})
def train_set(digits: pl.LazyFrame) -> pl.DataFrame:
    import polars as pl

    return digits.filter(pl.col("image_id") % TEST_EVERY != 0).collect()


@asset(group="data", tags={"stage": "split"})
def test_set(digits: pl.LazyFrame) -> pl.DataFrame:
    import polars as pl

    return digits.filter(pl.col("image_id") % TEST_EVERY == 0).collect()


def xy(frame: pl.DataFrame) -> tuple[Any, Any]:
    """Features and labels as numpy arrays."""
    return frame.drop("image_id", "label").to_numpy(), frame["label"].to_numpy()


def load_checkpoint(folder: Path) -> tuple[Any, int] | None:
    """(model, last finished epoch) saved by an earlier, failed attempt, if any."""
    path = folder / CHECKPOINT
    if not path.exists():
        return None
    with open(path, "rb") as f:
        state = pickle.load(f)  # noqa: S301 - our own checkpoint
    return state["model"], state["epoch"]


def save_checkpoint(folder: Path, model: Any, epoch: int) -> None:
    """Write atomically, so a crash mid-write never leaves a torn checkpoint."""
    tmp = folder / f"{CHECKPOINT}.tmp"
    with open(tmp, "wb") as f:
        pickle.dump({"model": model, "epoch": epoch}, f)
    os.replace(tmp, folder / CHECKPOINT)


def simulate_failure(epoch: int, first_epoch: int) -> None:
    """Raise if an environment variable asks for a crash at this epoch (see the module docstring)."""
    if epoch == int(os.environ.get(CRASH_ENV) or 0):
        raise RuntimeError(f"simulated crash at epoch {epoch} ({CRASH_ENV})")
    if epoch == int(os.environ.get(PREEMPT_ENV) or 0) and epoch != first_epoch:
        raise RuntimeError(f"simulated preemption at epoch {epoch} ({PREEMPT_ENV})")


@asset(
    group="training",
    tags={"stage": "train"},
    resources=Resources(cpu=2, memory="4Gi"),  # Metaflow: @resources(cpu=2, memory=4096)
    retries=2,  # Metaflow: @retry(times=2); each retry resumes from the checkpoint
    retry_delay="0.5s",  # before the first retry; doubled before the next (backoff)
    params={"epochs": 10, "learning_rate": 0.01, "hidden": 64, "batch_size": 64},  # Metaflow: Parameter(...)
)
def model(train_set: pl.DataFrame, context: AssetContext):  # noqa: ANN201 - any picklable object is an artifact
    """A small neural network trained one checkpointed epoch (a pass over the data) at a time."""
    from sklearn.neural_network import MLPClassifier

    p = context.params
    epochs = p["epochs"]
    x, y = xy(train_set)
    saved = load_checkpoint(context.checkpoint_dir)
    if saved is None:
        net = MLPClassifier((p["hidden"],), batch_size=p["batch_size"], learning_rate_init=p["learning_rate"], random_state=SEED)
        done = 0
        print(f"starting from scratch: {epochs} epochs over {len(y)} images")
    else:
        net, done = saved
        print(f"resuming from checkpoint at epoch {done + 1}: epochs 1-{done} already done")
        context.add_metadata(resumed_at_epoch=done + 1)
    for epoch in range(done + 1, epochs + 1):
        simulate_failure(epoch, first_epoch=done + 1)
        net.partial_fit(x, y, classes=CLASSES)  # one epoch; the shuffling state is part of the checkpoint
        print(f"epoch {epoch}/{epochs}: train loss {net.loss_:.4f}")
        save_checkpoint(context.checkpoint_dir, net, epoch)
    for epoch, loss in enumerate(net.loss_curve_, 1):  # every epoch's loss, those before a resume too
        context.log_metric("train_loss", loss, step=epoch)
    return net


@asset(group="evaluation", tags={"stage": "evaluate"})
def evaluation(model, test_set: pl.DataFrame) -> dict:  # noqa: ANN001
    """Held-out accuracy, macro F1 and the per-digit recall."""
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    x, y = xy(test_set)
    predicted = model.predict(x)
    accuracy = float(accuracy_score(y, predicted))
    f1 = float(f1_score(y, predicted, average="macro"))
    recall = recall_score(y, predicted, average=None, labels=CLASSES)
    result = {
        "accuracy": round(accuracy, 4),
        "f1_macro": round(f1, 4),
        "test_images": len(y),
        "recall_per_digit": {str(d): round(float(r), 4) for d, r in zip(CLASSES, recall, strict=True)},
    }
    return Output(result, metrics={"accuracy": accuracy, "f1_macro": f1})


SWEEP = Grid(learning_rate=[0.003, 0.01, 0.03], hidden=[32, 64])  # Metaflow: foreach over the cells


@asset(group="sweep", tags={"stage": "sweep"}, partitions=SWEEP)
def sweep(train_set: pl.DataFrame, test_set: pl.DataFrame, context: AssetContext):  # noqa: ANN201
    """A short training (3 epochs) per grid cell: its held-out accuracy as a metric, its loss per
    epoch as a step metric."""
    from sklearn.metrics import accuracy_score
    from sklearn.neural_network import MLPClassifier

    p = context.params
    net = MLPClassifier((p["hidden"],), batch_size=64, learning_rate_init=p["learning_rate"], random_state=SEED)
    x, y = xy(train_set)
    for epoch in range(1, 4):
        net.partial_fit(x, y, classes=CLASSES)
        context.log_metric("train_loss", net.loss_, step=epoch)
    test_x, test_y = xy(test_set)
    return Output(net, metrics={"accuracy": float(accuracy_score(test_y, net.predict(test_x)))})


@asset(group="sweep", tags={"stage": "compare"})
def best_cell(sweep: dict[str, Any], context: AssetContext) -> dict:
    """The sweep's winner by held-out accuracy (Metaflow: the join step): every cell arrives with
    its params and metrics."""
    cells = context.upstream["sweep"].values()
    best = max(cells, key=lambda cell: cell.metrics["accuracy"])
    print(f"best of {len(cells)} cells: {best.partition} accuracy {best.metrics['accuracy']:.4f}")
    chosen = {"cell": best.partition, "params": dict(best.params), "accuracy": round(best.metrics["accuracy"], 4)}
    return Output(chosen, metrics={"accuracy": best.metrics["accuracy"]})

