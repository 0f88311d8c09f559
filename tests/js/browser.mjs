// The reference page at /ui in a real browser: Debian's Chromium driven by playwright-core.
// Usage: node browser.mjs URL OUTDIR [TOKEN]
// Prints one JSON line describing what the page showed; on a failure it also saves a screenshot
// in OUTDIR and exits 1. With TOKEN the server is expected to need it: the page is first seen to
// refuse (and say why) without it.
import { chromium } from "playwright-core";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [baseUrl, outDir, token] = process.argv.slice(2);
if (!baseUrl || !outDir) {
  console.error("usage: node browser.mjs URL OUTDIR [TOKEN]");
  process.exit(2);
}
const CHROMIUM = "/usr/bin/chromium";
// Without the networking flags Chromium keeps calling home, which a closed network answers slowly.
const ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
const ANSWER_MS = 180_000; // a first answer takes ~10 s on two busy cores; leave room
const origin = new URL(baseUrl).origin;

const summary = {
  ok: false, step: "launch", streamedStates: 0, turns: [], consoleErrors: [],
  failedRequests: [], externalRequests: [], expectedErrors: [],
};
// Set while a step provokes errors on purpose (the 401 without a token); they are kept apart.
let expecting = false;

function record(list, entry) {
  (expecting ? summary.expectedErrors : list).push(entry);
}

function check(condition, message) {
  if (!condition) throw new Error(`${summary.step}: ${message}`);
}

// Every text the last assistant message shows while it is still streaming (before its
// contract arrives), in order: seen by a MutationObserver, so no render is missed by polling.
function watchStreaming() {
  window.__streamed = [];
  new MutationObserver(() => {
    const all = document.querySelectorAll('[data-testid="message"][data-role="ai"]');
    const last = all[all.length - 1];
    if (!last || last.dataset.final !== "false") return;
    const text = last.textContent.trim();
    const seen = window.__streamed;
    if (text && seen[seen.length - 1] !== text) seen.push(text);
  }).observe(document, { childList: true, subtree: true, characterData: true, attributes: true });
}

async function aiMessages(page) {
  return page.locator('[data-testid="message"][data-role="ai"]');
}

// Send a question and wait for its final answer (the message with its contract).
async function ask(page, text) {
  const before = await (await aiMessages(page)).count();
  check(await page.getByTestId("error").count() === 0, "an error shows before asking");
  await page.evaluate(() => { window.__streamed = []; });
  await page.getByTestId("composer").fill(text);
  await page.getByTestId("send").click();
  // No error shows before sending (see the token step), so one showing now is this run's.
  const error = page.getByTestId("error");
  const answer = (await aiMessages(page)).nth(before);
  const outcome = await Promise.race([
    answer.and(page.locator('[data-final="true"]')).waitFor({ timeout: ANSWER_MS })
      .then(() => "answer", () => "timeout"),
    error.waitFor({ timeout: ANSWER_MS }).then(() => "error", () => "timeout"),
  ]);
  if (outcome === "error") check(false, `the page shows an error: ${await error.textContent()}`);
  check(outcome === "answer", `no final answer within ${ANSWER_MS / 1000} s`);
  const streamed = await page.evaluate(() => window.__streamed);
  return { answer, streamed };
}

// Click the answer's first citation; the panel must show that source's title and text.
async function openCitation(answer) {
  const citations = answer.getByTestId("citation");
  const count = await citations.count();
  check(count > 0, "the answer has no clickable citation");
  const first = citations.first();
  const n = await first.getAttribute("data-n");
  await first.click();
  const panel = answer.getByTestId("source-panel");
  await panel.waitFor({ timeout: 10_000 });
  check((await panel.getAttribute("data-n")) === n, `the panel does not show source ${n}`);
  const title = (await panel.getByTestId("source-title").textContent()).trim();
  check(title.length > `[${n}] `.length, "the source panel has no title");
  check((await panel.locator("blockquote").textContent()).trim().length > 20,
    "the source panel shows no passage");
  return { citations: count, title };
}

mkdirSync(outDir, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), "wwhd-chromium-"));
let context;
let page;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1000, height: 900 },
  });
  page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(30_000);
  await page.addInitScript(watchStreaming);
  page.on("console", (msg) => {
    if (msg.type() === "error") record(summary.consoleErrors, msg.text());
  });
  page.on("pageerror", (error) => record(summary.consoleErrors, `pageerror: ${error.message}`));
  page.on("request", (request) => {
    const url = request.url();
    if (/^https?:/.test(url) && new URL(url).origin !== origin) summary.externalRequests.push(url);
  });
  page.on("response", (response) => {
    if (response.status() >= 400) {
      record(summary.failedRequests,
        `${response.status()} ${response.request().method()} ${response.url()}`);
    }
  });
  page.on("requestfailed", (request) => {
    const reason = request.failure()?.errorText ?? "failed";
    // A reload cuts off whatever is still open; that is the browser's doing, not the server's.
    if (reason !== "net::ERR_ABORTED") {
      record(summary.failedRequests, `${reason} ${request.method()} ${request.url()}`);
    }
  });

  summary.step = "open /ui";
  const opened = await page.goto(`${baseUrl}/ui`);
  check(opened.status() === 200, `/ui answered ${opened.status()}`);
  await page.getByTestId("composer").waitFor();

  if (token) {
    summary.step = "ask without the token";
    expecting = true;
    await page.getByTestId("composer").fill("What is Huang Qi used for?");
    await page.getByTestId("send").click();
    const error = page.getByTestId("error");
    await error.waitFor({ timeout: 30_000 });
    const said = await error.textContent();
    check(/needs a token/.test(said), `the error does not ask for a token: ${said}`);
    expecting = false;
    summary.step = "enter the token";
    await page.getByTestId("token").fill(token);
    // The page keeps the token (localStorage): a reload still has it, and no stale error.
    await page.reload();
    await page.getByTestId("composer").waitFor();
    check(await page.getByTestId("token").inputValue() === token, "the token was not kept");
  }

  summary.step = "first question";
  const first = await ask(page, "What is Huang Qi used for?");
  summary.streamedStates = first.streamed.length;
  check(first.streamed.length >= 2,
    `tokens did not arrive while streaming (${first.streamed.length} state(s) seen)`);
  summary.turns.push(await openCitation(first.answer));
  const threadId = new URL(page.url()).searchParams.get("thread");
  check(threadId, "the thread id is not in the URL");
  summary.threadId = threadId;

  summary.step = "follow-up";
  const second = await ask(page, "What are its cautions?");
  summary.turns.push(await openCitation(second.answer));
  check(new URL(page.url()).searchParams.get("thread") === threadId, "the follow-up changed thread");

  summary.step = "reload";
  await page.reload();
  const reloaded = await aiMessages(page);
  await reloaded.nth(1).and(page.locator('[data-final="true"]')).waitFor({ timeout: 60_000 });
  check(await reloaded.count() === 2, `after the reload ${await reloaded.count()} answers show`);
  const humans = page.locator('[data-testid="message"][data-role="human"]');
  check(await humans.count() === 2, `after the reload ${await humans.count()} questions show`);
  check((await humans.first().textContent()).includes("Huang Qi"), "the first question is lost");
  summary.reloaded = await openCitation(reloaded.first());

  summary.step = "red flag in a new thread";
  await page.goto(`${baseUrl}/ui`);
  await page.getByTestId("composer").waitFor();
  check(await (await aiMessages(page)).count() === 0, "a new thread still shows old messages");
  const flag = await ask(page, "Sudden chest pain and my left arm went numb");
  const alert = flag.answer.locator(":scope > *").first();
  check((await alert.getAttribute("data-testid")) === "red-flag",
    "the red-flag note is not the first thing in the answer");
  const alertText = await alert.textContent();
  check(alertText.includes("Call"), `the red-flag note does not say to call: ${alertText}`);
  summary.redFlag = alertText.trim().slice(0, 120);
  check(new URL(page.url()).searchParams.get("thread") !== threadId, "the red flag reused the thread");

  summary.step = "clean";
  check(summary.externalRequests.length === 0, "the page reached beyond the server");
  check(summary.consoleErrors.length === 0, "the console shows errors");
  check(summary.failedRequests.length === 0, "requests failed");
  summary.ok = true;
} catch (error) {
  summary.error = error.message;
  if (page) {
    summary.screenshot = join(outDir, `failure-${summary.step.replace(/\W+/g, "-")}.png`);
    await page.screenshot({ path: summary.screenshot, fullPage: true }).catch(() => {});
  }
} finally {
  await context?.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);
