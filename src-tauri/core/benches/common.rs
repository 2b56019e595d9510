//! Helpers shared by the benchmarks: timing and generated trees.

#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

/// Runs `f` `n` times and returns the sorted durations.
pub fn sample(n: usize, mut f: impl FnMut()) -> Vec<Duration> {
    let mut v: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v
}

pub fn median(v: &[Duration]) -> Duration {
    v[v.len() / 2]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A 100k-file project: `dirs` folders of `per_dir` small source files, plus a few at the root.
/// Every 97th file contains `NEEDLE`.
pub const NEEDLE: &str = "aura_needle_4471";

pub fn generate_tree(root: &Path, dirs: usize, per_dir: usize) {
    std::fs::write(root.join(".gitignore"), "target/\n").unwrap();
    for i in 0..20 {
        std::fs::write(root.join(format!("root_{i}.txt")), "root file\n").unwrap();
    }
    let mut n = 0usize;
    for d in 0..dirs {
        let dir = root.join(format!("pkg_{d:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..per_dir {
            n += 1;
            let body = if n.is_multiple_of(97) {
                format!("fn f{n}() {{\n    let x = \"{NEEDLE}\";\n}}\n")
            } else {
                format!("fn f{n}() {{\n    let x = {n};\n    println!(\"{{x}}\");\n}}\n")
            };
            std::fs::write(dir.join(format!("file_{f:04}.rs")), body).unwrap();
        }
    }
}
