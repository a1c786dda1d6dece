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

use super::signals::{Lean, ALERT_NAME, NOTIFICATION_FIELDS, SIGNALS, STRONG};
use super::words::{is_cjk, is_word_char, Splitter, Term, WordIndex};
use super::{Class, Context, Reason, Tier, Verdict};

/// At most this many signals (they are tracked in a `u128`).
const MAX_SIGNALS: usize = 128;

/// The firing markers a heartbeat alert arrives with (Watchdog and DeadMansSwitch are
/// Prometheus conventions): a heartbeat under any other tool's marker is a page.
const HEARTBEAT_CARRIERS: &[&str] = &["alertmanager_firing", "grafana_alerting"];

/// The weight of a heartbeat's name ("watchdog") outside a Prometheus firing marker.
const UNCARRIED_HEARTBEAT: f32 = 1.0;

/// Anchor preference, rarest first: a raw term is checked where this character of it
/// occurs. Non-ASCII symbols (emoji) rank before all of these. The comma is last:
/// only a term with no other punctuation (`no,`) is anchored on it.
const ANCHOR_RANK: &str = "[*\"=#+@\t\n!?/%.:,";

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
    leans: [u128; Lean::COUNT],
    /// Firing markers that may carry a heartbeat.
    carriers: u128,
    /// Every emoji that is a chatter term on its own (👍 🙏 ✅ 🎉), sorted: a message
    /// of nothing but these (and punctuation) is chatter; any other emoji is not.
    chatter_emoji: Vec<char>,
    /// [`ALERT_NAME`], read only on the lines a tool's all-clear does not cover.
    alert_name: Regex,
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
    /// Symptoms. Any at all and chatter cannot win.
    alert: f32,
    /// The heaviest single symptom: [`STRONG`] or more is an alert on its own.
    strongest: f32,
    context: f32,
    firing: f32,
    cleared: f32,
    test: f32,
    /// A heartbeat's name under a firing marker that carries heartbeats.
    heartbeat: bool,
    /// Chatter, including the good news of [`Lean::Recovered`] unless a contrast
    /// took it back.
    chatter: f32,
    contrast: bool,
}

/// What the lines of a message with a tool's all-clear say besides it.
#[derive(Default)]
struct AllClear {
    /// A "but", "still", "yet" outside the alert's own fields.
    contrast: bool,
    /// A line that is not the all-clear, not one of its fields, and has a symptom
    /// of its own and no good news: [`STRONG`] or lighter.
    live_strong: bool,
    live_weak: bool,
}

impl Heuristics {
    pub fn new() -> Self {
        assert!(SIGNALS.len() <= MAX_SIGNALS, "the signal table outgrew its bitset");
        let mut words: Vec<Term> = Vec::new();
        let (mut cjk, mut cjk_signals): (Vec<Vec<u8>>, Vec<u128>) = (Vec::new(), Vec::new());
        let mut raw: Vec<RawTerm> = Vec::new();
        let (mut needles, mut regexes) = (Vec::new(), Vec::new());
        let mut leans = [0u128; Lean::COUNT];
        let mut chatter_emoji: Vec<char> = Vec::new();
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
            if matches!(signal.lean, Lean::Chatter | Lean::Recovered) {
                chatter_emoji.extend(signal.terms.iter().filter_map(|t| lone_emoji(t)));
            }
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
        let cancellable = SIGNALS
            .iter()
            .enumerate()
            .filter(|(_, s)| s.lean.alarming())
            .fold(0u128, |bits, (i, _)| bits | 1 << i);
        chatter_emoji.sort_unstable();
        chatter_emoji.dedup();
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
            chatter_emoji,
            alert_name: Regex::new(ALERT_NAME).expect("classifier patterns compile"),
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
        let alarming = self.alarming();
        for &(max_words, bits) in &self.short {
            if words > max_words || fired & alarming != 0 {
                fired &= !bits;
            }
        }
        (fired, words)
    }

    /// Symptoms, places and firing markers: what makes a message worth a look.
    fn alarming(&self) -> u128 {
        self.lean(Lean::Alert) | self.lean(Lean::Context) | self.lean(Lean::Firing)
    }

    fn tally(&self, fired: u128) -> Tally {
        let mut t = Tally { contrast: fired & self.lean(Lean::Contrast) != 0, ..Tally::default() };
        // A heartbeat's name counts as one only under a firing marker that carries
        // heartbeats; anywhere else "watchdog" is a kernel, systemd or hardware
        // watchdog at work: a light symptom (what it did, "rebooted", weighs more).
        let carried = fired & self.carriers != 0;
        let mut bits = fired;
        while bits != 0 {
            let signal = &SIGNALS[bits.trailing_zeros() as usize];
            bits &= bits - 1;
            match signal.lean {
                Lean::Alert => {
                    t.alert += signal.weight;
                    t.strongest = t.strongest.max(signal.weight);
                }
                Lean::Heartbeat if carried => t.heartbeat = true,
                Lean::Heartbeat => {
                    t.alert += UNCARRIED_HEARTBEAT;
                    t.strongest = t.strongest.max(UNCARRIED_HEARTBEAT);
                }
                Lean::Context => t.context += signal.weight,
                Lean::Firing => t.firing += signal.weight,
                Lean::Cleared => t.cleared += signal.weight,
                Lean::Test => t.test += signal.weight,
                Lean::Chatter => t.chatter += signal.weight,
                Lean::Recovered if !t.contrast => t.chatter += signal.weight,
                Lean::Recovered | Lean::Contrast | Lean::Harmless => {}
            }
        }
        t
    }

    /// Reads the lines of a message that has a tool's all-clear in it: the all-clear's
    /// own sentence and the alert's fields under it describe what cleared; any other
    /// line or sentence with a symptom and no good news ("Resolved: checkout latency.
    /// New: payments 5xx") is something still wrong.
    fn all_clear(&self, text: &str) -> AllClear {
        let mut out = AllClear::default();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if is_field_line(line) && self.fired(line).0 & self.lean(Lean::Cleared) == 0 {
                continue;
            }
            for sentence in sentences(line) {
                let (fired, _) = self.fired(sentence);
                out.contrast |= fired & self.lean(Lean::Contrast) != 0;
                if fired & (self.lean(Lean::Cleared) | self.lean(Lean::Recovered)) != 0 {
                    continue;
                }
                let t = self.tally(fired);
                out.live_strong |= t.strongest >= STRONG || self.alert_name.is_match(sentence);
                out.live_weak |= t.alert > 0.0;
            }
        }
        out
    }

    /// Whether a message with no words is only chatter emoji (👍, 🙏🙏, ✅) and
    /// punctuation; 🔥, 🔴 or an emoji the table does not know are not.
    fn only_chatter_emoji(&self, text: &str) -> bool {
        text.chars().all(|c| is_neutral_symbol(c) || self.chatter_emoji.binary_search(&c).is_ok())
    }

    /// Classifies `text` (mentions already stripped).
    ///
    /// In order: a heartbeat that is the only alert under its firing marker, with no
    /// symptom → chatter; a firing marker → alert; no words → chatter only for chatter
    /// emoji; a tool's all-clear → chatter unless a contrast or a line of its own says
    /// something is still wrong; test wording → chatter only without a symptom; then
    /// symptoms and places against chatter, where chatter wins only when no symptom
    /// fired at all; no signal → ambiguous (investigated).
    pub fn classify(&self, text: &str, ctx: &Context) -> Verdict {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return verdict(Class::Chatter, 0.95, vec!["bare_mention".into()]);
        }
        let (fired, words) = self.fired(trimmed);
        let t = self.tally(fired);
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
        let symptom = t.alert > 0.0;
        // Uncarried heartbeat names are symptoms (see `tally`).
        let alarming = self.alarming() | if t.heartbeat { 0 } else { self.lean(Lean::Heartbeat) };
        // The always-firing heartbeat, alone under its Prometheus firing marker, with
        // nothing wrong in it: the pipeline works, nobody needs to look.
        if t.heartbeat
            && !symptom
            && fired & self.lean(Lean::Firing) & !self.carriers == 0
            && is_single_alert(trimmed)
            && !self.alert_name.is_match(trimmed)
        {
            return verdict(Class::Chatter, 0.9, names(self.lean(Lean::Heartbeat)));
        }
        // A monitoring tool says something is firing: that is an alert, whatever its
        // text says about tests or ignoring it.
        if t.firing >= 2.5 {
            let confidence = (0.75 + (t.firing + t.alert) / 40.0).min(0.99);
            return verdict(Class::Alert, confidence, names(alarming));
        }
        if words == 0 && fired & alarming == 0 {
            if self.only_chatter_emoji(trimmed) {
                let mut reasons = names(self.lean(Lean::Chatter) | self.lean(Lean::Recovered));
                if reasons.is_empty() {
                    reasons.push("emoji_only".into());
                }
                return verdict(Class::Chatter, 0.95, reasons);
            }
            return verdict(Class::Ambiguous, 0.5, vec!["unknown_symbols".into()]);
        }
        // A tool's all-clear repeats the symptoms it clears. It is chatter when
        // nothing else is in the message; a "but …" or a line of its own with a
        // symptom ("[RESOLVED] HighLatency\ncustomers cannot pay") is still live.
        if t.cleared >= 4.0 {
            let lines = self.all_clear(trimmed);
            let reasons = || {
                let mut r = names(alarming | self.lean(Lean::Cleared) | self.lean(Lean::Contrast));
                r.push("not_all_clear".into());
                r
            };
            if lines.live_strong || (lines.contrast && t.strongest >= STRONG) {
                return verdict(Class::Alert, 0.8, reasons());
            }
            if lines.live_weak || lines.contrast {
                return verdict(Class::Ambiguous, 0.5, reasons());
            }
            return verdict(Class::Chatter, 0.9, names(self.lean(Lean::Cleared)));
        }
        // A test notification, unless something in it is wrong.
        if t.test > 0.0 && !symptom {
            return verdict(Class::Chatter, 0.85, names(self.lean(Lean::Test)));
        }
        let score = t.alert + t.context;
        // One clear symptom with nothing that speaks against it, or several that
        // outweigh what does. Places alone are not enough to call it an alert.
        if symptom && ((score >= 2.5 && score - t.chatter >= 1.0) || (score >= 2.0 && t.chatter == 0.0)) {
            let confidence = (0.55 + (score - t.chatter) / 12.0).min(0.97);
            return verdict(Class::Alert, confidence, names(alarming));
        }
        // Chatter decides only when no symptom fired at all (places may be outvoted),
        // and never for an integration posting in an alert channel (only its
        // all-clear, test and heartbeat markers above can gate those).
        let integration = ctx.alert_channel && ctx.from_bot_or_integration;
        if !symptom && t.chatter >= 2.0 && t.chatter - t.context >= 1.0 && !integration {
            let confidence = (0.55 + (t.chatter - t.context) / 12.0).min(0.95);
            return verdict(
                Class::Chatter,
                confidence,
                names(self.lean(Lean::Chatter) | self.lean(Lean::Recovered)),
            );
        }
        let voting = alarming | self.lean(Lean::Chatter) | self.lean(Lean::Recovered);
        if fired & voting == 0 && is_only_mentions(trimmed) {
            return verdict(Class::Chatter, 0.95, vec!["bare_mention".into()]);
        }
        if fired & voting == 0 {
            // Nothing known: a report we have no words for is worth a look.
            let mut reasons = names(self.lean(Lean::Harmless) | self.lean(Lean::Contrast));
            reasons.push("no_signal".into());
            return verdict(Class::Ambiguous, 0.5, reasons);
        }
        let mut reasons = names(voting | self.lean(Lean::Harmless) | self.lean(Lean::Contrast));
        // Both ways, or only too little of a symptom to call it an alert (🔥🔥🔥).
        let chatter = self.lean(Lean::Chatter) | self.lean(Lean::Recovered);
        reasons.push(if fired & chatter != 0 { "mixed_signals" } else { "weak_signals" }.into());
        verdict(Class::Ambiguous, 0.5, reasons)
    }
}

/// A line that is one of an alert's fields: a bullet (`*`, `-`, `•`) or a known
/// field name before `:` or `=` (`summary: …`, `*Description:* …`, `Value: A=41`).
fn is_field_line(line: &str) -> bool {
    let line = line.trim_start_matches(['*', '_', '`', '>', ' ']);
    if line.starts_with(['-', '•', '◦', '|']) {
        return true;
    }
    let Some(end) = line.find([':', '=']) else { return false };
    let key = line[..end].trim_matches(['*', '_', '`', ' ']).to_ascii_lowercase();
    NOTIFICATION_FIELDS.contains(&key.as_str())
}

/// The sentences of a line: split after `.`, `;`, `!`, `?` and `|` followed by a space
/// (so `5.2%` and `api.example.com` stay whole).
fn sentences(line: &str) -> impl Iterator<Item = &str> {
    let bytes = line.as_bytes();
    let mut start = 0;
    let mut cuts = (0..bytes.len()).filter(move |&i| {
        matches!(bytes[i], b'.' | b';' | b'!' | b'?' | b'|') && bytes.get(i + 1) == Some(&b' ')
    });
    std::iter::from_fn(move || {
        if start > line.len() {
            return None;
        }
        let end = cuts.next().map_or(line.len(), |i| i + 1);
        let sentence = &line[start..end];
        start = end + 1;
        Some(sentence)
    })
    .filter(|s| !s.trim().is_empty())
}

/// Characters that say nothing on their own in an emoji-only message: punctuation,
/// and the joiners and modifiers emoji are built from.
fn is_neutral_symbol(c: char) -> bool {
    c.is_whitespace()
        || c.is_ascii_punctuation()
        || matches!(c, '\u{FE0E}' | '\u{FE0F}' | '\u{200D}' | '\u{1F3FB}'..='\u{1F3FF}' | '\u{2010}'..='\u{2027}')
        || matches!(c, '。' | '、' | '！' | '？' | '，' | '～' | '¡' | '¿' | '«' | '»')
}

/// The emoji a term is made of, when it is one emoji and nothing else.
fn lone_emoji(term: &str) -> Option<char> {
    let mut chars = term.chars().filter(|c| !is_neutral_symbol(*c));
    let c = chars.next()?;
    (chars.next().is_none() && !c.is_ascii() && !c.is_alphanumeric()).then_some(c)
}

/// `@warroom`, `<@U0BOT>`, `<!here>`: a mention and nothing else (the router strips
/// mentions first; the CLI and the corpus do not).
fn is_only_mentions(text: &str) -> bool {
    text.split_whitespace().all(|token| {
        (token.starts_with("<@") || token.starts_with("<!")) && token.ends_with('>')
            || token.len() > 1 && token.starts_with('@')
    })
}

/// Whether a notification holds exactly one alert: at most one `[FIRING:n]`, saying
/// 1, and at most one `alertname` listed. Only asked about heartbeats, so the
/// lowercase copy is rare.
fn is_single_alert(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let mut markers = lower.match_indices("[firing:");
    if let Some((at, marker)) = markers.next() {
        let count: String = lower[at + marker.len()..].chars().take_while(char::is_ascii_digit).collect();
        if count != "1" || markers.next().is_some() {
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

    /// The pattern needles must fit the SIMD searcher: too many (or the wrong kind)
    /// and it silently falls back to a general automaton that costs every message
    /// about a third more (measured with `cargo bench --bench classifier -- tier1`).
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_needles_fit_the_simd_searcher() {
        if std::is_x86_feature_detected!("ssse3") {
            assert!(Heuristics::new().patterns.teddy.is_some());
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
            assert!(
                work.scanned <= token.len(),
                "{unit}: {} bytes scanned for {}",
                work.scanned,
                token.len()
            );
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
            // Round two: heartbeats that are not one, all-clears with a live problem,
            // test and chatter wording around a real symptom, good news taken back,
            // alarm emoji.
            "the watchdog keeps rebooting prod-db-01",
            "hardware watchdog rebooted the payments host twice tonight",
            "we haven't received the Watchdog heartbeat in 30 min",
            "watchdog reboots on db-2 every hour",
            "kernel watchdog fired on db-2, box rebooted",
            "the watchdog killed the payments service again",
            "systemd watchdog killing the checkout service",
            "[FIRING:1] Watchdog\nsummary: customers cannot pay",
            "monitor is up but checkout returns 500 for everyone",
            "[RESOLVED] HighErrorRate — but checkout is still failing for customers",
            "[Resolved] but it's still down for me",
            "Alertmanager says [RESOLVED] but users still can't log in",
            "state changed to OK, yet the api is still timing out",
            "🟢 Up: checkout, but payments are down",
            "[up] checkout; payments still broken",
            "[Recovered] checkout latency — but now login is broken",
            "[Recovered] checkout latency — payments still erroring",
            "[RESOLVED] checkout\n[ALARM] payments",
            "[RESOLVED] checkout latency\nInstanceDown payments-3 (prod)",
            "[RESOLVED] HighLatency\ncustomers cannot pay",
            "OK: \"api-latency\" back to normal\ndisk full on db-2",
            "please ignore my last message — traffic dropped to zero",
            "please ignore the noise, customers are complaining about checkout",
            "ignore this if you're busy, but customers can't pay",
            "sorry to ping on the weekend but customers can't pay",
            "happy friday! customers can't check out",
            "planning meeting moved, we have an incident",
            "thanks for the quick response, but customers are still complaining",
            "retro for last week is tomorrow; today customers are complaining again",
            "the PR broke checkout",
            "refactor broke the login page",
            "the refactor broke login",
            "the typo in nginx config broke the site",
            "our birthday email campaign sent duplicates to all customers",
            "migration completed successfully but orders table is empty",
            "healthy nodes: 0/5",
            "0/5 nodes healthy",
            "healthy: false",
            "backup completed successfully? no, it shows 0 bytes",
            "Deployed ✅ but checkout 💥",
            "✅ deploy\n❌ checkout",
            "false positive? customers can't pay",
            "api came back up, then died again",
            "said it recovered but the queue keeps growing",
            "Resolved yesterday, but the queue is backing up again",
            "RCA later; right now payments are declining",
            "postmortem for yesterday's outage, but today is worse: customers can't pay",
            "follow up on the disk: 99% now",
            "is resolved? not for customers",
            "🔥🔥🔥",
            "🔴🔴",
            "❌ ❌ ❌",
            "💥",
            "⚠️ 🔴 ‼️",
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
        let labelled =
            "[FIRING:1] Watchdog (monitoring)\nLabels:\n - alertname = Watchdog\n - severity = none";
        assert_eq!(class(labelled), Class::Chatter);
        // Without a Prometheus firing marker it is not the heartbeat.
        assert_ne!(class("Labels:\n - alertname = Watchdog\n - severity = none"), Class::Chatter);
        // Under its marker with a symptom in it, or next to another alert: a page.
        assert_eq!(class("[FIRING:1] Watchdog\nsummary: customers cannot pay"), Class::Alert);
        assert_eq!(class("[FIRING:1] Watchdog\n[FIRING:1] HighErrorRate"), Class::Alert);
        assert_eq!(class("[FIRING:1] Watchdog, KubeAPIDown"), Class::Alert);
        // Grouped with a real alert: by count, or by a second alertname.
        assert_eq!(class("[FIRING:2] Watchdog, HighErrorRate"), Class::Alert);
        let grouped =
            "[FIRING:1] (prod)\nLabels:\n - alertname = Watchdog\nLabels:\n - alertname = KubeAPIDown";
        assert_eq!(class(grouped), Class::Alert);
        // Under another tool's marker, "watchdog" is that tool's anomaly detector.
        assert_eq!(class("[Triggered] Watchdog: error rate up on checkout"), Class::Alert);
        assert_eq!(class("Datadog Watchdog detected elevated latency on checkout"), Class::Alert);
    }

    /// "watchdog" outside a firing marker is a kernel, systemd or hardware watchdog, and
    /// a heartbeat that stopped arriving means the alert pipeline itself is down.
    #[test]
    fn a_watchdog_at_work_and_a_missing_heartbeat_are_pages() {
        for text in [
            "the watchdog keeps rebooting prod-db-01",
            "systemd watchdog killing the checkout service",
            "we haven't received the Watchdog heartbeat in 30 min",
            "no heartbeat from DeadMansSwitch since 02:00",
        ] {
            assert_eq!(class(text), Class::Alert, "{text}");
        }
        // A bare mention of one is worth a look, not a page.
        assert_eq!(class("InfoInhibitor firing in monitoring namespace"), Class::Ambiguous);
    }

    #[test]
    fn a_tool_all_clear_hides_nothing_still_wrong() {
        // All clear, with the alert's own title and fields: nothing to do.
        for text in [
            "[RESOLVED] HighErrorRate api (prod)\n*Description:* 5xx ratio above 5% for 10m",
            "[Recovered] [P1] Checkout error rate above 5% on checkout-api",
            "**Resolved**\nValue: A=41.2\nLabels:\n - alertname = HighCPU",
            "[RESOLVED] HighLatency\nsummary: customers cannot pay",
            "Resolved: HighLatency on api-gateway",
        ] {
            assert_eq!(class(text), Class::Chatter, "{text}");
        }
        // A contrast, or a line of its own with a symptom: still live.
        for text in [
            "[RESOLVED] HighErrorRate — but checkout is still failing for customers",
            "state changed to OK, yet the api is still timing out",
            "[RESOLVED] HighLatency\ncustomers cannot pay",
            "OK: \"api-latency\" back to normal\ndisk full on db-2",
            "[RESOLVED] checkout latency\nInstanceDown payments-3 (prod)",
            "[RESOLVED] checkout\n[ALARM] payments",
        ] {
            assert_eq!(class(text), Class::Alert, "{text}");
        }
        // A contrast with no symptom: worth a look, not a page.
        assert_eq!(class("[RESOLVED] checkout, but keep an eye on it"), Class::Ambiguous);
    }

    #[test]
    fn chatter_wins_only_when_no_symptom_fired() {
        // Thanks, social, dev talk, postmortems and test wording around a symptom of
        // any weight: never chatter.
        for text in [
            "happy friday! customers can't check out",
            "the PR broke checkout",
            "please ignore the noise, customers are complaining about checkout",
            "false positive? customers can't pay",
            "RCA later; right now payments are declining",
            "thanks, but login feels weird",
        ] {
            assert_ne!(class(text), Class::Chatter, "{text}");
        }
        // Places and people alone may be outvoted.
        for text in
            ["thanks for fixing checkout!", "lunch with the payments team", "deployed to prod, all green"]
        {
            assert_eq!(class(text), Class::Chatter, "{text}");
        }
    }

    #[test]
    fn a_contrast_takes_back_good_news() {
        for text in [
            "migration completed successfully but orders table is empty",
            "api came back up, then died again",
            "Deployed ✅ but checkout 💥",
            "backup completed successfully? no, it shows 0 bytes",
        ] {
            assert_eq!(class(text), Class::Alert, "{text}");
        }
        assert_ne!(class("is resolved? not for customers"), Class::Chatter);
        assert_ne!(class("deployed, but I'm not sure about it"), Class::Chatter);
        // Without a contrast, good news is good news.
        assert_eq!(class("migration completed successfully"), Class::Chatter);
        assert_eq!(class("thanks again!"), Class::Chatter, "a contrast only takes back good news");
    }

    #[test]
    fn only_chatter_emoji_are_gated() {
        for text in ["👍", "🙏🙏", "✅", "🎉🎉", "👍🏽", "…", "!!"] {
            assert_eq!(class(text), Class::Chatter, "{text}");
        }
        for text in ["🔥🔥🔥", "🔴🔴", "❌ ❌ ❌", "💥", "⚠️ 🔴 ‼️", "🚨", "👍 🔥"]
        {
            assert_ne!(class(text), Class::Chatter, "{text}");
        }
        // An emoji the table does not know is not known chatter.
        assert_eq!(classify("🦖").reasons, vec!["unknown_symbols"]);
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
            "sorry to ping on the weekend but customers can't pay",
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
