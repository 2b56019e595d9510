//! The Sandboxes view's data: every sandbox Aura made at E2B and Daytona — this machine's and
//! another's, found by their labels among the account's other sandboxes (past a page of the
//! list) — with project, state and cost; one from another machine deleted, the open project's
//! paused (then resumed by its next command); providers without a key are said to be skipped;
//! this month's hours priced. Against both contract servers, every request checked against the
//! official specs. (Its own test binary: it sets the process's E2B variables.)

mod contract_server;
#[path = "support/exec.rs"]
mod exec;

use std::sync::Arc;

use aura_core::paths::ProjectRoot;
use aura_core::sandbox::cost::{self, Rates};
use aura_core::sandbox::fleet::{self, FleetAction};
use aura_core::sandbox::remote::daytona::{DaytonaConfig, DaytonaProvider};
use aura_core::sandbox::remote::RetryPolicy;
use aura_core::sandbox::service::SandboxService;
use aura_core::sandbox::{ExecRequest, Lifecycle, ProviderKind, SandboxSpec, SandboxState};
use aura_core::secrets::{Secret, SecretName, Secrets};
use aura_core::store::{ProjectSettings, Store};
use contract_server::ContractServer;

const E2B_KEY: &str = "e2b_fleet_key";
const DAYTONA_KEY: &str = "daytona_fleet_key";

fn labelled(pairs: &[(&str, &str)]) -> SandboxSpec {
    SandboxSpec { labels: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), ..Default::default() }
}

#[test]
fn the_sandboxes_view_lists_auras_sandboxes_everywhere_and_stops_or_deletes_them() {
    let e2b = ContractServer::start("e2b_server.py", "e2b", E2B_KEY);
    let daytona = ContractServer::start("daytona_server.py", "daytona", DAYTONA_KEY);
    std::env::set_var("E2B_DOMAIN", "e2b.test");
    std::env::set_var("AURA_E2B_SCHEME", "http");
    std::env::set_var("AURA_E2B_RESOLVE", format!("127.0.0.1:{}", e2b.port));
    let data = tempfile::tempdir().unwrap();
    let proj = tempfile::tempdir().unwrap();
    std::fs::write(proj.path().join("hello.txt"), "hi\n").unwrap();
    let root = ProjectRoot::open(proj.path()).unwrap();
    let store = Arc::new(Store::open(&data.path().join("aura.sqlite3")).unwrap());
    let path = root.path().display().to_string();
    let project = store.touch_project(&path, "shop").unwrap();
    let settings =
        ProjectSettings { provider: ProviderKind::E2b, daytona_api_url: daytona.url("/api"), ..Default::default() };
    store.save_project_settings(project.id, &settings).unwrap();
    let secrets = Secrets::in_memory();
    secrets.set(SecretName::E2bApiKey, E2B_KEY).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let svc = SandboxService::new(store.clone(), secrets.clone());

    // Only E2B has a key: Daytona is said to be skipped, not silently left out.
    let listed = rt.block_on(fleet::list(&svc, &store, &settings));
    assert!(listed.sandboxes.is_empty());
    assert_eq!(listed.skipped.len(), 1);
    assert!(listed.skipped[0].contains("Daytona"), "{:?}", listed.skipped);

    // The project's own sandbox (made by a command), another machine's, and 100 sandboxes of
    // the account that are not Aura's (the list comes in pages of 100).
    let req = ExecRequest { command: "true".into(), ..Default::default() };
    rt.block_on(svc.exec(&root, &project, &req, &mut exec::Collect::default())).unwrap();
    let mine = rt.block_on(svc.info(&project)).unwrap().unwrap().id;
    let client = e2b.e2b_client(E2B_KEY, 3);
    let other_machine =
        labelled(&[("project", "blog"), ("aura-project", "0123456789abcdef"), ("aura-machine", "laptop-2")]);
    let theirs = rt.block_on(client.create(&other_machine)).unwrap().id;
    for _ in 0..100 {
        rt.block_on(client.create(&labelled(&[("team", "data")]))).unwrap();
    }
    // Daytona too, once its key is there: one of Aura's from the other machine.
    secrets.set(SecretName::DaytonaApiKey, DAYTONA_KEY).unwrap();
    let dt = DaytonaProvider::new(
        DaytonaConfig { api_url: daytona.url("/api"), target: None, organization_id: None },
        Secret::new(DAYTONA_KEY),
        RetryPolicy::default(),
    )
    .unwrap();
    let on_daytona = rt.block_on(dt.create(&other_machine)).unwrap().id;
    rt.block_on(dt.create(&labelled(&[("team", "data")]))).unwrap();

    let listed = rt.block_on(fleet::list(&svc, &store, &settings));
    assert!(listed.skipped.is_empty(), "{:?}", listed.skipped);
    let ids: Vec<_> = listed.sandboxes.iter().map(|s| (s.provider, s.id.as_str())).collect();
    assert_eq!(ids.len(), 3, "Aura's three and none of the others: {ids:?}");
    for want in [(ProviderKind::E2b, mine.as_str()), (ProviderKind::E2b, &theirs), (ProviderKind::Daytona, &on_daytona)]
    {
        assert!(ids.contains(&want), "{want:?} in {ids:?}");
    }
    let own = listed.sandboxes.iter().find(|s| s.id == mine).unwrap();
    assert!(own.this_machine && own.current && !own.idle);
    assert_eq!((own.project.as_str(), own.project_path.as_deref()), (root.name().as_str(), Some(path.as_str())));
    assert_eq!(own.state, SandboxState::Started);
    assert!(own.usd.is_some_and(|d| d >= 0.0) && own.started_ms.is_some());
    let other = listed.sandboxes.iter().find(|s| s.id == theirs).unwrap();
    assert!(!other.this_machine && !other.current && other.project_path.is_none());
    assert_eq!(other.project, "blog");
    let dt_entry = listed.sandboxes.iter().find(|s| s.id == on_daytona).unwrap();
    assert!(dt_entry.active_ms.is_some(), "Daytona says when it was last active");

    // Not one of Aura's: refused. Another machine's: deleted, here and at the provider.
    let stranger = rt.block_on(client.list()).unwrap().into_iter().find(|s| s.labels.contains_key("team")).unwrap();
    let refused = rt.block_on(fleet::act(&svc, &settings, ProviderKind::E2b, &stranger.id, FleetAction::Delete));
    assert!(refused.is_err());
    rt.block_on(fleet::act(&svc, &settings, ProviderKind::E2b, &theirs, FleetAction::Delete)).unwrap();
    rt.block_on(fleet::act(&svc, &settings, ProviderKind::Daytona, &on_daytona, FleetAction::Stop)).unwrap();
    assert_eq!(rt.block_on(dt.get(&on_daytona)).unwrap().state, SandboxState::Stopped);

    // The open project's: paused from the view; its next command resumes it.
    rt.block_on(fleet::act(&svc, &settings, ProviderKind::E2b, &mine, FleetAction::Stop)).unwrap();
    let listed = rt.block_on(fleet::list(&svc, &store, &settings));
    let states: Vec<_> = listed.sandboxes.iter().map(|s| (s.id.as_str(), s.state)).collect();
    assert!(states.contains(&(mine.as_str(), SandboxState::Paused)), "{states:?}");
    assert!(!states.iter().any(|(id, _)| *id == theirs), "deleted: {states:?}");
    rt.block_on(svc.exec(&root, &project, &req, &mut exec::Collect::default())).unwrap();
    assert_eq!(rt.block_on(svc.info(&project)).unwrap().unwrap().state, SandboxState::Started);

    // Deleting the open project's sandbox: the project lets go of it; the next command makes
    // a new one instead of using the deleted one.
    rt.block_on(fleet::act(&svc, &settings, ProviderKind::E2b, &mine, FleetAction::Delete)).unwrap();
    rt.block_on(svc.exec(&root, &project, &req, &mut exec::Collect::default())).unwrap();
    let next = rt.block_on(svc.info(&project)).unwrap().unwrap().id;
    assert_ne!(next, mine);

    // This month's use, priced: E2B hours with a cost, the size recorded with each session.
    rt.block_on(svc.release());
    let usage = cost::usage(&store, &Rates::default()).unwrap();
    let e2b_use = usage.iter().find(|u| u.provider == "e2b").unwrap();
    assert!(e2b_use.month_hours > 0.0 && e2b_use.month_hours <= e2b_use.sandbox_hours + 1e-9);
    let usd = e2b_use.month_usd.unwrap();
    let at_public_prices = e2b_use.month_hours * (2.0 * 0.0504 + 0.5 * 0.0162);
    assert!((usd - at_public_prices).abs() < 1e-9, "{usd} vs {at_public_prices}");

    assert_eq!(e2b.violations(), Vec::<String>::new());
    assert_eq!(daytona.violations(), Vec::<String>::new());
}
