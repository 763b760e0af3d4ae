//! Lock-step results against the analytic literature. Each test states the expected value, its
//! source, and its tolerance; each runs enough seeds that the tolerance is several standard
//! errors wide, and prints the measured figures.

use crate::support::{basic, mean, rounds_to_all, sem, trials};

fn ln(x: f64) -> f64 {
    x.ln()
}

/// Mean rounds for one update to reach all `nodes` nodes, and its standard error.
fn mean_rounds(kind: &str, nodes: u32, loss: f64, n_trials: u32) -> (f64, f64) {
    let s = basic(kind, nodes, loss, 20_260 + u64::from(nodes));
    let r = rounds_to_all(&s, &trials(&s, n_trials), 0);
    (mean(&r), sem(&r))
}

/// Frieze & Grimmett (1985) and Pittel (1987): simple push informs all n nodes in
/// log2 n + ln n + O(1) rounds. Pittel shows the O(1) term stays bounded; numerically the mean
/// excess is about 1.2 rounds. We require the excess to lie in [0.5, 2.0] at every size and to
/// move by less than 0.6 rounds from n = 10^3 to n = 10^5 (the leading terms grow by 11.2).
#[test]
fn push_needs_log2_n_plus_ln_n_rounds() {
    let mut excesses = Vec::new();
    for (n, t) in [(1_000u32, 400), (10_000, 200), (100_000, 60)] {
        let (m, se) = mean_rounds("push", n, 0.0, t);
        let theory = f64::from(n).log2() + ln(f64::from(n));
        let excess = m - theory;
        eprintln!(
            "push n={n}: mean {m:.3} ± {se:.3}, log2 n + ln n = {theory:.3}, excess {excess:.3}"
        );
        assert!((0.5..=2.0).contains(&excess), "push n={n}: excess {excess}");
        excesses.push(excess);
    }
    let drift = (excesses[2] - excesses[0]).abs();
    assert!(drift < 0.6, "push excess drifts by {drift} rounds");
}

/// Karp, Schindelhauer, Shenker & Vöcking (2000): push-pull informs all nodes in
/// log3 n + O(log log n) rounds. From n = 10^3 to 10^5, log3 n grows by 4.19 rounds and
/// ln ln n by 0.51, so the mean must grow by between 4.19 - 0.5 and 4.19 + 1.0 rounds; and the
/// excess over log3 n must stay below 2 ln ln n + 1.
#[test]
fn push_pull_needs_log3_n_plus_log_log_n_rounds() {
    let (m3, se3) = mean_rounds("push-pull", 1_000, 0.0, 400);
    let (m5, se5) = mean_rounds("push-pull", 100_000, 0.0, 60);
    let growth = m5 - m3;
    let log3_growth = 100f64.ln() / 3f64.ln();
    eprintln!(
        "push-pull n=1e3: {m3:.3} ± {se3:.3}; n=1e5: {m5:.3} ± {se5:.3}; growth {growth:.3} vs log3 {log3_growth:.3}"
    );
    assert!(
        (log3_growth - 0.5..=log3_growth + 1.0).contains(&growth),
        "push-pull growth {growth}"
    );
    for (n, m) in [(1e3f64, m3), (1e5, m5)] {
        let excess = m - n.ln() / 3f64.ln();
        assert!(
            excess > 0.0 && excess < 2.0 * n.ln().ln() + 1.0,
            "n={n}: excess {excess}"
        );
    }
}

/// Pull lies between push-pull and push (Karp et al. 2000; Demers et al. 1987 on pull's fast
/// final phase), with clear gaps at n = 10^4.
#[test]
fn pull_is_between_push_pull_and_push() {
    let (push, _) = mean_rounds("push", 10_000, 0.0, 100);
    let (pull, _) = mean_rounds("pull", 10_000, 0.0, 100);
    let (push_pull, _) = mean_rounds("push-pull", 10_000, 0.0, 100);
    eprintln!("n=1e4: push {push:.2}, pull {pull:.2}, push-pull {push_pull:.2}");
    assert!(push_pull + 1.0 < pull && pull + 1.0 < push);
}

/// With each message lost independently with probability p, an informed node informs a new
/// node at rate (1 - p) per round: the growth phase takes log_(2-p) n rounds and the final
/// phase ln n / (1 - p) (the coupon-collector tail of Pittel's analysis, slowed by 1 / (1 - p)).
/// The excess over that prediction must stay in the same [0.5, 2.0] band as without loss.
#[test]
fn loss_slows_push_as_predicted() {
    for p in [0.1, 0.3] {
        let n = 10_000u32;
        let (m, se) = mean_rounds("push", n, p, 200);
        let nf = f64::from(n);
        let theory = nf.ln() / (2.0 - p).ln() + nf.ln() / (1.0 - p);
        let excess = m - theory;
        eprintln!(
            "push loss={p}: mean {m:.3} ± {se:.3}, prediction {theory:.3}, excess {excess:.3}"
        );
        assert!((0.5..=2.0).contains(&excess), "loss {p}: excess {excess}");
    }
}

/// Loss slows pull and push-pull too, monotonically.
#[test]
fn loss_slows_pull_and_push_pull() {
    for kind in ["pull", "push-pull"] {
        let (m0, _) = mean_rounds(kind, 5_000, 0.0, 60);
        let (m1, _) = mean_rounds(kind, 5_000, 0.1, 60);
        let (m3, _) = mean_rounds(kind, 5_000, 0.3, 60);
        eprintln!("{kind}: loss 0 {m0:.2}, 0.1 {m1:.2}, 0.3 {m3:.2}");
        assert!(m0 < m1 && m1 + 0.5 < m3, "{kind}: {m0} {m1} {m3}");
    }
}
