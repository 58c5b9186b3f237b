"""The promotion gate's decision, case by case (pure: no registry here)."""

from stockflow.champion.promotion import Scores, decide
from stockflow.config import PromoteParams as Gate

CHAMPION = Scores(mae=10.0, persistence_mae=10.5, sharpe=0.8)


def test_first_model_must_be_no_worse_than_persistence():
    assert decide(Scores(10.0, 10.5, 0.1), None, Gate()).promote
    assert decide(Scores(10.5, 10.5, 0.1), None, Gate()).promote  # level with persistence is "no worse"
    rejected = decide(Scores(11.0, 10.5, 2.0), None, Gate())
    assert not rejected.promote and "worse than persistence" in rejected.reason


def test_better_on_both_counts_is_promoted():
    d = decide(Scores(9.5, 10.5, 0.9), CHAMPION, Gate())
    assert d.promote and "beats the champion" in d.reason
    assert d.figures()["champion_mae"] == 10.0 and d.figures()["challenger_sharpe"] == 0.9


def test_worse_on_either_count_is_rejected():
    assert not decide(Scores(10.5, 10.5, 0.9), CHAMPION, Gate()).promote  # MAE worse
    lower_sharpe = decide(Scores(9.5, 10.5, 0.7), CHAMPION, Gate())
    assert not lower_sharpe.promote and "Sharpe" in lower_sharpe.reason and "MAE" not in lower_sharpe.reason


def test_a_tie_keeps_the_champion():
    assert not decide(CHAMPION, CHAMPION, Gate()).promote


def test_margins_and_tolerances():
    slightly_better = Scores(9.9, 10.5, 0.85)
    assert decide(slightly_better, CHAMPION, Gate()).promote
    assert not decide(slightly_better, CHAMPION, Gate(min_mae_gain=0.05)).promote
    assert not decide(slightly_better, CHAMPION, Gate(min_sharpe_gain=0.1)).promote
    assert decide(CHAMPION, CHAMPION, Gate(min_mae_gain=-0.01, min_sharpe_gain=-0.01)).promote
    assert not decide(Scores(10.0, 10.5, 0.9), CHAMPION, Gate(max_mae_ratio=0.9)).promote


def _ic(mean: float, t: float) -> dict:
    return {"mean": mean, "t_stat": t}


def test_a_universe_needs_a_positive_rank_ic_with_t_of_two_with_or_without_a_champion():
    from stockflow.champion.promotion import decide_universe
    from stockflow.config import UniversePromoteParams as UGate

    weak, strong, champion = _ic(0.02, 1.0), _ic(0.02, 2.5), _ic(0.01, 3.0)
    assert not decide_universe(weak, None, UGate()).promote  # t 1.0: not a signal, first model or not
    assert not decide_universe(weak, champion, UGate()).promote
    assert "t 1.00) is not a signal" in decide_universe(weak, None, UGate()).reason
    assert decide_universe(strong, None, UGate()).promote
    assert decide_universe(strong, champion, UGate()).promote
    assert not decide_universe(strong, _ic(0.03, 5.0), UGate()).promote  # the champion ranks better on the same days
    assert not decide_universe(_ic(-0.02, 2.5), None, UGate()).promote


def test_a_universe_that_does_not_beat_the_best_baseline_says_to_trade_the_baseline():
    from stockflow.champion.promotion import decide_universe
    from stockflow.config import UniversePromoteParams as UGate

    d = decide_universe(_ic(0.02, 2.5), None, UGate(), ("reversal", _ic(0.025, 3.0)))
    assert not d.promote and d.reason.endswith("trade reversal instead")
    assert decide_universe(_ic(0.03, 2.5), None, UGate(), ("momentum", _ic(0.025, 3.0))).promote


def test_scores_that_rank_nothing_are_not_a_signal():
    from stockflow.champion.promotion import decide_universe
    from stockflow.config import UniversePromoteParams as UGate

    d = decide_universe({"mean": None, "t_stat": None}, None, UGate(), ("reversal", _ic(0.01, 1.0)))
    assert not d.promote and d.reason.startswith("no Rank IC")
