//! `auto`'s weighing of a GPU against the CPU backend.

use restlm::device::{Plan, ProbeTimes, weigh};

fn plan(train_steps: usize, decode_steps: usize) -> Plan {
    Plan {
        train_steps,
        train_batch: 32,
        decode_steps,
        sample_rows: 64,
    }
}

#[test]
fn the_plan_decides_between_a_fast_trainer_and_a_fast_decoder() {
    // The GPU trains 10× faster but decodes 4× slower (launch-bound).
    let gpu = ProbeTimes {
        train_ms: 10.0,
        decode_ms: 8.0,
    };
    let cpu = ProbeTimes {
        train_ms: 100.0,
        decode_ms: 2.0,
    };
    let (wins, why) = weigh(&gpu, &cpu, &plan(300, 1000));
    // 3 + 8 s against 30 + 2 s.
    assert!(wins, "{why}");
    assert!(why.contains("about 11 s against 32 s"), "{why}");
    let (wins, why) = weigh(&gpu, &cpu, &plan(10, 20_000));
    // 0.1 + 160 s against 1 + 40 s.
    assert!(!wins, "{why}");
    assert!(why.contains("is slower"), "{why}");
}

#[test]
fn estimates_add_both_kinds_of_step() {
    let t = ProbeTimes {
        train_ms: 250.0,
        decode_ms: 4.0,
    };
    assert_eq!(t.estimate_s(&plan(4, 500)), 3.0);
    assert_eq!(t.estimate_s(&plan(0, 0)), 0.0);
}
