//! Installing a verified package with the system package manager, for an Aura running as root
//! (the updater plugin's own path asks for privileges through pkexec or sudo, which root neither
//! needs nor, on a minimal system, has).

use std::process::Command;

use super::UpdateError;

pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Writes `bytes` (already signature-checked) to a private temp file and installs it with
/// `dpkg -i` or `rpm -U`. The package manager's own output is the error when it refuses.
pub fn install_as_root(bytes: &[u8], installer: &str) -> Result<(), UpdateError> {
    let (tool, arg) = match installer {
        "deb" => ("dpkg", "-i"),
        "rpm" => ("rpm", "-U"),
        other => return Err(UpdateError::InstallFailed(format!("Aura cannot install {other} packages itself"))),
    };
    let dir = tempfile::Builder::new()
        .prefix("aura-update")
        .tempdir()
        .map_err(|e| UpdateError::InstallFailed(format!("no temporary folder: {e}")))?;
    let file = dir.path().join(format!("aura.{installer}"));
    std::fs::write(&file, bytes)
        .map_err(|e| UpdateError::InstallFailed(format!("cannot write {}: {e}", file.display())))?;
    let out = Command::new(tool)
        .arg(arg)
        .arg(&file)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .map_err(|e| UpdateError::InstallFailed(format!("cannot run {tool}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let last: Vec<&str> = text.lines().rev().take(3).collect();
    Err(UpdateError::InstallFailed(format!(
        "{tool} {arg} exited with {}: {}",
        out.status,
        last.into_iter().rev().collect::<Vec<_>>().join(" / ")
    )))
}
