//! Reward models (`restlm rm train`): a decoder trunk with a scalar head,
//! trained on scored outputs or preference pairs, reported against gold on
//! held-out prompts, loaded by `reward::Learned` (`[reward] kind =
//! "model"`). An ensemble is several members trained on bootstrap
//! resamples with their own seeds.

pub mod data;
pub mod report;
pub mod train;

use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::io::{read_json, write_json_atomic};
use crate::model::RewardModel;
use crate::policy::Policy;
use crate::reward::learned::{Member, RM_INFO, RmInfo};
use burn::prelude::Device;
use data::Example;
use std::path::{Path, PathBuf};

/// Where a reward model's data and trunk come from, and where it goes.
pub struct Options {
    /// The trunk: a GGUF file, a Hugging Face directory or a restlm
    /// checkpoint (the policy's own base is the natural choice).
    pub init: PathBuf,
    /// JSONL files of pointwise or pairwise records.
    pub data: Vec<PathBuf>,
    /// Grown sets whose rewards came from a gold reward.
    pub from_grown: Vec<PathBuf>,
    /// The model (one member), or `member-<k>/` for each of several.
    pub out: PathBuf,
}

/// The directories of the `members` models `out` holds.
pub fn member_dirs(out: &Path, members: usize) -> Vec<PathBuf> {
    match members {
        1 => vec![out.to_path_buf()],
        n => (1..=n).map(|k| out.join(format!("member-{k}"))).collect(),
    }
}

/// Trains every member not yet trained (a re-run resumes an interrupted
/// one) and returns each member's directory with its held-out report.
pub fn train_all(
    cfg: &RunConfig,
    o: &Options,
    device: &Device,
) -> Result<Vec<(PathBuf, report::Report)>> {
    let examples = read_all(&o.data, &o.from_grown)?;
    let (train, held) = data::split(examples, cfg.rm.eval_fraction, cfg.seed);
    let mut train_set = train;
    train_set.extend(data::negatives(&train_set, cfg.rm.negatives, cfg.seed));
    let mut out = Vec::new();
    for (k, dir) in member_dirs(&o.out, cfg.rm.members).into_iter().enumerate() {
        if let Ok(info) = read_json::<RmInfo>(&dir.join(RM_INFO)) {
            let rep = serde_json::from_value(info.report).unwrap_or_default();
            out.push((dir, rep));
            continue;
        }
        let seed = cfg.seed + k as u64;
        let mine = data::member_data(&train_set, k, seed, cfg.rm.bootstrap);
        let fresh = cfg.rm.fresh_trunk && k + 1 == cfg.rm.members;
        let rep = train_member(cfg, o, &dir, (&mine, &held), seed, fresh, device)?;
        out.push((dir, rep));
    }
    Ok(out)
}

fn train_member(
    cfg: &RunConfig,
    o: &Options,
    dir: &Path,
    (train_set, held): (&[Example], &[Example]),
    seed: u64,
    fresh: bool,
    device: &Device,
) -> Result<report::Report> {
    let lora = cfg.lora.as_ref().filter(|_| !fresh);
    let mut policy = Policy::load_base(&o.init, cfg.tokenizer.prompt_format, lora, device)?;
    match &cfg.lora {
        // A fresh trunk has nothing worth freezing: all of it trains.
        _ if fresh => {
            policy.cfg.lora = None;
            device.seed(seed);
            policy.model = crate::model::Transformer::new(&policy.cfg, device);
        }
        Some(lora) => policy = policy.with_lora_on(lora, Some(&o.init), seed)?,
        None => {}
    }
    let Policy {
        cfg: mcfg,
        model: trunk,
        tok,
    } = policy;
    let model = RewardModel::new(trunk, &mcfg, device);
    let (max_prompt, max_seq) = (cfg.data.max_prompt_tokens, mcfg.max_seq_len);
    let rows = train::encode(&tok, train_set, max_prompt, max_seq)?;
    let label = format!(
        "rm {}",
        dir.file_name().map_or("".into(), |n| n.to_string_lossy())
    );
    let spec = train::Spec {
        cfg: &mcfg,
        tok: &tok,
        tc: &cfg.rm.train,
        center: cfg.rm.center,
        seed,
        dir,
        label: &label,
    };
    eprintln!(
        "{label}: {} training examples ({} prompts held out), {} steps",
        train_set.len(),
        held.iter()
            .map(Example::prompt)
            .collect::<std::collections::HashSet<_>>()
            .len(),
        cfg.rm.train.steps
    );
    let model = train::train(model, &rows, &spec)?;
    // Scored as `reward::Learned` will score it.
    let member = Member {
        dir: dir.to_path_buf(),
        cfg: mcfg,
        model,
        tok,
        max_prompt,
    };
    let batch = cfg.rm.train.batch_size;
    let rep = report_with(held, &mut |pairs| member.scores(pairs, batch), cfg)?;
    write_json_atomic(
        &dir.join(RM_INFO),
        &RmInfo {
            max_prompt_tokens: max_prompt,
            report: serde_json::to_value(&rep).expect("a report serialises"),
        },
    )?;
    Ok(rep)
}

/// Scored data from JSONL records and grown sets (gold rows only).
pub fn read_all(data: &[PathBuf], from_grown: &[PathBuf]) -> Result<Vec<Example>> {
    let mut examples = Vec::new();
    for p in data {
        examples.extend(data::read_examples(p)?);
    }
    for p in from_grown {
        examples.extend(data::from_grown(p)?);
    }
    if examples.is_empty() {
        return Err(Error::Config(
            "no data (give --data or --from-grown)".into(),
        ));
    }
    Ok(examples)
}

/// A trained reward model's (or ensemble's) agreement with the gold
/// scores of `examples` (`rm eval`): the ensemble scores as Grow would.
pub fn evaluate(
    dirs: &[PathBuf],
    examples: &[Example],
    cfg: &RunConfig,
    device: &Device,
) -> Result<report::Report> {
    use crate::reward::Reward;
    let mut learned = learned(dirs, cfg, device)?;
    let mut score = |pairs: &[(&str, &str)]| learned.score(&prompt_only(pairs));
    report_with(examples, &mut score, cfg)
}

/// The records of the JSONL file `path` ({"prompt", "output", …}), each
/// with the "reward" the reward model (or ensemble) in `dirs` gives it, as
/// Grow would score it (`rm score`).
pub fn score_file(
    dirs: &[PathBuf],
    path: &Path,
    cfg: &RunConfig,
    device: &Device,
) -> Result<Vec<serde_json::Value>> {
    use crate::reward::Reward;
    #[derive(serde::Deserialize)]
    struct Row {
        prompt: String,
        output: String,
        #[serde(flatten)]
        rest: serde_json::Map<String, serde_json::Value>,
    }
    let rows: Vec<Row> = crate::io::read_jsonl(path, false)?;
    let mut learned = learned(dirs, cfg, device)?;
    let pairs: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.prompt.as_str(), r.output.as_str()))
        .collect();
    let scores = learned.score(&prompt_only(&pairs))?;
    Ok(rows
        .into_iter()
        .zip(scores)
        .map(|(r, s)| {
            let mut o = r.rest;
            o.insert("prompt".into(), r.prompt.into());
            o.insert("output".into(), r.output.into());
            o.insert("reward".into(), s.into());
            serde_json::Value::Object(o)
        })
        .collect())
}

/// The reward model (or ensemble) in `dirs`, scored as `cfg` says.
fn learned(dirs: &[PathBuf], cfg: &RunConfig, device: &Device) -> Result<crate::reward::Learned> {
    crate::reward::Learned::load(
        dirs,
        cfg.reward.uncertainty_penalty,
        cfg.reward.batch_size,
        device,
    )
}

/// (prompt, output) pairs as items without references or meta: what a
/// reward model scores.
fn prompt_only<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<crate::reward::Item<'a>> {
    pairs
        .iter()
        .map(|&(prompt, sample)| crate::reward::Item {
            prompt,
            sample,
            references: &[],
            meta: None,
        })
        .collect()
}

/// Scores (prompt, output) pairs on 0–100.
type Scorer<'a> = dyn FnMut(&[(&str, &str)]) -> Result<Vec<f64>> + 'a;

/// The report over `examples`, each output scored by `score` (0–100).
fn report_with(
    examples: &[Example],
    score: &mut Scorer<'_>,
    cfg: &RunConfig,
) -> Result<report::Report> {
    let (mut points, mut golds, mut pair_texts) = (Vec::new(), Vec::new(), Vec::new());
    for e in examples {
        match e {
            Example::Point {
                prompt,
                output,
                score,
            } => {
                points.push((prompt.as_str(), output.as_str()));
                golds.push(*score);
            }
            Example::Pair {
                prompt,
                chosen,
                rejected,
            } => {
                pair_texts.push((prompt.as_str(), chosen.as_str()));
                pair_texts.push((prompt.as_str(), rejected.as_str()));
            }
        }
    }
    let model_points = score(&points)?;
    let scored: Vec<report::Scored> = points
        .iter()
        .zip(&golds)
        .zip(&model_points)
        .map(|(((p, _), &gold), &m)| report::Scored {
            prompt: p,
            gold,
            model: m,
        })
        .collect();
    let pair_scores = score(&pair_texts)?;
    let prefs: Vec<(f64, f64)> = pair_scores.chunks(2).map(|c| (c[0], c[1])).collect();
    let mut thresholds = cfg.rest.thresholds.clone();
    thresholds.dedup();
    Ok(report::report(&scored, &prefs, &thresholds))
}
