"""The job service on a Ray cluster of this machine: the same jobs, places, plans, previews and Stop as the
embedded one; a painter killed mid-job; an unreachable cluster; a folder painted across the cluster."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray
import streamlit as st
import yaml
from ray import serve
from ray.serve.schema import ServeDeploySchema
from streamlit.testing.v1 import AppTest

from job_service.client import ClusterError, ClusterService
from job_service.cluster import APP_NAME, app
from job_service.jobs import JobStatus
from job_service.local_cluster import ray_head, session_processes
from job_service.pace import SETUP_STEPS, Pace
from job_service.work import Painted, PictureWork
from nst_core.config import TransferConfig
from nst_core.images import read_recipe
from tests.conftest import CONTENT, ROOT, STYLE, small
from tests.test_app import APP, paint

SERVE_CONFIG = ROOT / "deploy" / "serve.yaml"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A head with 2 CPUs (this machine's 2 cores), this process connected to it; at the end, every process the
    head started is gone (a teardown error otherwise)."""
    browser = sys.modules.get("tests.browser")
    if browser is not None:  # run after the browser tests: Playwright's sync API holds an asyncio loop in this
        browser.close_browser()  # thread, where Ray Serve's sync calls refuse to run ("Sync methods should not...")
    with ray_head(2, tmp_path_factory.mktemp("ray") / "head.log") as head:
        assert len(session_processes(head.session)) >= 2  # the head and its GCS at least
        ray.init(address=head.address, log_to_driver=False, logging_level=logging.WARNING)
        try:
            yield head.address
        finally:
            ray.shutdown()
    assert session_processes(head.session) == []


@pytest.fixture(scope="module")
def served(cluster: str) -> str:
    """The demo's application on the cluster: two painter replicas of one CPU (and one thread) each."""
    serve.start(proxy_location="Disabled")
    serve.run(app({"replicas": 2, "min_replicas": 2, "share_seconds": 30}), name=APP_NAME, route_prefix=None)
    return cluster


def replica_of(job: str) -> str | None:
    replica: str | None = serve.get_deployment_handle("Line", APP_NAME).replica_of.remote(job).result()
    return replica


def replica_actors() -> dict[str, dict[str, str]]:
    """The painter replicas alive, by their replica id."""
    actors = ray.util.list_named_actors(all_namespaces=True)
    return {actor["name"].rsplit("#", 1)[-1]: actor for actor in actors if "#Painter#" in actor["name"]}


def picture(steps: int, size: int = 64) -> PictureWork:
    config = TransferConfig(size=size, steps=steps, init="fast", preview_every=2, multiscale=False,
                            early_stop=False, device="cpu")  # fmt: skip
    return PictureWork(small(CONTENT), [small(STYLE)], config)


def started(service: ClusterService, owner: str, work: PictureWork, step: int) -> str:
    """A job submitted for ``owner``, once it has reported ``step``."""
    job = service.submit(owner, work)
    deadline = time.monotonic() + 60
    while (status := service.status(job)).progress is None or status.progress.step < step:
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    return job


def watch(service: ClusterService, job: str, until: float = 120.0) -> list[JobStatus]:
    seen = []
    deadline = time.monotonic() + until
    while time.monotonic() < deadline:
        seen.append(service.status(job))
        if seen[-1].state == "done":
            return seen
        time.sleep(0.2)
    raise AssertionError(f"{job} not done in {until} s: {seen[-1]}")


@pytest.mark.slow
def test_batch_spreads_a_folder_over_the_cluster_and_resumes(cluster: str, tmp_path: Path) -> None:
    folder, output = tmp_path / "photos", tmp_path / "out"
    folder.mkdir()
    for name in ("a", "b", "c"):
        small(CONTENT, 64).rotate(90 * "abc".index(name)).save(folder / f"{name}.png")
    (folder / "broken.jpg").write_bytes(b"not a picture")
    command = [sys.executable, "-m", "nst_core", "batch", str(folder), str(STYLE), "-o", str(output), "--ray", cluster,
               "--size", "48", "--steps", "2", "--json", "--quiet"]  # fmt: skip
    first = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=240)
    records = {Path(r["input"]).name: r for r in map(json.loads, first.stdout.splitlines())}
    assert first.returncode == 2, first.stderr  # a file was refused
    assert {name: r["outcome"] for name, r in records.items()} == {
        "a.png": "painted", "b.png": "painted", "c.png": "painted", "broken.jpg": "refused"}  # fmt: skip
    assert records["broken.jpg"]["error"]  # named in a sentence
    assert all((read_recipe(output / f"{n}.png") or {}).get("steps") for n in "abc")
    again = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=240)
    outcomes = [json.loads(line)["outcome"] for line in again.stdout.splitlines()]
    assert sorted(outcomes) == ["already painted"] * 3 + ["refused"]


@pytest.mark.slow
def test_four_jobs_at_once_use_both_replicas_with_plans_and_previews(served: str) -> None:
    service = ClusterService(served)
    assert service.settings == {"device": "cpu", "slots": 2, "max_waiting": 8, "share_seconds": 30.0}
    jobs = [service.submit(owner, picture(20 if owner == "a" else 6)) for owner in "abcd"]
    first = jobs[0]
    behind = [service.status(job) for job in jobs[2:]]
    assert [(s.state, s.position) for s in behind] == [("waiting", 1), ("waiting", 2)]
    assert 0 < behind[0].wait <= behind[1].wait  # planned from the jobs ahead
    assert (service.running, service.waiting) == (2, 2)
    statuses = watch(service, first)
    assert any(s.state == "running" and s.preview_number > 0 for s in statuses)  # seen while it paints
    assert statuses[-1].preview_number >= 9  # previews every 2 of 20 steps came through the line
    assert [s.left for s in statuses if s.state == "running"][-1] < statuses[0].left  # the plan follows the run
    for job in jobs[1:]:
        watch(service, job)
    assert len({replica_of(job) for job in jobs}) == 2  # both replicas painted
    (done_a,), (done_b,) = service.collect("a"), service.collect("b")
    assert isinstance(done_a.result, Painted) and done_a.result.result.steps == 20 and done_a.error is None
    assert done_b.result.result.steps == 6 and len(service.collect("c") + service.collect("d")) == 2
    assert service.collect("a") == []  # handed out once
    with pytest.raises(KeyError):
        service.status(first)
    assert service.pace.setup_steps != SETUP_STEPS  # the line learned from the jobs its painters finished
    # No clip ran: the line's frame pace is its painters' probe of the instant network, not the starting guess.
    assert service.pace.frame != Pace.for_device("cpu").frame and service.pace.frame > 0


@pytest.mark.slow
def test_stop_on_the_cluster_keeps_the_best_picture_so_far(served: str) -> None:
    service = ClusterService(served)
    job = started(service, "stopper", picture(200), 3)
    service.cancel(job)
    statuses = watch(service, job, 30)
    (done,) = service.collect("stopper")
    assert statuses[-1].stopped == "cancelled" and done.error is None
    assert 3 <= done.result.result.steps < 200 and done.result.result.image.width == 64


@pytest.mark.slow
def test_a_painter_killed_mid_job_loses_no_job_and_duplicates_none(served: str) -> None:
    service = ClusterService(served)
    job = started(service, "victim", picture(12), 2)
    victim = replica_of(job)
    actors = replica_actors()
    assert victim in actors and len(actors) == 2
    ray.kill(ray.get_actor(actors[victim]["name"], namespace=actors[victim]["namespace"]), no_restart=True)
    watch(service, job, 120)
    (done,) = service.collect("victim")
    assert done.error is None and done.stopped is None
    assert done.result.result.steps == 12  # painted whole, from the start, on another replica
    assert replica_of(job) not in (None, victim)
    assert service.collect("victim") == []  # and handed out once


def test_an_unreachable_cluster_is_said_in_a_sentence() -> None:
    with pytest.raises(ClusterError, match=r"cluster at 127\.0\.0\.1:9 cannot be reached"):
        ClusterService("127.0.0.1:9")
    with pytest.raises(ClusterError, match="not host:port"):
        ClusterService("my-cluster")


def test_the_serve_config_deploys_this_application() -> None:
    config = ServeDeploySchema.model_validate(yaml.safe_load(SERVE_CONFIG.read_text()))
    (application,) = config.applications
    assert application.name == APP_NAME and application.import_path == "job_service.cluster:app"
    painter = {d.name: d for d in application.deployments}["Painter"]
    assert application.args["replicas"] == painter.autoscaling_config["max_replicas"]  # a slot per painter
    built = app(application.args)  # the builder takes the config's arguments
    assert {d.name for d in application.deployments} == {"Line", "Painter"} == _names(built)


def _names(application: serve.Application) -> set[str]:
    from ray.serve._private.build_app import build_app

    return {deployment.name for deployment in build_app(application, name=APP_NAME).deployments}


@pytest.mark.slow
def test_the_page_paints_on_the_cluster_and_says_so(served: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = served
    monkeypatch.setenv("NST_RAY_ADDRESS", cluster)
    monkeypatch.setenv("NST_MAX_SIZE", "128")
    st.cache_resource.clear()  # the runtime reads the environment when first built
    try:
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        paint(at)
        assert not at.exception and not at.error, [e.value for e in at.error]
        entry = at.session_state["gallery"][0]
        assert max(entry.image.size) == 64 and entry.recipe["steps"] == 2
        assert any(f"Painted on the Ray cluster at {cluster}" in m.value for m in at.markdown)
    finally:
        st.cache_resource.clear()


def test_an_unreachable_cluster_is_said_on_the_page_or_painted_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NST_RAY_ADDRESS", "127.0.0.1:9")
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        assert not at.exception
        assert any("cannot start" in e.value and "127.0.0.1:9 cannot be reached" in e.value for e in at.error)
        monkeypatch.setenv("NST_RAY_FALLBACK", "local")
        st.cache_resource.clear()
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        assert not at.exception and not at.error
        assert any("cannot be reached" in w.value and "painted on this server" in w.value for w in at.warning)
        assert at.button(key="FormSubmitter:parameters-Paint it") is not None
    finally:
        st.cache_resource.clear()
