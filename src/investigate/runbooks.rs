//! Markdown runbooks, indexed at start and searched by relevance to an incident.
//!
//! Format (see `runbooks/`): `# Title`, a `keywords: a, b, c` line, a summary paragraph,
//! then `## Symptoms`, `## Diagnose` and `## Mitigate` (numbered steps), `## Escalate`.
//! Search scores the incident's words against each runbook's keywords (heavily), title
//! and body (lightly); the best runbook above a threshold wins.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One parsed runbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Runbook {
    pub file: String,
    pub title: String,
    pub summary: String,
    keywords: BTreeSet<String>,
    /// Multi-word keywords ("disk full"), matched as phrases.
    phrases: Vec<String>,
    words: BTreeSet<String>,
    /// Section heading (lowercase) → its lines.
    pub sections: BTreeMap<String, Vec<String>>,
}

impl Runbook {
    /// The numbered steps (or bullets) of a section, without their markers.
    pub fn steps(&self, section: &str) -> Vec<String> {
        self.sections
            .get(section)
            .map(|lines| {
                lines
                    .iter()
                    .map(|l| l.trim())
                    .filter(|l| !l.is_empty())
                    .map(|l| {
                        let l = l
                            .trim_start_matches(|c: char| c.is_ascii_digit())
                            .trim_start_matches(['.', ')', '-', '*']);
                        l.trim().to_string()
                    })
                    .filter(|l| !l.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Lowercase word tokens (letters, digits; `5xx` and `x509` stay whole).
pub fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Parses one runbook file's text.
pub fn parse(file: &str, text: &str) -> Runbook {
    let mut title = String::new();
    let mut keywords = BTreeSet::new();
    let mut phrases = Vec::new();
    let mut summary = Vec::new();
    let mut sections: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(t) = trimmed.strip_prefix("# ") {
            title = t.trim().to_string();
        } else if let Some(h) = trimmed.strip_prefix("## ") {
            let name = h.trim().to_lowercase();
            sections.entry(name.clone()).or_default();
            current = Some(name);
        } else if let Some(k) = trimmed.strip_prefix("keywords:") {
            for keyword in k.split(',').map(|k| k.trim().to_lowercase()).filter(|k| !k.is_empty()) {
                let words = tokens(&keyword);
                if words.len() > 1 {
                    phrases.push(words.join(" "));
                }
                keywords.extend(words);
            }
        } else if let Some(section) = &current {
            if !trimmed.is_empty() {
                sections.entry(section.clone()).or_default().push(trimmed.to_string());
            }
        } else if !trimmed.is_empty() {
            summary.push(trimmed.to_string());
        }
    }
    let words = tokens(text).into_iter().collect();
    Runbook { file: file.to_string(), title, summary: summary.join(" "), keywords, phrases, words, sections }
}

/// All runbooks of a directory.
#[derive(Debug, Clone, Default)]
pub struct Index {
    pub runbooks: Vec<Runbook>,
}

/// Words too common to mean anything in a search.
const STOP: &[&str] = &[
    "the",
    "a",
    "an",
    "on",
    "in",
    "of",
    "to",
    "is",
    "are",
    "for",
    "and",
    "or",
    "at",
    "with",
    "from",
    "since",
    "by",
    "it",
    "be",
    "this",
    "that",
    "prod",
    "production",
];

impl Index {
    /// Reads every `*.md` in `dir` (sorted by name). A missing directory is an empty index.
    pub fn load(dir: &Path) -> std::io::Result<Index> {
        let mut files: Vec<_> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "md"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Index::default()),
            Err(e) => return Err(e),
        };
        files.sort();
        let mut runbooks = Vec::new();
        for path in files {
            let text = std::fs::read_to_string(&path)?;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            runbooks.push(parse(&name, &text));
        }
        Ok(Index { runbooks })
    }

    /// The most relevant runbooks for `query`, best first, with their scores.
    pub fn search(&self, query: &str) -> Vec<(&Runbook, f32)> {
        let words: Vec<String> = tokens(query).into_iter().filter(|w| !STOP.contains(&w.as_str())).collect();
        let joined = words.join(" ");
        let mut scored: Vec<(&Runbook, f32)> = self
            .runbooks
            .iter()
            .map(|runbook| {
                let title = tokens(&runbook.title);
                let mut score = 0.0;
                let mut seen = BTreeSet::new();
                for word in &words {
                    if !seen.insert(word) {
                        continue;
                    }
                    // Numbers like 502 match keywords like "502" exactly, and "5xx" too.
                    let five_xx =
                        word.len() == 3 && word.starts_with('5') && word.chars().all(|c| c.is_ascii_digit());
                    if runbook.keywords.contains(word) || (five_xx && runbook.keywords.contains("5xx")) {
                        score += 3.0;
                    } else if runbook.keywords.iter().any(|k| {
                        k.len() > 4 && (k.starts_with(word.as_str()) || word.starts_with(k.as_str()))
                    }) {
                        score += 1.5;
                    }
                    if title.contains(word) {
                        score += 2.0;
                    }
                    if runbook.words.contains(word) {
                        score += 0.5;
                    }
                }
                for phrase in &runbook.phrases {
                    if joined.contains(phrase.as_str()) {
                        score += 2.0;
                    }
                }
                (runbook, score)
            })
            .filter(|(_, score)| *score >= 3.0)
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.file.cmp(&b.0.file)));
        scored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Index {
        Index::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks")).unwrap()
    }

    #[test]
    fn the_shipped_runbooks_parse() {
        let index = shipped();
        assert!(index.runbooks.len() >= 6);
        for runbook in &index.runbooks {
            assert!(!runbook.title.is_empty(), "{}", runbook.file);
            assert!(!runbook.steps("diagnose").is_empty(), "{} has diagnose steps", runbook.file);
            assert!(!runbook.steps("mitigate").is_empty(), "{} has mitigate steps", runbook.file);
        }
    }

    #[test]
    fn search_finds_the_runbook_people_would_pick() {
        let index = shipped();
        let best = |q: &str| index.search(q).first().map(|(r, _)| r.file.clone()).unwrap_or_default();
        assert_eq!(best("disk full on prod-db-01"), "disk-full.md");
        assert_eq!(best("checkout returning 502s"), "http-5xx-spike.md");
        assert_eq!(best("KubePodCrashLooping payments CrashLoopBackOff"), "pod-crash-loop.md");
        assert_eq!(best("x509: certificate has expired on api.example.com"), "certificate-expiry.md");
        assert_eq!(best("replica lag 40 minutes on the analytics db"), "db-replication-lag.md");
        assert_eq!(best("HostHighCpuLoad web-3 load average 40"), "high-cpu.md");
        assert!(index.search("team lunch on friday").is_empty());
    }

    #[test]
    fn steps_lose_their_numbers() {
        let runbook = parse(
            "x.md",
            "# X\nkeywords: a\n\nsummary\n## Mitigate\n1. Do this: `cmd`\n2) And that\n- a bullet\n",
        );
        assert_eq!(runbook.steps("mitigate"), vec!["Do this: `cmd`", "And that", "a bullet"]);
        assert_eq!(runbook.summary, "summary");
    }
}
