//! Model, training and sampling on burn's CPU backend (Flex).

mod common;

use common::checks;
use rand::SeedableRng;
use restlm::burn::prelude::*;
use restlm::sample::{PickOptions, SampleOptions, Special, candidates, generate, pick};

fn cpu() -> Device {
    Device::flex()
}

// f32 on the CPU: one op order for both paths, so differences are rounding
// only; 1e-4 is far below the ~1e-1 logit spread of a random model.
#[test]
fn changing_a_future_token_leaves_earlier_logits_unchanged() {
    checks::causality(&cpu(), 1e-5);
}

#[test]
fn kv_cached_decoding_matches_full_forward() {
    checks::kv_cache_matches_full_forward(&cpu(), 1e-4);
}

#[test]
fn cached_generation_equals_naive_generation() {
    checks::cached_generation_equals_naive(&cpu());
}

#[test]
fn sft_memorises_a_tiny_dataset() {
    checks::sft_memorises(&cpu(), 120, 0.3);
}

fn sample_opts(pick: PickOptions, seed: u64) -> SampleOptions {
    SampleOptions {
        pick,
        max_new_tokens: 10,
        batch_size: 8,
        seed,
        use_cache: true,
        on_device: true,
    }
}

fn sampled(pick: PickOptions, seed: u64, batch: usize) -> Vec<Vec<restlm::sample::Generation>> {
    let (tok, cfg, model, data) = checks::trained_tiny(&cpu(), 30);
    let prompts: Vec<Vec<u32>> = data.iter().take(2).map(|e| e.prompt.clone()).collect();
    let opts = SampleOptions {
        batch_size: batch,
        ..sample_opts(pick, seed)
    };
    generate(
        &model,
        &cfg,
        &Special {
            eos: tok.eos,
            pad: tok.pad,
        },
        &prompts,
        3,
        &opts,
    )
    .unwrap()
}

#[test]
fn sampling_with_a_fixed_seed_reproduces_and_ignores_batch_size() {
    let p = PickOptions {
        temperature: 1.0,
        top_k: 0,
        top_p: 1.0,
    };
    let a = sampled(p, 42, 8);
    assert_eq!(a, sampled(p, 42, 8));
    assert_eq!(a, sampled(p, 42, 4), "rows draw from their own streams");
    assert_ne!(a, sampled(p, 43, 8), "another seed gives other samples");
}

#[test]
fn top_k_one_and_tiny_top_p_equal_greedy() {
    let greedy = sampled(PickOptions::GREEDY, 0, 8);
    let k1 = sampled(
        PickOptions {
            temperature: 1.5,
            top_k: 1,
            top_p: 1.0,
        },
        9,
        8,
    );
    let p0 = sampled(
        PickOptions {
            temperature: 1.5,
            top_k: 0,
            top_p: 1e-6,
        },
        9,
        8,
    );
    let strip = |g: &Vec<Vec<restlm::sample::Generation>>| -> Vec<Vec<Vec<u32>>> {
        g.iter()
            .map(|r| r.iter().map(|x| x.tokens.clone()).collect())
            .collect()
    };
    assert_eq!(strip(&greedy), strip(&k1));
    assert_eq!(strip(&greedy), strip(&p0));
    let hot = sampled(
        PickOptions {
            temperature: 1.5,
            top_k: 0,
            top_p: 1.0,
        },
        9,
        8,
    );
    assert_ne!(
        strip(&greedy),
        strip(&hot),
        "unrestricted sampling at T = 1.5 departs from greedy"
    );
}

#[test]
fn host_sampler_frequencies_match_softmax() {
    let logits = [2.0f32, 1.0, 0.5, 0.0, -1.0, 1.5, -0.5, 0.2];
    let z: f64 = logits.iter().map(|&l| (l as f64).exp()).sum();
    let probs: Vec<f64> = logits.iter().map(|&l| (l as f64).exp() / z).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let n = 40_000;
    let mut counts = [0usize; 8];
    let opts = PickOptions {
        temperature: 1.0,
        top_k: 0,
        top_p: 1.0,
    };
    for _ in 0..n {
        counts[pick(&logits, &opts, &mut rng).0 as usize] += 1;
    }
    // Total variation distance; its sampling noise at n = 40k is ~0.005.
    let tv: f64 = counts
        .iter()
        .zip(&probs)
        .map(|(&c, p)| (c as f64 / n as f64 - p).abs())
        .sum::<f64>()
        / 2.0;
    assert!(tv < 0.02, "total variation {tv}");
}

#[test]
fn top_k_and_top_p_never_leave_their_sets() {
    let logits = [2.0f32, 1.0, 0.5, 0.0, -1.0, 1.5, -0.5, 0.2];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    let top3 = [0u32, 5, 1];
    let k = PickOptions {
        temperature: 2.0,
        top_k: 3,
        top_p: 1.0,
    };
    let p = PickOptions {
        temperature: 1.0,
        top_k: 0,
        top_p: 0.7,
    };
    let nucleus: Vec<u32> = candidates(&logits, &p).iter().map(|c| c.0 as u32).collect();
    assert_eq!(
        nucleus,
        vec![0, 5, 1],
        "p(0) + p(5) = 0.61 < 0.7, so token 1 completes the nucleus"
    );
    for _ in 0..5_000 {
        assert!(top3.contains(&pick(&logits, &k, &mut rng).0));
        assert!(nucleus.contains(&pick(&logits, &p, &mut rng).0));
    }
}

/// Replacing a checkpoint swaps the directories (nothing is removed before
/// the new one is in place): the new weights load, files the checkpoint
/// does not write survive, and no temporary directory is left behind.
#[test]
fn replacing_a_checkpoint_keeps_other_files_and_leaves_no_temporaries() {
    use restlm::model::checkpoint::TrainState;
    let root = common::Scratch::new("ckpt-swap");
    let dir = root.join("ckpt");
    let tok = common::task_tokenizer();
    let cfg = common::tiny_model(tok.vocab_size());
    let policy = |seed| restlm::Policy {
        model: common::seeded_model(&cfg, &cpu(), seed),
        ..restlm::Policy::new(cfg.clone(), tok.clone(), &cpu())
    };
    policy(1).save(&dir, &TrainState::default()).unwrap();
    std::fs::write(dir.join("metrics.jsonl"), "{\"step\":1}\n").unwrap();
    let second = policy(2);
    second.save(&dir, &TrainState::default()).unwrap();
    let loaded = restlm::Policy::load(&dir, &cpu()).unwrap();
    let w = |p: &restlm::Policy| {
        p.model
            .embed_tokens
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
    };
    assert_eq!(w(&loaded), w(&second), "the new weights are in place");
    assert_eq!(
        std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap(),
        "{\"step\":1}\n"
    );
    let left: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["ckpt"], "temporaries left: {left:?}");
}
