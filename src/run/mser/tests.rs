//! Unit tests of MSER-5, the batching by events and the warnings, on known series.

use super::*;

/// A deterministic pseudo-noise in [-0.5, 0.5).
fn noise(i: usize) -> f64 {
    let x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let x = x ^ (x >> 29);
    (x.wrapping_mul(0xBF58_476D_1CE4_E5B9) >> 11) as f64 / (1u64 << 53) as f64 - 0.5
}

#[test]
fn finds_a_known_transient() {
    // 500 observations: a level of 10 reached after an exponential rise with time
    // constant 20 (the transient has decayed to < 0.5% of the noise by ~100).
    let series: Vec<f64> = (0..500).map(|i| 10.0 - 8.0 * (-(i as f64) / 20.0).exp() + noise(i)).collect();
    let d = mser5(&series);
    assert!((40..=150).contains(&d), "truncation {d}");
    assert_eq!(d % BATCH, 0);
}

#[test]
fn stationary_series_is_barely_cut_and_short_series_not_at_all() {
    let flat: Vec<f64> = (0..500).map(|i| 10.0 + noise(i)).collect();
    assert!(mser5(&flat) <= 50, "{}", mser5(&flat));
    assert_eq!(mser5(&[1.0; 19]), 0);
    assert_eq!(mser5(&[]), 0);
    assert_eq!(mser(&[1.0, 2.0, 3.0]), None);
    // A step: the first 100 observations far below the rest are all cut.
    let step: Vec<f64> = (0..500).map(|i| if i < 100 { 0.0 } else { 10.0 } + noise(i)).collect();
    assert_eq!(mser5(&step), 100);
    // A ramp that never levels off: the minimum is the last candidate, half the series.
    let ramp: Vec<f64> = (0..40).map(|i| i as f64 + noise(i)).collect();
    assert_eq!(mser(&ramp), Some(20));
}

#[test]
fn batches_hold_thirty_completions_and_at_most_a_hundred() {
    // 1000 windows, 1800 completions: 4 windows merged, 50 batches of 36 completions.
    assert_eq!(merge_factor(1000, 1800.0), 4);
    // Plenty of completions: capped at 100 batches of 2 windows.
    assert_eq!(merge_factor(1000, 1e9), 2);
    // Exactly 30 per batch of single windows.
    assert_eq!(merge_factor(500, 3000.0), 1);
    // Nothing finished: no batch at all.
    assert!(merge_factor(1000, 0.0) * BATCH > 1000);
}

#[test]
fn a_batch_without_success_keeps_the_previous_mean() {
    assert_eq!(mean_latency(&[0.0, 4.0, 0.0, 9.0], &[0.0, 2.0, 0.0, 3.0]), vec![2.0, 2.0, 2.0, 3.0]);
    assert_eq!(mean_latency(&[0.0, 0.0], &[0.0, 0.0]), vec![0.0, 0.0]);
}

/// `windows` windows of 10 completions and latency `level(i)` each.
fn series(windows: usize, level: impl Fn(usize) -> f64) -> PilotSeries {
    PilotSeries {
        finished: vec![10.0; windows],
        served: vec![10.0; windows],
        latency: (0..windows).map(|i| 10.0 * (level(i) + 0.2 * noise(i))).collect(),
        inside: vec![0.0; windows],
    }
}

#[test]
fn pilots_are_summed_and_the_cut_is_in_merged_batches() {
    // 1000 windows of 20 completions (two pilots): single windows would make batches of
    // 100 ≥ 30 completions, but 200 of them; the cap of 100 batches merges 2 windows.
    let rise = |i: usize| 1.0 - (-(i as f64) / 50.0).exp();
    let one = series(1000, rise);
    let mut two = PilotSeries::default();
    two.add(&one);
    two.add(&one);
    assert_eq!(two.finished[0], 20.0);
    assert_eq!(two.latency[7], 2.0 * one.latency[7]);
    assert_eq!(two.inside, vec![0.0; 1000]);
    let cut = two.truncate();
    assert_eq!((cut.merge, cut.count), (2, 100));
    // The latency rises with time constant 50 windows (5 batches): MSER cuts 2 to 6
    // time constants, and not at the edge.
    assert!((10..=30).contains(&cut.batches), "{cut:?}");
    assert!(!cut.at_edge);
    // A series still climbing at its end is cut at the edge.
    let climbing = series(1000, |i| i as f64 / 100.0).truncate();
    assert!(climbing.at_edge && climbing.batches == climbing.count / 2, "{climbing:?}");
    // Too few completions for 4 batches: nothing cut.
    let sparse = PilotSeries {
        finished: vec![0.1; 1000],
        served: vec![0.1; 1000],
        latency: vec![0.1; 1000],
        inside: vec![0.1; 1000],
    };
    let cut = sparse.truncate();
    assert_eq!((cut.count, cut.batches, cut.at_edge), (3, 0, false));
}

#[test]
fn joint_cut_follows_a_transient_in_either_series_and_skips_constant_ones() {
    let flat: Vec<f64> = (0..60).map(|i| 10.0 + noise(i)).collect();
    let step: Vec<f64> = (0..60).map(|i| if i < 12 { 0.0 } else { 10.0 } + noise(i + 1000)).collect();
    assert_eq!(joint_mser(&[&flat, &step]), Some(12));
    assert_eq!(joint_mser(&[&step, &flat]), Some(12));
    assert_eq!(joint_mser(&[&step, &[3.0; 60]]), Some(12));
    assert_eq!(joint_mser(&[&[3.0; 60]]), Some(0));
    assert_eq!(joint_mser(&[&step[..3]]), None);
    // A late dip of one noisy series alone does not move the cut: this series' first half
    // has four times the spread of its second half, which MSER alone cuts away.
    let dip: Vec<f64> = (0..60).map(|i| 10.0 + if i < 30 { 4.0 } else { 1.0 } * noise(i + 2000)).collect();
    assert_eq!(mser(&dip), Some(30));
    let other: Vec<f64> = (0..60).map(|i| 5.0 + noise(i + 500)).collect();
    assert!(joint_mser(&[&dip, &other, &flat]).unwrap() < 30, "{:?}", joint_mser(&[&dip, &other, &flat]));
}
