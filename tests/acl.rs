//! The IPC surface is listed once, in the handler list: the build script makes the ACL and the
//! `aura-commands` set from it, and the window's capability grants that set and the plugin
//! permissions it needs, nothing else. The CSP must stay strict.

use std::collections::BTreeSet;

fn read(p: &str) -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_string() + p).unwrap()
}

fn handler_commands() -> BTreeSet<String> {
    let src = read("src-tauri/src/commands/mod.rs");
    let list = src.split("generate_handler![").nth(1).unwrap().split(']').next().unwrap();
    list.split(',').filter_map(|s| s.trim().rsplit("::").next().filter(|n| !n.is_empty()).map(str::to_string)).collect()
}

/// The window's capability: its permissions.
fn capability() -> Vec<String> {
    let cap: serde_json::Value = serde_json::from_str(&read("src-tauri/capabilities/main.json")).unwrap();
    assert_eq!(cap["windows"], serde_json::json!(["main"]), "only the main window gets a capability");
    cap["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect()
}

/// The commands the `aura-commands` set allows, as the build resolved it.
fn command_set() -> BTreeSet<String> {
    let acl: serde_json::Value = serde_json::from_str(&read("gen/schemas/acl-manifests.json")).unwrap();
    let set = acl["__app-acl__"]["permission_sets"]["aura-commands"]["permissions"]
        .as_array()
        .unwrap_or_else(|| panic!("no aura-commands set in the app's ACL"));
    set.iter().map(|p| p.as_str().unwrap().strip_prefix("allow-").unwrap().replace('-', "_")).collect()
}

#[test]
fn every_command_is_declared_handled_and_granted_exactly_once() {
    // build.rs makes the ACL and the aura-commands set from the handler list.
    let handled = handler_commands();
    assert!(handled.len() >= 15, "{handled:?}");
    assert_eq!(command_set(), handled, "the aura-commands set is the handler list");
    let mut perms = capability();
    perms.sort();
    let mut expected: Vec<String> = [
        "aura-commands",
        "core:event:default",
        "core:window:allow-set-title",
        "dialog:allow-ask",
        "dialog:allow-message",
        "dialog:allow-open",
    ]
    .map(String::from)
    .to_vec();
    expected.sort();
    assert_eq!(perms, expected, "the main window gets only Aura's commands and the plugins it uses, each once");
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
