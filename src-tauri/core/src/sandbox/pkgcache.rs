//! Package caches of local sandboxes: one per project, kept between sandboxes (its `~/.cache`,
//! so a second install is served from it), and npm's tarballs shared between projects without
//! trusting any of them.
//!
//! A project's cache is written by the code in its sandbox, so it is never shared as it is. npm
//! names each tarball in its cache by its sha512 (cacache's `content-v2/sha512/ab/cd/…`) and,
//! with a lockfile, reads it by that digest and checks it again. So after an install the host
//! copies into a store only it writes the tarballs whose content matches their name; before an
//! install it copies into the project's cache the tarballs the project's lockfile names (by
//! integrity) that the store has. A project can spoil only its own cache: a file whose content
//! is not its name never leaves it, and what it reads from the store is what its lockfile asked
//! for, byte for byte. Every host-side access to a project's cache goes through a directory
//! capability without following links (the sandbox can plant them).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};
use parking_lot::Mutex;
use sha2::Digest;

use crate::paths::ProjectRoot;

/// Where npm keeps tarballs under the sandbox's `~/.cache` (`npm_config_cache` is `~/.cache/npm`;
/// cacache lives in its `_cacache`).
const NPM_CONTENT: &str = "npm/_cacache/content-v2/sha512";

/// The store's folder under the caches' base (project folders are 16 hex digits).
const SHARED: &str = "shared-npm-sha512";

/// How a tarball (gzip) begins.
const GZIP: &[u8] = &[0x1f, 0x8b];

/// Tarballs larger than this are not shared (none of a registry's are).
const MAX_TARBALL: u64 = 512 * 1024 * 1024;

/// The lockfiles whose integrities name the tarballs an install needs.
const LOCKFILES: &[&str] = &["package-lock.json", "npm-shrinkwrap.json"];

/// What a seeding or a harvest did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Shared {
    /// Tarballs copied.
    pub copied: usize,
    /// Files refused: content that does not match its name, or not a plain file.
    pub refused: usize,
}

#[derive(Default, Clone)]
pub struct PackageCaches {
    base: std::sync::Arc<Mutex<Option<PathBuf>>>,
}

impl PackageCaches {
    /// Keeps the caches under `dir` (one folder per project, and the shared store).
    pub fn set_base(&self, dir: PathBuf) {
        *self.base.lock() = Some(dir);
    }

    /// `root`'s cache folder (made if missing); none when there are no caches or it cannot be
    /// made. `install` tells this installation's projects from another's on a shared disk.
    pub fn project_dir(&self, install: &str, root: &ProjectRoot) -> Option<PathBuf> {
        let base = self.base.lock().clone()?;
        let key = blake3::hash(format!("{install}\n{}", root.path().display()).as_bytes()).to_hex()[..16].to_string();
        let dir = base.join(key);
        match std::fs::create_dir_all(&dir) {
            Ok(()) => Some(dir),
            Err(e) => {
                tracing::warn!(error = %e, dir = %dir.display(), "no package cache for this project");
                None
            }
        }
    }

    /// The shared store (made if missing).
    fn store(&self) -> Option<PathBuf> {
        let dir = self.base.lock().clone()?.join(SHARED);
        std::fs::create_dir_all(&dir).ok()?;
        Some(dir)
    }

    /// Before an install: the tarballs `root`'s lockfile names that the store has and the
    /// project's cache `cache` lacks are copied into it.
    pub fn seed(&self, root: &ProjectRoot, cache: &Path) -> std::io::Result<Shared> {
        let Some(store) = self.store() else { return Ok(Shared::default()) };
        let Some(lock) = read_lockfile(root) else { return Ok(Shared::default()) };
        seed(&store, cache, &integrities(&lock))
    }

    /// After a successful install: the tarballs in the project's cache `cache` whose content
    /// matches their name, and that the store lacks, are copied into it.
    pub fn harvest(&self, cache: &Path) -> std::io::Result<Shared> {
        let Some(store) = self.store() else { return Ok(Shared::default()) };
        harvest(&store, cache)
    }
}

/// The project's lockfile, read through its capability (none when it has none or it is huge).
fn read_lockfile(root: &ProjectRoot) -> Option<String> {
    let dir = root.dir().ok()?;
    LOCKFILES.iter().find_map(|name| {
        let f = crate::paths::open_read(&dir, Path::new(name)).ok()?;
        let mut text = String::new();
        f.take(64 * 1024 * 1024).read_to_string(&mut text).ok()?;
        Some(text)
    })
}

/// The sha512 digests (hex) a lockfile names: `packages` (lockfile v2/v3) and `dependencies`
/// (v1, nested), each entry's `integrity` ("sha512-<base64>", maybe among other hashes).
pub fn integrities(lockfile: &str) -> Vec<String> {
    fn walk(deps: &serde_json::Map<String, serde_json::Value>, out: &mut Vec<String>) {
        for entry in deps.values() {
            if let Some(i) = entry.get("integrity").and_then(|i| i.as_str()) {
                out.extend(sha512_hex(i));
            }
            if let Some(nested) = entry.get("dependencies").and_then(|d| d.as_object()) {
                walk(nested, out);
            }
        }
    }
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(lockfile) else { return Vec::new() };
    let mut out = Vec::new();
    for key in ["packages", "dependencies"] {
        if let Some(deps) = doc.get(key).and_then(|d| d.as_object()) {
            walk(deps, &mut out);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The sha512 of an SRI string, in hex.
fn sha512_hex(sri: &str) -> Option<String> {
    use base64::Engine;
    let b64 = sri.split_whitespace().find_map(|h| h.strip_prefix("sha512-"))?;
    let b64 = b64.split('?').next()?;
    let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    (raw.len() == 64).then(|| raw.iter().map(|b| format!("{b:02x}")).collect())
}

/// cacache's path of a digest: `ab/cd/ef01…`.
fn content_path(hex: &str) -> PathBuf {
    Path::new(&hex[..2]).join(&hex[2..4]).join(&hex[4..])
}

fn is_digest(hex: &str) -> bool {
    hex.len() == 128 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Reads a plain file of the project's cache (never through a link), up to [`MAX_TARBALL`].
fn read_plain(dir: &Dir, rel: &Path) -> Option<Vec<u8>> {
    let mut opts = OpenOptions::new();
    opts.read(true).follow(FollowSymlinks::No);
    let mut f = dir.open_with(rel, &opts).ok()?;
    let meta = f.metadata().ok()?;
    if !meta.is_file() || meta.len() > MAX_TARBALL {
        return None;
    }
    let mut body = Vec::with_capacity(meta.len() as usize);
    f.read_to_end(&mut body).ok()?;
    Some(body)
}

fn seed(store: &Path, cache: &Path, digests: &[String]) -> std::io::Result<Shared> {
    let mut done = Shared::default();
    let wanted: Vec<&String> = digests.iter().filter(|d| store.join(content_path(d)).is_file()).collect();
    if wanted.is_empty() {
        return Ok(done);
    }
    let dir = Dir::open_ambient_dir(cache, ambient_authority())?;
    dir.create_dir_all(NPM_CONTENT)?;
    let content = dir.open_dir_nofollow(NPM_CONTENT)?;
    for hex in wanted {
        let rel = content_path(hex);
        if content.symlink_metadata(&rel).is_ok() {
            continue;
        }
        let body = std::fs::read(store.join(&rel))?;
        let parent = rel.parent().expect("a digest's path has folders");
        content.create_dir_all(parent)?;
        // Written beside, then renamed: npm never sees half a tarball.
        let tmp = parent.join(format!(".aura-{}", &hex[4..16]));
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true).follow(FollowSymlinks::No);
        let _ = content.remove_file(&tmp);
        let mut f = content.open_with(&tmp, &opts)?;
        f.write_all(&body)?;
        drop(f);
        content.rename(&tmp, &content, &rel)?;
        done.copied += 1;
    }
    Ok(done)
}

fn harvest(store: &Path, cache: &Path) -> std::io::Result<Shared> {
    let mut done = Shared::default();
    let dir = Dir::open_ambient_dir(cache, ambient_authority())?;
    let Ok(content) = dir.open_dir_nofollow(NPM_CONTENT) else { return Ok(done) };
    for a in content.entries()?.flatten() {
        let (Ok(ta), Ok(na)) = (a.file_type(), a.file_name().into_string()) else { continue };
        if !ta.is_dir() || na.len() != 2 {
            continue;
        }
        let Ok(da) = a.open_dir() else { continue };
        for b in da.entries()?.flatten() {
            let (Ok(tb), Ok(nb)) = (b.file_type(), b.file_name().into_string()) else { continue };
            if !tb.is_dir() || nb.len() != 2 {
                continue;
            }
            let Ok(db) = b.open_dir() else { continue };
            for f in db.entries()?.flatten() {
                let Ok(name) = f.file_name().into_string() else { continue };
                let hex = format!("{na}{nb}{name}");
                if !is_digest(&hex) {
                    continue;
                }
                let target = store.join(content_path(&hex));
                if target.is_file() {
                    continue;
                }
                let plain = f.file_type().is_ok_and(|t| t.is_file());
                let body = if plain { read_plain(&db, Path::new(&name)) } else { None };
                // Registry answers (JSON) are cached beside the tarballs; only tarballs are
                // read by digest, so only they are worth sharing.
                if body.as_ref().is_some_and(|b| !b.starts_with(GZIP)) {
                    continue;
                }
                let Some(body) = body.filter(|b| hex_of(&sha2::Sha512::digest(b)) == hex) else {
                    done.refused += 1;
                    continue;
                };
                std::fs::create_dir_all(target.parent().expect("a digest's path has folders"))?;
                let tmp = target.with_extension("aura-tmp");
                std::fs::write(&tmp, &body)?;
                std::fs::rename(&tmp, &target)?;
                done.copied += 1;
            }
        }
    }
    Ok(done)
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sri(body: &[u8]) -> (String, String) {
        use base64::Engine;
        let d = sha2::Sha512::digest(body);
        (format!("sha512-{}", base64::engine::general_purpose::STANDARD.encode(d)), hex_of(&d))
    }

    #[test]
    fn a_lockfiles_integrities_are_read_from_every_version() {
        let (a, ha) = sri(b"a");
        let (b, hb) = sri(b"b");
        let v3 = serde_json::json!({ "lockfileVersion": 3, "packages": {
            "": { "name": "x" },
            "node_modules/a": { "integrity": a },
            "node_modules/b": { "integrity": format!("sha1-AAAA {b}") },
            "node_modules/c": { "integrity": "sha1-only" },
        }});
        let mut want = vec![ha.clone(), hb.clone()];
        want.sort();
        assert_eq!(integrities(&v3.to_string()), want);
        let v1 = serde_json::json!({ "lockfileVersion": 1, "dependencies": {
            "a": { "integrity": a, "dependencies": { "b": { "integrity": b } } },
        }});
        assert_eq!(integrities(&v1.to_string()), want);
        assert!(integrities("not json").is_empty());
    }

    /// What a sandbox left in its cache is shared only when its content is its name; a link is
    /// never followed; a seeded cache gets exactly what its lockfile names.
    #[test]
    fn only_content_that_is_its_name_is_shared_and_links_are_not_followed() {
        let t = tempfile::tempdir().unwrap();
        let (store, a, b) = (t.path().join("store"), t.path().join("a"), t.path().join("b"));
        std::fs::create_dir_all(&store).unwrap();
        let good = b"\x1f\x8b a tarball".to_vec();
        let (good_sri, good_hex) = sri(&good);
        let (_, other_hex) = sri(b"what the name says");
        let (_, link_hex) = sri(b"a host file");
        let put = |hex: &str, body: &[u8]| {
            let p = a.join(NPM_CONTENT).join(content_path(hex));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, body).unwrap();
        };
        put(&good_hex, &good);
        put(&other_hex, b"\x1f\x8b planted content");
        let (_, json_hex) = sri(b"{}");
        put(&json_hex, b"{}");
        let secret = t.path().join("host-secret");
        std::fs::write(&secret, b"a host file").unwrap();
        let link = a.join(NPM_CONTENT).join(content_path(&link_hex));
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&secret, &link).unwrap();

        assert_eq!(harvest(&store, &a).unwrap(), Shared { copied: 1, refused: 2 });
        assert!(store.join(content_path(&good_hex)).is_file());
        assert!(!store.join(content_path(&other_hex)).exists());
        assert!(!store.join(content_path(&link_hex)).exists());
        assert_eq!(harvest(&store, &a).unwrap().copied, 0, "once is enough");

        std::fs::create_dir_all(&b).unwrap();
        let lock = serde_json::json!({ "packages": { "node_modules/x": { "integrity": good_sri } } }).to_string();
        assert_eq!(seed(&store, &b, &integrities(&lock)).unwrap().copied, 1);
        assert_eq!(std::fs::read(b.join(NPM_CONTENT).join(content_path(&good_hex))).unwrap(), good);
        assert_eq!(seed(&store, &b, &integrities(&lock)).unwrap().copied, 0, "already there");
    }
}
