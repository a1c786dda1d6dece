//! The word matcher behind tier 1: splits a message into lowercase words in one pass,
//! hashes each word once, and looks every word up once in a small open-addressing
//! table of the signal table's word terms. Word boundaries come for free (`ok` cannot
//! match inside `broken`), and the cost is one hash probe per word instead of one
//! automaton step per byte.
//!
//! Four kinds of terms live here:
//! - single words (`outage`): the word's entry carries the signals' bits;
//! - phrases (`is down`, `can't log in`): the first word's entry lists them; the next
//!   words are compared when the first one is seen;
//! - prefixes (`error*`, `упал*`): kept by their first four bytes and checked against
//!   the words that pass a two-byte filter;
//! - harmless phrases (`error page copy`, `slow down`): they vote for nothing, but the
//!   alarming terms that lie entirely inside one of them do not fire.

/// Word characters: letters and digits of alphabetic scripts, and `_`. Chinese and
/// Japanese have no spaces between words and are matched elsewhere.
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && (c as u32) < 0x2E80 || c == '_'
}

/// Chinese, Japanese (and other East Asian) letters: no spaces between words.
pub fn is_cjk(c: char) -> bool {
    c.is_alphanumeric() && (c as u32) >= 0x2E80
}

const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// ASCII byte → its lowercase if it belongs to a word, else 0.
const LOWER_WORD: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || c == b'_' {
            table[b] = c.to_ascii_lowercase();
        }
        b += 1;
    }
    table
};

/// Bytes read past a word's end when hashing it eight bytes at a time.
const PAD: usize = 8;

#[inline(always)]
fn load8(buf: &[u8], at: usize) -> u64 {
    let mut chunk = [0u8; 8];
    chunk.copy_from_slice(&buf[at..at + 8]);
    u64::from_le_bytes(chunk)
}

/// The first `len` (≤ 8) bytes at `at`, the rest zeroed.
#[inline(always)]
fn head8(buf: &[u8], at: usize, len: usize) -> u64 {
    let mask = if len >= 8 { u64::MAX } else { (1u64 << (8 * len)) - 1 };
    load8(buf, at) & mask
}

/// Hashes `buf[start..end]` and returns the hash with the word's first eight bytes
/// (zero-padded); `buf` must extend [`PAD`] bytes past `end`.
#[inline(always)]
fn hash_at(buf: &[u8], start: usize, end: usize) -> (u64, u64) {
    let len = end - start;
    let head = head8(buf, start, len.min(8));
    let mut h = (len as u64).wrapping_mul(K);
    if len <= 8 {
        // Most words: the head is the whole word.
        h = (h ^ head).wrapping_mul(K);
    } else {
        let mut at = start;
        while at + 8 < end {
            h = (h ^ load8(buf, at)).wrapping_mul(K).rotate_left(29);
            at += 8;
        }
        h = (h ^ head8(buf, at, end - at)).wrapping_mul(K);
    }
    // Never 0: 0 marks an empty slot.
    ((h ^ (h >> 32)) | 1, head)
}

pub fn hash_of(word: &[u8]) -> u64 {
    let mut padded = word.to_vec();
    padded.extend_from_slice(&[0; PAD]);
    hash_at(&padded, 0, word.len()).0
}

/// A word of the message: where its lowercase bytes are, their hash, and the first
/// eight of them (zero-padded), so most lookups never read the buffer.
#[derive(Clone, Copy, Default)]
pub struct Word {
    start: u32,
    end: u32,
    hash: u64,
    head: u64,
}

impl Word {
    fn len(&self) -> usize {
        (self.end - self.start) as usize
    }
}

/// What [`Splitter::split`] saw besides the words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    /// The text was plain ASCII.
    pub ascii: bool,
    /// Chinese and Japanese letters (not part of any word).
    pub cjk_chars: usize,
    /// Words (runs of word characters).
    pub words: usize,
}

impl Split {
    /// How many words the message has, counting about two CJK letters as a word (the
    /// usual length of a Chinese word), so "订单服务响应很慢" is not "zero words long".
    pub fn word_count(&self) -> usize {
        self.words + self.cjk_chars.div_ceil(2)
    }
}

// Eight bytes at a time ("SWAR"): each byte of a u64 is one ASCII character, and these
// helpers set a byte's high bit when the byte passes the test. They assume every
// byte is below 0x80, so no addition carries into the next byte.
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Bytes ≥ `lo`.
#[inline(always)]
fn at_least(x: u64, lo: u8) -> u64 {
    x.wrapping_add(ONES * (0x80 - lo as u64)) & HIGH
}

/// Bytes in `lo..=hi`.
#[inline(always)]
fn within(x: u64, lo: u8, hi: u8) -> u64 {
    at_least(x, lo) & !at_least(x, hi + 1)
}

/// Bytes equal to `c`.
#[inline(always)]
fn equal(x: u64, c: u8) -> u64 {
    let t = x ^ (ONES * c as u64);
    !(t.wrapping_add(ONES * 0x7f) | t) & HIGH
}

/// Reusable buffers for splitting messages: after [`Splitter::split`], the words'
/// lowercase bytes, the words, and the anchors of the last message. They only grow,
/// so splitting allocates nothing once warm.
#[derive(Default)]
pub struct Splitter {
    /// The message lowercased (separators included, so ASCII text keeps its offsets);
    /// words point into it.
    buf: Vec<u8>,
    words: Vec<Word>,
    anchors: Vec<u32>,
}

/// The word being read when a chunk ends.
struct State {
    in_word: bool,
    start: usize,
}

impl Splitter {
    pub fn buf(&self) -> &[u8] {
        &self.buf
    }

    pub fn words(&self) -> &[Word] {
        &self.words
    }

    /// Byte offsets of the characters raw terms are anchored on.
    pub fn anchors(&self) -> &[u32] {
        &self.anchors
    }

    /// Splits `text` into lowercase words and hashes each. On the way it notes the
    /// byte offsets of the characters raw terms are anchored on: ASCII bytes marked
    /// in `special`, and every non-ASCII symbol (emoji, arrows).
    pub fn split(&mut self, text: &str, special: &[bool; 128]) -> Split {
        let bytes = text.as_bytes();
        self.words.clear();
        self.anchors.clear();
        // Room for every byte, one spare chunk and the hash padding; lowercasing a
        // non-ASCII letter may need more, and grows it (see below).
        let mut room = bytes.len() + 8 + PAD;
        if self.buf.len() < room {
            self.buf.resize(room, 0);
        }
        let mut seen = Split { ascii: true, cjk_chars: 0, words: 0 };
        let mut state = State { in_word: false, start: 0 };
        let (mut i, mut n) = (0usize, 0usize);
        while i < bytes.len() {
            let left = bytes.len() - i;
            let mut chunk = [0u8; 8];
            if left >= 8 {
                // A fixed-size copy is one load.
                chunk.copy_from_slice(&bytes[i..i + 8]);
            } else {
                chunk[..left].copy_from_slice(&bytes[i..]);
            }
            let x = u64::from_le_bytes(chunk);
            if x & HIGH == 0 {
                // Plain ASCII: classify, lowercase and find the word edges of eight
                // bytes at once. Past the end of the text the chunk is zeros, which are
                // separators.
                let valid = if left >= 8 { u64::MAX } else { (1u64 << (8 * left)) - 1 };
                let upper = within(x, b'A', b'Z');
                let word = within(x, b'0', b'9') | upper | within(x, b'a', b'z') | equal(x, b'_');
                self.buf[n..n + 8].copy_from_slice(&(x | upper >> 2).to_le_bytes());
                let before = word << 8 | if state.in_word { 0x80 } else { 0 };
                let mut edges = (word ^ before) & HIGH;
                while edges != 0 {
                    let j = edges.trailing_zeros() as usize / 8;
                    edges &= edges - 1;
                    if state.in_word {
                        self.push_word(state.start, n + j);
                    } else {
                        state.start = n + j;
                    }
                    state.in_word = !state.in_word;
                }
                // Punctuation: the few bytes worth a look for anchors.
                let mut marks = !word & !equal(x, b' ') & HIGH & valid;
                while marks != 0 {
                    let j = marks.trailing_zeros() as usize / 8;
                    marks &= marks - 1;
                    if special[bytes[i + j] as usize] {
                        self.anchors.push((i + j) as u32);
                    }
                }
                let step = left.min(8);
                i += step;
                n += step;
                continue;
            }
            // A chunk with other scripts in it: a character at a time up to its end
            // (or past it, when a character straddles it).
            seen.ascii = false;
            let stop = i + left.min(8);
            while i < stop {
                let b = bytes[i];
                if b < 0x80 {
                    let lower = LOWER_WORD[b as usize];
                    if lower != 0 {
                        if !state.in_word {
                            state = State { in_word: true, start: n };
                        }
                    } else {
                        if state.in_word {
                            state.in_word = false;
                            self.push_word(state.start, n);
                        }
                        if special[b as usize] {
                            self.anchors.push(i as u32);
                        }
                    }
                    self.buf[n] = if lower != 0 { lower } else { b };
                    n += 1;
                    i += 1;
                    continue;
                }
                let c = text[i..].chars().next().unwrap_or(' ');
                if is_word_char(c) {
                    if !state.in_word {
                        state = State { in_word: true, start: n };
                    }
                    // Lowercasing may lengthen a character (İ → i̇): keep room for it
                    // and, as above, for the rest of the text.
                    room = n + 12 + (bytes.len() - i) + 8 + PAD;
                    if self.buf.len() < room {
                        self.buf.resize(room, 0);
                    }
                    for lower in c.to_lowercase() {
                        n += lower.encode_utf8(&mut self.buf[n..n + 4]).len();
                    }
                } else {
                    if state.in_word {
                        state.in_word = false;
                        self.push_word(state.start, n);
                    }
                    if is_cjk(c) {
                        seen.cjk_chars += 1;
                    } else if !c.is_whitespace() {
                        self.anchors.push(i as u32);
                    }
                }
                i += c.len_utf8();
            }
        }
        if state.in_word {
            self.push_word(state.start, n);
        }
        seen.words = self.words.len();
        seen
    }

    #[inline(always)]
    fn push_word(&mut self, start: usize, end: usize) {
        let (hash, head) = hash_at(&self.buf, start, end);
        self.words.push(Word { start: start as u32, end: end as u32, hash, head });
    }
}

/// One distinct word of the term table.
#[derive(Default)]
struct Entry {
    /// The word, and its first eight bytes (zero-padded) for a one-compare check.
    key: Box<[u8]>,
    key8: u64,
    /// Signals of the single-word term.
    bits: u128,
    /// Phrases starting with this word: (hash of their second word, or 0 when that is
    /// a prefix; index into `phrases`). Common first words ("is", "not") start many
    /// phrases; comparing the next word's hash skips most of them in one compare.
    phrases: Vec<(u64, u32)>,
    /// Harmless phrases starting with this word, the same way.
    harmless: Vec<(u64, u32)>,
}

struct Phrase {
    /// The words after the first, and their hashes (compared first).
    rest: Vec<Box<[u8]>>,
    rest_hashes: Vec<u64>,
    /// The last word may be followed by more letters (`log in fail*`).
    last_is_prefix: bool,
    bits: u128,
}

/// A term for [`WordIndex::new`].
pub struct Term<'a> {
    /// Lowercase words; a trailing `*` makes the last one a prefix.
    pub text: &'a str,
    pub bits: u128,
    /// A harmless phrase: cancels the `cancellable` terms inside it.
    pub harmless: bool,
}

pub struct WordIndex {
    /// Open addressing, linear probing: (hash, index into `entries`), hash 0 = empty.
    slots: Vec<(u64, u32)>,
    mask: usize,
    entries: Vec<Entry>,
    phrases: Vec<Phrase>,
    /// One bit per two-byte word start that some prefix term has: most words skip the
    /// prefix table with one bit test.
    prefix_filter: Vec<u64>,
    /// Prefix terms by their first four bytes (a tiny open-addressing table).
    prefixes: Vec<PrefixSlot>,
    prefix_mask: usize,
    /// Signals a harmless phrase cancels (the alarming ones).
    cancellable: u128,
}

/// The prefix terms that share a four-byte head: (head, [(prefix, signal bits)]).
type PrefixSlot = (u32, Vec<(Box<[u8]>, u128)>);

fn prefix_slot(key: u32, mask: usize) -> usize {
    (key.wrapping_mul(0x9E37_79B9) >> 7) as usize & mask
}

fn head(word: &[u8]) -> Option<u32> {
    word.get(..4).map(|h| u32::from_le_bytes([h[0], h[1], h[2], h[3]]))
}

fn filter_bit(word: &[u8]) -> usize {
    word[0] as usize | (word[1] as usize) << 8
}

impl WordIndex {
    /// Builds the index. `cancellable`: the signals whose terms a harmless phrase
    /// cancels. Panics on a prefix shorter than four bytes (a bug in the signal table).
    pub fn new(terms: &[Term<'_>], cancellable: u128) -> Self {
        let mut index = WordIndex {
            slots: Vec::new(),
            mask: 0,
            entries: Vec::new(),
            phrases: Vec::new(),
            prefix_filter: vec![0; 65536 / 64],
            prefixes: Vec::new(),
            prefix_mask: 0,
            cancellable,
        };
        let mut prefixes = Vec::new();
        let mut splitter = Splitter::default();
        for term in terms {
            let (text, prefix) = match term.text.strip_suffix('*') {
                Some(t) => (t, true),
                None => (term.text, false),
            };
            splitter.split(text, &[false; 128]);
            let mut parts: Vec<Vec<u8>> = splitter
                .words()
                .iter()
                .map(|w| splitter.buf()[w.start as usize..w.end as usize].to_vec())
                .collect();
            if parts.is_empty() {
                continue;
            }
            if parts.len() == 1 && prefix && !term.harmless {
                let word = parts.remove(0);
                let key =
                    head(&word).unwrap_or_else(|| panic!("prefix terms need four bytes: {}", term.text));
                index.prefix_filter[filter_bit(&word) / 64] |= 1 << (filter_bit(&word) % 64);
                prefixes.push((key, word.into_boxed_slice(), term.bits));
                continue;
            }
            if parts.len() == 1 && !term.harmless {
                let word = parts.remove(0);
                let entry = index.entry(&word);
                index.entries[entry].bits |= term.bits;
                continue;
            }
            let first = parts.remove(0);
            let at = index.phrases.len() as u32;
            let second = match parts.len() {
                0 => None,
                1 if prefix => Some(0),
                _ => Some(hash_of(&parts[0])),
            };
            index.phrases.push(Phrase {
                rest_hashes: parts.iter().map(|p| hash_of(p)).collect(),
                rest: parts.into_iter().map(Vec::into_boxed_slice).collect(),
                last_is_prefix: prefix,
                bits: term.bits,
            });
            let entry = index.entry(&first);
            // A one-word harmless term has no second word: it always gets checked.
            let key = (second.unwrap_or(0), at);
            if term.harmless {
                index.entries[entry].harmless.push(key);
            } else {
                index.entries[entry].phrases.push(key);
            }
        }
        // Load factor at most 0.4: a miss (most words) usually costs one probe.
        let size = (index.entries.len() * 5 / 2).next_power_of_two().max(16);
        index.slots = vec![(0, 0); size];
        index.mask = size - 1;
        for (n, entry) in index.entries.iter().enumerate() {
            let hash = hash_of(&entry.key);
            let mut i = hash as usize & index.mask;
            while index.slots[i].0 != 0 {
                i = (i + 1) & index.mask;
            }
            index.slots[i] = (hash, n as u32);
        }
        let prefix_size = (prefixes.len() * 2).next_power_of_two().max(8);
        let mut table: Vec<PrefixSlot> = vec![(0, Vec::new()); prefix_size];
        for (key, word, bits) in prefixes {
            let mut i = prefix_slot(key, prefix_size - 1);
            while !table[i].1.is_empty() && table[i].0 != key {
                i = (i + 1) & (prefix_size - 1);
            }
            table[i].0 = key;
            table[i].1.push((word, bits));
        }
        index.prefixes = table;
        index.prefix_mask = prefix_size - 1;
        index
    }

    /// The entry of `word`, created if new (build time only: a linear search is fine).
    fn entry(&mut self, word: &[u8]) -> usize {
        if let Some(n) = self.entries.iter().position(|e| &*e.key == word) {
            return n;
        }
        let mut padded = word.to_vec();
        padded.extend_from_slice(&[0; PAD]);
        self.entries.push(Entry {
            key: word.into(),
            key8: head8(&padded, 0, word.len().min(8)),
            ..Default::default()
        });
        self.entries.len() - 1
    }

    #[inline]
    fn get(&self, buf: &[u8], w: &Word) -> Option<&Entry> {
        let (start, end) = (w.start as usize, w.end as usize);
        let len = w.len();
        let mut i = w.hash as usize & self.mask;
        loop {
            let (hash, n) = self.slots[i];
            if hash == 0 {
                return None;
            }
            if hash == w.hash {
                let entry = &self.entries[n as usize];
                let same = entry.key.len() == len
                    && if len <= 8 { entry.key8 == w.head } else { *entry.key == buf[start..end] };
                if same {
                    return Some(entry);
                }
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Whether phrase `p` continues at word `k + 1`.
    fn phrase_at(&self, p: u32, buf: &[u8], words: &[Word], k: usize) -> Option<usize> {
        let phrase = &self.phrases[p as usize];
        let end = k + 1 + phrase.rest.len();
        if end > words.len() {
            return None;
        }
        for (j, expected) in phrase.rest.iter().enumerate() {
            let w = &words[k + 1 + j];
            let actual = &buf[w.start as usize..w.end as usize];
            let ok = if j + 1 == phrase.rest.len() && phrase.last_is_prefix {
                actual.starts_with(expected)
            } else {
                w.hash == phrase.rest_hashes[j] && actual == &expected[..]
            };
            if !ok {
                return None;
            }
        }
        Some(end)
    }

    /// The signals whose word terms occur among `words` (split by [`split`] into `buf`).
    pub fn matches(&self, buf: &[u8], words: &[Word]) -> u128 {
        let mut fired = 0u128;
        // Words before this index lie inside a harmless phrase that started at or
        // before the current word.
        let mut harmless_end = 0usize;
        for (k, w) in words.iter().enumerate() {
            if let Some(entry) = self.get(buf, w) {
                let next = words.get(k + 1).map_or(1, |w| w.hash);
                for &(second, p) in &entry.harmless {
                    if second == next || second == 0 {
                        if let Some(end) = self.phrase_at(p, buf, words, k) {
                            harmless_end = harmless_end.max(end);
                            fired |= self.phrases[p as usize].bits;
                        }
                    }
                }
                fired |= entry.bits & self.allowed(k + 1, harmless_end);
                for &(second, p) in &entry.phrases {
                    if second == next || second == 0 {
                        if let Some(end) = self.phrase_at(p, buf, words, k) {
                            fired |= self.phrases[p as usize].bits & self.allowed(end, harmless_end);
                        }
                    }
                }
            }
            if w.len() >= 4 {
                let bit = (w.head & 0xffff) as usize;
                if self.prefix_filter[bit / 64] & (1 << (bit % 64)) != 0 {
                    let word = &buf[w.start as usize..w.end as usize];
                    fired |= self.prefix_bits(word) & self.allowed(k + 1, harmless_end);
                }
            }
        }
        fired
    }

    /// What an occurrence ending before word `end` may fire: inside a harmless phrase
    /// (one that started at or before it and reaches `harmless_end`), only the signals
    /// that are not cancellable.
    #[inline(always)]
    fn allowed(&self, end: usize, harmless_end: usize) -> u128 {
        if end <= harmless_end {
            !self.cancellable
        } else {
            u128::MAX
        }
    }

    /// The prefix terms `word` starts with.
    fn prefix_bits(&self, word: &[u8]) -> u128 {
        let Some(h) = head(word) else { return 0 };
        let mut i = prefix_slot(h, self.prefix_mask);
        while !self.prefixes[i].1.is_empty() {
            if self.prefixes[i].0 == h {
                let mut bits = 0;
                for (prefix, b) in &self.prefixes[i].1 {
                    if word.starts_with(prefix) {
                        bits |= b;
                    }
                }
                return bits;
            }
            i = (i + 1) & self.prefix_mask;
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(terms: &[(&str, u128)], harmless: &[&str], cancellable: u128) -> WordIndex {
        let mut all: Vec<Term> =
            terms.iter().map(|&(text, bits)| Term { text, bits, harmless: false }).collect();
        all.extend(harmless.iter().map(|&text| Term { text, bits: 1 << 100, harmless: true }));
        WordIndex::new(&all, cancellable)
    }

    fn fired(index: &WordIndex, text: &str) -> u128 {
        let mut splitter = Splitter::default();
        splitter.split(text, &[false; 128]);
        index.matches(splitter.buf(), splitter.words()) & !(1 << 100)
    }

    #[test]
    fn words_phrases_and_prefixes() {
        let index = index(
            &[
                ("down", 1),
                ("is down", 2),
                ("can't log in", 4),
                ("error*", 8),
                ("log in fail*", 16),
                ("ok", 32),
            ],
            &[],
            0,
        );
        assert_eq!(fired(&index, "The API is DOWN!"), 1 | 2);
        assert_eq!(fired(&index, "downloading"), 0, "no match inside a word");
        assert_eq!(fired(&index, "users can't log in"), 4);
        assert_eq!(fired(&index, "Errors everywhere"), 8);
        assert_eq!(fired(&index, "log in failures"), 16);
        assert_eq!(fired(&index, "it's broken"), 0, "ok is not inside broken");
        assert_eq!(fired(&index, "is"), 0, "a phrase needs all its words");
        assert_eq!(
            fired(&index, "an-extraordinarily-long-hyphenated-word is down"),
            1 | 2,
            "long words hash too"
        );
    }

    #[test]
    fn other_scripts_are_lowercased_and_split() {
        let index = index(&[("не работает", 1), ("störung", 2), ("упал*", 4)], &[], 0);
        assert_eq!(fired(&index, "Прод НЕ РАБОТАЕТ"), 1);
        assert_eq!(fired(&index, "STÖRUNG im Zahlungsdienst"), 2);
        assert_eq!(fired(&index, "сервис упала"), 4);
    }

    #[test]
    fn a_harmless_phrase_cancels_only_what_lies_inside_it() {
        // 1 = alarming (cancellable), 2 = chatter (not cancellable).
        let index = index(
            &[
                ("error*", 1),
                ("slow", 1),
                ("down", 1),
                ("p99", 1),
                ("error budget burn*", 1),
                ("fire drill", 2),
            ],
            &["error page copy", "slow down", "error budget", "fire drill"],
            1,
        );
        assert_eq!(fired(&index, "let's fix the error page copy"), 0);
        assert_eq!(fired(&index, "errors on the error page copy"), 1, "the error outside still counts");
        assert_eq!(fired(&index, "things slow down every hour"), 0);
        assert_eq!(fired(&index, "things slow down every hour, p99 is 5s"), 1, "p99 is outside");
        assert_eq!(fired(&index, "add the error budget to the dashboard"), 0);
        assert_eq!(fired(&index, "error budget burn 14x"), 1, "a longer alarming phrase is not inside");
        assert_eq!(fired(&index, "fire drill at 3"), 2, "chatter terms are not cancelled");
    }

    #[test]
    fn anchors_are_noted_where_raw_terms_can_match() {
        let mut special = [false; 128];
        special[b'[' as usize] = true;
        special[b':' as usize] = true;
        let mut splitter = Splitter::default();
        splitter.split("[FIRING:1] a, b. 🔴 día: x", &special);
        assert_eq!(splitter.anchors(), &[0, 7, 17, 26], "[ : 🔴 : — not , . or spaces");
    }

    #[test]
    fn cjk_letters_are_counted_not_ignored() {
        let mut splitter = Splitter::default();
        let seen = splitter.split("订单服务响应很慢", &[false; 128]);
        assert_eq!((seen.ascii, seen.cjk_chars), (false, 8));
        assert_eq!(seen.word_count(), 4);
        assert_eq!(splitter.split("redis 连不上", &[false; 128]).word_count(), 1 + 2);
        let seen = splitter.split("plain ascii", &[false; 128]);
        assert_eq!((seen.ascii, seen.word_count()), (true, 2));
    }

    /// The eight-bytes-at-a-time split against the obvious one, on random text mixing
    /// ASCII, other scripts, CJK and emoji at every offset.
    #[test]
    fn the_fast_split_agrees_with_a_plain_one() {
        let mut special = [false; 128];
        for b in b"[]:*\"=#+@\t\n!?/." {
            special[*b as usize] = true;
        }
        let alphabet: Vec<char> = "abcXYZ019_ -.,:[]\n\t!?/\"'éÖçПрив订单🔴✅→İ".chars().collect();
        let mut rng = fastrand::Rng::with_seed(7);
        let mut splitter = Splitter::default();
        for _ in 0..3000 {
            let len = rng.usize(0..40);
            let text: String = (0..len).map(|_| alphabet[rng.usize(..alphabet.len())]).collect();
            // The plain way: a character at a time.
            let (mut words, mut anchors, mut cjk, mut current) = (Vec::new(), Vec::new(), 0, String::new());
            for (at, c) in text.char_indices() {
                if is_word_char(c) {
                    current.extend(c.to_lowercase());
                    continue;
                }
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
                if is_cjk(c) {
                    cjk += 1;
                } else if if c.is_ascii() { special[c as usize] } else { !c.is_whitespace() } {
                    anchors.push(at as u32);
                }
            }
            if !current.is_empty() {
                words.push(current);
            }
            let seen = splitter.split(&text, &special);
            let got: Vec<String> = splitter
                .words()
                .iter()
                .map(|w| {
                    String::from_utf8_lossy(&splitter.buf()[w.start as usize..w.end as usize]).into_owned()
                })
                .collect();
            assert_eq!(got, words, "words of {text:?}");
            assert_eq!(splitter.anchors(), &anchors[..], "anchors of {text:?}");
            assert_eq!(seen.cjk_chars, cjk, "{text:?}");
            for (w, expected) in splitter.words().iter().zip(&words) {
                assert_eq!(w.hash, hash_of(expected.as_bytes()), "hash of {expected:?} in {text:?}");
            }
        }
    }

    #[test]
    fn buffers_are_reused_without_stale_words() {
        let index = index(&[("down", 1), ("İstanbul", 2)], &[], 0);
        let mut splitter = Splitter::default();
        splitter.split("a very long message that leaves many words behind in the buffers", &[false; 128]);
        splitter.split("down", &[false; 128]);
        assert_eq!(splitter.words().len(), 1);
        assert_eq!(index.matches(splitter.buf(), splitter.words()), 1);
        // A character whose lowercase is longer than itself, many times over.
        let grown = "İ".repeat(50) + " İSTANBUL down";
        splitter.split(&grown, &[false; 128]);
        assert_eq!(index.matches(splitter.buf(), splitter.words()), 1 | 2);
    }
}
