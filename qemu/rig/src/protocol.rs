//! The guest protocol: every name that the host and the guest side (the
//! guest init, the host-root check script, the selftests) must spell alike.
//! The tests below read the guest side, so a rename on one side alone fails
//! `cargo test` instead of a run that silently checks nothing.

/// Prefix of the guest init's own lines on the results channel.
pub const PREFIX: &str = "shrinkfs-rig: ";
/// `begin NAME` and `end NAME STATUS` frame one program's output.
pub const BEGIN: &str = "begin";
pub const END: &str = "end";
/// The guest init reached its end.
pub const DONE: &str = "done";

/// Facts (`shrinkfs-rig: KEY VALUE`) the host reads by their key.
pub mod fact {
    /// `/sys/devices/system/cpu/online` as the guest init starts.
    pub const CPUS_ONLINE: &str = "cpus online";
    /// `debug_locks` of `/proc/lockdep_stats` before and after the programs.
    pub const DEBUG_LOCKS_BEFORE: &str = "debug_locks before";
    pub const DEBUG_LOCKS_AFTER: &str = "debug_locks after";
    /// `/proc/sys/kernel/tainted` after the programs.
    pub const TAINTED_AFTER: &str = "tainted after";
    /// Whether the host root got mounted: [`HOST_ROOT_UP`] if it did.
    pub const HOST_ROOT: &str = "host-root";
    pub const HOST_ROOT_UP: &str = "up";
    /// Whether the torture's extra load outlived the torture:
    /// [`LOAD_STOPPED`] if it did and was stopped.
    pub const LOAD_AT_END: &str = "load running-at-end";
    pub const LOAD_STOPPED: &str = "stopped";
}

/// Programs, by their name on the results channel.
pub mod program {
    pub const TORTURE: &str = "torture_test";
    pub const FUZZ: &str = "fuzz_test";
    pub const BENCH: &str = "shrinkfs_bench";
    pub const RUN_SCRIPT: &str = "run-script";
    /// The torture's extra load: reported, not judged.
    pub const HOST_LOAD: &str = "host-load";
    /// The torture's summary lines: kselftest's `# ` before its `torture: `.
    pub const TORTURE_SUMMARY: &str = "# torture: ";
}

/// Lines written to the kernel log, so they sit among the splats.
pub mod console {
    /// The guest init, as the torture starts.
    pub const TORTURE_START: &str = "shrinkfs-rig: torture start";
    /// The torture's own kernel log lines.
    pub const TORTURE_PREFIX: &str = "shrinkfs-torture: ";
    /// The torture, as a round starts; the round's knobs follow.
    pub const TORTURE_ROUND: &str = "shrinkfs-torture: round ";
}

/// Where the initramfs puts things for the guest init.
pub mod path {
    pub const MODULE: &str = "shrinkfs/shrinkfs.ko";
    pub const SELFTESTS: &str = "selftests";
    pub const RUN_SCRIPT: &str = "run-script";
    /// The host command run beside the torture (host-root guest only).
    pub const LOAD_SCRIPT: &str = "load-script";
    pub const BENCH_PROGRAM: &str = "bench/shrinkfs_bench";
}

/// What the guest init does once up, as kernel parameters.
pub mod mode {
    pub const CHECK: &str = "RIG_MODE=check";
    pub const TORTURE: &str = "RIG_MODE=torture";
    pub const FUZZ: &str = "RIG_MODE=fuzz";
    pub const RUN: &str = "RIG_MODE=run";
    pub const BENCH: &str = "RIG_MODE=bench";
    pub const PROVOKE: &str = "RIG_MODE=provoke";
    pub const PROBE: &str = "RIG_MODE=probe";
    pub const SHELL: &str = "RIG_MODE=shell";
}

/// Kernel parameters that reach the guest init's environment, and through
/// it the torture's.
pub mod param {
    /// The LKDTM crash points `provoke` triggers, comma-separated.
    pub const PROVOKE: &str = "RIG_PROVOKE";
    pub const HOST_ROOT: &str = "RIG_HOST_ROOT";
    /// Where host programs start in the host-root guest.
    pub const CWD: &str = "RIG_CWD";
    pub const BENCH_SIZES: &str = "BENCH_SIZES";
    pub const BENCH_SHAPES: &str = "BENCH_SHAPES";
    pub const BENCH_TMPFS_MAX: &str = "BENCH_TMPFS_MAX";
    pub const TORTURE_DURATION: &str = "TORTURE_DURATION";
    pub const TORTURE_SEED: &str = "TORTURE_SEED";
    pub const TORTURE_ROUND: &str = "TORTURE_ROUND";
    pub const TORTURE_RACE_DELAYS: &str = "TORTURE_RACE_DELAYS";
    /// `1`: the torture's fault thread (fail-nth) runs beside the forces.
    pub const TORTURE_FAULTS: &str = "TORTURE_FAULTS";
    /// `1`: the torture's fuzz thread runs beside the forces.
    pub const TORTURE_FUZZ: &str = "TORTURE_FUZZ";
    pub const FUZZ_SEED: &str = "FUZZ_SEED";
    pub const FUZZ_DURATION: &str = "FUZZ_DURATION";
    pub const FUZZ_INPUTS: &str = "FUZZ_INPUTS";
}

/// The virtio-9p shares.
pub mod share {
    /// The host root, mounted by the guest init.
    pub const HOST_ROOT_TAG: &str = "hostroot";
    /// The narrower share the host-root check tries to escape from.
    pub const PROBE_TAG: &str = "probe";
    /// The host-root check script's variable for the probe's host directory.
    pub const PROBE_DIR_VAR: &str = "probe_dir";
}

/// What the boot-time run scripts print once the guest's shell runs them.
/// The host writes those scripts itself, so no guest file holds these.
pub const SHELL_READY: &str = "shell-ready";
pub const PYTHON_READY: &str = "python-ready";

#[cfg(test)]
mod tests {
    use super::*;

    fn guest_file(relative: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[track_caller]
    fn assert_has(file: &str, text: &str, wanted: &str) {
        assert!(text.contains(wanted), "{file} has no `{wanted}`");
    }

    #[test]
    fn the_guest_init_speaks_the_hosts_protocol() {
        let file = "../guest/init";
        let init = guest_file(file);
        let has = |wanted: &str| assert_has(file, &init, wanted);
        has(&format!("echo \"{PREFIX}$*\""));
        has(&format!("say \"{BEGIN} $name\""));
        has(&format!("say \"{END} $name $?\""));
        has(&format!("say {DONE}\n"));

        has(&format!("say \"{} $(", fact::CPUS_ONLINE));
        // `kernel_state before|after` says `debug_locks $1 ...`, `tainted $1 ...`.
        for key in [
            fact::DEBUG_LOCKS_BEFORE,
            fact::DEBUG_LOCKS_AFTER,
            fact::TAINTED_AFTER,
        ] {
            let (name, when) = key.rsplit_once(' ').unwrap();
            has(&format!("say \"{name} $1 "));
            has(&format!("kernel_state {when}\n"));
        }
        has(&format!(
            "say \"{} {}\"",
            fact::HOST_ROOT,
            fact::HOST_ROOT_UP
        ));
        has(&format!(
            "say \"{} {}\"",
            fact::LOAD_AT_END,
            fact::LOAD_STOPPED
        ));

        has(&format!("run_program {} ", program::TORTURE));
        has(&format!("/{}/{}", path::SELFTESTS, program::TORTURE));
        has(&format!(
            "run_program {} /{}/{}",
            program::FUZZ,
            path::SELFTESTS,
            program::FUZZ
        ));
        has(&format!(
            "run_program {} /{}",
            program::BENCH,
            path::BENCH_PROGRAM
        ));
        has(&format!("run_program {} ", program::RUN_SCRIPT));
        has(&format!("say \"{BEGIN} {}\"", program::HOST_LOAD));

        has(&format!("echo \"{}\" > /dev/kmsg", console::TORTURE_START));

        has(&format!("cp /{} ", path::MODULE));
        has(&format!("/{}/*", path::SELFTESTS));
        has(&format!("sh /{}\n", path::RUN_SCRIPT));
        has(&format!("[ -f /{} ]", path::LOAD_SCRIPT));

        let (mode_name, _) = mode::CHECK.split_once('=').unwrap();
        has(&format!("case \"${mode_name}\" in"));
        for mode in [
            mode::CHECK,
            mode::TORTURE,
            mode::FUZZ,
            mode::RUN,
            mode::BENCH,
            mode::PROVOKE,
            mode::PROBE,
            mode::SHELL,
        ] {
            let (name, value) = mode.split_once('=').unwrap();
            assert_eq!(mode_name, name);
            has(&format!("\n{value})\n"));
        }
        for param in [param::PROVOKE, param::HOST_ROOT] {
            has(&format!("\"${param}\""));
        }
        for param in [
            param::CWD,
            param::BENCH_SIZES,
            param::BENCH_SHAPES,
            param::BENCH_TMPFS_MAX,
        ] {
            has(&format!("${{{param}:-"));
        }

        has(&format!(" {} /host ", share::HOST_ROOT_TAG));
    }

    #[test]
    fn the_torture_speaks_the_hosts_protocol() {
        let file = "../../selftests/torture_test.c";
        let torture = guest_file(file);
        let has = |wanted: &str| assert_has(file, &torture, wanted);
        for param in [
            param::TORTURE_DURATION,
            param::TORTURE_SEED,
            param::TORTURE_ROUND,
            param::TORTURE_RACE_DELAYS,
            param::TORTURE_FAULTS,
            param::TORTURE_FUZZ,
        ] {
            has(&format!("(\"{param}\""));
        }
        has(&format!("\"{}%s\\n\"", console::TORTURE_PREFIX));
        let round = console::TORTURE_ROUND
            .strip_prefix(console::TORTURE_PREFIX)
            .expect("a round line is a torture line");
        has(&format!("announce(\"{round}%u: "));
        // kselftest puts `# ` before each ksft_print_msg().
        let summary = program::TORTURE_SUMMARY.strip_prefix("# ").unwrap();
        has(&format!("ksft_print_msg(\"{summary}"));
        // What `make check` names in its repeat line, and how the start
        // line that gives it the seed reads.
        has(&format!(
            "#define RACE_DELAYS_DEFAULT\t\"{}\"",
            crate::torture::RACE_DELAYS_ON
        ));
        has("\"torture: seed %u, %u s in rounds of");
    }

    #[test]
    fn the_host_root_check_mounts_the_probe_share() {
        let file = "../guest/host-root-check";
        let script = guest_file(file);
        let has = |wanted: &str| assert_has(file, &script, wanted);
        has(&format!(" {} /run/probe", share::PROBE_TAG));
        has(&format!("${}/shared/victim", share::PROBE_DIR_VAR));
    }
}
