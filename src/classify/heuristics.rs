//! Tier 1: the signal table compiled once, then a small, fixed scoring rule.
//!
//! Matching is built for about a microsecond per chat message:
//!
//! - **words**: most terms are words and phrases; [`super::words`] splits the message
//!   into lowercase words in one pass and looks each up once in a hash table.
//! - **cjk**: Chinese and Japanese terms (no spaces between words) go through a small
//!   Aho-Corasick automaton, only for messages that are not plain ASCII.
//! - **raw**: terms whose punctuation is the point (`[triggered]`, `alertname:`,
//!   `**firing**`, emoji) are matched on the message as written.
//! - **patterns**: the two structural regexes (host names and IPs, upper-case log
//!   levels), with ASCII word boundaries so the lazy DFA never falls back.

use std::cell::RefCell;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;

use super::signals::{Lean, SIGNALS};
use super::words::{self, is_word_char, Word, WordIndex};
use super::{Class, Context, Tier, Verdict};

/// At most this many signals (they are tracked in a `u128`).
const MAX_SIGNALS: usize = 128;

/// A raw term and how it must sit in the text.
#[derive(Clone, Copy)]
struct RawTerm {
    /// The signals this term belongs to (a term may serve several).
    signals: u128,
    /// Require a non-word character (or the text's edge) before the match.
    start_boundary: bool,
    /// Require one after it (off for `term*` prefixes).
    end_boundary: bool,
}

pub struct Heuristics {
    words: WordIndex,
    cjk: AhoCorasick,
    cjk_signals: Vec<u128>,
    raw: AhoCorasick,
    raw_terms: Vec<RawTerm>,
    patterns: Vec<(Regex, u8)>,
}

fn is_cjk(c: char) -> bool {
    c.is_alphanumeric() && (c as u32) >= 0x2E80
}

/// Punctuation that carries meaning in a term (so the term is matched raw).
fn is_raw_term(term: &str) -> bool {
    term.chars().any(|c| {
        matches!(c, '[' | ']' | ':' | '*' | '+' | '#' | '=' | '/' | '@' | '.' | '"' | '\t')
            || (!c.is_ascii() && !c.is_alphanumeric())
    }) || term.starts_with(' ')
}

/// Reused buffers, so matching a message does not allocate.
struct Scratch {
    buf: Vec<u8>,
    words: Vec<Word>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch { buf: Vec::with_capacity(1024), words: Vec::with_capacity(256) });
}

impl Heuristics {
    pub fn new() -> Self {
        assert!(SIGNALS.len() <= MAX_SIGNALS, "the signal table outgrew its bitset");
        // A term listed by several signals is one pattern with several signal bits:
        // leftmost-longest matching reports one pattern per position.
        fn add(patterns: &mut Vec<Vec<u8>>, signals: &mut Vec<u128>, pattern: Vec<u8>, bit: u128) -> usize {
            match patterns.iter().position(|p| *p == pattern) {
                Some(i) => {
                    signals[i] |= bit;
                    i
                }
                None => {
                    patterns.push(pattern);
                    signals.push(bit);
                    patterns.len() - 1
                }
            }
        }
        let mut words: Vec<(&str, u128)> = Vec::new();
        let (mut cjk, mut cjk_signals) = (Vec::new(), Vec::new());
        let (mut raw, mut raw_signals, mut raw_terms): (Vec<Vec<u8>>, Vec<u128>, Vec<RawTerm>) =
            (Vec::new(), Vec::new(), Vec::new());
        let mut patterns = Vec::new();
        for (i, signal) in SIGNALS.iter().enumerate() {
            let bit = 1u128 << i;
            for term in signal.terms {
                let (text, any_start) = match term.strip_prefix('*') {
                    Some(t) => (t, true),
                    None => (*term, false),
                };
                let (text, any_end) = match text.strip_suffix('*') {
                    Some(t) if !t.is_empty() => (t, true),
                    _ => (text, false),
                };
                if any_start || is_raw_term(text) {
                    let first = text.chars().next().unwrap_or(' ');
                    let last = text.chars().last().unwrap_or(' ');
                    let term = RawTerm {
                        signals: bit,
                        start_boundary: !any_start && is_word_char(first),
                        end_boundary: !any_end && is_word_char(last),
                    };
                    let at = add(&mut raw, &mut raw_signals, text.to_lowercase().into_bytes(), bit);
                    if at == raw_terms.len() {
                        raw_terms.push(term);
                    }
                    raw_terms[at].signals = raw_signals[at];
                } else if text.chars().any(is_cjk) {
                    add(&mut cjk, &mut cjk_signals, text.to_lowercase().into_bytes(), bit);
                } else {
                    words.push((term, bit));
                }
            }
            for pattern in signal.patterns {
                // The table is code: a pattern that does not compile is a bug the tests
                // catch on the first run, so failing loudly here is right.
                patterns.push((Regex::new(pattern).expect("classifier patterns compile"), i as u8));
            }
        }
        let build = |terms: &[Vec<u8>]| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(terms)
                .expect("classifier terms compile")
        };
        Self {
            words: WordIndex::new(&words),
            cjk: build(&cjk),
            cjk_signals,
            raw: build(&raw),
            raw_terms,
            patterns,
        }
    }

    /// Which signals fire in `text` (a bitset over `SIGNALS`), and how many words it has.
    fn fired(&self, text: &str) -> (u128, usize) {
        let (mut fired, words, ascii) = SCRATCH.with(|scratch| {
            let scratch = &mut *scratch.borrow_mut();
            let ascii = words::split(text, &mut scratch.buf, &mut scratch.words);
            (self.words.matches(&scratch.buf, &scratch.words), scratch.words.len(), ascii)
        });
        // Raw terms: the automata fold ASCII case; other text is lowercased first.
        let lowered;
        let haystack = if ascii {
            text
        } else {
            lowered = text.to_lowercase();
            for m in self.cjk.find_iter(lowered.as_str()) {
                fired |= self.cjk_signals[m.pattern().as_usize()];
            }
            &lowered
        };
        for m in self.raw.find_iter(haystack) {
            let term = self.raw_terms[m.pattern().as_usize()];
            if term.start_boundary && haystack[..m.start()].chars().next_back().is_some_and(is_word_char) {
                continue;
            }
            if term.end_boundary && haystack[m.end()..].chars().next().is_some_and(is_word_char) {
                continue;
            }
            fired |= term.signals;
        }
        for (pattern, signal) in &self.patterns {
            let bit = 1u128 << signal;
            if fired & bit == 0 && pattern.is_match(text) {
                fired |= bit;
            }
        }
        // Signals that only mean something in short messages.
        for (i, signal) in SIGNALS.iter().enumerate() {
            if signal.max_words > 0 && words > signal.max_words {
                fired &= !(1u128 << i);
            }
        }
        (fired, words)
    }

    /// Classifies `text` (mentions already stripped).
    pub fn classify(&self, text: &str, ctx: &Context) -> Verdict {
        let trimmed = text.trim();
        if !trimmed.chars().any(char::is_alphanumeric) {
            let reason = if trimmed.is_empty() { "bare_mention" } else { "emoji_only" };
            return verdict(Class::Chatter, 0.95, vec![reason.to_string()]);
        }
        let (fired, words) = self.fired(trimmed);
        let (mut alert, mut firing, mut cleared, mut test, mut chatter) =
            (0.0f32, 0.0f32, 0.0f32, 0.0f32, 0.0f32);
        let mut bits = fired;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let signal = &SIGNALS[i];
            match signal.lean {
                Lean::Alert => alert += signal.weight,
                Lean::Firing => firing += signal.weight,
                Lean::Cleared => cleared += signal.weight,
                Lean::Test => test += signal.weight,
                Lean::Chatter => chatter += signal.weight,
            }
        }
        // The names of the fired signals that lean the way of the decision.
        let names = |lean: &dyn Fn(Lean) -> bool| -> Vec<String> {
            let mut out = Vec::with_capacity(fired.count_ones() as usize);
            let mut bits = fired;
            while bits != 0 {
                let signal = &SIGNALS[bits.trailing_zeros() as usize];
                bits &= bits - 1;
                if lean(signal.lean) {
                    out.push(signal.name.to_string());
                }
            }
            out
        };
        // Notifications that need nobody: tests and heartbeats, unless a person adds
        // real symptoms; all-clear messages with nothing still firing.
        if test > 0.0 && alert < 3.0 {
            return verdict(Class::Chatter, 0.9, names(&|l| l == Lean::Test));
        }
        let is_firing = firing >= 2.5;
        if !is_firing && (cleared >= 4.0 || (cleared > 0.0 && alert < 3.0)) {
            return verdict(Class::Chatter, 0.9, names(&|l| l == Lean::Cleared));
        }
        // A monitoring tool says something is firing: that is an alert.
        if is_firing {
            let confidence = (0.75 + (firing + alert) / 40.0).min(0.99);
            return verdict(Class::Alert, confidence, names(&|l| matches!(l, Lean::Firing | Lean::Alert)));
        }
        let score = alert + firing;
        // One clear symptom with nothing that speaks against it, or several that
        // outweigh what does.
        if (score >= 2.5 && score - chatter >= 1.0) || (score >= 2.0 && chatter == 0.0) {
            let confidence = (0.55 + (score - chatter) / 12.0).min(0.97);
            return verdict(Class::Alert, confidence, names(&|l| matches!(l, Lean::Firing | Lean::Alert)));
        }
        if chatter >= 2.0 && chatter - score >= 1.0 {
            let confidence = (0.55 + (chatter - score) / 12.0).min(0.95);
            return verdict(Class::Chatter, confidence, names(&|l| l == Lean::Chatter));
        }
        if fired == 0 {
            // Nothing known. A few words addressed to the bot are small talk; a longer
            // message may be a report we have no words for — and an integration's
            // message in an alert channel always deserves a look.
            if words <= 3 && !(ctx.alert_channel && ctx.from_bot_or_integration) {
                return verdict(Class::Chatter, 0.6, vec!["short_no_signal".into()]);
            }
            return verdict(Class::Ambiguous, 0.5, vec!["no_signal".into()]);
        }
        let mut mixed = names(&|_| true);
        mixed.push("mixed_signals".into());
        verdict(Class::Ambiguous, 0.5, mixed)
    }
}

impl Default for Heuristics {
    fn default() -> Self {
        Self::new()
    }
}

fn verdict(class: Class, confidence: f32, reasons: Vec<String>) -> Verdict {
    Verdict { class, confidence, reasons, tier: Tier::Heuristic, usage: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(text: &str) -> Verdict {
        Heuristics::new().classify(text, &Context::default())
    }

    #[test]
    fn the_table_compiles_and_names_are_unique() {
        let _ = Heuristics::new();
        let mut names: Vec<&str> = SIGNALS.iter().map(|s| s.name).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "signal names must be unique");
        for signal in SIGNALS {
            for term in signal.terms {
                assert_eq!(*term, term.to_lowercase(), "terms are lowercase: {term}");
            }
        }
    }

    #[test]
    fn words_need_boundaries_but_cjk_does_not() {
        let h = Heuristics::new();
        let fires = |text: &str, name: &str| {
            let i = SIGNALS.iter().position(|s| s.name == name).unwrap();
            h.fired(text).0 & (1 << i) != 0
        };
        assert!(fires("the api is down", "outage"));
        assert!(!fires("downloading the report", "outage"));
        assert!(fires("Checkout is NOT working!", "outage"), "phrases, case and punctuation");
        assert!(fires("errors everywhere", "errors"), "prefix terms");
        assert!(fires("login failures since 2am", "cannot_log_in"), "phrases ending in a prefix");
        assert!(!fires("ok so it looks like checkout is broken", "ack_only"), "short-only signals");
        assert!(fires("支付服务挂了", "report_zh"));
        assert!(fires("Прод Не Работает", "report_ru"), "non-ASCII text is lowercased");
        assert!(fires("[Triggered] disk", "datadog_triggered"));
        assert!(fires("👍", "ack_only"));
    }

    #[test]
    fn examples_from_the_issue() {
        assert_eq!(classify("thanks!").class, Class::Chatter);
        assert_eq!(classify("checkout is throwing 500s for everyone").class, Class::Alert);
        assert_eq!(classify("").reasons, vec!["bare_mention"]);
        assert_eq!(classify("🙏🙏").reasons, vec!["emoji_only"]);
        let v = classify("checkout is throwing 500s for everyone");
        assert!(v.reasons.contains(&"http_5xx".to_string()), "{v:?}");
    }
}
