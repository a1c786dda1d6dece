//! The tier-1 signals, as data: every rule the heuristics know, in one table.
//!
//! A signal fires when any of its `terms` (matched case-insensitively, on word
//! boundaries; a trailing `*` allows any ending, a leading `*` any beginning) or any
//! of its `patterns` occurs in the message. Its `weight` adds to the score of
//! its `lean`; how the scores become a verdict is in [`super::heuristics`]. Keep terms
//! lowercase. To teach the classifier something, add a row or a term here and a line
//! to `tests/data/classifier.jsonl`; nothing else changes.
//!
//! The first promise is "never drop a real page", so the table is asymmetric on
//! purpose:
//! - a symptom ([`Lean::Alert`]) of any weight can only be outvoted into "ambiguous"
//!   (investigated), never into "chatter"; only places and people ([`Lean::Context`]:
//!   `checkout`, `prod-db-01`, `customers`) may be outvoted by chatter;
//! - test wording never beats a symptom, and a heartbeat (Watchdog) is one only as the
//!   single alert under a Prometheus firing marker, with no symptom in it;
//! - a tool's all-clear covers its own title and fields, not a "but …" or a line of
//!   its own that says something is still wrong;
//! - a [`Lean::Contrast`] ("but", "still", "again") takes away the vote of good news
//!   ([`Lean::Recovered`]) in the same message;
//! - a [`Lean::Harmless`] phrase ("error page copy", "slow down", "dead code") does not
//!   vote at all: it only cancels the alarming terms *inside* it, so the rest of the
//!   message still counts;
//! - a message with no known word is ambiguous, not chatter, and so is one of emoji
//!   the chatter rows do not list (🔥, 🔴 and ❌ are urgency).

/// A symptom at least this heavy is an alert on its own: after a tool's all-clear
/// (on a line of its own, or after a "but") it makes the message an alert, not only
/// ambiguous. Any symptom, however light, keeps a message out of chatter.
pub const STRONG: f32 = 2.0;

/// The name of an alert (`InstanceDown`, `KubePodCrashLooping`, `HighErrorRate`) on a
/// line or sentence of its own after a tool's all-clear: a second alert of the group
/// that is not resolved ("[RESOLVED] checkout latency\nInstanceDown payments-3"). Only
/// read there: in other messages the firing marker or the symptom words decide, and
/// twenty more needles would slow every message down.
pub const ALERT_NAME: &str = r"(?-u:\b)(?:(?:High|Low)[A-Z][A-Za-z0-9]+|[A-Z][A-Za-z0-9]*?[A-Za-z0-9](?:Down|Errors?|Fail(?:ed|ing|ure|ures|s)?|CrashLoop(?:ing|BackOff)?|Crash(?:ed|ing)?|NotReady|Unready|Full|FillingUp|Latency|Lag(?:ging)?|Unavailable|Unreachable|Timeouts?|OutOfMemory|Degraded|Stuck|Backlog|High|Exhausted|Expir(?:ed|ing|y)|Missing|Absent)[A-Za-z0-9]*)(?-u:\b)";

/// The fields monitoring tools put under an alert's title (`summary: …`,
/// `*Description:* …`, `Value: A=41`). Under a tool's all-clear, such a line
/// describes the alert that cleared; any other line is read on its own, so
/// "[RESOLVED] HighLatency\ncustomers cannot pay" is not an all-clear.
#[rustfmt::skip]
pub const NOTIFICATION_FIELDS: &[&str] = &[
    "alert", "alertname", "alerts", "annotations", "cluster", "dashboard", "description",
    "details", "duration", "ends at", "env", "environment", "graph", "host", "instance",
    "job", "labels", "message", "metric", "monitor", "namespace", "new state", "old state",
    "owner", "panel", "pod", "priority", "reason", "region", "runbook", "runbook_url",
    "service", "severity", "silence", "source", "started", "starts at", "state", "status",
    "summary", "tags", "team", "threshold", "trigger", "url", "value", "values",
];

/// Which way a signal pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lean {
    /// A symptom: something is wrong right now (a human report, an error, a firing
    /// alert's name). Once one fires, chatter cannot win: the message is at most
    /// ambiguous, which means investigated.
    Alert,
    /// Where or what, not what is wrong: a service, a host, production, customers, a
    /// monitoring tool, the shape of a notification. Adds to a symptom's score, and
    /// chatter may outvote it.
    Context,
    /// A monitoring tool says something is firing right now.
    Firing,
    /// A monitoring tool says something recovered (machine all-clear markers only).
    Cleared,
    /// Wording of a test notification.
    Test,
    /// The name of an always-firing heartbeat alert (Watchdog, DeadMansSwitch).
    Heartbeat,
    /// Small talk, thanks, acknowledgements, greetings, questions about the bot.
    Chatter,
    /// Chatter that says something is fine: success news, "it recovered", "resolved",
    /// a postmortem. A [`Lean::Contrast`] in the same message ("deployed ✅ but
    /// checkout 💥") takes its vote away.
    Recovered,
    /// "but", "still", "again", "yet", "no,": the message goes on to contradict what
    /// came before. Votes for nothing by itself.
    Contrast,
    /// A harmless phrase around a scary word: cancels the alarming terms it contains.
    Harmless,
}

impl Lean {
    /// Whether a [`Lean::Harmless`] phrase cancels this lean's terms inside it.
    pub fn alarming(self) -> bool {
        matches!(self, Lean::Alert | Lean::Firing | Lean::Context)
    }

    /// How many leans there are (for tables indexed by `lean as usize`).
    pub const COUNT: usize = 10;
}

/// A regex for what terms cannot say (host names, `TypeError`, upper-case log levels).
///
/// Regexes without a literal cost a scan of the whole message, so each names
/// `needles`: case-sensitive strings of which every match contains one. The regex
/// then runs only on the whitespace-free token around a needle, so it must never
/// span whitespace.
pub struct Pattern {
    pub needles: &'static [&'static str],
    pub regex: &'static str,
}

pub struct Signal {
    /// Stable short name, shown to people as a reason.
    pub name: &'static str,
    pub lean: Lean,
    pub weight: f32,
    pub terms: &'static [&'static str],
    pub patterns: &'static [Pattern],
    /// Only counts in messages of at most this many words (0 = any length) in which no
    /// alert signal fired: "ok" is an acknowledgement on its own, not inside "ok so
    /// the db is down".
    pub max_words: usize,
}

const fn s(
    name: &'static str,
    lean: Lean,
    weight: f32,
    terms: &'static [&'static str],
    patterns: &'static [Pattern],
) -> Signal {
    Signal { name, lean, weight, terms, patterns, max_words: 0 }
}

/// A signal that only counts in short messages.
const fn short(
    name: &'static str,
    lean: Lean,
    weight: f32,
    max_words: usize,
    terms: &'static [&'static str],
) -> Signal {
    Signal { name, lean, weight, terms, patterns: &[], max_words }
}

use Lean::*;

#[rustfmt::skip]
pub const SIGNALS: &[Signal] = &[
    // --- Machine alert formats -------------------------------------------------------
    // Firing markers: a tool says something is firing right now. Nothing in the text
    // of the alert (a description saying "can be ignored") outweighs them.
    s("alertmanager_firing", Firing, 3.0, &["[firing:", "[firing]", "firing:", "status firing", "alerts firing", "is firing", "are firing", "firing alerts", "🔥 firing"], &[]),
    s("grafana_alerting", Firing, 3.0, &["**firing**", "firing\n", "state alerting", "[alerting]"], &[]),
    s("datadog_triggered", Firing, 3.0, &["[triggered]", "[re-triggered]", "[triggered on", "[warn]", "[warn on", "[warning]", "[no data]", "[no data on", "[alert]", "triggered:", "re-triggered:"], &[]),
    s("datadog_watchdog", Firing, 3.0, &["datadog watchdog", "watchdog detected", "[watchdog]"], &[]),
    s("cloudwatch_alarm", Firing, 3.0, &["from ok to alarm", "ok -> alarm", "ok → alarm", "to alarm", "in alarm state", "entered the alarm state", "alarm:", "[alarm]", "state: alarm", "\"newstatevalue\":\"alarm\"", "\"newstatevalue\": \"alarm\""], &[]),
    s("pagerduty_triggered", Firing, 3.0, &["triggered #", "incident triggered", "incident.triggered", "new incident #", "new incident:"], &[]),
    s("opsgenie_created", Firing, 3.0, &["alert created", "new alert:", "alert opened"], &[]),
    s("sentry_issue", Firing, 3.0, &["new issue in", "new issue:", "regression detected", "issue regressed", "regression:", "issue alert:", "metric alert:", "escalating issue"], &[]),
    s("newrelic_violation", Firing, 3.0, &["critical violation", "warning violation", "violation of policy", "open violation", "incident opened"], &[]),
    s("nagios_problem", Firing, 3.0, &["problem service alert", "problem host alert", "nagios problem", "zabbix problem", "icinga problem", "problem:", "critical:"], &[]),
    s("uptime_down", Firing, 3.0, &["monitor is down", "down alert", "[down]", "[🔴 down]", "🔴 down", "down: http", "down - http", "is down since"], &[]),
    // The shape of a monitoring notification, firing or not.
    s("alert_labels_block", Context, 1.5, &["alertname", "labels:", "annotations:", "runbook_url", "generatorurl", "runbook:", "value: a=", "value: b=", "value: c=", "values: [", "var='"], &[]),
    s("monitoring_tool", Context, 1.0, &["grafana alert", "pagerduty", "opsgenie", "sentry", "new relic", "newrelic", "datadog", "cloudwatch", "prometheus", "alertmanager", "pingdom", "uptimerobot", "uptime kuma", "betterstack", "better stack", "statuspage", "zabbix", "nagios", "icinga", "healthchecks.io", "cronitor", "checkly", "victorops", "squadcast", "dynatrace", "appdynamics", "honeycomb", "stackdriver", "aws health"], &[]),
    s("dashboard_link", Context, 0.5, &["dashboardurl", "panelurl", "/d/", "viewpanel="], &[]),
    s("priority_tag", Alert, 1.5, &["[p0]", "[p1]", "[p2]", "[p3]", "[sev0]", "[sev1]", "[sev2]", "[sev3]", "[critical]", "[high]"], &[]),
    s("severity_label", Alert, 1.5, &["severity critical", "severity page", "severity error", "severity warning", "severity high", "severity major", "severity p1", "severity p2", "urgency high"], &[]),
    s("kubernetes_event", Alert, 3.0, &["crashloopbackoff", "crashlooping", "crash loop", "oomkilled", "imagepullbackoff", "errimagepull", "notready", "not ready", "nodenotready", "failedscheduling", "failedmount", "mountvolume", "evicted", "back-off restarting", "backoff restarting", "kubepodcrashlooping", "kubenodenotready", "pod restarts", "restarting container", "keeps restarting", "keep restarting", "restart loop", "liveness probe failed", "readiness probe failed", "probe failed", "insufficient memory", "insufficient cpu", "createcontainerconfigerror", "pods pending", "stuck pending"], &[]),
    s("certificate_expiry", Alert, 3.0, &["certificate expir*", "cert expir*", "x509", "ssl certificate", "tls certificate", "ssl cert", "tls cert", "certificate has expired", "certificate is expiring", "expires in", "expire in", "will expire", "expires tomorrow", "expires today", "expiring soon", "tls handshake", "acme challenge", "cert-manager"], &[]),
    // --- Human reports ----------------------------------------------------------------
    s("outage", Alert, 2.5, &["outage", "down", "is down", "went down", "not working", "doesn't work", "doesnt work", "isn't working", "isnt working", "stopped working", "broken", "unavailable", "unreachable", "not responding", "unresponsive", "offline", "dead", "degraded", "not loading", "isn't loading", "aren't loading", "won't load", "wont load", "doesn't load", "does not load", "nothing loads", "won't open", "blank page", "blank screen", "white screen", "is blank", "are blank", "spinning forever", "spinner", "cannot connect", "can't connect", "cant connect", "can't reach", "cannot reach", "connection refused", "econnrefused", "econnreset", "connection reset", "reset by peer", "dropping connections", "packet loss", "no response", "not resolving", "went dark", "is red", "cluster red", "health red", "status red", "nobody can", "no one can", "can't place", "cannot place", "unusable", "borked", "hosed", "fubar", "kaput", "kaputt", "flaky", "flapping", "bouncing", "access denied", "permission denied", "returns nothing", "returning nothing", "out of connections", "pool exhausted", "too many connections", "maxed out", "check failed", "healthcheck failed", "health check failed", "site down", "broke", "died", "dies", "has died", "just died", "dropped to zero", "dropped to 0", "down to zero", "down to 0", "fell to zero", "went to zero", "zero orders", "no orders"], &[]),
    s("still_broken", Alert, 3.0, &["still down", "still broken", "still failing", "still erroring", "still seeing", "still getting", "still happening", "still not working", "still timing out", "still ongoing", "down again", "broken again", "failing again", "again down", "but now", "now we see", "now we're seeing", "still complaining", "complaining again", "died again", "getting worse", "is worse", "got worse", "much worse"], &[]),
    s("http_5xx", Alert, 2.5, &["5xx", "5xxs", "internal server error", "bad gateway", "service unavailable", "gateway timeout", "500", "501", "502", "503", "504", "505", "507", "508", "520", "521", "522", "523", "524", "529", "599", "500s", "502s", "503s", "504s", "500ing", "502ing", "503ing", "500er", "502er", "503er"], &[]),
    s("http_4xx_spike", Alert, 1.0, &["403s", "401s", "404s", "429s", "400s", "4xx", "401", "403", "401ing", "403ing", "too many requests", "forbidden", "rejecting", "rejected", "declined"], &[]),
    s("not_happening", Alert, 2.0, &["stopped", "hasn't run", "hasnt run", "didn't run", "did not run", "never arrive*", "not arriving", "not arrive", "no longer", "not sent", "not going out", "aren't going out", "not going through", "aren't going through", "not coming through", "aren't coming through", "never stops", "not being sent", "not sending", "not delivered", "not being delivered", "never show up", "never shows up", "not showing up", "are missing", "is missing", "not coming in", "not updating", "hasn't fired", "didn't fire", "didn't finish", "did not finish", "not generated", "not processed", "is delayed", "are delayed", "delayed by", "are stale", "is stale", "haven't received", "have not received", "hasn't received", "has not received", "not received", "didn't receive", "did not receive", "stopped receiving", "no longer receiving", "no heartbeat", "missing heartbeat", "heartbeat missing", "missed heartbeat*", "heartbeat is late", "heartbeat late", "late heartbeat", "heartbeat lost", "lost heartbeat"], &[]),
    s("errors", Alert, 2.0, &["error*", "exception*", "fail", "fails", "failed", "failing", "failure", "failures", "crash*", "panic*", "fatal", "segfault*", "segmentation fault", "core dumped", "sigsegv", "deadlock*", "broken pipe", "stack overflow", "null pointer", "nullpointer", "erroring", "errored", "throwing", "with errors", "with failures", "soft lockup", "hard lockup", "hung task", "watchdog timeout", "watchdog reset"], &[]),
    s("error_rate", Alert, 1.5, &["error rate", "errors spiking", "error spike", "elevated errors", "increase in errors", "error budget burn*", "budget burn*", "burn rate", "success rate", "apdex"], &[]),
    s("timeout", Alert, 2.0, &["timing out", "timed out", "timeout*", "time out", "times out", "hanging", "hangs", "hang", "forever", "stuck", "frozen", "freezing"], &[]),
    s("latency", Alert, 2.0, &["latency", "slow", "slowness", "sluggish", "p99", "p95", "p90", "p999", "response time*", "taking forever", "takes forever", "taking ages", "takes ages", "very slow", "super slow", "laggy", "lagging"], &[]),
    s("cannot_log_in", Alert, 2.5, &["can't log in", "cannot log in", "cant log in", "can't login", "cannot login", "cant login", "unable to log in", "unable to login", "login fail*", "log in fail*", "sign-in fail*", "signin fail*", "can't sign in", "cannot sign in", "can't sign up", "cannot sign up", "sso is broken", "auth is broken", "login is broken", "authentication fail*", "locked out", "logged out", "redirect loop*"], &[]),
    s("disk_full", Alert, 2.5, &["disk full", "disk is full", "disk almost full", "no space left", "out of disk", "disk usage", "filesystem full", "filesystem is full", "inode*", "disk space", "volume full", "disk pressure", "disk at", "disk is at", "running out of space", "out of space", "storage full", "quota exceeded"], &[]),
    s("memory", Alert, 2.0, &["out of memory", "oom", "ooms", "ooming", "oomkill*", "memory leak", "memory usage", "memory pressure", "memory climbing", "swapping", "heap space", "outofmemoryerror"], &[]),
    s("cpu", Alert, 2.0, &["high cpu", "cpu usage", "cpu at", "cpu is at", "cpu spike*", "load average", "cpu throttl*", "100% cpu", "pegged"], &[]),
    s("replication_lag", Alert, 2.5, &["replication lag", "replica lag", "replication is lagging", "replica is lagging", "lagging behind", "replication broken", "replica behind", "seconds behind master", "seconds_behind_master", "wal", "split brain", "failover", "under-replicated", "under replicated", "isr", "out of sync"], &[]),
    s("queue_backlog", Alert, 2.0, &["backlog", "queue depth", "queue is growing", "queue growing", "queue is stuck", "queue stuck", "consumer lag", "piling up", "dlq", "dead letter", "not being processed", "not processing", "stuck in the queue", "jobs stuck", "not draining", "isn't draining", "keeps growing", "keep growing", "growing fast", "keeps climbing", "backing up", "backed up"], &[]),
    s("data_loss", Alert, 2.5, &["data loss", "lost data", "losing data", "losing orders", "lost orders", "corrupt*", "missing data", "data is missing", "rows missing", "duplicate charges", "duplicate orders", "duplicate payments", "double charged", "double charging", "charged twice", "data looks wrong", "data is wrong", "wrong data", "is empty", "are empty", "was empty", "came back empty", "comes back empty", "returns empty", "returning empty", "empty response*", "empty result*", "empty page", "0 bytes", "zero bytes", "0 rows", "zero rows", "duplicated", "duplicating", "duplicates to", "sent duplicates", "sending duplicates", "duplicate emails", "duplicate notifications", "duplicate messages", "sent twice"], &[]),
    s("security", Alert, 2.5, &["breach", "compromised", "ddos", "under attack", "leaked", "unauthorized access", "suspicious login*", "credential stuffing", "hacked", "ransomware", "malware", "phishing", "brute force"], &[]),
    s("customer_impact", Alert, 1.5, &["users can't", "users cannot", "users report*", "users say", "customers report*", "customers say", "everyone can't", "support tickets", "tickets coming in", "complaints", "complaining"], &[]),
    // Money that cannot come in: a real symptom on its own.
    s("cannot_pay", Alert, 2.5, &["can't pay", "cannot pay", "cant pay", "unable to pay", "not able to pay", "can't check out", "cannot check out", "cant check out", "can't checkout", "cannot checkout", "unable to check out", "unable to checkout", "can't buy", "cannot buy", "can't order", "cannot order", "can't purchase", "cannot purchase", "payments are declining", "payments declining", "payments are being declined", "cards declined", "cards are declined", "cards declining", "cards are declining"], &[]),
    // A service reporting that none of its members is healthy.
    s("none_healthy", Alert, 3.0, &["unhealthy", "healthy: false", "\"healthy\": false", "\"healthy\":false", "healthy=false", "health: false", "0 healthy", "healthy: 0", "no healthy", "zero healthy", "none healthy", "not healthy"], &[Pattern {
        needles: &["0/"],
        regex: r"(?-u:\b)0/[0-9]+(?-u:\b)",
    }]),
    // People: who is affected, not what is wrong.
    s("people", Context, 1.5, &["customers", "customer", "users are", "all users", "all customers", "for everyone", "everyone is", "everyone gets", "everyone sees", "nobody", "no one", "revenue"], &[]),
    s("service_names", Context, 0.8, &["checkout", "payments", "payment", "api", "database", "db", "postgres", "mysql", "redis", "kafka", "rabbitmq", "elasticsearch", "nginx", "load balancer", "cdn", "dns", "vpn", "gateway", "cluster", "node", "pods", "service", "orders", "login", "signup", "search", "emails", "webhooks", "site", "website", "homepage", "app", "cron", "billing", "invoices", "cart", "server", "servers", "disk", "memory", "cpu", "queue", "heap", "host", "nodes"], &[]),
    s("production", Context, 1.0, &["prod", "production", "prod-*", "live site", "in prod", "on prod", "customer-facing"], &[]),
    s("host_name", Context, 1.0, &[], &[Pattern {
        needles: &["-0", "-1", "-2", "-3", "-4", "-5", "-6", "-7", "-8", "-9", ".0", ".1", ".2", ".3", ".4", ".5", ".6", ".7", ".8", ".9"],
        regex: r"(?-u:\b)(?:[a-z]+(?:-[a-z0-9]+)*-[0-9]{1,3}|(?:[0-9]{1,3}\.){3}[0-9]{1,3})(?-u:\b)",
    }]),
    s("stack_trace", Alert, 2.5, &["traceback (most recent call last)", "exception in thread", "goroutine", "stack trace", "stacktrace", "caused by:", "*error:", "*exception:", "\tat ", "\n    at ", "\", line "], &[Pattern {
        needles: &["Error", "Exception"],
        regex: r"(?-u:\b)[A-Z][A-Za-z]*(?:Error|Exception)(?-u:\b)",
    }]),
    s("error_output", Alert, 2.0, &["exit code 1", "exit code 2", "exit code 126", "exit code 127", "exit code 137", "exit code 139", "exit status 1", "exit status 2", "exited with code", "psql error"], &[Pattern {
        needles: &["ERROR", "FATAL", "CRITICAL", "PANIC", "SEVERE", "ORA"],
        regex: r"(?-u:\b)(?:ERROR|FATAL|CRITICAL|PANIC|SEVERE|ORA-[0-9]{5})(?-u:\b)",
    }]),
    // Something restarting or being killed (a crash loop, an OOM killer, a watchdog).
    s("restarts", Alert, 2.0, &["rebooting", "rebooted", "reboots", "keeps rebooting", "reboot loop", "restarted", "restarting", "restarts", "killed", "killing", "kills", "sigkill", "oom killer", "oom-killer"], &[]),
    s("incident_declared", Alert, 2.5, &["we have an incident", "we've got an incident", "there's an incident", "there is an incident", "declaring an incident", "declare an incident", "declared an incident", "incident in progress", "ongoing incident", "active incident", "major incident", "open incident", "incident started"], &[]),
    // A resource at 90 % or more ("disk: 99% now"). Terms, not a regex: one more
    // pattern needle of one byte would push the needle search off its SIMD path.
    s("high_percent", Alert, 1.5, &["90%", "91%", "92%", "93%", "94%", "95%", "96%", "97%", "98%", "99%", "100%"], &[]),
    s("incident_word", Context, 0.8, &["incident", "incidents"], &[]),
    s("problem_word", Context, 1.0, &["problem", "problems", "issue", "issues", "bug", "bugs", "glitch*"], &[]),
    s("something_off", Alert, 1.0, &["weird", "wrong", "not right", "acting up", "acting weird", "misbehaving", "off again"], &[]),
    s("urgency_words", Alert, 1.5, &["sev1", "sev2", "sev-1", "sev-2", "sev 1", "sev 2", "p0", "p1", "urgent", "emergency", "asap", "critical", "help!", "on fire", "firefight*", "mayday", "all hands", "🚨", "🆘", "🔥", "🔴", "❌", "💥", "⚠", "‼", "⁉", "❗", "⛔", "🛑", "😱", "💀", "☠", "🟥", "📉", "🚒", ":fire:", ":rotating_light:", ":red_circle:", ":x:", ":boom:", ":warning:", ":bangbang:", ":exclamation:", ":sos:", ":scream:", ":skull:", ":no_entry:", ":octagonal_sign:"], &[]),
    s("investigate_request", Alert, 1.5, &["can you investigate", "please investigate", "investigate why", "look into", "can you check", "can someone check", "could you check", "take a look", "what's going on with", "whats going on with", "why is", "anyone else seeing", "is anyone seeing", "is it just me", "something is wrong", "something's wrong", "something wrong with"], &[]),
    s("spike", Alert, 1.5, &["spike*", "spiking", "surge", "jumped to", "dropped to", "drop in", "dropped by", "through the roof", "skyrocket*", "flatlined", "zero traffic", "no traffic", "traffic dropped", "climbing", "0 rps", "zero rps", "declining", "dropping"], &[]),
    s("rollback_needed", Alert, 1.5, &["bad deploy", "broke prod", "broke production", "need to roll back", "needs a rollback", "rolling back", "we rolled back", "emergency rollback"], &[]),
    s("change_words", Context, 1.0, &["roll back", "rollback", "revert", "hotfix"], &[]),
    // --- Other languages -------------------------------------------------------------
    // Symptoms (strong) and, separately, the words for services and people (weak), so
    // a greeting that names a service is not a page.
    s("report_zh", Alert, 2.5, &["挂了", "挂掉", "宕机", "故障", "报错", "错误", "出错", "超时", "无法", "不能用", "用不了", "异常", "崩溃", "闪退", "失败", "告警", "报警", "不可用", "磁盘满", "满了", "快满", "延迟", "卡住", "卡死", "卡顿", "打不开", "访问不了", "登录不了", "登不上", "进不去", "连不上", "收不到", "很慢", "太慢", "变慢", "特别慢", "非常慢", "好慢", "白屏", "积压", "堵塞", "无响应", "没响应", "没反应", "掉线", "丢失", "丢数据", "重复扣款", "扣款", "不正常", "出问题", "有问题", "飙升", "飙到", "爆了", "一直重启", "不通", "发不出", "没更新", "没有更新", "不更新"], &[]),
    s("report_es", Alert, 2.5, &["caído", "caida", "caída", "caido", "está caído", "esta caido", "no funciona", "no responde", "no carga", "no abre", "no llegan", "no llega", "no conecta", "no anda", "se cierra", "errores", "fallo*", "falla*", "lento", "lenta", "no puedo", "no podemos", "no pueden", "tiempo de espera", "se cayó", "se cayo", "disco lleno", "sin servicio", "sin respuesta", "roto", "colgado", "pantalla en blanco"], &[]),
    s("report_pt", Alert, 2.5, &["fora do ar", "caiu", "caindo", "não funciona", "nao funciona", "não carrega", "nao carrega", "não abre", "nao abre", "não responde", "nao responde", "não estão passando", "nao estao passando", "não passa", "nao passa", "lentidão", "lentidao", "lento", "lenta", "erro", "erros", "deu erro", "dando erro", "falha", "falhas", "falhando", "não consigo", "nao consigo", "não conseguem", "nao conseguem", "não consegue", "nao consegue", "indisponível", "indisponivel", "travado", "travada", "travou", "trava*", "quebrado", "quebrou", "acumulando", "instável", "instavel", "tela branca"], &[]),
    s("report_de", Alert, 2.5, &["ausgefallen", "ausfall", "funktioniert nicht", "geht nicht", "störung", "stoerung", "nicht erreichbar", "fehler*", "langsam", "kann mich nicht", "können sich nicht", "koennen sich nicht", "zeitüberschreitung", "festplatte voll", "abgestürzt", "abgestuerzt", "stürzt ab", "absturz", "kaputt", "lädt nicht", "laedt nicht", "schlagen fehl", "schlägt fehl", "fehlgeschlagen", "antwortet nicht", "nicht mehr", "hängt", "haengt", "hängen", "haengen", "läuft voll", "fast voll", "keine verbindung", "nicht verarbeitet", "wächst", "waechst"], &[]),
    s("report_ru", Alert, 2.5, &["упал*", "лежит", "легло", "лёг", "легла", "легли", "не работает", "не отвечает", "не проходят", "не проходит", "не грузится", "не загружается", "не открывается", "не приходят", "не приходит", "не могут", "отвалил*", "ошибк*", "ошибок", "недоступ*", "тормозит", "тормоза", "таймаут*", "висит", "завис*", "сломал*", "глючит", "не могу", "не можем", "сбой", "авария", "диск заполнен", "падает", "медленно", "500-ки", "502-ки", "пятисотки", "проблем*", "долго", "растёт", "растет", "не успевают"], &[]),
    s("report_ja", Alert, 2.5, &["障害", "落ちて", "落ちた", "ダウン", "エラー", "繋がらない", "つながらない", "繋がりません", "つながりません", "接続できない", "接続できません", "タイムアウト", "遅い", "重い", "遅延", "応答なし", "応答しません", "応答がない", "反応しない", "ログインできない", "ログインできません", "不具合", "停止", "できません", "できない", "見られません", "見られない", "見れない", "表示されない", "表示されません", "開けない", "開かない", "使えない", "動かない", "真っ白", "固まって", "固まる", "詰まって", "多発", "急増", "上限", "枯渇", "逼迫", "容量不足", "おかしい", "失敗", "届かない", "届きません", "二重", "通りません", "通らない"], &[]),
    s("context_intl", Context, 0.8, &["线上", "生产", "服务器", "用户", "下单", "支付", "订单", "数据库", "网站", "接口", "producción", "produccion", "clientes", "pagos", "servidor", "produção", "producao", "usuários", "usuarios", "pagamento*", "produktion", "kunden", "zahlung*", "datenbank", "прод", "проде", "проду", "продакшн", "продакшен", "клиенты", "пользователи", "сайт", "сервер", "платеж*", "оплат*", "касса", "本番", "ユーザー", "決済", "サイト", "サーバー", "データベース", "アラート"], &[]),
    // --- Chatter ----------------------------------------------------------------------
    short("greeting", Chatter, 2.0, 8, &["hi", "hello", "hey", "hey there", "hiya", "good morning", "morning", "good afternoon", "good evening", "good night", "gn", "gm", "yo", "howdy", "bye", "cya", "see you", "see ya", "ttyl", "hola", "buenas", "buenas tardes", "bonjour", "hallo", "moin", "servus", "guten morgen", "guten tag", "buenos días", "buenos dias", "bom dia", "boa tarde", "boa noite", "olá", "ola", "привет", "доброе утро", "добрый день", "你好", "大家好", "早上好", "下午好", "晚上好", "こんにちは", "こんばんは", "おはようございます", "おはよう"]),
    s("thanks", Chatter, 2.5, &["thanks", "thank you", "thank u", "thx", "ty", "tysm", "cheers", "appreciate it", "much appreciated", "many thanks", "kudos", "gracias", "obrigado", "obrigada", "valeu", "vlw", "danke", "dankeschön", "vielen dank", "merci", "grazie", "спасибо", "спс", "благодарю", "谢谢", "多谢", "感谢", "辛苦了", "ありがとう", "お疲れ様", "お疲れさま", "助かります", "🙏"], &[]),
    short("ack_only", Chatter, 2.0, 6, &["ok", "okay", "k", "kk", "ack", "acked", "on it", "got it", "roger", "roger that", "sounds good", "lgtm", "👍", "👌", "🙌", "👀", "💯", "👏", "😂", "🤣", "🙂", "😄", "+1", ":+1:", "noted", "will do", "sure", "sure thing", "yes", "yeah", "yep", "yup", "nope", "np", "no worries", "cool", "nice", "great", "awesome", "perfect", "agreed", "makes sense", "understood", "copy that", "looking", "checking", "lol", "lmao", "rofl", "haha", "hah", "heh", "hehe", "brb", "afk", "omw", "sorry", "my bad", "nvm", "never mind", "ignore me", "vale", "de acuerdo", "claro", "perfecto", "entendido", "beleza", "certo", "entendi", "combinado", "show de bola", "alles klar", "passt", "verstanden", "genau", "ок", "хорошо", "понял", "поняла", "ясно", "принято", "ладно", "好的", "收到", "嗯", "了解", "承知しました", "かしこまりました"]),
    s("bot_help", Chatter, 2.5, &["how do i", "how to use", "what can you do", "what commands", "which commands", "commands do you", "documentation", "how does this work", "are you there", "are you alive", "is the bot", "who are you", "what are you", "test bot", "testing the bot", "show me the usage", "the usage", "docs for", "this bot", "the bot"], &[]),
    short("bot_help_short", Chatter, 2.5, 4, &["help", "/help", "ping", "docs", "commands", "usage"]),
    s("success_news", Recovered, 2.0, &["deployed", "all green", "✅", "passed", "succeeded", "successfully", "was successful", "a success", "released", "shipped", "merged", "is done", "all done", "completed successfully", "finished successfully", "back to normal", "working again", "works again", "looks good", "looking good", "looks healthy", "healthy", "no errors", "zero errors", "without errors", "error free", "error-free", "no issues", "no problems", "went smoothly", "went fine", "went well", "went great", "is live", "rollout complete*", "upgrade complete*", "migration complete*", "deploy complete*", "deployment complete*", "🎉", "🚀", "is fixed", "are fixed", "fixed now", "renewed", "renewal done", "renewal complete*", "sin errores", "keine fehler", "без ошибок", "部署完成", "上线了", "上线成功", "一切正常", "没有报错", "没有错误", "无报错", "todo bien", "tudo ok", "tudo certo", "alles grün", "erfolgreich", "успешно", "問題なし", "完了しました", "エラーなし"], &[]),
    s("past_time", Chatter, 1.0, &["yesterday", "last week", "last night's", "last month"], &[]),
    s("resolved_followup", Recovered, 3.0, &["postmortem", "post-mortem", "post mortem", "retro", "retrospective", "rca", "was fixed", "has been fixed", "already fixed", "already resolved", "is resolved", "is resolved now", "was resolved", "has been resolved", "resolved by", "all fixed", "all good now", "resolved now", "false alarm", "false positive", "action items", "follow-up", "lessons learned", "已解决", "已经解决", "已修复", "resuelto", "solucionado", "resolvido", "behoben", "gelöst", "решено", "починили", "исправлено", "解決しました", "解決済み", "復旧しました"], &[]),
    // A person saying it recovered. Chatter, not an all-clear: "redis came back, but
    // now we see errors" still has a symptom, and a contrast.
    s("said_recovered", Recovered, 2.5, &["recovered", "is back up", "back up", "back online", "is back", "came back", "is up again", "up again", "all clear", "was down for", "minutes of downtime", "works now", "working now"], &[]),
    s("social", Chatter, 2.5, &["standup", "stand-up", "meeting", "lunch", "coffee", "happy hour", "birthday", "congrats", "congratulations", "welcome to", "welcome aboard", "welcome back", "please welcome", "weekend", "vacation", "holiday", "pto", "out of office", "ooo", "1:1", "calendar invite", "in the calendar", "on the calendar", "friendly reminder", "quick reminder", "just a reminder", "reminder:", "agenda", "demo day", "offsite", "team building", "pizza", "shoutout", "shout-out", "onboarding session", "all-hands", "town hall", "planning meeting", "sprint planning", "sprint", "roadmap", "okrs", "q1", "q2", "q3", "q4", "survey", "happy friday", "happy monday", "tgif", "new year", "quick sync", "quick call", "wochenende", "fin de semana", "fim de semana", "выходных", "выходные", "周末", "週末", "开会", "会议", "午饭", "reunión", "reunion", "reunião", "reuniao", "almoço", "almuerzo", "besprechung", "mittagessen", "созвон", "встреча", "митинг", "обед", "会議", "ミーティング", "ランチ", "打ち合わせ"], &[]),
    s("praise", Chatter, 2.5, &["killed it", "crushed it", "nailed it", "smashed it", "killer feature", "great job", "great work", "nice work", "good job", "well done", "awesome work", "good catch", "nice catch", "you rock", "great stuff", "nice one", "is the bomb"], &[]),
    s("planned_exercise", Chatter, 2.5, &["fire drill", "bug bash", "chaos day", "chaos engineering", "game day", "gameday", "tabletop", "failover drill", "failover test", "dr drill", "load test*", "stress test*"], &[]),
    s("dev_chatter", Chatter, 2.0, &["pr", "prs", "pull request", "code review", "review my", "refactor*", "cleanup", "clean up", "clean-up", "tech debt", "rebase", "typo", "readme", "unit test*", "changelog", "design doc", "rfc", "rewrite"], &[]),
    s("question_about_process", Chatter, 2.0, &["should we", "shall we", "could we", "we should", "can we add", "can we schedule", "can we move", "can we change", "what do you think", "any thoughts", "thoughts?", "thoughts on", "when is", "where is the doc*", "who owns", "does anyone know", "anyone know where", "where can i find", "how do we", "why do we", "what's the eta", "eta on", "let's discuss", "let's sync", "til", "who is on call", "who's on call", "we need better", "we need to improve"], &[]),
    // --- Contrast ------------------------------------------------------------------------
    // "Deployed ✅ but checkout 💥", "came back up, then died again": what follows
    // takes back the good news before it.
    s("contrast", Contrast, 0.0, &["but", "yet", "still", "again", "however", "though", "although", "except", "unfortunately", "? no", "no,", "nope", "not really", "not quite", "not for", "not yet", "not anymore", "pero", "sin embargo", "todavía", "todavia", "aún", "otra vez", "de nuevo", "porém", "porem", "ainda", "de novo", "novamente", "aber", "trotzdem", "immer noch", "noch immer", "wieder", "но", "однако", "всё ещё", "все еще", "опять", "снова", "但是", "可是", "不过", "仍然", "依然", "还是", "又", "けど", "でも", "しかし", "まだ", "再び", "mais", "encore"], &[]),
    // --- Harmless phrases around scary words --------------------------------------------
    // Each cancels only the alarming terms inside it ("error page copy" cancels
    // `error*`, not the "500" before it); the rest of the message still counts.
    s("harmless_phrase", Harmless, 0.0, &["critical path", "mission critical", "dead simple", "dead code", "dying to", "break a leg", "error handling", "exception handling", "error page copy", "error message copy", "error messages copy", "500 page", "500 error page", "404 page", "error budget", "no errors", "zero errors", "without errors", "error free", "error-free", "no failures", "no downtime", "zero downtime", "failure mode*", "point of failure", "failover drill", "failover test", "fire drill", "killer feature", "killed it", "on fire today", "the bomb", "down to earth", "down the road", "slow down", "slow day", "slow week", "sit down", "wind down", "down for lunch", "down for coffee", "i'm down", "im down", "hang on", "hang tight", "hang out", "hanging out", "add a timeout", "set a timeout", "a timeout to", "the timeout to", "timeout setting*", "timeout config*", "timeout value*", "timeout strategy", "increase the timeout", "lower the timeout", "outage from yesterday", "outage from last*", "yesterday's outage", "last week's outage", "last night's outage", "outage yesterday", "outage last*", "previous outage", "past outage*", "was down for", "minutes of downtime", "crash course", "load test*", "stress test*", "nothing broke", "nothing is broken", "nothing broken", "didn't break", "did not break", "nothing failed", "wrong channel", "wrong thread", "wrong chat", "wrong room", "wrong link", "wrong person", "sin errores", "keine fehler", "без ошибок", "без проблем"], &[]),
    // --- Notifications that need nobody --------------------------------------------------
    // A tool's all-clear: wins over the symptoms it repeats, never over a firing marker
    // (a group with one alert still firing is an alert).
    s("all_resolved", Cleared, 4.0, &["[resolved]", "**resolved**", "status resolved", "[recovered]", "from alarm to ok", "alarm -> ok", "alarm → ok", "state changed to ok", "monitor is up", "🟢 up", "[up]", "[🟢 up]", "[resolved:", "ok: \"", "alert closed:", "alert resolved:", "resolved:", "resolved #", "marked as resolved", "incident resolved", "incident closed", "entered the ok state", "\"newstatevalue\":\"ok\"", "\"newstatevalue\": \"ok\""], &[]),
    s("test_notification", Test, 4.0, &["test notification", "this is a test", "test alert", "testalert", "just a test", "just testing", "testing the integration", "testing 1 2 3", "test message", "[test]", "ignore this", "please ignore", "can be ignored", "test event", "sample alert", "dry run", "dry-run", "notification test"], &[]),
    // Always-firing alerts that prove the pipeline works. Only a heartbeat when it is
    // the only alert of the notification (see `heuristics`): "[FIRING:2] Watchdog,
    // HighErrorRate" is a page, and so is the kernel's "watchdog: BUG: soft lockup".
    s("heartbeat_alert", Heartbeat, 4.0, &["watchdog", "deadmansswitch", "deadmanswitch", "dead man's switch", "deadmanssnitch", "dead mans switch", "infoinhibitor", "testalert"], &[]),
];
