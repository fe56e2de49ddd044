//! One share of a campaign's runs: `--shard i/N` takes every run whose
//! index in the campaign's plan is `i` modulo `N`, so N machines given
//! `0/N` .. `N-1/N` run every run exactly once, whatever order they finish
//! in, and the runs of each kernel and seed spread over all of them.

use std::fmt;
use std::str::FromStr;

use anyhow::{bail, Context, Error, Result};
use serde::{Deserialize, Serialize};

/// Shard `index` of `count` (0-based: `0/4` .. `3/4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// The whole campaign as one shard: what an unsharded run is.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Whether the run at `index` of the plan is this shard's.
    pub fn owns(self, index: usize) -> bool {
        index % self.count as usize == self.index as usize
    }

    /// The shard that owns the run at `index` of the plan.
    pub fn owner(count: u32, index: usize) -> Shard {
        Shard {
            index: (index % count as usize) as u32,
            count,
        }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let (index, count) = text
            .split_once('/')
            .with_context(|| format!("shard '{text}': want i/N, e.g. 0/4"))?;
        let index: u32 = index
            .trim()
            .parse()
            .with_context(|| format!("shard '{text}': index '{index}' is not a number"))?;
        let count: u32 = count
            .trim()
            .parse()
            .with_context(|| format!("shard '{text}': count '{count}' is not a number"))?;
        if count == 0 || index >= count {
            bail!("shard '{text}': want 0 <= i < N");
        }
        Ok(Shard { index, count })
    }
}

/// For clap: `--shard i/N`.
pub fn parse(text: &str) -> Result<Shard, String> {
    text.parse().map_err(|e: Error| format!("{e:#}"))
}

/// Checks that `shards` are the `N` shards of one split, each once; says
/// which are missing or doubled.
pub fn check_complete(shards: &[Shard]) -> Result<u32> {
    let Some(count) = shards.first().map(|s| s.count) else {
        bail!("no results to merge");
    };
    if let Some(other) = shards.iter().find(|s| s.count != count) {
        bail!(
            "results of different splits: shard {} and shard {other} (an unsharded run is 0/1)",
            shards[0]
        );
    }
    let mut seen = vec![0usize; count as usize];
    for shard in shards {
        seen[shard.index as usize] += 1;
    }
    let list = |pick: &dyn Fn(usize) -> bool| {
        (0..count as usize)
            .filter(|&i| pick(seen[i]))
            .map(|i| format!("{i}/{count}"))
            .collect::<Vec<_>>()
    };
    let doubled = list(&|n| n > 1);
    if !doubled.is_empty() {
        bail!(
            "overlapping results: shard {} given more than once",
            doubled.join(", ")
        );
    }
    let missing = list(&|n| n == 0);
    if !missing.is_empty() {
        bail!("missing results: shard {} not given", missing.join(", "));
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_i_of_n_and_refuses_the_rest() {
        assert_eq!(
            "2/4".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 4 }
        );
        assert_eq!("0/1".parse::<Shard>().unwrap(), Shard::WHOLE);
        for bad in ["4/4", "1/0", "x/2", "1", "-1/2", "1/2/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!(Shard { index: 3, count: 8 }.to_string(), "3/8");
    }

    #[test]
    fn every_run_has_exactly_one_owner() {
        for count in 1..6u32 {
            for run in 0..40 {
                let owners: Vec<u32> = (0..count)
                    .filter(|&index| Shard { index, count }.owns(run))
                    .collect();
                assert_eq!(owners, vec![Shard::owner(count, run).index]);
            }
        }
    }

    #[test]
    fn a_split_must_be_whole_and_without_doubles() {
        let s = |index, count| Shard { index, count };
        assert_eq!(check_complete(&[s(1, 3), s(0, 3), s(2, 3)]).unwrap(), 3);
        let missing = check_complete(&[s(0, 3), s(2, 3)]).unwrap_err();
        assert!(
            missing.to_string().contains("shard 1/3 not given"),
            "{missing}"
        );
        let doubled = check_complete(&[s(0, 2), s(1, 2), s(1, 2)]).unwrap_err();
        assert!(doubled.to_string().contains("1/2 given more than once"));
        let mixed = check_complete(&[s(0, 2), Shard::WHOLE]).unwrap_err();
        assert!(mixed.to_string().contains("different splits"));
        assert!(check_complete(&[]).is_err());
    }
}
