//! Resolving a service's `outlier_ejection` keys into Envoy's outlier detection settings
//! ([`OutlierEjection`]): Envoy's defaults for what is left out, its checks for what is
//! given (`max_ejection_time` not below `base_ejection_time`, percentages up to 100).

use super::error::{Result, err};
use super::fault_spec::OutlierSpec;
use super::policy_spec::Preset;
use crate::engine::SimTime;
use crate::policy::outlier::{Consecutive, OutlierEjection};

/// A count that must be at least 1.
fn at_least_one(v: Option<u32>, default: u32, key: &str) -> Result<u32> {
    match v.unwrap_or(default) {
        0 => err(key, "must be at least 1"),
        n => Ok(n),
    }
}

/// A percentage in 0..=100.
fn percent(v: Option<u32>, default: u32, key: &str) -> Result<u32> {
    match v.unwrap_or(default) {
        p if p > 100 => err(key, format!("a percentage in 0..100, not {p}")),
        p => Ok(p),
    }
}

/// A duration longer than 0.
fn positive(v: Option<super::units::Duration>, default: SimTime, key: &str) -> Result<SimTime> {
    match v.map_or(default, |d| d.time()) {
        SimTime::ZERO => err(key, "must be longer than 0"),
        t => Ok(t),
    }
}

/// Resolves `o`, found at `key` (e.g. `services.api.outlier_ejection`).
pub fn outlier(o: &OutlierSpec, key: &str) -> Result<OutlierEjection> {
    let k = |name: &str| format!("{key}.{name}");
    if o.preset.is_some_and(|p| p != Preset::Envoy) {
        return err(k("preset"), "outlier ejection has the `envoy` preset only");
    }
    if o.consecutive_5xx.is_some() && o.consecutive_errors.is_some() {
        return err(k("consecutive_errors"), "set `consecutive_5xx` or its older name `consecutive_errors`, not both")
            .map_err(|e| e.with_help("delete `consecutive_errors`"));
    }
    let d = OutlierEjection::envoy();
    let max_percent = o.max_ejection_percent.unwrap_or(d.max_ejection_percent);
    if !(0.0..=100.0).contains(&max_percent) {
        return err(k("max_ejection_percent"), "a percentage in 0..100");
    }
    let base = positive(o.base_ejection_time, d.base_ejection_time, &k("base_ejection_time"))?;
    // Envoy: without max_ejection_time, the larger of 300 s and base_ejection_time.
    let max = positive(o.max_ejection_time, d.max_ejection_time.max(base), &k("max_ejection_time"))?;
    if max < base {
        return err(k("max_ejection_time"), "must not be shorter than `base_ejection_time` (Envoy refuses it too)");
    }
    let run = |count: Option<u32>, def: Consecutive, enforcing: Option<u32>, name: &str| -> Result<Consecutive> {
        Ok(Consecutive {
            threshold: at_least_one(count, def.threshold, &k(name))?,
            enforcing: percent(enforcing, def.enforcing, &k(&format!("enforcing_{name}")))?,
        })
    };
    let mut c = OutlierEjection {
        interval: positive(o.interval, d.interval, &k("interval"))?,
        base_ejection_time: base,
        max_ejection_time: max,
        max_ejection_percent: max_percent,
        always_eject_one_host: o.always_eject_one_host.unwrap_or(d.always_eject_one_host),
        consecutive_5xx: run(
            o.consecutive_5xx.or(o.consecutive_errors),
            d.consecutive_5xx,
            o.enforcing_consecutive_5xx,
            "consecutive_5xx",
        )?,
        consecutive_gateway_failure: run(
            o.consecutive_gateway_failure,
            d.consecutive_gateway_failure,
            o.enforcing_consecutive_gateway_failure,
            "consecutive_gateway_failure",
        )?,
        split_external_local_origin_errors: o.split_external_local_origin_errors.unwrap_or(false),
        consecutive_local_origin_failure: run(
            o.consecutive_local_origin_failure,
            d.consecutive_local_origin_failure,
            o.enforcing_consecutive_local_origin_failure,
            "consecutive_local_origin_failure",
        )?,
        ..d
    };
    let sr = &mut c.success_rate;
    sr.minimum_hosts = o.success_rate_minimum_hosts.unwrap_or(sr.minimum_hosts);
    sr.request_volume =
        at_least_one(o.success_rate_request_volume, sr.request_volume, &k("success_rate_request_volume"))?;
    sr.stdev_factor = o.success_rate_stdev_factor.unwrap_or(sr.stdev_factor);
    // The chances of one detector's ejections: external origin, then local origin.
    let pair = |keys: [&str; 2], values: [Option<u32>; 2], defaults: [u32; 2]| -> Result<[u32; 2]> {
        Ok([percent(values[0], defaults[0], &k(keys[0]))?, percent(values[1], defaults[1], &k(keys[1]))?])
    };
    c.enforcing_success_rate = pair(
        ["enforcing_success_rate", "enforcing_local_origin_success_rate"],
        [o.enforcing_success_rate, o.enforcing_local_origin_success_rate],
        d.enforcing_success_rate,
    )?;
    let fp = &mut c.failure_percentage;
    fp.threshold = percent(o.failure_percentage_threshold, fp.threshold, &k("failure_percentage_threshold"))?;
    fp.minimum_hosts = o.failure_percentage_minimum_hosts.unwrap_or(fp.minimum_hosts);
    fp.request_volume =
        at_least_one(o.failure_percentage_request_volume, fp.request_volume, &k("failure_percentage_request_volume"))?;
    c.enforcing_failure_percentage = pair(
        ["enforcing_failure_percentage", "enforcing_failure_percentage_local_origin"],
        [o.enforcing_failure_percentage, o.enforcing_failure_percentage_local_origin],
        d.enforcing_failure_percentage,
    )?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> OutlierSpec {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn an_empty_block_is_envoys_defaults() {
        assert_eq!(outlier(&spec("{}"), "o").unwrap(), OutlierEjection::envoy());
    }

    #[test]
    fn the_older_name_still_works_and_the_cap_follows_a_long_base() {
        let c = outlier(&spec("{ consecutive_errors: 3, base_ejection_time: 400s }"), "o").unwrap();
        assert_eq!(c.consecutive_5xx.threshold, 3);
        assert_eq!(c.max_ejection_time, SimTime::from_secs(400));
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = |y: &str| outlier(&spec(y), "services.api.outlier_ejection").unwrap_err().to_string();
        assert!(e("{ max_ejection_time: 10s }").contains("max_ejection_time"));
        assert!(e("{ enforcing_success_rate: 120 }").contains("enforcing_success_rate"));
        assert!(e("{ consecutive_5xx: 0 }").contains("consecutive_5xx"));
        assert!(e("{ consecutive_5xx: 3, consecutive_errors: 3 }").contains("consecutive_errors"));
        assert!(e("{ interval: 0s }").contains("interval"));
    }
}
