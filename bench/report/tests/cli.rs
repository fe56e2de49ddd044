//! The binary's contract with scripts: its output files, its last line and
//! its exit status (0 pass, 1 violations, 2 unusable input).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shrinkfs-bench"))
        .args(args)
        .output()
        .expect("run shrinkfs-bench")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shrinkfs-bench-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Samples where patched costs 10% more per dentry than stock, every rep
/// within 0.2% of the others.
fn write_inputs(dir: &Path) -> (PathBuf, PathBuf) {
    let mut lines = String::new();
    for (kernel, per) in [("stock", 100u64), ("patched", 110)] {
        for n in [1000u64, 10000] {
            for rep in 1..=3u64 {
                let value = per * n + rep * n / 1000;
                lines += &format!(
                    "{{\"kernel\":\"{kernel}\",\"mode\":\"icount\",\"rep\":{rep},\"metric\":\"umount\",\
                     \"shape\":\"flat\",\"n\":{n},\"dentries\":{n},\"value\":{value}}}\n"
                );
            }
        }
    }
    let samples = dir.join("samples.jsonl");
    let meta = dir.join("meta.json");
    std::fs::write(&samples, lines).unwrap();
    std::fs::write(
        &meta,
        r#"{"kernels":{"stock":{"version":"6.12","config_hash":"a"},"patched":{"version":"6.12+","config_hash":"b"}},
            "accelerator":"tcg","seed":1,"reps":3,"sizes":[1000,10000],"shapes":["flat"],"started":"now","host":"test"}"#,
    )
    .unwrap();
    (samples, meta)
}

#[test]
fn report_then_check() {
    let dir = scratch("cli");
    let (samples, meta) = write_inputs(&dir);
    let out_dir = dir.join("out");
    let args = [
        "report",
        "--samples",
        samples.to_str().unwrap(),
        "--meta",
        meta.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ];
    let report = bench(&args);
    assert!(report.status.success(), "{report:?}");
    let text = stdout(&report);
    assert!(text.contains("report.md"), "{text}");
    assert!(text.ends_with("bench-check: 2 violations\n"), "{text}");
    for file in [
        "results.json",
        "report.md",
        "ab-icount.svg",
        "scaling-icount-umount.svg",
    ] {
        assert!(out_dir.join(file).exists(), "{file}");
    }

    let results = out_dir.join("results.json");
    let check = bench(&["check", results.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(1), "{check:?}");
    let text = stdout(&check);
    assert!(
        text.contains("icount umount/flat n=1000: patched/stock 1.100"),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("bench-check: 2 violations"));

    let loose = bench(&["check", results.to_str().unwrap(), "--icount-ratio", "1.2"]);
    assert_eq!(loose.status.code(), Some(0), "{loose:?}");
    assert_eq!(stdout(&loose), "bench-check: 0 violations\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unusable_input_exits_2() {
    let dir = scratch("bad");
    let missing = dir.join("missing.json");
    let out = bench(&["check", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.json"));

    let garbage = dir.join("garbage.json");
    std::fs::write(&garbage, "{not json").unwrap();
    let out = bench(&["check", garbage.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("parsing"));
    std::fs::remove_dir_all(&dir).unwrap();
}
