"""Config loading: schema validation with positions, -o overrides typed by the schema, ${ENV} secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.load import ConfigError, load_config
from config.schema import Config, duration_seconds

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


class TestShippedConfigs:
    @pytest.mark.parametrize("name", ["default", "prod", "replay"])
    def test_loads(self, name: str) -> None:
        """Every config shipped in config/ is valid."""
        assert isinstance(load_config(ROOT / "config" / f"{name}.yaml"), Config)

    def test_prod_uses_every_core(self) -> None:
        """prod.yaml asks for one worker per core and JSON alerts."""
        config = load_config(ROOT / "config" / "prod.yaml")
        assert config.pipeline.workers == 0
        assert config.json_output is True


class TestErrors:
    def test_unknown_key_named_with_line(self, tmp_path: Path) -> None:
        """A typo in a key is an error naming the key, file, line and column."""
        path = write(tmp_path, "json_output: true\nfile_output:\n  enabled: true\n  filenam: x\n")
        with pytest.raises(ConfigError) as err:
            load_config(path)
        assert str(err.value) == f"{path}:4:3: unknown config key 'file_output.filenam'"

    def test_wrong_type_named_with_line(self, tmp_path: Path) -> None:
        """A wrong type names the key and the line of its value."""
        path = write(tmp_path, "pipeline:\n  workers: many\n")
        with pytest.raises(ConfigError) as err:
            load_config(path)
        assert str(err.value).startswith(f"{path}:2:3: bad value for 'pipeline.workers'")
        assert "'many'" in str(err.value)

    def test_bad_choice(self, tmp_path: Path) -> None:
        """A value outside the allowed set is named."""
        path = write(tmp_path, "rule_matching: some\n")
        with pytest.raises(ConfigError, match=r"c.yaml:1:1: bad value for 'rule_matching'"):
            load_config(path)

    def test_every_error_reported(self, tmp_path: Path) -> None:
        """All problems of a file are listed, one per line."""
        path = write(tmp_path, "bogus: 1\npriority: loud\n")
        with pytest.raises(ConfigError) as err:
            load_config(path)
        lines = str(err.value).splitlines()
        assert len(lines) == 2
        assert any("unknown config key 'bogus'" in line for line in lines)
        assert any("'priority'" in line and "invalid priority" in line for line in lines)

    def test_duplicate_key(self, tmp_path: Path) -> None:
        """A key written twice is an error, not a silent last-one-wins."""
        path = write(tmp_path, "json_output: true\njson_output: false\n")
        with pytest.raises(ConfigError, match=r":2:1: duplicate key 'json_output'"):
            load_config(path)

    def test_not_yaml(self, tmp_path: Path) -> None:
        """Broken YAML names the position."""
        path = write(tmp_path, "a: [1, 2\n")
        with pytest.raises(ConfigError, match=r"c.yaml:2:1: not valid YAML"):
            load_config(path)

    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing file is named."""
        with pytest.raises(ConfigError, match="cannot read config file"):
            load_config(tmp_path / "nope.yaml")

    def test_ring_power_of_two(self, tmp_path: Path) -> None:
        """The kernel ring size must be a power of two."""
        path = write(tmp_path, "engine:\n  ring_bytes: 1000000\n")
        with pytest.raises(ConfigError, match="power of two"):
            load_config(path)


class TestOverrides:
    def test_typed_by_schema(self, tmp_path: Path) -> None:
        """-o values are text, typed by the schema: ints, bools, floats, nested keys."""
        path = write(tmp_path, "json_output: false\n")
        config = load_config(path, ["json_output=true", "pipeline.workers=3",
                                    "syscall_event_drops.threshold=0.5", "file_output.filename=/tmp/x"])
        assert config.json_output is True
        assert config.pipeline.workers == 3
        assert config.syscall_event_drops.threshold == 0.5
        assert config.file_output.filename == "/tmp/x"

    def test_bad_override_names_flag(self, tmp_path: Path) -> None:
        """A bad -o value names the flag that set it."""
        path = write(tmp_path, "")
        with pytest.raises(ConfigError) as err:
            load_config(path, ["pipeline.batch_size=lots"])
        assert str(err.value).startswith("-o pipeline.batch_size=lots: bad value for 'pipeline.batch_size'")

    def test_unknown_override_key(self, tmp_path: Path) -> None:
        """An -o for a key that does not exist is refused."""
        with pytest.raises(ConfigError, match=r"-o nosuch.key=1: unknown config key 'nosuch'"):
            load_config(write(tmp_path, ""), ["nosuch.key=1"])

    def test_list_append(self, tmp_path: Path) -> None:
        """`rules[].disable.rule=X` appends a selector, as in Falco."""
        path = write(tmp_path, "rules:\n  - enable: {tag: a}\n")
        config = load_config(path, ["rules[].disable.rule=Noisy *"])
        assert [(s.enable, s.disable.rule if s.disable else None) for s in config.rules][1] == (None, "Noisy *")
        assert config.rules[0].enable.tag == "a"

    def test_list_value(self, tmp_path: Path) -> None:
        """A YAML list on the right replaces a list key."""
        config = load_config(write(tmp_path, ""), ["rules_files=[a.yaml, b.yaml]"])
        assert config.rules_files == ["a.yaml", "b.yaml"]


class TestEnv:
    def test_placeholder(self, tmp_path: Path) -> None:
        """${VAR} in a string is replaced from the environment."""
        path = write(tmp_path, "slack_output:\n  webhook_url: ${HOOK}\n")
        config = load_config(path, env={"HOOK": "http://127.0.0.1:9/x"})
        assert config.slack_output.webhook_url == "http://127.0.0.1:9/x"

    def test_missing_variable(self, tmp_path: Path) -> None:
        """A missing variable is an error naming the key, never an empty secret."""
        path = write(tmp_path, "http_output:\n  url: http://${HOST}/\n")
        with pytest.raises(ConfigError, match=r"c.yaml:2:3: 'http_output.url' uses \$\{HOST\}"):
            load_config(path, env={})

    def test_default_when_unset(self, tmp_path: Path) -> None:
        """${VAR:-default} takes the default only when VAR is not set."""
        path = write(tmp_path, "sources:\n  github:\n    secret: ${SECRET:-}\n    token: ${TOKEN:-none}\n")
        config = load_config(path, env={"TOKEN": "t0k"})
        assert config.sources.github.secret == ""
        assert config.sources.github.token == "t0k"


class TestFalcoPlugins:
    """Falco's `plugins:` / `load_plugins:` enable the built-in sources with the entries' settings."""

    FALCO = """\
engine:
  kind: none
load_plugins: [k8saudit, json, cloudtrail]
plugins:
  - name: k8saudit
    library_path: libk8saudit.so
    init_config:
      maxEventSize: 1048576
      sslCertificate: /etc/falco/falco.pem
    open_params: "https://127.0.0.1:9443/audit"
  - name: json
    library_path: libjson.so
    init_config: ""
  - name: cloudtrail
    library_path: libcloudtrail.so
    init_config: '{"sqsDelete": false, "aws": {"region": "eu-west-1"}}'
    open_params: "sqs://trail-queue"
  - name: okta
    init_config: {organization: acme, api_token: t}
"""

    def test_loaded_entries_become_sources(self, tmp_path: Path) -> None:
        """Loaded entries enable their source with the translated settings; an entry not loaded does not."""
        config = load_config(write(tmp_path, self.FALCO))
        k8s = config.sources.k8s_audit
        assert (k8s.enabled, k8s.webhook, k8s.listen_address, k8s.listen_port, k8s.path) == (
            True, True, "127.0.0.1", 9443, "/audit")
        assert k8s.tls.cert == "/etc/falco/falco.pem" and k8s.max_event_bytes == 1048576
        trail = config.sources.aws_cloudtrail
        assert (trail.enabled, trail.paths, trail.sqs_delete, trail.region) == (
            True, ["sqs://trail-queue"], False, "eu-west-1")
        assert not config.sources.okta.enabled

    def test_file_open_params_read_files(self, tmp_path: Path) -> None:
        """A k8saudit file path (or file:// to follow) reads files instead of serving the webhook."""
        text = "load_plugins: [k8saudit]\nplugins:\n  - name: k8saudit\n    open_params: file:///var/log/audit.log\n"
        k8s = load_config(write(tmp_path, text)).sources.k8s_audit
        assert (k8s.enabled, k8s.webhook, k8s.files) == (True, False, ["file:///var/log/audit.log"])

    def test_untranslatable_entries_are_errors_at_their_place(self, tmp_path: Path) -> None:
        """An unknown init key, the github plugin, and a load of an entry nobody configured are named."""
        text = ("load_plugins: [k8saudit, nomad]\nplugins:\n  - name: k8saudit\n    init_config: {bogus: 1}\n"
                "    open_params: http://:9765/k8s-audit\n  - name: github\n")
        with pytest.raises(ConfigError) as error:
            load_config(write(tmp_path, text))
        message = str(error.value)
        assert "c.yaml:3:5: bad value for 'plugins[0]': init_config key(s) bogus not supported" in message
        assert "c.yaml:6:5: bad value for 'plugins[1]': the github plugin registers its own webhooks" in message
        text = "load_plugins: [nomad]\n"
        with pytest.raises(ConfigError, match="load_plugins names nomad, which no entry of plugins: configures"):
            load_config(write(tmp_path, text))


def test_durations() -> None:
    """Prometheus-style durations."""
    assert duration_seconds("1h") == 3600
    assert duration_seconds("1m30s") == 90
    assert duration_seconds("500ms") == 0.5
    with pytest.raises(ValueError):
        duration_seconds("soon")
