"""Process set-up: the heavy libraries import with the garbage collector paused, and what they built is frozen."""

from __future__ import annotations

import gc

from tasks.services.process import importing


def test_importing_pauses_the_collector_then_freezes_what_was_built_and_resumes_it():
    before = gc.get_freeze_count()
    with importing():
        assert not gc.isenabled()
        built = [[n] for n in range(1_000)]  # containers: objects the collector tracks
    assert gc.isenabled()
    assert gc.get_freeze_count() >= before + len(built)  # never walked again by a collection
    garbage = []
    garbage.append(garbage)  # a cycle made after the block is still found
    del garbage
    assert gc.collect() >= 1


def test_a_collector_paused_by_someone_else_stays_paused():
    gc.disable()
    try:
        with importing():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
