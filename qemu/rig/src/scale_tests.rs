//! The adapters that run a sharded check elsewhere: the CI workflow's
//! matrix expanded as the CI would, and the Slurm scripts' split.

use std::fs;
use std::path::PathBuf;

use yaml_rust2::{Yaml, YamlLoader};

fn repo_file(path: &str) -> String {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The combinations a matrix makes: the product of its lists, less its
/// `exclude` entries, plus its `include` entries, each as (key, value) pairs.
fn expand(matrix: &Yaml) -> Vec<Vec<(String, Yaml)>> {
    let hash = matrix.as_hash().expect("a matrix is a mapping");
    let mut combos: Vec<Vec<(String, Yaml)>> = vec![vec![]];
    for (key, values) in hash {
        let key = key.as_str().unwrap();
        if key == "include" || key == "exclude" {
            continue;
        }
        let values = values
            .as_vec()
            .unwrap_or_else(|| panic!("matrix.{key} is a list"));
        combos = combos
            .into_iter()
            .flat_map(|combo| {
                values.iter().map(move |v| {
                    let mut c = combo.clone();
                    c.push((key.to_string(), v.clone()));
                    c
                })
            })
            .collect();
    }
    let entry = |e: &Yaml| -> Vec<(String, Yaml)> {
        e.as_hash()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str().unwrap().to_string(), v.clone()))
            .collect()
    };
    if let Some(excludes) = matrix["exclude"].as_vec() {
        for ex in excludes.iter().map(entry) {
            combos.retain(|c| !ex.iter().all(|pair| c.contains(pair)));
        }
    }
    if let Some(includes) = matrix["include"].as_vec() {
        combos.extend(includes.iter().map(entry));
    }
    combos
}

fn shard_indices(workflow: &Yaml) -> Vec<i64> {
    expand(&workflow["jobs"]["shard"]["strategy"]["matrix"])
        .iter()
        .map(|combo| {
            combo
                .iter()
                .find(|(k, _)| k == "shard")
                .and_then(|(_, v)| v.as_i64())
                .expect("every combination names its shard")
        })
        .collect()
}

fn workflow() -> Yaml {
    let text = repo_file(".github/workflows/mutant-check.yml");
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

#[test]
fn the_ci_matrix_runs_every_shard_once_and_merges_after_it() {
    let wf = workflow();
    let shards = match &wf["env"]["SHARDS"] {
        Yaml::Integer(n) => *n,
        other => panic!("env.SHARDS is a number, not {other:?}"),
    };
    let mut indices = shard_indices(&wf);
    indices.sort_unstable();
    assert_eq!(indices, (0..shards).collect::<Vec<_>>());
    let steps = |job: &str| -> String {
        wf["jobs"][job]["steps"]
            .as_vec()
            .unwrap()
            .iter()
            .filter_map(|s| s["run"].as_str())
            .collect()
    };
    assert!(steps("shard").contains("make mutant-check SHARD=${{ matrix.shard }}/$SHARDS"));
    let needs = match &wf["jobs"]["merge"]["needs"] {
        Yaml::String(s) => vec![s.clone()],
        Yaml::Array(a) => a
            .iter()
            .filter_map(|n| n.as_str().map(String::from))
            .collect(),
        other => panic!("merge.needs: {other:?}"),
    };
    assert!(needs.contains(&"shard".to_string()), "{needs:?}");
    assert!(steps("merge").contains("make merge RESULTS="));
    // What the shards upload is what the merge downloads.
    let uses = |job: &str, action: &str| -> Yaml {
        wf["jobs"][job]["steps"]
            .as_vec()
            .unwrap()
            .iter()
            .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(action)))
            .map(|s| s["with"].clone())
            .unwrap_or_else(|| panic!("{job} uses {action}"))
    };
    let uploaded = uses("shard", "actions/upload-artifact")["name"]
        .as_str()
        .unwrap()
        .replace("${{ matrix.shard }}", "*");
    let pattern = uses("merge", "actions/download-artifact")["pattern"].clone();
    assert_eq!(Some(uploaded.as_str()), pattern.as_str());
    assert!(uses("shard", "actions/upload-artifact")["path"]
        .as_str()
        .unwrap()
        .contains("mutants/runs.json"));
}

#[test]
fn the_matrix_expansion_sees_a_missing_or_doubled_shard() {
    let doubled = YamlLoader::load_from_str(
        "jobs: {shard: {strategy: {matrix: {shard: [0, 1, 2], include: [{shard: 2}], exclude: [{shard: 1}]}}}}",
    )
    .unwrap()
    .remove(0);
    assert_eq!(shard_indices(&doubled), vec![0, 2, 2]);
    let product = YamlLoader::load_from_str("{a: [1, 2], b: [x, y, z]}")
        .unwrap()
        .remove(0);
    assert_eq!(expand(&product).len(), 6);
}

#[test]
fn the_slurm_array_gives_each_task_its_shard_and_merges_after_all() {
    let task = repo_file("qemu/scale/slurm/mutant-check.sbatch");
    assert!(task.contains("make mutant-check"));
    assert!(task.contains("SHARD=\"$SLURM_ARRAY_TASK_ID/${SLURM_ARRAY_TASK_COUNT"));
    assert!(task.contains("OUT=\"$SHRINKFS_RESULTS/shard-$SLURM_ARRAY_TASK_ID\""));
    let merge = repo_file("qemu/scale/slurm/merge.sbatch");
    assert!(merge.contains("for ((i = 0; i < SHRINKFS_SHARDS; i++))"));
    assert!(merge.contains("\"$SHRINKFS_RESULTS/shard-$i\""));
    assert!(merge.contains("make merge RESULTS="));
    let submit = repo_file("qemu/scale/slurm/submit");
    assert!(submit.contains("--array=\"0-$((shards - 1))\""));
    assert!(submit.contains("--dependency=\"afterok:$array\""));
    let make = repo_file("Makefile");
    assert_eq!(make.matches("$(if $(SHARD),--shard $(SHARD))").count(), 2);
}
