//! End-to-end encryption of a project, from the service's side: making a project encrypted
//! (a new one, or converting one that already synced in plaintext, history included), a new
//! recovery phrase, and the phrase entered on a machine without the key.
//!
//! An encrypted project lives at a place in the bucket whose name says nothing of it
//! (`e-<random>`); converting moves the project there and leaves only a pointer at its old,
//! plaintext place (see `engine::convert_history`).

use super::*;

/// The settings key holding the place a conversion of `project_id` is going to (a conversion
/// cut short resumes there, with the same key).
fn converting_key(project_id: i64) -> String {
    format!("sync.converting.{project_id}")
}

/// The settings key holding a plaintext place left to delete after `project_id` moved.
fn left_key(project_id: i64) -> String {
    format!("sync.plaintext_left.{project_id}")
}

/// Wraps `key` with a new recovery phrase (Argon2id, off the async threads).
async fn new_phrase(key: &ProjectKey) -> Result<(RecoveryPhrase, WrappedKey), SyncError> {
    let key = ProjectKey::from_bytes(*key.as_bytes());
    tokio::task::spawn_blocking(move || {
        let phrase = RecoveryPhrase::generate();
        let wrapped = WrappedKey::wrap(&key, phrase.as_str(), KdfParams::DEFAULT)
            .map_err(|e| SyncError::Phrase(e.to_string()))?;
        Ok((phrase, wrapped))
    })
    .await
    .map_err(|e| SyncError::Invalid(e.to_string()))?
}

impl SyncService {
    fn keychain<T>(&self, r: Result<T, crate::secrets::SecretsError>) -> Result<T, SyncError> {
        r.map_err(|e| SyncError::Invalid(e.to_string()))
    }

    /// Whether project `project_id` syncs end-to-end encrypted (this machine holds its key).
    pub fn encrypted(&self, project_id: i64) -> Result<bool, SyncError> {
        let key = self.store.sync_key(project_id)?;
        Ok(self.keychain(self.secrets.project_key(&key))?.is_some())
    }

    /// Makes project `project_id` (the open one) end-to-end encrypted: a new project key, kept
    /// in the keychain and, wrapped by a new recovery phrase, in the bucket. A project with
    /// snapshots in the bucket is converted, its whole history re-stored sealed, and its old
    /// plaintext objects deleted. Returns the phrase, to be shown once.
    pub async fn encrypt_project(&self, project_id: i64) -> Result<String, SyncError> {
        let root = match self.open.lock().clone() {
            Some((id, root)) if id == project_id => root,
            _ => return Err(SyncError::Invalid("open the project to encrypt it".into())),
        };
        let key = self.store.sync_key(project_id)?;
        let (from, opts) = make_target(&self.store, &self.secrets, &key)?;
        if from.cipher().is_some() || from.wrapped_key().await?.is_some() {
            return Err(SyncError::Invalid("this project is end-to-end encrypted already".into()));
        }
        let has_history = from.head().await?.is_some();
        // The new place, and its key: those of a conversion cut short, or new ones.
        let resumed = match self.store.setting(&converting_key(project_id))? {
            Some(k) => self.keychain(self.secrets.project_key(&k))?.map(|pk| (k, pk)),
            None => None,
        };
        let (new_key, project_key) = match resumed {
            Some((k, pk)) => (
                k,
                ProjectKey::from_text(pk.expose())
                    .ok_or_else(|| SyncError::Invalid("the keychain's project key is not a key".into()))?,
            ),
            None => {
                let (k, pk) = (format!("e-{}", uuid::Uuid::new_v4().simple()), ProjectKey::generate());
                self.keychain(self.secrets.set_project_key(&k, &pk.to_text()))?;
                self.store.set_setting(&converting_key(project_id), Some(&k))?;
                (k, pk)
            }
        };
        let (phrase, wrapped) = new_phrase(&project_key).await?;
        let (to, _) = make_target(&self.store, &self.secrets, &new_key)?;
        to.put_wrapped_key(&wrapped).await?;
        let carried = if has_history {
            Some(self.convert(project_id, &root, (&from, &key), &to, &new_key, &opts).await?)
        } else {
            self.store.rebind_sync_key(project_id, &new_key, (&left_key(project_id), &key))?;
            None
        };
        self.store.set_setting(&converting_key(project_id), None)?;
        if let Some(old) = self.plaintext_left(project_id) {
            delete_left(&self.store, &old, project_id).await;
        }
        self.restart();
        if let (Some(n), Some(a)) = (carried, self.active.lock().clone()) {
            let gone = match self.store.setting(&left_key(project_id)) {
                Ok(None) => "deleted",
                _ => "not deleted yet (tried again at the next start)",
            };
            let what = format!(
                "encrypted end to end: {n} snapshots stored again sealed as {new_key}; the plaintext copy {key} {gone}"
            );
            push_event(&a, SyncEventKind::Snapshot, None, what);
        }
        Ok(phrase.as_str().to_string())
    }

    /// Carries the history to the new place with passes held, then binds the project to it.
    /// The old place is noted for deletion only once the swap made the new one the project's,
    /// in the same transaction that rebinds the project.
    async fn convert(
        &self,
        project_id: i64,
        root: &ProjectRoot,
        (from, old_key): (&Bucket, &str),
        to: &Bucket,
        new_key: &str,
        opts: &PushOptions,
    ) -> Result<usize, SyncError> {
        let active = self.active.lock().clone();
        let _held = match &active {
            Some(a) => Some(a.pass.lock().await),
            None => None,
        };
        let shown = |done: usize, total: usize| {
            let mut s = active.as_ref().map(|a| a.status.lock().clone()).unwrap_or_else(|| SyncStatus::off(""));
            s.state = SyncState::Syncing;
            s.message = Some(format!("encrypting the history: {done} of {total} snapshots"));
            s.progress = Some((done as u64, total as u64));
            (self.on_status)(&s);
        };
        let (head, etag) = engine::convert_history(from, to, new_key, opts, &shown).await?;
        self.close();
        self.store.rebind_sync_key(project_id, new_key, (&left_key(project_id), old_key))?;
        let sync = ProjectSync { root, store: &self.store, project_id, bucket: to, opts };
        sync.settle_after_move(&head, &etag).await?;
        Ok(to.list_snapshots().await?.len())
    }

    /// The plaintext place project `project_id` moved from, while what it held is not yet
    /// deleted (the worker deletes it when it starts, if this pass could not).
    pub(super) fn plaintext_left(&self, project_id: i64) -> Option<Bucket> {
        let old = self.store.setting(&left_key(project_id)).ok()??;
        let settings = self.store.bucket_settings().ok()?;
        target_for(&settings, &self.secrets, &old).ok().map(|t| t.0)
    }

    /// A new recovery phrase for the open, encrypted project: its key wrapped again; the old
    /// phrase no longer opens it. (Machines that have the key keep it.) Returns the phrase.
    pub async fn change_phrase(&self, project_id: i64) -> Result<String, SyncError> {
        let key = self.store.sync_key(project_id)?;
        let pk = self
            .keychain(self.secrets.project_key(&key))?
            .ok_or_else(|| SyncError::Invalid("this project is not end-to-end encrypted on this machine".into()))?;
        let pk = ProjectKey::from_text(pk.expose())
            .ok_or_else(|| SyncError::Invalid("the keychain's project key is not a key".into()))?;
        let (t, _) = make_target(&self.store, &self.secrets, &key)?;
        if t.wrapped_key().await?.is_none() {
            return Err(SyncError::Invalid("the bucket has no key of this project to wrap again".into()));
        }
        let (phrase, wrapped) = new_phrase(&pk).await?;
        t.put_wrapped_key(&wrapped).await?;
        Ok(phrase.as_str().to_string())
    }

    /// The recovery phrase typed on a machine that has not the key of the open project: it was
    /// made encrypted elsewhere (in place, or converted and moved). The key is kept in the
    /// keychain, the project follows where it moved, and sync starts again.
    pub async fn enter_phrase(&self, phrase: &str) -> Result<(), SyncError> {
        let Some((project_id, root)) = self.open.lock().clone() else {
            return Err(SyncError::Invalid("no project is open".into()));
        };
        let key = self.store.sync_key(project_id)?;
        let now = self.follow_moves(&key).await?;
        self.unlock(&now, Some(phrase)).await?;
        if now != key {
            self.close();
            let (to, opts) = make_target(&self.store, &self.secrets, &now)?;
            let (head, etag) = to.head().await?.ok_or_else(|| SyncError::Missing { key: format!("{now}/HEAD") })?;
            self.store.set_sync_key(project_id, &now)?;
            let sync = ProjectSync { root: &root, store: &self.store, project_id, bucket: &to, opts: &opts };
            sync.settle_after_move(&head, &etag).await?;
        }
        self.restart();
        Ok(())
    }

    /// Where project `key` is now: following the pointers of converted projects.
    pub(super) async fn follow_moves(&self, key: &str) -> Result<String, SyncError> {
        let mut key = valid_key(key)?;
        for _ in 0..4 {
            let (t, _) = make_target(&self.store, &self.secrets, &key)?;
            if t.cipher().is_some() || t.wrapped_key().await?.is_some() {
                return Ok(key);
            }
            match t.moved_to().await? {
                Some(to) => key = valid_key(&to)?,
                None => return Ok(key),
            }
        }
        Err(SyncError::Invalid(format!("project {key} moved too many times")))
    }

    /// An encrypted project's key from its recovery phrase, kept in this machine's keychain;
    /// nothing for a plaintext project. A missing or wrong phrase is refused before anything
    /// of the project is read.
    pub(super) async fn unlock(&self, key: &str, phrase: Option<&str>) -> Result<(), SyncError> {
        let (t, _) = make_target(&self.store, &self.secrets, key)?;
        if t.cipher().is_some() {
            return Ok(());
        }
        let Some(wrapped) = t.wrapped_key().await? else { return Ok(()) };
        let phrase = phrase.filter(|p| !p.trim().is_empty()).ok_or(SyncError::PhraseNeeded)?;
        let unwrapped = tokio::task::spawn_blocking({
            let phrase = phrase.to_string();
            move || wrapped.unwrap(&phrase)
        })
        .await
        .map_err(|e| SyncError::Invalid(e.to_string()))?;
        let project_key = unwrapped.map_err(|e| SyncError::Phrase(e.to_string()))?;
        self.keychain(self.secrets.set_project_key(key, &project_key.to_text()))
    }
}

/// Deletes what is left at the plaintext place `old` project `project_id` moved from (its
/// pointer stays); kept to do again if it fails.
pub(super) async fn delete_left(store: &Store, old: &Bucket, project_id: i64) {
    match old.delete_all_but_head().await {
        Ok(n) => {
            tracing::info!(objects = n, "the plaintext copy of a converted project was deleted");
            if let Err(e) = store.set_setting(&left_key(project_id), None) {
                tracing::warn!(error = %e, "a deleted plaintext copy is still noted");
            }
        }
        Err(e) => tracing::warn!(error = %e, "the plaintext copy of a converted project is not deleted yet"),
    }
}
