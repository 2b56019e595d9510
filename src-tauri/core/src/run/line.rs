//! What ▶ Run types into its terminal's shell: the install (when due), a mark, then the dev
//! server, in one `exec` so the terminal ends with the exit code of whichever step failed. The
//! mark tells the run's follower (`project::runport`) that the install is done.

/// Printed between the install and the dev server; the typed line never contains it verbatim
/// (the shell echoes the line, and the echo must not look like a finished install).
pub const INSTALLED_MARK: &str = "[aura] dependencies installed";

/// Single-quotes `s` for sh.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The line typed into the Run terminal. A saved `port` goes to frameworks that take it (Next.js,
/// Express, Nuxt…) as `PORT`, so the two agree; npm's update notice is not about the project.
pub fn typed(install: Option<&str>, dev: &str, port: Option<u16>) -> String {
    let env = match port {
        Some(p) => format!("npm_config_update_notifier=false PORT={p} "),
        None => "npm_config_update_notifier=false ".to_string(),
    };
    let dev_part = format!("exec sh -c {}", shell_quote(dev));
    match install.filter(|i| !i.trim().is_empty()) {
        None => format!("{env}{dev_part}\n"),
        Some(install) => {
            let script = format!(r"{install} && printf '[aura] %s\n' 'dependencies installed' && {dev_part}");
            format!("{env}exec sh -c {}\n", shell_quote(&script))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `line` with sh: (stdout, exit code).
    fn sh(line: &str) -> (String, Option<i32>) {
        let out = std::process::Command::new("sh").arg("-c").arg(line).output().unwrap();
        (String::from_utf8(out.stdout).unwrap(), out.status.code())
    }

    #[test]
    fn quotes_anything_for_sh() {
        let s = "it's a \"test\" $HOME `x`";
        assert_eq!(sh(&format!("printf %s {}", shell_quote(s))).0, s);
    }

    #[test]
    fn installs_marks_then_runs_the_dev_command_and_the_typed_line_never_holds_the_mark() {
        let line = typed(Some("echo installing"), "echo 'dev server' && exit 3", None);
        assert!(!line.contains(INSTALLED_MARK));
        assert!(line.ends_with('\n'));
        assert_eq!(sh(&line), (format!("installing\n{INSTALLED_MARK}\ndev server\n"), Some(3)));
    }

    #[test]
    fn a_failed_install_stops_before_the_mark_with_its_exit_code() {
        assert_eq!(sh(&typed(Some("echo broken; exit 7"), "echo never", None)), ("broken\n".into(), Some(7)));
    }

    #[test]
    fn without_an_install_only_the_dev_command_runs() {
        assert_eq!(sh(&typed(None, "echo dev", None)).0, "dev\n");
        assert_eq!(sh(&typed(Some("  "), "echo dev", None)).0, "dev\n");
    }

    #[test]
    fn a_saved_port_reaches_the_dev_command_as_port_and_npm_notices_are_off() {
        assert_eq!(sh(&typed(None, "echo $PORT $npm_config_update_notifier", Some(4000))).0, "4000 false\n");
        assert_eq!(sh(&typed(Some("echo i"), "echo port=$PORT", None)).0, format!("i\n{INSTALLED_MARK}\nport=\n"));
    }
}
