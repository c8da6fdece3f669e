// The page's own reward, run off the main thread: receives the function's
// source and the items to score, and posts back one number in 0–100 per
// item, or an error naming the sample. The page stops this worker when it
// takes longer than its time limit (an endless loop cannot hang the tab).
self.onmessage = (e) => {
  const { source, items } = e.data;
  let f;
  try {
    f = new Function(`"use strict"; return (${source});`)();
  } catch (err) {
    postMessage({ error: `the reward function does not parse: ${err}` });
    return;
  }
  if (typeof f !== "function") {
    postMessage({ error: `the reward is a ${typeof f}, not a function (prompt, sample, meta, references) => number` });
    return;
  }
  const scores = [];
  for (const [i, it] of items.entries()) {
    const which = `sample ${i + 1} of ${items.length} (${JSON.stringify(it.sample.slice(0, 60))})`;
    let s;
    try {
      s = f(it.prompt, it.sample, it.meta, it.references);
    } catch (err) {
      postMessage({ error: `the reward function threw on ${which}: ${err}` });
      return;
    }
    if (typeof s !== "number" || !Number.isFinite(s) || s < 0 || s > 100) {
      postMessage({ error: `the reward function returned ${typeof s === "string" ? JSON.stringify(s) : String(s)} for ${which}: it must return a number in 0–100` });
      return;
    }
    scores.push(s);
  }
  postMessage({ scores });
};
