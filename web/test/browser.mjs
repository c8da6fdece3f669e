// Runs the demo (web/dist, built by web/build.sh) in Debian's headless
// Chromium through playwright-core, twice: with WebGPU on SwiftShader, and
// with WebGPU disabled so the page falls back to burn's CPU backend (and,
// when asked by name or with `all`, once more on the CPU at the page's
// default sizes, where held-out reward must rise). Each
// run does one Grow and one Improve and checks that rewards are shown and
// that the held-out reward was recomputed; any console error or page
// exception fails it. Screenshots go to web/test/out/.
import { chromium } from "playwright-core";
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

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
  { name: "webgpu", expect: "webgpu", query: small, args: ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-webgpu-adapter=swiftshader"] },
  { name: "cpu", expect: "cpu", query: small, args: ["--disable-features=WebGPU"] },
  // The page's own default sizes, where held-out reward must end above its
  // start: about 3.5 minutes, so a manual check (`node web/test/browser.mjs
  // cpu-default-sizes`, or `all`), not CI's; the native loop tests hold
  // the library's ReST to a gain.
  { name: "cpu-default-sizes", expect: "cpu", query: "backend=auto", mustImprove: true, manual: true, args: ["--disable-features=WebGPU"] },
];
// Improve's thresholds a query asks for (the page's default: 40, 70).
const thresholds = (query) => (new URLSearchParams(query).get("thresholds") || "40,70").split(",").length;
const only = process.argv[2];
const chosen = modes.filter((m) => (only === "all" ? true : only ? m.name === only : !m.manual));
if (chosen.length === 0) {
  console.error(`no mode named ${only} (modes: ${modes.map((m) => m.name).join(", ")}, all)`);
  process.exit(2);
}
const minutes = 20;
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
  const state = (s) => page.waitForSelector(`body[data-state="${s}"], body[data-state="error"]`, { timeout: minutes * 60e3 });
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
    const start = Number(await page.getAttribute("#heldout li", "data-value"));
    await check("no starting held-out reward", Number.isFinite(start));

    await page.click("#grow");
    await state("grown");
    const rewards = await page.$$eval("tr.sample td.r", (tds) => tds.map((td) => Number(td.textContent)));
    await check("Grow showed no rewards", rewards.length > 0 && rewards.every((r) => r >= 0 && r <= 100));
    const growSecs = Number(await page.getAttribute("body", "data-grow-seconds"));

    await page.click("#improve");
    await state("improved");
    const held = await page.$$eval("#heldout li", (lis) => lis.map((li) => [li.dataset.step, Number(li.dataset.value), Number(li.dataset.sft)]));
    await check(`held-out not recomputed after Improve: ${JSON.stringify(held)}`,
      held.length === thresholds(mode.query) + 1 && held.slice(1).every(([s, v, sft]) => s.startsWith("g1-i") && Number.isFinite(v) && Number.isFinite(sft)));
    if (mode.mustImprove) {
      await check(`held-out reward did not end above its start: ${JSON.stringify(held)}`, held.at(-1)[1] > held[0][1]);
    }
    const improveSecs = Number(await page.getAttribute("body", "data-improve-seconds"));
    // Shown samples carry no U+FFFD (a sample cut inside a character).
    const shown = await page.$$eval("tr.sample td:nth-child(2)", (tds) => tds.map((td) => td.textContent));
    await check(`a sample shows U+FFFD: ${shown.find((t) => t.includes("\uFFFD"))}`, !shown.some((t) => t.includes("\uFFFD")));
    await check(`console errors or page exceptions: ${errors.join(" | ")}`, errors.length === 0);
    const shot = path.join(out, `${mode.name}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`${mode.name}: ${line}`);
    console.log(`  ${rewards.length} grown samples shown; Grow ${growSecs.toFixed(1)} s, Improve (${held.length - 1} thresholds) ${improveSecs.toFixed(1)} s, page total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
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
