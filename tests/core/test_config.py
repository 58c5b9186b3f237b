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
