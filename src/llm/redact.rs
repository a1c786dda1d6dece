//! Removes secrets from text before it leaves the process for an LLM (or a log).
//!
//! Rules start from gitleaks' (platform-facts §6): cloud keys, chat tokens, Stripe
//! keys, private keys (also cut off before their END line), JWTs, Authorization
//! headers and Bearer/Basic credentials, credentials in URLs, `password=`-style
//! assignments with bare or quoted values (spaces allowed inside quotes),
//! `--password`-style flags and `curl -u user:password` — plus every
//! secret in our own config, matched literally. Redaction keeps the shape of
//! the text (`token=[REDACTED]`, `https://***@host`) so the model still understands it.

use std::borrow::Cow;
use std::sync::Arc;

use regex::Regex;

/// Replacement for a removed secret.
pub const MARK: &str = "[REDACTED]";

/// (rule, replacement). `$n` refers to capture groups kept around the secret.
const RULES: &[(&str, &str)] = &[
    // Private key blocks (multi-line).
    (
        r"(?s)-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----.*?-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----",
        MARK,
    ),
    // … and one cut off before its END line (a paste truncated by a chat limit): the
    // header, then PEM header lines and lines that look like base64 (16 or more
    // base64 characters, on their own line or pasted flat with spaces). Prose after
    // the key is not base64-looking and stays.
    (
        r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----(?:(?:(?:\r?\n)+[ \t]*|[ \t]+)(?:Proc-Type:[^\r\n]*|DEK-Info:[^\r\n]*|[A-Za-z0-9+/=]{16,}))*",
        MARK,
    ),
    // Authorization headers. After a scheme (`Authorization: Basic dXNlcjpwYXNz`)
    // the value is the secret, digits or not; without one, only a value that looks
    // like a credential (eight or more characters with a digit or symbol in them, or
    // a long run of letters), so "Authorization: failing for all users" keeps its words.
    (
        r#"(?i)\b((?:proxy-)?authorization\s*["']?\s*[:=]\s*["']?(?:bearer|basic|token|digest|negotiate|apikey|api-key)\s+)[^\s"',;]{4,}"#,
        "${1}[REDACTED]",
    ),
    (
        r#"(?i)\b((?:proxy-)?authorization\s*["']?\s*[:=]\s*["']?)(?:[a-z]*[0-9+/=_.~:-][^\s"',;]{6,}|[a-z]{20,})"#,
        "${1}[REDACTED]",
    ),
    // Bearer and Basic credentials outside a header: a value that does not read like a
    // word (an upper-case letter, digit or symbol in it), so "basic auth" stays.
    (r"\b([Bb]earer|BEARER)(\s+)[a-z]*[A-Z0-9._~+/-][A-Za-z0-9._~+/=-]{6,}", "${1}${2}[REDACTED]"),
    (r"\b([Bb]asic|BASIC)(\s+)[a-z]*[A-Z0-9+/][A-Za-z0-9+/]{6,}={0,2}", "${1}${2}[REDACTED]"),
    // Command-line flags: `--password hunter22`, `--token=abc…`.
    (
        r#"(?i)(--(?:password|passwd|pass|pwd|token|secret|api-key|apikey|access-key|secret-key|client-secret|auth-token)(?:=|\s+))(["']?)[^\s"']{4,}"#,
        "${1}${2}[REDACTED]",
    ),
    // `curl -u user:password` and `--user=user:password`: the user stays.
    (
        r#"((?:^|\s)(?:-u|--user|--proxy-user)(?:=|\s+))(["']?)([^\s:"'@/]+):[^\s"']+"#,
        "${1}${2}${3}:[REDACTED]",
    ),
    // Credentials inside URLs: scheme://user:pass@host → scheme://***@host, also with
    // an empty user (`redis://:hunter2@redis-01:6379`).
    (r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s:/@]*:[^\s@/]+@", "${1}***@"),
    // Authorization headers and "bearer/token <value>" (values with a digit, so prose
    // like "token expiration" is left alone).
    (r"(?i)\b(bearer|token|basic)(\s+)[A-Za-z._~+/=-]*\d[A-Za-z0-9._~+/=-]{5,}", "${1}${2}[REDACTED]"),
    // AWS access key ids.
    (r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b", MARK),
    // Slack tokens and webhooks.
    // Bot, user, app-level, refresh (`xoxe-1-…`) and configuration (`xoxe.xoxp-1-…`)
    // tokens.
    (r"\bxox[a-z](?:\.xox[a-z])?-[0-9A-Za-z-]{10,}", MARK),
    (r"(?i)xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+", MARK),
    (r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_+-]+", "hooks.slack.com/[REDACTED]"),
    // GitHub tokens.
    (r"\b(?:ghp|gho|ghu|ghs|ghr)_[0-9A-Za-z]{36}\b", MARK),
    (r"\bgithub_pat_\w{82}\b", MARK),
    // GitLab personal, deploy, runner and project/group access tokens.
    (r"\bgl(?:pat|dt|rt|ptt|soat|cbt)-[0-9A-Za-z_-]{20,}", MARK),
    // Anthropic and OpenAI keys.
    (r"\bsk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{20,}", MARK),
    (r"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}", MARK),
    (r"\bsk-[A-Za-z0-9]{32,}\b", MARK),
    // JSON Web Tokens.
    (r"\bey[a-zA-Z0-9_-]{17,}\.ey[a-zA-Z0-9_-]{17,}\.[a-zA-Z0-9_-]{10,}", MARK),
    // Telegram bot tokens.
    (r"\b[0-9]{5,16}:A[a-zA-Z0-9_-]{34}\b", MARK),
    // Discord bot tokens.
    (r"\b[MN][A-Za-z\d_-]{23,25}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,38}\b", MARK),
    // Google API keys.
    (r"\bAIza[0-9A-Za-z_-]{35}\b", MARK),
    // Stripe secret and restricted keys, webhook signing secrets.
    (r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,}", MARK),
    (r"\bwhsec_[0-9A-Za-z]{20,}", MARK),
    // key = value assignments whose key says it is secret and whose value is quoted
    // and may hold spaces: `PASSWORD="my secret pass"`, `'password': 'a b c'`.
    (
        r#"(?i)\b((?:[a-z0-9_.-]*?)(?:api[_-]?key|secret|token|passw(?:or)?d|passphrase|pwd|access[_-]?key|private[_-]?key|client[_-]?secret)["']?\s*[:=]\s*")[^"\r\n]{1,200}""#,
        "${1}[REDACTED]\"",
    ),
    (
        r#"(?i)\b((?:[a-z0-9_.-]*?)(?:api[_-]?key|secret|token|passw(?:or)?d|passphrase|pwd|access[_-]?key|private[_-]?key|client[_-]?secret)["']?\s*[:=]\s*')[^'\r\n]{1,200}'"#,
        "${1}[REDACTED]'",
    ),
    // … and the same bare or quoted without spaces: `password=…`, `PGPASSWORD='…'`,
    // `"client_secret": "…"`, `'token': '…'`.
    (
        r#"(?i)\b((?:[a-z0-9_.-]*?)(?:api[_-]?key|secret|token|passw(?:or)?d|passphrase|pwd|access[_-]?key|private[_-]?key|client[_-]?secret))(["']?\s*[:=]\s*)(["']?)[^\s"',;]{6,}"#,
        "${1}${2}${3}[REDACTED]",
    ),
    // `auth=…` keys hold prose as often as secrets ("auth: failing for everyone"):
    // only a value that looks like a credential, as for Authorization above.
    (
        r#"(?i)\b((?:[a-z0-9_.-]*?)auth)(["']?\s*[:=]\s*)(["']?)(?:[a-z]*[0-9+/=_.~:-][^\s"',;]{6,}|[a-z]{20,})"#,
        "${1}${2}${3}[REDACTED]",
    ),
];

/// A compiled set of redaction rules plus literal secrets. Cheap to clone.
#[derive(Clone)]
pub struct Redactor {
    rules: Arc<Vec<(Regex, &'static str)>>,
    literals: Arc<Vec<String>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} rules, {} literal secrets)", self.rules.len(), self.literals.len())
    }
}

impl Redactor {
    /// `literal_secrets`: values from our own config (tokens, keys), removed verbatim.
    pub fn new(literal_secrets: Vec<String>) -> Self {
        let rules = RULES
            .iter()
            .filter_map(|(pattern, replacement)| match Regex::new(pattern) {
                Ok(re) => Some((re, *replacement)),
                Err(e) => {
                    // A rule that does not compile is a bug caught by the tests; never
                    // a reason to send text unredacted by the others.
                    tracing::error!(pattern, error = %e, "redaction rule does not compile");
                    None
                }
            })
            .collect();
        let mut literals: Vec<String> = literal_secrets.into_iter().filter(|s| s.trim().len() >= 6).collect();
        // Longest first, so a secret that contains another is removed whole.
        literals.sort_by_key(|s| std::cmp::Reverse(s.len()));
        literals.dedup();
        Self { rules: Arc::new(rules), literals: Arc::new(literals) }
    }

    /// The text with every secret replaced by `[REDACTED]`.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for literal in self.literals.iter() {
            if out.contains(literal.as_str()) {
                out = Cow::Owned(out.replace(literal.as_str(), MARK));
            }
        }
        for (rule, replacement) in self.rules.iter() {
            if let Cow::Owned(replaced) = rule.replace_all(&out, *replacement) {
                out = Cow::Owned(replaced);
            }
        }
        out
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> String {
        Redactor::new(vec!["hunter2-our-own-webhook-secret".into()]).redact(text).into_owned()
    }

    #[test]
    fn realistic_secrets_are_removed() {
        let cases = [
            ("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
            ("slack token xoxb-1234567890123-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx leaked", "xoxb-1234567890123"),
            ("app token xapp-1-A0123456789-1234567890123-0123456789abcdef0123456789abcdef", "xapp-1-A0123"),
            ("hook https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", "XXXXXXXXXXXX"),
            ("ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123 in the CI log", "ghp_ABCDEF"),
            ("key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEf", "sk-ant-api03-AbCd"),
            ("OPENAI_API_KEY=sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "sk-proj-AbCd"),
            ("jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", "SflKxwRJ"),
            ("telegram 123456789:AAEhBP0av28dHs8i7yDaqYpc0cxTGT8khYc", "AAEhBP0av"),
            ("curl -H 'Authorization: Bearer abc.def-ghi_jkl123456' https://api", "abc.def-ghi"),
            ("DATABASE_URL=postgres://app:S3cr3tP4ss@db.internal:5432/app", "S3cr3tP4ss"),
            ("password=CorrectHorseBatteryStaple in config", "CorrectHorse"),
            (r#"{"client_secret": "9f8e7d6c5b4a39281706"}"#, "9f8e7d6c5b4a"),
            ("our hunter2-our-own-webhook-secret showed up", "hunter2-our-own"),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----",
                "MIIEowIBAAK",
            ),
        ];
        for (text, secret) in cases {
            let out = r(text);
            assert!(!out.contains(secret), "{secret} survived in: {out}");
            assert!(out.contains("REDACTED") || out.contains("***@"), "no mark in: {out}");
        }
        assert_eq!(
            r("postgres://app:S3cr3tP4ss@db.internal:5432/app"),
            "postgres://***@db.internal:5432/app"
        );
        assert_eq!(r("password=CorrectHorseBatteryStaple"), "password=[REDACTED]");
    }

    #[test]
    fn quoted_flagged_and_header_secrets_are_removed() {
        let cases = [
            ("export PGPASSWORD='s3cr3tpw' && psql -h prod-db-01", "s3cr3tpw"),
            (r#"DB_PASSWORD="Tr0ub4dor&3" ./migrate"#, "Tr0ub4dor"),
            ("{'password': 'hunter2hunter2', 'user': 'app'}", "hunter2hunter2"),
            ("mysql --user=app --password hunter22 -h db", "hunter22"),
            ("vault login --token=hvs.CAESIJlU8bYkS2 -method=token", "hvs.CAESIJ"),
            ("redis-cli --pass 'n0tS0S3cret' ping", "n0tS0S3cret"),
            ("STRIPE_KEY sk_live_51HqLyjWDarjtT1zdp7dcXGoFBkvTEqZ5Bsb2Rk3ThSD", "sk_live_51HqLy"),
            ("restricted rk_live_51HqLyjWDarjtT1zdKqT8abcdEFGH leaked in logs", "rk_live_51HqLy"),
            ("stripe webhook secret whsec_8a4Yl1s9Y0bqQ3z2nEwXfJtK7PpZ", "whsec_8a4Y"),
            ("curl -H 'Authorization: Basic dXNlcjpwYXNz' https://api", "dXNlcjpwYXNz"),
            ("curl -H \"Authorization: Bearer abcdefghijklmnopqrstuvwxyz\" https://api", "abcdefghijklmnop"),
            ("proxy-authorization: Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag", "YIIGhgYG"),
            ("the client sends Bearer EwAoA8l6BAAUkj1N, then fails", "EwAoA8l6"),
            ("alertmanager sends Basic QWxhZGRpbjpPcGVuU2VzYW1l with each webhook", "QWxhZGRp"),
            (
                "here is the key, chat cut it off:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDx3FzJ9",
                "b3BlbnNzaC1rZXkt",
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F17F5316E2BAC89\n\nhB2CsDkBcJ0Z9c1xWcIeLnL1cZtGVdFk",
                "hB2CsDkBcJ0Z",
            ),
        ];
        for (text, secret) in cases {
            let out = r(text);
            assert!(!out.contains(secret), "{secret} survived in: {out}");
            assert!(out.contains("REDACTED"), "no mark in: {out}");
        }
        assert_eq!(r("PGPASSWORD='s3cr3tpw'"), "PGPASSWORD='[REDACTED]'");
        assert_eq!(r("run it with --password hunter22"), "run it with --password [REDACTED]");
        assert_eq!(r("Authorization: Basic dXNlcjpwYXNz"), "Authorization: Basic [REDACTED]");
        // A truncated key takes its base64 with it, but not the words after it.
        let out = r("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY\n… and then the deploy failed");
        assert_eq!(out, "[REDACTED]\n… and then the deploy failed");
    }

    /// Secrets an audit found leaking: an empty URL user, quoted values with spaces,
    /// `curl -u`, Slack refresh and configuration tokens, GitLab tokens.
    #[test]
    fn audit_leaks_are_closed() {
        let cases = [
            ("REDIS_URL=redis://:hunter2secret@redis-01:6379/0", "hunter2secret"),
            ("amqp://:Gu3st-Passw0rd@mq-1:5672/ fails", "Gu3st-Passw0rd"),
            (r#"PASSWORD="my secret pass" ./deploy.sh"#, "my secret pass"),
            ("{'db_password': 'correct horse battery'}", "correct horse"),
            ("curl -u admin:S3cretPass https://grafana.internal/api", "S3cretPass"),
            ("curl --user=deploy:hunter2hunter2 https://ci", "hunter2hunter2"),
            ("refresh xoxe-1-My0xLTEyMzQ1Njc4OTAxMjMtNjc4OTAxMjM0NTY3OA in the logs", "xoxe-1-My0x"),
            ("config token xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4OTAxMjMtMTIzNDU2Nzg5MDEyMw", "xoxp-1-Mi0y"),
            ("GITLAB_TOKEN glpat-AbCdEf1234567890XyZw is in the runner env", "glpat-AbCdEf12"),
            ("deploy token gldt-9xYzAbCdEfGhIjKlMnOpQrSt", "gldt-9xYz"),
        ];
        for (text, secret) in cases {
            let out = r(text);
            assert!(!out.contains(secret), "{secret} survived in: {out}");
            assert!(out.contains("REDACTED") || out.contains("***@"), "no mark in: {out}");
        }
        assert_eq!(r("redis://:hunter2secret@redis-01:6379/0"), "redis://***@redis-01:6379/0");
        assert_eq!(r(r#"PASSWORD="my secret pass""#), r#"PASSWORD="[REDACTED]""#);
        assert_eq!(r("PASSWORD='my secret pass'"), "PASSWORD='[REDACTED]'");
        assert_eq!(r("curl -u admin:S3cretPass https://x"), "curl -u admin:[REDACTED] https://x");
        // A truncated key takes only the lines that look like base64: the prose after
        // it, on the next line or after a space, stays.
        let out = r("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\nthen the deploy failed on prod");
        assert_eq!(out, "[REDACTED]\nthen the deploy failed on prod");
        let out =
            r("-----BEGIN RSA PRIVATE KEY----- MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOE and more words");
        assert_eq!(out, "[REDACTED] and more words");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for text in [
            "checkout-api on prod-db-01 returns 502 since 02:14 UTC, p99 9.3s",
            "deploy 3f9c2a1b8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b rolled back",
            "request id 123e4567-e89b-12d3-a456-426614174000 failed with ECONNRESET",
            "see https://grafana.example.com/d/abc?orgId=1&from=now-1h",
            "the token bucket refills at 1/s; password resets are failing for users",
            "kubectl -n payments rollout undo deployment/checkout",
            "basic auth is enabled on the admin panel; bearer authentication fails since 02:00",
            "the Authorization header is missing on retries",
            "use --password-file /etc/app/db.pass instead of a flag",
            "sk_live keys are rotated monthly",
            "Authorization: failing for all users since the deploy",
            "auth: failing for everyone on the EU tenant",
            "curl -u is deprecated here, use a token file",
            "the redis:// url has no password now",
        ] {
            assert_eq!(r(text), text);
        }
    }
}
