"""A real Prometheus (Debian's `prometheus`) scraping warden-web's /metrics, with the example
scrape config and alert rules of docs/prometheus/: its query API returns warden_process_up for
each program, `promtool check metrics` finds nothing to say, the rules load and a FATAL program
makes WardenProcessFatal pending."""

import json
import os
import re
import shutil
import subprocess
import urllib.parse
import urllib.request

import pytest

from conftest import wait_until
from webtools import free_port, web  # noqa: F401 (web is a fixture)

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None,
                                reason="needs Debian's prometheus package")

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "prometheus")

PROGRAMS = """\
web:
  command: sleep 1000
  startsecs: 0
pool:
  command: sleep 1000
  numprocs: 2
  startsecs: 0
broken:
  command: /nonexistent/program
  startretries: 0
"""


def query(port, expr):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return body["data"]["result"]


def get_json(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return json.load(r)


def test_promtool_and_prometheus_scrape(warden, web, tmp_path):
    warden.start(PROGRAMS)
    warden.wait_state("web", "RUNNING")
    warden.wait_state("broken", "FATAL")
    web.start(warden.socket)

    metrics = web.get("/metrics")
    assert metrics.status == 200
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    check = subprocess.run(["promtool", "check", "metrics"], input=metrics.body,
                           capture_output=True, timeout=60)
    assert check.returncode == 0 and check.stdout + check.stderr == b"", check

    # The shipped examples, pointed at this test's warden-web and evaluated every second.
    config = open(os.path.join(EXAMPLES, "prometheus.yml")).read()
    config = config.replace("localhost:9020", f"127.0.0.1:{web.port}")
    config = re.sub(r"(scrape|evaluation)_interval: 15s", r"\1_interval: 1s", config)
    (tmp_path / "prometheus.yml").write_text(config)
    shutil.copy(os.path.join(EXAMPLES, "warden-alerts.yml"), tmp_path / "warden-alerts.yml")
    for what in (["check", "config", str(tmp_path / "prometheus.yml")],
                 ["check", "rules", str(tmp_path / "warden-alerts.yml")]):
        r = subprocess.run(["promtool", *what], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r

    port = free_port()
    log = open(tmp_path / "prometheus.log", "wb")
    prometheus = subprocess.Popen(
        ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        def ready():
            assert prometheus.poll() is None, (tmp_path / "prometheus.log").read_text()
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready",
                                              timeout=5).status == 200
            except OSError:
                return False
        wait_until(ready, timeout=60, interval=0.2, what="prometheus to be ready")

        def up_for_every_program():
            result = query(port, "warden_process_up")
            return len(result) == 4 and result
        result = wait_until(up_for_every_program, timeout=45, interval=0.5,
                            what="warden_process_up for each program in prometheus")
        up = {r["metric"]["name"]: r["value"][1] for r in result}
        assert up == {"web": "1", "pool:pool_00": "1", "pool:pool_01": "1", "broken": "0"}
        fatal = query(port, 'warden_process_state{state="FATAL"} == 1')
        assert [r["metric"]["name"] for r in fatal] == ["broken"]

        def rules_loaded():
            groups = get_json(port, "/api/v1/rules")["data"]["groups"]
            rules = {r["name"]: r for g in groups for r in g["rules"]}
            return len(rules) == 3 and all(r["health"] == "ok" for r in rules.values())
        wait_until(rules_loaded, timeout=30, interval=0.5, what="the alert rules to evaluate")

        def fatal_alert():
            alerts = get_json(port, "/api/v1/alerts")["data"]["alerts"]
            return [a for a in alerts if a["labels"]["alertname"] == "WardenProcessFatal"]
        alert = wait_until(fatal_alert, timeout=30, interval=0.5, what="WardenProcessFatal")
        assert alert[0]["labels"]["name"] == "broken" and alert[0]["state"] == "pending"
    finally:
        prometheus.terminate()
        try:
            prometheus.wait(timeout=30)
        except subprocess.TimeoutExpired:
            prometheus.kill()
            prometheus.wait()
        log.close()
