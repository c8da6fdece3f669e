//! The sampling and log-prob ops on the CPU backend (their plain-Rust
//! reference). tests/wgpu.rs runs the same checks on the GPU kernels.

mod common;

use common::kernels;

fn cpu() -> restlm::burn::prelude::Device {
    restlm::device::select("cpu").expect("cpu").device
}

#[test]
fn the_cpu_backend_runs_the_device_path() {
    assert!(restlm::ops::OpPath::of(&cpu()).sampler());
}

#[test]
fn logprob_matches_an_f64_log_softmax() {
    kernels::logprob_matches_reference(&cpu());
}

#[test]
fn sampler_frequencies_follow_the_softmax() {
    kernels::sampler_statistics(&cpu());
}

#[test]
fn sampler_respects_top_k_top_p_and_greedy() {
    kernels::sampler_respects_cuts(&cpu());
}

#[test]
fn device_and_host_sampling_agree_inside_generation() {
    common::checks::device_sampling_equals_host(&cpu(), true);
}

#[test]
fn fused_logprob_gradient_matches_f64_and_burn_ops() {
    kernels::logprob_gradient_matches_reference(&cpu());
}

#[test]
fn chunked_head_logprobs_and_gradients_match_f64() {
    kernels::head_logprobs_match_reference(&cpu());
}

/// The model's training path (autodiff, fused log-probs) gives the same
/// token log-probs as the same weights without autodiff.
#[test]
fn training_logprobs_equal_plain_ones() {
    use restlm::data::TrainBatch;
    use restlm::ops::OpPath;
    let device = cpu();
    let ad = device.clone().autodiff();
    let (plain_path, ad_path) = (OpPath::of(&device), OpPath::of(&ad));
    assert!(plain_path.sampler() && !ad_path.sampler() && ad_path.fused_logprob());
    let tok = common::task_tokenizer();
    let cfg = common::tiny_model(tok.vocab_size());
    let data = common::encoded_task(&tok, 6, cfg.max_seq_len);
    let rows: Vec<_> = data.iter().collect();
    let plain = common::seeded_model(&cfg, &device, 5);
    let batch = TrainBatch::new(&rows, 8, cfg.max_seq_len, tok.pad, &device);
    let fused = restlm::train::token_logprobs(&plain, &batch);
    use restlm::burn::module::Module;
    let graph = plain.clone().fork(&ad);
    let batch = TrainBatch::new(&rows, 8, cfg.max_seq_len, tok.pad, &ad);
    let trained = restlm::train::token_logprobs(&graph, &batch);
    let diff = common::max_abs_diff(&common::to_vec(fused), &common::to_vec(trained));
    assert!(diff < 1e-5, "max |Δ| {diff}");
}

/// The staleness check of `shaders/wgsl/` looks past the hash cubecl puts
/// in an entry point's name, and at nothing else.
#[cfg(feature = "wgpu")]
#[test]
fn wgsl_comparison_ignores_the_entry_point_hash_only() {
    use restlm::shaders::wgsl::same_kernel;
    let checked_in = "@compute @workgroup_size(256, 1, 1)\nfn rope_kernel_051c4b29(@builtin(workgroup_id) v: vec3<u32>) {\nlet a = 1u;\n}\n";
    let rebuilt = checked_in.replace("051c4b29", "673322c0");
    assert!(same_kernel(checked_in, &rebuilt));
    assert!(!same_kernel(checked_in, &rebuilt.replace("1u", "2u")));
    assert!(!same_kernel(
        checked_in,
        &checked_in.replace("rope_kernel", "swiglu_kernel")
    ));
    assert!(!same_kernel(
        checked_in,
        &checked_in.replace("256, 1, 1", "128, 1, 1")
    ));
    // Only an 8-digit hex suffix of a function's name is a hash.
    let named = checked_in.replace("rope_kernel_051c4b29", "rope_kernel_main");
    assert!(!same_kernel(&named, &named.replace("_main", "_side")));
}
