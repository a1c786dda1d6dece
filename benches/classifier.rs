//! Tier-1 classifier throughput: `cargo bench --bench classifier`.
//!
//! Two workloads: typical chat messages of about 200 characters (the figure the
//! README quotes), and the whole labelled corpus (machine alerts up to ~1,500
//! characters, six languages). Criterion reports elements (messages) per second.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use warroom::classify::{Classifier, Context, BUILTIN_PROMPT};
use warroom::config::ClassifierConfig;

/// Messages of about 200 characters, alerts and chatter, as people write them.
const TYPICAL: &[&str] = &[
    "hey team, checkout is throwing 500s for everyone since the deploy at 02:10, error rate on the api is around 12% and customers are opening support tickets, can someone take a look asap?",
    "thanks a lot for jumping on this so quickly last night, the postmortem doc is in the incidents folder and the action items are in jira, let's go over them at the retro on thursday",
    "prod-db-01 disk is almost full again, /var/lib/postgresql at 96% and growing about 2% per hour, replication to the analytics replica is lagging by 40 minutes, please investigate",
    "deployed v2.31.4 to production, all green, canary looked healthy for thirty minutes and the error budget is untouched, rollout complete across all three regions, nice work everyone",
    "is anyone else seeing login timeouts on the admin dashboard? SSO redirects loop for me and a few customers reported they cannot log in since about 02:40 UTC, started after the cert rotation",
    "reminder: on-call handover meeting moved to 4pm today, agenda is in the calendar invite, bring your notes about the noisy disk alerts from last week so we can tune the thresholds together",
    "[FIRING:1] KubePodCrashLooping payments (payments-7d9f8c6b5-x2k4j prod) pod is in waiting state (reason CrashLoopBackOff), restarted 14 times in the last 10 minutes",
    "la API está caída desde las 2am y los clientes no pueden pagar, vemos errores 502 en producción y el balanceador marca dos de tres backends como no disponibles, ¿alguien puede revisar?",
];

fn classifier() -> Classifier {
    Classifier::new(&ClassifierConfig::default(), None, BUILTIN_PROMPT.to_string())
}

fn bench(c: &mut Criterion) {
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
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
