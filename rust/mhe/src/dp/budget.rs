//! A per-analyst zCDP budget: pure data, one line of text.
//!
//! Costs are kept as integers in units of `2^-64` of `rho`, so that adding them is
//! exact and the order of spends does not matter: a spend is rounded **up** to the
//! unit, the total **down**, so the ledger never grants more than it was given.
//!
//! The line format (version 1), fields separated by one space:
//! `dsmhe-dp-budget 1 analyst=<id> total=<units> spent=<units> queries=<n>`, where
//! `<id>` is 1 to 128 characters of `[A-Za-z0-9_.+:-]` (for example the hex
//! fingerprint of a pinned analyst key) and the numbers are decimal integers.

use super::accounting::{Rho, epsilon_of_rho, rho_for_epsilon};
use super::sampler::whole_f64_to_u128;
use super::{DpError, DpResult};

/// `rho` units per 1.0 of `rho` (2^64).
const UNITS_PER_RHO: f64 = 18_446_744_073_709_551_616.0;
const TAG: &str = "dsmhe-dp-budget";
const VERSION: &str = "1";
const MAX_ID_LEN: usize = 128;

/// The zCDP budget of one analyst at one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZcdpBudget {
    analyst: String,
    total: u128,
    spent: u128,
    queries: u64,
}

fn check_analyst(analyst: &str) -> DpResult<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "_.+:-".contains(c);
    if analyst.is_empty() || analyst.len() > MAX_ID_LEN || !analyst.chars().all(ok_char) {
        return Err(DpError::InvalidParameter(format!(
            "analyst identity '{}': must be 1 to {MAX_ID_LEN} characters of [A-Za-z0-9_.+:-]",
            analyst.escape_debug()
        )));
    }
    Ok(())
}

fn units(rho: f64, up: bool) -> DpResult<u128> {
    let scaled = rho * UNITS_PER_RHO;
    let whole = if up { scaled.ceil() } else { scaled.floor() };
    whole_f64_to_u128(whole).ok_or_else(|| {
        DpError::InvalidParameter(format!("rho = {rho}: must be finite, >= 0 and below 2^64"))
    })
}

fn to_rho(units: u128) -> f64 {
    units as f64 / UNITS_PER_RHO
}

impl ZcdpBudget {
    /// A fresh budget of `total_rho` for `analyst`.
    ///
    /// # Errors
    /// [`DpError::InvalidParameter`] for an identity outside the allowed characters or
    /// a total that is negative, not finite or at least 2^64.
    pub fn new(analyst: &str, total_rho: f64) -> DpResult<ZcdpBudget> {
        check_analyst(analyst)?;
        Rho::new(total_rho)?;
        Ok(ZcdpBudget {
            analyst: analyst.to_string(),
            total: units(total_rho, false)?,
            spent: 0,
            queries: 0,
        })
    }

    /// A fresh budget worth `(epsilon, delta)`-DP in total: the largest `rho` whose
    /// conversion ([`epsilon_of_rho`]) stays within `epsilon`.
    ///
    /// # Errors
    /// As [`ZcdpBudget::new`] and [`rho_for_epsilon`].
    pub fn from_epsilon(analyst: &str, epsilon: f64, delta: f64) -> DpResult<ZcdpBudget> {
        ZcdpBudget::new(analyst, rho_for_epsilon(epsilon, delta)?.value())
    }

    /// This budget's spending and query count under a new total of `total_rho` (the
    /// admin's current option): what was spent stays spent, whatever the total was
    /// when it was charged. A total below the spending leaves nothing to spend.
    ///
    /// # Errors
    /// As [`ZcdpBudget::new`] for the total.
    pub fn with_total(&self, total_rho: f64) -> DpResult<ZcdpBudget> {
        Rho::new(total_rho)?;
        Ok(ZcdpBudget {
            analyst: self.analyst.clone(),
            total: units(total_rho, false)?,
            spent: self.spent,
            queries: self.queries,
        })
    }

    /// The analyst this budget belongs to.
    pub fn analyst(&self) -> &str {
        &self.analyst
    }

    /// The total, as `rho`.
    pub fn total_rho(&self) -> f64 {
        to_rho(self.total)
    }

    /// What has been spent, as `rho`.
    pub fn spent_rho(&self) -> f64 {
        to_rho(self.spent)
    }

    /// What is left, as `rho`.
    pub fn remaining_rho(&self) -> f64 {
        to_rho(self.total.saturating_sub(self.spent))
    }

    /// The number of queries charged.
    pub fn queries(&self) -> u64 {
        self.queries
    }

    /// The `epsilon` spent so far at `delta` (0 before any spend).
    ///
    /// # Errors
    /// [`DpError::InvalidParameter`] unless `0 < delta < 1`.
    pub fn epsilon_spent(&self, delta: f64) -> DpResult<f64> {
        epsilon_of_rho(Rho::new(self.spent_rho())?, delta)
    }

    /// Whether a query costing `cost` fits in what is left.
    ///
    /// # Errors
    /// [`DpError::InvalidParameter`] if the cost does not convert to units.
    pub fn can_spend(&self, cost: Rho) -> DpResult<bool> {
        let c = units(cost.value(), true)?;
        Ok(self.spent.checked_add(c).is_some_and(|s| s <= self.total))
    }

    /// Charge a query costing `cost`; refused, with the budget unchanged, when it
    /// would take the spending beyond the total.
    ///
    /// # Errors
    /// [`DpError::BudgetExceeded`] if the cost does not fit; [`DpError::InvalidParameter`]
    /// if it does not convert to units.
    pub fn spend(&mut self, cost: Rho) -> DpResult<()> {
        let c = units(cost.value(), true)?;
        match self.spent.checked_add(c) {
            Some(s) if s <= self.total => {
                self.spent = s;
                self.queries = self.queries.saturating_add(1);
                Ok(())
            }
            _ => Err(DpError::BudgetExceeded {
                analyst: self.analyst.clone(),
                requested: cost.value(),
                remaining: self.remaining_rho(),
                total: self.total_rho(),
            }),
        }
    }

    /// The budget as one line of text (no newline).
    ///
    /// A budget whose spending exceeds its total (after [`ZcdpBudget::with_total`]
    /// lowered it) is written with the total raised to the spending, so that the line
    /// reads back.
    pub fn to_line(&self) -> String {
        format!(
            "{TAG} {VERSION} analyst={} total={} spent={} queries={}",
            self.analyst,
            self.total.max(self.spent),
            self.spent,
            self.queries
        )
    }

    /// A budget back from [`ZcdpBudget::to_line`]'s format (a trailing newline is
    /// allowed; nothing else extra is).
    ///
    /// # Errors
    /// [`DpError::Parse`] naming the first rule the line breaks.
    pub fn from_line(line: &str) -> DpResult<ZcdpBudget> {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let fields: Vec<&str> = line.split(' ').collect();
        let [tag, version, analyst, total, spent, queries] = fields.as_slice() else {
            return Err(DpError::Parse(format!(
                "expected 6 space-separated fields, found {}",
                fields.len()
            )));
        };
        if *tag != TAG {
            return Err(DpError::Parse(format!("the line must start with '{TAG}'")));
        }
        if *version != VERSION {
            return Err(DpError::Parse(format!(
                "unsupported budget line version '{}'",
                version.escape_debug()
            )));
        }
        let value = |field: &str, key: &str| -> DpResult<String> {
            field
                .strip_prefix(key)
                .and_then(|v| v.strip_prefix('='))
                .map(str::to_string)
                .ok_or_else(|| DpError::Parse(format!("expected field '{key}=' in order")))
        };
        let number = |field: &str, key: &str| -> DpResult<u128> {
            let v = value(field, key)?;
            if v.is_empty() || v.len() > 39 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(DpError::Parse(format!("'{key}' must be a decimal integer")));
            }
            v.parse::<u128>()
                .map_err(|_| DpError::Parse(format!("'{key}' must be a decimal integer")))
        };
        let analyst = value(analyst, "analyst")?;
        check_analyst(&analyst).map_err(|e| DpError::Parse(e.to_string()))?;
        let total = number(total, "total")?;
        let spent = number(spent, "spent")?;
        let queries = u64::try_from(number(queries, "queries")?)
            .map_err(|_| DpError::Parse("'queries' exceeds 64 bits".to_string()))?;
        if spent > total {
            return Err(DpError::Parse(format!(
                "spent {spent} exceeds the total {total}"
            )));
        }
        Ok(ZcdpBudget {
            analyst,
            total,
            spent,
            queries,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn spends_are_rounded_up_and_totals_down() {
        let mut b = ZcdpBudget::new("a1", 1.0).unwrap();
        assert_eq!(b.total, 1u128 << 64);
        b.spend(Rho::new(0.0).unwrap()).unwrap();
        assert_eq!(b.spent, 0);
        b.spend(Rho::new(1e-30).unwrap()).unwrap();
        assert_eq!(b.spent, 1);
    }
}
