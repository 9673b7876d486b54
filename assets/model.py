"""Training and evaluating a species classifier with scikit-learn (the `ml` extra: `pip install -e ".[ml]"`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench import Output, Resources, asset

if TYPE_CHECKING:  # annotations only: imported lazily so that `wb status` stays fast
    import polars as pl

FEATURES = (
    "bill_length_mm",
    "bill_depth_mm",
    "flipper_length_mm",
    "body_mass_kg",
    "bill_ratio",
    "is_male",
    "on_biscoe",
    "on_dream",
)
TARGET = "species"


@asset(group="ml", tags={"domain": "penguins", "kind": "model"}, resources=Resources(cpu=2, memory="2Gi"), retries=1)
def species_model(train_set: pl.DataFrame):  # noqa: ANN201 - any picklable object is an artifact
    """A standardized logistic regression; scikit-learn is imported here so `wb status` stays fast."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(train_set.select(FEATURES).to_numpy(), train_set[TARGET].to_numpy())
    print(f"trained on {train_set.height} penguins, {len(FEATURES)} features")
    return model


@asset(group="ml", tags={"domain": "penguins"})
def evaluation(species_model, test_set: pl.DataFrame) -> dict:  # noqa: ANN001
    """Held-out accuracy, macro F1 and the confusion matrix."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    truth = test_set[TARGET].to_list()
    predicted = species_model.predict(test_set.select(FEATURES).to_numpy()).tolist()
    labels = sorted(set(truth))
    accuracy = float(accuracy_score(truth, predicted))
    f1 = float(f1_score(truth, predicted, average="macro"))
    result = {
        "accuracy": round(accuracy, 4),
        "f1_macro": round(f1, 4),
        "test_rows": len(truth),
        "labels": labels,
        "confusion": confusion_matrix(truth, predicted, labels=labels).tolist(),
    }
    return Output(result, metrics={"accuracy": accuracy, "f1_macro": f1})
