"""The secret and miner scans: diff line numbering, one SYNTHETIC example per secret pattern, miner keywords.

Every credential below is SYNTHETIC: assembled at run time from the public format (prefix, length, alphabet)
with repeated characters, so no real secret is in the repository.
"""

from __future__ import annotations

import pytest

from stages.plugins.github.scan import (
    MINER_KEYWORDS,
    SECRET_PATTERNS,
    added_lines,
    find_miner,
    find_secret,
    scan_patch,
    scan_workflow,
)

UUID = "0f0f0f0f-1a1a-2b2b-3c3c-4d4d4d4d4d4d"
SYNTHETIC_SECRETS = {
    "aws_access_key_id": "aws_key_id = AKIA" + "Z" * 16,
    "aws_secret_access_key": "aws_secret_access_key = " + "wJalr/" + "K" * 34,
    "aws_account_id": "AWS_ACCOUNT_ID: 1234-5678-9012",
    "aws_mws_auth_token": "token = amzn.mws." + UUID.replace("1a1a", "aaaa"),
    "github_personal_access_token": "token: ghp_" + "a1" * 18,
    "github_fine_grained_token": "GH=github_pat_" + "B" * 22 + "_" + "c" * 59,
    "github_oauth_token": "gho_" + "D" * 36,
    "github_app_token": "installation token ghs_" + "e" * 36,
    "github_refresh_token": "refresh=ghr_" + "F" * 76,
    "gitlab_personal_access_token": "glpat-" + "g" * 20,
    "slack_token": "SLACK_BOT=xoxb-" + "1" * 12 + "-" + "h" * 24,
    "slack_webhook_url": "url: https://hooks.slack.com/services/T" + "0" * 8 + "/B" + "1" * 8 + "/" + "i" * 24,
    "discord_webhook_url": "https://discord.com/api/webhooks/" + "1" * 18 + "/" + "j" * 68,
    "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----",
    "google_api_key": "key=AIza" + "k" * 35,
    "google_oauth_client_secret": "client_secret: GOCSPX-" + "L" * 28,
    "gcp_service_account_key": '  "type": "service_account",',
    "stripe_live_key": "STRIPE=sk_live_" + "m" * 24,
    "sendgrid_api_key": "SG." + "n" * 22 + "." + "o" * 43,
    "shopify_access_token": "shpat_" + "a" * 32,
    "shopify_shared_secret": "shpss_" + "b" * 32,
    "pypi_api_token": "password = pypi-AgEIcHlwaS5vcmc" + "p" * 60,
    "testpypi_api_token": "pypi-AgENdGVzdC5weXBpLm9yZw" + "q" * 60,
    "npm_access_token": "//registry.npmjs.org/:_authToken=npm_" + "r" * 36,
    "mailgun_api_key": "MAILGUN=key-" + "c" * 32,
    "mailchimp_api_key": "MC = " + "d" * 32 + "-us12",
    "twilio_api_key": "twilio_key = SK" + "e" * 32,
    "square_access_token": "sq0atp-" + "s" * 22,
    "square_oauth_secret": "sq0csp-" + "t" * 43,
    "braintree_access_token": "access_token$production$" + "u" * 16 + "$" + "f" * 32,
    "heroku_api_key": "HEROKU_API_KEY=" + UUID,
    "dynatrace_token": "dt0c01." + "V" * 24 + "." + "W" * 64,
    "facebook_access_token": "EAACEdEose0cBA" + "x" * 20,
    "facebook_app_secret": "facebook_secret = '" + "a" * 32 + "'",
    "twitter_secret": "twitter_secret = \"" + "y" * 40 + "\"",
    "azure_storage_account_key": "DefaultEndpointsProtocol=https;AccountKey=" + "z" * 86 + "==",
    "digitalocean_token": "dop_v1_" + "a" * 64,
    "telegram_bot_token": "BOT=" + "1" * 9 + ":AA" + "b" * 33,
    "hashicorp_vault_token": "VAULT_TOKEN=hvs." + "C" * 95,
    "openai_api_key": "OPENAI=sk-" + "d" * 20 + "T3BlbkFJ" + "e" * 20,
    "anthropic_api_key": "sk-ant-api03-" + "f" * 90,
}
PLAIN_LINES = [
    "def main():", "    return 42", "# the AKIA prefix alone is no key", "password_hint = 'see the wiki'",
    "url = https://hooks.slack.com/", "ghp_tooshort", "-----BEGIN PUBLIC KEY-----", "key-notsecret",
]


class TestSecretPatterns:
    def test_every_pattern_has_an_example(self) -> None:
        """SYNTHETIC examples cover the whole table (a new pattern fails here until it gets one)."""
        assert sorted(SYNTHETIC_SECRETS) == sorted(p.desc for p in SECRET_PATTERNS)
        assert len({p.desc for p in SECRET_PATTERNS}) == len(SECRET_PATTERNS)

    @pytest.mark.parametrize("desc", sorted(SYNTHETIC_SECRETS))
    def test_example_found_as_its_kind(self, desc: str) -> None:
        """Each SYNTHETIC credential is reported under its own description."""
        found = find_secret(SYNTHETIC_SECRETS[desc])
        assert found is not None and found.desc == desc

    @pytest.mark.parametrize("line", PLAIN_LINES)
    def test_plain_line(self, line: str) -> None:
        """Ordinary code and near misses are not secrets."""
        assert find_secret(line) is None


class TestDiff:
    PATCH = "\n".join([
        "@@ -1,3 +1,4 @@",
        " import os",
        "-OLD = 1",
        "+KEY = '" + "AKIA" + "Y" * 16 + "'",
        " x = 2",
        "+y = 3",
        "@@@ -10,2 -10,2 +20,3 @@@",
        "+" + "-----BEGIN RSA PRIVATE KEY-----",
        "\\ No newline at end of file",
    ])

    def test_added_lines_numbered_in_new_file(self) -> None:
        """Added lines carry their line number in the new file; removed lines do not advance it."""
        assert added_lines(self.PATCH) == [(2, "KEY = 'AKIA" + "Y" * 16 + "'"), (4, "y = 3"),
                                           (20, "-----BEGIN RSA PRIVATE KEY-----")]

    def test_scan_patch(self) -> None:
        """Secrets of added lines, with line, type, desc and platform."""
        assert scan_patch(self.PATCH) == [
            {"line": 2, "type": "key", "desc": "aws_access_key_id", "platform": "AWS"},
            {"line": 20, "type": "private_key", "desc": "private_key", "platform": "PEM"},
        ]

    def test_removed_and_headerless_lines_ignored(self) -> None:
        """A secret being removed, or text before any hunk header, is not reported."""
        assert scan_patch("+ghp_" + "a" * 36 + "\n@@ -1 +1 @@\n-ghp_" + "b" * 36 + "\n+ok") == []

    def test_empty_patch(self) -> None:
        assert added_lines("") == []


class TestMiners:
    def test_keywords(self) -> None:
        """Every keyword is found in a SYNTHETIC command line naming it, any case."""
        for word in MINER_KEYWORDS:
            assert find_miner(f"  run: ./start --tool {word.upper()} -o x") == word

    @pytest.mark.parametrize("line", ["runs-on: ubuntu-latest", "spool: /var/spool", "threadpool: 4",
                                      "wallets_api: off", "uses: actions/checkout@v4"])
    def test_not_a_miner(self, line: str) -> None:
        """Keywords count as whole words only."""
        assert find_miner(line) is None

    def test_program_before_generic_word(self) -> None:
        """A line naming a mining program and a pool is reported as the program."""
        assert find_miner("xmrig --url pool.example.test:3333") == "xmrig"

    def test_scan_workflow(self) -> None:
        """SYNTHETIC workflow: one match per line, lines counted from 1, CRLF tolerated."""
        text = "name: build\r\non: push\r\njobs:\r\n  x:\r\n    run: ./xmrig -o stratum+tcp://h:1\r\n" \
               "    env:\r\n      WALLET: 4abc\r\n"
        assert scan_workflow(text) == [{"line": 5, "type": "xmrig"}, {"line": 7, "type": "wallet"}]
