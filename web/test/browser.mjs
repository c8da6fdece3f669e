// Runs the demo (web/dist, built by web/build.sh) in Debian's headless
// Chromium through playwright-core. CI's runs: the page's own policy on the
// CPU fallback (WebGPU disabled), and a GGUF model picked in the page with
// LoRA on the CPU fallback and on WebGPU (SwiftShader), whose downloads
// run natively. Manual runs (by name, or `all`): the own policy on WebGPU,
// the real SmolLM2 on both, and the page's default sizes on the CPU, where
// held-out reward must rise. Each run does one Grow and one Improve and
// checks that rewards are shown and that the held-out reward was
// recomputed; any console error or page exception fails it. Screenshots go
// to web/test/out/.
import { chromium } from "playwright-core";
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, "../dist");
const out = path.resolve(here, "out");
fs.mkdirSync(out, { recursive: true });
if (!fs.existsSync(path.join(dist, "index.html"))) {
  console.error(`${dist}/index.html missing: run web/build.sh first`);
  process.exit(2);
}

const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };
const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  const file = path.join(dist, url.pathname === "/" ? "index.html" : decodeURIComponent(url.pathname));
  if (!file.startsWith(dist) || !fs.existsSync(file)) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": types[path.extname(file)] || "application/octet-stream" });
  fs.createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const port = server.address().port;

// A fresh profile each run (playwright's persistent context owns
// --user-data-dir); headless comes from playwright's own flag.
const common = [
  "--no-sandbox", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
// Small sizes: SwiftShader compiles and runs every shader in software
// (WebGPU's Improve, ReST and the SFT line, 2 steps per threshold: ~250 s
// on 2 cores with two thresholds, 4 steps took ~400 s). One threshold: the
// page's loop over thresholds runs once (CI time; the library's rising
// thresholds are tested natively, tests/rest_loop.rs).
const small = process.env.QUERY ||
  "backend=auto&prompts=8&samples=2&heldout=8&steps=2&thresholds=40&chunk=8&max_new_tokens=32";
const modes = [
  // The page's own policy on WebGPU, every parameter trained: SwiftShader
  // compiles the full backward pass's and Adam's kernels in software
  // (~4 minutes on 2 cores, 170 s of it the first Improve step), so a
  // manual run; CI's WebGPU run is gguf-webgpu (LoRA, ~40 s), and
  // full-parameter training on wgpu is tested natively (tests/wgpu.rs).
  { name: "webgpu", expect: "webgpu", manual: true, query: small, args: ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-webgpu-adapter=swiftshader"] },
  // The page's own policy on the CPU fallback, then a reward model picked
  // as a directory (web/build.sh trains one on the policy's trunk).
  { name: "cpu", expect: "cpu", query: small, rewardModel: true, args: ["--disable-features=WebGPU"] },
  // A GGUF model through the page's file picker (the page's own policy
  // exported by web/build.sh: small enough for CI), LoRA rank 4, then a
  // greedy completion, the merged model downloaded as GGUF and run by the
  // native CLI, which must complete the prompt as the page did.
  // The adapters alone are downloaded too, unpacked beside the GGUF and
  // run natively; then a reward written in the page scores Grow (and a
  // throwing, a non-number and an endless reward are named errors).
  { name: "gguf-cpu", expect: "cpu", gguf: "restlm-mt.gguf", pageReward: true, query: `${small}&task=mt&rank=4&lr=1e-3&reward_timeout_s=3`, args: ["--disable-features=WebGPU"] },
  { name: "gguf-webgpu", expect: "webgpu", gguf: "restlm-mt.gguf", query: `${small}&task=mt&rank=4&lr=1e-3`, args: ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-webgpu-adapter=swiftshader"] },
  // The real SmolLM2-135M-Instruct (web/build.sh --with-smollm2), on the
  // instruct-phrased sums: a manual measurement, not CI's.
  { name: "smollm2-cpu", expect: "cpu", gguf: "SmolLM2-135M-Instruct.Q4_1.gguf", manual: true, query: process.env.QUERY || "backend=auto&task=arith&rank=8&prompts=8&samples=2&heldout=8&steps=2&chunk=8", args: ["--disable-features=WebGPU"] },
  { name: "smollm2-webgpu", expect: "webgpu", gguf: "SmolLM2-135M-Instruct.Q4_1.gguf", manual: true, query: process.env.QUERY || "backend=auto&task=arith&rank=8&prompts=8&samples=2&heldout=8&steps=2&chunk=8", args: ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-webgpu-adapter=swiftshader"] },
  // The page's own default sizes, where held-out reward must end above its
  // start: about 3.5 minutes, so a manual check (`node web/test/browser.mjs
  // cpu-default-sizes`, or `all`), not CI's; the native loop tests hold
  // the library's ReST to a gain.
  { name: "cpu-default-sizes", expect: "cpu", query: "backend=auto", mustImprove: true, manual: true, args: ["--disable-features=WebGPU"] },
];
// Improve's thresholds a query asks for (the page's default: 40, 70).
const thresholds = (query, gguf) => {
  const q = new URLSearchParams(query);
  return (q.get("thresholds") || (gguf && q.get("task") !== "mt" ? "50" : "40,70")).split(",").length;
};
const restlm = process.env.RESTLM_BIN || path.resolve(here, "../../target/release/restlm");
const only = process.argv[2];
const chosen = modes.filter((m) => (only === "all" ? true : only ? m.name === only : !m.manual));
if (chosen.length === 0) {
  console.error(`no mode named ${only} (modes: ${modes.map((m) => m.name).join(", ")}, all)`);
  process.exit(2);
}
const minutes = Number(process.env.MINUTES) || 20;
let failed = false;

for (const mode of chosen) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "restlm-chromium-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [...common, ...mode.args],
    viewport: { width: 1000, height: 1100 },
  });
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  const began = Date.now();
  const state = async (s) => {
    const r = await page.waitForSelector(`body[data-state="${s}"], body[data-state="error"]`, { timeout: minutes * 60e3 });
    // Manual runs (real models) say how long each step took as they go.
    if (mode.manual) console.log(`  [${((Date.now() - began) / 1000).toFixed(1)} s] ${await page.textContent("#status")}`);
    return r;
  };
  // A click that returns at once: on the CPU backend the page's handler
  // computes on the main thread, which a plain click would wait out.
  const press = (sel) => page.$eval(sel, (b) => setTimeout(() => b.click(), 0));
  const check = async (what, ok) => {
    if (!ok) throw new Error(`${mode.name}: ${what}`);
  };
  try {
    const t0 = Date.now();
    await page.goto(`http://127.0.0.1:${port}/?${mode.query}`);
    await state("ready");
    const status = await page.textContent("#status");
    await check(`page failed: ${status}`, (await page.getAttribute("body", "data-state")) === "ready");
    const backend = await page.getAttribute("body", "data-backend");
    await check(`backend "${backend}" is not ${mode.expect}`, backend === mode.expect);
    // The device line is a short sentence, not a dump of an adapter error.
    const line = await page.textContent("#backend");
    await check(`device line "${line}" is not a short sentence`,
      line.length < 120 && /\.$/.test(line) && !/[{}]|Error|Some\(|\bat \w+:/.test(line));
    let loaded = "";
    if (mode.gguf) {
      // A file that is no GGUF: a named error in the page, no hang.
      await page.setInputFiles("#modelfile", { name: "broken.gguf", mimeType: "application/octet-stream", buffer: Buffer.from("not a model") });
      await page.waitForSelector('body[data-state="error"]', { timeout: 60e3 });
      const why = await page.textContent("#status");
      await check(`a broken file's error does not name it: ${why}`, why.includes("broken.gguf") && why.includes("GGUF"));
      errors.length = 0; // the page logs the error it shows
      const file = path.join(dist, "models", mode.gguf);
      await check(`${file} missing (web/build.sh${mode.gguf.startsWith("SmolLM2") ? " --with-smollm2" : ""})`, fs.existsSync(file));
      await page.evaluate(() => { document.body.dataset.state = "picking"; });
      await page.setInputFiles("#modelfile", file);
      await page.waitForSelector('body[data-model][data-state="ready"], body[data-state="error"]', { timeout: minutes * 60e3 });
      await check(`GGUF load failed: ${await page.textContent("#status")}`, (await page.getAttribute("body", "data-state")) === "ready");
      // The model runs where the page's own policy did (the device is
      // started once per page).
      const again = await page.getAttribute("body", "data-backend");
      await check(`the GGUF model runs on "${again}", not ${mode.expect}: ${await page.textContent("#backend")}`, again === mode.expect);
      loaded = await page.textContent("#modelinfo");
      if (mode.manual) console.log(`  [${((Date.now() - began) / 1000).toFixed(1)} s] loaded and scored: ${loaded.replaceAll("\n", "; ")}`);
      await check(`no model description: ${loaded}`, /M parameters/.test(loaded) && /LoRA trains/.test(loaded));
    }
    const start = Number(await page.getAttribute("#heldout li", "data-value"));
    await check("no starting held-out reward", Number.isFinite(start));

    await press("#grow");
    await state("grown");
    const rewards = await page.$$eval("tr.sample td.r", (tds) => tds.map((td) => Number(td.textContent)));
    await check("Grow showed no rewards", rewards.length > 0 && rewards.every((r) => r >= 0 && r <= 100));
    const growSecs = Number(await page.getAttribute("body", "data-grow-seconds"));
    const growTokens = Number(await page.getAttribute("body", "data-grow-tokens"));

    await press("#improve");
    await state("improved");
    const held = await page.$$eval("#heldout li", (lis) => lis.map((li) => [li.dataset.step, Number(li.dataset.value), Number(li.dataset.sft)]));
    await check(`held-out not recomputed after Improve: ${JSON.stringify(held)}`,
      held.length === thresholds(mode.query, mode.gguf) + 1 && held.slice(1).every(([s, v, sft]) => s.startsWith("g1-i") && Number.isFinite(v) && Number.isFinite(sft)));
    if (mode.mustImprove) {
      await check(`held-out reward did not end above its start: ${JSON.stringify(held)}`, held.at(-1)[1] > held[0][1]);
    }
    const improveSecs = Number(await page.getAttribute("body", "data-improve-seconds"));
    const stepMs = Number(await page.getAttribute("body", "data-step-ms"));
    // Shown samples carry no U+FFFD (a sample cut inside a character).
    const shown = await page.$$eval("tr.sample td:nth-child(2)", (tds) => tds.map((td) => td.textContent));
    await check(`a sample shows U+FFFD: ${shown.find((t) => t.includes("\uFFFD"))}`, !shown.some((t) => t.includes("\uFFFD")));
    let native = "";
    if (mode.gguf) {
      // The page's greedy completion of a grown prompt, then the same from
      // the downloaded model (f32: the page's weights, adapters merged) in
      // the native CLI.
      const prompt = await page.textContent("tr.sample td:nth-child(1)");
      await page.fill("#prompt", prompt);
      await press("#complete");
      await state("completed");
      const said = await page.getAttribute("body", "data-completion");
      const logprob = Number(await page.getAttribute("body", "data-logprob"));
      await page.selectOption("#encoding", "f32");
      const [dl] = await Promise.all([page.waitForEvent("download", { timeout: minutes * 60e3 }), press("#download")]);
      const saved = path.join(out, `${mode.name}.gguf`);
      await dl.saveAs(saved);
      await state("exported");
      const max = new URLSearchParams(mode.query).get("max_new_tokens") || "32";
      const cfg = path.join(out, `${mode.name}.toml`);
      fs.writeFileSync(cfg, `[sample]\nmax_new_tokens = ${max}\n`);
      const sample = (policy) => {
        const run = execFileSync(restlm, ["--device", "cpu", "--config", cfg, "sample", "--policy", policy, "--prompt", prompt, "--temperature", "0"], { encoding: "utf8" });
        // `> prompt`, then `completion<TAB>(log-prob x)`.
        const line = run.slice(run.indexOf("\n") + 1);
        const m = line.match(/\t\(log-prob ([^)]*)\)\s*$/);
        return [line.slice(0, m ? m.index : undefined), Number(m?.[1])];
      };
      // The same greedy tokens, and the same log-prob of them within 0.02
      // (printed to 0.01; f32 sums in other orders, wasm or a GPU against
      // native code, differ by ~1e-5 per token).
      const agrees = ([text, lp]) => text === said && Math.abs(lp - logprob) <= 0.02;
      const [text, lp] = sample(saved);
      await check(`the downloaded GGUF completes ${JSON.stringify(prompt)} as ${JSON.stringify(text)} (log-prob ${lp}), the page as ${JSON.stringify(said)} (${logprob})`,
        agrees([text, lp]));
      // The adapters alone: a tar of a checkpoint directory that names the
      // GGUF it was trained on, unpacked beside a copy of that file.
      const [al] = await Promise.all([page.waitForEvent("download", { timeout: minutes * 60e3 }), press("#downloadadapter")]);
      const beside = fs.mkdtempSync(path.join(out, "adapter-"));
      const tar = path.join(beside, al.suggestedFilename());
      await al.saveAs(tar);
      await state("exported");
      execFileSync("tar", ["-xf", tar, "-C", beside]);
      fs.copyFileSync(path.join(dist, "models", mode.gguf), path.join(beside, mode.gguf));
      const dir = path.join(beside, al.suggestedFilename().replace(/\.tar$/, ""));
      const fromAdapter = sample(dir);
      await check(`the downloaded adapter completes ${JSON.stringify(prompt)} as ${JSON.stringify(fromAdapter)}, the page as ${JSON.stringify(said)} (${logprob})`,
        agrees(fromAdapter));
      native = `  "${prompt}" → "${said}" (log-prob ${logprob.toFixed(3)}) in the page, from the downloaded GGUF (${(fs.statSync(saved).size / 1e6).toFixed(1)} MB) and from the adapter (${(fs.statSync(tar).size / 1e3).toFixed(0)} kB tar) natively`;
      fs.rmSync(beside, { recursive: true, force: true });
    }
    let pageReward = "";
    if (mode.pageReward) {
      // A reward written in the page scores Grow's samples: each shown
      // reward must be the function's value on the shown sample.
      const useReward = async (source) => {
        await page.fill("#rewardjs", source);
        await press("#usereward");
        await state("ready");
      };
      await useReward("(prompt, sample) => Math.min(100, 3 * sample.length)");
      const start = Number(await page.getAttribute("#heldout li", "data-value"));
      await press("#grow");
      await state("grown");
      const rows = await page.$$eval("tr.sample", (trs) => trs.map((tr) => [tr.children[1].textContent, Number(tr.children[3].textContent)]));
      const wrong = rows.filter(([sample, r]) => Math.abs(r - Math.min(100, 3 * sample.length)) > 0.05);
      await check(`page reward: ${wrong.length} of ${rows.length} shown rewards are not the function's: ${JSON.stringify(wrong.slice(0, 3))}`,
        rows.length > 0 && wrong.length === 0);
      await check(`page reward: held-out start ${start} is not a mean of 0–100 scores`, start >= 0 && start <= 100);
      // Hostile functions: named errors in the page, never a hang.
      for (const [source, says] of [
        ["(prompt, sample) => { throw new Error('no score for ' + prompt.length) }", "threw on sample 1"],
        ["() => 'high'", "must return a number in 0–100"],
        ["() => { for (;;) {} }", "within 3 s"],
        ["(prompt", "does not parse"],
      ]) {
        await page.fill("#rewardjs", source);
        await press("#usereward");
        await page.waitForSelector('body[data-state="error"]', { timeout: 120e3 });
        const why = await page.textContent("#status");
        await check(`page reward ${source}: the error does not say "${says}": ${why}`, why.includes(says));
        errors.length = 0; // the page logs the error it shows
      }
      // A good function again: the page goes on.
      // The references reach the function: held-out prompts have them
      // (50 each), Grow's unlabeled prompts none (100).
      await useReward("(prompt, sample, meta, references) => references.length ? 50 : 100");
      const heldStart = Number(await page.getAttribute("#heldout li", "data-value"));
      await check(`page reward: held-out prompts with references scored ${heldStart}, not 50`, heldStart === 50);
      await press("#grow");
      await state("grown");
      const byRef = await page.$$eval("tr.sample", (trs) => trs.map((tr) => [tr.children[2].textContent, Number(tr.children[3].textContent)]));
      await check(`page reward: rows scored against their references wrongly: ${JSON.stringify(byRef.slice(0, 4))}`,
        byRef.every(([ref, r]) => r === (ref.startsWith("—") ? 100 : 50)));
      pageReward = `  page reward: ${rows.length} Grow rewards equal the function's; a throw, a string, an endless loop and a syntax error were named errors`;
    }
    let rewardModel = "";
    if (mode.rewardModel) {
      // A reward model's directory picked in the page: the prompts
      // without a reference get the scores native `restlm rm score`
      // gives, those with one the verifier's (a multiple of 2.5: 8 facts
      // times 5 checks), and each row says which scored it.
      const rmDir = path.join(dist, "rm");
      await check(`${rmDir}/head.bpk missing (web/build.sh)`, fs.existsSync(path.join(rmDir, "head.bpk")));
      // A copy whose head is no weights file: an error naming it.
      const broken = path.join(fs.mkdtempSync(path.join(out, "rm-")), "broken-rm");
      fs.cpSync(rmDir, broken, { recursive: true });
      fs.writeFileSync(path.join(broken, "head.bpk"), "not weights");
      await page.setInputFiles("#rmdir", broken);
      await page.waitForSelector('body[data-state="error"]', { timeout: 120e3 });
      const why = await page.textContent("#status");
      await check(`a broken head.bpk's error does not name it: ${why}`, why.includes("broken-rm/head.bpk"));
      fs.rmSync(path.dirname(broken), { recursive: true, force: true });
      errors.length = 0; // the page logs the error it shows
      await page.evaluate(() => { document.body.dataset.state = "picking"; });
      await page.setInputFiles("#rmdir", rmDir);
      await state("ready");
      await check(`reward model not taken: ${await page.textContent("#status")}`, (await page.getAttribute("body", "data-state")) === "ready");
      // The held-out prompts have references: still the verifier's score
      // of the same policy.
      const heldStart = Number(await page.getAttribute("#heldout li", "data-value"));
      await check(`reward model: held-out ${heldStart} is not the verifier's ${held.at(-1)[1]}`, heldStart === held.at(-1)[1]);
      await press("#grow");
      await state("grown");
      const rows = await page.$$eval("tr.sample", (trs) => trs.map((tr) => ({
        prompt: tr.children[0].textContent, output: tr.children[1].textContent,
        referenced: !tr.children[2].textContent.startsWith("—"), reward: Number(tr.dataset.reward), by: tr.children[4].textContent,
      })));
      const misrouted = rows.filter((r) => r.by !== (r.referenced ? "gold" : "model"));
      await check(`reward model: rows scored by the wrong reward: ${JSON.stringify(misrouted.slice(0, 3))}`, misrouted.length === 0);
      const gold = rows.filter((r) => r.by === "gold");
      await check(`reward model: verifier rows off its grid: ${JSON.stringify(gold.filter((r) => Math.abs(r.reward / 2.5 - Math.round(r.reward / 2.5)) > 1e-9))}`,
        gold.every((r) => Math.abs(r.reward / 2.5 - Math.round(r.reward / 2.5)) <= 1e-9));
      const byModel = rows.filter((r) => r.by === "model");
      const data = path.join(out, `${mode.name}-rm-rows.jsonl`);
      fs.writeFileSync(data, byModel.map((r) => JSON.stringify({ prompt: r.prompt, output: r.output })).join("\n") + "\n");
      const native = execFileSync(restlm, ["--device", "cpu", "rm", "score", "--model", rmDir, "--data", data], { encoding: "utf8" })
        .trim().split("\n").map((l) => JSON.parse(l).reward);
      const off = byModel.map((r, i) => [r.output, r.reward, native[i]]).filter(([, p, n]) => !(Math.abs(p - n) <= 0.01));
      await check(`reward model: ${off.length} of ${byModel.length} page scores are not native rm score's: ${JSON.stringify(off.slice(0, 3))}`,
        byModel.length > 1 && native.length === byModel.length && off.length === 0);
      const spread = Math.max(...native) - Math.min(...native);
      await check(`reward model: every row scored alike (${native[0]}): nothing was compared`, spread > 0.01);
      rewardModel = `  reward model: ${byModel.length} Grow rows scored as native rm score does (spread ${spread.toFixed(2)}), ${gold.length} by the verifier; a broken head.bpk was a named error`;
    }
    await check(`console errors or page exceptions: ${errors.join(" | ")}`, errors.length === 0);
    const shot = path.join(out, `${mode.name}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`${mode.name}: ${line}`);
    if (loaded) console.log(`  ${loaded.replaceAll("\n", "\n  ")}`);
    if (native) console.log(native);
    if (pageReward) console.log(pageReward);
    if (rewardModel) console.log(rewardModel);
    console.log(`  ${rewards.length} grown samples shown; Grow ${growSecs.toFixed(1)} s (${growTokens} tokens, ${(growTokens / growSecs).toFixed(1)} tokens/s), Improve (${held.length - 1} thresholds) ${improveSecs.toFixed(1)} s (${stepMs} ms per ReST + SFT step pair), page total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const gpuMb = await page.getAttribute("body", "data-gpu-mb");
    console.log(`  WebAssembly memory at the end (its peak): ${await page.getAttribute("body", "data-wasm-mb")} MB${gpuMb ? `; GPU memory reserved ${gpuMb} MB` : ""}`);
    console.log(`  held-out reward: ${held.map(([s, v, sft]) => `${s} ${v.toFixed(2)} (SFT ${sft.toFixed(2)})`).join(", ")}`);
    console.log(`  screenshot ${shot}`);
  } catch (e) {
    failed = true;
    console.error(`FAIL ${e.message}`);
    console.error(`  status: ${await page.textContent("#status").catch(() => "?")}`);
    if (errors.length) console.error(`  console errors: ${errors.join(" | ")}`);
    await page.screenshot({ path: path.join(out, `${mode.name}-failed.png`), fullPage: true }).catch(() => {});
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}
server.close();
process.exit(failed ? 1 : 0);
