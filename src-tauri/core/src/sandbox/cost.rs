//! What remote sandboxes cost: the rates (the providers' public per-second prices by default,
//! editable, kept in the settings table) and the estimates made from them — of one sandbox as
//! its provider lists it, and of this month's sessions as Aura recorded them.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::ProviderKind;
use crate::store::{now_ms, Store, StoreError};

/// A provider's price of a running sandbox, in US dollars per hour.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Rate {
    /// Per vCPU.
    pub cpu_hour_usd: f64,
    /// Per GiB of memory.
    pub gib_hour_usd: f64,
}

/// The rates Aura estimates with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Rates {
    pub daytona: Rate,
    pub e2b: Rate,
    /// The bucket's storage, US dollars per GB-month.
    #[serde(default = "r2_storage")]
    pub storage_gb_month_usd: f64,
}

/// Cloudflare R2's published price of standard storage.
fn r2_storage() -> f64 {
    0.015
}

impl Default for Rates {
    /// Both providers publish $0.000014 per vCPU-second and $0.0000045 per GiB-second.
    fn default() -> Self {
        let public = Rate { cpu_hour_usd: 0.000014 * 3600.0, gib_hour_usd: 0.0000045 * 3600.0 };
        Self { daytona: public, e2b: public, storage_gb_month_usd: r2_storage() }
    }
}

/// The size a provider gives a sandbox when none is asked for (used when a record has none).
fn default_size(kind: ProviderKind) -> (f64, f64) {
    match kind {
        ProviderKind::E2b => (2.0, 0.5),
        _ => (1.0, 1.0),
    }
}

impl Rates {
    const KEY: &'static str = "usage.rates";

    /// The saved rates, or the public prices.
    pub fn load(store: &Store) -> Self {
        store.setting(Self::KEY).ok().flatten().and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default()
    }

    pub fn save(&self, store: &Store) -> Result<(), StoreError> {
        let ok = |r: &Rate| {
            r.cpu_hour_usd.is_finite() && r.gib_hour_usd.is_finite() && r.cpu_hour_usd >= 0.0 && r.gib_hour_usd >= 0.0
        };
        let storage = self.storage_gb_month_usd;
        if !ok(&self.daytona) || !ok(&self.e2b) || !storage.is_finite() || storage < 0.0 {
            return Err(StoreError::Corrupt("a rate must be a number of dollars, zero or more".into()));
        }
        let json = serde_json::to_string(self).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        store.set_setting(Self::KEY, Some(&json))
    }

    fn of(&self, kind: ProviderKind) -> Option<Rate> {
        match kind {
            ProviderKind::Daytona => Some(self.daytona),
            ProviderKind::E2b => Some(self.e2b),
            ProviderKind::Local => None,
        }
    }

    /// Dollars for `seconds` of a sandbox of `cpu` vCPUs and `gib` GiB at `kind` (the
    /// provider's default size for what is unknown); none for the local sandbox.
    pub fn estimate(&self, kind: ProviderKind, cpu: Option<f64>, gib: Option<f64>, seconds: f64) -> Option<f64> {
        let rate = self.of(kind)?;
        let (dc, dg) = default_size(kind);
        let per_hour = cpu.unwrap_or(dc) * rate.cpu_hour_usd + gib.unwrap_or(dg) * rate.gib_hour_usd;
        Some(per_hour * seconds.max(0.0) / 3600.0)
    }
}

/// One provider's use, for the panel.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct Usage {
    pub provider: String,
    /// Every session Aura recorded.
    pub sandboxes: u32,
    pub sandbox_hours: f64,
    pub executions: u32,
    /// This calendar month (UTC).
    pub month_hours: f64,
    /// This month's hours at the rates; none for the local sandbox.
    pub month_usd: Option<f64>,
}

/// Use per provider: all recorded, and this month's with its estimated cost.
pub fn usage(store: &Store, rates: &Rates) -> Result<Vec<Usage>, StoreError> {
    let since = month_start_ms(now_ms());
    let spans = store.session_spans(since)?;
    Ok(store
        .usage()?
        .into_iter()
        .map(|row| {
            let kind = parse_kind(&row.provider);
            let mine = spans.iter().filter(|s| s.provider == row.provider);
            let month_hours = mine.clone().map(|s| s.ms as f64 / 3_600_000.0).sum();
            let month_usd = kind.and_then(|k| {
                mine.map(|s| rates.estimate(k, s.cpu, s.memory_gib, s.ms as f64 / 1000.0)).sum::<Option<f64>>()
            });
            Usage {
                provider: row.provider,
                sandboxes: row.sandboxes,
                sandbox_hours: row.sandbox_hours,
                executions: row.executions,
                month_hours,
                month_usd,
            }
        })
        .collect())
}

fn parse_kind(name: &str) -> Option<ProviderKind> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
}

/// The first millisecond of the UTC calendar month holding `now_ms`.
pub fn month_start_ms(now_ms: i64) -> i64 {
    let days = now_ms.div_euclid(86_400_000);
    let (y, m, _) = civil(days);
    days_from_civil(y, m, 1) * 86_400_000
}

/// Year, month, day of a day number since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_starts_in_utc() {
        // 2026-12-04T13:53:00Z → 2026-12-01T00:00:00Z
        assert_eq!(month_start_ms(1_796_392_380_000), 1_796_083_200_000);
        // 2024-02-29T23:59:59.999Z → 2024-02-01
        assert_eq!(month_start_ms(1_709_251_199_999), 1_706_745_600_000);
        assert_eq!(month_start_ms(0), 0);
    }

    #[test]
    fn an_hour_of_a_default_e2b_sandbox_at_public_prices() {
        let r = Rates::default();
        let usd = r.estimate(ProviderKind::E2b, None, None, 3600.0).unwrap();
        assert!((usd - (2.0 * 0.0504 + 0.5 * 0.0162)).abs() < 1e-9, "{usd}");
        assert_eq!(r.estimate(ProviderKind::Local, None, None, 3600.0), None);
    }
}
