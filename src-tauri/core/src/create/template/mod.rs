//! New projects from the starters that ship with Aura: our own small files with pinned versions,
//! so creating works offline; the dependencies install in the sandbox at the first ▶ Run.

mod node;
mod python;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{prepare_dest, CreateError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Framework {
    React,
    Next,
    Vue,
    Svelte,
    Angular,
    Express,
    Flask,
    Fastapi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum PackageManager {
    Npm,
    Pnpm,
    Yarn,
    Bun,
}

impl PackageManager {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Npm => "npm",
            Self::Pnpm => "pnpm",
            Self::Yarn => "yarn",
            Self::Bun => "bun",
        }
    }
}

/// What the wizard asks.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct NewProject {
    pub name: String,
    /// The folder the project folder is made in.
    pub parent: PathBuf,
    pub framework: Framework,
    pub typescript: bool,
    pub eslint: bool,
    pub prettier: bool,
    pub tailwind: bool,
    pub package_manager: PackageManager,
    /// More packages (`zod`, `@tanstack/react-query@5`, `requests==2.32.3`).
    pub extra: Vec<String>,
}

/// Which options a framework offers (the wizard shows only these), and its dev server.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct FrameworkInfo {
    pub framework: Framework,
    pub title: String,
    /// The wizard offers TypeScript as a choice.
    pub typescript_optional: bool,
    /// The starter is TypeScript whatever is chosen (Next.js, Angular).
    pub typescript_always: bool,
    pub eslint: bool,
    pub prettier: bool,
    pub tailwind: bool,
    pub node: bool,
    pub dev: String,
    pub port: u16,
}

pub fn frameworks() -> Vec<FrameworkInfo> {
    use Framework::*;
    let f =
        |framework, title: &str, ts: (bool, bool), eslint, prettier, tailwind, node, dev: &str, port| FrameworkInfo {
            framework,
            title: title.into(),
            typescript_optional: ts.0,
            typescript_always: ts.1,
            eslint,
            prettier,
            tailwind,
            node,
            dev: dev.into(),
            port,
        };
    vec![
        f(React, "React (Vite)", (true, false), true, true, true, true, "vite", 5173),
        f(Next, "Next.js", (false, true), false, true, true, true, "next dev", 3000),
        f(Vue, "Vue (Vite)", (true, false), false, true, true, true, "vite", 5173),
        f(Svelte, "Svelte (Vite)", (true, false), false, true, true, true, "vite", 5173),
        f(Angular, "Angular", (false, true), false, true, false, true, "ng serve", 4200),
        f(Express, "Node.js / Express", (true, false), true, true, false, true, "node --watch", 3000),
        f(Flask, "Python / Flask", (false, false), false, false, false, false, "flask run --debug", 5000),
        f(Fastapi, "Python / FastAPI", (false, false), false, false, false, false, "uvicorn --reload", 8000),
    ]
}

/// The package managers found on this machine's PATH (what a local sandbox can run).
pub fn package_managers() -> Vec<PackageManager> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    [PackageManager::Npm, PackageManager::Pnpm, PackageManager::Yarn, PackageManager::Bun]
        .into_iter()
        .filter(|pm| std::env::split_paths(&path).any(|d| d.join(pm.as_str()).is_file()))
        .collect()
}

/// 2 to 64 letters, digits, `-` or `_`, starting with a letter or digit.
pub fn check_name(name: &str) -> Result<(), CreateError> {
    let ok = (2..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(CreateError::BadName(name.to_string()))
    }
}

/// An extra npm package: `name`, `@scope/name`, optionally `@version`.
pub fn npm_package(spec: &str) -> Result<(String, String), CreateError> {
    let bad = || CreateError::BadPackage(spec.to_string());
    let (name, version) = match spec.strip_prefix('@') {
        Some(rest) => match rest.split_once('@') {
            Some((n, v)) => (format!("@{n}"), v.to_string()),
            None => (spec.to_string(), "latest".to_string()),
        },
        None => match spec.split_once('@') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => (spec.to_string(), "latest".to_string()),
        },
    };
    let part_ok = |p: &str| {
        !p.is_empty()
            && !p.starts_with(['.', '_'])
            && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._~".contains(c))
    };
    let name_ok = name.len() <= 214
        && match name.strip_prefix('@') {
            Some(scoped) => scoped.split_once('/').is_some_and(|(s, n)| part_ok(s) && part_ok(n)),
            None => part_ok(&name),
        };
    let version_ok =
        !version.is_empty() && version.chars().all(|c| c.is_ascii_alphanumeric() || ".-^~<>=|* ".contains(c));
    if name_ok && version_ok {
        Ok((name, version))
    } else {
        Err(bad())
    }
}

/// An extra Python requirement: a name, optionally `==`/`>=`/`~=` and a version.
pub fn python_requirement(spec: &str) -> Result<String, CreateError> {
    let name_end = spec.find(|c: char| !(c.is_ascii_alphanumeric() || "-_.[]".contains(c))).unwrap_or(spec.len());
    let (name, rest) = spec.split_at(name_end);
    let rest_ok = rest.is_empty()
        || ["==", ">=", "~=", "<="].iter().any(|op| {
            rest.strip_prefix(op)
                .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '.'))
        });
    if !name.is_empty() && name.starts_with(|c: char| c.is_ascii_alphanumeric()) && rest_ok {
        Ok(spec.to_string())
    } else {
        Err(CreateError::BadPackage(spec.to_string()))
    }
}

/// The starter's files for `p`.
pub fn files(p: &NewProject) -> Result<Vec<(String, String)>, CreateError> {
    check_name(&p.name)?;
    let extra: Vec<String> = p.extra.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    match p.framework {
        Framework::Flask | Framework::Fastapi => {
            let reqs = extra.iter().map(|s| python_requirement(s)).collect::<Result<Vec<_>, _>>()?;
            Ok(python::files(p, &reqs))
        }
        _ => {
            let deps = extra.iter().map(|s| npm_package(s)).collect::<Result<Vec<_>, _>>()?;
            Ok(node::files(p, &deps))
        }
    }
}

/// Writes the starter into `parent/name` (new, or empty); returns the project folder.
pub fn create(p: &NewProject) -> Result<PathBuf, CreateError> {
    let files = files(p)?;
    let dest = prepare_dest(&p.parent.join(&p.name))?;
    let write = || -> std::io::Result<()> {
        for (rel, text) in &files {
            let path = dest.path().join(rel);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(path, text)?;
        }
        Ok(())
    };
    if let Err(e) = write() {
        dest.undo();
        return Err(CreateError::Io(format!("cannot write the starter: {e}")));
    }
    Ok(dest.path().to_path_buf())
}
