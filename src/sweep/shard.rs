//! Beyond one machine: `--shard I/N` runs a deterministic slice of the points, and
//! [`merge`] joins shard outputs into the sweep.csv / sweep.json a single run writes.
//!
//! Point `i` belongs to shard `i mod N`, so shards are balanced whatever the grid's
//! shape and need no coordination: a Slurm job array or a Kubernetes Indexed Job just
//! passes its task index. Each point's folder carries its definition and the hash of
//! the scenario, so a merge refuses points from a different sweep.

use std::io;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::output::{self, PointRecord};
use super::plan::Definition;
use crate::input::{self, MAX_REPORT_BYTES};
use crate::report::write_atomic;

/// Folder of shard definitions.
pub const SHARD_DIR: &str = "shards";

/// A slice of the points: those with `index % count == index_of_shard`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// True when point `i` belongs to this shard.
    pub fn contains(&self, i: usize) -> bool {
        i % self.count == self.index
    }

    /// The file a shard run writes its definition to, e.g. `shards/0-of-2.json`.
    pub fn file_name(&self) -> String {
        format!("{}-of-{}.json", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let hint =
            "expected I/N with 0 <= I < N, e.g. --shard 0/4 (Slurm: $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)";
        let (i, n) = s.split_once('/').ok_or_else(|| format!("`{s}`: {hint}"))?;
        match (i.trim().parse::<usize>(), n.trim().parse::<usize>()) {
            (Ok(index), Ok(count)) if count >= 1 && index < count => Ok(Shard { index, count }),
            _ => Err(format!("`{s}`: {hint}")),
        }
    }
}

/// Writes a shard's definition (`shards/I-of-N.json`), which [`merge`] reads.
pub fn write_shard(out: &Path, def: &Definition, shard: Shard) -> io::Result<()> {
    let v = json!({ "schema": "resim.sweep-shard/v1", "shard": [shard.index, shard.count], "definition": def });
    let text = serde_json::to_string_pretty(&v).map_err(io::Error::other)? + "\n";
    write_atomic(&out.join(SHARD_DIR).join(shard.file_name()), text.as_bytes())
}

/// Joins the points found under `dirs` (each a sweep or shard output folder) into the
/// definition and every point record, in point order. Fails when the folders hold
/// different sweeps or a point is missing.
pub fn merge(dirs: &[PathBuf]) -> Result<(Definition, Vec<PointRecord>), String> {
    let mut definition: Option<(Definition, PathBuf)> = None;
    for dir in dirs {
        for def in definitions_in(dir)? {
            match &definition {
                None => definition = Some((def, dir.clone())),
                Some((d, from)) if d != &def => {
                    return Err(format!(
                        "{} and {} hold different sweeps (scenario, parameters or options differ)",
                        from.display(),
                        dir.display()
                    ));
                }
                Some(_) => {}
            }
        }
    }
    let (definition, _) = definition.ok_or_else(|| {
        format!("no sweep found in {}: expected sweep.json or {SHARD_DIR}/*.json written by `resim sweep`", list(dirs))
    })?;
    let mut records = Vec::with_capacity(definition.points);
    let mut missing = Vec::new();
    for i in 0..definition.points {
        match dirs.iter().find_map(|d| output::read_point(d, i, &definition.scenario_hash)) {
            Some(r) => records.push(r),
            None => missing.push(i),
        }
    }
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(20).map(usize::to_string).collect();
        return Err(format!(
            "{} of {} points missing in {} (points {}{}); run the missing shards, or rerun with --resume",
            missing.len(),
            definition.points,
            list(dirs),
            shown.join(", "),
            if missing.len() > 20 { ", ..." } else { "" }
        ));
    }
    Ok((definition, records))
}

fn list(dirs: &[PathBuf]) -> String {
    dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// The sweep definitions stored in `dir`: its sweep.json and its shard files.
fn definitions_in(dir: &Path) -> Result<Vec<Definition>, String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a folder", dir.display()));
    }
    let mut files = vec![dir.join(output::SWEEP_JSON)];
    if let Ok(entries) = std::fs::read_dir(dir.join(SHARD_DIR)) {
        let mut shard_files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        shard_files.sort();
        files.extend(shard_files);
    }
    let mut out = Vec::new();
    // Present but not a regular file (a folder, a FIFO) is an error, not a skip.
    for f in files.iter().filter(|f| f.exists()) {
        let text = input::read_text(f, MAX_REPORT_BYTES).map_err(|e| format!("{e}; {}", e.help()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{} is not valid JSON: {e}", f.display()))?;
        let def = serde_json::from_value(v["definition"].clone())
            .map_err(|e| format!("{} has no valid sweep definition: {e}", f.display()))?;
        out.push(def);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_slices() {
        let s: Shard = "1/3".parse().unwrap();
        assert_eq!(s, Shard { index: 1, count: 3 });
        assert_eq!((0..9).filter(|&i| s.contains(i)).collect::<Vec<_>>(), vec![1, 4, 7]);
        for bad in ["3/3", "1", "a/2", "0/0", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
