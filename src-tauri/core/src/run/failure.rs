//! Why an install failed, in one line, from the package manager's own output: the full output
//! stays in the Run terminal (or `app_logs`), this is what the status bar says.

/// One line naming the cause, when the output shows one Aura knows: a package or version the
/// registry does not have, the network, the disk.
pub fn explain(output: &str) -> Option<String> {
    let plain = super::port::strip_ansi(output);
    let lines: Vec<&str> = plain.lines().map(str::trim).collect();
    // The most specific first: a missing version or package, then the causes around it.
    lines
        .iter()
        .find_map(|l| missing_version(l))
        .or_else(|| lines.iter().find_map(|l| missing_package(l)))
        .or_else(|| lines.iter().find_map(|l| no_space(l)))
        .or_else(|| lines.iter().find_map(|l| network(l)))
        .map(|why| match lines.iter().find_map(|l| after(l, "request to ").map(word)) {
            // npm names the address it could not reach on another line.
            Some(url) if why.starts_with("the registry could not be reached") => format!("{why} ({url})"),
            _ => why,
        })
}

fn missing_version(l: &str) -> Option<String> {
    // npm: "npm error notarget No matching version found for ms@99.0.0."
    // pnpm: "ERR_PNPM_NO_MATCHING_VERSION  No matching version found for ms@99.0.0"
    if let Some(rest) = after(l, "No matching version found for ") {
        return Some(format!("the registry has no version {}", word(rest)));
    }
    // pip: "ERROR: No matching distribution found for flask==99.0"
    if let Some(rest) = after(l, "No matching distribution found for ") {
        return Some(format!("the package index has no matching version of {}", word(rest)));
    }
    None
}

fn missing_package(l: &str) -> Option<String> {
    // npm: "npm error 404  'left-padd@*' is not in this registry."
    if l.contains("is not in this registry") {
        let name = l.split('\'').nth(1)?;
        return Some(format!("the registry has no package {}", strip_range(name)));
    }
    // npm: "npm error 404 Not Found - GET https://registry.npmjs.org/left-padd - Not found"
    // pnpm: "ERR_PNPM_FETCH_404  GET https://registry.npmjs.org/left-padd: Not Found - 404"
    if l.contains("404") && l.contains("GET http") {
        let url = word(after(l, "GET ")?);
        let name = url.trim_end_matches(':').split_once("://")?.1.split_once('/')?.1;
        return Some(format!("the registry has no package {}", name.replace("%2f", "/").replace("%2F", "/")));
    }
    // yarn: `error Couldn't find package "left-padd" on the "npm" registry.`
    if let Some(rest) = after(l, "Couldn't find package \"") {
        return Some(format!("the registry has no package {}", rest.split('"').next()?));
    }
    None
}

fn no_space(l: &str) -> Option<String> {
    (l.contains("ENOSPC") || l.contains("No space left on device"))
        .then(|| "out of disk space in the sandbox".to_string())
}

fn network(l: &str) -> Option<String> {
    if l.to_ascii_lowercase().contains("blocked by aura's network policy") {
        return Some("the network policy blocked the download (see the Sandbox panel's network)".into());
    }
    for code in ["ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENETUNREACH"] {
        if l.contains(code) {
            return Some(format!("the registry could not be reached: {code}"));
        }
    }
    for what in
        ["Temporary failure in name resolution", "Failed to establish a new connection", "Network is unreachable"]
    {
        if l.contains(what) {
            return Some(format!("the package index could not be reached: {what}"));
        }
    }
    None
}

fn after<'a>(l: &'a str, marker: &str) -> Option<&'a str> {
    l.find(marker).map(|i| &l[i + marker.len()..])
}

/// The first word, without the sentence's full stop.
fn word(s: &str) -> &str {
    s.split_whitespace().next().unwrap_or("").trim_end_matches(['.', ',', ';'])
}

/// `left-padd@*` → `left-padd`; `@scope/pkg@^1` → `@scope/pkg`.
fn strip_range(spec: &str) -> &str {
    match spec.rfind('@') {
        Some(i) if i > 0 => &spec[..i],
        _ => spec,
    }
}

#[cfg(test)]
mod tests {
    use super::explain;

    #[test]
    fn package_managers_say_why() {
        let cases: &[(&str, &str)] = &[
            ("npm error code E404\nnpm error 404 Not Found - GET https://registry.npmjs.org/aura-e2e-no-such-package-zzz - Not found\nnpm error 404\nnpm error 404  'aura-e2e-no-such-package-zzz@1.0.0' is not in this registry.",
             "the registry has no package aura-e2e-no-such-package-zzz"),
            ("npm error code ETARGET\nnpm error notarget No matching version found for ms@99.0.0.\nnpm error notarget In most cases you or one of your dependencies are requesting",
             "the registry has no version ms@99.0.0"),
            (" ERR_PNPM_FETCH_404  GET https://registry.npmjs.org/@scope%2fnope: Not Found - 404", "the registry has no package @scope/nope"),
            ("error Couldn't find package \"left-padd\" on the \"npm\" registry.", "the registry has no package left-padd"),
            ("ERROR: Could not find a version that satisfies the requirement flask==99.0 (from versions: 0.1, 3.1.0)\nERROR: No matching distribution found for flask==99.0",
             "the package index has no matching version of flask==99.0"),
            ("npm error code ENOTFOUND\nnpm error syscall getaddrinfo\nnpm error errno ENOTFOUND\nnpm error network request to https://registry.npmjs.org/ms failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org",
             "the registry could not be reached: ENOTFOUND (https://registry.npmjs.org/ms)"),
            ("curl: (56) CONNECT tunnel failed, response 403\nblocked by Aura's network policy: example.com:443", "the network policy blocked the download (see the Sandbox panel's network)"),
            ("npm error 403 403 Blocked by Aura's network policy - GET https://example.com/x.tgz", "the network policy blocked the download (see the Sandbox panel's network)"),
            ("npm error code ENOSPC\nnpm error syscall write", "out of disk space in the sandbox"),
            ("WARNING: Retrying ... NewConnectionError: Failed to establish a new connection: [Errno 101] Network is unreachable",
             "the package index could not be reached: Failed to establish a new connection"),
        ];
        for (out, want) in cases {
            assert_eq!(explain(out).as_deref(), Some(*want), "{out}");
        }
        assert_eq!(
            explain("\x1b[31mnpm error\x1b[39m notarget No matching version found for \x1b[1mms@99.0.0\x1b[22m.")
                .as_deref(),
            Some("the registry has no version ms@99.0.0"),
            "colours in a terminal"
        );
        assert_eq!(
            explain("npm error code 1\nnpm error command failed\nnpm error command sh -c node-gyp rebuild"),
            None
        );
    }
}
