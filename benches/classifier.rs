//! Tier-1 classifier throughput: `cargo bench --bench classifier`.
//!
//! Two workloads, each reported in messages (criterion "elements") per second:
//!
//! - `tier1/typical_200_chars`: the figure the README quotes and the issue sets a
//!   goal for (1,000,000 per second on one core). Ten chat messages of 180 to 220
//!   characters as people and integrations write them: reports, thanks, success
//!   news, a question, an Alertmanager notification, one in Spanish and one in
//!   German. The lengths are checked below, so the group keeps measuring what its
//!   name says.
//! - `tier1/labelled_corpus`: every message of `tests/data/classifier.jsonl` (one
//!   word to ~1,500 characters, seven languages).
//! - `tier1/long_token_1mb` and `tier1/minified_json_100kb`, in bytes per second: one
//!   whitespace-free token of 1 MB full of pattern needles (`a-1a-1…`), and a
//!   minified JSON webhook body. They guard against a scan that grows with the
//!   square of a token's length (it once took 31 s on 160 KB in a debug build).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use warroom::classify::{Classifier, Context, BUILTIN_PROMPT};
use warroom::config::ClassifierConfig;

/// Chat messages of about 200 characters, alerts and chatter.
const TYPICAL: &[&str] = &[
    "hey team, checkout is throwing 500s for everyone since the deploy at 02:10, the error rate on the api is around 12% and customers are opening support tickets, can someone take a look asap please?",
    "thanks a lot for jumping on this so quickly last night, the postmortem doc is in the incidents folder and the action items are in jira, let's go over them together at the retro on thursday afternoon",
    "prod-db-01 disk is almost full again, /var/lib/postgresql is at 96% and growing about 2% per hour, replication to the analytics replica is lagging by 40 minutes, could someone please investigate this",
    "deployed v2.31.4 to production, all green, the canary looked healthy for thirty minutes and the error budget is untouched, rollout complete across all three regions, nice work everyone, thank you!!",
    "is anyone else seeing login timeouts on the admin dashboard? SSO redirects loop for me and a few customers reported they cannot log in since about 02:40 UTC, it started right after the cert rotation",
    "reminder: the on-call handover meeting moved to 4pm today, the agenda is in the calendar invite, bring your notes about the noisy disk alerts from last week so we can tune the thresholds together",
    "[FIRING:1] KubePodCrashLooping payments (payments-7d9f8c6b5-x2k4j prod)\nPod payments/payments-7d9f8c6b5-x2k4j is in waiting state (reason: CrashLoopBackOff), restarted 14 times in 10 minutes",
    "la API está caída desde las 2am y los clientes no pueden pagar, vemos errores 502 en producción y el balanceador marca dos de tres backends como no disponibles, ¿alguien puede revisarlo ya?",
    "Guten Morgen zusammen, kurze Info: das Release von gestern Abend ist durch, alle Checks sind grün und die Fehlerrate ist unverändert niedrig. Danke an alle fürs Testen und schönes Wochenende euch!",
    "quick question for whoever owns the billing service: should we move the nightly invoice job to 3am so it stops overlapping with the backups? no rush, it's not urgent, just something for the roadmap",
];

fn classifier() -> Classifier {
    Classifier::new(&ClassifierConfig::default(), None, BUILTIN_PROMPT.to_string())
}

fn bench(c: &mut Criterion) {
    for text in TYPICAL {
        let chars = text.chars().count();
        assert!(
            (180..=220).contains(&chars),
            "a typical message is about 200 characters, not {chars}: {text}"
        );
    }
    let classifier = classifier();
    let ctx = Context::default();
    let mut group = c.benchmark_group("tier1");

    group.throughput(Throughput::Elements(TYPICAL.len() as u64));
    group.bench_function("typical_200_chars", |b| {
        b.iter(|| {
            for text in TYPICAL {
                black_box(classifier.heuristic(black_box(text), &ctx));
            }
        })
    });

    let corpus: Vec<String> = include_str!("../tests/data/classifier.jsonl")
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect();
    group.throughput(Throughput::Elements(corpus.len() as u64));
    group.bench_function("labelled_corpus", |b| {
        b.iter(|| {
            for text in &corpus {
                black_box(classifier.heuristic(black_box(text), &ctx));
            }
        })
    });

    // Pathological and large inputs: a few samples are plenty.
    group.sample_size(20);
    let token = "a-1".repeat((1 << 20) / 3);
    group.throughput(Throughput::Bytes(token.len() as u64));
    group.bench_function("long_token_1mb", |b| {
        b.iter(|| black_box(classifier.heuristic(black_box(&token), &ctx)))
    });
    let rows: Vec<String> = (0..800)
        .map(|i| {
            format!(
                r#"{{"id":"evt-{i}","host":"prod-web-{}","ip":"10.0.{}.{}","level":"info","msg":"GET /api/v1/orders/{i} 200","latency_ms":{}.{}}}"#,
                i % 40,
                i % 255,
                (i * 7) % 255,
                i % 900,
                i % 10
            )
        })
        .collect();
    let json = format!("[{}]", rows.join(","));
    group.throughput(Throughput::Bytes(json.len() as u64));
    group.bench_function("minified_json_100kb", |b| {
        b.iter(|| black_box(classifier.heuristic(black_box(&json), &ctx)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
