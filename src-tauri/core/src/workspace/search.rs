//! Project-wide search with ripgrep's own crates: a parallel gitignore-aware walk (`ignore`) and
//! `grep-searcher` with a `grep-regex` matcher (plain text is escaped into a literal regex).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use grep_matcher::Matcher;
use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use grep_searcher::sinks::UTF8;
use grep_searcher::{BinaryDetection, SearcherBuilder};
use ignore::WalkState;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{ignore_rules, WorkspaceError};
use crate::paths::ProjectRoot;

/// Files larger than this are skipped by search (bytes).
const MAX_SEARCH_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Longest line preview returned (characters).
const MAX_PREVIEW_CHARS: usize = 400;

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct SearchQuery {
    pub pattern: String,
    /// Treat `pattern` as a regular expression (otherwise plain text).
    #[serde(default)]
    pub regex: bool,
    #[serde(default)]
    pub case_sensitive: bool,
    #[serde(default)]
    pub whole_word: bool,
    /// Stop after this many matching lines (default 2,000).
    #[serde(default)]
    pub max_results: Option<u32>,
}

/// One matching line. Columns are UTF-16 offsets into `line` (what the editor and JS use).
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct SearchMatch {
    pub path: String,
    pub line_number: u32,
    pub line: String,
    pub ranges: Vec<(u32, u32)>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct SearchResults {
    pub matches: Vec<SearchMatch>,
    pub files_with_matches: u32,
    /// More matches exist than were returned.
    pub truncated: bool,
}

fn utf16_len(s: &str) -> u32 {
    s.encode_utf16().count() as u32
}

fn build_matcher(q: &SearchQuery) -> Result<RegexMatcher, WorkspaceError> {
    if q.pattern.is_empty() {
        return Err(WorkspaceError::BadQuery("type something to search for".into()));
    }
    let pattern = if q.regex { q.pattern.clone() } else { regex_syntax::escape(&q.pattern) };
    RegexMatcherBuilder::new()
        .case_insensitive(!q.case_sensitive)
        .word(q.whole_word)
        .build(&pattern)
        .map_err(|e| WorkspaceError::BadQuery(e.to_string()))
}

/// Searches every non-ignored text file under the project root.
pub fn search(root: &ProjectRoot, q: &SearchQuery) -> Result<SearchResults, WorkspaceError> {
    let matcher = build_matcher(q)?;
    let limit = q.max_results.unwrap_or(2000).clamp(1, 100_000) as usize;
    let found = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let results: Mutex<Vec<SearchMatch>> = Mutex::new(Vec::new());
    let files = AtomicUsize::new(0);

    let dir = root.dir()?;
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).min(12);
    ignore_rules::walker(root.path()).max_filesize(Some(MAX_SEARCH_FILE_BYTES)).threads(threads).build_parallel().run(
        || {
            let matcher = matcher.clone();
            let mut searcher =
                SearcherBuilder::new().binary_detection(BinaryDetection::quit(0)).line_number(true).build();
            let (found, stop, results, files, dir) = (&found, &stop, &results, &files, &dir);
            Box::new(move |entry| {
                if stop.load(Ordering::Relaxed) {
                    return WalkState::Quit;
                }
                let Ok(entry) = entry else { return WalkState::Continue };
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    return WalkState::Continue;
                }
                let rel = root.relative(entry.path()).unwrap_or_default();
                // Read through the root capability: a folder swapped for a link meanwhile
                // fails the file instead of showing content from outside the project.
                let Some(file) =
                    entry.path().strip_prefix(root.path()).ok().and_then(|r| crate::paths::open_read(dir, r).ok())
                else {
                    return WalkState::Continue;
                };
                let mut local = Vec::new();
                let _ = searcher.search_file(
                    &matcher,
                    &file,
                    UTF8(|line_number, line| {
                        local.push(to_match(&matcher, &rel, line_number, line));
                        Ok(found.fetch_add(1, Ordering::Relaxed) < limit)
                    }),
                );
                if !local.is_empty() {
                    files.fetch_add(1, Ordering::Relaxed);
                    results.lock().unwrap().extend(local);
                }
                if found.load(Ordering::Relaxed) >= limit {
                    stop.store(true, Ordering::Relaxed);
                    return WalkState::Quit;
                }
                WalkState::Continue
            })
        },
    );

    let mut matches = results.into_inner().unwrap();
    matches.sort_by(|a, b| a.path.cmp(&b.path).then(a.line_number.cmp(&b.line_number)));
    let truncated = matches.len() > limit || found.load(Ordering::Relaxed) > limit;
    matches.truncate(limit);
    Ok(SearchResults { matches, files_with_matches: files.load(Ordering::Relaxed) as u32, truncated })
}

fn to_match(matcher: &RegexMatcher, rel: &str, line_number: u64, line: &str) -> SearchMatch {
    let line = line.trim_end_matches(['\n', '\r']);
    let mut ranges = Vec::new();
    let _ = matcher.find_iter(line.as_bytes(), |m| {
        if line.is_char_boundary(m.start()) && line.is_char_boundary(m.end()) {
            ranges.push((utf16_len(&line[..m.start()]), utf16_len(&line[..m.end()])));
        }
        ranges.len() < 50
    });
    let preview: String = line.chars().take(MAX_PREVIEW_CHARS).collect();
    SearchMatch { path: rel.to_string(), line_number: line_number as u32, line: preview, ranges }
}

/// Quick open: project files whose path contains the query's characters in order, best first.
pub fn find_files(root: &ProjectRoot, query: &str, limit: usize) -> Vec<String> {
    const MAX_WALK: usize = 500_000;
    let q: Vec<char> = query.to_lowercase().chars().filter(|c| !c.is_whitespace()).collect();
    let mut scored: Vec<(i64, String)> = Vec::new();
    for entry in ignore_rules::walker(root.path()).build().filter_map(Result::ok).take(MAX_WALK) {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Some(rel) = root.relative(entry.path()) else { continue };
        if let Some(score) = fuzzy_score(&q, &rel) {
            scored.push((score, rel));
        }
    }
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.len().cmp(&b.1.len())).then(a.1.cmp(&b.1)));
    scored.into_iter().take(limit).map(|(_, p)| p).collect()
}

/// Subsequence match score: consecutive runs and matches in the file name score higher.
pub fn fuzzy_score(query: &[char], path: &str) -> Option<i64> {
    if query.is_empty() {
        return Some(0);
    }
    let lower: Vec<char> = path.to_lowercase().chars().collect();
    let name_start = lower.iter().rposition(|&c| c == '/').map(|i| i + 1).unwrap_or(0);
    let (mut qi, mut score, mut prev) = (0usize, 0i64, usize::MAX - 1);
    for (i, &c) in lower.iter().enumerate() {
        if qi < query.len() && c == query[qi] {
            score += 1;
            if prev.wrapping_add(1) == i {
                score += 4;
            }
            if i >= name_start {
                score += 2;
            }
            if i == name_start || i > 0 && matches!(lower[i - 1], '/' | '_' | '-' | '.') {
                score += 3;
            }
            prev = i;
            qi += 1;
        }
    }
    (qi == query.len()).then_some(score)
}
