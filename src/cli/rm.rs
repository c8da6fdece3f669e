//! `restlm rm train`: a reward model from scored outputs, preference pairs
//! or a grown set, with its held-out agreement with gold.

use super::open_device;
use anyhow::{Result, bail};
use restlm::config::RunConfig;
use restlm::rm::{self, Options};
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Train a reward model (or an ensemble) and report, on held-out
    /// prompts, its Spearman and Pearson correlation with gold, pairwise
    /// accuracy, top-1 agreement and precision/recall at each τ.
    Train(TrainArgs),
    /// Report a trained reward model's (or an ensemble's) agreement with
    /// the gold scores of any scored data, as `rm train` reports held-out.
    Eval(EvalArgs),
    /// Score outputs with a trained reward model (or an ensemble): each
    /// JSONL record {"prompt", "output", …} is printed back with its
    /// "reward" (0–100) added.
    Score(ScoreArgs),
}

#[derive(clap::Args)]
pub struct ScoreArgs {
    /// A reward model's directory (repeat it for an ensemble, scored mean −
    /// reward.uncertainty_penalty · std).
    #[arg(long, required = true)]
    model: Vec<PathBuf>,
    /// JSONL: {"prompt", "output"} per line; other fields are kept.
    #[arg(long)]
    data: PathBuf,
}

#[derive(clap::Args)]
pub struct EvalArgs {
    /// A reward model's directory (repeat it for an ensemble).
    #[arg(long, required = true)]
    model: Vec<PathBuf>,
    #[arg(long)]
    data: Vec<PathBuf>,
    #[arg(long)]
    from_grown: Vec<PathBuf>,
}

#[derive(clap::Args)]
pub struct TrainArgs {
    /// The trunk: a GGUF file, Hugging Face directory or restlm checkpoint
    /// (default: the config's `init`). With `[lora]`, only adapters train.
    #[arg(long)]
    init: Option<PathBuf>,
    /// JSONL: {"prompt", "output", "score" (0–100)} or {"prompt",
    /// "chosen", "rejected"} per line (repeatable).
    #[arg(long)]
    data: Vec<PathBuf>,
    /// A grown set (grow/g<N>.jsonl) scored by a gold reward (repeatable).
    #[arg(long)]
    from_grown: Vec<PathBuf>,
    /// Synthetic negatives per prompt (default: the config's rm.negatives).
    #[arg(long)]
    negatives: Option<usize>,
    /// Ensemble members (default: the config's rm.members).
    #[arg(long)]
    members: Option<usize>,
    /// Optimizer steps (default: the config's rm.train.steps).
    #[arg(long)]
    steps: Option<usize>,
    #[arg(long)]
    out: PathBuf,
}

pub fn run(cfg: RunConfig, command: Command) -> Result<()> {
    match command {
        Command::Train(a) => train(cfg, a),
        Command::Eval(a) => {
            let dev = open_device(&cfg, None)?;
            let examples = rm::read_all(&a.data, &a.from_grown)?;
            let report = rm::evaluate(&a.model, &examples, &cfg, &dev)?;
            for line in report.lines() {
                println!("{line}");
            }
            Ok(())
        }
        Command::Score(a) => {
            let dev = open_device(&cfg, None)?;
            for row in rm::score_file(&a.model, &a.data, &cfg, &dev)? {
                println!("{row}");
            }
            Ok(())
        }
    }
}

fn train(mut cfg: RunConfig, a: TrainArgs) -> Result<()> {
    let Some(init) = a.init.or(cfg.init.clone()) else {
        bail!(
            "rm train needs a trunk: --init FILE.gguf|HF_DIR|POLICY_DIR (or `init` in the config)"
        );
    };
    if let Some(n) = a.negatives {
        cfg.rm.negatives = n;
    }
    if let Some(k) = a.members {
        cfg.rm.members = k;
    }
    if let Some(s) = a.steps {
        cfg.rm.train.steps = s;
    }
    cfg.validate()?;
    let dev = open_device(&cfg, None)?;
    let t0 = std::time::Instant::now();
    restlm::io::reset_peak_rss();
    let opts = Options {
        init,
        data: a.data,
        from_grown: a.from_grown,
        out: a.out,
    };
    let members = rm::train_all(&cfg, &opts, &dev)?;
    for (dir, report) in &members {
        println!("{}", dir.display());
        for line in report.lines() {
            println!("  {line}");
        }
    }
    let paths: Vec<String> = members
        .iter()
        .map(|(d, _)| format!("{:?}", d.display().to_string()))
        .collect();
    println!(
        "use it: [reward] kind = \"model\", path = {} ({:.0} s, peak RSS {})",
        match paths.as_slice() {
            [one] => one.clone(),
            many => format!("[{}]", many.join(", ")),
        },
        t0.elapsed().as_secs_f64(),
        restlm::io::peak_rss_mb().map_or("?".into(), |m| format!("{m:.0} MB"))
    );
    Ok(())
}
