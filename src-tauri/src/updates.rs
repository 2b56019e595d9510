//! Self-update: the core judges what the server offers (`aura_core::update`), the updater plugin
//! downloads the package and verifies its signature, the package manager installs it, and the app
//! relaunches into the same project. Every refusal leaves the installed version as it was.

use aura_core::update::{self, Check, Offer, Target, UpdateError, UpdateProgress, UpdateSettings};
use parking_lot::Mutex;
use tauri::utils::config::BundleType;
use tauri::utils::platform::bundle_type;
use tauri::Url;
use tauri::{AppHandle, Manager};
use tauri_plugin_updater::UpdaterExt;

use crate::state::AppState;

/// What the last check offered (the install asks the plugin for exactly that version).
#[derive(Default)]
pub struct Updates {
    offered: Mutex<Option<(Url, String)>>,
}

/// The package this binary was installed from (the bundler patches it into the binary).
pub fn installer() -> Option<&'static str> {
    match bundle_type()? {
        BundleType::Deb => Some("deb"),
        BundleType::Rpm => Some("rpm"),
        BundleType::AppImage => Some("appimage"),
        _ => None,
    }
}

pub fn current_version(app: &AppHandle) -> String {
    app.package_info().version.to_string()
}

/// The endpoints the package was built with (`plugins.updater.endpoints` in tauri.conf.json).
pub fn packaged_endpoints(app: &AppHandle) -> Vec<String> {
    app.config()
        .plugins
        .0
        .get("updater")
        .and_then(|u| u.get("endpoints"))
        .and_then(|e| e.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

pub async fn check(app: &AppHandle) -> Result<Offer, UpdateError> {
    let settings = UpdateSettings::load(&app.state::<AppState>().store)?;
    let endpoint = settings.endpoint_or(&packaged_endpoints(app))?;
    let current = current_version(app);
    let updates = app.state::<Updates>();
    match update::check(&endpoint, &current, &Target::this_machine(installer())).await? {
        Check::UpToDate(offer) => {
            *updates.offered.lock() = None;
            Ok(offer)
        }
        Check::Available(offer, _) => {
            *updates.offered.lock() = Some((endpoint, offer.version.clone()));
            Ok(offer)
        }
    }
}

/// Downloads, verifies and installs the version the last check offered, then relaunches.
/// The window saves its buffers and session before it calls this.
pub async fn install(app: &AppHandle, progress: impl Fn(UpdateProgress)) -> Result<(), UpdateError> {
    let (endpoint, version) = app.state::<Updates>().offered.lock().clone().ok_or(UpdateError::NothingChecked)?;
    let installer = installer().ok_or_else(|| {
        let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "a build".into());
        UpdateError::NotPackaged(exe)
    })?;
    let updater = app.updater_builder().endpoints(vec![endpoint]).and_then(|b| b.build()).map_err(from_plugin)?;
    let pending = updater.check().await.map_err(from_plugin)?;
    let pending = match pending {
        Some(u) if u.version == version => u,
        other => {
            let then = other.map(|u| u.version).unwrap_or_else(|| "no update".into());
            return Err(UpdateError::Changed { first: version, then });
        }
    };
    let mut got = 0u64;
    let mut total = None;
    // At most one progress message per 50 ms: one per network chunk is thousands of IPC messages.
    let mut shown = std::time::Instant::now() - std::time::Duration::from_secs(1);
    let bytes = pending
        .download(
            |n, len| {
                got += n as u64;
                total = len;
                if shown.elapsed() >= std::time::Duration::from_millis(50) || Some(got) == total {
                    shown = std::time::Instant::now();
                    progress(UpdateProgress::Downloading { got, total });
                }
            },
            || {},
        )
        .await
        .map_err(|e| match e {
            tauri_plugin_updater::Error::Reqwest(e) if e.is_body() || e.is_decode() || e.is_timeout() => {
                UpdateError::DownloadCut {
                    got,
                    expected: total.map(|t| t.to_string()).unwrap_or_else(|| "an unknown number of".into()),
                    reason: e.to_string(),
                }
            }
            other => from_plugin(other),
        })?;

    // Never between a sync pass's upload and its commit: wait for it, then stop the worker. Its
    // journal is in the state database, so what is pending goes out after the relaunch.
    let state = app.state::<AppState>();
    state.sync.stop_after_pass(|| progress(UpdateProgress::WaitingForSync)).await;
    progress(UpdateProgress::Installing);
    let installed = tauri::async_runtime::spawn_blocking(move || {
        if update::running_as_root() {
            update::install_as_root(&bytes, installer)
        } else {
            pending.install(&bytes).map_err(from_plugin)
        }
    })
    .await
    .unwrap_or_else(|e| Err(UpdateError::InstallFailed(e.to_string())));
    if let Err(e) = installed {
        state.sync.restart();
        return Err(e);
    }
    progress(UpdateProgress::Restarting);
    tracing::info!("updated to {version}; relaunching");
    state.shutdown();
    app.restart()
}

/// The plugin's errors, as the user's cause.
fn from_plugin(e: tauri_plugin_updater::Error) -> UpdateError {
    use tauri_plugin_updater::Error as E;
    match e {
        E::Minisign(_)
        | E::Base64(_)
        | E::SignatureUtf8(_)
        | E::SignedVersionMismatch { .. }
        | E::MissingSignedVersion => UpdateError::BadSignature(e.to_string()),
        E::Reqwest(_) | E::Network(_) => UpdateError::Download(e.to_string()),
        E::ReleaseNotFound | E::Serialization(_) | E::TargetNotFound(_) | E::TargetsNotFound(_) => {
            UpdateError::Malformed(e.to_string())
        }
        E::InvalidUpdaterFormat | E::PackageInstallFailed | E::DebInstallFailed | E::AuthenticationFailed => {
            UpdateError::InstallFailed(e.to_string())
        }
        other => UpdateError::InstallFailed(other.to_string()),
    }
}
