//! Audits that judge a clerk run on the values themselves: the clerks append unique tokens
//! and increment by exactly one, so a token seen twice, an acknowledged token missing, or a
//! counter above the increments ever started is a write applied other than exactly once.
//!
//! ```text
//!   ClerkRun.ops ─► per key: the tokens appended (and when acknowledged), increments started
//!     every read's value ─► tokens known, none twice, holds all acked before the read began
//!     final values (if complete) ─► every acked token once; counters between acked..started
//! ```
//!
//! Ops without a return may have applied or not: the audits allow both, never a duplicate.

use std::collections::{BTreeMap, BTreeSet};

use sim::Time;

use super::ClerkRun;

#[derive(Clone, Copy, Debug, Default)]
pub struct AppendAudit {
    /// Acknowledged appends.
    pub acked: usize,
    /// (read, append acknowledged before the read began) pairs found in the read's value.
    pub reads_checked: usize,
    /// Acknowledged appends found exactly once in the final values.
    pub finals_checked: usize,
}

/// Append logs are exactly-once: in every value read and in the final values, each token
/// appears at most once and was appended by some op; every append acknowledged before a read
/// began is in that read's value; and, when the final values are complete, every acknowledged
/// append is in its key's final value. Appends without a return may be there or not.
pub fn audit_appends(run: &ClerkRun) -> Result<AppendAudit, String> {
    use check::{Command as C, Outcome as O};
    let mut appends: BTreeMap<&str, BTreeMap<&str, Option<Time>>> = BTreeMap::new();
    for op in &run.ops {
        if let C::Append { key, value } = &op.command {
            let token = value.trim_end_matches(';');
            let ret = op.done.as_ref().map(|(t, _)| *t);
            appends.entry(key).or_default().insert(token, ret);
        }
    }
    let mut audit = AppendAudit::default();
    for op in &run.ops {
        let (C::Get { key }, Some((ret, O::Value(v)))) = (&op.command, &op.done) else {
            continue;
        };
        let Some(known) = appends.get(key.as_str()) else {
            continue;
        };
        let what = format!("c{} get({key}) [t={}..t={ret}]", op.clerk, op.invoke);
        let seen = tokens(v.as_deref().unwrap_or(""), known, &what)?;
        for (token, _) in known
            .iter()
            .filter(|(_, r)| r.is_some_and(|r| r < op.invoke))
        {
            if !seen.contains(token) {
                return Err(format!(
                    "{what} misses append {token}, acknowledged before the read began"
                ));
            }
            audit.reads_checked += 1;
        }
    }
    for (key, known) in &appends {
        let acked: Vec<&str> = known
            .iter()
            .filter(|(_, r)| r.is_some())
            .map(|(t, _)| *t)
            .collect();
        audit.acked += acked.len();
        let value = run.finals.get(*key).cloned().flatten().unwrap_or_default();
        let seen = tokens(&value, known, &format!("final value of {key}"))?;
        if run.finals_complete {
            if let Some(lost) = acked.iter().find(|t| !seen.contains(*t)) {
                return Err(format!(
                    "final value of {key} misses acknowledged append {lost}"
                ));
            }
            audit.finals_checked += acked.len();
        }
    }
    Ok(audit)
}

/// The tokens of an append log, each appended by some op and none twice.
fn tokens<'a>(
    value: &'a str,
    known: &BTreeMap<&str, Option<Time>>,
    what: &str,
) -> Result<BTreeSet<&'a str>, String> {
    let mut seen = BTreeSet::new();
    for token in value.split(';').filter(|t| !t.is_empty()) {
        if !known.contains_key(token) {
            return Err(format!("{what} holds {token}, which no op appended"));
        }
        if !seen.insert(token) {
            return Err(format!(
                "{what} holds {token} twice: one append applied twice (exactly-once broken)"
            ));
        }
    }
    Ok(seen)
}

/// What [`audit_counters`] verified.
#[derive(Clone, Copy, Debug, Default)]
pub struct CounterAudit {
    /// Acknowledged increments.
    pub acked: usize,
    /// Counters whose final value was compared with the acknowledged increments.
    pub finals_checked: usize,
}

/// Counters are exactly-once. Every increment adds one, so with each applied once: no value
/// read or returned exceeds the increments ever started on the key; acknowledged increments
/// return distinct values; and, when the final values are complete, the final value lies
/// between the acknowledged increments and all started ones (those without a return may or
/// may not have applied), and no acknowledged increment returned more than it.
pub fn audit_counters(run: &ClerkRun) -> Result<CounterAudit, String> {
    use check::{Command as C, Outcome as O};
    let mut started: BTreeMap<&str, i64> = BTreeMap::new();
    let mut returned: BTreeMap<&str, BTreeMap<i64, String>> = BTreeMap::new();
    for op in run
        .ops
        .iter()
        .filter(|o| matches!(o.command, C::Incr { .. }))
    {
        *started.entry(op.command.key()).or_default() += 1;
    }
    for op in &run.ops {
        let key = op.command.key();
        let Some(&n) = started.get(key) else { continue };
        let what = format!("c{} {} [t={}..]", op.clerk, op.command, op.invoke);
        let value = match &op.done {
            Some((_, O::Counter(v))) => {
                let first = returned.entry(key).or_default().insert(*v, what.clone());
                if let Some(first) = first {
                    return Err(format!("{what} and {first} both returned {v}"));
                }
                *v
            }
            Some((_, O::Value(v))) => v.as_deref().map_or(0, |v| v.parse().unwrap_or(i64::MAX)),
            _ => continue,
        };
        if value > n {
            return Err(format!(
                "{what} saw {value}, but only {n} increments of {key} were ever started: \
                 one applied twice (exactly-once broken)"
            ));
        }
    }
    let mut audit = CounterAudit::default();
    for (key, n) in started {
        let acked = returned.get(key).map_or(0, |r| r.len());
        audit.acked += acked;
        if !run.finals_complete {
            continue;
        }
        let last = run.finals.get(key).cloned().flatten();
        let last: i64 = last.as_deref().map_or(0, |v| v.parse().unwrap_or(i64::MAX));
        let highest = returned
            .get(key)
            .and_then(|r| r.keys().next_back().copied());
        if last < acked as i64 || last > n || highest.is_some_and(|h| h > last) {
            return Err(format!(
                "final {key}={last}, but {acked} increments were acknowledged (the highest \
                 returned {highest:?}) out of {n} started"
            ));
        }
        audit.finals_checked += 1;
    }
    Ok(audit)
}
