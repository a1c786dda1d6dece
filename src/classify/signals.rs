//! The tier-1 signals, as data: every rule the heuristics know, in one table.
//!
//! A signal fires when any of its `terms` (matched case-insensitively, on word
//! boundaries; a trailing `*` allows any ending, a leading `*` any beginning) or any
//! of its `patterns` (regexes) occurs in the message. Its `weight` adds to the score of its `lean`. Keep terms
//! lowercase. To teach the classifier something, add a row or a term here and a line
//! to `tests/data/classifier.jsonl`; nothing else changes.

/// Which way a signal pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lean {
    /// Something is wrong (human report or symptom).
    Alert,
    /// A monitoring tool says something is firing.
    Firing,
    /// A monitoring tool says something recovered.
    Cleared,
    /// A test notification or an always-firing heartbeat alert.
    Test,
    /// Small talk, thanks, acknowledgements, success news.
    Chatter,
}

pub struct Signal {
    /// Stable short name, shown to people as a reason.
    pub name: &'static str,
    pub lean: Lean,
    pub weight: f32,
    pub terms: &'static [&'static str],
    pub patterns: &'static [&'static str],
    /// Only counts in messages of at most this many words (0 = any length): "ok" is an
    /// acknowledgement on its own, not inside "ok so the db is down".
    pub max_words: usize,
}

const fn s(
    name: &'static str,
    lean: Lean,
    weight: f32,
    terms: &'static [&'static str],
    patterns: &'static [&'static str],
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
    // Firing markers: a tool says something is firing right now.
    s("alertmanager_firing", Firing, 3.0, &["[firing:", "[firing]", "status firing"], &[]),
    s("grafana_alerting", Firing, 3.0, &["**firing**", "state alerting", "[alerting]"], &[]),
    s("datadog_triggered", Firing, 3.0, &["[triggered]", "[warn]", "[warning]", "[no data]", "[alert]"], &[]),
    s("cloudwatch_alarm", Firing, 3.0, &["from ok to alarm", "to alarm", "in alarm state", "entered the alarm state", "alarm: \"", "alarm:\""], &[]),
    s("pagerduty_triggered", Firing, 3.0, &["[triggered]", "triggered #", "incident triggered"], &[]),
    s("opsgenie_created", Firing, 3.0, &["alert created"], &[]),
    s("sentry_issue", Firing, 3.0, &["new issue", "regression detected", "issue regressed"], &[]),
    s("newrelic_violation", Firing, 3.0, &["critical violation", "warning violation", "violation of policy", "incident opened"], &[]),
    // Machine formats: the shape of a monitoring notification, firing or not.
    s("alert_labels_block", Alert, 1.5, &["alertname", "labels:", "annotations:", "runbook_url", "generatorurl", "runbook:", "value: a=", "value: b=", "value: c=", "values: [", "var='"], &[]),
    s("monitoring_tool", Alert, 1.0, &["grafana alert", "pagerduty", "opsgenie", "sentry", "new relic", "newrelic", "datadog", "cloudwatch", "prometheus", "alertmanager", "pingdom", "uptimerobot", "betterstack", "statuspage"], &[]),
    s("dashboard_link", Alert, 0.5, &["dashboardurl", "panelurl", "/d/", "viewpanel="], &[]),
    s("priority_tag", Alert, 1.5, &["[p0]", "[p1]", "[p2]", "[p3]", "[sev0]", "[sev1]", "[sev2]", "[sev3]", "[critical]", "[high]"], &[]),
    s("uptime_down", Firing, 3.0, &["monitor is down", "is down", "went down", "down alert", "is not responding", "is unreachable", "check failed", "healthcheck failed", "health check failed", "site down", "🔴 down", "[down]", "down: http", "down - http"], &[]),
    s("kubernetes_event", Alert, 3.0, &["crashloopbackoff", "crashlooping", "oomkilled", "imagepullbackoff", "errimagepull", "notready", "not ready", "failedscheduling", "evicted", "back-off restarting", "backoff restarting", "kubepodcrashlooping", "kubenodenotready", "pod restarts", "restarting container"], &[]),
    s("certificate_expiry", Alert, 3.0, &["certificate expir*", "cert expir*", "x509", "ssl certificate", "tls certificate", "certificate has expired", "certificate is expiring", "expires in", "tls handshake"], &[]),
    s("severity_label", Firing, 1.5, &["severity critical", "severity page", "severity error", "severity warning", "severity high", "severity major", "severity p1", "severity p2"], &[]),
    // --- Human reports ----------------------------------------------------------------
    s("outage", Alert, 2.5, &["outage", "down", "is down", "not working", "doesn't work", "doesnt work", "isn't working", "isnt working", "stopped working", "broken", "unavailable", "unreachable", "not responding", "unresponsive", "offline", "dead", "degraded", "not loading", "won't load", "wont load", "blank page", "cannot connect", "can't connect", "cant connect", "can't reach", "cannot reach", "connection refused", "econnrefused", "econnreset", "no response", "not resolving", "went dark", "is red", "cluster red", "health red", "status red", "nobody can", "no one can", "can't place", "cannot place"], &[]),
    s("http_5xx", Alert, 2.5, &["5xx", "5xxs", "internal server error", "bad gateway", "service unavailable", "gateway timeout", "500", "501", "502", "503", "504", "505", "507", "508", "520", "521", "522", "523", "524", "529", "599", "500s", "502s", "503s", "504s"], &[]),
    s("http_4xx_spike", Alert, 1.0, &["403s", "401s", "404s", "429s", "401", "403", "too many requests", "forbidden", "rejecting", "rejected"], &[]),
    s("not_happening", Alert, 2.0, &["stopped", "hasn't run", "hasnt run", "didn't run", "did not run", "never arrive*", "not arriving", "not arrive", "no longer", "not sent", "not going out", "aren't going out", "are missing", "is missing", "not coming in", "not updating"], &[]),
    s("errors", Alert, 1.5, &["error*", "exception*", "fail", "fails", "failed", "failing", "failure", "failures", "crash*", "panic*", "fatal", "segfault", "segmentation fault", "deadlock*", "broken pipe", "stack overflow", "null pointer", "nullpointer"], &[]),
    s("error_rate", Alert, 1.5, &["error rate", "errors spiking", "error spike", "elevated errors", "increase in errors", "error budget", "burn rate"], &[]),
    s("timeout", Alert, 2.0, &["timing out", "timed out", "timeout*", "time out", "times out", "hanging", "hangs", "hang", "forever", "stuck", "frozen", "freezing"], &[]),
    s("latency", Alert, 1.5, &["latency", "slow", "slowness", "sluggish", "p99", "p95", "p90", "response time*", "taking forever", "takes forever", "very slow", "super slow", "laggy"], &[]),
    s("cannot_log_in", Alert, 2.5, &["can't log in", "cannot log in", "cant log in", "can't login", "cannot login", "cant login", "unable to log in", "unable to login", "login fail*", "log in fail*", "sign-in fail*", "signin fail*", "sso is broken", "auth is broken", "authentication fail*", "locked out"], &[]),
    s("disk_full", Alert, 2.5, &["disk full", "disk is full", "disk almost full", "no space left", "out of disk", "disk usage", "filesystem full", "filesystem is full", "inode*", "disk space", "volume full", "disk pressure"], &[]),
    s("memory", Alert, 2.0, &["out of memory", "oom", "memory leak", "memory usage", "memory pressure", "swapping", "heap space", "outofmemoryerror"], &[]),
    s("cpu", Alert, 2.0, &["high cpu", "cpu usage", "cpu at", "cpu is at", "cpu spike*", "load average", "cpu throttl*", "100% cpu", "pegged"], &[]),
    s("replication_lag", Alert, 2.5, &["replication lag", "replica lag", "replication is lagging", "replica is lagging", "lagging behind", "replication broken", "replica behind", "seconds behind master", "seconds_behind_master", "wal", "split brain", "failover"], &[]),
    s("queue_backlog", Alert, 2.0, &["backlog", "queue depth", "queue is growing", "queue growing", "consumer lag", "piling up", "dlq", "dead letter", "not being processed", "not processing", "stuck in the queue", "jobs stuck"], &[]),
    s("data_loss", Alert, 2.5, &["data loss", "lost data", "corrupt*", "missing data", "data is missing", "rows missing", "duplicate charges", "double charged", "charged twice"], &[]),
    s("security", Alert, 2.5, &["breach", "compromised", "ddos", "under attack", "leaked", "unauthorized access", "suspicious login*", "credential stuffing"], &[]),
    s("customer_impact", Alert, 1.5, &["customers", "customer", "users are", "users can't", "users cannot", "all users", "everyone", "for everyone", "support tickets", "tickets coming in", "complaints", "complaining", "revenue", "can't check out", "cannot check out", "can't pay", "cannot pay"], &[]),
    s("service_names", Alert, 0.8, &["checkout", "payments", "payment", "api", "database", "db", "postgres", "mysql", "redis", "kafka", "rabbitmq", "elasticsearch", "nginx", "load balancer", "cdn", "dns", "vpn", "gateway", "cluster", "node", "pods", "service"], &[]),
    s("production", Alert, 1.0, &["prod", "production", "prod-*", "live site", "in prod", "on prod", "customer-facing"], &[]),
    s("host_name", Alert, 1.0, &[], &[r"(?-u:\b)(?:[a-z]+(?:-[a-z0-9]+)*-[0-9]{1,3}|(?:[0-9]{1,3}\.){3}[0-9]{1,3})(?-u:\b)"]),
    s("stack_trace", Alert, 2.5, &["traceback (most recent call last)", "exception in thread", "goroutine", "stack trace", "stacktrace", "caused by", "*error:", "*exception:", "\tat ", "    at ", "\", line "], &[]),
    s("error_output", Alert, 2.0, &["exit code 1", "exit code 2", "exit code 126", "exit code 127", "exit code 137", "exit code 139", "exit status 1", "exit status 2", "exited with code", "psql error"], &[r"(?-u:\b)(?:ERROR|FATAL|CRITICAL|PANIC|SEVERE|ORA-[0-9]{5})(?-u:\b)"]),
    s("incident_word", Alert, 0.8, &["incident", "incidents"], &[]),
    s("urgency_words", Alert, 1.5, &["sev1", "sev2", "sev-1", "sev-2", "sev 1", "sev 2", "p0", "p1", "urgent", "emergency", "asap", "critical", "help!", "on fire", "firefight*", "mayday", "all hands"], &[]),
    s("investigate_request", Alert, 1.5, &["can you investigate", "please investigate", "investigate why", "look into", "can you check", "can someone check", "could you check", "take a look", "what's going on with", "whats going on with", "why is", "anyone else seeing", "is anyone seeing", "is it just me", "something is wrong", "something's wrong", "something wrong with"], &[]),
    s("spike", Alert, 1.5, &["spike*", "spiking", "surge", "jumped to", "dropped to", "drop in", "dropped by", "through the roof", "skyrocket*", "flatlined", "zero traffic", "no traffic", "traffic dropped"], &[]),
    s("rollback_needed", Alert, 1.0, &["roll back", "rollback", "revert", "hotfix", "bad deploy", "broke prod", "broke production"], &[]),
    // --- Other languages -------------------------------------------------------------
    s("report_zh", Alert, 2.5, &["挂了", "宕机", "故障", "报错", "错误", "超时", "无法", "不能用", "异常", "崩溃", "失败", "告警", "不可用", "磁盘满", "延迟", "卡住", "打不开", "访问不了", "登录不了", "登不上", "线上", "服务器", "用户", "下单"], &[]),
    s("report_es", Alert, 2.5, &["caído", "caida", "caída", "está caído", "esta caido", "no funciona", "no responde", "errores", "fallo*", "falla*", "lento", "lenta", "no puedo", "no podemos", "no pueden", "iniciar sesión", "tiempo de espera", "se cayó", "se cayo", "producción", "disco lleno", "sin servicio", "clientes"], &[]),
    s("report_pt", Alert, 2.5, &["fora do ar", "caiu", "não funciona", "nao funciona", "lentidão", "lentidao", "erro", "erros", "falha", "falhas", "falhando", "não consigo", "nao consigo", "indisponível", "indisponivel", "travado", "travou", "produção", "producao", "usuários", "usuarios"], &[]),
    s("report_de", Alert, 2.5, &["ausgefallen", "ausfall", "funktioniert nicht", "geht nicht", "störung", "stoerung", "nicht erreichbar", "fehler*", "langsam", "kann mich nicht", "zeitüberschreitung", "produktion", "kunden", "festplatte voll", "abgestürzt", "abgestuerzt"], &[]),
    s("report_ru", Alert, 2.5, &["упал*", "лежит", "не работает", "ошибк*", "ошибок", "недоступ*", "тормозит", "тормоза", "таймаут*", "не могу", "не можем", "прод", "сбой", "авария", "клиенты", "пользователи", "диск заполнен", "не открывается", "падает", "500-ки", "502-ки"], &[]),
    s("report_ja", Alert, 2.5, &["障害", "落ちて", "落ちた", "ダウン", "エラー", "繋がらない", "つながらない", "タイムアウト", "遅い", "重い", "応答なし", "応答しません", "ログインできない", "本番", "アラート", "不具合", "停止", "できません", "ユーザー"], &[]),
    // --- Chatter ----------------------------------------------------------------------
    short("greeting", Chatter, 2.0, 8, &["hi", "hello", "hey", "hey there", "good morning", "morning", "good evening", "gm", "yo", "howdy", "hola", "bonjour", "hallo", "guten morgen", "buenos días", "buenos dias", "bom dia", "olá", "ola", "привет", "доброе утро", "你好", "大家好", "早上好", "こんにちは", "おはようございます"]),
    s("thanks", Chatter, 2.5, &["thanks", "thank you", "thank u", "thx", "ty", "tysm", "cheers", "appreciate it", "much appreciated", "kudos", "gracias", "obrigado", "obrigada", "valeu", "danke", "vielen dank", "спасибо", "谢谢", "多谢", "感谢", "ありがとう", "merci", "🙏"], &[]),
    short("ack_only", Chatter, 2.0, 6, &["ok", "okay", "kk", "ack", "acked", "on it", "got it", "roger", "roger that", "sounds good", "lgtm", "👍", "+1", ":+1:", "noted", "will do", "sure", "np", "no worries", "cool", "nice", "great", "awesome", "perfect", "agreed", "makes sense", "understood", "copy that"]),
    s("bot_help", Chatter, 2.5, &["help", "how do i", "how to use", "what can you do", "what commands", "which commands", "commands do you", "docs", "documentation", "how does this work", "are you there", "are you alive", "who are you", "what are you", "test bot", "testing the bot", "ping"], &[]),
    s("success_news", Chatter, 2.5, &["deployed", "all green", "✅", "passed", "succeeded", "success*", "released", "shipped", "merged", "is done", "all done", "finished", "completed", "back to normal", "working again", "works again", "looks good", "looking good", "healthy", "no errors", "zero errors", "no issues", "went smoothly", "went fine", "is live", "rollout complete", "upgrade complete", "migration complete", "🎉", "🚀", "is fixed", "are fixed", "fixed now"], &[]),
    s("past_time", Chatter, 1.0, &["yesterday", "last week", "last night's", "last month"], &[]),
    s("resolved_followup", Chatter, 3.0, &["postmortem", "post-mortem", "post mortem", "retro", "retrospective", "rca", "was fixed", "has been fixed", "already fixed", "already resolved", "is resolved now", "all good now", "resolved now", "action items", "follow-up", "follow up on", "lessons learned"], &[]),
    s("social", Chatter, 2.5, &["standup", "stand-up", "meeting", "lunch", "coffee", "happy hour", "birthday", "congrats", "congratulations", "welcome", "weekend", "vacation", "holiday", "pto", "out of office", "ooo", "1:1", "calendar", "reminder", "agenda", "demo day", "offsite", "team building", "pizza", "kudos to", "shoutout", "shout-out", "onboarding", "all-hands", "town hall", "planning", "sprint", "roadmap", "okrs", "q3", "q4"], &[]),
    s("harmless_scary_words", Chatter, 5.0, &["killed it", "crushed it", "nailed it", "smashed it", "fire drill", "critical path", "dead simple", "dying to", "break a leg", "bug bash", "chaos day", "game day", "gameday", "tabletop", "error handling", "error page", "error message copy", "error messages copy", "failover drill", "failover test", "load test", "load testing", "stress test", "killer feature", "on fire today", "the bomb", "explode with", "down to earth", "down the road", "slow down", "sit down", "wind down", "down for lunch", "down for coffee"], &[]),
    s("question_about_process", Chatter, 2.0, &["should we", "shall we", "could we", "what do you think", "any thoughts", "thoughts?", "can we schedule", "when is", "where is the doc", "who owns"], &[]),
    // --- Notifications that need nobody --------------------------------------------------
    // A tool says it is over (weight ≥ 4: wins unless something still fires) …
    s("all_resolved", Cleared, 4.0, &["[resolved]", "**resolved**", "status resolved", "[recovered]", "from alarm to ok", "state changed to ok", "monitor is up", "🟢 up", "[up]", "problem resolved", "alert resolved", "resolved by", "alert closed", "auto-resolved", "has recovered", "[resolved:", "ok: \""], &[]),
    // … or a person says so (wins unless they also describe a live problem).
    s("said_recovered", Cleared, 2.0, &["recovered", "is up", "is back up", "back up", "back online", "is now up", "all clear", "is back", "came back"], &[]),
    s("test_notification", Test, 4.0, &["test notification", "this is a test", "test alert", "testalert", "just a test", "just testing", "testing the integration", "testing 1 2 3", "test message", "ignore this", "please ignore", "can be ignored", "test event", "sample alert", "dry run", "dry-run"], &[]),
    s("heartbeat_alert", Test, 4.0, &["watchdog", "deadmansswitch", "deadmanswitch", "dead man's switch", "deadmanssnitch", "dead mans switch", "heartbeat alert", "infoinhibitor"], &[]),
];
