"""Text scans over what GitHub sends us: secrets in the lines a push adds, mining tools in a workflow file.

Both are tables of RE2 patterns (linear time, so a hostile diff cannot stall the sensor), tried in table order;
a line reports its first hit only, as upstream's scanner does. The secret patterns follow the public formats
of each provider's credentials; the miner keywords name mining programs, pools and the stratum protocol.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import re2


@dataclass(frozen=True)
class SecretPattern:
    """One kind of credential: `desc` names it in alerts, `type` says what it is, `platform` who issues it."""

    desc: str
    type: str
    platform: str
    regex: str


_UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_B64_END = r"(?:[^A-Za-z0-9/+=]|$)"  # a base64 value ends here (\b fails after a trailing / or +)

SECRET_PATTERNS: tuple[SecretPattern, ...] = (
    SecretPattern("aws_access_key_id", "key", "AWS", r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"),
    SecretPattern("aws_secret_access_key", "secret", "AWS",
                  r"(?i)(?:aws|secret).{0,20}?key['\"]?\s*(?:=>|:=|=|:)\s*['\"]?[A-Za-z0-9/+]{40}" + _B64_END),
    SecretPattern("aws_account_id", "id", "AWS",
                  r"(?i)aws_?account_?id['\"]?\s*(?:=>|:=|=|:)\s*['\"]?[0-9]{4}-?[0-9]{4}-?[0-9]{4}\b"),
    SecretPattern("aws_mws_auth_token", "token", "AWS", r"\bamzn\.mws\." + _UUID + r"\b"),
    SecretPattern("github_personal_access_token", "token", "GitHub", r"\bghp_[0-9A-Za-z]{36}\b"),
    SecretPattern("github_fine_grained_token", "token", "GitHub", r"\bgithub_pat_[0-9A-Za-z_]{82}\b"),
    SecretPattern("github_oauth_token", "token", "GitHub", r"\bgho_[0-9A-Za-z]{36}\b"),
    SecretPattern("github_app_token", "token", "GitHub", r"\bgh[us]_[0-9A-Za-z]{36}\b"),
    SecretPattern("github_refresh_token", "token", "GitHub", r"\bghr_[0-9A-Za-z]{36,76}\b"),
    SecretPattern("gitlab_personal_access_token", "token", "GitLab", r"\bglpat-[0-9A-Za-z_-]{20}"),
    SecretPattern("slack_token", "token", "Slack", r"\bxox[abeoprs]-[0-9A-Za-z-]{10,}"),
    SecretPattern("slack_webhook_url", "webhook", "Slack",
                  r"https://hooks\.slack\.com/(?:services|workflows)/T[0-9A-Za-z_]{8,12}/[AB][0-9A-Za-z_]{8,12}/"
                  r"[0-9A-Za-z_]{24}"),
    SecretPattern("discord_webhook_url", "webhook", "Discord",
                  r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[0-9A-Za-z_-]{60,}"),
    SecretPattern("private_key", "private_key", "PEM",
                  r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    SecretPattern("google_api_key", "key", "Google", r"\bAIza[0-9A-Za-z_-]{35}"),
    SecretPattern("google_oauth_client_secret", "secret", "Google", r"\bGOCSPX-[0-9A-Za-z_-]{28}"),
    SecretPattern("gcp_service_account_key", "key", "Google", r"\"type\"\s*:\s*\"service_account\""),
    SecretPattern("stripe_live_key", "key", "Stripe", r"\b[rs]k_live_[0-9A-Za-z]{24,}"),
    SecretPattern("sendgrid_api_key", "key", "SendGrid", r"\bSG\.[0-9A-Za-z_-]{22}\.[0-9A-Za-z_-]{43}"),
    SecretPattern("shopify_access_token", "token", "Shopify", r"\bshp(?:at|ca|pa)_[0-9A-Fa-f]{32}\b"),
    SecretPattern("shopify_shared_secret", "secret", "Shopify", r"\bshpss_[0-9A-Fa-f]{32}\b"),
    SecretPattern("pypi_api_token", "token", "PyPI", r"\bpypi-AgEIcHlwaS5vcmc[0-9A-Za-z_-]{50,}"),
    SecretPattern("testpypi_api_token", "token", "PyPI", r"\bpypi-AgENdGVzdC5weXBpLm9yZw[0-9A-Za-z_-]{50,}"),
    SecretPattern("npm_access_token", "token", "npm", r"\bnpm_[0-9A-Za-z]{36}\b"),
    SecretPattern("mailgun_api_key", "key", "Mailgun", r"\bkey-[0-9a-f]{32}\b"),
    SecretPattern("mailchimp_api_key", "key", "Mailchimp", r"\b[0-9a-f]{32}-us[0-9]{1,2}\b"),
    SecretPattern("twilio_api_key", "key", "Twilio", r"(?i:twilio).{0,20}\bSK[0-9a-fA-F]{32}\b"),
    SecretPattern("square_access_token", "token", "Square", r"\bsq0atp-[0-9A-Za-z_-]{22}"),
    SecretPattern("square_oauth_secret", "secret", "Square", r"\bsq0csp-[0-9A-Za-z_-]{43}"),
    SecretPattern("braintree_access_token", "token", "PayPal",
                  r"access_token\$production\$[0-9a-z]{16}\$[0-9a-f]{32}"),
    SecretPattern("heroku_api_key", "key", "Heroku", r"(?i:heroku).{0,20}" + _UUID),
    SecretPattern("dynatrace_token", "token", "Dynatrace", r"\bdt0[A-Za-z][0-9]{2}\.[A-Z0-9]{24}\.[A-Z0-9]{64}\b"),
    SecretPattern("facebook_access_token", "token", "Facebook", r"\bEAACEdEose0cBA[0-9A-Za-z]+"),
    SecretPattern("facebook_app_secret", "secret", "Facebook",
                  r"(?i:facebook|\bfb).{0,20}['\"][0-9a-f]{32}['\"]"),
    SecretPattern("twitter_secret", "secret", "Twitter", r"(?i:twitter).{0,20}['\"][0-9A-Za-z]{35,44}['\"]"),
    SecretPattern("azure_storage_account_key", "key", "Azure", r"AccountKey=[A-Za-z0-9+/]{86}=="),
    SecretPattern("digitalocean_token", "token", "DigitalOcean", r"\bdo[por]_v1_[0-9a-f]{64}\b"),
    SecretPattern("telegram_bot_token", "token", "Telegram", r"\b[0-9]{8,10}:AA[0-9A-Za-z_-]{33}"),
    SecretPattern("hashicorp_vault_token", "token", "HashiCorp", r"\bhvs\.[0-9A-Za-z_-]{90,}"),
    SecretPattern("openai_api_key", "key", "OpenAI", r"\bsk-[0-9A-Za-z_-]{20,}T3BlbkFJ[0-9A-Za-z_-]{20,}"),
    SecretPattern("anthropic_api_key", "key", "Anthropic", r"\bsk-ant-(?:api|admin)[0-9]{2}-[0-9A-Za-z_-]{80,}"),
)

MINER_KEYWORDS: tuple[str, ...] = (
    # mining programs first: a line naming one is reported as that program, not as a generic word
    "xmrig", "xmr-stak", "ccminer", "cpuminer", "cgminer", "bfgminer", "ethminer", "gminer", "nbminer",
    "lolminer", "phoenixminer", "teamredminer", "srbminer", "nanominer", "t-rex", "claymore", "minerd",
    # pools and mining services
    "nicehash", "minergate", "unmineable", "ethermine", "f2pool", "2miners", "nanopool", "hashvault",
    "moneroocean", "supportxmr", "minexmr", "herominers", "kryptex", "cryptotab", "hiveos", "minerstat",
    # protocol and vocabulary
    "stratum", "cryptonight", "randomx", "hashrate", "monero", "pool", "wallet",
)

_SECRET_REGEXES = tuple((pattern, re2.compile(pattern.regex)) for pattern in SECRET_PATTERNS)
# Whole words, any case: `--pool=` and `XMRig` count, `spool` and `threadpool` do not.
_MINER_REGEXES = tuple((word, re2.compile(r"(?i)\b" + re.escape(word) + r"\b")) for word in MINER_KEYWORDS)

_HUNK_HEADER = re.compile(r"^@@+ (?:-\d+(?:,\d+)? )+\+(\d+)(?:,\d+)? @@+")


def find_secret(line: str) -> SecretPattern | None:
    """The first secret pattern the line matches, or None."""
    for pattern, regex in _SECRET_REGEXES:
        if regex.search(line):
            return pattern
    return None


def find_miner(line: str) -> str | None:
    """The first mining keyword the line contains, or None."""
    for word, regex in _MINER_REGEXES:
        if regex.search(line):
            return word
    return None


def added_lines(patch: str) -> list[tuple[int, str]]:
    """(line number in the new file, text) of each line a unified diff adds.

    GitHub's compare API gives each file's patch as hunks without file headers; combined-diff hunks
    (`@@@ -a -b +c @@@`) are understood too. Lines before the first hunk header carry no position: skipped.
    """
    added: list[tuple[int, str]] = []
    next_line = None
    for text in patch.split("\n"):
        header = _HUNK_HEADER.match(text)
        if header:
            next_line = int(header.group(1))
        elif next_line is None or text.startswith(("-", "\\")):
            continue  # before any hunk, a removed line, or "\ No newline at end of file"
        elif text.startswith("+"):
            added.append((next_line, text[1:].rstrip("\r")))
            next_line += 1
        else:
            next_line += 1  # a context line
    return added


def scan_patch(patch: str) -> list[dict[str, Any]]:
    """The secrets in the lines a patch adds: [{line, type, desc, platform}], in line order."""
    matches = []
    for number, text in added_lines(patch):
        pattern = find_secret(text)
        if pattern is not None:
            matches.append({"line": number, "type": pattern.type, "desc": pattern.desc,
                            "platform": pattern.platform})
    return matches


def scan_workflow(text: str) -> list[dict[str, Any]]:
    """The mining keywords of a workflow file: [{line, type}] with lines counted from 1."""
    matches = []
    for number, line in enumerate(text.split("\n"), start=1):
        word = find_miner(line.rstrip("\r"))
        if word is not None:
            matches.append({"line": number, "type": word})
    return matches
