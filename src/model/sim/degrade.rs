//! Graceful degradation at run time: the signals a service's degradation controller is
//! fed (error rate, p99 of recent visits, utilisation of its workers), gathered between
//! ticks and handed over on a periodic event. The controller itself, with its levels
//! and hysteresis, is [`Degradation`].

use crate::engine::SimTime;
use crate::metrics::LogEntry;
use crate::policy::degradation::{Degradation, Signals};
use crate::policy::retry::LatencyWindow;

use super::super::Service;
use super::guard::LATENCY_WINDOW;
use super::{Event, Simulation};

/// The degradation controller of one service and the signals of its current window.
pub(super) struct DegradeState {
    pub(super) degradation: Option<Degradation>,
    /// Visits completed and failed since the last tick.
    completed: u64,
    failed: u64,
    /// The busy integral at the last tick (signed: the integrals restart at the warm-up's
    /// end while a signal window is open, and the carried part is kept as an offset).
    busy: i128,
    /// Start of the current signal window.
    start: SimTime,
    recent: Option<LatencyWindow>,
}

impl DegradeState {
    /// The controller of `service`, if it has one.
    pub(super) fn of(service: &Service) -> Self {
        Self {
            degradation: service.degradation.as_ref().and_then(|(c, _)| Degradation::new(c.clone()).ok()),
            completed: 0,
            failed: 0,
            busy: 0,
            start: SimTime::ZERO,
            recent: service.degradation.as_ref().map(|_| LatencyWindow::new(LATENCY_WINDOW)),
        }
    }

    /// A visit ended after `latency`; returns the value the current level leaves an
    /// answer (`None` without a controller).
    pub(super) fn on_visit(&mut self, latency: SimTime, failed: bool) -> Option<f64> {
        let d = self.degradation.as_ref()?;
        self.completed += 1;
        self.failed += u64::from(failed);
        if let Some(w) = self.recent.as_mut() {
            w.record(latency);
        }
        Some(d.value())
    }

    /// True when optional calls are made at the current level.
    pub(super) fn optional_enabled(&self) -> bool {
        self.degradation.as_ref().is_none_or(Degradation::optional_enabled)
    }
}

impl Simulation<'_> {
    /// Feeds a service's degradation controller the signals of the last interval.
    pub(super) fn on_degrade_tick(&mut self, s: usize) {
        let now = self.now;
        let svc = &self.model.services[s];
        let Some((_, interval)) = svc.degradation else { return };
        self.accrue_service(s, now);
        let busy = self.services[s].areas().busy as i128;
        let ds = &mut self.degrade[s];
        let delta = (busy - ds.busy).max(0);
        let span = (now - ds.start).max(SimTime(1));
        ds.busy = busy;
        ds.start = now;
        let workers = f64::from(svc.servers) * f64::from(svc.instances);
        let signals = Signals {
            error_rate: if ds.completed > 0 { ds.failed as f64 / ds.completed as f64 } else { 0.0 },
            p99: ds.recent.as_ref().and_then(|w| w.quantile(0.99)).unwrap_or(SimTime::ZERO),
            utilization: delta as f64 / (span.0 as f64 * workers),
        };
        ds.completed = 0;
        ds.failed = 0;
        let change = ds.degradation.as_mut().and_then(|d| d.evaluate(now, signals));
        if let Some((from, to)) = change
            && now >= self.model.warmup
        {
            self.note(LogEntry::Degradation(s as u32, from as u32, to as u32));
        }
        if now + interval <= self.end {
            self.events.push(now + interval, Event::DegradeTick(s as u32));
        }
    }

    /// At the end of the warm-up: the busy time of open signal windows is carried across
    /// the reset of the integrals, and the controllers restart their statistics.
    pub(super) fn reset_degradation(&mut self, now: SimTime) {
        for s in 0..self.model.services.len() {
            if self.degrade[s].degradation.is_none() {
                continue;
            }
            self.accrue_service(s, now);
            self.degrade[s].busy -= self.services[s].areas().busy as i128;
        }
    }

    /// Restarts the controllers' own statistics (time in level) at `now`.
    pub(super) fn restart_degradation_stats(&mut self, now: SimTime) {
        for d in self.degrade.iter_mut().filter_map(|d| d.degradation.as_mut()) {
            d.reset_stats(now);
        }
    }
}
