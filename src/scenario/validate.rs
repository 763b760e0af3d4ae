//! Turns a [`RawScenario`] into a [`Scenario`] the engine can trust: every range checked, every
//! default filled, every time converted to [`Time`].
//!
//! Errors name the dotted key and the value as written; [`super::load`] adds the file and the
//! line, which this module does not know.

use super::display::{inline_latency, toml_float, toml_string};
use super::error::{KeyPath, ScenarioError, Warning};
use std::collections::BTreeMap;

use super::model::{
    Churn, CrashPlan, CrashTarget, EdgeChance, ExplicitUpdate, GeneratedUpdates, HyParViewParams,
    Latency, Network, NodeId, OutputOptions, Overlay, Protocol, ProtocolKind, Region,
    RegionLatency, Regions, Rejoin, Scenario, SizeModel, Timing, Workload,
};
use super::raw::{
    RawChurn, RawCrash, RawLatency, RawNetwork, RawOverlay, RawProtocol, RawRegion, RawScenario,
    RawSizes, RawUpdate, RawWorkload,
};
use crate::time::Time;

type Result<T> = std::result::Result<T, ScenarioError>;

const MAX_NODES: i64 = 100_000_000;
const MAX_TRIALS: i64 = 1_000_000;
const MAX_ROUNDS: i64 = 10_000_000;
/// One day: a longer gossip period is surely a unit mistake.
const MAX_PERIOD_MS: i64 = 86_400_000;
const MAX_PRODUCTS: i64 = 10_000_000;
/// Not in the file format's contract; a bound so that a typo cannot ask the engine for
/// billions of updates.
const MAX_GENERATED_UPDATES: i64 = 100_000_000;
const MAX_NAME_CHARS: usize = 64;
const MAX_REGIONS: usize = 256;
const MAX_REGION_NAME_CHARS: usize = 32;
const MAX_PRODUCT_CHARS: usize = 64;
/// The largest millisecond count whose microseconds fit in a [`Time`] without saturating, so
/// that every time prints back as written.
const MAX_MS: u64 = u64::MAX / 1000;

const DEFAULT_MAX_ROUNDS: i64 = 1000;
const DEFAULT_PERIOD_MS: i64 = 1000;
const DEFAULT_LATENCY_MS: f64 = 50.0;

/// Most rows `tables.csv` may have per trial.
const TABLES_LIMIT: u64 = 10_000_000;

/// [`validate`], and the values that are valid but have no effect (see [`Warning`]):
/// - `network.latency` other than the default in rounds timing, where a message arrives within
///   the round it is sent and no latency is drawn. Not an error: one file may be run in both
///   timings (`--set protocol.timing=async`, a sweep over `protocol.timing`), and the shipped
///   `push-pull-1k-loss.toml` keeps its latency for async runs. The default itself, which
///   `gossip-sim check` prints back for every scenario, is no warning.
/// - `churn.stop_round` or `stop_ms` after the end of the run: churn then lasts until the end.
///   Not an error: a sweep or `--set` over `max_rounds` shortens the run under a fixed stop, and
///   the meaning is plain. (A churn *start* at or after the end is an error: that churn would
///   never happen.)
pub fn validate_with_warnings(raw: RawScenario) -> Result<(Scenario, Vec<Warning>)> {
    let latency_written = raw.network.as_ref().is_some_and(|n| n.latency.is_some());
    let stop_written =
        raw.churn
            .as_ref()
            .and_then(|churn| match (churn.stop_round, churn.stop_ms) {
                (Some(rounds), _) => Some(("stop_round", rounds)),
                (None, Some(ms)) => Some(("stop_ms", ms)),
                (None, None) => None,
            });
    let scenario = validate(raw)?;
    let mut warnings = Vec::new();
    let default_latency = Latency::Constant {
        ms: DEFAULT_LATENCY_MS,
    };
    if latency_written
        && scenario.timing == Timing::Rounds
        && scenario.network.latency != default_latency
    {
        warnings.push(Warning::new(
            KeyPath::from("network").key("latency"),
            format!("{{ {} }}", inline_latency(&scenario.network.latency)),
            "has no effect in rounds timing, where a message arrives within the round it is \
             sent (it applies with protocol.timing = \"async\")",
        ));
    }
    let end = Time::from_micros(scenario.period.micros() * u64::from(scenario.max_rounds));
    if let (Some(churn), Some((key, value))) = (&scenario.churn, stop_written)
        && churn.stop > end
    {
        let why = if key == "stop_round" {
            format!(
                "is after the end of the run (max_rounds = {}); churn lasts until the end",
                scenario.max_rounds
            )
        } else {
            format!(
                "is after the end of the run at {} ms (max_rounds {} x period_ms {}); churn \
                 lasts until the end",
                end.micros() / 1000,
                scenario.max_rounds,
                scenario.period.micros() / 1000
            )
        };
        warnings.push(Warning::new(KeyPath::from("churn").key(key), value, why));
    }
    Ok((scenario, warnings))
}

pub fn validate(raw: RawScenario) -> Result<Scenario> {
    let name = name(raw.name)?;
    let seed = raw.seed.unwrap_or(0);
    let nodes = int_in(
        &"nodes".into(),
        raw.nodes.ok_or_else(|| ScenarioError::missing("nodes"))?,
        2,
        MAX_NODES,
    )?;
    let trials = int_in(&"trials".into(), raw.trials.unwrap_or(1), 1, MAX_TRIALS)?;
    let max_rounds = int_in(
        &"max_rounds".into(),
        raw.max_rounds.unwrap_or(DEFAULT_MAX_ROUNDS),
        1,
        MAX_ROUNDS,
    )?;
    let protocol = raw
        .protocol
        .ok_or_else(|| ScenarioError::missing("protocol"))?;
    let local_bias = protocol.local_bias;
    let (protocol, timing, period_ms) = protocol_of(protocol, nodes)?;
    let overlay = overlay_of(raw.overlay.unwrap_or_default(), nodes, timing)?;
    let clock = Clock {
        period_ms: period_ms as u64,
        max_rounds: max_rounds as u64,
        // At most 1e7 rounds of 8.64e7 ms: far below MAX_MS.
        end_ms: max_rounds as u64 * period_ms as u64,
    };
    let raw_network = raw.network.unwrap_or_default();
    let (max_message_bytes, budget_bytes_per_period) = (
        raw_network.max_message_bytes,
        raw_network.budget_bytes_per_period,
    );
    let mut network = network(raw_network)?;
    let regions = regions_of(
        raw.regions,
        raw.region_latency,
        local_bias,
        nodes,
        timing,
        overlay,
    )?;
    let crashes = raw
        .crashes
        .into_iter()
        .enumerate()
        .map(|(i, crash)| {
            crash_plan(
                KeyPath::root().key("crashes").index(i),
                crash,
                nodes,
                &clock,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let churn = raw.churn.map(|churn| churn_of(churn, &clock)).transpose()?;
    let explicit = raw
        .updates
        .into_iter()
        .enumerate()
        .map(|(i, update)| {
            explicit_update(
                KeyPath::root().key("updates").index(i),
                update,
                nodes,
                &clock,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let (products, generated) = workload(raw.workload.unwrap_or_default(), &clock)?;
    if explicit.is_empty() && generated.is_none() {
        return Err(ScenarioError::NoUpdates {
            at: Default::default(),
        });
    }
    let sizes = sizes(raw.sizes.unwrap_or_default())?;
    network.max_message_bytes = message_bound("max_message_bytes", max_message_bytes, sizes)?;
    network.budget_bytes_per_period =
        message_bound("budget_bytes_per_period", budget_bytes_per_period, sizes)?;
    let raw_output = raw.output.unwrap_or_default();
    let output = OutputOptions {
        coverage: raw_output.coverage.unwrap_or(true),
        tables: raw_output.tables.unwrap_or(false),
    };
    // tables.csv has a row per node and changed product per trial: keep it for small runs.
    let changes = explicit.len() as u64 + generated.as_ref().map_or(0, |g| u64::from(g.count));
    if output.tables && nodes as u64 * changes > TABLES_LIMIT {
        return Err(ScenarioError::invalid(
            KeyPath::from("output").key("tables"),
            true,
            format!(
                "would write up to {} rows per trial (nodes x updates); the limit is {TABLES_LIMIT}",
                nodes as u64 * changes
            ),
        ));
    }
    Ok(Scenario {
        name,
        seed,
        nodes: nodes as u32,
        trials: trials as u32,
        max_rounds: max_rounds as u32,
        protocol,
        overlay,
        timing,
        period: Time::from_millis(clock.period_ms),
        network,
        crashes,
        churn,
        workload: Workload {
            products: products as u32,
            explicit,
            generated,
        },
        sizes,
        output,
        regions,
    })
}

fn name(raw: Option<String>) -> Result<String> {
    let name = raw.ok_or_else(|| ScenarioError::missing("name"))?;
    let chars = name.chars().count();
    let problem = if chars == 0 {
        "must not be empty"
    } else if chars > MAX_NAME_CHARS {
        "must be at most 64 characters"
    } else if !is_valid_name(&name) {
        // It names the output folder (results/NAME/), so "." and ".." would write into the
        // working directory or its parent, and starts every CSV row, where a leading '-' is a
        // spreadsheet formula.
        "may only contain letters, digits, '.', '_' and '-', and must start with a letter, \
         digit or '_'"
    } else {
        return Ok(name);
    };
    Err(ScenarioError::invalid("name", toml_string(&name), problem))
}

/// Whether `name` is a scenario name: 1 to 64 of letters, digits, '.', '_' and '-', starting
/// with a letter, digit or '_' (so never "." or "..", never hidden, never a flag or a formula).
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && name.chars().count() <= MAX_NAME_CHARS
}

/// Why a product name cannot be used, if it cannot. Product names reach every row of
/// updates.csv and tables.csv, the terminal and the charts: no control character (a terminal
/// escape, a broken SVG, a CSV row split in two), and no leading '=', '+', '-' or '@', which a
/// spreadsheet runs as a formula (OWASP, "CSV injection"). Rejected rather than quietly rewritten,
/// so a name in the results is always the name in the scenario.
pub fn product_name_problem(product: &str) -> Option<&'static str> {
    let chars = product.chars().count();
    if chars == 0 || chars > MAX_PRODUCT_CHARS {
        Some("must be 1 to 64 characters long")
    } else if product.chars().any(char::is_control) {
        Some("must not contain control characters (tabs, line breaks, escapes)")
    } else if product.starts_with(['=', '+', '-', '@']) {
        Some("must not start with '=', '+', '-' or '@' (a spreadsheet would run it as a formula)")
    } else if product.trim() != product {
        Some("must not start or end with a space")
    } else {
        None
    }
}

fn protocol_of(raw: RawProtocol, nodes: i64) -> Result<(Protocol, Timing, i64)> {
    let table = KeyPath::from("protocol");
    let kind = raw
        .kind
        .clone()
        .ok_or_else(|| ScenarioError::missing(table.key("kind")))?;
    let kind = match ProtocolKind::lookup(&kind) {
        Some(kind) => kind,
        None => {
            let names: Vec<String> = crate::protocol::registry::names()
                .into_iter()
                .map(toml_string)
                .collect();
            return Err(ScenarioError::invalid(
                table.key("kind"),
                toml_string(&kind),
                format!("must be one of {}", names.join(", ")),
            ));
        }
    };
    let fanout = raw.fanout.unwrap_or(1);
    if !(1..nodes).contains(&fanout) {
        return Err(ScenarioError::invalid(
            table.key("fanout"),
            fanout,
            format!("must be at least 1 and less than nodes ({nodes})"),
        ));
    }
    let is_async = choice(
        &table.key("timing"),
        raw.timing.as_deref().unwrap_or("rounds"),
        &[("rounds", false), ("async", true)],
    )?;
    let period_ms = int_in(
        &table.key("period_ms"),
        raw.period_ms.unwrap_or(DEFAULT_PERIOD_MS),
        1,
        MAX_PERIOD_MS,
    )?;
    let timing = match (is_async, raw.jitter_ms) {
        (false, None | Some(0)) => Timing::Rounds,
        (false, Some(jitter)) => {
            return Err(ScenarioError::invalid(
                table.key("jitter_ms"),
                jitter,
                "only applies to timing = \"async\"",
            ));
        }
        (true, jitter) => {
            let jitter = jitter.unwrap_or(0);
            if !(0..period_ms).contains(&jitter) {
                // A jitter of a whole period could make a timer interval zero.
                return Err(ScenarioError::invalid(
                    table.key("jitter_ms"),
                    jitter,
                    format!("must be at least 0 and less than period_ms ({period_ms})"),
                ));
            }
            Timing::Async {
                jitter: Time::from_millis(jitter as u64),
            }
        }
    };
    // The protocol's own keys are resolved by the protocol, once the scenario is whole.
    let protocol = Protocol {
        kind,
        fanout: fanout as u32,
        config: toml::Table::new(),
    };
    Ok((protocol, timing, period_ms))
}

/// `[overlay]`: one table for every kind. `full` (the default); the static graphs `k-regular`
/// and `k-out` (with `degree`) and `erdos-renyi` (with `mean_degree` or `p`); or `hyparview`
/// with its parameters, all defaulted. A key that the chosen kind does not take is an error
/// naming the kinds that do. HyParView runs in rounds timing only, and Plumtree needs it: its
/// eager and lazy marks live on HyParView's links.
fn overlay_of(raw: RawOverlay, nodes: i64, timing: Timing) -> Result<Overlay> {
    let table = KeyPath::from("overlay");
    let kind = choice(
        &table.key("kind"),
        raw.kind.as_deref().unwrap_or("full"),
        &[
            ("full", "full"),
            ("k-regular", "k-regular"),
            ("k-out", "k-out"),
            ("erdos-renyi", "erdos-renyi"),
            ("hyparview", "hyparview"),
        ],
    )?;
    const DEGREE: &[&str] = &["k-regular", "k-out"];
    const RANDOM: &[&str] = &["erdos-renyi"];
    const HYPARVIEW: &[&str] = &["hyparview"];
    let int = |v: Option<i64>| v.map(|v| v.to_string());
    // Every key but `kind`, as written, with the kinds that take it.
    let given = [
        ("degree", int(raw.degree), DEGREE),
        ("mean_degree", raw.mean_degree.map(toml_float), RANDOM),
        ("p", raw.p.map(toml_float), RANDOM),
        ("active_size", int(raw.active_size), HYPARVIEW),
        ("passive_size", int(raw.passive_size), HYPARVIEW),
        ("arwl", int(raw.arwl), HYPARVIEW),
        ("prwl", int(raw.prwl), HYPARVIEW),
        ("shuffle_every", int(raw.shuffle_every), HYPARVIEW),
        ("shuffle_active", int(raw.shuffle_active), HYPARVIEW),
        ("shuffle_passive", int(raw.shuffle_passive), HYPARVIEW),
        ("warmup_rounds", int(raw.warmup_rounds), HYPARVIEW),
    ];
    for (key, value, kinds) in given {
        if let Some(value) = value
            && !kinds.contains(&kind)
        {
            let kinds: Vec<String> = kinds.iter().map(|k| toml_string(k)).collect();
            return Err(ScenarioError::invalid(
                table.key(key),
                value,
                format!("only applies to kind = {}", kinds.join(" or ")),
            ));
        }
    }
    let degree = || -> Result<u32> {
        let key = table.key("degree");
        let degree = raw
            .degree
            .ok_or_else(|| ScenarioError::missing(key.clone()))?;
        if !(1..nodes).contains(&degree) {
            return Err(ScenarioError::invalid(
                key,
                degree,
                format!("must be at least 1 and less than nodes ({nodes})"),
            ));
        }
        Ok(degree as u32)
    };
    Ok(match kind {
        "full" => Overlay::Full,
        "k-regular" => {
            let degree = degree()?;
            if nodes * i64::from(degree) % 2 == 1 {
                // Every edge has two ends: the degrees of a graph sum to an even number.
                return Err(ScenarioError::invalid(
                    table.key("degree"),
                    degree,
                    format!(
                        "nodes x degree must be even for a regular graph, and {nodes} x {degree} is odd"
                    ),
                ));
            }
            Overlay::KRegular { degree }
        }
        "k-out" => Overlay::KOut { degree: degree()? },
        "erdos-renyi" => match (raw.mean_degree, raw.p) {
            (Some(c), Some(p)) => {
                return Err(ScenarioError::invalid(
                    table.key("p"),
                    toml_float(p),
                    format!(
                        "conflicts with {} = {}; set only one",
                        table.key("mean_degree"),
                        toml_float(c)
                    ),
                ));
            }
            (Some(c), None) => {
                if !(c.is_finite() && c > 0.0 && c <= (nodes - 1) as f64) {
                    return Err(ScenarioError::invalid(
                        table.key("mean_degree"),
                        toml_float(c),
                        format!(
                            "must be a finite number > 0 and at most nodes - 1 ({})",
                            nodes - 1
                        ),
                    ));
                }
                Overlay::ErdosRenyi(EdgeChance::MeanDegree(c))
            }
            (None, Some(p)) => {
                if !(p > 0.0 && p <= 1.0) {
                    return Err(ScenarioError::invalid(
                        table.key("p"),
                        toml_float(p),
                        "must be a probability in (0, 1]",
                    ));
                }
                Overlay::ErdosRenyi(EdgeChance::Probability(p))
            }
            (None, None) => {
                return Err(ScenarioError::MissingOneOf {
                    at: Default::default(),
                    table,
                    keys: vec!["mean_degree", "p"],
                });
            }
        },
        _ => Overlay::HyParView(hyparview_params(&table, &raw, timing)?),
    })
}

/// HyParView's parameters, each defaulted to the paper's (see [`HyParViewParams::default`]).
fn hyparview_params(table: &KeyPath, raw: &RawOverlay, timing: Timing) -> Result<HyParViewParams> {
    let _ = timing;
    let d = HyParViewParams::default();
    let get = |key: &str, value: Option<i64>, default: u32, min: i64, max: i64| {
        int_in(
            &table.key(key),
            value.unwrap_or(i64::from(default)),
            min,
            max,
        )
        .map(|v| v as u32)
    };
    let active_size = get("active_size", raw.active_size, d.active_size, 1, 64)?;
    let passive_size = get("passive_size", raw.passive_size, d.passive_size, 1, 1024)?;
    let arwl = get("arwl", raw.arwl, d.arwl, 0, 64)?;
    let prwl = get("prwl", raw.prwl, d.prwl, 0, i64::from(arwl))?;
    Ok(HyParViewParams {
        active_size,
        passive_size,
        arwl,
        prwl,
        shuffle_every: get(
            "shuffle_every",
            raw.shuffle_every,
            d.shuffle_every,
            1,
            1_000_000,
        )?,
        shuffle_active: get(
            "shuffle_active",
            raw.shuffle_active,
            d.shuffle_active.min(active_size),
            0,
            i64::from(active_size),
        )?,
        shuffle_passive: get(
            "shuffle_passive",
            raw.shuffle_passive,
            d.shuffle_passive.min(passive_size),
            0,
            i64::from(passive_size),
        )?,
        warmup_rounds: get(
            "warmup_rounds",
            raw.warmup_rounds,
            d.warmup_rounds,
            0,
            100_000,
        )?,
    })
}

/// Regions, their latency matrix and `protocol.local_bias`; `None` without `[[regions]]`.
fn regions_of(
    raw: Vec<RawRegion>,
    raw_latency: Option<BTreeMap<String, RawLatency>>,
    local_bias: Option<f64>,
    nodes: i64,
    timing: Timing,
    overlay: Overlay,
) -> Result<Option<Regions>> {
    let bias_key = KeyPath::from("protocol").key("local_bias");
    if raw.is_empty() {
        if let Some(pairs) = &raw_latency
            && let Some(key) = pairs.keys().next()
        {
            return Err(ScenarioError::invalid(
                KeyPath::from("region_latency").key(key),
                toml_string(key),
                "needs [[regions]] to name the regions",
            ));
        }
        if let Some(bias) = local_bias {
            return Err(ScenarioError::invalid(
                bias_key,
                toml_float(bias),
                "needs [[regions]]",
            ));
        }
        return Ok(None);
    }
    if raw.len() > MAX_REGIONS {
        return Err(ScenarioError::invalid(
            "regions",
            format!("[{} tables]", raw.len()),
            format!("at most {MAX_REGIONS} regions"),
        ));
    }
    let mut regions: Vec<Region> = Vec::with_capacity(raw.len());
    for (i, region) in raw.into_iter().enumerate() {
        let table = KeyPath::root().key("regions").index(i);
        let name = region
            .name
            .ok_or_else(|| ScenarioError::missing(table.key("name")))?;
        let chars = name.chars().count();
        let problem = if chars == 0 || chars > MAX_REGION_NAME_CHARS {
            Some("must be 1 to 32 characters long".to_owned())
        } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            // A '-' joins two names in the keys of [region_latency].
            Some("may only contain letters, digits and '_'".to_owned())
        } else {
            regions
                .iter()
                .position(|other| other.name == name)
                .map(|j| format!("is already the name of regions[{j}]"))
        };
        if let Some(problem) = problem {
            return Err(ScenarioError::invalid(
                table.key("name"),
                toml_string(&name),
                problem,
            ));
        }
        let size = region
            .nodes
            .ok_or_else(|| ScenarioError::missing(table.key("nodes")))?;
        let size = int_in(&table.key("nodes"), size, 1, nodes)?;
        regions.push(Region {
            name,
            nodes: size as u32,
        });
    }
    let total: i64 = regions.iter().map(|r| i64::from(r.nodes)).sum();
    if total != nodes {
        let sizes: Vec<String> = regions.iter().map(|r| r.nodes.to_string()).collect();
        let last = regions.len() - 1;
        return Err(ScenarioError::invalid(
            KeyPath::root().key("regions").index(last).key("nodes"),
            regions[last].nodes,
            format!(
                "region sizes sum to {total} ({}); they must sum to nodes ({nodes})",
                sizes.join(" + ")
            ),
        ));
    }
    let mut latency: Vec<RegionLatency> = Vec::new();
    let mut keys: Vec<(u32, u32, String)> = Vec::new();
    for (key, raw) in raw_latency.unwrap_or_default() {
        let path = KeyPath::from("region_latency").key(&key);
        if timing == Timing::Rounds {
            return Err(ScenarioError::invalid(
                path,
                toml_string(&key),
                "only applies to timing = \"async\" (rounds timing has no latency)",
            ));
        }
        let index = |name: &str| regions.iter().position(|r| r.name == name);
        let pair = key
            .split_once('-')
            .and_then(|(a, b)| Some((index(a)?, index(b)?)));
        let Some((a, b)) = pair else {
            let names: Vec<String> = regions.iter().map(|r| toml_string(&r.name)).collect();
            return Err(ScenarioError::invalid(
                path,
                toml_string(&key),
                format!(
                    "must be two region names joined by '-', as in \"{0}-{0}\" (regions: {1})",
                    regions[0].name,
                    names.join(", ")
                ),
            ));
        };
        let (a, b) = (a.min(b) as u32, a.max(b) as u32);
        if let Some((_, _, earlier)) = keys.iter().find(|(x, y, _)| (*x, *y) == (a, b)) {
            return Err(ScenarioError::invalid(
                path,
                toml_string(&key),
                format!("names the same pair as region_latency.{earlier} (latency is symmetric)"),
            ));
        }
        keys.push((a, b, key.clone()));
        latency.push(RegionLatency {
            a,
            b,
            latency: latency_of(path, raw)?,
        });
    }
    latency.sort_by_key(|pair| (pair.a, pair.b));
    let local_bias = match local_bias {
        None => None,
        Some(bias) if overlay != Overlay::Full => {
            return Err(ScenarioError::invalid(
                bias_key,
                toml_float(bias),
                format!(
                    "only applies to overlay kind = \"full\" (this overlay is \"{}\")",
                    overlay.as_str()
                ),
            ));
        }
        Some(bias) => Some(probability(&bias_key, bias)?),
    };
    Ok(Some(Regions {
        regions,
        latency,
        local_bias,
    }))
}

fn network(raw: RawNetwork) -> Result<Network> {
    let table = KeyPath::from("network");
    let loss = probability(&table.key("loss"), raw.loss.unwrap_or(0.0))?;
    let latency = match raw.latency {
        Some(latency) => latency_of(table.key("latency"), latency)?,
        None => Latency::Constant {
            ms: DEFAULT_LATENCY_MS,
        },
    };
    Ok(Network {
        loss,
        latency,
        max_message_bytes: None,
        budget_bytes_per_period: None,
    })
}

/// `network.max_message_bytes` or `network.budget_bytes_per_period`: a bound on bytes that must
/// leave room for a message of a header and one entry (and one digest entry) under `sizes`,
/// or no protocol could send anything useful within it.
fn message_bound(name: &str, value: Option<i64>, sizes: SizeModel) -> Result<Option<u64>> {
    let Some(bytes) = value else {
        return Ok(None);
    };
    let key = KeyPath::from("network").key(name);
    let smallest = sizes.header + sizes.entry.max(sizes.digest_entry);
    match u64::try_from(bytes) {
        Ok(bytes) if bytes >= smallest => Ok(Some(bytes)),
        _ => Err(ScenarioError::invalid(
            key,
            bytes,
            format!(
                "must be at least {smallest}: a header ({} bytes) and one entry ({} bytes; \
                 a digest entry is {}) under [sizes]",
                sizes.header, sizes.entry, sizes.digest_entry
            ),
        )),
    }
}

fn latency_of(table: KeyPath, raw: RawLatency) -> Result<Latency> {
    let dist = raw
        .dist
        .as_deref()
        .ok_or_else(|| ScenarioError::missing(table.key("dist")))?;
    let dist_key = table.key("dist");
    let takes: &[&str] = match dist {
        "constant" => &["ms"],
        "uniform" => &["min_ms", "max_ms"],
        "exponential" => &["mean_ms"],
        "log-normal" => &["median_ms", "sigma"],
        _ => {
            return Err(ScenarioError::invalid(
                dist_key,
                toml_string(dist),
                "must be one of \"constant\", \"uniform\", \"exponential\", \"log-normal\"",
            ));
        }
    };
    let given = [
        ("ms", raw.ms),
        ("min_ms", raw.min_ms),
        ("max_ms", raw.max_ms),
        ("mean_ms", raw.mean_ms),
        ("median_ms", raw.median_ms),
        ("sigma", raw.sigma),
    ];
    // A parameter of another distribution is a mistake, not something to ignore: the user
    // believes it has an effect.
    for (param, value) in given {
        if let Some(value) = value
            && !takes.contains(&param)
        {
            return Err(ScenarioError::invalid(
                table.key(param),
                toml_float(value),
                format!(
                    "is not a parameter of dist = {} (it takes {})",
                    toml_string(dist),
                    takes.join(", ")
                ),
            ));
        }
    }
    let param = |name: &str, value: Option<f64>, positive: bool| -> Result<f64> {
        let key = table.key(name);
        let value = value.ok_or_else(|| ScenarioError::missing(key.clone()))?;
        let ok = value.is_finite() && if positive { value > 0.0 } else { value >= 0.0 };
        if ok {
            Ok(value)
        } else {
            let bound = if positive { "> 0" } else { ">= 0" };
            Err(ScenarioError::invalid(
                key,
                toml_float(value),
                format!("must be a finite number {bound}"),
            ))
        }
    };
    let latency = match dist {
        "constant" => Latency::Constant {
            ms: param("ms", raw.ms, false)?,
        },
        "uniform" => {
            let min_ms = param("min_ms", raw.min_ms, false)?;
            let max_ms = param("max_ms", raw.max_ms, false)?;
            if min_ms > max_ms {
                return Err(ScenarioError::invalid(
                    table.key("min_ms"),
                    toml_float(min_ms),
                    format!("must not exceed max_ms ({})", toml_float(max_ms)),
                ));
            }
            Latency::Uniform { min_ms, max_ms }
        }
        "exponential" => Latency::Exponential {
            mean_ms: param("mean_ms", raw.mean_ms, true)?,
        },
        _ => Latency::LogNormal {
            median_ms: param("median_ms", raw.median_ms, true)?,
            sigma: param("sigma", raw.sigma, false)?,
        },
    };
    Ok(latency)
}

fn crash_plan(table: KeyPath, raw: RawCrash, nodes: i64, clock: &Clock) -> Result<CrashPlan> {
    let at = clock
        .either(&table, ("at_round", raw.at_round), ("at_ms", raw.at_ms))?
        .ok_or_else(|| ScenarioError::MissingOneOf {
            at: Default::default(),
            table: table.clone(),
            keys: vec!["at_round", "at_ms"],
        })?;
    clock.before_end(&at)?;
    let target = match (raw.fraction, raw.nodes) {
        (Some(fraction), Some(ids)) => {
            return Err(ScenarioError::invalid(
                table.key("nodes"),
                int_list(&ids),
                format!(
                    "conflicts with {} = {}; set only one",
                    table.key("fraction"),
                    toml_float(fraction)
                ),
            ));
        }
        (Some(fraction), None) => {
            CrashTarget::Fraction(probability(&table.key("fraction"), fraction)?)
        }
        (None, Some(ids)) => CrashTarget::Nodes(node_list(table.key("nodes"), &ids, nodes)?),
        (None, None) => {
            return Err(ScenarioError::MissingOneOf {
                at: Default::default(),
                table,
                keys: vec!["fraction", "nodes"],
            });
        }
    };
    let recover_after = clock
        .either(
            &table,
            ("recover_after_rounds", raw.recover_after_rounds),
            ("recover_after_ms", raw.recover_after_ms),
        )?
        .map(|after| after.positive())
        .transpose()?;
    Ok(CrashPlan {
        at: at.time(),
        target,
        recover_after,
        keep_state: raw.keep_state.unwrap_or(true),
    })
}

/// Crash targets: valid ids, each once, sorted so the engine can rely on the order.
fn node_list(key: KeyPath, ids: &[i64], nodes: i64) -> Result<Vec<NodeId>> {
    if ids.is_empty() {
        return Err(ScenarioError::invalid(
            key,
            "[]",
            "must name at least one node (or remove the crash)",
        ));
    }
    let mut sorted = ids
        .iter()
        .enumerate()
        .map(|(i, &id)| node_id(key.index(i), id, nodes))
        .collect::<Result<Vec<_>>>()?;
    sorted.sort_unstable();
    if let Some(pair) = sorted.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(ScenarioError::invalid(
            key,
            int_list(ids),
            format!("lists node {} more than once", pair[0]),
        ));
    }
    Ok(sorted)
}

fn node_id(key: KeyPath, id: i64, nodes: i64) -> Result<NodeId> {
    if (0..nodes).contains(&id) {
        Ok(id as NodeId)
    } else {
        Err(ScenarioError::invalid(
            key,
            id,
            format!(
                "is not a node id: ids run from 0 to nodes - 1 ({})",
                nodes - 1
            ),
        ))
    }
}

fn churn_of(raw: RawChurn, clock: &Clock) -> Result<Churn> {
    let table = KeyPath::from("churn");
    let crash_rate = raw
        .crash_rate
        .ok_or_else(|| ScenarioError::missing(table.key("crash_rate")))?;
    let crash_rate = probability(&table.key("crash_rate"), crash_rate)?;
    let mean_downtime = clock
        .either(
            &table,
            ("mean_downtime_rounds", raw.mean_downtime_rounds),
            ("mean_downtime_ms", raw.mean_downtime_ms),
        )?
        .ok_or_else(|| ScenarioError::MissingOneOf {
            at: Default::default(),
            table: table.clone(),
            keys: vec!["mean_downtime_rounds", "mean_downtime_ms"],
        })?
        .positive()?;
    let start = clock.either(
        &table,
        ("start_round", raw.start_round),
        ("start_ms", raw.start_ms),
    )?;
    let stop = clock.either(
        &table,
        ("stop_round", raw.stop_round),
        ("stop_ms", raw.stop_ms),
    )?;
    // Churn that starts when the run is over would silently never happen. A stop after the
    // end is only a warning (see `validate_with_warnings`): churn lasts until the end.
    if let Some(start) = &start {
        clock.before_end(start)?;
    }
    let start_ms = start.as_ref().map_or(0, |start| start.ms);
    let stop_ms = stop.as_ref().map_or(clock.end_ms, |stop| stop.ms);
    if let Some(stop) = &stop
        && stop.ms < start_ms
    {
        return Err(stop.invalid(format!(
            "must not be before the churn start ({start_ms} ms)"
        )));
    }
    let rejoin = choice(
        &table.key("rejoin"),
        raw.rejoin.as_deref().unwrap_or("own-table"),
        &[
            ("own-table", Rejoin::OwnTable),
            ("snapshot", Rejoin::Snapshot),
        ],
    )?;
    Ok(Churn {
        crash_rate,
        mean_downtime,
        keep_state: raw.keep_state.unwrap_or(true),
        rejoin,
        start: Time::from_millis(start_ms),
        stop: Time::from_millis(stop_ms),
    })
}

fn explicit_update(
    table: KeyPath,
    raw: RawUpdate,
    nodes: i64,
    clock: &Clock,
) -> Result<ExplicitUpdate> {
    let product = raw
        .product
        .ok_or_else(|| ScenarioError::missing(table.key("product")))?;
    if let Some(problem) = product_name_problem(&product) {
        return Err(ScenarioError::invalid(
            table.key("product"),
            toml_string(&product),
            problem,
        ));
    }
    let price = raw
        .price
        .ok_or_else(|| ScenarioError::missing(table.key("price")))?;
    let price = finite_at_least(&table.key("price"), price, 0.0)?;
    let origin = raw
        .origin
        .ok_or_else(|| ScenarioError::missing(table.key("origin")))?;
    let origin = node_id(table.key("origin"), origin, nodes)?;
    let at = clock.either(&table, ("at_round", raw.at_round), ("at_ms", raw.at_ms))?;
    if let Some(at) = &at {
        clock.before_end(at)?;
    }
    Ok(ExplicitUpdate {
        product,
        price,
        origin,
        at: at.map_or(Time::ZERO, |at| at.time()),
    })
}

/// The catalog size and the generated updates, if any.
fn workload(raw: RawWorkload, clock: &Clock) -> Result<(i64, Option<GeneratedUpdates>)> {
    let table = KeyPath::from("workload");
    let products = int_in(
        &table.key("products"),
        raw.products.unwrap_or(1),
        1,
        MAX_PRODUCTS,
    )?;
    let count = int_in(
        &table.key("updates"),
        raw.updates.unwrap_or(0),
        0,
        MAX_GENERATED_UPDATES,
    )?;
    // Every key is checked even when no update is generated: a bad value is a mistake either
    // way.
    let start = clock.either(
        &table,
        ("start_round", raw.start_round),
        ("start_ms", raw.start_ms),
    )?;
    if let Some(start) = &start {
        clock.before_end(start)?;
    }
    let per_round = raw
        .per_round
        .map(|per_round| {
            if per_round.is_finite() && per_round > 0.0 {
                Ok(per_round)
            } else {
                Err(ScenarioError::invalid(
                    table.key("per_round"),
                    toml_float(per_round),
                    "must be a finite number > 0",
                ))
            }
        })
        .transpose()?;
    let zipf_exponent = finite_at_least(&table.key("zipf"), raw.zipf.unwrap_or(1.0), 0.0)?;
    let min_price = finite_at_least(&table.key("min_price"), raw.min_price.unwrap_or(1.0), 0.0)?;
    let max_price = finite_at_least(
        &table.key("max_price"),
        raw.max_price.unwrap_or(1000.0),
        0.0,
    )?;
    if min_price > max_price {
        return Err(ScenarioError::invalid(
            table.key("min_price"),
            toml_float(min_price),
            format!("must not exceed max_price ({})", toml_float(max_price)),
        ));
    }
    let generated = (count > 0).then(|| GeneratedUpdates {
        count: count as u32,
        start: start.map_or(Time::ZERO, |start| start.time()),
        per_round,
        zipf_exponent,
        min_price,
        max_price,
    });
    Ok((products, generated))
}

fn sizes(raw: RawSizes) -> Result<SizeModel> {
    let table = KeyPath::from("sizes");
    let defaults = SizeModel::default();
    let bytes = |name: &str, value: Option<i64>, default: u64| -> Result<u64> {
        match value {
            None => Ok(default),
            Some(bytes) => u64::try_from(bytes).map_err(|_| {
                ScenarioError::invalid(table.key(name), bytes, "must not be negative")
            }),
        }
    };
    Ok(SizeModel {
        header: bytes("header", raw.header, defaults.header)?,
        entry: bytes("entry", raw.entry, defaults.entry)?,
        digest_entry: bytes("digest_entry", raw.digest_entry, defaults.digest_entry)?,
    })
}

/// The run's time frame, for converting rounds to milliseconds and checking schedule times.
struct Clock {
    period_ms: u64,
    max_rounds: u64,
    /// `max_rounds * period_ms`: the run ends here at the latest.
    end_ms: u64,
}

/// A time as the user wrote it, kept so that a later check can name the key and value.
struct WrittenTime {
    ms: u64,
    key: KeyPath,
    value: i64,
    in_rounds: bool,
}

impl WrittenTime {
    fn time(&self) -> Time {
        Time::from_millis(self.ms)
    }

    fn invalid(&self, problem: impl Into<String>) -> ScenarioError {
        ScenarioError::invalid(self.key.clone(), self.value, problem)
    }

    /// For durations, where zero means nothing happens.
    fn positive(self) -> Result<Time> {
        if self.ms == 0 {
            Err(self.invalid("must be greater than 0"))
        } else {
            Ok(self.time())
        }
    }
}

impl Clock {
    /// A time written as either `{round_key}` (whole rounds) or `{ms_key}` (whole milliseconds),
    /// at most one of them.
    fn either(
        &self,
        table: &KeyPath,
        (round_key, rounds): (&str, Option<i64>),
        (ms_key, ms): (&str, Option<i64>),
    ) -> Result<Option<WrittenTime>> {
        let (key, value, in_rounds) = match (rounds, ms) {
            (None, None) => return Ok(None),
            (Some(rounds), Some(ms)) => {
                return Err(ScenarioError::invalid(
                    table.key(ms_key),
                    ms,
                    format!(
                        "conflicts with {} = {rounds}; set only one",
                        table.key(round_key)
                    ),
                ));
            }
            (Some(rounds), None) => (table.key(round_key), rounds, true),
            (None, Some(ms)) => (table.key(ms_key), ms, false),
        };
        let Ok(count) = u64::try_from(value) else {
            return Err(ScenarioError::invalid(key, value, "must not be negative"));
        };
        let ms = if in_rounds {
            count.checked_mul(self.period_ms)
        } else {
            Some(count)
        };
        match ms {
            Some(ms) if ms <= MAX_MS => Ok(Some(WrittenTime {
                ms,
                key,
                value,
                in_rounds,
            })),
            _ => Err(ScenarioError::invalid(
                key,
                value,
                format!("is beyond the simulator's time range ({MAX_MS} ms)"),
            )),
        }
    }

    /// An event must happen while the run lasts, or it would silently never happen.
    fn before_end(&self, time: &WrittenTime) -> Result<()> {
        if time.ms < self.end_ms {
            Ok(())
        } else if time.in_rounds {
            Err(time.invalid(format!(
                "must be less than max_rounds ({})",
                self.max_rounds
            )))
        } else {
            Err(time.invalid(format!(
                "must be before the end of the run at {} ms (max_rounds {} x period_ms {})",
                self.end_ms, self.max_rounds, self.period_ms
            )))
        }
    }
}

fn int_in(key: &KeyPath, value: i64, min: i64, max: i64) -> Result<i64> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(ScenarioError::invalid(
            key.clone(),
            value,
            format!("must be between {min} and {max}"),
        ))
    }
}

fn probability(key: &KeyPath, value: f64) -> Result<f64> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(ScenarioError::invalid(
            key.clone(),
            toml_float(value),
            "must be a probability in [0, 1]",
        ))
    }
}

fn finite_at_least(key: &KeyPath, value: f64, min: f64) -> Result<f64> {
    if value.is_finite() && value >= min {
        Ok(value)
    } else {
        Err(ScenarioError::invalid(
            key.clone(),
            toml_float(value),
            format!("must be a finite number >= {min}"),
        ))
    }
}

fn choice<T: Copy>(key: &KeyPath, value: &str, options: &[(&str, T)]) -> Result<T> {
    if let Some(&(_, chosen)) = options.iter().find(|(name, _)| *name == value) {
        return Ok(chosen);
    }
    let names: Vec<String> = options.iter().map(|(name, _)| toml_string(name)).collect();
    Err(ScenarioError::invalid(
        key.clone(),
        toml_string(value),
        format!("must be one of {}", names.join(", ")),
    ))
}

fn int_list(values: &[i64]) -> String {
    let items: Vec<String> = values.iter().map(i64::to_string).collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;

    const MINIMAL: &str = r#"
        name = "minimal"
        nodes = 10
        [protocol]
        kind = "pull"
        [[updates]]
        product = "P1"
        price = 5
        origin = 3
    "#;

    fn with(extra: &str) -> Scenario {
        parse(&format!("{MINIMAL}\n{extra}"), "test.toml", &[]).unwrap()
    }

    #[test]
    fn defaults_are_filled() {
        let scenario = parse(MINIMAL, "test.toml", &[]).unwrap();
        assert_eq!(scenario.seed, 0);
        assert_eq!(scenario.trials, 1);
        assert_eq!(scenario.max_rounds, 1000);
        assert_eq!(scenario.protocol, Protocol::named("pull"));
        assert_eq!(scenario.timing, Timing::Rounds);
        assert_eq!(scenario.period, Time::from_millis(1000));
        assert_eq!(
            scenario.network,
            Network {
                loss: 0.0,
                latency: Latency::Constant { ms: 50.0 },
                max_message_bytes: None,
                budget_bytes_per_period: None,
            }
        );
        assert!(scenario.crashes.is_empty());
        assert_eq!(scenario.churn, None);
        assert_eq!(
            scenario.workload,
            Workload {
                products: 1,
                explicit: vec![ExplicitUpdate {
                    product: "P1".into(),
                    price: 5.0,
                    origin: 3,
                    at: Time::ZERO,
                }],
                generated: None,
            }
        );
        assert_eq!(scenario.sizes, SizeModel::default());
        assert_eq!(
            scenario.output,
            OutputOptions {
                coverage: true,
                tables: false
            }
        );
    }

    #[test]
    fn rounds_convert_with_the_period() {
        let scenario = parse(
            r#"
            name = "p"
            nodes = 10
            [protocol]
            kind = "push"
            period_ms = 250
            [[crashes]]
            at_round = 5
            nodes = [9, 0, 4]
            recover_after_rounds = 2
            [[updates]]
            product = "P1"
            price = 1
            origin = 0
            at_round = 3
            "#,
            "test.toml",
            &[],
        )
        .unwrap();
        let crash = &scenario.crashes[0];
        assert_eq!(crash.at, Time::from_millis(1250));
        assert_eq!(crash.recover_after, Some(Time::from_millis(500)));
        assert_eq!(crash.target, CrashTarget::Nodes(vec![0, 4, 9]));
        assert!(crash.keep_state);
        assert_eq!(scenario.workload.explicit[0].at, Time::from_millis(750));
    }

    #[test]
    fn async_timing_carries_its_jitter() {
        let scenario = parse(
            &MINIMAL.replace(
                "kind = \"pull\"",
                "kind = \"pull\"\ntiming = \"async\"\nperiod_ms = 200\njitter_ms = 199",
            ),
            "test.toml",
            &[],
        )
        .unwrap();
        assert_eq!(
            scenario.timing,
            Timing::Async {
                jitter: Time::from_millis(199)
            }
        );
        assert_eq!(scenario.period, Time::from_millis(200));
    }

    #[test]
    fn zero_jitter_is_allowed_with_rounds() {
        let scenario = parse(
            &MINIMAL.replace("kind = \"pull\"", "kind = \"pull\"\njitter_ms = 0"),
            "test.toml",
            &[],
        )
        .unwrap();
        assert_eq!(scenario.timing, Timing::Rounds);
    }

    #[test]
    fn churn_defaults_to_the_whole_run() {
        let text = format!("{MINIMAL}\n[churn]\ncrash_rate = 0.01\nmean_downtime_ms = 1500");
        let scenario = parse(&text, "test.toml", &["max_rounds=50".into()]).unwrap();
        let churn = scenario.churn.unwrap();
        assert_eq!(churn.start, Time::ZERO);
        assert_eq!(churn.stop, Time::from_millis(50 * 1000));
        assert_eq!(churn.mean_downtime, Time::from_millis(1500));
        assert!(churn.keep_state);
    }

    #[test]
    fn generated_updates_resolve() {
        let scenario = with(
            "[workload]\nproducts = 50\nupdates = 20\nstart_round = 3\nper_round = 2.5\nzipf = 0",
        );
        assert_eq!(scenario.workload.products, 50);
        assert_eq!(
            scenario.workload.generated,
            Some(GeneratedUpdates {
                count: 20,
                start: Time::from_millis(3000),
                per_round: Some(2.5),
                zipf_exponent: 0.0,
                min_price: 1.0,
                max_price: 1000.0,
            })
        );
    }

    #[test]
    fn generated_updates_alone_are_enough() {
        let text =
            "name = \"g\"\nnodes = 5\n[protocol]\nkind = \"push\"\n[workload]\nupdates = 1\n";
        let scenario = parse(text, "test.toml", &[]).unwrap();
        assert!(scenario.workload.explicit.is_empty());
        assert_eq!(scenario.workload.generated.unwrap().count, 1);
    }

    #[test]
    fn validate_alone_names_no_file() {
        let message = validate(RawScenario::default()).unwrap_err().to_string();
        assert_eq!(message, "missing required key `name`");
    }

    #[test]
    fn largest_values_are_accepted() {
        let text = r#"
            name = "big"
            seed = 18446744073709551615
            nodes = 100000000
            trials = 1000000
            max_rounds = 10000000
            [protocol]
            kind = "push"
            fanout = 99999999
            period_ms = 86400000
            [[updates]]
            product = "P"
            price = 0
            origin = 99999999
            at_round = 9999999
        "#;
        let scenario = parse(text, "test.toml", &[]).unwrap();
        assert_eq!(scenario.seed, u64::MAX);
        assert_eq!(
            scenario.workload.explicit[0].at,
            Time::from_millis(9_999_999 * 86_400_000)
        );
    }
}
