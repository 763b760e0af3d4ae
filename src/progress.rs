//! The progress bar of `gossip-sim run`: points, trials, the simulated round of each trial in
//! flight, simulated events per second and an ETA, all read while trials run.
//!
//! Work is counted in node-rounds (one gossip action per node per simulated round), the unit
//! `scripts/bench.sh` also counts as events. Each worker has a [`Lane`]: the engine adds one to
//! its counter per simulated round (`engine::run_trial`'s `progress`), so the bar moves during a
//! long trial, not only when it ends.
//!
//! The ETA needs the work still to come. A trial's rounds are not known before it ends, so each
//! is predicted ([`crate::engine::expected_rounds`]: injections plus the spreading time of the
//! protocol) and the predictions of trials not yet finished are scaled by how far finished trials
//! were from theirs. Remaining work over the recent rate (node-rounds per second over the last
//! [`WINDOW`], or since the start while shorter) gives the ETA.
//!
//! Wall-clock time reaches stderr only, never a result file.

use std::collections::VecDeque;
use std::io::{self, IsTerminal as _};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::human::{count, duration};

/// The rate behind the ETA is measured over this much recent time.
const WINDOW: Duration = Duration::from_secs(20);

/// How often the bar is redrawn.
const TICK: Duration = Duration::from_millis(200);

/// Rounds in which updates are injected or spreading cost this many times a round in which
/// nothing spreads (churn, an idle catalog): measured on scenarios/storefront.toml, about 20
/// rounds/s while its 2,000 updates arrive and spread, 60 rounds/s after.
const ACTIVE_WEIGHT: f64 = 3.0;

/// What the ETA is told about a trial before it runs.
#[derive(Clone, Copy, Debug)]
pub struct Planned {
    /// The trial's point, an index into the points being run.
    pub point: usize,
    pub nodes: u64,
    /// Predicted rounds with updates injected or spreading, and in all.
    pub active_rounds: u64,
    pub rounds: u64,
}

impl Planned {
    /// Weighted node-rounds of the first `done` rounds.
    fn work(&self, done: u64) -> f64 {
        let active = done.min(self.active_rounds) as f64;
        let quiet = done.saturating_sub(self.active_rounds) as f64;
        self.nodes as f64 * (ACTIVE_WEIGHT * active + quiet)
    }

    fn predicted_work(&self) -> f64 {
        self.work(self.rounds)
    }
}

/// One worker's trial in flight.
#[derive(Default)]
pub struct Lane {
    /// Simulated rounds of the trial in flight; the engine adds to it.
    pub rounds: AtomicU64,
    trial: Mutex<Option<(Planned, Instant)>>,
}

/// Finished trials of one point.
#[derive(Clone, Copy, Default)]
struct Finished {
    trials: u64,
    seconds: f64,
}

/// Counters shared by the workers and the bar.
pub struct Progress {
    lanes: Vec<Lane>,
    next_lane: AtomicUsize,
    pub points: AtomicUsize,
    trials: AtomicU64,
    /// Per point: the trials to run and the predicted work of one.
    planned: Vec<(u64, f64)>,
    /// Per point: finished trials and their wall time.
    finished: Mutex<Vec<Finished>>,
    /// Weighted node-rounds of finished trials, as simulated and as predicted, and their
    /// node-rounds (events).
    finished_work: Mutex<(f64, f64, f64)>,
    total_trials: u64,
    total_points: usize,
}

impl Progress {
    /// `trials`: every trial to run.
    pub fn new(
        workers: usize,
        points_done: usize,
        total_points: usize,
        trials: impl Iterator<Item = Planned>,
    ) -> Progress {
        let mut planned: Vec<(u64, f64)> = Vec::new();
        let mut total_trials = 0;
        for trial in trials {
            if planned.len() <= trial.point {
                planned.resize(trial.point + 1, (0, 0.0));
            }
            planned[trial.point].0 += 1;
            planned[trial.point].1 = trial.predicted_work();
            total_trials += 1;
        }
        Progress {
            lanes: (0..workers.max(1)).map(|_| Lane::default()).collect(),
            next_lane: AtomicUsize::new(0),
            points: AtomicUsize::new(points_done),
            trials: AtomicU64::new(0),
            finished: Mutex::new(vec![Finished::default(); planned.len()]),
            planned,
            finished_work: Mutex::new((0.0, 0.0, 0.0)),
            total_trials,
            total_points,
        }
    }

    /// The lane of a worker thread that starts: each worker calls this once.
    pub fn lane(&self) -> &Lane {
        let index = self.next_lane.fetch_add(1, Ordering::Relaxed);
        &self.lanes[index % self.lanes.len()]
    }

    /// `lane` starts the trial `planned`.
    pub fn start(&self, lane: &Lane, planned: Planned) {
        lane.rounds.store(0, Ordering::Relaxed);
        *lock(&lane.trial) = Some((planned, Instant::now()));
    }

    /// `lane`'s trial ended after `rounds` simulated rounds.
    pub fn finish(&self, lane: &Lane, rounds: u64) {
        let Some((planned, started)) = lock(&lane.trial).take() else {
            return;
        };
        {
            let mut work = lock(&self.finished_work);
            work.0 += planned.work(rounds);
            work.1 += planned.predicted_work();
            work.2 += (planned.nodes * rounds) as f64;
        }
        let mut finished = lock(&self.finished);
        if let Some(point) = finished.get_mut(planned.point) {
            point.trials += 1;
            point.seconds += started.elapsed().as_secs_f64();
        }
        lane.rounds.store(0, Ordering::Relaxed);
        self.trials.fetch_add(1, Ordering::Relaxed);
    }

    /// What the bar shows, read `now`: the work so far, and what is known of the work to come.
    fn snapshot(&self, now: Instant) -> Snapshot {
        let (finished_work, finished_predicted, finished_events) = *lock(&self.finished_work);
        // How far finished trials were from their predictions; 1 until one finishes.
        let scale = if finished_predicted > 0.0 {
            finished_work / finished_predicted
        } else {
            1.0
        };
        let finished = lock(&self.finished).clone();
        let mean_seconds = |point: usize| {
            finished
                .get(point)
                .filter(|f| f.trials > 0)
                .map(|f| f.seconds / f.trials as f64)
        };
        let mut started = vec![0u64; self.planned.len()];
        let mut work = finished_work;
        let mut events = finished_events;
        let mut left = Left::default();
        let mut rounds = Vec::new();
        for lane in &self.lanes {
            let Some((planned, since)) = *lock(&lane.trial) else {
                continue;
            };
            let done = lane.rounds.load(Ordering::Relaxed);
            rounds.push(done);
            started[planned.point] += 1;
            let done_work = planned.work(done);
            work += done_work;
            events += (planned.nodes * done) as f64;
            let elapsed = (now - since).as_secs_f64();
            match mean_seconds(planned.point) {
                // A trial past the mean of its point has, say, a tenth of its time to go.
                Some(mean) => left.add_seconds((mean - elapsed).max(0.1 * elapsed)),
                None => left
                    .add_work((planned.predicted_work() * scale - done_work).max(0.1 * done_work)),
            }
        }
        for (point, &(trials, predicted)) in self.planned.iter().enumerate() {
            let done = finished.get(point).map_or(0, |f| f.trials);
            let unstarted = trials.saturating_sub(done + started[point]) as f64;
            match mean_seconds(point) {
                Some(mean) => left.seconds += unstarted * mean,
                None => left.work += unstarted * predicted * scale,
            }
        }
        Snapshot {
            work,
            events,
            left,
            trials: self.trials.load(Ordering::Relaxed),
            points: self.points.load(Ordering::Relaxed),
            rounds,
        }
    }

    /// Seconds until the end: the work to come over the workers, at `rate` (weighted
    /// node-rounds per second, all workers together), but never less than the longest trial in
    /// flight still needs.
    fn eta(&self, left: &Left, rate: f64) -> f64 {
        let workers = self.lanes.len() as f64;
        let seconds_per_work = workers / rate;
        let total = (left.seconds + left.work * seconds_per_work) / workers;
        total.max(
            left.longest_seconds
                .max(left.longest_work * seconds_per_work),
        )
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The work still to come: seconds where a point's finished trials tell its duration, weighted
/// node-rounds where only the prediction does.
#[derive(Debug, Default, PartialEq)]
struct Left {
    seconds: f64,
    work: f64,
    longest_seconds: f64,
    longest_work: f64,
}

impl Left {
    fn add_seconds(&mut self, seconds: f64) {
        self.seconds += seconds;
        self.longest_seconds = self.longest_seconds.max(seconds);
    }

    fn add_work(&mut self, work: f64) {
        self.work += work;
        self.longest_work = self.longest_work.max(work);
    }
}

struct Snapshot {
    /// Weighted node-rounds simulated so far.
    work: f64,
    /// Node-rounds simulated so far: one gossip action per node and round.
    events: f64,
    left: Left,
    trials: u64,
    points: usize,
    /// Simulated rounds of each trial in flight.
    rounds: Vec<u64>,
}

/// The rate of work over a sliding window of recent snapshots.
struct Rate {
    samples: VecDeque<(Instant, f64)>,
}

impl Rate {
    fn new(start: Instant) -> Rate {
        Rate {
            samples: VecDeque::from([(start, 0.0)]),
        }
    }

    /// Records `work` done by `now`; the rate per second over the window, if measurable.
    fn update(&mut self, now: Instant, work: f64) -> Option<f64> {
        self.samples.push_back((now, work));
        while self.samples.len() > 2 && now - self.samples[1].0 >= WINDOW {
            self.samples.pop_front();
        }
        let (then, before) = *self.samples.front().expect("never empty");
        let seconds = (now - then).as_secs_f64();
        (seconds > 0.5 && work > before).then(|| (work - before) / seconds)
    }
}

/// The bar's message, without the bar: `3/12 points, 45/360 trials, round 17, 12.3 M events/s,
/// ETA 1m20s`.
fn message(
    progress: &Progress,
    snapshot: &Snapshot,
    rate: Option<f64>,
    events_rate: f64,
) -> String {
    let mut text = format!(
        "{}/{} points, {}/{} trials",
        snapshot.points, progress.total_points, snapshot.trials, progress.total_trials
    );
    match snapshot.rounds.as_slice() {
        [] => {}
        [one] => text.push_str(&format!(", round {one}")),
        many => {
            let rounds: Vec<String> = many.iter().map(u64::to_string).collect();
            text.push_str(&format!(", rounds {}", rounds.join(" ")));
        }
    }
    match rate {
        Some(rate) => {
            text.push_str(&format!(", {} events/s", count(events_rate)));
            text.push_str(&format!(
                ", ETA {}",
                duration(progress.eta(&snapshot.left, rate))
            ));
        }
        None => text.push_str(", ETA -"),
    }
    text
}

/// Runs `work` while a ticker thread draws the bar on stderr, if `enabled` and stderr is a
/// terminal.
pub fn with_progress<R>(enabled: bool, progress: &Progress, work: impl FnOnce() -> R) -> R {
    if !enabled || !io::stderr().is_terminal() {
        return work();
    }
    const LENGTH: u64 = 1000;
    let bar = ProgressBar::with_draw_target(Some(LENGTH), ProgressDrawTarget::stderr());
    bar.set_style(style());
    let (stop, stopped) = mpsc::channel::<()>();
    let result = thread::scope(|scope| {
        let bar = &bar;
        scope.spawn(move || {
            let start = Instant::now();
            let mut rate = Rate::new(start);
            let mut events = Rate::new(start);
            loop {
                let now = Instant::now();
                let snapshot = progress.snapshot(now);
                let per_second = rate.update(now, snapshot.work);
                let events_per_second = events.update(now, snapshot.events);
                if let Some(per_second) = per_second {
                    let elapsed = (now - start).as_secs_f64();
                    let eta = progress.eta(&snapshot.left, per_second);
                    bar.set_position((elapsed / (elapsed + eta) * LENGTH as f64) as u64);
                }
                bar.set_message(message(
                    progress,
                    &snapshot,
                    per_second,
                    events_per_second.unwrap_or(0.0),
                ));
                match stopped.recv_timeout(TICK) {
                    Err(RecvTimeoutError::Timeout) => {}
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                }
            }
        });
        let result = work();
        drop(stop);
        result
    });
    bar.finish_and_clear();
    result
}

fn style() -> ProgressStyle {
    ProgressStyle::with_template("{elapsed_precise} [{bar:24}] {msg}")
        .expect("the progress template is valid")
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_template_is_valid() {
        let _ = style();
    }

    fn planned(point: usize, nodes: u64, rounds: u64) -> Planned {
        Planned {
            point,
            nodes,
            active_rounds: rounds,
            rounds,
        }
    }

    #[test]
    fn rounds_in_flight_count_as_work_before_the_trial_ends() {
        let trial = planned(0, 100, 10);
        let progress = Progress::new(2, 0, 1, [trial, trial].into_iter());
        let lane = progress.lane();
        progress.start(lane, trial);
        lane.rounds.store(4, Ordering::Relaxed);
        let snapshot = progress.snapshot(Instant::now());
        assert_eq!(snapshot.events, 400.0);
        assert_eq!(snapshot.work, 400.0 * ACTIVE_WEIGHT);
        // 6 rounds left of the trial in flight, 10 of the other.
        assert_eq!(snapshot.left.work, 1600.0 * ACTIVE_WEIGHT);
        assert_eq!(snapshot.rounds, [4]);
    }

    #[test]
    fn quiet_rounds_weigh_less_than_spreading_ones() {
        let trial = Planned {
            point: 0,
            nodes: 10,
            active_rounds: 5,
            rounds: 20,
        };
        assert_eq!(trial.work(3), 10.0 * 3.0 * ACTIVE_WEIGHT);
        assert_eq!(trial.work(8), 10.0 * (5.0 * ACTIVE_WEIGHT + 3.0));
    }

    #[test]
    fn predictions_are_scaled_by_how_finished_trials_did() {
        // Two points, so the finished trial's duration says nothing of the other point.
        let progress = Progress::new(
            1,
            0,
            2,
            [
                planned(0, 100, 10),
                planned(1, 100, 10),
                planned(1, 100, 10),
            ]
            .into_iter(),
        );
        let lane = progress.lane();
        progress.start(lane, planned(0, 100, 10));
        progress.finish(lane, 20);
        let snapshot = progress.snapshot(Instant::now());
        // Ten spreading rounds as predicted, then ten quiet ones.
        assert_eq!(snapshot.work, 1000.0 * ACTIVE_WEIGHT + 1000.0);
        // Two trials of 10 predicted rounds left, scaled by 4000 / 3000 as the first was.
        assert!(
            (snapshot.left.work - 8000.0).abs() < 1e-6,
            "{:?}",
            snapshot.left
        );
        assert_eq!(snapshot.left.seconds, 0.0);
        assert_eq!(snapshot.trials, 1);
    }

    #[test]
    fn a_point_with_finished_trials_predicts_its_others_by_their_wall_time() {
        let trial = planned(0, 100, 10);
        let progress = Progress::new(1, 0, 1, [trial; 4].into_iter());
        let lane = progress.lane();
        progress.start(lane, trial);
        thread::sleep(Duration::from_millis(50));
        progress.finish(lane, 10);
        progress.start(lane, trial);
        let snapshot = progress.snapshot(Instant::now());
        // The trial in flight and two more, each about as long as the first.
        assert_eq!(snapshot.left.work, 0.0);
        assert!(
            snapshot.left.seconds > 0.1 && snapshot.left.seconds < 0.5,
            "{:?}",
            snapshot.left
        );
    }

    #[test]
    fn the_eta_is_never_below_the_longest_trial_in_flight() {
        let progress = Progress::new(4, 0, 1, std::iter::empty());
        let left = Left {
            seconds: 10.0,
            work: 0.0,
            longest_seconds: 10.0,
            longest_work: 0.0,
        };
        // Four workers, but one trial left: its 10 s, not 2.5 s.
        assert_eq!(progress.eta(&left, 1.0), 10.0);
    }

    #[test]
    fn the_rate_is_measured_over_the_recent_window() {
        let start = Instant::now();
        let mut rate = Rate::new(start);
        assert_eq!(rate.update(start + Duration::from_millis(100), 10.0), None);
        let at = |s: u64| start + Duration::from_secs(s);
        assert_eq!(rate.update(at(1), 100.0), Some(100.0));
        for s in 2..=30 {
            rate.update(at(s), 100.0 * s as f64);
        }
        // After a slow-down, the window forgets the fast start.
        for s in 31..=60 {
            rate.update(at(s), 3000.0 + 10.0 * (s - 30) as f64);
        }
        let recent = rate.update(at(61), 3310.0).unwrap();
        assert!((recent - 10.0).abs() < 1.0, "{recent}");
    }

    #[test]
    fn the_message_names_points_trials_rounds_rate_and_eta() {
        let progress = Progress::new(2, 1, 3, [planned(0, 1000, 10); 6].into_iter());
        let snapshot = Snapshot {
            work: 5e6,
            events: 5e6,
            left: Left {
                work: 6e7,
                ..Left::default()
            },
            trials: 2,
            points: 1,
            rounds: vec![17, 3],
        };
        assert_eq!(
            message(&progress, &snapshot, Some(1e6), 1e6),
            "1/3 points, 2/6 trials, rounds 17 3, 1.0 M events/s, ETA 1m00s"
        );
        assert!(message(&progress, &snapshot, None, 0.0).ends_with("ETA -"));
    }
}
