// The page: loads the policy, then drives restlm's Demo one awaited unit
// of work at a time (a batch of prompts, one optimizer step), yielding to
// the event loop in between so the page stays responsive.
import init, { Demo } from "./pkg/restlm_web.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const backend = params.get("backend") || "auto";
const sizes = {};
for (const k of ["prompts", "samples", "heldout", "steps", "chunk", "max_new_tokens"]) {
  if (params.has(k)) sizes[k] = Number(params.get(k));
}
if (params.has("thresholds")) sizes.thresholds = params.get("thresholds").split(",").map(Number);

const yieldToPage = () => new Promise((r) => setTimeout(r, 0));

// A reward written in the page: a JavaScript function's source, run in a
// Worker (reward-worker.js) with a time limit per batch; null: the task's.
let pageReward = null;
const rewardLimitS = Number(params.get("reward_timeout_s")) || 10;
let worker = null;
function scoreInWorker(items) {
  return new Promise((resolve, reject) => {
    worker ??= new Worker("reward-worker.js");
    const stop = (why) => {
      clearTimeout(timer);
      worker.terminate();
      worker = null;
      reject(new Error(why));
    };
    const timer = setTimeout(() => stop(`the reward function did not score ${items.length} samples within ${rewardLimitS} s: stopped`), rewardLimitS * 1e3);
    worker.onmessage = (e) => {
      clearTimeout(timer);
      if (e.data.error) reject(new Error(e.data.error));
      else resolve(e.data.scores);
    };
    worker.onerror = (e) => { e.preventDefault(); stop(`the reward worker failed: ${e.message}`); };
    worker.postMessage({ source: pageReward, items });
  });
}

// After a step that scored: with the page's reward, its scores of what the
// step left pending, handed back to the library; returns [rows the page
// shows (Grow), the scores].
async function settlePage() {
  const items = JSON.parse(demo.pending());
  const scores = items.length ? await scoreInWorker(items) : [];
  return [JSON.parse(demo.settle(JSON.stringify(scores))), scores];
}

// Held-out greedy reward of ReST's policy or of the SFT reference.
async function heldOut(sft) {
  const v = await (sft ? demo.evaluate_sft() : demo.evaluate());
  if (!pageReward) return v;
  const [, scores] = await settlePage();
  return scores.reduce((a, b) => a + b, 0) / Math.max(scores.length, 1);
}

// The page's WebAssembly memory (it only grows: the value is the peak).
// On WebGPU, the device memory cubecl has reserved (also a peak).
const noteMemory = () => {
  document.body.dataset.wasmMb = (wasm.memory.buffer.byteLength / 1e6).toFixed(0);
  const gpu = demo.gpu_memory_mb();
  if (gpu) document.body.dataset.gpuMb = gpu[1].toFixed(0);
};
const points = []; // [label, held-out reward of ReST's policy]
const sftPoints = []; // [label, held-out reward of the equal-step SFT reference]

function setState(state, text) {
  document.body.dataset.state = state;
  $("status").textContent = text;
}

function draw() {
  const c = $("chart"), g = c.getContext("2d");
  const W = c.width, H = c.height, L = 48, B = 28, T = 14, R = 16;
  g.clearRect(0, 0, W, H);
  g.strokeStyle = "#c9cfdc"; g.fillStyle = "#5a6275"; g.font = "12px system-ui";
  for (let y = 0; y <= 100; y += 20) {
    const py = T + (H - T - B) * (1 - y / 100);
    g.beginPath(); g.moveTo(L, py); g.lineTo(W - R, py); g.stroke();
    g.fillText(String(y), 16, py + 4);
  }
  g.save(); g.translate(12, H / 2 + 40); g.rotate(-Math.PI / 2);
  g.fillText("held-out reward", 0, 0); g.restore();
  if (!points.length) return;
  const n = Math.max(points.length - 1, 1);
  const at = (i, v) => [L + (W - L - R) * (i / n), T + (H - T - B) * (1 - v / 100)];
  // The equal-step SFT reference, dashed, under ReST's line.
  const ref = sftPoints.map(([, v], i) => at(i, v));
  g.strokeStyle = "#9aa1ae"; g.lineWidth = 2; g.setLineDash([6, 4]); g.beginPath();
  ref.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y))); g.stroke();
  g.setLineDash([]);
  const xy = points.map(([, v], i) => at(i, v));
  g.strokeStyle = "#3a5bd9"; g.lineWidth = 2; g.beginPath();
  xy.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y))); g.stroke();
  g.fillStyle = "#3a5bd9";
  xy.forEach(([x, y], i) => {
    g.beginPath(); g.arc(x, y, 4, 0, 2 * Math.PI); g.fill();
    g.fillStyle = "#1d2330"; g.fillText(points[i][0], x - 14, H - 8);
    g.fillText(points[i][1].toFixed(1), x - 12, y - 9); g.fillStyle = "#3a5bd9";
  });
  g.fillStyle = "#3a5bd9"; g.fillText("ReST", W - R - 120, T + 12);
  g.fillStyle = "#9aa1ae"; g.fillText("SFT, equal steps", W - R - 120, T + 28);
}

function addHeldout(label, value, sft) {
  points.push([label, value]);
  sftPoints.push([label, sft]);
  const li = document.createElement("li");
  li.dataset.step = label;
  li.dataset.value = value;
  li.dataset.sft = sft;
  li.textContent = `${label}: ReST ${value.toFixed(2)}, SFT with equal steps ${sft.toFixed(2)}`;
  $("heldout").appendChild(li);
  draw();
}

function showSamples(rows) {
  const body = $("samples").querySelector("tbody");
  for (const r of rows) {
    const tr = document.createElement("tr");
    const cls = r.reward >= 60 ? "hi" : r.reward < 30 ? "lo" : "";
    for (const [text, c] of [[r.prompt, ""], [r.sample, ""], [r.reference ?? "— (none)", ""], [r.reward.toFixed(1), `r ${cls}`], [r.scored_by ?? "", "by"]]) {
      const td = document.createElement("td");
      td.textContent = text;
      if (c) td.className = c;
      tr.appendChild(td);
    }
    tr.className = "sample";
    tr.dataset.reward = r.reward;
    body.appendChild(tr);
  }
}

let demo, growN = 0, improveN = 0;
const stepMs = [];

async function grow() {
  $("grow").disabled = $("improve").disabled = true;
  const body = $("samples").querySelector("tbody");
  body.replaceChildren();
  const chunks = demo.start_grow();
  if (pageReward) await settlePage();
  growN += 1;
  const t0 = performance.now();
  let all = [];
  for (let i = 0; i < chunks; i++) {
    setState("growing", `Grow ${growN}: batch ${i + 1}/${chunks}…`);
    let rows = JSON.parse(await demo.grow_chunk(i));
    if (pageReward) [rows] = await settlePage();
    all = all.concat(rows);
    noteMemory();
    if (i === 0) showSamples(rows.slice(0, 24));
    await yieldToPage();
  }
  const mean = all.reduce((s, r) => s + r.reward, 0) / all.length;
  const secs = (performance.now() - t0) / 1000;
  const tokens = all.reduce((s, r) => s + r.tokens, 0);
  $("growinfo").textContent = `(${all.length} samples, mean reward ${mean.toFixed(1)}, ${tokens} tokens in ${secs.toFixed(1)} s)`;
  Object.assign(document.body.dataset, { growSeconds: secs.toFixed(2), growTokens: tokens });
  setState("grown", `Grow ${growN}: ${all.length} samples, mean reward ${mean.toFixed(1)}`);
  $("grow").disabled = $("improve").disabled = false;
}

async function improve() {
  $("grow").disabled = $("improve").disabled = true;
  const t0 = performance.now();
  const taus = JSON.parse(demo.thresholds());
  improveN += 1;
  for (const [k, tau] of taus.entries()) {
    const kept = demo.start_improve(tau);
    // Nothing reached τ: no training, as the CLI skips an empty filter.
    const steps = kept === 0 ? 0 : demo.steps();
    let loss = NaN;
    for (let s = 0; s < steps; s++) {
      const t = performance.now();
      loss = await demo.improve_step();
      stepMs.push(performance.now() - t);
      noteMemory();
      setState("improving", `Improve τ = ${tau}: kept ${kept}, step ${s + 1}/${steps}, loss ${loss.toFixed(3)} (and the SFT reference's step)`);
      await yieldToPage();
    }
    setState("evaluating", `τ = ${tau}: scoring held-out prompts…`);
    const rest = await heldOut(false);
    addHeldout(`g${growN}-i${k + 1}`, rest, await heldOut(true));
  }
  const secs = (performance.now() - t0) / 1000;
  document.body.dataset.improveSeconds = secs.toFixed(2);
  // One step here is ReST's and the SFT reference's optimizer steps.
  if (stepMs.length) document.body.dataset.stepMs = (stepMs.reduce((a, b) => a + b, 0) / stepMs.length).toFixed(0);
  setState("improved", `Improve done in ${secs.toFixed(1)} s; held-out reward ${points.at(-1)[1].toFixed(2)}`);
  $("grow").disabled = $("improve").disabled = false;
}

// Starts the loop on a freshly made Demo: the starting policy's held-out
// reward, then Grow/Improve on demand.
async function begin(d) {
  demo = d;
  growN = improveN = 0;
  points.length = sftPoints.length = 0;
  $("heldout").replaceChildren();
  $("samples").querySelector("tbody").replaceChildren();
  $("backend").textContent = demo.backend();
  document.body.dataset.backend = demo.backend_kind();
  const why = demo.fallback_reason();
  if (why) console.info(`restlm: no WebGPU, so the CPU backend runs: ${why}`);
  await scoreStart();
  for (const b of ["grow", "complete", "download", "usereward", "rmdir"]) $(b).disabled = false;
  $("downloadadapter").disabled = !d.model_info();
}

// The starting policy's held-out reward (again, when the reward changes:
// the chart starts over).
async function scoreStart() {
  $("grow").disabled = $("improve").disabled = true;
  points.length = sftPoints.length = 0;
  $("heldout").replaceChildren();
  setState("evaluating", "scoring the starting policy on held-out prompts…");
  const start = await heldOut(false);
  addHeldout("start", start, start);
  noteMemory();
  setState("ready", `ready: press Grow (reward: ${pageReward ? "the page's function" : demo.reward_name()})`);
  $("grow").disabled = false;
}

// Scores with the function in the reward box from now on.
async function useReward() {
  pageReward = $("rewardjs").value;
  demo.use_page_reward();
  await scoreStart();
}

// Scores with the reward model in the picked directory (`restlm rm
// train`'s files) from now on.
async function useRewardModel(files) {
  const byName = Object.fromEntries([...files].map((f) => [f.name, f]));
  const dir = files[0]?.webkitRelativePath?.split("/")[0] || "the reward model";
  const need = ["config.json", "model.bpk", "head.bpk", "tokenizer.json", "tokens.json", "rm.json"];
  const missing = need.filter((n) => !byName[n]);
  if (missing.length) throw new Error(`${dir}: no ${missing.join(", ")} (pick a directory written by restlm rm train)`);
  setState("loading", `reading the reward model ${dir}…`);
  const text = (n) => byName[n].text();
  const bytes = async (n) => new Uint8Array(await byName[n].arrayBuffer());
  demo.use_reward_model(dir, await text("config.json"), await bytes("model.bpk"), await bytes("head.bpk"),
    await text("tokenizer.json"), await text("tokens.json"), await text("rm.json"));
  pageReward = null;
  await scoreStart();
}

async function loadOwnPolicy() {
  const get = (f) => fetch(`policy/${f}`).then((r) => {
    if (!r.ok) throw new Error(`policy/${f}: HTTP ${r.status}`);
    return r;
  });
  const [cfg, bpk, tok, layout] = await Promise.all([
    get("config.json").then((r) => r.text()),
    get("model.bpk").then((r) => r.arrayBuffer()),
    get("tokenizer.json").then((r) => r.text()),
    get("tokens.json").then((r) => r.text()),
  ]);
  await begin(await Demo.create(backend, JSON.stringify(sizes), cfg, new Uint8Array(bpk), tok, layout));
}

// The run settings for a pretrained model (a restlm config, TOML): the
// task, LoRA adapters on a frozen base, fine-tuning rates.
function ggufConfig() {
  const task = $("task").value, rank = Number($("rank").value);
  const lines = ["[data]", `task = "${task}"`];
  // Sized where SmolLM2-135M-Instruct sometimes succeeds (examples/smollm2-arith).
  if (task === "arith") lines.push("terms = 2", "digits = 2", "task_train = 128", "task_eval = 100", "labeled_fraction = 0.25", "max_prompt_tokens = 64");
  lines.push("[lora]", `rank = ${rank}`, `alpha = ${2 * rank}`, `base_dtype = "${$("basedtype").value}"`);
  lines.push("[improve]", `lr = ${params.get("lr") || "1e-4"}`, "batch_size = 8", "warmup_steps = 2");
  lines.push("[sample]", "temperature = 0.8");
  return lines.join("\n");
}

// The page's sizes for a pretrained model: smaller than for its own
// policy (a 135M model in a tab), each overridable from the URL.
function ggufSizes() {
  const task = $("task").value;
  const d = { prompts: 32, samples: 4, heldout: 32, steps: 8, chunk: 4, thresholds: task === "arith" ? [50] : [40, 70] };
  return { ...d, ...sizes };
}

let modelName = "model";
async function loadGguf(name, bytes) {
  for (const b of ["grow", "improve", "complete", "download"]) $(b).disabled = true;
  $("modelinfo").textContent = "";
  setState("loading", `reading ${name} (${(bytes.byteLength / 1e6).toFixed(1)} MB)…`);
  await yieldToPage();
  const t0 = performance.now();
  const d = await Demo.create_gguf(backend, JSON.stringify(ggufSizes()), ggufConfig(), name, new Uint8Array(bytes));
  const secs = (performance.now() - t0) / 1000;
  modelName = name.replace(/\.gguf$/i, "");
  const i = JSON.parse(d.model_info());
  const wasmMb = wasm.memory.buffer.byteLength / 1e6;
  const m = (x) => (x / 1e6).toFixed(x < 1e7 ? 2 : 1);
  const limit = d.buffer_limit_mib();
  const gpu = limit == null ? "" :
    `; WebGPU: one buffer ≤ ${limit.toFixed(0)} MiB, shader-f16 ${d.shader_f16() ? "offered" : "not offered"}`;
  $("modelinfo").textContent =
    `${i.name} (${i.arch}): ${m(i.params)} M parameters, ${i.layers} layers × ${i.d_model}, vocabulary ${i.vocab}, context ${i.context}\n` +
    `file ${i.file_mb.toFixed(1)} MB in ${i.encoding}; base held as ${i.base}; weights in memory ${i.weights_mb.toFixed(1)} MB${gpu}\n` +
    `LoRA trains ${m(i.trainable)} M parameters; prompts laid out ${i.prompt_format === "chat" ? "by the model's chat template" : "plain"}\n` +
    `loaded in ${secs.toFixed(1)} s; WebAssembly memory ${wasmMb.toFixed(0)} MB` +
    (d.gpu_memory_mb() ? `; GPU memory ${d.gpu_memory_mb()[1].toFixed(0)} MB` : "");
  Object.assign(document.body.dataset, { model: i.name, loadSeconds: secs.toFixed(2), wasmMb: wasmMb.toFixed(0), weightsMb: i.weights_mb.toFixed(1) });
  await begin(d);
}

// A file from the picker or dropped on the page.
async function loadFile(file) {
  setState("loading", `reading ${file.name}…`);
  try {
    await loadGguf(file.name, await file.arrayBuffer());
  } catch (e) {
    setState("error", `error: ${e}`);
    console.error(e);
  }
}

async function complete() {
  $("complete").disabled = true;
  setState("completing", "completing the prompt…");
  const out = JSON.parse(await demo.complete($("prompt").value));
  $("completion").textContent = out.text;
  Object.assign(document.body.dataset, { completion: out.text, logprob: out.logprob });
  setState("completed", "completed");
  $("complete").disabled = false;
}

async function downloadAdapter() {
  const dir = `${modelName}-rest-adapter`;
  setState("exporting", "writing the adapters…");
  const bytes = await demo.export_adapter(dir);
  save(bytes, `${dir}.tar`);
  setState("exported", `${dir}.tar: ${(bytes.byteLength / 1e6).toFixed(2)} MB (unpack it beside ${modelName}.gguf)`);
}

function save(bytes, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

async function download() {
  const enc = $("encoding").value;
  setState("exporting", `writing the GGUF (${enc})…`);
  const bytes = await demo.export_gguf(enc);
  const name = `${modelName}-rest.${enc}.gguf`;
  save(bytes, name);
  setState("exported", `${name}: ${(bytes.byteLength / 1e6).toFixed(1)} MB`);
}

let wasm;
async function main() {
  try {
    wasm = await init();
    for (const k of ["task", "rank"]) if (params.has(k)) $(k).value = params.get(k);
    if (params.has("base_dtype")) $("basedtype").value = params.get("base_dtype");
    // A failed step (a reward that throws, a device error) is shown in
    // the page; the buttons stay usable.
    const shown = (f) => async () => {
      try {
        await f();
      } catch (e) {
        setState("error", `error: ${e.message ?? e}`);
        console.error(e);
        for (const b of ["grow", "usereward", "rmdir"]) $(b).disabled = false;
      }
    };
    $("grow").onclick = shown(grow);
    $("improve").onclick = shown(improve);
    $("complete").onclick = shown(complete);
    $("download").onclick = shown(download);
    $("downloadadapter").onclick = shown(downloadAdapter);
    $("usereward").onclick = shown(useReward);
    $("rmdir").onchange = (e) => e.target.files.length && shown(() => useRewardModel(e.target.files))();
    $("modelfile").onchange = (e) => e.target.files[0] && loadFile(e.target.files[0]);
    document.addEventListener("dragover", (e) => { e.preventDefault(); document.body.classList.add("dragging"); });
    document.addEventListener("dragleave", () => document.body.classList.remove("dragging"));
    document.addEventListener("drop", (e) => {
      e.preventDefault();
      document.body.classList.remove("dragging");
      const f = e.dataTransfer.files[0];
      if (f) loadFile(f);
    });
    if (params.has("model")) {
      const url = params.get("model");
      setState("loading", `fetching ${url}…`);
      const r = await fetch(url);
      if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
      await loadGguf(url.split("/").pop(), await r.arrayBuffer());
    } else {
      await loadOwnPolicy();
    }
  } catch (e) {
    setState("error", `error: ${e}`);
    console.error(e);
  }
}

main();
