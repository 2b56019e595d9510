//! The IPC surface is listed twice: the handler list (from which the build script makes the ACL)
//! and the window's capability. They must agree exactly, and the CSP must stay strict.

use std::collections::BTreeSet;

fn read(p: &str) -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_string() + p).unwrap()
}

fn handler_commands() -> BTreeSet<String> {
    let src = read("src-tauri/src/commands/mod.rs");
    let list = src.split("generate_handler![").nth(1).unwrap().split(']').next().unwrap();
    list.split(',').filter_map(|s| s.trim().rsplit("::").next().filter(|n| !n.is_empty()).map(str::to_string)).collect()
}

fn granted_commands() -> (BTreeSet<String>, Vec<String>) {
    let cap: serde_json::Value = serde_json::from_str(&read("src-tauri/capabilities/main.json")).unwrap();
    assert_eq!(cap["windows"], serde_json::json!(["main"]), "only the main window gets a capability");
    let perms: Vec<String> =
        cap["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
    let ours = perms.iter().filter_map(|p| p.strip_prefix("allow-")).map(|p| p.replace('-', "_")).collect();
    (ours, perms)
}

#[test]
fn every_command_is_declared_handled_and_granted_exactly_once() {
    // build.rs makes the ACL from the handler list, so the handler list is the ACL.
    let acl = handler_commands();
    assert!(acl.len() >= 15, "{acl:?}");
    let (granted, perms) = granted_commands();
    assert_eq!(acl, granted, "generate_handler! vs capabilities/main.json");
    for p in &perms {
        assert!(
            p.starts_with("allow-")
                || [
                    "core:event:default",
                    "core:window:allow-set-title",
                    "dialog:allow-open",
                    "dialog:allow-message",
                    "dialog:allow-ask"
                ]
                .contains(&p.as_str()),
            "unexpected permission {p}: the main window gets only Aura's commands and the plugins it uses"
        );
    }
}

#[test]
fn csp_is_strict() {
    let conf: serde_json::Value = serde_json::from_str(&read("tauri.conf.json")).unwrap();
    let csp = &conf["app"]["security"]["csp"];
    assert_eq!(csp["script-src"], "'self'");
    assert_eq!(csp["object-src"], "'none'");
    // The preview pane may frame only Aura's own loopback proxies (random ports, one loopback
    // host per preview so cookies never mix).
    let frames = csp["frame-src"].as_str().unwrap();
    assert!(frames.split(' ').all(|h| h.starts_with("http://127.0.0.") && h.ends_with(":*")), "{frames}");
    let mut rest = csp.as_object().unwrap().clone();
    rest.remove("frame-src");
    rest.remove("child-src");
    let all = serde_json::Value::Object(rest).to_string();
    assert!(!all.contains("unsafe-eval"), "{all}");
    assert!(!all.contains('*'), "no wildcard sources: {all}");
    assert_eq!(conf["app"]["withGlobalTauri"], false, "no global Tauri object for any page");
}
