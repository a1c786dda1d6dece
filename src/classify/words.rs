//! The word matcher behind tier 1: splits a message into lowercase words in one pass,
//! hashing each word as it goes, and looks every word up once in a small open-addressing
//! table of the signal table's word terms. Word boundaries come for free (`ok` cannot
//! match inside `broken`), and the cost is one hash probe per word instead of one
//! automaton step per byte.
//!
//! Three kinds of terms live here:
//! - single words (`outage`): the word's entry carries the signals' bits;
//! - phrases (`is down`, `can't log in`): the first word's entry lists them; the next
//!   words are compared when the first one is seen;
//! - prefixes (`error*`, `упал*`): kept by their first four bytes and checked against
//!   every word at least that long.

/// Word characters: letters and digits of alphabetic scripts, and `_`. Chinese and
/// Japanese have no spaces between words and are matched elsewhere.
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && (c as u32) < 0x2E80 || c == '_'
}

const K: u64 = 0x517c_c1b7_2722_0a95;

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

#[inline(always)]
fn step(hash: u64, byte: u8) -> u64 {
    (hash.rotate_left(5) ^ byte as u64).wrapping_mul(K)
}

/// A word of the message: where its lowercase bytes are, and their hash.
#[derive(Clone, Copy)]
pub struct Word {
    start: u32,
    end: u32,
    hash: u64,
}

/// Splits `text` into words, writing their lowercase bytes to `buf`. Returns whether
/// the text was plain ASCII.
pub fn split(text: &str, buf: &mut Vec<u8>, words: &mut Vec<Word>) -> bool {
    buf.clear();
    words.clear();
    let bytes = text.as_bytes();
    let (mut start, mut hash, mut in_word, mut ascii) = (0u32, 0u64, false, true);
    // ASCII fast path: a table maps each byte to its lowercase word byte (0 = not a
    // word byte), written into a pre-sized buffer.
    buf.resize(bytes.len(), 0);
    let mut n = 0usize;
    let mut i = 0;
    while i < bytes.len() && bytes[i] < 0x80 {
        let lower = LOWER_WORD[bytes[i] as usize];
        if lower != 0 {
            if !in_word {
                in_word = true;
                start = n as u32;
                hash = 0;
            }
            buf[n] = lower;
            n += 1;
            hash = step(hash, lower);
        } else if in_word {
            in_word = false;
            words.push(Word { start, end: n as u32, hash });
        }
        i += 1;
    }
    buf.truncate(n);
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            if b.is_ascii_alphanumeric() || b == b'_' {
                let lower = b.to_ascii_lowercase();
                if !in_word {
                    in_word = true;
                    start = buf.len() as u32;
                    hash = 0;
                }
                buf.push(lower);
                hash = step(hash, lower);
            } else if in_word {
                in_word = false;
                words.push(Word { start, end: buf.len() as u32, hash });
            }
            i += 1;
            continue;
        }
        ascii = false;
        let c = text[i..].chars().next().unwrap_or(' ');
        i += c.len_utf8();
        if is_word_char(c) {
            if !in_word {
                in_word = true;
                start = buf.len() as u32;
                hash = 0;
            }
            for lower in c.to_lowercase() {
                let mut tmp = [0u8; 4];
                for &byte in lower.encode_utf8(&mut tmp).as_bytes() {
                    buf.push(byte);
                    hash = step(hash, byte);
                }
            }
        } else if in_word {
            in_word = false;
            words.push(Word { start, end: buf.len() as u32, hash });
        }
    }
    if in_word {
        words.push(Word { start, end: buf.len() as u32, hash });
    }
    ascii
}

/// One entry of the table.
#[derive(Clone, Default)]
struct Entry {
    hash: u64,
    key: Box<[u8]>,
    /// Signals of the single-word term.
    bits: u128,
    /// Phrases starting with this word (indexes into `phrases`).
    phrases: Vec<u32>,
}

struct Phrase {
    /// The words after the first.
    rest: Vec<Box<[u8]>>,
    /// The last word may be followed by more letters (`log in fail*`).
    last_is_prefix: bool,
    bits: u128,
}

pub struct WordIndex {
    /// Open addressing, linear probing; empty slots have an empty key.
    slots: Vec<Entry>,
    mask: usize,
    phrases: Vec<Phrase>,
    /// Prefix terms by their first four bytes (a tiny open-addressing table, so each
    /// word costs one probe however many prefixes there are).
    prefixes: Vec<PrefixSlot>,
    prefix_mask: usize,
}

/// The prefix terms that share a four-byte head: (head, [(prefix, signal bits)]).
type PrefixSlot = (u32, Vec<(Box<[u8]>, u128)>);

fn hash_of(word: &[u8]) -> u64 {
    word.iter().fold(0, |h, &b| step(h, b))
}

fn prefix_slot(key: u32, mask: usize) -> usize {
    (key.wrapping_mul(0x9E37_79B9) >> 7) as usize & mask
}

fn head(word: &[u8]) -> Option<u32> {
    word.get(..4).map(|h| u32::from_le_bytes([h[0], h[1], h[2], h[3]]))
}

impl WordIndex {
    /// Builds the index from `(term, bits)` pairs; a trailing `*` makes a prefix term.
    /// Panics on a prefix shorter than four bytes (a bug in the signal table).
    pub fn new(terms: &[(&str, u128)]) -> Self {
        let mut singles: Vec<(Vec<u8>, u128)> = Vec::new();
        let mut starts: Vec<(Vec<u8>, u32)> = Vec::new();
        let mut phrases = Vec::new();
        let mut prefixes = Vec::new();
        let (mut buf, mut words) = (Vec::new(), Vec::new());
        for &(term, bits) in terms {
            let (text, prefix) = match term.strip_suffix('*') {
                Some(t) => (t, true),
                None => (term, false),
            };
            split(text, &mut buf, &mut words);
            let parts: Vec<Vec<u8>> =
                words.iter().map(|w| buf[w.start as usize..w.end as usize].to_vec()).collect();
            match parts.len() {
                0 => {}
                1 if prefix => {
                    let word = parts.into_iter().next().unwrap_or_default();
                    let key = head(&word).unwrap_or_else(|| panic!("prefix terms need four bytes: {term}"));
                    prefixes.push((key, word.into_boxed_slice(), bits));
                }
                1 => singles.push((parts.into_iter().next().unwrap_or_default(), bits)),
                _ => {
                    let mut parts = parts.into_iter();
                    let first = parts.next().unwrap_or_default();
                    starts.push((first, phrases.len() as u32));
                    phrases.push(Phrase {
                        rest: parts.map(Vec::into_boxed_slice).collect(),
                        last_is_prefix: prefix,
                        bits,
                    });
                }
            }
        }
        let size = ((singles.len() + starts.len()) * 2).next_power_of_two().max(16);
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
        let mut index = WordIndex {
            slots: vec![Entry::default(); size],
            mask: size - 1,
            phrases,
            prefixes: table,
            prefix_mask: prefix_size - 1,
        };
        for (word, bits) in singles {
            index.entry(&word).bits |= bits;
        }
        for (word, phrase) in starts {
            index.entry(&word).phrases.push(phrase);
        }
        index
    }

    fn entry(&mut self, word: &[u8]) -> &mut Entry {
        let hash = hash_of(word);
        let mut i = hash as usize & self.mask;
        loop {
            if self.slots[i].key.is_empty() {
                self.slots[i] = Entry { hash, key: word.into(), ..Default::default() };
                return &mut self.slots[i];
            }
            if self.slots[i].hash == hash && &*self.slots[i].key == word {
                return &mut self.slots[i];
            }
            i = (i + 1) & self.mask;
        }
    }

    #[inline]
    fn get(&self, hash: u64, word: &[u8]) -> Option<&Entry> {
        let mut i = hash as usize & self.mask;
        loop {
            let slot = &self.slots[i];
            if slot.key.is_empty() {
                return None;
            }
            if slot.hash == hash && &*slot.key == word {
                return Some(slot);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The signals whose word terms occur among `words` (split by [`split`] into `buf`).
    pub fn matches(&self, buf: &[u8], words: &[Word]) -> u128 {
        let text = |w: &Word| &buf[w.start as usize..w.end as usize];
        let mut fired = 0u128;
        for (k, w) in words.iter().enumerate() {
            let word = text(w);
            if let Some(entry) = self.get(w.hash, word) {
                fired |= entry.bits;
                'phrase: for &p in &entry.phrases {
                    let phrase = &self.phrases[p as usize];
                    if k + phrase.rest.len() >= words.len() {
                        continue;
                    }
                    for (j, expected) in phrase.rest.iter().enumerate() {
                        let actual = text(&words[k + 1 + j]);
                        let last = j + 1 == phrase.rest.len();
                        let ok = if last && phrase.last_is_prefix {
                            actual.starts_with(expected)
                        } else {
                            actual == &expected[..]
                        };
                        if !ok {
                            continue 'phrase;
                        }
                    }
                    fired |= phrase.bits;
                }
            }
            if let Some(h) = head(word) {
                let mut i = prefix_slot(h, self.prefix_mask);
                while !self.prefixes[i].1.is_empty() {
                    if self.prefixes[i].0 == h {
                        for (prefix, bits) in &self.prefixes[i].1 {
                            if word.starts_with(prefix) {
                                fired |= bits;
                            }
                        }
                        break;
                    }
                    i = (i + 1) & self.prefix_mask;
                }
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fired(index: &WordIndex, text: &str) -> u128 {
        let (mut buf, mut words) = (Vec::new(), Vec::new());
        split(text, &mut buf, &mut words);
        index.matches(&buf, &words)
    }

    #[test]
    fn words_phrases_and_prefixes() {
        let index = WordIndex::new(&[
            ("down", 1),
            ("is down", 2),
            ("can't log in", 4),
            ("error*", 8),
            ("log in fail*", 16),
            ("ok", 32),
        ]);
        assert_eq!(fired(&index, "The API is DOWN!"), 1 | 2);
        assert_eq!(fired(&index, "downloading"), 0, "no match inside a word");
        assert_eq!(fired(&index, "users can't log in"), 4);
        assert_eq!(fired(&index, "Errors everywhere"), 8);
        assert_eq!(fired(&index, "log in failures"), 16);
        assert_eq!(fired(&index, "it's broken"), 0, "ok is not inside broken");
        assert_eq!(fired(&index, "is"), 0, "a phrase needs all its words");
    }

    #[test]
    fn other_scripts_are_lowercased_and_split() {
        let index = WordIndex::new(&[("не работает", 1), ("störung", 2), ("упал*", 4)]);
        assert_eq!(fired(&index, "Прод НЕ РАБОТАЕТ"), 1);
        assert_eq!(fired(&index, "STÖRUNG im Zahlungsdienst"), 2);
        assert_eq!(fired(&index, "сервис упала"), 4);
    }
}
