//! The *Registries only* network: what a sandbox may reach by name, and asking the user about
//! the rest.
//!
//! A sandbox on this network has no route out at all (its namespace has loopback only). Its
//! HTTP and HTTPS go through Aura's proxy ([`proxy`]), listening on the sandbox's own loopback
//! (`HTTP_PROXY` / `HTTPS_PROXY` point there; CONNECT by host name, no TLS interception).
//! The proxy asks the [`Gatekeeper`]: a destination on the project's list ([`allowlist`]: the
//! package registries by default) passes; any other is held and shown to the user as a card
//! ("allow once / always for this project / deny"), the way agent calls are; a denied one fails
//! at once with "blocked by Aura's network policy". Whatever the list says, the proxy connects
//! only to public addresses (a name that resolves to a private one is refused: rebinding). Every
//! decision lands in a per-sandbox [`log`] the Sandbox panel shows. A project can carry hosts
//! it needs in `.aura/network.json` ([`project_file`]), offered to the user, never applied alone.

pub mod allowlist;
pub mod log;
pub mod project_file;
pub mod proxy;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use ts_rs::TS;

pub use allowlist::{Allowlist, REGISTRIES};
pub use log::{Connection, ConnectionLog, Verdict};

/// A destination waiting for the user.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct NetAsk {
    #[ts(type = "number")]
    pub id: u64,
    pub host: String,
    pub port: u16,
}

/// The user's answer to a [`NetAsk`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum NetAnswer {
    /// This connection (and any to the same place waiting with it).
    Once,
    /// From now on, for this project (added to its list).
    Always,
    Deny,
}

/// What the window hears.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
#[ts(export)]
pub enum NetEvent {
    /// A connection waits for the user.
    Ask(NetAsk),
    /// A question was answered or given up.
    Answered(#[ts(type = "number")] u64),
}

/// The gatekeeper as a sandbox's network plan holds it: equal when it is the same one.
#[derive(Clone)]
pub struct Gate(pub std::sync::Arc<Gatekeeper>);

impl PartialEq for Gate {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Gate {}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gate")
    }
}

/// Whether a connection may go ahead; `Err` is the sentence the sandboxed program gets.
pub type Decision = Result<(), String>;

struct Pending {
    ask: NetAsk,
    waiters: Vec<oneshot::Sender<bool>>,
}

type Listener<T> = RwLock<Option<Box<dyn Fn(T) + Send + Sync>>>;

/// The decisions of one app: the current project's list, the questions waiting, the log.
pub struct Gatekeeper {
    list: RwLock<Allowlist>,
    pending: Mutex<HashMap<u64, Pending>>,
    next_id: AtomicU64,
    log: Mutex<ConnectionLog>,
    on_event: Listener<NetEvent>,
    /// Keeps an "always" entry with the project's settings.
    on_always: Listener<String>,
    /// How long a connection waits for an answer before it is denied.
    patience: Duration,
}

impl Default for Gatekeeper {
    fn default() -> Self {
        Self::new(Duration::from_secs(300))
    }
}

impl Gatekeeper {
    pub fn new(patience: Duration) -> Self {
        Self {
            list: RwLock::new(Allowlist::parse(REGISTRIES).expect("the default list parses")),
            pending: Mutex::default(),
            next_id: AtomicU64::new(1),
            log: Mutex::default(),
            on_event: RwLock::new(None),
            on_always: RwLock::new(None),
            patience,
        }
    }

    /// The project's list (its settings' entries); an error names a bad entry.
    pub fn set_list<S: AsRef<str>>(&self, entries: &[S]) -> Result<(), String> {
        *self.list.write() = Allowlist::parse(entries)?;
        Ok(())
    }

    pub fn on_event(&self, f: impl Fn(NetEvent) + Send + Sync + 'static) {
        *self.on_event.write() = Some(Box::new(f));
    }

    pub fn on_always(&self, f: impl Fn(String) + Send + Sync + 'static) {
        *self.on_always.write() = Some(Box::new(f));
    }

    fn emit(&self, e: NetEvent) {
        if let Some(f) = self.on_event.read().as_ref() {
            f(e);
        }
    }

    /// May the sandbox reach `host:port`? Asks the user when it is not on the list.
    pub async fn decide(&self, host: &str, port: u16) -> Decision {
        let host = allowlist::normalize(host);
        if self.list.read().allows(&host, port) {
            self.record(&host, port, Verdict::Allowed, None);
            return Ok(());
        }
        let (id, rx, first) = self.enqueue(&host, port);
        if first {
            self.emit(NetEvent::Ask(NetAsk { id, host: host.clone(), port }));
        }
        let answer = tokio::time::timeout(self.patience, rx).await;
        if answer.is_err() && self.pending.lock().remove(&id).is_some() {
            self.emit(NetEvent::Answered(id));
        }
        match answer {
            Ok(Ok(true)) => {
                self.record(&host, port, Verdict::AllowedByUser, None);
                Ok(())
            }
            Ok(_) => self.refuse(&host, port, Verdict::Denied, format!("{host}:{port} was denied in Aura")),
            Err(_) => {
                self.refuse(&host, port, Verdict::Denied, format!("nobody allowed {host}:{port} in Aura in time"))
            }
        }
    }

    /// Joins the question about `host:port` already waiting, or makes one (`true`).
    fn enqueue(&self, host: &str, port: u16) -> (u64, oneshot::Receiver<bool>, bool) {
        let (tx, rx) = oneshot::channel();
        let mut pending = self.pending.lock();
        if let Some((id, p)) = pending.iter_mut().find(|(_, p)| p.ask.host == host && p.ask.port == port) {
            p.waiters.push(tx);
            return (*id, rx, false);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        pending.insert(id, Pending { ask: NetAsk { id, host: host.to_string(), port }, waiters: vec![tx] });
        (id, rx, true)
    }

    /// The user's answer; false when the question is no longer waiting.
    pub fn answer(&self, id: u64, answer: NetAnswer) -> bool {
        let Some(p) = self.pending.lock().remove(&id) else { return false };
        if answer == NetAnswer::Always {
            let entry = match p.ask.port {
                80 | 443 => p.ask.host.clone(),
                port if p.ask.host.contains(':') => format!("[{}]:{port}", p.ask.host),
                port => format!("{}:{port}", p.ask.host),
            };
            self.list.write().add(&entry);
            if let Some(f) = self.on_always.read().as_ref() {
                f(entry);
            }
        }
        for w in p.waiters {
            let _ = w.send(answer != NetAnswer::Deny);
        }
        self.emit(NetEvent::Answered(id));
        true
    }

    pub fn pending(&self) -> Vec<NetAsk> {
        let mut v: Vec<NetAsk> = self.pending.lock().values().map(|p| p.ask.clone()).collect();
        v.sort_by_key(|a| a.id);
        v
    }

    /// Records a refusal made elsewhere (the proxy's address check) and returns it.
    pub fn refuse(&self, host: &str, port: u16, verdict: Verdict, why: String) -> Decision {
        self.record(host, port, verdict, Some(why.clone()));
        Err(why)
    }

    /// Records a connection decided elsewhere (the Internet mode's filter).
    pub fn seen(&self, host: &str, port: u16, verdict: Verdict, reason: Option<String>) {
        self.record(host, port, verdict, reason);
    }

    fn record(&self, host: &str, port: u16, verdict: Verdict, reason: Option<String>) {
        self.log.lock().record(host, port, verdict, reason);
    }

    pub fn connections(&self) -> Vec<Connection> {
        self.log.lock().rows()
    }

    /// A new sandbox starts with an empty log.
    pub fn clear_log(&self) {
        self.log.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn listed_passes_others_wait_for_one_answer_always_is_kept() {
        let g = Arc::new(Gatekeeper::new(Duration::from_secs(30)));
        let events = Arc::new(Mutex::new(Vec::new()));
        let (e, kept) = (events.clone(), Arc::new(Mutex::new(Vec::new())));
        g.on_event(move |ev| e.lock().push(format!("{ev:?}")));
        let k = kept.clone();
        g.on_always(move |entry| k.lock().push(entry));

        assert_eq!(g.decide("pypi.org", 443).await, Ok(()));
        // Two connections to one place wait on one question.
        let (a, b) = (g.clone(), g.clone());
        let first = tokio::spawn(async move { a.decide("api.example.com", 443).await });
        let second = tokio::spawn(async move { b.decide("API.example.com.", 443).await });
        while g.pending().is_empty() {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(g.pending().len(), 1);
        let id = g.pending()[0].id;
        assert!(g.answer(id, NetAnswer::Always));
        assert_eq!((first.await.unwrap(), second.await.unwrap()), (Ok(()), Ok(())));
        assert_eq!(*kept.lock(), vec!["api.example.com".to_string()]);
        assert_eq!(g.decide("api.example.com", 443).await, Ok(()), "always: no second question");
        assert_eq!(events.lock().iter().filter(|e| e.starts_with("Ask")).count(), 1);

        let c = g.clone();
        let denied = tokio::spawn(async move { c.decide("tracker.example.net", 8080).await });
        while g.pending().is_empty() {
            tokio::task::yield_now().await;
        }
        g.answer(g.pending()[0].id, NetAnswer::Deny);
        assert!(denied.await.unwrap().unwrap_err().contains("tracker.example.net:8080 was denied"));
        let log = g.connections();
        assert_eq!(log[0].verdict, Verdict::Denied);
        assert!(log.iter().any(|c| c.host == "api.example.com" && c.verdict == Verdict::AllowedByUser && c.count == 2));
    }

    #[tokio::test]
    async fn no_answer_in_time_is_a_denial_and_the_question_goes() {
        let g = Gatekeeper::new(Duration::from_millis(50));
        let e = g.decide("slow.example.com", 443).await.unwrap_err();
        assert!(e.contains("in time"), "{e}");
        assert!(g.pending().is_empty());
    }
}
