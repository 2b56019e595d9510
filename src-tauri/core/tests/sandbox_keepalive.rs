//! Thirty-five minutes of a remote sandbox's life on a simulated clock (the contract servers'
//! `/__clock` and the keeper's), for E2B and Daytona: one used every few minutes is never
//! paused or stopped, with at most one keep-alive call a minute; one not used is paused (E2B) or
//! stopped (Daytona) by the provider at its 30 idle minutes, not before, and costs no calls. The
//! local sandbox, which has no idle stop of its own, is stopped by the keeper at its minutes —
//! never while ▶ Run's terminal holds it.

mod contract_server;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aura_core::sandbox::keepalive::KeepAlive;
use aura_core::sandbox::remote::daytona::{DaytonaConfig, DaytonaProvider};
use aura_core::sandbox::remote::RetryPolicy;
use aura_core::sandbox::{Provider, SandboxSpec, SandboxState};
use aura_core::secrets::Secret;
use contract_server::ContractServer;

const IDLE_MINUTES: u32 = 30;

/// Runs 35 simulated minutes: the keeper ticks once a minute (as its task does); `busy` is
/// used at minutes 1, 4, 7, … (gaps shorter than the idle time). Returns the states seen each
/// minute for (busy, idle) and the keep-alive calls made for the busy one.
fn thirty_five_minutes(srv: &ContractServer, provider: Arc<dyn Provider>) -> (Vec<(SandboxState, SandboxState)>, u64) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let spec = SandboxSpec { auto_stop_minutes: Some(IDLE_MINUTES), ..Default::default() };
    let busy = rt.block_on(provider.create(&spec)).unwrap().id;
    let idle = rt.block_on(provider.create(&spec)).unwrap().id;
    let seconds = Arc::new(AtomicU64::new(0));
    let clock = seconds.clone();
    let clock = Arc::new(move || Duration::from_secs(clock.load(Ordering::SeqCst)));
    let keep_busy = KeepAlive::with_clock(clock.clone());
    let keep_idle = KeepAlive::with_clock(clock);
    let idle_for = Duration::from_secs(u64::from(IDLE_MINUTES) * 60);
    keep_busy.keep(provider.clone(), &busy, idle_for);
    keep_idle.keep(provider.clone(), &idle, idle_for);
    let mut states = Vec::new();
    for minute in 1..=35u64 {
        seconds.fetch_add(60, Ordering::SeqCst);
        srv.advance(60);
        if minute % 3 == 1 {
            keep_busy.touch();
        }
        rt.block_on(keep_busy.tick()).unwrap();
        rt.block_on(keep_idle.tick()).unwrap();
        let state = |id: &str| rt.block_on(provider.get(id)).unwrap().state;
        states.push((state(&busy), state(&idle)));
    }
    assert_eq!(keep_idle.calls(), 0, "nothing is sent for a sandbox nobody uses");
    (states, keep_busy.calls())
}

fn check(states: &[(SandboxState, SandboxState)], calls: u64, stopped: SandboxState) {
    for (i, (busy, idle)) in states.iter().enumerate() {
        let minute = i + 1;
        assert_eq!(*busy, SandboxState::Started, "used, so never stopped (minute {minute})");
        let want = if minute < IDLE_MINUTES as usize { SandboxState::Started } else { stopped };
        assert_eq!(*idle, want, "unused: stopped at its idle minutes, not before (minute {minute})");
    }
    // Used in 12 of the 35 minutes: one call after each, never two in a minute.
    assert!(calls <= 35 && calls == 12, "{calls} keep-alive calls");
}

#[test]
fn e2b_a_used_sandbox_is_never_paused_and_an_unused_one_is_paused_at_its_timeout() {
    const KEY: &str = "e2b_keepalive_key";
    let srv = ContractServer::start("e2b_server.py", "e2b", KEY);
    let (states, calls) = thirty_five_minutes(&srv, Arc::new(srv.e2b_client(KEY, 3)));
    check(&states, calls, SandboxState::Paused);
    let timeouts =
        srv.requests().iter().filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/timeout"))).count();
    assert_eq!(timeouts as u64, calls);
    assert_eq!(srv.violations(), Vec::<String>::new());
}

#[test]
fn daytona_a_used_sandbox_is_never_stopped_and_an_unused_one_is_stopped_at_its_auto_stop() {
    const KEY: &str = "daytona_keepalive_key";
    let srv = ContractServer::start("daytona_server.py", "daytona", KEY);
    let cfg = DaytonaConfig { api_url: srv.url("/api"), target: None, organization_id: None };
    let client = DaytonaProvider::new(cfg, Secret::new(KEY), RetryPolicy::default()).unwrap();
    let (states, calls) = thirty_five_minutes(&srv, Arc::new(client));
    check(&states, calls, SandboxState::Stopped);
    let told =
        srv.requests().iter().filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/last-activity"))).count();
    assert_eq!(told as u64, calls);
    assert_eq!(srv.violations(), Vec::<String>::new());
}

/// A terminal's output, dropped (the test watches its process).
struct Quiet;
impl aura_core::terminal::TerminalSink for Quiet {
    fn output(&mut self, _: Vec<u8>) {}
    fn exit(&mut self, _: Option<u32>) {}
}

#[test]
fn local_the_keeper_stops_an_idle_sandbox_at_its_minutes_and_never_one_in_use() {
    use aura_core::paths::ProjectRoot;
    use aura_core::sandbox::local::LocalProvider;
    use aura_core::sandbox::{Lifecycle, Terminals};

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = ProjectRoot::open(dir.path()).unwrap();
    let local = Arc::new(LocalProvider::new(false).expect("bubblewrap must work on the test machine"));
    let id = local.create_for(&root, &SandboxSpec::default()).unwrap().id;
    let term = rt.block_on(local.open_terminal(&id, 80, 24, Box::new(Quiet))).unwrap();
    let pid = term.pid().expect("the shell's pid") as i32;
    // Running (a zombie has ended: whoever started it collects it in its own time).
    let alive = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')))
            .unwrap_or(false)
    };
    let seconds = Arc::new(AtomicU64::new(0));
    let clock = seconds.clone();
    let keep = Arc::new(KeepAlive::with_clock(Arc::new(move || Duration::from_secs(clock.load(Ordering::SeqCst)))));
    keep.keep_and_stop(local.clone(), &id, Duration::from_secs(u64::from(IDLE_MINUTES) * 60));
    let minutes = |n: u64| {
        for _ in 0..n {
            seconds.fetch_add(60, Ordering::SeqCst);
            rt.block_on(keep.tick()).unwrap();
        }
    };

    // ▶ Run's terminal (a hold) keeps it in use for 40 minutes without a keystroke.
    let run = keep.hold();
    minutes(40);
    assert_eq!(rt.block_on(local.get(&id)).unwrap().state, SandboxState::Started);
    drop(run);
    // Then idle: still there one minute before its time, stopped at it (its processes end).
    minutes(u64::from(IDLE_MINUTES) - 1);
    assert_eq!(rt.block_on(local.get(&id)).unwrap().state, SandboxState::Started);
    assert!(alive());
    minutes(1);
    assert_eq!(rt.block_on(local.get(&id)).unwrap().state, SandboxState::Stopped);
    for _ in 0..100 {
        if !alive() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(), "the stopped sandbox's shell ended: {:?}", std::fs::read_to_string(format!("/proc/{pid}/stat")));
    assert!(keep.take_note().unwrap().contains("stopped after 30 minutes without use"));
    assert_eq!(keep.calls(), 0, "nothing to tell a local provider");
}
