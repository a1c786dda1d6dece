//! Tier 1: the signal table compiled once, then a small, fixed scoring rule.
//!
//! Matching is built for well under a microsecond per chat message (callgrind and
//! `cargo bench --bench classifier` measure it): nothing scans the message byte by
//! byte more than once.
//!
//! - **words**: most terms are words and phrases; [`super::words`] splits the message
//!   into lowercase words in one pass and looks each up once in a hash table.
//! - **raw**: terms whose punctuation is the point (`[triggered]`, `labels:`,
//!   `**firing**`, emoji) are checked only where their rarest punctuation character
//!   (the *anchor*) occurs; the split notes those places on its way.
//! - **cjk**: Chinese and Japanese terms (no spaces between words) go through a small
//!   Aho-Corasick automaton, only for messages that contain such letters.
//! - **patterns**: the few regexes run only on the token around one of their needles,
//!   found with a SIMD multi-substring search.

use std::cell::RefCell;

use aho_corasick::{packed, AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;

use super::signals::{Lean, SIGNALS, STRONG};
use super::words::{is_cjk, is_word_char, Splitter, Term, WordIndex};
use super::{Class, Context, Reason, Tier, Verdict};

/// At most this many signals (they are tracked in a `u128`).
const MAX_SIGNALS: usize = 128;

/// The firing markers a heartbeat alert arrives with (Watchdog and DeadMansSwitch are
/// Prometheus conventions): a heartbeat under any other tool's marker is a page.
const HEARTBEAT_CARRIERS: &[&str] = &["alertmanager_firing", "grafana_alerting"];

/// Anchor preference, rarest first: a raw term is checked where this character of it
/// occurs. Non-ASCII symbols (emoji) rank before all of these.
const ANCHOR_RANK: &str = "[*\"=#+@\t\n!?/.:";

/// A raw term and how it must sit in the text.
struct RawTerm {
    /// Lowercase bytes.
    text: Box<[u8]>,
    /// Where the anchor character starts inside `text`.
    offset: usize,
    /// The signals this term belongs to (a term may serve several).
    signals: u128,
    /// Require a non-word character (or the text's edge) before the match.
    start_boundary: bool,
    /// Require one after it (off for `term*` prefixes).
    end_boundary: bool,
}

/// Which side of the anchor the indexed neighbour byte is on.
#[derive(Clone, Copy)]
enum Side {
    /// The term is the anchor character alone.
    Alone = 0,
    /// The anchor is not the first character: the byte before it.
    Before = 1,
    /// The anchor starts the term: the byte after it.
    After = 2,
}

/// Raw terms by (anchor character, side, neighbour byte): at an anchor in the text,
/// three probes find the few terms worth comparing.
struct RawIndex {
    terms: Vec<RawTerm>,
    /// Open addressing: (key, first candidate, count) into `candidates`; key 0 = empty.
    slots: Vec<(u64, u32, u32)>,
    mask: usize,
    candidates: Vec<u32>,
    /// ASCII bytes that anchor some term.
    special: [bool; 128],
}

fn raw_key(anchor: char, side: Side, neighbour: u8) -> u64 {
    // +1: never 0, which marks an empty slot.
    ((anchor as u64) << 16 | (side as u64) << 8 | neighbour.to_ascii_lowercase() as u64) + 1
}

fn raw_slot(key: u64, mask: usize) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as usize & mask
}

impl RawIndex {
    fn new(terms: Vec<RawTerm>) -> Self {
        let mut keyed: Vec<(u64, u32)> = Vec::new();
        let mut special = [false; 128];
        for (n, term) in terms.iter().enumerate() {
            let text = std::str::from_utf8(&term.text).unwrap_or_default();
            let anchor = text[term.offset..].chars().next().unwrap_or(' ');
            if anchor.is_ascii() {
                special[anchor as usize] = true;
            }
            let end = term.offset + anchor.len_utf8();
            let key = if term.offset > 0 {
                raw_key(anchor, Side::Before, term.text[term.offset - 1])
            } else if end < term.text.len() {
                raw_key(anchor, Side::After, term.text[end])
            } else {
                raw_key(anchor, Side::Alone, 0)
            };
            keyed.push((key, n as u32));
        }
        keyed.sort_unstable();
        let size = (keyed.len() * 2).next_power_of_two().max(16);
        let mut index =
            RawIndex { terms, slots: vec![(0, 0, 0); size], mask: size - 1, candidates: Vec::new(), special };
        let mut i = 0;
        while i < keyed.len() {
            let key = keyed[i].0;
            let first = index.candidates.len() as u32;
            while i < keyed.len() && keyed[i].0 == key {
                index.candidates.push(keyed[i].1);
                i += 1;
            }
            let mut slot = raw_slot(key, index.mask);
            while index.slots[slot].0 != 0 {
                slot = (slot + 1) & index.mask;
            }
            index.slots[slot] = (key, first, index.candidates.len() as u32 - first);
        }
        index
    }

    fn candidates(&self, key: u64) -> &[u32] {
        let mut slot = raw_slot(key, self.mask);
        loop {
            let (k, first, count) = self.slots[slot];
            if k == 0 {
                return &[];
            }
            if k == key {
                return &self.candidates[first as usize..(first + count) as usize];
            }
            slot = (slot + 1) & self.mask;
        }
    }

    /// The signals of the raw terms that occur in `text`, given its anchors.
    fn matches(&self, text: &str, anchors: &[u32]) -> u128 {
        let bytes = text.as_bytes();
        let mut fired = 0;
        for &at in anchors {
            let at = at as usize;
            let anchor = text[at..].chars().next().unwrap_or(' ');
            let end = at + anchor.len_utf8();
            let mut probe = |key: u64| {
                for &n in self.candidates(key) {
                    let term = &self.terms[n as usize];
                    let Some(start) = at.checked_sub(term.offset) else { continue };
                    let Some(found) = bytes.get(start..start + term.text.len()) else { continue };
                    if !found.eq_ignore_ascii_case(&term.text) {
                        continue;
                    }
                    if term.start_boundary && text[..start].chars().next_back().is_some_and(is_word_char) {
                        continue;
                    }
                    let after = start + term.text.len();
                    if term.end_boundary
                        && text.get(after..).and_then(|t| t.chars().next()).is_some_and(is_word_char)
                    {
                        continue;
                    }
                    fired |= term.signals;
                }
            };
            probe(raw_key(anchor, Side::Alone, 0));
            if at > 0 {
                probe(raw_key(anchor, Side::Before, bytes[at - 1]));
            }
            if end < bytes.len() {
                probe(raw_key(anchor, Side::After, bytes[end]));
            }
        }
        fired
    }
}

/// The signal patterns behind one needle search.
struct Patterns {
    /// Finds the needles; `None` on CPUs without the SIMD it needs (then `fallback`).
    teddy: Option<packed::Searcher>,
    fallback: AhoCorasick,
    /// (regex, signal index).
    regexes: Vec<(Regex, usize)>,
}

/// How much work one needle search did: the structural bound on its cost, which a
/// test checks on pathological input (a 1 MB token full of needles).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct PatternWork {
    /// Bytes read while finding the edges of tokens around needles.
    scanned: usize,
    /// Tokens the regexes ran on.
    tokens: usize,
}

impl Patterns {
    /// The signals whose regex matches a token around a needle (skipping those in
    /// `fired` already). Every regex not yet matched runs on such a token, so a needle
    /// hidden by an overlapping one is still covered.
    fn matches(&self, text: &str, fired: u128) -> u128 {
        self.matches_counted(text, fired).0
    }

    /// [`Self::matches`], and the work it took. Linear in the text: a needle inside the
    /// token the previous needle was found in is skipped before any scan (a minified
    /// JSON line is one token with thousands of needles), so each byte is read at
    /// most twice to find token edges and each token is matched once.
    fn matches_counted(&self, text: &str, fired: u128) -> (u128, PatternWork) {
        let bytes = text.as_bytes();
        let mut out = 0u128;
        let mut work = PatternWork::default();
        // End of the last token looked at: needles before it lie inside it.
        let mut token_end = 0usize;
        let mut check = |start: usize, end: usize| {
            if start < token_end {
                return;
            }
            // Back to the token's start: never past `token_end`, where a separator is.
            let from = bytes[token_end..start]
                .iter()
                .rposition(u8::is_ascii_whitespace)
                .map_or(token_end, |i| token_end + i + 1);
            let to = bytes[end..].iter().position(u8::is_ascii_whitespace).map_or(bytes.len(), |i| end + i);
            work.scanned += (start - from) + (to - end);
            work.tokens += 1;
            token_end = to;
            for (regex, signal) in &self.regexes {
                let bit = 1u128 << signal;
                if (fired | out) & bit == 0 && regex.is_match(&text[from..to]) {
                    out |= bit;
                }
            }
        };
        match &self.teddy {
            Some(teddy) => teddy.find_iter(bytes).for_each(|m| check(m.start(), m.end())),
            None => self.fallback.find_iter(bytes).for_each(|m| check(m.start(), m.end())),
        }
        (out, work)
    }
}

pub struct Heuristics {
    words: WordIndex,
    cjk: AhoCorasick,
    cjk_signals: Vec<u128>,
    raw: RawIndex,
    patterns: Patterns,
    /// (max words, signals that only count in messages that short).
    short: Vec<(usize, u128)>,
    /// The signals of each lean, indexed by `lean as usize`.
    leans: [u128; 7],
    /// Firing markers that may carry a heartbeat.
    carriers: u128,
}

/// Punctuation that carries meaning in a term (so the term is matched raw).
fn is_raw_term(term: &str) -> bool {
    term.chars().any(|c| is_anchor(c) || matches!(c, ']'))
}

/// Characters a raw term can be anchored on.
fn is_anchor(c: char) -> bool {
    ANCHOR_RANK.contains(c) || (!c.is_ascii() && !c.is_alphanumeric() && !c.is_whitespace())
}

/// The byte offset of the character a raw term is anchored on: its rarest one.
fn anchor_of(term: &str) -> Option<usize> {
    let rank = |c: char| if c.is_ascii() { ANCHOR_RANK.find(c).map(|r| r + 1) } else { Some(0) };
    term.char_indices().filter(|(_, c)| is_anchor(*c)).min_by_key(|(_, c)| rank(*c)).map(|(at, _)| at)
}

thread_local! {
    /// Reused buffers, so matching a message does not allocate.
    static SPLITTER: RefCell<Splitter> = RefCell::new(Splitter::default());
}

/// The scores of one message, per lean.
#[derive(Default)]
struct Tally {
    alert: f32,
    /// The heaviest single alert signal: [`STRONG`] or more and chatter cannot win.
    strongest: f32,
    firing: f32,
    cleared: f32,
    test: f32,
    heartbeat: bool,
    chatter: f32,
}

impl Heuristics {
    pub fn new() -> Self {
        assert!(SIGNALS.len() <= MAX_SIGNALS, "the signal table outgrew its bitset");
        let mut words: Vec<Term> = Vec::new();
        let (mut cjk, mut cjk_signals): (Vec<Vec<u8>>, Vec<u128>) = (Vec::new(), Vec::new());
        let mut raw: Vec<RawTerm> = Vec::new();
        let (mut needles, mut regexes) = (Vec::new(), Vec::new());
        let mut leans = [0u128; 7];
        let mut short: Vec<(usize, u128)> = Vec::new();
        let mut carriers = 0;
        for (i, signal) in SIGNALS.iter().enumerate() {
            let bit = 1u128 << i;
            leans[signal.lean as usize] |= bit;
            if signal.max_words > 0 {
                match short.iter_mut().find(|(n, _)| *n == signal.max_words) {
                    Some((_, bits)) => *bits |= bit,
                    None => short.push((signal.max_words, bit)),
                }
            }
            if HEARTBEAT_CARRIERS.contains(&signal.name) {
                carriers |= bit;
            }
            let harmless = signal.lean == Lean::Harmless;
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
                    assert!(!harmless, "harmless phrases are words: {term}");
                    // The table is code: a raw term without an anchor is a bug the
                    // tests catch on the first run.
                    let offset =
                        anchor_of(text).unwrap_or_else(|| panic!("a raw term needs punctuation: {term}"));
                    match raw.iter_mut().find(|r| *r.text == *text.as_bytes()) {
                        Some(same) => same.signals |= bit,
                        None => raw.push(RawTerm {
                            text: text.as_bytes().into(),
                            offset,
                            signals: bit,
                            start_boundary: !any_start && text.chars().next().is_some_and(is_word_char),
                            end_boundary: !any_end && text.chars().last().is_some_and(is_word_char),
                        }),
                    }
                } else if text.chars().any(is_cjk) {
                    assert!(!harmless, "harmless phrases are words: {term}");
                    match cjk.iter().position(|p| *p == text.as_bytes()) {
                        Some(at) => cjk_signals[at] |= bit,
                        None => {
                            cjk.push(text.as_bytes().to_vec());
                            cjk_signals.push(bit);
                        }
                    }
                } else {
                    words.push(Term { text: term, bits: bit, harmless });
                }
            }
            for pattern in signal.patterns {
                needles.extend(pattern.needles.iter().map(|n| n.as_bytes()));
                regexes.push((Regex::new(pattern.regex).expect("classifier patterns compile"), i));
            }
        }
        let teddy = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(&needles)
            .build();
        let cancellable = leans[Lean::Alert as usize] | leans[Lean::Firing as usize];
        Self {
            words: WordIndex::new(&words, cancellable),
            // ASCII case folding only: CJK terms have no other cased letters (a test
            // checks), so the message is never lowercased as a whole.
            cjk: AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(&cjk)
                .expect("classifier terms compile"),
            cjk_signals,
            raw: RawIndex::new(raw),
            patterns: Patterns {
                teddy,
                fallback: AhoCorasick::new(&needles).expect("classifier needles compile"),
                regexes,
            },
            short,
            leans,
            carriers,
        }
    }

    fn lean(&self, lean: Lean) -> u128 {
        self.leans[lean as usize]
    }

    /// Which signals fire in `text` (a bitset over `SIGNALS`), and how many words it has.
    fn fired(&self, text: &str) -> (u128, usize) {
        let (mut fired, seen) = SPLITTER.with(|splitter| {
            let splitter = &mut *splitter.borrow_mut();
            let seen = splitter.split(text, &self.raw.special);
            let fired = self.words.matches(splitter.buf(), splitter.words())
                | self.raw.matches(text, splitter.anchors());
            (fired, seen)
        });
        let words = seen.word_count();
        if seen.cjk_chars > 0 {
            for m in self.cjk.find_iter(text) {
                fired |= self.cjk_signals[m.pattern().as_usize()];
            }
        }
        fired |= self.patterns.matches(text, fired);
        // Signals that only mean something in short messages that say nothing else:
        // "hi" is small talk, "hi, the VPN is not letting anyone in" is not, even
        // when the only word we know in it is "VPN".
        let alarming = self.lean(Lean::Alert) | self.lean(Lean::Firing);
        for &(max_words, bits) in &self.short {
            if words > max_words || fired & alarming != 0 {
                fired &= !bits;
            }
        }
        (fired, words)
    }

    fn tally(fired: u128) -> Tally {
        let mut t = Tally::default();
        let mut bits = fired;
        while bits != 0 {
            let signal = &SIGNALS[bits.trailing_zeros() as usize];
            bits &= bits - 1;
            match signal.lean {
                Lean::Alert => {
                    t.alert += signal.weight;
                    t.strongest = t.strongest.max(signal.weight);
                }
                Lean::Firing => t.firing += signal.weight,
                Lean::Cleared => t.cleared += signal.weight,
                Lean::Test => t.test += signal.weight,
                Lean::Heartbeat => t.heartbeat = true,
                Lean::Chatter => t.chatter += signal.weight,
                Lean::Harmless => {}
            }
        }
        t
    }

    /// Classifies `text` (mentions already stripped).
    ///
    /// In order: a heartbeat that is the only alert → chatter; a firing marker →
    /// alert; a tool's all-clear → chatter; test wording without a strong symptom →
    /// chatter; then symptoms against chatter, where chatter never wins over a strong
    /// symptom; no signal at all → ambiguous (investigated).
    pub fn classify(&self, text: &str, ctx: &Context) -> Verdict {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return verdict(Class::Chatter, 0.95, vec!["bare_mention".into()]);
        }
        let (fired, words) = self.fired(trimmed);
        let t = Self::tally(fired);
        // The names of the fired signals in `mask`.
        let names = |mask: u128| -> Vec<Reason> {
            let mut out = Vec::with_capacity((fired & mask).count_ones() as usize + 1);
            let mut bits = fired & mask;
            while bits != 0 {
                out.push(Reason::Borrowed(SIGNALS[bits.trailing_zeros() as usize].name));
                bits &= bits - 1;
            }
            out
        };
        let alarming = self.lean(Lean::Alert) | self.lean(Lean::Firing);
        if words == 0 && t.alert == 0.0 && t.firing == 0.0 {
            let mut reasons = names(self.lean(Lean::Chatter));
            if reasons.is_empty() {
                reasons.push("emoji_only".into());
            }
            return verdict(Class::Chatter, 0.95, reasons);
        }
        // The always-firing heartbeat, alone in its notification, with nothing else
        // wrong: the pipeline works, nobody needs to look.
        if t.heartbeat
            && t.strongest < STRONG
            && fired & self.lean(Lean::Firing) & !self.carriers == 0
            && is_single_alert(trimmed)
        {
            return verdict(Class::Chatter, 0.9, names(self.lean(Lean::Heartbeat)));
        }
        // A monitoring tool says something is firing: that is an alert, whatever its
        // text says about tests or ignoring it.
        if t.firing >= 2.5 {
            let confidence = (0.75 + (t.firing + t.alert) / 40.0).min(0.99);
            return verdict(Class::Alert, confidence, names(alarming));
        }
        // A tool's all-clear repeats the symptoms it clears; nothing is still firing.
        if t.cleared >= 4.0 {
            return verdict(Class::Chatter, 0.9, names(self.lean(Lean::Cleared)));
        }
        // A test notification, unless someone describes a real problem in it.
        if t.test > 0.0 && t.strongest < STRONG {
            return verdict(Class::Chatter, 0.85, names(self.lean(Lean::Test)));
        }
        let score = t.alert;
        // One clear symptom with nothing that speaks against it, or several that
        // outweigh what does.
        if (score >= 2.5 && score - t.chatter >= 1.0) || (score >= 2.0 && t.chatter == 0.0) {
            let confidence = (0.55 + (score - t.chatter) / 12.0).min(0.97);
            return verdict(Class::Alert, confidence, names(alarming));
        }
        // Chatter words decide only when no strong symptom is in the message, and never
        // for an integration posting in an alert channel (only its all-clear, test and
        // heartbeat markers above can gate those).
        let integration = ctx.alert_channel && ctx.from_bot_or_integration;
        if t.chatter >= 2.0 && t.chatter - score >= 1.0 && t.strongest < STRONG && !integration {
            let confidence = (0.55 + (t.chatter - score) / 12.0).min(0.95);
            return verdict(Class::Chatter, confidence, names(self.lean(Lean::Chatter)));
        }
        let voting = alarming | self.lean(Lean::Chatter);
        if fired & voting == 0 && is_only_mentions(trimmed) {
            return verdict(Class::Chatter, 0.95, vec!["bare_mention".into()]);
        }
        if fired & voting == 0 {
            // Nothing known: a report we have no words for is worth a look.
            let mut reasons = names(self.lean(Lean::Harmless));
            reasons.push("no_signal".into());
            return verdict(Class::Ambiguous, 0.5, reasons);
        }
        let mut mixed = names(voting | self.lean(Lean::Harmless));
        mixed.push("mixed_signals".into());
        verdict(Class::Ambiguous, 0.5, mixed)
    }
}

/// `@warroom`, `<@U0BOT>`, `<!here>`: a mention and nothing else (the router strips
/// mentions first; the CLI and the corpus do not).
fn is_only_mentions(text: &str) -> bool {
    text.split_whitespace().all(|token| {
        (token.starts_with("<@") || token.starts_with("<!")) && token.ends_with('>')
            || token.len() > 1 && token.starts_with('@')
    })
}

/// Whether a notification holds exactly one alert: `[FIRING:n]` says 1 (or is
/// absent) and at most one `alertname` is listed. Only asked about heartbeats, so the
/// lowercase copy is rare.
fn is_single_alert(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if let Some(at) = lower.find("[firing:") {
        let count: String = lower[at + "[firing:".len()..].chars().take_while(char::is_ascii_digit).collect();
        if count != "1" {
            return false;
        }
    }
    lower.matches("alertname").count() <= 1
}

impl Default for Heuristics {
    fn default() -> Self {
        Self::new()
    }
}

fn verdict(class: Class, confidence: f32, reasons: Vec<Reason>) -> Verdict {
    Verdict { class, confidence, reasons, tier: Tier::Heuristic, usage: None, llm_reason: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(text: &str) -> Verdict {
        thread_local!(static H: Heuristics = Heuristics::new());
        H.with(|h| h.classify(text, &Context::default()))
    }

    fn class(text: &str) -> Class {
        classify(text).class
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
                // Raw and CJK terms are matched with ASCII case folding only.
                let bare = term.trim_end_matches('*');
                if term.starts_with('*') || is_raw_term(bare) || bare.chars().any(is_cjk) {
                    assert!(
                        !term.chars().any(|c| !c.is_ascii() && (c.is_lowercase() || c.is_uppercase())),
                        "raw and CJK terms have no non-ASCII cased letters: {term}"
                    );
                }
            }
        }
        for name in HEARTBEAT_CARRIERS {
            assert!(SIGNALS.iter().any(|s| s.name == *name && s.lean == Lean::Firing), "{name}");
        }
    }

    #[test]
    fn raw_terms_match_at_their_anchor_with_boundaries() {
        let h = Heuristics::new();
        let fires = |text: &str, name: &str| {
            let i = SIGNALS.iter().position(|s| s.name == name).unwrap();
            h.fired(text).0 & (1 << i) != 0
        };
        assert!(fires("<b>[FIRING:3]</b> NodeDown", "alertmanager_firing"));
        assert!(fires("Labels:\n - alertname = X", "alert_labels_block"));
        assert!(!fires("sublabels: x", "alert_labels_block"), "a word boundary before `labels:`");
        assert!(fires("psql: error: connection failed", "stack_trace"), "any-start `*error:`");
        assert!(fires("ZeroDivisionError: division by zero", "stack_trace"));
        assert!(fires("[🔴 Down] Checkout", "uptime_down"));
        assert!(fires("🟢 Up: checkout", "all_resolved"));
        assert!(!fires("🟢 Uptime report", "all_resolved"), "a word boundary after `🟢 up`");
        assert!(fires("state: OK → ALARM", "cloudwatch_alarm"));
        assert!(fires("+1", "ack_only") && fires("great :+1:", "ack_only"));
        assert!(fires("at 02:10 the 1:1 moved", "social"));
        assert!(fires("prod-db-01 is slow", "host_name") && fires("10.0.3.21 unreachable", "host_name"));
        assert!(!fires("v2.31.4 shipped", "host_name") && !fires("on-call rota", "host_name"));
        assert!(fires("FATAL: too many clients", "error_output") && !fires("fatal mistake", "error_output"));
    }

    /// A minified JSON or log line in a webhook is one long token full of needles
    /// (`-1`, `.0`, `Error`). Finding the tokens around them must stay linear: the
    /// bound is checked on the work done, not on a clock.
    #[test]
    fn the_needle_search_is_linear_on_long_tokens() {
        let h = Heuristics::new();
        let mb = 1 << 20;
        for unit in ["a-1", "x.1", "TypeError", "ERROR-1.2", "🔴-1"] {
            let token = unit.repeat(mb / unit.len());
            let (_, work) = h.patterns.matches_counted(&token, 0);
            assert_eq!(work.tokens, 1, "{unit}: one token, matched once");
            assert!(work.scanned <= token.len(), "{unit}: {} bytes scanned for {}", work.scanned, token.len());
            // And the whole of tier 1 gets through it (a quadratic scan took 31 s on
            // 160 KB of this; the benchmark `tier1/long_token_1mb` measures it).
            let _ = h.classify(&token, &Context::default());
        }
        // Many short tokens: each is found once, and nothing is read twice.
        let text = "a-1 ".repeat(mb / 4);
        let (_, work) = h.patterns.matches_counted(&text, 0);
        assert_eq!(work.tokens, mb / 4);
        assert!(work.scanned <= text.len(), "{} bytes scanned for {}", work.scanned, text.len());
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
        assert!(fires("Traceback: ZeroDivisionError: division by zero", "stack_trace"));
        assert!(!fires("help", "urgency_words"), "`help!` is not `help`");
        assert!(
            !fires("好的，收到，我现在就去看看，十分钟后回复大家", "ack_only"),
            "CJK letters count as words"
        );
    }

    #[test]
    fn examples_from_the_issue() {
        assert_eq!(class("thanks!"), Class::Chatter);
        assert_eq!(class("checkout is throwing 500s for everyone"), Class::Alert);
        assert_eq!(classify("").reasons, vec!["bare_mention"]);
        assert_eq!(classify("…").reasons, vec!["emoji_only"]);
        assert_eq!(classify("🙏🙏").reasons, vec!["thanks"]);
        let v = classify("checkout is throwing 500s for everyone");
        assert!(v.reasons.iter().any(|r| r == "http_5xx"), "{v:?}");
    }

    /// Messages an audit found dropped (classified chatter): each must now be
    /// investigated. Other phrasings live in the corpus and the held-out probes.
    #[test]
    fn audit_probes_are_never_dropped() {
        for text in [
            "[FIRING:2] Watchdog, HighErrorRate (checkout critical)",
            "[FIRING:1] HighMemory (prod api-7)\nsummary: Memory above 90%\ndescription: Can be ignored during the nightly batch window",
            "[FIRING:1] NodeClockSkewDetected (dry run of new rule)",
            "kernel: watchdog: BUG: soft lockup - CPU#2 stuck for 23s! [kworker/2:1:123]",
            "ignore this, site is down",
            "Customers are getting the error page on checkout",
            "prod is on fire today",
            "things slow down every hour, p99 is 5s",
            "backup completed with errors",
            "payment success rate is below 90%",
            "calendar sync is failing",
            "redis came back, but now we see errors",
            "订单服务响应很慢",
            "磁盘快满了",
            "登录页面白屏",
            "消息队列积压严重",
            "サイトが見られません",
            "касса не отвечает",
            "платежи не проходят",
            "всё легло",
            "Login kaputt",
            "Seite lädt nicht",
            "Zahlungen schlagen fehl",
            "site unusable",
            "pages are blank",
            "emails bouncing",
            "search returns nothing",
            "pod keeps restarting",
            "duplicate orders",
        ] {
            let v = classify(text);
            assert!(v.investigate(), "dropped a page: {text:?} → {}", v.summary());
        }
    }

    #[test]
    fn audit_chatter_is_gated() {
        for text in [
            "dead code cleanup today",
            "we should add a timeout to the http client",
            "can we add the error budget to the dashboard?",
        ] {
            let v = classify(text);
            assert_eq!(v.class, Class::Chatter, "{text:?} → {}", v.summary());
        }
    }

    #[test]
    fn a_heartbeat_is_chatter_only_when_it_is_the_only_alert() {
        assert_eq!(classify("[FIRING:1] Watchdog").reasons, vec!["heartbeat_alert"]);
        assert_eq!(class("[FIRING:1] DeadMansSwitch (prometheus)"), Class::Chatter);
        assert_eq!(class("Labels:\n - alertname = Watchdog\n - severity = none"), Class::Chatter);
        // Grouped with a real alert: by count, or by a second alertname.
        assert_eq!(class("[FIRING:2] Watchdog, HighErrorRate"), Class::Alert);
        let grouped =
            "[FIRING:1] (prod)\nLabels:\n - alertname = Watchdog\nLabels:\n - alertname = KubeAPIDown";
        assert_eq!(class(grouped), Class::Alert);
        // Under another tool's marker, "watchdog" is that tool's anomaly detector.
        assert_eq!(class("[Triggered] Watchdog: error rate up on checkout"), Class::Alert);
        assert_eq!(class("Datadog Watchdog detected elevated latency on checkout"), Class::Alert);
    }

    #[test]
    fn test_wording_never_beats_a_firing_marker_or_a_symptom() {
        assert_eq!(class("This is a test notification from Grafana"), Class::Chatter);
        assert_eq!(class("just testing the integration, please ignore"), Class::Chatter);
        assert_eq!(
            class("[FIRING:1] HighErrorRate checkout\ndescription: this is a test, please ignore"),
            Class::Alert
        );
        assert_ne!(
            class("checkout is down for everyone (this is a test of the new bot, please ignore)"),
            Class::Chatter
        );
    }

    #[test]
    fn a_group_with_one_alert_firing_is_an_alert() {
        assert_eq!(class("[RESOLVED:2] InstanceDown (prod)"), Class::Chatter);
        let mixed = "[FIRING:1] InstanceDown (prod)\n*Alerts Firing:*\n - instance = api-3\n*Alerts Resolved:*\n - instance = api-1";
        assert_eq!(class(mixed), Class::Alert);
        let grafana = "**Firing**\nValue: A=95\nLabels:\n - alertname = DiskFull\n\n**Resolved**\nValue: A=20\nLabels:\n - alertname = CPUHigh";
        assert_eq!(class(grafana), Class::Alert);
    }

    #[test]
    fn a_greeting_or_an_ack_gates_only_a_message_that_says_nothing_else() {
        assert_eq!(class("hi team"), Class::Chatter);
        assert_eq!(class("good morning everyone"), Class::Chatter);
        assert_eq!(class("ok thanks"), Class::Chatter);
        assert_ne!(class("hi, the VPN is not letting anyone in"), Class::Chatter);
        assert_ne!(class("ok, checkout looks weird"), Class::Chatter);
    }

    #[test]
    fn chatter_never_outvotes_a_strong_symptom() {
        // Each has plenty of chatter words and one real symptom.
        for text in [
            "thanks, but it's still down",
            "good morning! checkout is timing out",
            "welcome emails stopped going out",
            "the retro meeting tool is broken, nobody can join",
        ] {
            assert_ne!(class(text), Class::Chatter, "{text}");
        }
    }

    #[test]
    fn an_integration_in_an_alert_channel_is_not_gated_on_chatter_words() {
        let h = Heuristics::new();
        let integration = Context { alert_channel: true, from_bot_or_integration: true };
        let text = "Deployment pipeline: thanks, all done";
        assert_eq!(h.classify(text, &Context::default()).class, Class::Chatter);
        assert_eq!(h.classify(text, &integration).class, Class::Ambiguous);
        assert_eq!(h.classify("[RESOLVED] HighErrorRate", &integration).class, Class::Chatter);
    }
}
