"""The private Prefect server a run starts when none is configured: flows report to it, and it goes with its block."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.slow


def test_a_private_server_takes_the_block_s_flow_runs_without_heartbeats_and_stops_with_it():
    from prefect import flow
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.server import prefect_api

    @flow(name="probe")
    def probe() -> int | None:
        return PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value()

    imported = []
    # Nothing configured (a server of its own), and heartbeats on as a user may set them.
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: 60}, restore_defaults={PREFECT_API_URL}):
        with prefect_api(meanwhile=lambda: imported.append(True)) as url:
            assert imported == [True]  # what the caller does while it boots
            # Heartbeats are for a server's automations to find crashed runs; this one has none and ends with
            # the block, and a flow run waits up to 1 s at its end for its heartbeat thread.
            assert probe() is None
            assert httpx.get(f"{url}/health", timeout=5).status_code == 200
        assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() == 60  # the user's setting again, outside the block
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/health", timeout=5)
