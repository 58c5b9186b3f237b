import pytest

from stockflow.config import ParamsError, parse_params


def test_defaults_are_the_papers_network():
    p = parse_params({})
    assert (p.train.layers, p.train.units, p.train.dropout, p.train.architecture) == (2, 50, 0.1, "lstm")


def test_unknown_key_is_rejected_with_its_path():
    with pytest.raises(ParamsError, match=r"train\.epoch"):
        parse_params({"train": {"epoch": 3}})


def test_wrong_type_names_the_key():
    with pytest.raises(ParamsError, match=r"backtest\.commission"):
        parse_params({"backtest": {"commission": "lots"}})


def test_overrides_parse_yaml_scalars_and_stay_typed():
    p = parse_params({}, ["train.epochs=3", "backtest.stop_loss=null", "preprocess.features=[close, volume]"])
    assert p.train.epochs == 3
    assert p.backtest.stop_loss is None
    assert p.preprocess.features == ("close", "volume")


def test_override_of_unknown_section_fails():
    with pytest.raises(ParamsError):
        parse_params({}, ["nosuch.key=1"])


def test_flat_params_are_dotted():
    flat = parse_params({}).flat()
    assert flat["train.units"] == 50 and flat["validate.suite"] == "ohlcv"


def test_params_are_frozen():
    p = parse_params({})
    with pytest.raises(ValueError):  # pydantic ValidationError is a ValueError
        p.train.epochs = 5


def test_presets_lay_over_the_sections_and_overrides_win():
    raw = {"train": {"epochs": 50}, "presets": {"paper": {"train": {"epochs": 10, "patience": 0}}}}
    assert parse_params(raw).train.epochs == 50
    paper = parse_params({**raw, "preset": "paper"})
    assert (paper.preset, paper.train.epochs, paper.train.patience) == ("paper", 10, 0)
    assert parse_params(raw, ["preset=paper", "train.epochs=1"]).train.epochs == 1
    with pytest.raises(ParamsError, match="preset 'papr' is not defined"):
        parse_params(raw, ["preset=papr"])


def test_the_paper_preset_is_the_papers_set_up():
    from pathlib import Path

    import yaml

    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text())
    paper = parse_params(raw, ["preset=paper"])
    assert (paper.preprocess.target, paper.preprocess.scaler, paper.preprocess.features) == (
        "price",
        "minmax",
        ("close",),
    )
    assert (paper.train.layers, paper.train.units, paper.train.dropout, paper.train.patience) == (2, 50, 0.1, 0)
    default = parse_params(raw)
    assert default.preprocess.target == "log_return" and default.train.units == paper.train.units


def test_tickers_are_names_not_paths():
    for bad in ("../evil", "a/b", "", ".x"):
        with pytest.raises(ParamsError, match=r"data\.tickers"):
            parse_params({"data": {"tickers": [bad]}})
    with pytest.raises(ParamsError, match="listed twice"):
        parse_params({"data": {"tickers": ["a", "a"]}})
    assert parse_params({"data": {"tickers": ["BRK-B", "msft", "7203.T"]}}).data.tickers == ("BRK-B", "msft", "7203.T")


def test_a_non_mapping_is_refused():
    with pytest.raises(ParamsError, match="mapping"):
        parse_params(["a"])  # type: ignore[arg-type]


RANGE = {"type": "int", "low": 16, "high": 128}


@pytest.mark.parametrize(
    ("space", "named"),
    [
        ({}, r"tune\.space.*search space is empty"),
        ({"train.colour": RANGE}, r"'train\.colour' is not a setting"),
        ({"backtest.stop_loss": RANGE}, r"'backtest\.stop_loss' is not a setting the study can vary"),
        ({"train.units": {**RANGE, "low": 500}}, r"tune\.space\.train\.units.*low 500 > high 128"),
        ({"train.units": {"type": "int"}}, r"tune\.space\.train\.units.*needs low and high"),
        ({"train.dropout": {"type": "float", "low": 0.0, "high": 1.5}}, r"train\.dropout: 1\.5 is not a value"),
        ({"train.architecture": {"type": "categorical", "choices": ["lstm", "tree"]}}, r"'tree' is not a value"),
        ({"train.learning_rate": {"type": "float", "low": 0, "high": 0.1, "log": True}}, r"log range needs low > 0"),
        ({"train.units": 50}, r"tune\.space\.train\.units"),
    ],
)
def test_a_search_space_that_cannot_be_searched_names_its_key(space, named):
    with pytest.raises(ParamsError, match=named):
        parse_params({"tune": {"space": space}})


def test_a_universe_search_space_varies_universe_settings_only():
    with pytest.raises(ParamsError, match=r"'train\.units' is not a setting the study can vary"):
        parse_params({"tune": {"universe_space": {"train.units": RANGE}}})
    p = parse_params({"tune": {"universe_space": {"universe.train.units": RANGE}}})
    assert p.tune.universe_space["universe.train.units"].high == 128
