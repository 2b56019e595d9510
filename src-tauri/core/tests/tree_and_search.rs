//! The lazy tree and project search, with real .gitignore / .auraignore files.

use aura_core::paths::ProjectRoot;
use aura_core::workspace::search::{find_files, search, SearchQuery};
use aura_core::workspace::tree::{list_dir, list_session, EntryKind};

fn project() -> (tempfile::TempDir, ProjectRoot) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    for d in ["src/util", "node_modules/dep", "target/debug", ".git/objects", "docs"] {
        std::fs::create_dir_all(p.join(d)).unwrap();
    }
    std::fs::write(p.join(".gitignore"), "target/\n*.log\n").unwrap();
    std::fs::write(p.join(".auraignore"), "node_modules/\n").unwrap();
    std::fs::write(p.join("src/main.rs"), "fn main() {\n    let answer = 42;\n    println!(\"{answer}\");\n}\n")
        .unwrap();
    std::fs::write(p.join("src/util/strings.rs"), "pub fn Answer() -> &'static str { \"answer: ünïcode\" }\n").unwrap();
    std::fs::write(p.join("node_modules/dep/index.js"), "const answer = 1;\n").unwrap();
    std::fs::write(p.join("target/debug/out.txt"), "answer\n").unwrap();
    std::fs::write(p.join("debug.log"), "answer\n").unwrap();
    std::fs::write(p.join(".git/objects/x"), "answer\n").unwrap();
    std::fs::write(p.join("docs/Zeta.md"), "# answer\n").unwrap();
    std::fs::write(p.join("docs/alpha.md"), "nothing\n").unwrap();
    std::fs::write(p.join("bin.dat"), b"answer\0\0\0binary").unwrap();
    let root = ProjectRoot::open(p).unwrap();
    (dir, root)
}

#[test]
fn listing_is_one_level_sorted_and_flags_ignored() {
    let (_d, root) = project();
    let top = list_dir(&root, "").unwrap();
    let names: Vec<_> = top.iter().map(|e| (e.name.as_str(), e.ignored)).collect();
    assert_eq!(
        names,
        vec![
            ("docs", false),
            ("node_modules", true),
            ("src", false),
            ("target", true),
            (".auraignore", false),
            (".gitignore", false),
            ("bin.dat", false),
            ("debug.log", true),
        ],
        ".git is hidden, folders first, case-insensitive order"
    );
    let docs = list_dir(&root, "docs").unwrap();
    assert_eq!(docs.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(), ["docs/alpha.md", "docs/Zeta.md"]);
    assert_eq!(docs[0].kind, EntryKind::File);
    assert_eq!(docs[0].size, 8);
    // Nested ignore rules apply below the root too.
    let t = list_dir(&root, "target").unwrap();
    assert!(t.iter().all(|e| e.ignored));
}

#[test]
fn listing_a_file_or_missing_folder_is_an_error() {
    let (_d, root) = project();
    assert!(list_dir(&root, "src/main.rs").is_err());
    assert!(list_dir(&root, "nope").is_err());
}

fn q(pattern: &str) -> SearchQuery {
    SearchQuery { pattern: pattern.into(), regex: false, case_sensitive: false, whole_word: false, max_results: None }
}

#[test]
fn search_respects_ignore_rules_and_skips_binaries() {
    let (_d, root) = project();
    let res = search(&root, &q("answer")).unwrap();
    let mut paths: Vec<_> = res.matches.iter().map(|m| m.path.as_str()).collect();
    paths.dedup();
    assert_eq!(paths, ["docs/Zeta.md", "src/main.rs", "src/util/strings.rs"]);
    assert_eq!(res.files_with_matches, 3);
    assert!(!res.truncated);
}

#[test]
fn search_modes() {
    let (_d, root) = project();
    let case = search(&root, &SearchQuery { case_sensitive: true, ..q("Answer") }).unwrap();
    assert_eq!(case.matches.len(), 1);
    let word = search(&root, &SearchQuery { whole_word: true, ..q("answe") }).unwrap();
    assert!(word.matches.is_empty());
    let re = search(&root, &SearchQuery { regex: true, ..q(r"let \w+ = \d+") }).unwrap();
    assert_eq!(re.matches.len(), 1);
    assert_eq!(re.matches[0].line_number, 2);
    assert_eq!(re.matches[0].ranges, vec![(4, 19)]);
    // Plain text is literal: regex metacharacters match themselves.
    let lit = search(&root, &q("{answer}")).unwrap();
    assert_eq!(lit.matches.len(), 1);
    // Ranges are UTF-16 offsets.
    let uni = search(&root, &q("ünïcode")).unwrap();
    let m = &uni.matches[0];
    let (s, e) = m.ranges[0];
    let utf16: Vec<u16> = m.line.encode_utf16().collect();
    assert_eq!(String::from_utf16(&utf16[s as usize..e as usize]).unwrap(), "ünïcode");
    assert!(search(&root, &SearchQuery { regex: true, ..q("(unclosed") })
        .unwrap_err()
        .to_string()
        .contains("invalid search"));
    assert!(search(&root, &q("")).is_err());
}

#[test]
fn search_stops_at_the_limit() {
    let (d, root) = project();
    let many: String = (0..500).map(|i| format!("needle {i}\n")).collect();
    std::fs::write(d.path().join("many.txt"), many).unwrap();
    let res = search(&root, &SearchQuery { max_results: Some(100), ..q("needle") }).unwrap();
    assert_eq!(res.matches.len(), 100);
    assert!(res.truncated);
}

#[test]
fn quick_open_ranks_file_names() {
    let (_d, root) = project();
    let found = find_files(&root, "strings", 10);
    assert_eq!(found.first().map(String::as_str), Some("src/util/strings.rs"));
    assert!(find_files(&root, "index", 10).is_empty(), "ignored files are not offered");
    assert_eq!(find_files(&root, "smr", 10).first().map(String::as_str), Some("src/main.rs"));
}

#[test]
fn a_saved_session_is_listed_at_once_parents_first_and_gone_folders_left_out() {
    let (_d, root) = project();
    let expanded = ["src/util", "src", "gone", "src/gone", "docs/alpha.md"].map(String::from);
    let listed = list_session(&root, &expanded);
    let dirs: Vec<_> = listed.iter().map(|l| l.dir.as_str()).collect();
    assert_eq!(dirs, vec!["", "src", "src/util"]);
    assert_eq!(listed[2].entries.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(), vec!["src/util/strings.rs"]);
    // A child whose parent is not expanded is not shown, so not listed.
    assert_eq!(list_session(&root, &["src/util".to_string()]).len(), 1);
}
