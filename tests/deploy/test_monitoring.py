"""deploy/: the Prometheus scrape config, the alert rules, the Grafana dashboard and how the
Compose file wires them, checked against the metrics the servers really declare.

The rules and the config go through `promtool` (Debian's `prometheus` package) when it is
installed: `check rules`, `check config`, and `test rules` (each alert fires on the data it is
meant for, only after its `for:`). Without promtool the same files are checked here against
the rule file format.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "customs-assistant.json"
COMPOSE = DEPLOY / "docker-compose.yml"
DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
PROMQL_WORDS = {"sum", "by", "rate", "increase", "histogram_quantile", "le", "up", "job",
                "instance", "outcome", "channel", "reason", "action", "vote", "bool", "on", "max",
                "alertname", "alertstate"}


def declared_metrics() -> set[str]:
    """Every series name the servers can expose (counters get `_total`, histograms three)."""
    from prometheus_client import Counter, Histogram

    from bot.metrics import registry

    names = set()
    for value in vars(registry).values():
        if isinstance(value, Counter):
            names.add(f"{value._name}_total")
        elif isinstance(value, Histogram):
            names |= {f"{value._name}_{part}" for part in ("bucket", "sum", "count")}
    return names | {"up", "ALERTS"}  # Prometheus's own series


def metric_names(expr: str) -> set[str]:
    """Identifiers of an expression that are neither functions, keywords nor label names."""
    without_strings = re.sub(r'"[^"]*"', "", expr)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_strings)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_ranges))
    return {w for w in words if w not in PROMQL_WORDS}


def rules() -> list[dict]:
    data = yaml.safe_load(RULES.read_text("utf-8"))
    return [rule for group in data["groups"] for rule in group["rules"]]


def test_rules_follow_the_rule_file_format() -> None:
    data = yaml.safe_load(RULES.read_text("utf-8"))
    assert set(data) == {"groups"}
    for group in data["groups"]:
        assert set(group) <= {"name", "interval", "rules", "limit"} and group["name"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "record", "expr", "for", "labels", "annotations",
                                 "keep_firing_for"}, rule
            assert bool(rule.get("alert")) != bool(rule.get("record")), rule
            assert isinstance(rule["expr"], str) and rule["expr"].strip()
            assert DURATION.match(rule.get("for", "0s")), rule
            assert rule["labels"]["severity"] in ("critical", "warning"), rule
            assert rule["annotations"]["summary"], rule
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names))


def test_the_alerts_the_operator_needs_exist() -> None:
    exprs = {rule["alert"]: rule["expr"] for rule in rules()}
    assert 'up{job="actions"} == 0' in exprs["CustomsActionServerDown"]
    assert "customs_message_outcomes_total" in exprs["CustomsHighErrorRate"]
    assert "histogram_quantile(0.95" in exprs["CustomsSlowAnswers"]


def test_every_query_names_a_declared_metric() -> None:
    declared = declared_metrics()
    dashboard = json.loads(DASHBOARD.read_text("utf-8"))
    exprs = [rule["expr"] for rule in rules()]
    exprs += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    unknown = {(name, expr) for expr in exprs for name in metric_names(expr)
               if name not in declared}
    assert not unknown


def test_the_dashboard_is_a_grafana_dashboard_on_the_provisioned_data_source() -> None:
    dashboard = json.loads(DASHBOARD.read_text("utf-8"))
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    source = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" /
                             "prometheus.yml").read_text("utf-8"))["datasources"][0]
    for panel in dashboard["panels"]:
        assert panel["type"] in ("timeseries", "stat") and panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == source["uid"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
    titles = " ".join(panel["title"].lower() for panel in dashboard["panels"])
    for wanted in ("by channel", "time to answer", "each message", "refused", "action",
                   "lookups", "tickets", "votes"):
        assert wanted in titles


def test_the_scrape_config_reads_both_servers_with_the_token() -> None:
    config = yaml.safe_load(CONFIG.read_text("utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"rasa", "actions"}
    compose = yaml.safe_load(COMPOSE.read_text("utf-8"))["services"]
    for name, job in jobs.items():
        assert job["metrics_path"] == "/metrics"
        assert job["authorization"]["credentials_file"] == "/prometheus/metrics_token"
        for target in job["static_configs"][0]["targets"]:
            service, port = target.split(":")
            assert service in compose, target
            assert service.startswith(name.rstrip("s")) or service == name
    assert "/prometheus/metrics_token" in " ".join(compose["prometheus"]["entrypoint"])
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]


def test_compose_checks_readiness_and_mounts_the_monitoring_files() -> None:
    services = yaml.safe_load(COMPOSE.read_text("utf-8"))["services"]
    for name, path in (("rasa1", ":5005/ready"), ("rasa2", ":5005/ready"),
                       ("actions", ":5055/ready"), ("web", ":8080/ready")):
        assert path in " ".join(services[name]["healthcheck"]["test"]), name
    assert services["rasa1"]["depends_on"]["actions"] == {"condition": "service_healthy"}
    for name in ("rasa1", "actions"):
        assert services[name]["environment"]["METRICS_TOKEN"].startswith("${METRICS_TOKEN:?")
    for service in ("prometheus", "grafana"):
        for volume in services[service]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).exists(), volume
        # Published on the host's loopback only.
        assert all(port.startswith("127.0.0.1:") for port in services[service]["ports"])
    assert "backend" not in services["grafana"]["networks"]


promtool = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(promtool is None,
                                    reason="promtool is not installed (apt-get install "
                                    "prometheus); the YAML checks above still ran")


@needs_promtool
def test_promtool_loads_the_rules_and_their_unit_tests_pass() -> None:
    checked = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True,
                             text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules())} rules found" in checked.stdout
    tested = subprocess.run([promtool, "test", "rules", "alerts.test.yml"],
                            cwd=RULES.parent, capture_output=True, text=True)
    assert tested.returncode == 0, tested.stdout + tested.stderr


@needs_promtool
def test_promtool_accepts_the_scrape_config(tmp_path: Path) -> None:
    """The config as the container sees it: rule file and token file at their paths."""
    (tmp_path / "alerts.yml").write_text(RULES.read_text("utf-8"), "utf-8")
    (tmp_path / "metrics_token").write_text("token", "utf-8")
    text = CONFIG.read_text("utf-8").replace("/etc/prometheus/alerts.yml",
                                             str(tmp_path / "alerts.yml"))
    text = text.replace("/prometheus/metrics_token", str(tmp_path / "metrics_token"))
    (tmp_path / "prometheus.yml").write_text(text, "utf-8")
    checked = subprocess.run([promtool, "check", "config", str(tmp_path / "prometheus.yml")],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
