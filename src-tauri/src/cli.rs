//! Command-line arguments: `aura [PROJECT_FOLDER]`.
//!
//! Options (anything starting with `-`, such as the `--automation` flag WebDriver passes) are
//! ignored; the first other argument is the folder to open.

use std::ffi::OsString;
use std::path::PathBuf;

#[derive(Debug, Default, Clone)]
pub struct StartupArgs {
    pub project: Option<PathBuf>,
}

impl StartupArgs {
    pub fn parse(args: impl Iterator<Item = OsString>) -> Self {
        let project = args
            .filter(|a| !a.to_string_lossy().starts_with('-'))
            .map(PathBuf::from)
            .next()
            .map(|p| std::path::absolute(&p).unwrap_or(p));
        Self { project }
    }
}
