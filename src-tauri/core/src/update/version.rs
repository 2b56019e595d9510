//! Version comparison: semantic versioning, a leading `v` allowed (as the updater plugin does).

use std::cmp::Ordering;

use super::UpdateError;

fn parse(v: &str, what: &str) -> Result<semver::Version, UpdateError> {
    semver::Version::parse(v.trim().trim_start_matches('v'))
        .map_err(|e| UpdateError::Malformed(format!("{what} version {v:?} is not a semantic version ({e})")))
}

/// How `offered` compares with `current` (`Greater` = an update).
pub fn compare(current: &str, offered: &str) -> Result<Ordering, UpdateError> {
    Ok(parse(offered, "the offered")?.cmp(&parse(current, "the installed")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_semver_not_by_text() {
        assert_eq!(compare("0.9.0", "0.10.0").unwrap(), Ordering::Greater);
        assert_eq!(compare("1.2.3", "v1.2.3").unwrap(), Ordering::Equal);
        assert_eq!(compare("1.0.0", "1.0.0-rc.1").unwrap(), Ordering::Less, "a pre-release is older");
        assert_eq!(compare("1.0.0-rc.1", "1.0.0").unwrap(), Ordering::Greater);
        assert_eq!(compare("0.2.0", "0.1.9").unwrap(), Ordering::Less);
        // build metadata orders after the plain version in semver 1.x's total order
        assert_ne!(compare("1.0.0", "1.0.0+build.2").unwrap(), Ordering::Less);
    }

    #[test]
    fn a_bad_version_is_a_malformed_manifest() {
        let e = compare("0.1.0", "latest").unwrap_err();
        assert!(matches!(e, UpdateError::Malformed(_)));
        assert!(e.to_string().contains("\"latest\""), "{e}");
    }
}
