//! The sample project bundled with Aura, written out when there is nothing else to open.

use std::path::Path;

/// (relative path, content) of every file of the sample.
const HELLO_WEB: &[(&str, &str)] = &[
    ("README.md", include_str!("../samples/hello-web/README.md")),
    ("package.json", include_str!("../samples/hello-web/package.json")),
    ("server.js", include_str!("../samples/hello-web/server.js")),
    (".gitignore", include_str!("../samples/hello-web/.gitignore")),
    ("public/index.html", include_str!("../samples/hello-web/public/index.html")),
    ("public/app.js", include_str!("../samples/hello-web/public/app.js")),
    ("public/style.css", include_str!("../samples/hello-web/public/style.css")),
];

/// Writes the sample into `dir` unless it already exists there; never overwrites a file.
pub fn ensure_sample(dir: &Path) -> std::io::Result<()> {
    for (rel, content) in HELLO_WEB {
        let path = dir.join(rel);
        if path.exists() {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, content)?;
    }
    Ok(())
}
