//! Order statistics and markdown tables for the cluster benchmarks.
//!
//! Owns nothing but pure functions: percentiles by nearest rank over a sample, a summary
//! (n, p50, p95, p99, max) and table rendering. Must not: read clocks or files.

/// The nearest-rank percentile `p` (0 < p ≤ 100) of an ascending, non-empty sample:
/// the smallest value with at least p % of the sample at or below it. With 30 values
/// p95 is the 29th and p99 the 30th (the maximum): no value is invented between two.
pub(crate) fn nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() || !(p > 0.0 && p <= 100.0) {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// n, p50, p95, p99 and max of a sample (any order; NaN values are dropped).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Summary {
    pub(crate) n: usize,
    pub(crate) p50: f64,
    pub(crate) p95: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
}

pub(crate) fn summarize(values: &[f64]) -> Option<Summary> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    Some(Summary {
        n: v.len(),
        p50: nearest_rank(&v, 50.0)?,
        p95: nearest_rank(&v, 95.0)?,
        p99: nearest_rank(&v, 99.0)?,
        max: *v.last()?,
    })
}

/// The median (nearest rank) of a sample, if any.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    summarize(values).map(|s| s.p50)
}

/// A duration in milliseconds for a table: 3 significant digits below 100 ms, whole
/// milliseconds above, thousands separated.
pub(crate) fn fmt_ms(ms: f64) -> String {
    if ms.is_nan() {
        return "–".into();
    }
    if ms.abs() < 10.0 {
        format!("{ms:.2}")
    } else if ms.abs() < 100.0 {
        format!("{ms:.1}")
    } else {
        group_thousands(ms.round() as i64)
    }
}

/// An integer with thin thousands separators as the other tables use (`1,234,567`).
pub(crate) fn group_thousands(x: i64) -> String {
    let digits = x.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0 { format!("-{out}") } else { out }
}

/// A GitHub markdown table. A column whose cells all start with a digit (or are `–`,
/// nothing measured) is right-aligned; the others, and the first, are left-aligned.
pub(crate) fn md_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let numeric = |c: &String| {
        let c = c.trim();
        c == "–" || c.starts_with(|ch: char| ch.is_ascii_digit())
    };
    let mut s = format!("| {} |\n|", header.join(" | "));
    for i in 0..header.len() {
        let right = i > 0 && !rows.is_empty() && rows.iter().all(|r| r.get(i).is_some_and(numeric));
        s.push_str(if right { "---:|" } else { "---|" });
    }
    s.push('\n');
    for r in rows {
        s.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    s
}
