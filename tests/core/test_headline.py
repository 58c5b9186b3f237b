"""Two runs' headline figures side by side, as `stockflow reproduce` prints them."""

from stockflow.reporting.headline import for_mlflow, from_mlflow, side_by_side

FIGURES = {"mae_pct": 100.18, "dm_p": 0.8383, "sharpe": 0.579, "promoted": 1.0}


def test_equal_figures_have_no_first_difference():
    table, first = side_by_side(FIGURES, dict(FIGURES))
    assert first is None
    assert "differs" not in table and "mae_pct" in table and "0.579" in table


def test_the_first_difference_in_reading_order_is_named_with_its_size():
    table, first = side_by_side(FIGURES, {**FIGURES, "sharpe": 0.5, "promoted": 0.0})
    assert first == "sharpe: 0.579 -> 0.5 (-0.079)"
    assert table.count("<- differs") == 2


def test_a_figure_only_one_run_has_is_a_difference():
    _, first = side_by_side(FIGURES, {k: v for k, v in FIGURES.items() if k != "dm_p"})
    assert first == "dm_p: 0.8383 -> -"


def test_figures_read_back_from_mlflow_names_in_reading_order():
    metrics = {**for_mlflow(FIGURES), "train/loss": 3.0}
    assert list(from_mlflow(metrics)) == ["mae_pct", "dm_p", "sharpe", "promoted"]
    assert from_mlflow(metrics) == FIGURES
