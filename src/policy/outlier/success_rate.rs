//! Success-rate and failure-percentage detection, the statistical half of Envoy's
//! outlier detection (`DetectorImpl::processSuccessRateEjections`).
//!
//! Each host counts its requests in two buckets: the one being written and the one of
//! the interval that just ended (Envoy's `SuccessRateAccumulator` swaps them at every
//! interval). At each interval the detector looks at the ended bucket of every host that
//! is not ejected: with enough hosts with enough requests, a host whose success rate is
//! below `mean - stdev_factor × stdev` (population standard deviation) is an outlier by
//! success rate, and a host whose failure percentage is at least `threshold` is one by
//! failure percentage. Envoy keeps two such monitors per host, for externally and for
//! locally originated errors; this file is the arithmetic, shared by both.

/// Requests counted in one interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Counts {
    pub(super) success: u64,
    pub(super) total: u64,
}

/// The two buckets of one host's success-rate monitor.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Monitor {
    current: Counts,
    last: Counts,
    /// The success rate last computed for this host, percent (Envoy's
    /// `DetectorHostMonitor::successRate`, -1 there for none).
    pub(super) rate: Option<f64>,
}

impl Monitor {
    /// One request: successful or not.
    pub(super) fn count(&mut self, success: bool) {
        self.current.total += 1;
        self.current.success += u64::from(success);
    }

    /// The interval ended: the written bucket becomes the one read, a fresh one is written.
    pub(super) fn swap(&mut self) {
        self.last = std::mem::take(&mut self.current);
        self.rate = None;
    }

    /// Success rate (percent) and request volume of the interval that ended, if it had any.
    pub(super) fn rate_and_volume(&self) -> Option<(f64, u64)> {
        (self.last.total > 0).then(|| (self.last.success as f64 * 100.0 / self.last.total as f64, self.last.total))
    }
}

/// Minimum hosts and request volume of the success-rate detector, and its stdev factor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SuccessRate {
    /// Hosts with enough volume needed before the detector runs (Envoy default 5).
    pub minimum_hosts: u32,
    /// Requests a host needs in the interval to be counted (Envoy default 100).
    pub request_volume: u32,
    /// Standard deviations below the mean, in thousandths (Envoy default 1900 = 1.9).
    pub stdev_factor: u32,
}

/// Threshold, minimum hosts and request volume of the failure-percentage detector.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FailurePercentage {
    /// Failure percentage at or above which a host is an outlier (Envoy default 85).
    pub threshold: u32,
    /// Hosts with enough volume needed before the detector runs (Envoy default 5).
    pub minimum_hosts: u32,
    /// Requests a host needs in the interval to be counted (Envoy default 50).
    pub request_volume: u32,
}

/// What one interval's statistics found, for one kind of origin.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Verdicts {
    /// Mean success rate and ejection threshold, when the success-rate detector ran.
    pub(super) mean_and_threshold: Option<(f64, f64)>,
    /// Hosts below the success-rate threshold, in host order.
    pub(super) by_success_rate: Vec<usize>,
    /// Hosts at or above the failure-percentage threshold, in host order.
    pub(super) by_failure_percentage: Vec<usize>,
}

/// Envoy's `successRateEjectionThreshold`: the mean and `mean - factor × stdev` of
/// `rates` (population variance). With {50, 100, 100, 100, 100} and 1.9: mean 90,
/// stdev 20, threshold 52.
pub fn mean_and_threshold(rates: &[f64], factor: f64) -> (f64, f64) {
    let n = rates.len() as f64;
    let mean = rates.iter().sum::<f64>() / n;
    let variance = rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
    (mean, mean - factor * variance.sqrt())
}

/// Runs both detectors over `monitors` (one per host; `ejected[i]` hosts skipped), and
/// records each counted host's rate in its monitor.
pub(super) fn evaluate(
    monitors: &mut [Monitor],
    ejected: &[bool],
    sr: &SuccessRate,
    fp: &FailurePercentage,
) -> Verdicts {
    let mut out = Verdicts::default();
    let n = monitors.len() as u64;
    // Envoy exits early when the cluster itself has too few hosts for either detector.
    if n < u64::from(sr.minimum_hosts) && n < u64::from(fp.minimum_hosts) {
        return out;
    }
    let mut sr_hosts = Vec::new();
    let mut fp_hosts = Vec::new();
    for (i, m) in monitors.iter_mut().enumerate() {
        let Some((rate, volume)) = m.rate_and_volume().filter(|_| !ejected[i]) else { continue };
        if volume >= u64::from(sr.request_volume.min(fp.request_volume)) {
            m.rate = Some(rate);
        }
        if volume >= u64::from(sr.request_volume) {
            sr_hosts.push((i, rate));
        }
        if volume >= u64::from(fp.request_volume) {
            fp_hosts.push((i, rate));
        }
    }
    if !sr_hosts.is_empty() && sr_hosts.len() as u64 >= u64::from(sr.minimum_hosts) {
        let rates: Vec<f64> = sr_hosts.iter().map(|&(_, r)| r).collect();
        let (mean, threshold) = mean_and_threshold(&rates, f64::from(sr.stdev_factor) / 1000.0);
        out.mean_and_threshold = Some((mean, threshold));
        out.by_success_rate = sr_hosts.iter().filter(|&&(_, r)| r < threshold).map(|&(i, _)| i).collect();
    }
    if !fp_hosts.is_empty() && fp_hosts.len() as u64 >= u64::from(fp.minimum_hosts) {
        let threshold = f64::from(fp.threshold);
        out.by_failure_percentage =
            fp_hosts.iter().filter(|&&(_, r)| 100.0 - r >= threshold).map(|&(i, _)| i).collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: SuccessRate = SuccessRate { minimum_hosts: 5, request_volume: 100, stdev_factor: 1900 };
    const FP: FailurePercentage = FailurePercentage { threshold: 85, minimum_hosts: 5, request_volume: 50 };

    fn monitors(loads: &[(u64, u64)]) -> Vec<Monitor> {
        loads
            .iter()
            .map(|&(ok, failed)| {
                let mut m = Monitor::default();
                (0..ok).for_each(|_| m.count(true));
                (0..failed).for_each(|_| m.count(false));
                m.swap();
                m
            })
            .collect()
    }

    #[test]
    fn the_threshold_is_the_mean_less_a_multiple_of_the_stdev() {
        // Envoy's own worked example in successRateEjectionThreshold.
        let (mean, threshold) = mean_and_threshold(&[50.0, 100.0, 100.0, 100.0, 100.0], 1.9);
        assert_eq!((mean, threshold), (90.0, 52.0));
    }

    #[test]
    fn only_the_ended_interval_is_read() {
        let mut m = Monitor::default();
        m.count(false);
        assert_eq!(m.rate_and_volume(), None, "nothing ended yet");
        m.swap();
        assert_eq!(m.rate_and_volume(), Some((0.0, 1)));
        m.swap();
        assert_eq!(m.rate_and_volume(), None, "an empty interval ended");
    }

    #[test]
    fn a_host_far_below_the_others_is_an_outlier() {
        let mut m = monitors(&[(200, 0), (200, 0), (200, 0), (200, 0), (200, 200)]);
        let v = evaluate(&mut m, &[false; 5], &SR, &FP);
        assert_eq!(v.mean_and_threshold, Some((90.0, 52.0)));
        assert_eq!(v.by_success_rate, vec![4]);
        assert!(v.by_failure_percentage.is_empty(), "50% failures is below 85%");
        assert_eq!(m[4].rate, Some(50.0));
    }

    #[test]
    fn too_few_hosts_or_requests_and_ejected_hosts_skip_the_detectors() {
        let mut m = monitors(&[(200, 0), (200, 0), (200, 0), (200, 0), (200, 200)]);
        let v = evaluate(&mut m, &[false, false, false, true, false], &SR, &FP);
        assert_eq!(v, Verdicts::default(), "4 hosts counted, 5 needed");
        let mut m = monitors(&[(25, 0), (25, 0), (25, 0), (25, 0), (25, 25)]);
        let v = evaluate(&mut m, &[false; 5], &SR, &FP);
        assert_eq!(v, Verdicts::default());
        assert_eq!(m[4].rate, Some(50.0), "volume 50 reaches the lower of the two volumes");
        assert_eq!(m[0].rate, None);
    }
}
