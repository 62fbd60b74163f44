//! The figures of a run: medians over rounds, the Markdown table and the verdict on the target.

use std::fmt::Write as _;

use crate::wrk::WrkReport;

/// A target loaded by wrk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Direct,
    Switchyard,
    Nginx,
    Haproxy,
}

impl Target {
    pub const ALL: [Target; 4] = [
        Target::Direct,
        Target::Switchyard,
        Target::Nginx,
        Target::Haproxy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Direct => "direct",
            Target::Switchyard => "switchyard",
            Target::Nginx => "nginx",
            Target::Haproxy => "haproxy",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Sample {
    pub wrk: WrkReport,
    pub cpu_us_per_request: f64,
    pub rss_load_kib: u64,
    /// The share of the machine's CPU that processes other than the benchmark's used.
    pub foreign_share: f64,
    /// What went wrong (errors, short bodies), with wrk's output.
    pub problem: Option<String>,
}

pub fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// A target's figures for one (connections, body) pair: medians over rounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub target: Target,
    pub requests_per_second: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    /// Median over rounds of this target's req/s over the direct backend's in the same round.
    pub ratio: f64,
    pub cpu_us_per_request: f64,
    pub rss_idle_mb: f64,
    pub rss_load_mb: f64,
    pub problems: usize,
}

/// Medians of `samples` (one per round, in round order) against `direct` (same rounds).
pub fn row_of(
    target: Target,
    samples: &[Sample],
    direct: &[Sample],
    rss_idle_kib: u64,
) -> Option<Row> {
    let pick = |f: fn(&Sample) -> f64| median(samples.iter().map(f).collect());
    let ratios = samples
        .iter()
        .zip(direct)
        .filter(|(_, d)| d.wrk.requests_per_second > 0.0)
        .map(|(s, d)| s.wrk.requests_per_second / d.wrk.requests_per_second)
        .collect();
    Some(Row {
        target,
        requests_per_second: pick(|s| s.wrk.requests_per_second)?,
        p50_us: pick(|s| s.wrk.p50_us)?,
        p99_us: pick(|s| s.wrk.p99_us)?,
        ratio: median(ratios)?,
        cpu_us_per_request: pick(|s| s.cpu_us_per_request)?,
        rss_idle_mb: rss_idle_kib as f64 / 1024.0,
        rss_load_mb: pick(|s| s.rss_load_kib as f64)? / 1024.0,
        problems: samples.iter().filter(|s| s.problem.is_some()).count(),
    })
}

pub fn latency(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

pub fn render_table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| target | req/s | p50 | p99 | ratio vs direct | CPU µs/req | RSS idle MB | RSS load MB |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let warn = if row.problems > 0 {
            format!(" ⚠ {} run(s) with errors", row.problems)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "| {}{warn} | {:.0} | {} | {} | {:.2} | {:.1} | {:.1} | {:.1} |",
            row.target.name(),
            row.requests_per_second,
            latency(row.p50_us),
            latency(row.p99_us),
            row.ratio,
            row.cpu_us_per_request,
            row.rss_idle_mb,
            row.rss_load_mb,
        );
    }
    out
}

/// Says how much CPU other processes took during `samples`: on a small machine a compiler
/// running meanwhile moves every figure.
pub fn foreign_note<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> String {
    let worst = samples
        .into_iter()
        .map(|s| s.foreign_share)
        .fold(0.0, f64::max);
    let warn = if worst > 0.05 {
        " ⚠ the machine was not quiet; figures are disturbed"
    } else {
        ""
    };
    format!(
        "Other processes: at most {:.1}% of the machine's CPU during a run.{warn}",
        worst * 100.0
    )
}

/// Whether Switchyard spent less CPU per request than nginx and HAProxy and kept a higher
/// share of the direct throughput; `None` when a competitor did not run.
pub fn verdict(rows: &[Row]) -> String {
    let find = |t: Target| rows.iter().find(|r| r.target == t);
    let Some(sy) = find(Target::Switchyard) else {
        return "target: not assessed (switchyard did not run)".to_owned();
    };
    let others: Vec<&Row> = [Target::Nginx, Target::Haproxy]
        .into_iter()
        .filter_map(find)
        .collect();
    if others.len() < 2 {
        return "target: not assessed (nginx or HAProxy did not run)".to_owned();
    }
    let cpu_ok = others
        .iter()
        .all(|o| sy.cpu_us_per_request < o.cpu_us_per_request);
    let ratio_ok = others.iter().all(|o| sy.ratio > o.ratio);
    let clean = rows.iter().all(|r| r.problems == 0);
    let met = cpu_ok && ratio_ok && clean;
    let detail = others
        .iter()
        .map(|o| {
            format!(
                "{} {:.1} µs, {:.2}",
                o.target.name(),
                o.cpu_us_per_request,
                o.ratio
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    format!(
        "target {}: CPU/req {} both ({:.1} µs), ratio {} both ({:.2}) [{detail}]{}",
        if met { "MET" } else { "NOT MET" },
        if cpu_ok { "below" } else { "not below" },
        sy.cpu_us_per_request,
        if ratio_ok { "above" } else { "not above" },
        sy.ratio,
        if clean { "" } else { "; some runs had errors" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        let cases = [
            ("empty", vec![], None),
            ("odd", vec![3.0, 1.0, 2.0], Some(2.0)),
            ("even", vec![4.0, 1.0, 3.0, 2.0], Some(2.5)),
            ("NaN ignored", vec![f64::NAN, 5.0], Some(5.0)),
        ];
        for (case, input, expected) in cases {
            assert_eq!(median(input), expected, "{case}");
        }
    }

    fn sample(rps: f64, cpu: f64, problem: bool) -> Sample {
        Sample {
            wrk: WrkReport {
                requests: 1000,
                requests_per_second: rps,
                p50_us: 100.0,
                p99_us: 900.0,
                bytes_read: 0.0,
                socket_errors: 0,
                non_2xx: 0,
            },
            cpu_us_per_request: cpu,
            rss_load_kib: 2048,
            foreign_share: 0.0,
            problem: problem.then(|| "broken".to_owned()),
        }
    }

    #[test]
    fn ratios_are_taken_per_round() {
        // Round 2's direct run is slow; pairing by round keeps it from skewing the ratio.
        let direct = [
            sample(100.0, 5.0, false),
            sample(50.0, 5.0, false),
            sample(100.0, 5.0, false),
        ];
        let proxied = [
            sample(80.0, 9.0, false),
            sample(40.0, 11.0, false),
            sample(80.0, 10.0, false),
        ];
        let row = row_of(Target::Switchyard, &proxied, &direct, 1024);
        let row = row.unwrap_or_else(|| panic!("a row"));
        assert!((row.ratio - 0.8).abs() < 1e-9, "{}", row.ratio);
        assert_eq!(row.cpu_us_per_request, 10.0);
        assert_eq!(row.requests_per_second, 80.0);
        assert_eq!(row.rss_idle_mb, 1.0);
        assert_eq!(row.rss_load_mb, 2.0);
        assert_eq!(row.problems, 0);
    }

    fn row(target: Target, ratio: f64, cpu: f64, problems: usize) -> Row {
        Row {
            target,
            requests_per_second: 1.0,
            p50_us: 1.0,
            p99_us: 1.0,
            ratio,
            cpu_us_per_request: cpu,
            rss_idle_mb: 1.0,
            rss_load_mb: 1.0,
            problems,
        }
    }

    #[test]
    fn the_target_needs_lower_cpu_and_higher_ratio_than_both() {
        let d = row(Target::Direct, 1.0, 5.0, 0);
        let n = row(Target::Nginx, 0.5, 20.0, 0);
        let h = row(Target::Haproxy, 0.6, 18.0, 0);
        let cases = [
            (
                "better than both",
                vec![
                    d.clone(),
                    row(Target::Switchyard, 0.7, 15.0, 0),
                    n.clone(),
                    h.clone(),
                ],
                "target MET",
            ),
            (
                "cpu above haproxy",
                vec![
                    d.clone(),
                    row(Target::Switchyard, 0.7, 19.0, 0),
                    n.clone(),
                    h.clone(),
                ],
                "target NOT MET",
            ),
            (
                "ratio below haproxy",
                vec![
                    d.clone(),
                    row(Target::Switchyard, 0.55, 15.0, 0),
                    n.clone(),
                    h.clone(),
                ],
                "target NOT MET",
            ),
            (
                "errors",
                vec![
                    d.clone(),
                    row(Target::Switchyard, 0.7, 15.0, 1),
                    n.clone(),
                    h.clone(),
                ],
                "target NOT MET",
            ),
            (
                "no haproxy",
                vec![d.clone(), row(Target::Switchyard, 0.7, 15.0, 0), n.clone()],
                "target: not assessed",
            ),
        ];
        for (case, rows, expected) in cases {
            let got = verdict(&rows);
            assert!(got.starts_with(expected), "{case}: {got}");
        }
    }

    #[test]
    fn other_load_is_reported_at_its_worst() {
        let with = |share| Sample {
            foreign_share: share,
            ..sample(1.0, 1.0, false)
        };
        let cases = [
            ("quiet", vec![with(0.0), with(0.01)], "at most 1.0%", false),
            (
                "a build ran",
                vec![with(0.01), with(0.4)],
                "at most 40.0%",
                true,
            ),
            ("nothing ran", vec![], "at most 0.0%", false),
        ];
        for (case, samples, share, warned) in cases {
            let note = foreign_note(&samples);
            assert!(note.contains(share), "{case}: {note}");
            assert_eq!(note.contains("not quiet"), warned, "{case}: {note}");
        }
    }

    #[test]
    fn the_table_has_a_row_per_target() {
        let rows = [
            row(Target::Direct, 1.0, 5.0, 0),
            row(Target::Switchyard, 0.7, 15.0, 2),
        ];
        let table = render_table(&rows);
        assert_eq!(table.lines().count(), 4, "{table}");
        assert!(
            table.contains("| switchyard ⚠ 2 run(s) with errors |"),
            "{table}"
        );
        assert!(table.contains("| 0.70 | 15.0 |"), "{table}");
    }
}
