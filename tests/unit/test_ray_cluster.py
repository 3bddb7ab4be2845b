"""The Ray cluster the tests and ``benchmarks/ray_queue.py`` start on this machine (``harness.ray_cluster``)."""

import secrets

from harness.ray_cluster import LocalRayCluster
from tests.conftest import requires_ray


@requires_ray
def test_a_cluster_started_where_the_home_folder_holds_a_ray_token_takes_this_machines_clients(tmp_path, monkeypatch):
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text(secrets.token_hex(32))  # as `ray get-auth-token --generate` makes
    monkeypatch.setenv("HOME", str(tmp_path))
    with LocalRayCluster(nodes=1, cpus=1, timeout=120) as cluster:  # it waits until a client of it sees its node
        assert cluster.address
